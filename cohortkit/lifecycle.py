"""From scores to decisions, per customer: lifecycle states, growth accounting, RFM segments.

* :func:`lifecycle_table` — one row per (period, state[, group]): how many of the customers acquired so
  far are new, returning, resurrected or dormant in each calendar period (and their revenue).
* :func:`growth_accounting` — one row per period: active customers = previous active + new +
  resurrected − churned, the quick ratio (new + resurrected) / churned, and the same identity for
  revenue (with expansion and contraction of returning customers).
* :func:`rfm_segments` — one row per customer: R, F and M quintile scores and the conventional segment
  name (Champions, Loyal customers, …, Lost) in English and Japanese; :func:`rfm_segment_sizes` the
  customers and revenue per segment, counted by the engine (one row per segment).

Definitions
-----------
Periods
    As in :func:`cohortkit.cohort_table`: ``"D"`` calendar day, ``"W"`` ISO week (Monday to Sunday),
    ``"M"`` calendar month, ``"Q"`` calendar quarter. Timestamps are truncated to their period first.
    Only *complete* periods are reported (a period is complete when its last day is on or before the
    observation end, by default the day of the last purchase); purchases in later periods are ignored.
    The first period reported is the one holding the first purchase of the whole log.
Active
    A customer is *active* in a period when they have at least one transaction (row) in it.
States (each customer acquired by period p is in exactly one)
    ``new``         active in p, and p is the period of their first purchase;
    ``returning``   active in p and in p − 1;
    ``resurrected`` active in p, not in p − 1, but in some period before p − 1;
    ``dormant``     not active in p (their first purchase was before p).
    Customers whose first purchase is after p are not counted in p. So for every period
    new + returning + resurrected + dormant = the customers acquired up to and including p.
Churned (a sub-count of dormant, used by :func:`growth_accounting`)
    Customers active in p − 1 and not in p: the dormant customers who were active in the period
    before. Every customer active in p − 1 is either returning or churned in p.
Revenue
    The amount of a customer's transactions in the period. Dormant customers have no revenue; the
    churned revenue of period p is what the churned customers spent in p − 1 (revenue lost). For a
    returning customer, expansion is max(revenue in p − revenue in p − 1, 0) and contraction is
    max(revenue in p − 1 − revenue in p, 0).

The states follow the growth-accounting framework of Jonathan Hsu (Social Capital, "Diligence at
Social Capital", 2015); the reductions run as Ibis expressions (DuckDB by default, or the backend of an
Ibis table you pass) and come back as pandas long-form frames.
"""

from __future__ import annotations

from typing import Any

import ibis
import numpy as np
import pandas as pd

from ._args import CALENDAR_UNITS
from ._engine import decimal_sum, execute
from .cohort import check_calendar_unit, period_index, period_index_of, period_labels
from ._errors import DataError
from .io import Column, date_text, prepare
from .io import observation_end as end_of_observation

__all__ = [
    "lifecycle_table",
    "growth_accounting",
    "rfm_segments",
    "rfm_segment_sizes",
    "STATES",
    "STATE_NAMES_JA",
    "SEGMENTS",
    "SEGMENT_NAMES_JA",
]

#: The exclusive lifecycle states, in the order they are reported.
STATES: tuple[str, ...] = ("new", "returning", "resurrected", "dormant")
#: Japanese names of the states (and of ``churned``), as used on the plots.
STATE_NAMES_JA: dict[str, str] = {
    "new": "新規",
    "returning": "継続",
    "resurrected": "復帰",
    "dormant": "休眠",
    "churned": "離脱",
}

#: RFM segments from best to worst.
SEGMENTS: tuple[str, ...] = (
    "Champions",
    "Loyal customers",
    "Potential loyalists",
    "New customers",
    "Promising",
    "Need attention",
    "About to sleep",
    "At risk",
    "Can't lose them",
    "Hibernating",
    "Lost",
)
SEGMENT_NAMES_JA: dict[str, str] = {
    "Champions": "チャンピオン",
    "Loyal customers": "ロイヤル顧客",
    "Potential loyalists": "ロイヤル顧客候補",
    "New customers": "新規顧客",
    "Promising": "有望顧客",
    "Need attention": "要注意顧客",
    "About to sleep": "休眠予備軍",
    "At risk": "離脱リスク顧客",
    "Can't lose them": "失ってはならない顧客",
    "Hibernating": "休眠顧客",
    "Lost": "離脱顧客",
}

# R score (rows, 1..5) x F score (columns, 1..5) -> segment; see rfm_segments for the source
_GRID: dict[tuple[int, int], str] = {}
for _r in (1, 2):
    for _f in (1, 2):
        _GRID[_r, _f] = "Hibernating"
    for _f in (3, 4):
        _GRID[_r, _f] = "At risk"
    _GRID[_r, 5] = "Can't lose them"
_GRID[1, 1] = "Lost"
_GRID[3, 1] = _GRID[3, 2] = "About to sleep"
_GRID[3, 3] = "Need attention"
for _r in (3, 4):
    for _f in (4, 5):
        _GRID[_r, _f] = "Loyal customers"
_GRID[4, 1] = "Promising"
_GRID[5, 1] = "New customers"
for _r in (4, 5):
    for _f in (2, 3):
        _GRID[_r, _f] = "Potential loyalists"
_GRID[5, 4] = _GRID[5, 5] = "Champions"
del _r, _f

# --- the shared reduction ---------------------------------------------------------------------


def _prepared(transactions, customer_col, date_col, amount_col, by):
    cols = [
        Column("customer_col", customer_col, "customer_id", "id", "the customer id"),
        Column("date_col", date_col, "date", "timestamp", "the purchase date"),
        Column("amount_col", amount_col, "amount", "numeric", "the purchase amount"),
    ]
    if by is not None:
        if not isinstance(by, str):
            raise DataError(
                f"by must be one column name (a string), got {type(by).__name__} {by!r}. Pass "
                "by='<column name>' (e.g. by='channel')."
            )
        if by in ("customer_id", "period", "state", "customers", "revenue"):
            raise DataError(
                f"by={by!r} clashes with a column of the output; rename that column of your data "
                "(e.g. to 'group') and pass the new name."
            )
        cols.append(Column("by", by, "by", "any", "the customer attribute to group by"))
    return prepare(transactions, cols, what="transactions", spread=True)  # as cohort_table


def _period_flows(transactions, customer_col, date_col, amount_col, time_unit, by, obs_value):
    """Per ([group,] period): new, returning, resurrected, churned counts (and revenues), dense."""
    unit = check_calendar_unit(time_unit)
    has_amount = amount_col is not None
    t = _prepared(transactions, customer_col, date_col, amount_col, by)
    span = execute(t.aggregate(first=t.date.min(), last=t.date.max())).iloc[0]
    first, last = pd.Timestamp(span["first"]), pd.Timestamp(span["last"])
    obs = end_of_observation(obs_value, first, last).normalize()
    last_complete = period_index_of(obs + pd.Timedelta(days=1), unit) - 1
    first_index = period_index_of(first, unit)
    if last_complete < first_index:
        raise DataError(
            f"observation_end={date_text(obs)!r} leaves no complete {CALENDAR_UNITS[unit][1]}: the "
            f"first purchase is in {period_labels(np.array([first_index]), unit)[0]}, which ends after it. "
            "Pass a later observation_end or a shorter period (e.g. time_unit='D')."
        )

    t = t.mutate(p=period_index(t.date, unit))
    t = t.filter(t.p <= last_complete)  # a literal (shared/ENGINE.md, guardrail 3)
    keys = ["customer_id", "p"]
    if by is not None:
        # the group a customer had on their first purchase (the smallest value on a tie)
        t = t.mutate(by=t.by.first().over(ibis.window(group_by=t.customer_id, order_by=[t.date, t.by])))
        keys.append("by")
    cp = t.group_by(keys).aggregate(
        **({"revenue": decimal_sum(t.amount)} if has_amount else {"orders": t.count()})
    )
    w = ibis.window(group_by=cp.customer_id, order_by=cp.p)
    cp = cp.mutate(prev_p=cp.p.lag().over(w), next_p=cp.p.lead().over(w))
    if has_amount:
        cp = cp.mutate(prev_revenue=cp.revenue.lag().over(w))
    state = ibis.cases(
        (cp.prev_p.isnull(), "new"),
        (cp.prev_p == cp.p - 1, "returning"),
        else_="resurrected",
    )
    cp = cp.mutate(state=state)
    group = ["by"] if by is not None else []

    active_aggs: dict[str, Any] = {"customers": cp.count()}
    if has_amount:
        change = (cp.revenue - cp.prev_revenue).cast("float64")
        returning = cp.state == "returning"
        active_aggs |= {
            "revenue": cp.revenue.sum().cast("float64"),
            "expansion": change.clip(lower=0).sum(where=returning).fill_null(0.0),
            "contraction": (-change).clip(lower=0).sum(where=returning).fill_null(0.0),
        }
    active = cp.group_by([*group, "p", "state"]).aggregate(**active_aggs)
    # a customer active in p and not in p + 1 churns in p + 1 (when p + 1 is complete)
    gone = cp.filter((cp.next_p.isnull() | (cp.next_p > cp.p + 1)) & (cp.p < last_complete))
    churn_aggs: dict[str, Any] = {"customers": gone.count()}
    if has_amount:
        churn_aggs |= {
            "revenue": gone.revenue.sum().cast("float64"),
        }
    churn = gone.group_by([*group, (gone.p + 1).name("p"), ibis.literal("churned").name("state")]).aggregate(
        **churn_aggs
    )
    if has_amount:  # churned customers have no expansion or contraction (same columns for the union)
        churn = churn.mutate(expansion=ibis.literal(0.0, "float64"), contraction=ibis.literal(0.0, "float64"))
    raw = execute(active.union(churn))

    # dense: every group x every complete period from the log's first one
    raw["p"] = raw["p"].astype("int64")
    raw["customers"] = raw["customers"].astype("int64")
    periods = np.arange(first_index, last_complete + 1, dtype="int64")
    values = ["customers", *(["revenue", "expansion", "contraction"] if has_amount else [])]
    wide = raw.pivot_table(index=[*group, "p"], columns="state", values=values, aggfunc="sum",
                           fill_value=0, dropna=False)
    wide.columns = [f"{state}_{value}" if value != "customers" else state for value, state in wide.columns]
    if by is not None:
        groups = pd.Index(raw["by"].drop_duplicates()).sort_values(na_position="last")
        index = pd.MultiIndex.from_product([groups, periods], names=["by", "p"])
    else:
        index = pd.Index(periods, name="p")
    wide = wide.reindex(index, fill_value=0)
    out = pd.DataFrame(index=wide.index)

    def column(name: str, dtype: str) -> pd.Series:  # a state nobody was in has no column
        return (wide[name] if name in wide else pd.Series(0, index=wide.index)).astype(dtype)

    for state in ("new", "returning", "resurrected", "churned"):
        out[state] = column(state, "int64")
        if has_amount:
            out[f"{state}_revenue"] = column(f"{state}_revenue", "float64")
    if has_amount:
        out["expansion_revenue"] = column("returning_expansion", "float64")
        out["contraction_revenue"] = column("returning_contraction", "float64")
    out = out.reset_index()
    attrs = {"time_unit": unit, "observation_end": obs, "by": by}
    return out, group, attrs, has_amount


def _finish(out: pd.DataFrame, group: list[str], by, unit: str) -> pd.DataFrame:
    out["period"] = period_labels(out["p"].to_numpy(), unit)
    out = out.drop(columns="p")
    if by is not None:
        out = out.rename(columns={"by": by})
    return out.reset_index(drop=True)


# --- public functions -------------------------------------------------------------------------


def growth_accounting(
    transactions,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str | None = None,
    time_unit: str = "M",
    by: str | None = None,
    observation_end=None,
) -> pd.DataFrame:
    """Growth accounting per period: where this period's active customers (and revenue) came from.

    Active customers this period = previous active + new + resurrected − churned, and the quick ratio
    (new + resurrected) / churned: above 1 the customer base grows, below 1 it shrinks (Jonathan Hsu,
    Social Capital, "Diligence at Social Capital", 2015). See the module docstring for the exact
    definitions of the states.

    Parameters
    ----------
    transactions : DataFrame, path or ibis.Table
        The purchase log, one row per transaction.
    customer_col, date_col : str
        Columns holding the customer id and the purchase timestamp.
    amount_col : str, optional
        Column holding the purchase amount; adds the revenue columns.
    time_unit : {"D", "W", "M", "Q"}, default "M"
        Calendar day, ISO week, calendar month or calendar quarter.
    by : str, optional
        A column of ``transactions``; each customer takes its value on their **first** purchase (the
        smallest value on a tie), as in :func:`cohortkit.cohort_table`. One block of rows per group.
    observation_end : date-like, optional
        The last observed day (inclusive). Default: the day of the last purchase.

    Returns
    -------
    pandas.DataFrame
        One row per [group and] complete period, sorted, with

        ===================  ======================================================================
        ``<by>``             the group (only with ``by``)
        period               the calendar period (a pandas ``Period``)
        acquired             customers whose first purchase is in this period or before
        active               customers who bought in the period (new + returning + resurrected)
        previous_active      ``active`` of the period before (0 in the first period)
        new                  first purchase in this period
        returning            bought in this period and the one before
        resurrected          bought in this period, not in the one before, but earlier
        churned              bought in the period before, not in this one
        dormant              acquired but not active (churned ⊂ dormant)
        quick_ratio          (new + resurrected) / churned; NaN when churned is 0 (never inf)
        ===================  ======================================================================

        With ``amount_col`` also ``revenue`` (of the active customers), ``previous_revenue``,
        ``new_revenue``, ``resurrected_revenue``, ``returning_revenue``, ``expansion_revenue``,
        ``contraction_revenue``, ``churned_revenue`` (what the churned customers spent in the period
        before) and ``revenue_quick_ratio`` = (new + resurrected + expansion) / (churned +
        contraction), NaN when the denominator is 0. The identities ``active = previous_active + new
        + resurrected − churned`` and ``revenue = previous_revenue + new_revenue +
        resurrected_revenue + expansion_revenue − contraction_revenue − churned_revenue`` hold in
        every row. ``note`` says why a ratio is NaN (empty otherwise). ``attrs`` records
        ``time_unit``, ``observation_end`` and ``by``.

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({
    ...     "customer_id": ["a", "b", "a", "c", "a", "b"],
    ...     "date": pd.to_datetime(["2024-01-03", "2024-01-09", "2024-02-01", "2024-02-11",
    ...                             "2024-03-05", "2024-03-20"]),
    ... })
    >>> g = growth_accounting(tx, observation_end="2024-03-31")
    >>> g[["period", "active", "new", "returning", "resurrected", "churned", "dormant", "quick_ratio"]]
        period  active  new  returning  resurrected  churned  dormant  quick_ratio
    0  2024-01       2    2          0            0        0        0          NaN
    1  2024-02       2    1          1            0        1        1          1.0
    2  2024-03       2    0          1            1        1        1          1.0
    >>> g["note"].iloc[0]
    'no churned customers: quick ratio undefined'
    """
    flows, group, attrs, has_amount = _period_flows(
        transactions, customer_col, date_col, amount_col, time_unit, by, observation_end
    )
    f = flows
    per_group = f.groupby(group, dropna=False, sort=False) if group else None

    def lagged(col: str) -> pd.Series:
        shifted = per_group[col].shift(1) if per_group is not None else f[col].shift(1)
        return shifted.fillna(0)

    out = f[[*group, "p"]].copy()
    new_cum = per_group["new"].cumsum() if per_group is not None else f["new"].cumsum()
    out["acquired"] = new_cum.astype("int64")
    f["active"] = f["new"] + f["returning"] + f["resurrected"]
    out["active"] = f["active"].astype("int64")
    out["previous_active"] = lagged("active").astype("int64")
    for state in ("new", "returning", "resurrected", "churned"):
        out[state] = f[state]
    out["dormant"] = out["acquired"] - out["active"]
    gains = (out["new"] + out["resurrected"]).to_numpy(dtype="float64")
    losses = out["churned"].to_numpy(dtype="float64")
    out["quick_ratio"] = np.divide(gains, losses, out=np.full(len(out), np.nan), where=losses > 0)
    notes = [np.where(losses > 0, "", "no churned customers: quick ratio undefined")]
    if has_amount:
        f["revenue"] = f["new_revenue"] + f["returning_revenue"] + f["resurrected_revenue"]
        out["revenue"] = f["revenue"]
        out["previous_revenue"] = lagged("revenue").astype("float64")
        for col in ("new_revenue", "resurrected_revenue", "returning_revenue", "expansion_revenue",
                    "contraction_revenue", "churned_revenue"):
            out[col] = f[col]
        gains = (out["new_revenue"] + out["resurrected_revenue"] + out["expansion_revenue"]).to_numpy()
        losses = (out["churned_revenue"] + out["contraction_revenue"]).to_numpy()
        out["revenue_quick_ratio"] = np.divide(gains, losses, out=np.full(len(out), np.nan),
                                               where=losses > 0)
        notes.append(np.where(losses > 0, "",
                              "no churned or contracted revenue: revenue quick ratio undefined"))
    note = notes[0]
    for extra in notes[1:]:
        note = np.where((note != "") & (extra != ""), np.char.add(np.char.add(note.astype(str), "; "), extra.astype(str)),
                        np.where(note != "", note, extra))
    out["note"] = pd.Series(note, index=out.index).astype("str")
    out = _finish(out, group, by, attrs["time_unit"])
    out = out[[*([by] if by is not None else []), "period",
               *[c for c in out.columns if c not in ("period", by)]]]
    out.attrs = attrs
    return out


def lifecycle_table(
    transactions,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str | None = None,
    time_unit: str = "M",
    by: str | None = None,
    observation_end=None,
) -> pd.DataFrame:
    """Lifecycle states per period in long form: new, returning, resurrected and dormant customers.

    For every complete calendar period each customer who has bought at least once by then is in
    exactly one state (see the module docstring): ``new`` (first purchase in the period),
    ``returning`` (bought in this period and the one before), ``resurrected`` (bought in this period,
    not in the one before, but earlier) or ``dormant`` (bought before, not in this period). So the
    four counts of a period sum to the customers acquired up to that period.

    Parameters
    ----------
    transactions, customer_col, date_col, amount_col, time_unit, by, observation_end
        As in :func:`growth_accounting`.

    Returns
    -------
    pandas.DataFrame
        Four rows per [group and] period, sorted by [group,] period and state, with columns
        [``<by>``], ``period`` (a pandas ``Period``), ``state`` (ordered categorical: new, returning,
        resurrected, dormant), ``state_ja`` (新規, 継続, 復帰, 休眠), ``customers`` and — with
        ``amount_col`` — ``revenue`` (0 for dormant customers). ``attrs`` records ``time_unit``,
        ``observation_end`` and ``by``. :func:`growth_accounting` has the churned sub-count of
        dormant and the quick ratio.

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({
    ...     "customer_id": ["a", "b", "a", "c", "a", "b"],
    ...     "date": pd.to_datetime(["2024-01-03", "2024-01-09", "2024-02-01", "2024-02-11",
    ...                             "2024-03-05", "2024-03-20"]),
    ...     "amount": [10.0, 5.0, 12.0, 8.0, 9.0, 4.0],
    ... })
    >>> t = lifecycle_table(tx, amount_col="amount", observation_end="2024-03-31")
    >>> t[t["period"] == pd.Period("2024-03", "M")]
         period        state state_ja  customers  revenue
    8   2024-03          new       新規          0      0.0
    9   2024-03    returning       継続          1      9.0
    10  2024-03  resurrected       復帰          1      4.0
    11  2024-03      dormant       休眠          1      0.0
    >>> t.groupby("period")["customers"].sum().tolist()  # customers acquired so far
    [2, 3, 3]
    """
    g = growth_accounting(
        transactions, customer_col=customer_col, date_col=date_col, amount_col=amount_col,
        time_unit=time_unit, by=by, observation_end=observation_end,
    )
    keys = ([by] if by is not None else []) + ["period"]
    frames = []
    for order, state in enumerate(STATES):
        part = g[keys].copy()
        part["_order"] = order
        part["state"] = state
        part["customers"] = g[state].astype("int64")
        if amount_col is not None:
            part["revenue"] = 0.0 if state == "dormant" else g[f"{state}_revenue"].astype("float64")
        frames.append(part)
    long = pd.concat(frames, ignore_index=True)
    long["_row"] = np.tile(np.arange(len(g)), len(STATES))
    long = long.sort_values(["_row", "_order"], kind="stable").drop(columns=["_row", "_order"])
    long["state_ja"] = long["state"].map(STATE_NAMES_JA).astype("str")
    long["state"] = pd.Categorical(long["state"], categories=list(STATES), ordered=True)
    cols = [*keys, "state", "state_ja", "customers", *(["revenue"] if amount_col is not None else [])]
    long = long[cols].reset_index(drop=True)
    long.attrs = dict(g.attrs)
    return long


def _rfm_scores(transactions, customer_col, date_col, amount_col, observation_end, *, what: str):
    """One row per customer (an Ibis expression): recency, purchase days, revenue (exact DECIMAL in
    ``revenue_exact``, float64 in ``revenue``) and the R, F, M scores; and the observation end."""
    if amount_col is None:
        raise DataError(f"{what} needs amount_col= (the M of RFM), e.g. amount_col='amount'.")
    t = prepare(
        transactions,
        [
            Column("customer_col", customer_col, "customer_id", "id", "the customer id"),
            Column("date_col", date_col, "date", "timestamp", "the purchase date"),
            Column("amount_col", amount_col, "amount", "numeric", "the purchase amount"),
        ],
        what="transactions",
    )
    span = execute(t.aggregate(first=t.date.min(), last=t.date.max())).iloc[0]
    obs = end_of_observation(observation_end, pd.Timestamp(span["first"]), pd.Timestamp(span["last"]))
    obs_day = ibis.literal(obs.normalize().date(), type="date")
    t = t.mutate(day=t.date.date())
    t = t.filter(t.day <= obs_day)
    c = t.group_by("customer_id").aggregate(
        last_day=t.day.max(), purchase_days=t.day.nunique(), revenue_exact=decimal_sum(t.amount)
    )
    c = c.mutate(recency_days=obs_day.delta(c.last_day, unit="day").cast("int64"),
                 revenue=c.revenue_exact.cast("float64"))
    n = c.count().over(ibis.window())

    def score(worse_first: ibis.Value) -> ibis.Value:
        below = ibis.rank().over(ibis.window(order_by=worse_first))  # customers strictly worse
        return ((below * 5) / n).floor().cast("int64") + 1

    c = c.mutate(
        r_score=score(ibis.desc(c.recency_days)),
        f_score=score(c.purchase_days),
        m_score=score(c.revenue),
    )
    return c, obs


def rfm_segments(
    transactions,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    observation_end=None,
) -> pd.DataFrame:
    """RFM quintile scores and the conventional segment names (English and Japanese) per customer.

    Per customer, from the purchases on or before ``observation_end`` (default: the day of the last
    purchase):

    * ``recency_days`` — days from the last purchase day to the observation end (0: bought that day);
    * ``purchase_days`` — days with a purchase (several purchases on one day count once, as in
      :func:`cohortkit.rfm_summary`);
    * ``revenue`` — the total amount.

    **Scores.** Each measure is scored 1–5 (5 best: most recent, most purchase days, most revenue) as
    ``1 + floor(5 × k / n)``, where ``n`` is the number of customers and ``k`` the number of customers
    with a strictly *worse* value. So customers with equal values always get equal scores (no
    arbitrary tie-break by row order or id: the result is deterministic and does not depend on the
    order of the log), and each score holds about a fifth of the customers when there are few ties.
    With many ties a score can be empty: when 60 % of customers bought on one day only, they all get
    F = 1 and the next F score is 4.

    **Segments.** The R × F grid of segment names popularised by Putler's RFM guide
    ("RFM Analysis for Successful Customer Segmentation", putler.com/rfm-analysis) and reproduced in
    many open tutorials as a map of R and F scores to names (e.g. ``[1-2][1-2]`` → Hibernating). There
    is no single standard; this is that grid, with "Lost" (lowest recency and frequency, Putler's
    description) as the cell R = 1, F = 1 carved out of Hibernating. The M score is reported (and in
    ``rfm_cell``) but does not change the segment, as in the grid:

    ============  =======  =======  =======  =======  =======
    R \\ F         1        2        3        4        5
    ============  =======  =======  =======  =======  =======
    5             New      Pot.     Pot.     Champ.   Champ.
    4             Prom.    Pot.     Pot.     Loyal    Loyal
    3             Sleep    Sleep    Attn.    Loyal    Loyal
    2             Hib.     Hib.     Risk     Risk     Can't
    1             Lost     Hib.     Risk     Risk     Can't
    ============  =======  =======  =======  =======  =======

    (New customers, Potential loyalists, Champions, Promising, Loyal customers, About to sleep, Need
    attention, Hibernating, At risk, Can't lose them, Lost.) Every (R, F) pair has exactly one name,
    so every customer is in exactly one segment.

    Parameters
    ----------
    transactions : DataFrame, path or ibis.Table
        The purchase log, one row per transaction.
    customer_col, date_col, amount_col : str
        Columns holding the customer id, the purchase timestamp and the amount.
    observation_end : date-like, optional
        The last observed day (inclusive). Default: the day of the last purchase.

    Returns
    -------
    pandas.DataFrame
        One row per customer, sorted by ``customer_id``: ``customer_id``, ``recency_days``,
        ``purchase_days``, ``revenue``, ``r_score``, ``f_score``, ``m_score`` (1–5), ``rfm_cell``
        (e.g. ``"545"``), ``segment`` (ordered categorical, best first: :data:`SEGMENTS`) and
        ``segment_ja`` (チャンピオン, ロイヤル顧客, …: :data:`SEGMENT_NAMES_JA`). ``attrs`` records
        ``observation_end``.

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({
    ...     "customer_id": ["a", "a", "a", "b", "c", "c", "d", "e"],
    ...     "date": pd.to_datetime(["2024-01-02", "2024-02-10", "2024-03-30", "2024-03-29",
    ...                             "2024-01-05", "2024-01-20", "2024-01-03", "2024-02-01"]),
    ...     "amount": [50.0, 40.0, 60.0, 20.0, 30.0, 30.0, 5.0, 10.0],
    ... })
    >>> s = rfm_segments(tx, observation_end="2024-03-31")
    >>> s[["customer_id", "recency_days", "purchase_days", "rfm_cell", "segment", "segment_ja"]]
      customer_id  recency_days  purchase_days rfm_cell         segment segment_ja
    0           a             1              3      555       Champions     チャンピオン
    1           b             2              1      413       Promising       有望顧客
    2           c            71              2      244         At risk    離脱リスク顧客
    3           d            88              1      111            Lost       離脱顧客
    4           e            59              1      312  About to sleep      休眠予備軍
    """
    c, obs = _rfm_scores(transactions, customer_col, date_col, amount_col, observation_end, what="rfm_segments")
    out = execute(c.select("customer_id", "recency_days", "purchase_days", "revenue",
                           "r_score", "f_score", "m_score"))
    out = out.sort_values("customer_id", kind="stable").reset_index(drop=True)
    for col in ("recency_days", "purchase_days", "r_score", "f_score", "m_score"):
        out[col] = out[col].astype("int64")
    out["revenue"] = out["revenue"].astype("float64")
    out["rfm_cell"] = (out["r_score"].astype(str) + out["f_score"].astype(str)
                       + out["m_score"].astype(str)).astype("str")
    names = [_GRID[r, f] for r, f in zip(out["r_score"], out["f_score"])]
    out["segment"] = pd.Categorical(names, categories=list(SEGMENTS), ordered=True)
    out["segment_ja"] = pd.Series([SEGMENT_NAMES_JA[s] for s in names], index=out.index, dtype="str")
    out.attrs = {"observation_end": obs.normalize()}
    return out


def rfm_segment_sizes(
    transactions,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    observation_end=None,
) -> pd.DataFrame:
    """Customers and revenue per RFM segment, counted where the data is (one row per segment).

    The same scores and segments as :func:`rfm_segments` (see its docstring for the rules), but
    counted and summed by the engine (DuckDB by default): only one row per segment comes back to
    pandas, so a log of millions of customers needs no per-customer table in memory. Equal to
    grouping the output of :func:`rfm_segments` by ``segment``.

    Parameters
    ----------
    transactions : DataFrame, path or ibis.Table
        The purchase log, one row per transaction.
    customer_col, date_col, amount_col : str
        Columns holding the customer id, the purchase timestamp and the amount.
    observation_end : date-like, optional
        The last observed day (inclusive). Default: the day of the last purchase.

    Returns
    -------
    pandas.DataFrame
        One row per segment that has customers, best first (:data:`SEGMENTS` order): ``segment``
        (ordered categorical), ``segment_ja``, ``customers`` (int64) and ``revenue`` (their total
        amount, summed exactly, float64). ``attrs`` records ``observation_end``.

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({
    ...     "customer_id": ["a", "a", "a", "b", "c", "c", "d", "e"],
    ...     "date": pd.to_datetime(["2024-01-02", "2024-02-10", "2024-03-30", "2024-03-29",
    ...                             "2024-01-05", "2024-01-20", "2024-01-03", "2024-02-01"]),
    ...     "amount": [50.0, 40.0, 60.0, 20.0, 30.0, 30.0, 5.0, 10.0],
    ... })
    >>> rfm_segment_sizes(tx, observation_end="2024-03-31")
              segment segment_ja  customers  revenue
    0       Champions     チャンピオン          1    150.0
    1       Promising       有望顧客          1     20.0
    2  About to sleep      休眠予備軍          1     10.0
    3         At risk    離脱リスク顧客          1     60.0
    4            Lost       離脱顧客          1      5.0
    """
    c, obs = _rfm_scores(transactions, customer_col, date_col, amount_col, observation_end,
                         what="rfm_segment_sizes")
    code = ibis.cases(*[((c.r_score == r) & (c.f_score == f), SEGMENTS.index(name))
                        for (r, f), name in sorted(_GRID.items())])
    c = c.mutate(code=code)
    sizes = execute(c.group_by("code").aggregate(customers=c.count(),
                                                 revenue=c.revenue_exact.sum().cast("float64")))
    sizes = sizes.sort_values("code", ignore_index=True)
    codes = sizes["code"].to_numpy(dtype="int64")
    out = pd.DataFrame({
        "segment": pd.Categorical.from_codes(codes, categories=list(SEGMENTS), ordered=True),
        "segment_ja": pd.Series([SEGMENT_NAMES_JA[SEGMENTS[k]] for k in codes], dtype="str"),
        "customers": sizes["customers"].to_numpy(dtype="int64"),
        "revenue": sizes["revenue"].to_numpy(dtype="float64"),
    })
    out.attrs = {"observation_end": obs.normalize()}
    return out
