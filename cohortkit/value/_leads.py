"""Lead nurturing: rule-based lead scores, the MQL flag and the lead → MQL → SQL → deal funnel."""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import ibis
import numpy as np
import pandas as pd

from .._args import renamed, unit_days
from .._engine import execute
from ..io import Column, prepare
from .._errors import DataError

__all__ = ["lead_scores", "lead_funnel", "DEFAULT_POINTS"]

#: Points per behaviour used when ``points`` is not given (shared/DOMAIN.md, "Lead nurturing").
DEFAULT_POINTS: dict[str, float] = {"product_page_view": 10, "seminar": 20, "document_request": 30}


def _check_points(points: Any) -> dict[str, float]:
    if not isinstance(points, Mapping) or not points:
        raise DataError(
            "points must be a non-empty dict of event name -> points, e.g. {'product_page_view': 10, "
            "'seminar': 20, 'document_request': 30}."
        )
    out = {}
    for k, v in points.items():
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) \
                or not math.isfinite(float(v)):
            raise DataError(f"points[{k!r}] must be a finite number, got {v!r}.")
        out[str(k)] = float(v)
    return out


def _check_stages(stages: Any, points: Mapping[str, float]) -> list[str]:
    if isinstance(stages, str) or not isinstance(stages, Sequence):
        raise DataError(
            f"stages must be a list of sales-stage event names in funnel order, e.g. ['sql', 'deal'], "
            f"got {stages!r}."
        )
    stages = [str(s) for s in stages]
    reserved = {"lead", "mql"}
    for s in stages:
        if s in reserved or not s.isidentifier():
            raise DataError(
                f"stages contains {s!r}; stage names must be identifiers other than 'lead' and 'mql' "
                "(MQL is decided by the score)."
            )
        if s in points:
            raise DataError(f"{s!r} is both a scored event in points and a stage in stages; use it as one of them.")
    if len(set(stages)) != len(stages):
        raise DataError(f"stages {stages} lists an event twice; each stage appears once.")
    return stages


@renamed(lead_col="customer_col", time_col="date_col")
def lead_scores(
    events: Any,
    *,
    points: Mapping[str, float] | None = None,
    threshold: float = 50,
    stages: Sequence[str] = ("sql", "deal"),
    customer_col: str = "lead_id",
    date_col: str = "timestamp",
    event_col: str = "event",
) -> pd.DataFrame:
    """Rule-based lead scores, MQL flag and the time each lead reached each funnel stage.

    **Input.** One event log, one row per behaviour or sales-stage event of a lead:
    ``lead_id, timestamp, event``. Events named in ``points`` add their points to the lead's score
    (e.g. ``product_page_view`` +10, ``seminar`` +20, ``document_request`` +30); events named in
    ``stages`` are the sales stages recorded by the CRM (``sql``, ``deal``; or e.g.
    ``["sql", "opportunity", "won"]``); other events (and events without a name) are counted but score
    0. A row without a lead id or a time raises :class:`~cohortkit.DataError` (engine policy).

    **Stages**, in order, each reached at most once:

    * ``lead`` — every lead, at its first event (``first_seen``);
    * ``mql`` — the first time the running score (events in time order, ties broken by event name)
      reaches ``threshold``;
    * each of ``stages`` — the first such event **at or after** the previous stage was reached. A
      stage event before the previous stage (e.g. sales qualifying a lead that never became an MQL)
      does not count: the funnel is strictly ordered.

    The per-lead reduction is one Ibis expression (window sums and minima per lead, no joins), so
    it runs on DuckDB or the backend of an Ibis table you pass.

    Parameters
    ----------
    events : DataFrame, path or ibis.Table
        The event log.
    points : dict of str -> float, optional
        Points per event name; default :data:`DEFAULT_POINTS`. Negative points (e.g. an
        unsubscribe) are allowed.
    threshold : float, default 50
        Score at which a lead becomes an MQL (marketing-qualified lead).
    stages : sequence of str, default ("sql", "deal")
        Event names of the sales stages after MQL, in funnel order.
    customer_col, date_col, event_col : str
        Columns holding the lead id, the event time and the event name.

    Returns
    -------
    pandas.DataFrame
        One row per lead, sorted by ``lead_id``: ``lead_id, first_seen, n_events, score`` (total
        points), ``mql`` (bool), ``mql_at`` and, per stage, ``<stage>`` (bool) and ``<stage>_at``
        (NaT when not reached). ``attrs["stages"]`` is ``["lead", "mql", *stages]`` and
        ``attrs["threshold"]`` the threshold; pass the table to :func:`lead_funnel`.

    Raises
    ------
    DataError
        Missing columns, unparseable times, bad ``points``/``threshold``/``stages``.

    Examples
    --------
    >>> import pandas as pd
    >>> ev = pd.DataFrame({
    ...     "lead_id": ["a", "a", "a", "a", "b", "b", "c"],
    ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-03", "2024-01-05", "2024-01-20",
    ...                                  "2024-01-02", "2024-01-09", "2024-01-04"]),
    ...     "event": ["seminar", "document_request", "sql", "deal",
    ...               "product_page_view", "sql", "document_request"],
    ... })
    >>> s = lead_scores(ev, threshold=50)
    >>> s[["lead_id", "score", "mql", "mql_at", "sql", "deal"]]
      lead_id  score    mql     mql_at    sql   deal
    0       a   50.0   True 2024-01-03   True   True
    1       b   10.0  False        NaT  False  False
    2       c   30.0  False        NaT  False  False
    """
    points = _check_points(DEFAULT_POINTS if points is None else points)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.integer, np.floating)) \
            or not math.isfinite(float(threshold)):
        raise DataError(f"threshold must be a finite number of points, e.g. 50, got {threshold!r}.")
    stages = _check_stages(stages, points)
    t = prepare(
        events,
        [
            Column("customer_col", customer_col, "lead_id", "id", "the lead id"),
            Column("date_col", date_col, "timestamp", "timestamp", "the event time"),
            Column("event_col", event_col, "event", "string", "the event name", missing="allow"),
        ],
        what="events",
    )
    t = t.filter(t.lead_id.notnull() & t.timestamp.notnull())
    pts = ibis.cases(*[(t.event == k, ibis.literal(v, "float64")) for k, v in points.items()],
                     else_=ibis.literal(0.0, "float64"))
    t = t.mutate(points=pts)
    running = ibis.window(group_by="lead_id", order_by=["timestamp", "event"], rows=(None, 0))
    per_lead = ibis.window(group_by="lead_id")
    t = t.mutate(running=t.points.sum().over(running))
    null_ts = ibis.null("timestamp")
    t = t.mutate(mql_at=ibis.cases((t.running >= float(threshold), t.timestamp), else_=null_ts).min().over(per_lead))
    previous = "mql_at"
    for stage in stages:
        hit = (t.event == stage) & t[previous].notnull() & (t.timestamp >= t[previous])
        t = t.mutate(**{f"{stage}_at": ibis.cases((hit, t.timestamp), else_=null_ts).min().over(per_lead)})
        previous = f"{stage}_at"
    at_cols = ["mql_at", *[f"{s}_at" for s in stages]]
    agg = t.group_by("lead_id").aggregate(
        first_seen=t.timestamp.min(),
        n_events=t.count(),
        score=t.points.sum(),
        **{c: t[c].min() for c in at_cols},
    )
    out = execute(agg.order_by("lead_id"))
    out["n_events"] = out["n_events"].astype("int64")
    out["score"] = out["score"].astype("float64")
    cols = ["lead_id", "first_seen", "n_events", "score"]
    for name in ["mql", *stages]:
        out[f"{name}_at"] = pd.to_datetime(out[f"{name}_at"]).astype("datetime64[ns]")
        out[name] = out[f"{name}_at"].notna()
        cols += [name, f"{name}_at"]
    out["first_seen"] = pd.to_datetime(out["first_seen"]).astype("datetime64[ns]")
    out = out[cols].reset_index(drop=True)
    out.attrs.update(stages=["lead", "mql", *stages], threshold=float(threshold), points=dict(points))
    return out


def lead_funnel(scores: pd.DataFrame, *, time_unit: str = "D", ci: float = 0.95) -> pd.DataFrame:
    """The lead → MQL → SQL → deal funnel of a :func:`lead_scores` table: conversion and time per stage.

    Parameters
    ----------
    scores : pandas.DataFrame
        The output of :func:`lead_scores` (its ``attrs["stages"]`` gives the stage order; without
        attrs the stages are read from the ``<stage>_at`` columns in column order).
    time_unit : {"D", "W"}, default "D"
        Unit of the time between stages (days, or weeks of 7 days); fractional values.
    ci : float, default 0.95
        Confidence level of the Wilson interval of each stage-to-stage conversion.

    Returns
    -------
    pandas.DataFrame
        One row per stage in order: ``stage, leads`` (reached it), ``conversion`` (from the previous
        stage: leads / previous leads; 1.0 for ``lead``), ``conversion_lower, conversion_upper``,
        ``conversion_from_lead``, ``median_time, mean_time`` (from reaching the previous stage to
        reaching this one, among the leads that reached it, in ``time_unit``; NaN for ``lead``),
        ``note`` (why a value is NaN). ``attrs["time_unit"]`` records the unit.

    Examples
    --------
    >>> import pandas as pd
    >>> ev = pd.DataFrame({
    ...     "lead_id": ["a", "a", "a", "b", "b", "c"],
    ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-03", "2024-01-10", "2024-01-01",
    ...                                  "2024-01-02", "2024-01-04"]),
    ...     "event": ["seminar", "document_request", "sql", "document_request", "seminar",
    ...               "product_page_view"],
    ... })
    >>> f = lead_funnel(lead_scores(ev, threshold=50))
    >>> f[["stage", "leads", "conversion", "median_time"]]
      stage  leads  conversion  median_time
    0  lead      3    1.000000          NaN
    1   mql      2    0.666667          1.5
    2   sql      1    0.500000          7.0
    3  deal      0    0.000000          NaN
    """
    from ..metrics import rate

    days = unit_days(time_unit)
    if not isinstance(scores, pd.DataFrame) or "first_seen" not in scores.columns:
        raise DataError("scores must be the output of cohortkit.lead_scores (with a 'first_seen' column).")
    stages = list(scores.attrs.get("stages") or ["lead", *[c[:-3] for c in scores.columns if c.endswith("_at")]])
    unit = pd.Timedelta(days=days)
    times = {"lead": scores["first_seen"]}
    for s in stages[1:]:
        if f"{s}_at" not in scores.columns:
            raise DataError(f"scores has no column {s + '_at'!r}; pass the unchanged output of lead_scores.")
        times[s] = scores[f"{s}_at"]
    n_leads = len(scores)
    rows = []
    prev_n = None
    for i, s in enumerate(stages):
        reached = times[s].notna()
        n = int(reached.sum())
        row = {"stage": s, "leads": n, "note": ""}
        if i == 0:
            row.update(conversion=1.0 if n else np.nan, conversion_lower=np.nan, conversion_upper=np.nan,
                       median_time=np.nan, mean_time=np.nan)
        else:
            if prev_n:
                r = rate(n, prev_n, ci=ci)
                row.update(conversion=n / prev_n, conversion_lower=float(r["lower"].iloc[0]),
                           conversion_upper=float(r["upper"].iloc[0]))
            else:
                row.update(conversion=np.nan, conversion_lower=np.nan, conversion_upper=np.nan)
                row["note"] = f"conversion: 0 leads reached {stages[i - 1]}"
            gap = (times[s][reached] - times[stages[i - 1]][reached]) / unit
            row.update(median_time=float(gap.median()) if n else np.nan,
                       mean_time=float(gap.mean()) if n else np.nan)
            if not n:
                row["note"] = "; ".join(x for x in (row["note"], f"time: 0 leads reached {s}") if x)
        row["conversion_from_lead"] = n / n_leads if n_leads else np.nan
        rows.append(row)
        prev_n = n
    out = pd.DataFrame(rows)[["stage", "leads", "conversion", "conversion_lower", "conversion_upper",
                              "conversion_from_lead", "median_time", "mean_time", "note"]]
    out.attrs.update(time_unit=time_unit)
    return out
