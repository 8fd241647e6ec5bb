"""Customer-level outputs a team can act on: a score table per customer and values for value-based bidding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pandas as pd

from .._args import check_number, unit_days
from .._engine import exact_sum, execute
from .._errors import DataError
from ..io import Column, as_table, check_same_ids, prepare
from ._inputs import acquisition, customers_table, last_day, transactions_table

__all__ = ["customer_scores", "bidding_values", "SEGMENTS"]

#: Segments of :func:`customer_scores`: name -> (Japanese name, rule).
SEGMENTS: dict[str, tuple[str, str]] = {
    "top": ("最優良", "P(alive) >= 0.3 and expected value in the top 10 %"),
    "high": ("優良", "P(alive) >= 0.3 and expected value in the next 20 %"),
    "middle": ("中位", "P(alive) >= 0.3 and expected value in the next 30 %"),
    "low": ("低位", "P(alive) >= 0.3 and expected value in the bottom 40 %"),
    "lapsing": ("離脱懸念", "P(alive) < 0.3: probably no longer buying, whatever they bought before"),
}
_TIERS = (("top", 0.10), ("high", 0.30), ("middle", 0.60), ("low", 1.00))


def _write(frame: pd.DataFrame, path: Any) -> None:
    """Write ``frame`` to a ``.csv`` / ``.csv.gz`` / ``.parquet`` path (the folder must exist)."""
    target = Path(path)
    name = target.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        frame.to_csv(target, index=False)
    elif name.endswith((".parquet", ".pq")):
        frame.to_parquet(target, index=False)
    else:
        raise DataError(f"path={str(path)!r} must end in .csv, .csv.gz or .parquet (the format is taken from it).")


def customer_scores(
    model: Any,
    summary: pd.DataFrame,
    *,
    customers: Any = None,
    by: str = "campaign",
    horizon: int = 52,
    time_unit: str = "W",
    discount_rate: float = 0.0,
    margin: float = 1.0,
    path: Any = None,
    customer_col: str = "customer_id",
) -> pd.DataFrame:
    """One row per customer: P(alive), expected purchases, spend and value, a segment and the campaign.

    The table a CRM or marketing team can load: who is probably still buying, how much each customer
    is expected to bring over the next ``horizon`` periods, and a segment to act on:

    * ``lapsing`` (離脱懸念) — P(alive) below 0.3, whatever they bought before;
    * otherwise by expected value among the customers not lapsing: ``top`` (最優良, the top 10 %),
      ``high`` (優良, the next 20 %), ``middle`` (中位, the next 30 %) and ``low`` (低位, the rest).
      Ties are broken by customer id, so the table is the same on every run.

    Parameters
    ----------
    model : cohortkit.CLVModel
        Fitted, with a spend model.
    summary : DataFrame
        The RFM summary (:func:`cohortkit.rfm_summary`) of the customers to score, in the model's unit.
    customers : DataFrame, path or ibis.Table, optional
        One row per customer with ``customer_col`` and ``by``: adds the acquiring campaign.
    by : str, default "campaign"
        The campaign column of ``customers``.
    horizon, time_unit, discount_rate, margin
        As in :meth:`cohortkit.CLVModel.summary`: the value is the expected (discounted) margin of
        the next ``horizon`` ``time_unit`` periods.
    path : str or Path, optional
        Also write the table there (``.csv``, ``.csv.gz`` or ``.parquet``).

    Returns
    -------
    pandas.DataFrame
        ``customer_id, [<by>], frequency, recency, T, monetary_value, p_alive, expected_purchases,
        expected_spend, expected_value, value_rank, segment, segment_ja``, sorted by expected value.

    Examples
    --------
    >>> import cohortkit as ck
    >>> shop = ck.datasets.load_shop()
    >>> rfm = ck.rfm_summary(shop.transactions, amount_col="amount", time_unit="W")
    >>> model = ck.CLVModel().fit(rfm)
    >>> scores = customer_scores(model, rfm, customers=shop.customers, horizon=52)
    >>> scores["segment"].value_counts().reindex(list(SEGMENTS)).tolist()
    [1762, 3525, 5288, 7050, 2569]
    >>> scores[["customer_id", "campaign", "segment", "segment_ja"]].head(2)
      customer_id        campaign segment segment_ja
    0     C004666  generic_search     top        最優良
    1     C009214  generic_search     top        最優良
    """
    base = model.summary(summary, horizon=horizon, time_unit=time_unit, discount_rate=discount_rate, margin=margin)
    out = base.rename(columns={"clv": "expected_value"})
    if customers is not None:
        prepared = prepare(customers, [
            Column("customer_col", customer_col, "customer_id", "id", "the customer id"),
            Column("by", by, "group", "string", "the campaign of each customer", missing="allow"),
        ], what="customers")
        check_same_ids(("summary", as_table(out[["customer_id"]])), ("customers", prepared))
        groups = execute(prepared)
        out = out.merge(groups.rename(columns={"group": by}), on="customer_id", how="left")
        out = out[["customer_id", by, *[c for c in out.columns if c not in ("customer_id", by)]]]
    out = out.sort_values(["expected_value", "customer_id"], ascending=[False, True], kind="stable")
    out = out.reset_index(drop=True)
    out["value_rank"] = np.arange(1, len(out) + 1, dtype="int64")
    out["segment"] = _segments(out)
    out["segment_ja"] = out["segment"].map({k: v[0] for k, v in SEGMENTS.items()}).astype("str")
    if path is not None:
        _write(out, path)
    return out


def _segments(out: pd.DataFrame) -> pd.Series:
    lapsing = out["p_alive"].to_numpy() < 0.3
    segment = np.full(len(out), "lapsing", dtype=object)
    alive = np.flatnonzero(~lapsing)  # already sorted by expected value, best first
    share = (np.arange(len(alive)) + 1) / max(len(alive), 1)
    lower = 0.0
    for name, upper in _TIERS:
        segment[alive[(share > lower) & (share <= upper)]] = name
        lower = upper
    return pd.Series(segment, index=out.index, dtype="str")


def bidding_values(
    transactions: Any,
    customers: Any,
    *,
    by: str = "campaign",
    time_unit: str = "W",
    horizon: int = 52,
    bands: int = 4,
    margin: float = 1.0,
    prior_customers: int = 30,
    currency: str = "JPY",
    observation_end: Any = None,
    path: Any = None,
    customer_col: str = "customer_id",
    acquired_col: str | None = "acquired_at",
    date_col: str = "date",
    amount_col: str = "amount",
) -> pd.DataFrame:
    """A conversion value per new customer for value-based bidding, known at the first purchase.

    Ad platforms bid better when each conversion carries its value ("value-based bidding", offline
    conversion imports), but they need it *early*, when the customer has only just bought, and they
    learn little from one value for everyone. This gives each new customer the value that customers
    like them brought: the mean margin over their first ``horizon`` periods of the *mature* customers
    (acquired at least ``horizon`` periods before ``observation_end``) from the same campaign and the
    same first-order value band (``bands`` quantile bands of the first order, computed over all
    customers). A cell with few mature customers is shrunk toward its campaign's mean:
    ``(n · cell mean + k · campaign mean) / (n + k)`` with ``k = prior_customers``; a campaign with
    no mature customer gets the overall mean, with a note.

    Parameters
    ----------
    transactions, customers
        The purchase log and one row per customer with its campaign (``by``) and acquisition time.
    time_unit, horizon : default "W", 52
        The value window after acquisition.
    bands : int, default 4
        First-order value bands (quantiles).
    margin : float, default 1.0
        Applied to revenue (platforms want the value to the business).
    prior_customers : int, default 30
        The weight of the campaign mean in a cell's value.
    currency : str, default "JPY"
        Written to the ``currency`` column.
    observation_end : date-like, optional
        Default: the day of the last transaction.
    path : str or Path, optional
        Also write the table there (``.csv``, ``.csv.gz`` or ``.parquet``).

    Returns
    -------
    pandas.DataFrame
        One row per customer: ``customer_id, <by>, conversion_time, first_order_value, value_band,
        conversion_value, currency``; ``attrs["rules"]`` is the value table per campaign and band
        (``n_mature``, ``cell_mean``, ``campaign_mean``, ``conversion_value``).

    Examples
    --------
    >>> import cohortkit as ck
    >>> shop = ck.datasets.load_shop()
    >>> values = bidding_values(shop.transactions, shop.customers, margin=0.3)
    >>> values["conversion_value"].nunique(), int(values["conversion_value"].median())
    (24, 3644)
    >>> rules = values.attrs["rules"]
    >>> rules.loc[(rules["campaign"] == "generic_search"), "conversion_value"].tolist()
    [6403, 7207, 8052, 12041]
    """
    days = unit_days(time_unit)
    margin = check_number(margin, "margin", low=0, low_open=True, high=1, example=", e.g. 0.3 for a 30 % margin")
    if isinstance(bands, bool) or not isinstance(bands, (int, np.integer)) or not 1 <= bands <= 20:
        raise DataError(f"bands={bands!r} must be a whole number from 1 to 20, e.g. 4.")
    c = customers_table(customers, by=by, customer_col=customer_col, acquired_col=acquired_col)
    tx = transactions_table(transactions, customer_col=customer_col, date_col=date_col, amount_col=amount_col)
    check_same_ids(("customers", c), ("transactions", tx))
    end = last_day(tx, observation_end)
    people = _early_and_later_value(acquisition(c, tx, acquired_col is not None), tx, end, days * horizon)
    people["value_band"] = _bands(people["first_order_value"], bands)
    rules = _value_rules(people, margin, prior_customers)
    out = people.merge(rules[["group", "value_band", "conversion_value"]], on=["group", "value_band"], how="left")
    out = out.rename(columns={"group": by, "acq_day": "conversion_time"})
    out["currency"] = currency
    out = out[["customer_id", by, "conversion_time", "first_order_value", "value_band", "conversion_value",
               "currency"]].sort_values(["conversion_time", "customer_id"], kind="stable").reset_index(drop=True)
    out.attrs["rules"] = rules.rename(columns={"group": by})
    out.attrs.update(horizon=horizon, time_unit=time_unit, margin=margin, observation_end=end)
    if path is not None:
        _write(out, path)
    return out


def _early_and_later_value(acq, tx, end: pd.Timestamp, window_days: int) -> pd.DataFrame:
    """Per customer: the first order's value, revenue in the first ``window_days``, and whether mature."""
    end_lit = ibis.literal(end.to_pydatetime(), type="timestamp")
    a = acq.filter(acq.acq_day.notnull() & (acq.acq_day <= end_lit))
    j = tx.join(a.select("customer_id", "acq_day"), "customer_id")
    j = j.mutate(tx_day=j.date.truncate("D"))
    j = j.filter(j.tx_day >= j.acq_day)
    j = j.mutate(first=j.date.min().over(ibis.window(group_by="customer_id")),
                 offset=j.tx_day.delta(j.acq_day, unit="day"))
    per = j.group_by("customer_id").aggregate(
        first_order_value=exact_sum(j.amount, where=j.date == j.first),
        window_value=exact_sum(j.amount, where=j.offset < window_days),
    )
    out = a.left_join(per, "customer_id").select(
        a.customer_id, a.group, a.acq_day,
        first_order_value=ibis.coalesce(per.first_order_value, 0.0),
        window_value=ibis.coalesce(per.window_value, 0.0),
        mature=(end_lit.delta(a.acq_day, unit="day") + 1) >= window_days,
    )
    return execute(out).sort_values("customer_id", kind="stable").reset_index(drop=True)


def _bands(first_order: pd.Series, bands: int) -> pd.Series:
    """Quantile bands 1..bands of the first order's value (ties share a band; deterministic)."""
    edges = np.unique(np.quantile(first_order.to_numpy(dtype=float), np.linspace(0, 1, bands + 1)[1:-1]))
    return pd.Series(np.searchsorted(edges, first_order.to_numpy(dtype=float), side="right") + 1,
                     index=first_order.index, dtype="int64")


def _value_rules(people: pd.DataFrame, margin: float, prior: float) -> pd.DataFrame:
    """The conversion value of each (campaign, band): cell mean of mature customers shrunk to the campaign's."""
    mature = people[people["mature"]]
    overall = float(mature["window_value"].mean()) if len(mature) else np.nan
    campaign_mean = mature.groupby("group")["window_value"].mean()
    cells = people[["group", "value_band"]].drop_duplicates().sort_values(["group", "value_band"])
    stats = mature.groupby(["group", "value_band"])["window_value"].agg(n_mature="size", cell_mean="mean")
    rules = cells.merge(stats.reset_index(), on=["group", "value_band"], how="left")
    rules["n_mature"] = rules["n_mature"].fillna(0).astype("int64")
    rules["campaign_mean"] = rules["group"].map(campaign_mean).astype("float64")
    no_campaign = rules["campaign_mean"].isna()
    rules["note"] = np.where(no_campaign, "no mature customer of this campaign: the overall mean", "")
    rules.loc[no_campaign, "campaign_mean"] = overall
    n = rules["n_mature"].to_numpy(dtype=float)
    cell = rules["cell_mean"].fillna(0.0).to_numpy()
    value = (n * cell + prior * rules["campaign_mean"].to_numpy()) / (n + prior)
    if np.isnan(value).any():
        raise DataError("no customer has been observed for the whole horizon yet; pass a shorter horizon "
                        "(e.g. horizon=13 with time_unit='W') or a later observation_end.")
    rules["conversion_value"] = np.round(value * margin).astype("int64")
    rules["note"] = rules["note"].astype("str")
    return rules.reset_index(drop=True)
