"""Prepared inputs shared by the ad-value functions: customers, transactions, the end day, acquisition days."""

from __future__ import annotations

import pandas as pd

from .._engine import execute
from .._errors import DataError
from ..io import Column, parse_timestamp, prepare, transaction_columns

__all__: list[str] = []  # package-internal: used by _ad_value and _payback


def customers_table(customers, *, by, customer_col, acquired_col):
    c = prepare(
        customers,
        [
            Column("customer_col", customer_col, "customer_id", "id", "the customer id"),
            Column("by", by, "group", "string", "the acquisition campaign of each customer", missing="allow"),
            Column("acquired_col", acquired_col, "acquired_at", "timestamp", "the acquisition time"),
        ],
        what="customers",
    )
    checks = dict(n=c.count(), n_ids=c.customer_id.nunique(), n_null=c.group.isnull().sum())
    row = execute(c.aggregate(**checks)).iloc[0]
    if int(row["n_ids"]) != int(row["n"]):
        raise DataError(
            f"column {customer_col!r} (customer_col) in customers has {int(row['n']) - int(row['n_ids'])} "
            "duplicate customer id(s); customers needs one row per customer (the campaign that "
            "acquired them). Drop the duplicates, e.g. keep each customer's first row."
        )
    if int(row["n_null"] or 0):
        raise DataError(
            f"column {by!r} (by) is missing for {int(row['n_null'])} customer(s) in customers; give "
            "every customer its acquisition campaign, or drop unattributed (organic) customers."
        )
    return c


def transactions_table(transactions, *, customer_col, date_col, amount_col):
    return prepare(transactions, transaction_columns(customer_col, date_col, amount_col), what="transactions")


def last_day(tx, observation_end) -> pd.Timestamp:
    if observation_end is not None:
        return parse_timestamp(observation_end, argument="observation_end").normalize()
    last = execute(tx.aggregate(last=tx.date.max()), backend_of=tx)["last"].iloc[0]
    return pd.Timestamp(last).normalize()


def acquisition(c, tx, has_acquired: bool):
    """customer_id, group, acq_day (timestamp truncated to the day; from the first purchase if needed)."""
    if has_acquired:
        return c.select("customer_id", "group", acq_day=c.acquired_at.truncate("D"))
    first = tx.group_by("customer_id").aggregate(first=tx.date.min())
    j = c.left_join(first, "customer_id")
    return j.select(c.customer_id, c.group, acq_day=j.first.truncate("D"))
