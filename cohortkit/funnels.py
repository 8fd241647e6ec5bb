"""Funnels: step tables from aggregate counts, and windowed funnels on event logs.

* :func:`funnel_from_counts` — impressions → clicks → first purchase → … from totals.
* :func:`funnel` — the ClickHouse ``windowFunnel`` / Amplitude funnel on a user event log, computed
  as one Ibis expression (embedded DuckDB by default) without self-joins.
* :func:`funnel_dropoffs` — the users behind each ``drop_off`` of :func:`funnel` (same rules): one row
  per user who reached step k but not step k+1, with when they got there.
* :func:`funnel_paths` — the most common sequences of events between two steps (e.g. product view →
  purchase), with users, share and median time.

Semantics of :func:`funnel` (the tests hold a brute-force reference to exactly these rules)
------------------------------------------------------------------------------------------------
* Only events whose name is one of ``steps`` matter; other events are ignored (also in ``strict``).
  Rows with a missing user, time or event name are ignored.
* A user's events are ordered by time and, for equal times, by step index. So a step-k event and a
  step-(k+1) event at the **same timestamp count as in order** (ClickHouse's default; the later
  step's time must be ``>=`` the earlier one's).
* An **attempt** starts at a step-1 event at time ``s``. Steps are matched greedily, each at its
  earliest qualifying event. The window is **inclusive**: an event at exactly ``s + window`` counts.

  - ``order="ordered"``: step k is matched by the first step-k event after the matched step-(k−1)
    event, at a time ``<= s + window``.
  - ``order="strict"``: as ordered, and between the matched step-(k−1) and step-k events there
    may be no event of any other listed step (repeats of step k−1 are allowed). In the user's
    sequence of listed events, the matched steps are consecutive runs.
  - ``order="any"``: step k (k ≥ 2) is matched by the first step-k event in ``[s, s + window]``,
    whatever the order among steps 2..k.

  An attempt's depth is the number of steps matched in a row from step 1.
* **Best attempt.** A user reaches step k if any attempt reaches step k. The user's *counting
  attempt* is the one with the greatest depth; among those, the one that completes its last step
  earliest; then the latest start (the most recent step-1 event); then the smallest ``by`` value.
* **Times.** ``C_k`` is when the counting attempt has completed steps 1..k (the time of the matched
  step-1 event for k = 1; for ``ordered``/``strict`` the matched step-k event; for ``any`` the
  latest of the matched events 1..k). The time to convert to step k is ``C_k − C_(k−1)``,
  reported as median (interpolated, like ``numpy.median``) and 90th percentile (linear
  interpolation) over the users who reached step k, as ``pandas.Timedelta``; NaT for step 1 (no
  previous step) and for a step no user reached.
* ``by``: a column of the event log (e.g. the channel); each user is counted in the group of the
  step-1 event that starts their counting attempt (its value on that event row).
* **Exclusion** (``exclude=[...]``, e.g. a refund request). Let an attempt start at ``s`` and
  complete step k at ``C_k`` (as above). It reaches step k (k ≥ 2) only if no excluded event
  occurs at a time ``x`` with ``s <= x <= C_k`` — both ends included, so an excluded event at the
  same timestamp as the start or as the step cuts the attempt (ties go to the exclusion). The
  steps are matched as without ``exclude`` (excluded events are not steps: they never break a
  ``strict`` run); the attempt's depth is then cut before the first step completed at or after its
  first excluded event. The best attempt is chosen among these cut attempts, so a user who asks for
  a refund and later starts again can still count through the new attempt. Step 1 is always
  reached. :func:`funnel_dropoffs` follows the same rule.

Implementation (``shared/ENGINE.md`` guardrail 5): events are ordered per user by (time, step
index); ``ordered`` carries, in k−1 cumulative-max window passes, the latest step-1 time from which
each event's step can be reached within the window; ``any`` takes k−1 reverse cumulative minima
(the next event of each step); ``strict`` collapses runs of equal steps and looks ahead k−1 runs.
Times are integer microseconds since 1970 (exact, the same on DuckDB and Spark). Exclusion adds
one RANGE window pass (the latest excluded event at or before each step event for ``ordered``; the
next one at or after it for ``any`` and ``strict``), compared by value so that ties need no sort key.
:func:`funnel_paths` takes a running maximum of the from-step's time, per-user window minima for the
matched pair, then collapses runs of equal events with a lag and a cumulative sum and pivots the
first ``max_events`` runs into columns; the only join is the 1:1 join of two per-user tables.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from ._args import parse_duration, renamed
from ._engine import epoch_microseconds, execute
from .io import Column, prepare
from ._errors import DataError

__all__ = ["funnel_from_counts", "funnel", "funnel_dropoffs", "funnel_paths"]

_ORDERS = ("ordered", "strict", "any")
_NEVER = 2**62  # microseconds: later than any timestamp (year ~148,000)


# --- output table ---------------------------------------------------------------------------------


def _step_table(users: np.ndarray, steps: list[str]) -> pd.DataFrame:
    users = np.asarray(users, dtype="int64")
    prev = np.concatenate([[users[0]], users[:-1]])
    start = users[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        from_start = np.where(start > 0, users / max(start, 1), np.nan)
        from_prev = np.where(prev > 0, users / np.where(prev > 0, prev, 1), np.nan)
    note = np.where(prev == 0, "no users at the previous step", "")
    return pd.DataFrame(
        {
            "step_index": np.arange(1, len(steps) + 1, dtype="int64"),
            "step": pd.array(steps, dtype="str"),
            "users": users,
            "conversion_from_start": from_start,
            "conversion_from_previous": from_prev,
            "drop_off": prev - users,
            "note": pd.array(note, dtype="str"),
        }
    )


def funnel_from_counts(
    mapping_or_frame: Any, *, step_col: str = "step", count_col: str = "users"
) -> pd.DataFrame:
    """A funnel step table from aggregate counts.

    Parameters
    ----------
    mapping_or_frame : dict, pandas.Series or pandas.DataFrame
        Steps in funnel order with their counts: a mapping ``{step: count}`` (insertion order), a
        Series (index = step), or a DataFrame with one row per step (in order).
    step_col, count_col : str
        Column names when a DataFrame is given.

    Returns
    -------
    pandas.DataFrame
        ``step_index`` (1-based), ``step``, ``users`` (the counts), ``conversion_from_start``
        (users / users at step 1), ``conversion_from_previous``, ``drop_off`` (lost since the
        previous step; 0 at step 1) and ``note``. A zero count before a step gives NaN conversions
        and the reason in ``note``. Same layout as :func:`funnel`, so
        :func:`cohortkit.plot.funnel` draws both.

    Raises
    ------
    DataError
        No steps, duplicate step names, negative, missing or non-whole counts, or a count larger
        than the previous step's (a funnel cannot grow; check the order of the steps).

    Examples
    --------
    >>> f = funnel_from_counts({"impressions": 8000, "clicks": 100, "first purchase": 5,
    ...                         "second purchase": 2})
    >>> f[["step", "users", "conversion_from_previous", "drop_off"]]
                  step  users  conversion_from_previous  drop_off
    0      impressions   8000                    1.0000         0
    1           clicks    100                    0.0125      7900
    2   first purchase      5                    0.0500        95
    3  second purchase      2                    0.4000         3
    >>> f["conversion_from_start"].round(6).tolist()
    [1.0, 0.0125, 0.000625, 0.00025]
    """
    names, values = _named_counts(mapping_or_frame, step_col, count_col)
    return _step_table(_checked_counts(names, values), names)


def _named_counts(mapping_or_frame: Any, step_col: str, count_col: str) -> tuple[list[str], list[Any]]:
    """Step names and raw counts, in funnel order, from a mapping, a Series or a DataFrame."""
    if isinstance(mapping_or_frame, pd.DataFrame):
        for argument, name in (("step_col", step_col), ("count_col", count_col)):
            if name not in mapping_or_frame.columns:
                found = ", ".join(repr(str(c)) for c in mapping_or_frame.columns)
                raise DataError(
                    f"column {name!r} ({argument}) not found in the counts table; it has columns "
                    f"{found}. Pass {argument}= the name of the column that holds the "
                    f"{'step names' if argument == 'step_col' else 'counts'}."
                )
        names = [str(s) for s in mapping_or_frame[step_col].tolist()]
        values = mapping_or_frame[count_col].tolist()
    elif isinstance(mapping_or_frame, pd.Series):
        names = [str(s) for s in mapping_or_frame.index]
        values = mapping_or_frame.tolist()
    elif isinstance(mapping_or_frame, Mapping):
        names = [str(s) for s in mapping_or_frame.keys()]
        values = list(mapping_or_frame.values())
    else:
        raise DataError(
            f"mapping_or_frame has type {type(mapping_or_frame).__name__}; pass a dict "
            "{step: count}, a pandas Series indexed by step, or a DataFrame with step and count "
            "columns."
        )
    return names, values


def _checked_counts(names: list[str], values: list[Any]) -> np.ndarray:
    """The counts as int64 after the checks: unique steps, whole numbers >= 0, never growing."""
    if not names:
        raise DataError("the funnel has no steps; pass at least one step with its count.")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise DataError(
            f"step names must be unique, but {dupes} occur more than once. Give each step its own "
            "name."
        )
    flags = [v for v in values if isinstance(v, (bool, np.bool_))]
    if flags:
        raise DataError(
            f"funnel counts must be numbers, got True/False values ({values!r}). Pass the number of "
            "users at each step (e.g. flags.sum())."
        )
    try:
        counts = np.asarray(values, dtype="float64")
    except (TypeError, ValueError):
        raise DataError(
            f"funnel counts must be numbers, got {values!r}. Convert them with pandas.to_numeric(...)."
        ) from None
    bad = ~np.isfinite(counts) | (counts < 0) | (np.mod(np.nan_to_num(counts, posinf=0.5), 1) != 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"funnel counts must be whole numbers >= 0, but step {names[i]!r} has {values[i]!r}. "
            "Fix or drop that step."
        )
    grow = np.flatnonzero(counts[1:] > counts[:-1])
    if grow.size:
        i = int(grow[0]) + 1
        raise DataError(
            f"step {names[i]!r} has {counts[i]:.0f}, more than the previous step {names[i - 1]!r} "
            f"({counts[i - 1]:.0f}); a funnel's counts cannot grow. Check the order of the steps."
        )
    return counts.astype("int64")


# --- funnel on an event log -------------------------------------------------------------------------


def _check_steps(steps: Any) -> list[str]:
    if isinstance(steps, str) or not isinstance(steps, (list, tuple)) or not all(
        isinstance(s, str) for s in steps
    ):
        raise DataError(
            f"steps={steps!r} is not a list of event names. Pass the funnel's event names in order, "
            "e.g. steps=['view', 'cart', 'purchase']."
        )
    if len(steps) < 2:
        raise DataError(
            f"steps={list(steps)!r} has {len(steps)} step(s); a funnel needs at least 2. "
            "Pass the event names in order, e.g. steps=['view', 'cart', 'purchase']."
        )
    dupes = [s for i, s in enumerate(steps) if s in steps[:i]]
    if dupes:
        raise DataError(
            f"steps={list(steps)!r} lists {sorted(set(dupes))!r} more than once; each step must be a "
            "different event name."
        )
    return list(steps)


def _check_exclude(exclude: Any, steps: list[str]) -> list[str]:
    if exclude is None:
        return []
    if isinstance(exclude, str) or not isinstance(exclude, (list, tuple)) or not all(
        isinstance(x, str) for x in exclude
    ):
        raise DataError(
            f"exclude={exclude!r} is not a list of event names. Pass the events that end an attempt, "
            "e.g. exclude=['refund_request']."
        )
    both = [x for x in exclude if x in steps]
    if both:
        raise DataError(
            f"exclude={list(exclude)!r} names {both!r}, which is also a step; an event cannot be both "
            "a step and an exclusion. Remove it from one of steps= and exclude=."
        )
    return list(dict.fromkeys(exclude))


def _check_present(t: ir.Table, steps: list[str], event_col: str, exclude: list[str] = ()) -> None:
    names = list(steps) + list(exclude)
    counts = execute(
        t.aggregate(**{f"s{i}": (t.event == s).sum() for i, s in enumerate(names)})
    ).iloc[0]
    missing = [s for i, s in enumerate(names) if int(counts[f"s{i}"] or 0) == 0]
    if not missing:
        return
    found_df = execute(t.select("event").distinct().order_by("event").limit(51))
    found = [str(x) for x in found_df["event"].tolist() if x is not None]
    shown = ", ".join(repr(f) for f in found[:50]) + (", ..." if len(found) > 50 else "")
    for kind, argument, group in (("step(s)", "steps", steps), ("exclude event(s)", "exclude", exclude)):
        absent = [m for m in missing if m in group]
        if not absent:
            continue
        hints = []
        for m in absent:
            close = difflib.get_close_matches(m, found, n=1, cutoff=0.6)
            if close:
                hints.append(f"{m!r} → {close[0]!r}")
        hint = f" Did you mean {', '.join(hints)}?" if hints else ""
        raise DataError(
            f"{kind} {absent!r} never occur in column {event_col!r} (event_col); it has events "
            f"{shown}.{hint} Pass {argument}= event names as they appear in the data."
        )


def _null_int() -> ir.Value:
    return ibis.null("int64")


def _attempts_ordered(e: ir.Table, n: int, w: ir.Value, exclusion: bool = False) -> ir.Table:
    """One row per (user, start label S); for the counting attempt the times are exact.

    With ``exclusion``, ``e`` also holds the excluded events (step 0): each step event first gets
    ``lastx``, the latest excluded event at or before its time (a RANGE frame, so an excluded event
    at the same timestamp counts), and a start ``S`` may only be carried to it when ``S > lastx``.
    Later starts are never worse (for the window and the exclusion alike), so carrying the latest
    start stays exact.
    """
    if exclusion:
        upto = ibis.window(group_by=e.user, order_by=e.us, range=(None, 0))
        e = e.mutate(lastx=ibis.cases((e.step == 0, e.us), else_=_null_int()).max().over(upto))
        e = e.filter(e.step > 0)
    e = e.mutate(S=ibis.cases((e.step == 1, e.us), else_=_null_int()))
    for k in range(2, n + 1):
        win = ibis.window(group_by=e.user, order_by=[e.us, e.step], preceding=None, following=0)
        e = e.mutate(best=ibis.cases((e.step == k - 1, e.S), else_=_null_int()).max().over(win))
        ok = (e.step == k) & (e.us - e.best <= w)
        if exclusion:
            ok = ok & (e.lastx.isnull() | (e.best > e.lastx))
        e = e.mutate(S=ibis.cases((ok, e.best), else_=e.S))
        e = e.drop("best")
    valid = e.filter(e.S.notnull())
    aggs = {"depth": valid.step.max()}
    for k in range(1, n + 1):
        aggs[f"c{k}"] = ibis.cases((valid.step == k, valid.us), else_=_null_int()).min()
    if "grp" in valid.columns:
        aggs["grp"] = ibis.cases((valid.step == 1, valid.grp), else_=ibis.null(valid.grp.type())).min()
    return valid.group_by(["user", "S"]).aggregate(**aggs)


def _next_excluded(e: ir.Table) -> ir.Table:
    """``nx``: the earliest excluded event (step 0) at or after each event's time; then step rows only.

    "None ahead" is a sentinel later than any time (not NULL), so that ``nx`` never decreases along a
    user's events and a run's max is the ``nx`` of its last event.
    """
    ahead = ibis.window(group_by=e.user, order_by=e.us, range=(0, None))
    nx = ibis.cases((e.step == 0, e.us), else_=_null_int()).min().over(ahead)
    e = e.mutate(nx=nx.fill_null(ibis.literal(_NEVER, type="int64")))
    return e.filter(e.step > 0)


def _before(t: ir.Value, nx: ir.Value) -> ir.Value:
    """True when time ``t`` comes strictly before the next excluded event ``nx`` (``_NEVER``: none)."""
    return t < nx


def _attempts_any(e: ir.Table, n: int, w: ir.Value, exclusion: bool = False) -> ir.Table:
    if exclusion:
        e = _next_excluded(e)
    win = ibis.window(
        group_by=e.user, order_by=[ibis.desc(e.us), ibis.desc(e.step)], preceding=None, following=0
    )
    nxt = {
        f"n{j}": ibis.cases((e.step == j, e.us), else_=_null_int()).min().over(win)
        for j in range(2, n + 1)
    }
    a = e.mutate(**nxt).filter(lambda r: r.step == 1)
    cols: dict[str, ir.Value] = {"user": a.user, "S": a.us, "c1": a.us}
    if "grp" in a.columns:
        cols["grp"] = a.grp
    ok = ibis.literal(True)
    depth = ibis.literal(1, type="int64")
    prev = a.us
    for j in range(2, n + 1):
        ok = ok & a[f"n{j}"].notnull() & (a[f"n{j}"] - a.us <= w)
        c = ibis.greatest(prev, a[f"n{j}"])
        if exclusion:
            ok = ok & _before(c, a.nx)
        cols[f"c{j}"] = ibis.cases((ok, c), else_=_null_int())
        depth = depth + ok.cast("int64")
        prev = c
    cols["depth"] = depth
    return a.select(**cols)


def _attempts_strict(e: ir.Table, n: int, w: ir.Value, with_group: bool, exclusion: bool = False) -> ir.Table:
    if exclusion:
        e = _next_excluded(e)
    order = ibis.window(group_by=e.user, order_by=[e.us, e.step])
    e = e.mutate(
        change=ibis.cases((e.step.lag().over(order) == e.step, 0), else_=1).cast("int64")
    )
    cum = ibis.window(group_by=e.user, order_by=[e.us, e.step], preceding=None, following=0)
    e = e.mutate(run=e.change.sum().over(cum))
    if with_group:
        run_w = ibis.window(group_by=[e.user, e.run])
        e = e.mutate(first_t=e.us.min().over(run_w), last_t=e.us.max().over(run_w))
        null_grp = ibis.null(e.grp.type())
        grp_first = ibis.cases((e.us == e.first_t, e.grp), else_=null_grp).min()
        grp_last = ibis.cases((e.us == e.last_t, e.grp), else_=null_grp).min()
        groups = {"grp_first": grp_first, "grp_last": grp_last}
    else:
        groups = {}
    if exclusion:  # nx never decreases along a user's events: its min is at the run's first event
        groups.update(nx_first=e.nx.min(), nx_last=e.nx.max())
    runs = e.group_by(["user", "run"]).aggregate(
        step=e.step.min(), first=e.us.min(), last=e.us.max(), **groups
    )
    rw = ibis.window(group_by=runs.user, order_by=runs.run)
    leads = {}
    for j in range(1, n):
        leads[f"ls{j}"] = runs.step.lead(j).over(rw)
        leads[f"lf{j}"] = runs["first"].lead(j).over(rw)
    a = runs.mutate(**leads).filter(lambda r: r.step == 1)
    # The attempt of a run of step-1 events starts at its last event (the latest start reaches
    # furthest). If even that start reaches no step 2, every event of the run is a depth-1
    # attempt and the earliest one is the run's first event (see the selection rule).
    cols: dict[str, ir.Value] = {"user": a.user}
    ok = ibis.literal(True)
    depth = ibis.literal(1, type="int64")
    for j in range(2, n + 1):
        ls, lf = a[f"ls{j - 1}"], a[f"lf{j - 1}"]
        ok = ok & ls.notnull() & (ls == j) & (lf - a["last"] <= w)
        if exclusion:
            ok = ok & _before(lf, a.nx_last)
        cols[f"c{j}"] = ibis.cases((ok, lf), else_=_null_int())
        depth = depth + ok.cast("int64")
    single = depth == 1
    cols["S"] = ibis.cases((single, a["first"]), else_=a["last"])
    cols["c1"] = cols["S"]
    if with_group:
        cols["grp"] = ibis.cases((single, a.grp_first), else_=a.grp_last)
    cols["depth"] = depth
    return a.select(**cols)


def _step_events(t: ir.Table, steps: list[str], exclude: list[str], with_group: bool) -> ir.Table:
    """``user, us, step[, grp]``: the step events (step index 1..n) and excluded events (step 0)."""
    pairs = [(t.event == s, i + 1) for i, s in enumerate(steps)] + [(t.event == x, 0) for x in exclude]
    step = ibis.cases(*pairs, else_=_null_int())
    base = t.filter(t.event.isin(steps + exclude) & t.user.notnull() & t.ts.notnull())
    # the group column rides along only when asked for (less payload in every window sort)
    extra = {"grp": base.grp} if with_group else {}
    return base.select(
        user=base.user,
        us=epoch_microseconds(base.ts),
        step=step.cast("int64"),
        **extra,
    )


def _counting_attempts(
    t: ir.Table, steps: list[str], window_us: int, order: str, with_group: bool, exclude: list[str]
) -> ir.Table:
    """One row per user with a step-1 event: the counting attempt's ``depth``, ``S``, ``c1..cn``, ``grp``."""
    n = len(steps)
    e = _step_events(t, steps, exclude, with_group)
    w = ibis.literal(window_us, type="int64")
    exclusion = bool(exclude)
    if order == "ordered":
        att = _attempts_ordered(e, n, w, exclusion)
    elif order == "any":
        att = _attempts_any(e, n, w, exclusion)
    else:
        att = _attempts_strict(e, n, w, with_group, exclusion)
    if not with_group:
        att = att.mutate(grp=ibis.literal(0, type="int64"))
    done = ibis.cases(*[(att.depth == k, att[f"c{k}"]) for k in range(1, n + 1)], else_=_null_int())
    rank = ibis.row_number().over(
        ibis.window(
            group_by=att.user,
            order_by=[ibis.desc(att.depth), done, ibis.desc(att.S), att.grp],
        )
    )
    return att.mutate(rank=rank).filter(lambda r: r["rank"] == 0).drop("rank")


def _funnel_expr(
    t: ir.Table, steps: list[str], window_us: int, order: str, with_group: bool, exclude: list[str] = ()
) -> ir.Table:
    n = len(steps)
    chosen = _counting_attempts(t, steps, window_us, order, with_group, list(exclude))
    aggs: dict[str, ir.Value] = {}
    for k in range(1, n + 1):
        reached = chosen.depth >= k
        aggs[f"users{k}"] = reached.cast("int64").sum()
        if k >= 2:
            delta = ibis.cases((reached, chosen[f"c{k}"] - chosen[f"c{k - 1}"]), else_=_null_int())
            aggs[f"med{k}"] = delta.median()
            aggs[f"p90_{k}"] = delta.quantile(0.9)
    return chosen.group_by("grp").aggregate(**aggs)


def _to_timedelta(values: pd.Series) -> pd.Series:
    ns = np.round(pd.to_numeric(values, errors="coerce").astype("float64") * 1000.0)
    return pd.to_timedelta(ns, unit="ns")


@renamed(user_col="customer_col", time_col="date_col")
def funnel(
    events: Any,
    steps: list[str],
    *,
    customer_col: str = "user_id",
    date_col: str = "timestamp",
    event_col: str = "event",
    window: Any = "7D",
    order: str = "ordered",
    by: str | None = None,
    exclude: list[str] | None = None,
) -> pd.DataFrame:
    """A windowed conversion funnel on an event log (ClickHouse ``windowFunnel`` / Amplitude).

    A user reaches step k if steps 1..k occur in order within ``window`` of one of the user's
    step-1 events (the best attempt counts). The exact rules for ties, the window boundary, several
    attempts, ``strict`` and ``any`` are in the module docstring (:mod:`cohortkit.funnels`).

    Parameters
    ----------
    events : DataFrame, path or ibis.Table
        One row per event.
    steps : list of str
        Event names in funnel order (at least 2, all different). Each must occur in ``event_col``
        (a name that never occurs is almost always a typo, so it raises).
    customer_col, date_col, event_col : str
        Columns with the user id, the event time and the event name.
    window : str or pandas.Timedelta, default "7D"
        Conversion window, measured from the step-1 event, inclusive at the boundary.
    order : {"ordered", "strict", "any"}
        ``"ordered"``: steps in order, other events allowed in between. ``"strict"``: no other
        listed step between consecutive matched steps. ``"any"``: steps 2..k in any order after
        the step-1 event.
    by : str, optional
        A column of the event log to split the funnel by (e.g. ``"channel"``); a user counts in the
        group of the step-1 event that starts their counting attempt.
    exclude : list of str, optional
        Exclusion events (e.g. ``["refund_request"]``): an attempt reaches step k (k >= 2) only if
        none of these events occurs between its step-1 event and the moment it completes step k,
        both ends included (see "Exclusion" in :mod:`cohortkit.funnels`). Each must occur in
        ``event_col`` and none may be a step.

    Returns
    -------
    pandas.DataFrame
        One row per step (and per ``by`` group, groups sorted): ``[by,] step_index, step, users,
        conversion_from_start, conversion_from_previous, drop_off, median_time_from_previous,
        p90_time_from_previous, note``. Conversions are fractions; times are ``pandas.Timedelta``
        (NaT at step 1 and where no user reached the step). A step after one that no user reached
        has NaN ``conversion_from_previous`` and the reason in ``note``.

    Raises
    ------
    DataError
        Fewer than 2 steps, duplicate steps, a step name that never occurs, a window that does not
        parse, a bad ``order``, a missing column or an event time that is not a date.

    Examples
    --------
    >>> import pandas as pd
    >>> log = pd.DataFrame({
    ...     "user_id": ["a", "a", "a", "b", "b", "c", "c"],
    ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03",
    ...                                  "2024-01-01", "2024-01-20",
    ...                                  "2024-01-05", "2024-01-05"]),
    ...     "event": ["view", "cart", "purchase", "view", "cart", "view", "cart"],
    ... })
    >>> f = funnel(log, ["view", "cart", "purchase"], window="7D")
    >>> f[["step", "users", "conversion_from_start", "drop_off", "median_time_from_previous"]]
           step  users  conversion_from_start  drop_off median_time_from_previous
    0      view      3               1.000000         0                       NaT
    1      cart      2               0.666667         1           0 days 12:00:00
    2  purchase      1               0.333333         1           1 days 00:00:00
    """
    steps = _check_steps(steps)
    _check_order(order)
    exclude = _check_exclude(exclude, steps)
    window_us = _window_us(window)
    t = _event_table(events, customer_col, date_col, event_col, by)
    if exclude:
        _check_present(t, steps, event_col, exclude)
    wide = execute(_funnel_expr(t, steps, window_us, order, by is not None, exclude))
    if not exclude and not _all_steps_reached(wide, len(steps)):
        # a user who reached step k saw every step up to k, so only a funnel in which some step has
        # no user can name a step that never occurs: the full pass over the events runs only then
        _check_present(t, steps, event_col)
    return _long_table(wide, steps, by)


def _all_steps_reached(wide: pd.DataFrame, n: int) -> bool:
    """Some user (in any group) reached every step 1..n."""
    return bool(len(wide)) and all(int(wide[f"users{k}"].fillna(0).sum()) > 0 for k in range(1, n + 1))


def _window_us(window: Any) -> int:
    return int(parse_duration(window, argument="window") // pd.Timedelta(microseconds=1))


def _check_order(order: Any) -> None:
    if order not in _ORDERS:
        raise DataError(
            f"order={order!r} is not a funnel order. Pass order='ordered' (steps in order, other "
            "events allowed between), 'strict' (no other step between) or 'any' (any order)."
        )


def _event_table(events: Any, customer_col: str, date_col: str, event_col: str, by: str | None) -> ir.Table:
    """The event log with canonical columns ``user, ts, event[, grp]`` (read and checked by io)."""
    return prepare(
        events,
        [
            Column("customer_col", customer_col, "user", "any", "the user id"),
            Column("date_col", date_col, "ts", "timestamp", "the event time", missing="allow"),
            Column("event_col", event_col, "event", "string", "the event name", missing="allow"),
            Column("by", by, "grp", "any", "the group (e.g. channel) of each event"),
        ],
        what="events",
    )


def _long_table(wide: pd.DataFrame, steps: list[str], by: str | None) -> pd.DataFrame:
    """One step table per row of the engine's wide result (one row per group), stacked."""
    if by is not None:
        wide = wide.sort_values("grp", kind="stable", na_position="last").reset_index(drop=True)
    parts = []
    n = len(steps)
    for _, row in wide.iterrows():
        users = np.array([int(row[f"users{k}"]) for k in range(1, n + 1)], dtype="int64")
        part = _step_table(users, steps)
        med = pd.Series([np.nan] + [row[f"med{k}"] for k in range(2, n + 1)], dtype="float64")
        p90 = pd.Series([np.nan] + [row[f"p90_{k}"] for k in range(2, n + 1)], dtype="float64")
        part.insert(6, "median_time_from_previous", _to_timedelta(med).to_numpy())
        part.insert(7, "p90_time_from_previous", _to_timedelta(p90).to_numpy())
        if by is not None:
            part.insert(0, by, [row["grp"]] * n)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


# --- who dropped off ----------------------------------------------------------------------------------


def _us_to_timestamp(values: pd.Series) -> pd.Series:
    return pd.to_datetime(pd.Series(values, dtype="int64"), unit="us").astype("datetime64[us]")


def funnel_dropoffs(
    events: Any,
    steps: list[str],
    *,
    customer_col: str = "user_id",
    date_col: str = "timestamp",
    event_col: str = "event",
    window: Any = "7D",
    order: str = "ordered",
    by: str | None = None,
    exclude: list[str] | None = None,
) -> pd.DataFrame:
    """Who dropped off where: one row per user who reached step k of the funnel but not step k+1.

    The rules are those of :func:`funnel` (order, window, best attempt, ties, ``by``, ``exclude``),
    so the rows at step k are exactly the users :func:`funnel` counts at step k and not at step
    k+1: ``len(rows with step_index == k) == funnel(...)["drop_off"]`` of step k+1, per group.
    Users who completed every step are not listed; users with no step-1 event never entered.

    Parameters
    ----------
    events, steps, customer_col, date_col, event_col, window, order, by, exclude
        As in :func:`funnel`.

    Returns
    -------
    pandas.DataFrame
        One row per user who stopped before the last step, sorted by ``by``, ``step_index`` and
        user id: ``[by,] <customer_col>`` (the user id, under the name of ``customer_col``),
        ``step_index`` and ``step`` (the last step the user's counting attempt reached),
        ``next_step`` (the step not reached), ``reached_at`` (when that attempt completed
        ``step``: for ``any`` the latest of its matched events) and ``started_at`` (its step-1
        event; the user's window ran to ``started_at + window``). Timestamps are
        ``datetime64[us]``, on the wall clock of the input (see :mod:`cohortkit.io`).

    Raises
    ------
    DataError
        As :func:`funnel`.

    Examples
    --------
    >>> import pandas as pd
    >>> log = pd.DataFrame({
    ...     "user_id": ["a", "a", "a", "b", "b", "c", "c"],
    ...     "timestamp": pd.to_datetime(["2024-01-01 00:00", "2024-01-02 00:00", "2024-01-03 00:00",
    ...                                  "2024-01-01 00:00", "2024-01-20 00:00",
    ...                                  "2024-01-05 00:00", "2024-01-05 06:00"]),
    ...     "event": ["view", "cart", "purchase", "view", "cart", "view", "cart"],
    ... })
    >>> funnel_dropoffs(log, ["view", "cart", "purchase"], window="7D")
      user_id  step_index  step next_step          reached_at started_at
    0       b           1  view      cart 2024-01-01 00:00:00 2024-01-01
    1       c           2  cart  purchase 2024-01-05 06:00:00 2024-01-05
    >>> funnel(log, ["view", "cart", "purchase"], window="7D")["drop_off"].tolist()
    [0, 1, 1]
    """
    steps = _check_steps(steps)
    _check_order(order)
    exclude = _check_exclude(exclude, steps)
    window_us = _window_us(window)
    t = _event_table(events, customer_col, date_col, event_col, by)
    _check_present(t, steps, event_col, exclude)
    n = len(steps)
    chosen = _counting_attempts(t, steps, window_us, order, by is not None, exclude)
    stopped = chosen.filter(chosen.depth < n)
    reached = ibis.cases(*[(stopped.depth == k, stopped[f"c{k}"]) for k in range(1, n)], else_=_null_int())
    rows = execute(
        stopped.select(grp=stopped.grp, user=stopped.user, depth=stopped.depth, reached=reached, start=stopped.c1)
    )
    keys = (["grp"] if by is not None else []) + ["depth", "user"]
    rows = rows.sort_values(keys, kind="stable", na_position="last").reset_index(drop=True)
    depth = rows["depth"].astype("int64")
    out = pd.DataFrame({customer_col: rows["user"]})
    if by is not None:
        out.insert(0, by, rows["grp"])
    out["step_index"] = depth.to_numpy()
    out["step"] = pd.array([steps[k - 1] for k in depth], dtype="str")
    out["next_step"] = pd.array([steps[k] for k in depth], dtype="str")
    out["reached_at"] = _us_to_timestamp(rows["reached"]).to_numpy()
    out["started_at"] = _us_to_timestamp(rows["start"]).to_numpy()
    return out


# --- the paths between two steps ----------------------------------------------------------------------

_ARROW = " → "
_TIMES = "×"


def _check_two_steps(steps: Any) -> list[str]:
    steps = _check_steps(steps)
    if len(steps) != 2:
        raise DataError(
            f"steps={steps!r} has {len(steps)} steps; paths run between two. Pass "
            "steps=[from_event, to_event], e.g. steps=['product_view', 'purchase']."
        )
    return steps


def _check_whole(value: Any, argument: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise DataError(f"{argument}={value!r} is not a whole number >= 1. Pass e.g. {argument}=10.")
    return int(value)


def _paths_expr(t: ir.Table, steps: list[str], window_us: int, with_group: bool, max_events: int) -> ir.Table:
    """One row per (group, path of at most ``max_events`` elements): users, median time, total."""
    first, last = steps
    base = t.filter(t.user.notnull() & t.ts.notnull() & t.event.notnull())
    extra = {"grp": base.grp} if with_group else {"grp": ibis.literal(0, type="int64")}
    e = base.select(
        user=base.user,
        us=epoch_microseconds(base.ts),
        event=base.event,
        # ties: the from-step first, the to-step last, other events by name
        key=ibis.cases((base.event == first, 0), (base.event == last, 2), else_=1).cast("int64"),
        **extra,
    )
    w = ibis.literal(window_us, type="int64")
    in_order = [e.us, e.key, e.event]
    upto = ibis.window(group_by=e.user, order_by=in_order, preceding=None, following=0)
    e = e.mutate(last_a=ibis.cases((e.key == 0, e.us), else_=_null_int()).max().over(upto))
    hit = (e.key == 2) & e.last_a.notnull() & (e.us - e.last_a <= w)
    per_user = ibis.window(group_by=e.user)
    e = e.mutate(t_b=ibis.cases((hit, e.us), else_=_null_int()).min().over(per_user))
    e = e.filter(e.t_b.notnull())
    e = e.mutate(
        t_a=ibis.cases(((e.key == 2) & (e.us == e.t_b), e.last_a), else_=_null_int()).max().over(per_user)
    )
    # the converting users: the 2-step funnel's counting attempt (earliest completion, latest start)
    null_grp = ibis.null(e.grp.type())
    pairs = e.group_by("user").aggregate(
        t_a=e.t_a.max(),
        t_b=e.t_b.max(),
        grp=ibis.cases(((e.key == 0) & (e.us == e.t_a), e.grp), else_=null_grp).min(),
    )
    after_a = (e.us > e.t_a) | ((e.us == e.t_a) & (e.key > 0))
    before_b = (e.us < e.t_b) | ((e.us == e.t_b) & (e.key < 2))
    mid = e.filter(after_a & before_b)
    mid_order = ibis.window(group_by=mid.user, order_by=[mid.us, mid.key, mid.event])
    mid = mid.mutate(
        change=ibis.cases((mid.event.lag().over(mid_order) == mid.event, 0), else_=1).cast("int64")
    )
    mid = mid.mutate(
        run=mid.change.sum().over(
            ibis.window(group_by=mid.user, order_by=[mid.us, mid.key, mid.event], preceding=None, following=0)
        )
    )
    runs = mid.group_by(["user", "run"]).aggregate(event=mid.event.min(), times=mid.count())
    runs = runs.mutate(
        label=ibis.ifelse(runs.times > 1, runs.event.concat(_TIMES, runs.times.cast("string")), runs.event)
    )
    elements = runs.group_by("user").aggregate(
        n_runs=runs.run.max(),
        **{
            f"e{j}": ibis.cases((runs.run == j, runs.label), else_=ibis.null("string")).max()
            for j in range(1, max_events + 1)
        },
    )
    joined = pairs.left_join(elements, "user").select(
        pairs.user, pairs.t_a, pairs.t_b, pairs.grp,
        n_runs=elements.n_runs.fill_null(0),
        **{f"e{j}": elements[f"e{j}"] for j in range(1, max_events + 1)},
    )
    joined = joined.mutate(total=joined.count().over(ibis.window(group_by=joined.grp)))
    kept = joined.filter(joined.n_runs <= max_events)
    path = ibis.literal(first)
    for j in range(1, max_events + 1):
        path = path.concat((ibis.literal(_ARROW).concat(kept[f"e{j}"])).fill_null(""))
    path = path.concat(_ARROW + last)
    kept = kept.mutate(path=path)
    agg = kept.group_by(["grp", "path"]).aggregate(
        events=kept.n_runs.max(),
        users=kept.count(),
        total=kept.total.max(),
        med=(kept.t_b - kept.t_a).median(),
    )
    rank = ibis.row_number().over(
        ibis.window(group_by=agg.grp, order_by=[ibis.desc(agg.users), agg.path])
    )
    return agg.mutate(rank=rank + 1)


def funnel_paths(
    events: Any,
    steps: list[str],
    *,
    customer_col: str = "user_id",
    date_col: str = "timestamp",
    event_col: str = "event",
    window: Any = "7D",
    by: str | None = None,
    top: int = 10,
    max_events: int = 5,
) -> pd.DataFrame:
    """The most common paths users took from one step to another (e.g. product view → purchase).

    Definitions (the tests hold a brute-force reference to exactly these rules):

    * **Who and which stretch.** ``steps=[A, B]`` is a two-step ordered :func:`funnel` with the same
      ``window``: a user's stretch runs from their counting attempt's A event to its B event — the
      earliest B that follows an A within ``window`` (inclusive), and the latest A at or before it.
      So the users in the paths are exactly ``funnel(events, [A, B], window=window)``'s users at B.
    * **Which events.** Every event of the user between that A and that B, of any name (A and B
      themselves excluded; there is no other B between them, and no other A after the start).
      Events are ordered by time; at equal times A comes first, B last and other events by name, so
      an event at the same time as A or B counts as between them.
    * **Repeats collapse.** Consecutive repeats of one event become one element ``"name×3"``
      (one element, so ``view, view, view`` is ``view×3`` and the path ``A → view×3 → B`` has 1
      event). A single occurrence is just ``"name"``. Paths with different repeat counts are
      different paths.
    * **Limits.** Paths with more than ``max_events`` elements are left out of the rows (but count
      in ``users_total``); of the rest the ``top`` most common are listed per group, ties by path
      text. So the ``share`` of the rows shown may sum to less than 1.
    * **Time.** ``median_time`` is the median (interpolated) of B's time − A's time over the users
      with that path, a ``pandas.Timedelta``.
    * ``by``: the user's group is that of the A event that starts the stretch (the smallest value
      when several A events share that timestamp).

    Parameters
    ----------
    events, customer_col, date_col, event_col, window, by
        As in :func:`funnel`.
    steps : list of two str
        ``[A, B]``: the event the paths start from and the event they end at.
    top : int, default 10
        How many paths to list (per group).
    max_events : int, default 5
        The longest path to list, in elements between A and B (after collapsing repeats).

    Returns
    -------
    pandas.DataFrame
        Sorted by ``by`` and ``rank``: ``[by,] rank`` (1 = most common), ``path`` (``"A → x → y×2
        → B"``), ``events`` (elements between A and B; 0 for ``"A → B"``), ``users``, ``share``
        (users / ``users_total``), ``users_total`` (all users who went from A to B in the group,
        whatever their path) and ``median_time``.

    Raises
    ------
    DataError
        ``steps`` is not two different event names that occur in ``event_col``, ``top`` or
        ``max_events`` is not a whole number >= 1, and the errors of :func:`funnel`.

    Examples
    --------
    >>> import pandas as pd
    >>> log = pd.DataFrame({
    ...     "user_id": list("aaaa") + list("bbbbb") + list("cc") + list("dddd"),
    ...     "timestamp": pd.to_datetime(["2024-01-01 10:00", "2024-01-01 10:05",
    ...                                  "2024-01-01 10:06", "2024-01-01 10:20",
    ...                                  "2024-01-02 09:00", "2024-01-02 09:01", "2024-01-02 09:02",
    ...                                  "2024-01-02 09:03", "2024-01-02 09:30",
    ...                                  "2024-01-03 12:00", "2024-01-03 12:01",
    ...                                  "2024-01-04 08:00", "2024-01-04 08:02",
    ...                                  "2024-01-04 08:03", "2024-01-04 08:10"]),
    ...     "event": ["view", "cart", "checkout", "purchase",
    ...               "view", "review", "review", "cart", "purchase",
    ...               "view", "purchase",
    ...               "view", "cart", "checkout", "purchase"],
    ... })
    >>> p = funnel_paths(log, ["view", "purchase"], window="1D")
    >>> p[["rank", "path", "events", "users", "share"]]
       rank                               path  events  users  share
    0     1  view → cart → checkout → purchase       2      2   0.50
    1     2                    view → purchase       0      1   0.25
    2     3  view → review×2 → cart → purchase       2      1   0.25
    >>> p["median_time"].tolist()
    [Timedelta('0 days 00:15:00'), Timedelta('0 days 00:01:00'), Timedelta('0 days 00:30:00')]
    """
    steps = _check_two_steps(steps)
    top = _check_whole(top, "top")
    max_events = _check_whole(max_events, "max_events")
    window_us = _window_us(window)
    t = _event_table(events, customer_col, date_col, event_col, by)
    _check_present(t, steps, event_col)
    expr = _paths_expr(t, steps, window_us, by is not None, max_events)
    rows = execute(expr.filter(expr["rank"] <= top))
    keys = (["grp"] if by is not None else []) + ["rank"]
    rows = rows.sort_values(keys, kind="stable", na_position="last").reset_index(drop=True)
    out = pd.DataFrame({"rank": rows["rank"].astype("int64")})
    if by is not None:
        out.insert(0, by, rows["grp"])
    out["path"] = pd.array(rows["path"].astype(str), dtype="str")
    out["events"] = rows["events"].astype("int64")
    out["users"] = rows["users"].astype("int64")
    out["share"] = out["users"] / rows["total"].astype("int64")
    out["users_total"] = rows["total"].astype("int64")
    out["median_time"] = _to_timedelta(rows["med"]).to_numpy()
    return out
