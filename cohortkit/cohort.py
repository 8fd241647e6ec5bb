"""Acquisition cohorts, retention and the empirical LTV curve; repeat (F2) rate.

The "after CV" view: do the customers a campaign brought come back, and what are they worth over time?

* :func:`cohort_table` — one row per (cohort, period number[, group]): cohort size, active customers,
  retention (N-period or unbounded), orders, revenue and cumulative revenue per customer.
* :func:`cohort_matrix` — the same as a wide cohort × period-number frame (for heatmaps).
* :func:`repeat_rate` — share of first-time buyers whose second purchase comes within a window of the
  first ("F2 conversion"), with a Wilson interval.
* :func:`days_to_second_purchase` — one row per customer: days from the first to the second purchase
  (the distribution behind :func:`repeat_rate`).

Definitions (shared by every function here)
-------------------------------------------
Periods
    ``"D"`` calendar day, ``"W"`` ISO week (Monday to Sunday), ``"M"`` calendar month, ``"Q"``
    calendar quarter. Timestamps are first truncated to their period and the period number is the
    difference of the truncated periods, so 31 January → 1 February is one month
    (``shared/ENGINE.md``, guardrail 1). Months and quarters are counted as ``year * 12 + month``
    differences, which every engine computes identically.
Cohort
    The period of the customer's first purchase. Period number 0 is the acquisition period.
Observation end
    The last observed **day**, inclusive (a time of day is ignored). The default is the day of the
    last purchase in the data. A period is *complete* when its last day is on or before the
    observation end; the period containing the observation end is incomplete unless the observation
    end is its last day. Transactions in incomplete periods are ignored, cohorts acquired in an
    incomplete period are left out (their size is not final), and cells whose period is incomplete
    are absent from the table (not zero). Every other cell is present: a period in which no customer
    of a cohort bought shows 0 active customers and 0 retention.
"""

from __future__ import annotations

import math
from typing import Any

import ibis
import numpy as np
import pandas as pd

from ._args import check_ci, parse_duration, renamed
from ._engine import decimal_sum, execute, year_and_month
from .io import Column, check_same_ids, date_text, observation_end, prepare, prepare_with_range
from ._errors import DataError

__all__ = ["cohort_table", "cohort_matrix", "repeat_rate", "days_to_second_purchase"]

#: period code -> (name used in messages, pandas Period frequency)
PERIODS: dict[str, tuple[str, str]] = {
    "D": ("day", "D"),
    "W": ("ISO week, Monday to Sunday", "W-SUN"),
    "M": ("calendar month", "M"),
    "Q": ("calendar quarter", "Q-DEC"),
}
RETENTION_TYPES = ("n_period", "unbounded")
_EPOCH = pd.Timestamp("1970-01-01")
_TABLE_COLUMNS = (
    "cohort",
    "period_number",
    "cohort_size",
    "active_customers",
    "retention",
    "orders",
    "revenue",
    "revenue_per_customer",
    "cumulative_revenue_per_customer",
)


# --- argument checks ----------------------------------------------------------------------


def check_calendar_unit(period: Any) -> str:
    if not isinstance(period, str) or period not in PERIODS:
        raise DataError(
            f"time_unit={period!r} is not a supported period. Pass 'D' (day), 'W' (ISO week, Monday "
            "to Sunday), 'M' (calendar month) or 'Q' (calendar quarter)."
        )
    return period


def _check_retention(retention: Any) -> str:
    if retention not in RETENTION_TYPES:
        raise DataError(
            f"retention={retention!r} is not a retention type. Pass 'n_period' (the share of the "
            "cohort that bought in period n) or 'unbounded' (the share that bought in period n or "
            "later)."
        )
    return retention


def _by_columns(by: Any, customers: Any, customer_col: str) -> tuple[list[Column], list[Column]]:
    """Column specs for ``by``: (columns of the log, columns of the customers table)."""
    if by is None:
        if customers is not None:
            raise DataError(
                "customers was given but by is None; pass by= the column of customers to group "
                "by (e.g. by='channel'), or leave out customers."
            )
        return [], []
    if not isinstance(by, str):
        raise DataError(
            f"by must be one column name (a string), got {type(by).__name__} {by!r}. Pass "
            "by='<column name>' (e.g. by='channel')."
        )
    if by in _TABLE_COLUMNS or by in ("customer_id",):
        raise DataError(
            f"by={by!r} clashes with a column of the output; rename that column of your data "
            "(e.g. to 'group') and pass the new name."
        )
    spec = Column("by", by, "by", "any", "the customer attribute to group by (e.g. the channel)")
    if customers is None:
        return [spec], []
    return [], [Column("customer_col", customer_col, "customer_id", "id", "the customer id"), spec]


def _refuse_missing_dates(missing: int) -> None:
    """Refuse transactions without a date (counted by :func:`~cohortkit.io.prepare_with_range`)."""
    if missing > 0:
        raise DataError(
            f"date_col has {missing} missing values; every transaction needs a "
            "customer id, a date and (when amount_col is given) an amount. Drop or fill those "
            "rows first (e.g. transactions.dropna(subset=[...]))."
        )


def _observation_end(value: Any, first: pd.Timestamp, last: pd.Timestamp) -> pd.Timestamp:
    """The last observed day (normalised), validated against the data."""
    return observation_end(value, first, last).normalize()


# --- periods ------------------------------------------------------------------------------


def period_index(date: ibis.Value, period: str) -> ibis.Value:
    """Integer index of the calendar period holding each timestamp (same on every engine)."""
    if period in ("D", "W"):
        days = date.date().delta(ibis.date(1970, 1, 1), unit="day")
        if period == "D":
            return days.cast("int64")
        # 1970-01-01 was a Thursday: +3 makes weeks start on Monday (ISO); floor for pre-1970 dates.
        return ((days + 3) / 7).floor().cast("int64")
    year, month = year_and_month(date)
    if period == "M":
        return year * 12 + month - 1
    return year * 4 + ((month - 1) / 3).floor().cast("int64")


def period_index_of(ts: pd.Timestamp, period: str) -> int:
    """:func:`period_index` for one Python timestamp."""
    if period in ("D", "W"):
        days = (ts.normalize() - _EPOCH).days
        return days if period == "D" else math.floor((days + 3) / 7)
    if period == "M":
        return ts.year * 12 + ts.month - 1
    return ts.year * 4 + (ts.month - 1) // 3


def period_labels(index: np.ndarray, period: str) -> pd.PeriodIndex:
    """pandas Periods for integer period indices."""
    index = np.asarray(index, dtype="int64")
    if period == "D":
        starts = _EPOCH + pd.to_timedelta(index, unit="D")
    elif period == "W":
        starts = _EPOCH + pd.to_timedelta(index * 7 - 3, unit="D")
    elif period == "M":
        starts = pd.to_datetime({"year": index // 12, "month": index % 12 + 1, "day": 1})
    else:
        starts = pd.to_datetime({"year": index // 4, "month": (index % 4) * 3 + 1, "day": 1})
    return pd.DatetimeIndex(starts).to_period(PERIODS[period][1])


# --- cohort table -------------------------------------------------------------------------


@renamed(period="time_unit")
def cohort_table(
    transactions,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str | None = None,
    time_unit: str = "M",
    by: str | None = None,
    customers=None,
    observation_end=None,
    retention: str = "n_period",
) -> pd.DataFrame:
    """Acquisition cohorts in long form: size, retention, orders, revenue and the empirical LTV curve.

    One row per (cohort, period number) — per (group, cohort, period number) with ``by`` — for every
    *complete* period (see the module docstring for the exact definitions). The reduction runs as one
    Ibis expression (embedded DuckDB by default, or the backend of an Ibis table you pass).

    Parameters
    ----------
    transactions : DataFrame, path or ibis.Table
        The purchase log, one row per transaction (several rows on one day are several orders).
    customer_col, date_col : str
        Columns holding the customer id and the purchase timestamp.
    amount_col : str, optional
        Column holding the purchase amount. Without it the revenue columns are left out.
    time_unit : {"D", "W", "M", "Q"}, default "M"
        Day, ISO week (Monday to Sunday), calendar month or calendar quarter.
    by : str, optional
        A customer attribute to split cohorts by, such as the acquisition campaign or channel. Without
        ``customers`` it is a column of ``transactions`` and each customer takes its value on their
        **first** purchase (the smallest value if several rows share the first timestamp). With
        ``customers`` it is a column of that table, joined on ``customer_col``; customers missing
        from it get a missing group value.
    customers : DataFrame, path or ibis.Table, optional
        One row per customer, with ``customer_col`` and ``by``.
    observation_end : date-like, optional
        The last observed day (inclusive). Default: the day of the last purchase.
    retention : {"n_period", "unbounded"}, default "n_period"
        ``"n_period"``: active customers are those who bought in period n. ``"unbounded"``: those
        who bought in period n or any later complete period (non-increasing in n).

    Returns
    -------
    pandas.DataFrame
        Sorted by [group,] cohort and period number, with columns

        ===============================  ===========================================================
        ``<by>``                         the group value (only with ``by``)
        cohort                           acquisition period (a pandas ``Period``)
        period_number                    whole periods since the cohort period (0, 1, 2, …)
        cohort_size                      customers whose first purchase was in the cohort period
        active_customers                 customers active in the cell (see ``retention``)
        retention                        active_customers / cohort_size (1.0 in period 0)
        orders                           transactions (rows) in period n by the cohort's customers
        revenue                          sum of the amounts of those transactions
        revenue_per_customer             revenue / cohort_size
        cumulative_revenue_per_customer  running sum of revenue_per_customer: the empirical LTV curve
        ===============================  ===========================================================

        ``orders`` and ``revenue`` are always per period n (also with ``retention="unbounded"``).
        Summed over the table, ``revenue`` is the total amount of the transactions dated before the
        end of the last complete period — the log's total when the observation end is the last day of
        a period. ``table.attrs`` records ``period``, ``retention``, ``observation_end``, ``by``.

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "b", "c"],
    ...     "date": pd.to_datetime(["2024-01-05", "2024-03-01", "2024-01-20", "2024-02-02",
    ...                             "2024-02-10"]),
    ...     "amount": [10.0, 20.0, 5.0, 5.0, 8.0],
    ... })
    >>> t = cohort_table(tx, amount_col="amount", observation_end="2024-03-31")
    >>> t[["cohort", "period_number", "cohort_size", "active_customers", "retention", "revenue"]]
        cohort  period_number  cohort_size  active_customers  retention  revenue
    0  2024-01              0            2                 2        1.0     15.0
    1  2024-01              1            2                 1        0.5      5.0
    2  2024-01              2            2                 1        0.5     20.0
    3  2024-02              0            1                 1        1.0      8.0
    4  2024-02              1            1                 0        0.0      0.0
    >>> t["cumulative_revenue_per_customer"].tolist()
    [7.5, 10.0, 20.0, 8.0, 8.0]
    """
    period = check_calendar_unit(time_unit)
    retention = _check_retention(retention)
    log_by, customer_by = _by_columns(by, customers, customer_col)
    has_amount = amount_col is not None
    # first and last purchase (and missing dates) come from the checking queries (no query of their own)
    t, first, last, missing = prepare_with_range(
        transactions,
        [
            Column("customer_col", customer_col, "customer_id", "id", "the customer id"),
            Column("date_col", date_col, "date", "timestamp", "the purchase date", missing="allow"),
            Column("amount_col", amount_col, "amount", "numeric", "the purchase amount"),
            *log_by,
        ],
        what="transactions",
        spread=True,  # its first grouping is the heavy part: every thread on a one-row-group file
    )
    groups = _customer_groups(customers, customer_by)
    if groups is not None:
        check_same_ids(("transactions", t), ("customers", groups))
    _refuse_missing_dates(missing)
    obs = _observation_end(observation_end, first, last)
    last_complete = period_index_of(obs + pd.Timedelta(days=1), period) - 1
    first_index = period_index_of(first, period)
    if last_complete < first_index:
        first_period = period_labels(np.array([first_index]), period)[0]
        raise DataError(
            f"observation_end={date_text(obs)!r} leaves no complete {PERIODS[period][0]}: the "
            f"first purchase is in {first_period}, which ends after it. Pass a later "
            f"observation_end or a shorter period (e.g. time_unit='D')."
        )

    t = t.mutate(p=period_index(t.date, period))
    t = t.filter(t.p <= last_complete)  # a literal (guardrail 3): transactions in complete periods
    keys = ["customer_id", "p"]
    if log_by:
        window = ibis.window(group_by=t.customer_id, order_by=[t.date, t.by])
        t = t.mutate(by=t.by.first().over(window))
        keys.append("by")
    aggs = {"orders": t.count()}
    if has_amount:
        aggs["revenue"] = decimal_sum(t.amount)  # exact; summed again per cell below
    cp = t.group_by(keys).aggregate(**aggs)  # one row per customer and active period
    if groups is not None:
        cp = cp.left_join(groups, cp.customer_id == groups.customer_id).select(
            *[cp[c] for c in cp.columns], by=groups.by
        )
    # cohort (first period) per customer, and the last active period for unbounded retention: a hash
    # aggregate joined back is about twice as fast on DuckDB as min/max windows over the customers
    unbounded = retention == "unbounded"
    span_aggs = {"cohort": cp.p.min()}
    if unbounded:  # the last active period is only needed to count who is active "at n or later"
        span_aggs["last_p"] = cp.p.max()
    spans = cp.group_by("customer_id").aggregate(**span_aggs)
    cp = cp.join(spans, "customer_id")
    group_keys = (["by"] if by is not None else []) + ["cohort"]
    cell_aggs = {"active": cp.count(), "orders": cp.orders.sum()}
    if unbounded:
        cell_aggs["ending"] = (cp.p == cp.last_p).cast("int64").sum()
    if has_amount:
        cell_aggs["revenue"] = cp.revenue.sum().cast("float64")
    cells = cp.group_by([*[cp[k] for k in group_keys], (cp.p - cp.cohort).name("n")]).aggregate(
        **cell_aggs
    )
    raw = execute(cells)
    out = _dense_cells(raw, group_keys, last_complete, has_amount, retention)
    out["cohort"] = period_labels(out["cohort"].to_numpy(), period)
    if by is not None:
        out = out.rename(columns={"by": by})
    out.attrs = {
        "time_unit": period,
        "retention": retention,
        "observation_end": obs,
        "by": by,
    }
    return out


def _customer_groups(customers, spec: list[Column]):
    """The customers table (customer_id, by) with a check for duplicated ids, or None."""
    if not spec:
        return None
    groups = prepare(customers, spec, what="customers")
    row = execute(
        groups.aggregate(n=groups.count(), distinct=groups.customer_id.nunique())
    ).iloc[0]
    if int(row["n"]) != int(row["distinct"]):
        dupes = int(row["n"]) - int(row["distinct"])
        raise DataError(
            f"customers has {dupes} duplicated values of {spec[0].name!r} (customer_col); it must "
            "hold one row per customer. Drop the duplicates (e.g. "
            "customers.drop_duplicates(subset=[customer_col]))."
        )
    return groups


def _dense_cells(
    raw: pd.DataFrame, group_keys: list[str], last_complete: int, has_amount: bool, retention: str
) -> pd.DataFrame:
    """Every (group, cohort, n) up to the last complete period, zeros where nobody bought."""
    raw = raw.astype({"cohort": "int64", "n": "int64"})
    heads = raw.loc[raw["n"] == 0, [*group_keys, "active"]].rename(columns={"active": "cohort_size"})
    heads = heads.sort_values(group_keys, na_position="last").reset_index(drop=True)
    lengths = (last_complete - heads["cohort"].to_numpy() + 1).astype("int64")
    grid = heads.loc[heads.index.repeat(lengths)].reset_index(drop=True)
    grid["n"] = np.concatenate([np.arange(k, dtype="int64") for k in lengths]) if len(lengths) else []
    grid = grid.merge(raw, on=[*group_keys, "n"], how="left", sort=False)
    for col in ("active", "ending", "orders"):
        if col in grid:
            grid[col] = grid[col].fillna(0).astype("int64")
    if has_amount:
        grid["revenue"] = grid["revenue"].fillna(0.0).astype("float64")
    size = grid["cohort_size"].astype("int64")
    cells = grid.groupby(group_keys, dropna=False, sort=False)
    if retention == "unbounded":
        # customers whose last active period is n or later: size minus those who stopped before n
        stopped_before = cells["ending"].cumsum() - grid["ending"]
        active = size - stopped_before
    else:
        active = grid["active"]
    out = grid[group_keys].copy()
    out["period_number"] = grid["n"]
    out["cohort_size"] = size
    out["active_customers"] = active.astype("int64")
    out["retention"] = out["active_customers"] / size
    out["orders"] = grid["orders"]
    if has_amount:
        out["revenue"] = grid["revenue"]
        out["revenue_per_customer"] = grid["revenue"] / size
        out["cumulative_revenue_per_customer"] = (
            out.groupby(group_keys, dropna=False, sort=False)["revenue"].cumsum() / size
        )
    return out.reset_index(drop=True)


def cohort_matrix(table: pd.DataFrame, values: str = "retention") -> pd.DataFrame:
    """Pivot a :func:`cohort_table` to a wide cohort × period-number frame.

    Parameters
    ----------
    table : DataFrame
        The output of :func:`cohort_table` (optionally filtered).
    values : str, default "retention"
        Which column to spread: ``"retention"``, ``"active_customers"``, ``"revenue"``,
        ``"cumulative_revenue_per_customer"``, …

    Returns
    -------
    pandas.DataFrame
        Index ``cohort`` (``[group, cohort]`` when the table has a ``by`` column), columns
        ``period_number``. Cells whose period was incomplete at the observation end are NaN — the
        only NaN in the frame.

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...                    "date": pd.to_datetime(["2024-01-05", "2024-02-01", "2024-02-10"])})
    >>> cohort_matrix(cohort_table(tx, observation_end="2024-02-29"))  # doctest: +NORMALIZE_WHITESPACE
    period_number    0    1
    cohort
    2024-01        1.0  1.0
    2024-02        1.0  NaN
    """
    if not isinstance(table, pd.DataFrame) or not {"cohort", "period_number"} <= set(table.columns):
        raise DataError(
            "table must be the output of cohortkit.cohort_table (with columns 'cohort' and "
            "'period_number'); pass cohort_table(...) or a filtered copy of it."
        )
    if values not in table.columns or values in ("cohort", "period_number"):
        choices = ", ".join(repr(c) for c in table.columns if c in _TABLE_COLUMNS[2:])
        raise DataError(
            f"values={values!r} is not a column of the cohort table; pass one of {choices}."
        )
    group = group_column(table)
    index = [group, "cohort"] if group else ["cohort"]
    wide = table.pivot_table(
        index=index, columns="period_number", values=values, aggfunc="first", dropna=False,
        sort=True,
    )
    wide = wide.reindex(columns=range(int(table["period_number"].max()) + 1))
    wide.columns.name = "period_number"
    return wide


def group_column(table: pd.DataFrame) -> str | None:
    if table.attrs and "by" in table.attrs:
        by = table.attrs["by"]
        return by if by in table.columns else None
    extra = [c for c in table.columns if c not in _TABLE_COLUMNS and not str(c).startswith("_")]
    return extra[0] if extra else None


# --- repeat (F2) rate ---------------------------------------------------------------------


def _second_purchases(
    transactions, customer_col, date_col, by, customers, observation_end
) -> tuple[ibis.Table, pd.Timestamp]:
    """Per-customer Ibis table: customer_id, [by], first_day, second_day, days, observed."""
    log_by, customer_by = _by_columns(by, customers, customer_col)
    t, first, last, missing = prepare_with_range(
        transactions,
        [
            Column("customer_col", customer_col, "customer_id", "id", "the customer id"),
            Column("date_col", date_col, "date", "timestamp", "the purchase date", missing="allow"),
            *log_by,
        ],
        what="transactions",
    )
    groups = _customer_groups(customers, customer_by)
    if groups is not None:
        check_same_ids(("transactions", t), ("customers", groups))
    _refuse_missing_dates(missing)
    obs = _observation_end(observation_end, first, last)
    obs_day = ibis.literal(obs.date(), type="date")
    t = t.mutate(day=t.date.date())
    t = t.filter(t.day <= obs_day)
    per_customer = ibis.window(group_by=t.customer_id)
    t = t.mutate(first_day=t.day.min().over(per_customer))
    if log_by:
        # the value on the first purchase; the smallest if several rows share the first timestamp
        window = ibis.window(group_by=t.customer_id, order_by=[t.date, t.by])
        t = t.mutate(by=t.by.first().over(window))
    aggs = {
        "first_day": t.first_day.min(),
        "second_day": t.day.min(where=t.day > t.first_day),
    }
    if log_by:
        aggs["by"] = t.by.min()
    c = t.group_by("customer_id").aggregate(**aggs)
    if groups is not None:
        c = c.left_join(groups, c.customer_id == groups.customer_id).select(
            *[c[k] for k in c.columns], by=groups.by
        )
    c = c.mutate(
        days=c.second_day.delta(c.first_day, unit="day").cast("int64"),
        observed=obs_day.delta(c.first_day, unit="day").cast("int64"),
    )
    return c, obs


def days_to_second_purchase(
    transactions,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    by: str | None = None,
    customers=None,
    observation_end=None,
) -> pd.DataFrame:
    """Days from each customer's first to second purchase (the distribution behind F2 rates).

    Purchases on the same calendar day are merged into one, as in the customer-base literature
    (Fader, Hardie & Lee 2005): the second purchase is the first purchase on a **later day** than
    the first. Only purchases on or before ``observation_end`` count.

    Parameters
    ----------
    transactions, customer_col, date_col, by, customers, observation_end
        As in :func:`repeat_rate`.

    Returns
    -------
    pandas.DataFrame
        One row per customer whose first purchase is on or before the observation end, sorted by
        customer id: ``customer_id``, [``<by>``], ``first_purchase`` (day), ``second_purchase``
        (day; NaT when there was none by the observation end), ``days_to_second`` (``Int64``;
        <NA> when there was no second purchase — a censored observation), and ``days_observed``
        (days from the first purchase to the observation end, the censoring time).

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "a", "b"],
    ...                    "date": pd.to_datetime(["2024-01-01 09:00", "2024-01-01 18:00",
    ...                                            "2024-01-11 00:00", "2024-01-05 00:00"])})
    >>> days_to_second_purchase(tx)[["customer_id", "days_to_second", "days_observed"]]
      customer_id  days_to_second  days_observed
    0           a              10             10
    1           b            <NA>              6
    """
    c, _ = _second_purchases(transactions, customer_col, date_col, by, customers, observation_end)
    out = execute(c).sort_values("customer_id", kind="stable").reset_index(drop=True)
    cols = ["customer_id"] + (["by"] if by is not None else [])
    res = out[cols].copy()
    res["first_purchase"] = pd.to_datetime(out["first_day"]).astype("datetime64[us]")
    res["second_purchase"] = pd.to_datetime(out["second_day"]).astype("datetime64[us]")
    res["days_to_second"] = out["days"].astype("Int64")
    res["days_observed"] = out["observed"].astype("int64")
    if by is not None:
        res = res.rename(columns={"by": by})
    return res


@renamed(within="window")
def repeat_rate(
    transactions,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    window="90D",
    by: str | None = None,
    customers=None,
    ci: float = 0.95,
    observation_end=None,
) -> pd.DataFrame:
    """Repeat ("F2") rate: the share of first-time buyers whose second purchase comes within a window.

    Purchases on the same day are merged (see :func:`days_to_second_purchase`): a customer repeats
    within the ``window`` when their first purchase on a later day is at most ``window`` days after the
    first purchase's day. A customer is **eligible** only when the whole window has been observed,
    i.e. first purchase day + ``window`` ≤ ``observation_end``; later first-time buyers are counted
    in ``not_yet_eligible`` and left out of the rate (counting them would bias it down).

    Parameters
    ----------
    transactions : DataFrame, path or ibis.Table
        The purchase log.
    customer_col, date_col : str
        Columns holding the customer id and the purchase timestamp.
    window : str or Timedelta, default "90D"
        The window, a whole number of days (``"90D"``, ``"2W"``).
    by : str, optional
        A customer attribute (a column of the log, taken at the first purchase, or of
        ``customers``); one row per group. See :func:`cohort_table`.
    customers : DataFrame, path or ibis.Table, optional
        One row per customer, with ``customer_col`` and ``by``.
    ci : float, default 0.95
        Confidence level of the Wilson score interval.
    observation_end : date-like, optional
        The last observed day (inclusive). Default: the day of the last purchase.

    Returns
    -------
    pandas.DataFrame
        One row (per group, sorted): [``<by>``], ``first_time_buyers``, ``not_yet_eligible``,
        ``customers`` (eligible), ``repeaters``, ``repeat_rate`` = repeaters / customers,
        ``ci_low``, ``ci_high``, ``note``. When a group has no eligible customer the rate and
        interval are NaN and ``note`` says so (otherwise ``note`` is empty).

    See Also
    --------
    days_to_second_purchase : the per-customer days to the second purchase (its distribution).

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b", "c", "c", "d"],
    ...                    "date": pd.to_datetime(["2024-01-01", "2024-01-20", "2024-01-03",
    ...                                            "2024-01-05", "2024-03-30", "2024-03-05"])})
    >>> r = repeat_rate(tx, window="30D", observation_end="2024-03-31")
    >>> r[["first_time_buyers", "not_yet_eligible", "customers", "repeaters", "repeat_rate"]]
       first_time_buyers  not_yet_eligible  customers  repeaters  repeat_rate
    0                  4                 1          3          1     0.333333
    >>> r[["ci_low", "ci_high"]].round(3)
       ci_low  ci_high
    0   0.061    0.792
    """
    span = parse_duration(window, argument="window")
    if span % pd.Timedelta(days=1) != pd.Timedelta(0):
        raise DataError(
            f"window={window!r} is not a whole number of days; purchases are merged by day, so "
            "pass a window such as '30D', '90D' or '2W'."
        )
    ci = check_ci(ci)
    w = int(span / pd.Timedelta(days=1))
    c, _ = _second_purchases(transactions, customer_col, date_col, by, customers, observation_end)
    eligible = c.observed >= w
    repeated = eligible & c.days.notnull() & (c.days <= w)
    aggs = {
        "first_time_buyers": c.count(),
        "not_yet_eligible": (~eligible).cast("int64").sum(),
        "customers": eligible.cast("int64").sum(),
        "repeaters": repeated.cast("int64").sum(),
    }
    expr = c.group_by("by").aggregate(**aggs) if by is not None else c.aggregate(**aggs)
    out = execute(expr)
    if by is not None:
        out = out.sort_values("by", na_position="last", kind="stable").reset_index(drop=True)
    for col in aggs:
        out[col] = out[col].fillna(0).astype("int64")
    n = out["customers"].to_numpy()
    x = out["repeaters"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        out["repeat_rate"] = np.where(n > 0, x / np.where(n > 0, n, 1), np.nan)
    from .metrics import rate_interval  # scipy (~90 MB): imported when a rate is asked for

    _, out["ci_low"], out["ci_high"] = rate_interval(x, n, float(ci), "wilson")
    out["note"] = np.where(
        n > 0, "", f"no customer's {w}-day window has ended by the observation end"
    )
    out["note"] = out["note"].astype("str")
    if by is not None:
        out = out.rename(columns={"by": by})
    return out
