"""Ad metrics with uncertainty: rates, two-variant comparisons, campaign tables and NPS.

* :func:`rate` — a proportion with a Wilson or Jeffreys interval, vectorised.
* :func:`compare_rates` — difference of two proportions (B − A) with Newcombe's hybrid score interval
  and the two-sided pooled two-proportion z test.
* :func:`ad_metrics` — CTR, CPC, CVR, CPA and ROAS per campaign from daily campaign rows.
* :func:`nps` — Net Promoter Score in points with a normal-approximation interval.

Definitions (see ``shared/DOMAIN.md``): CTR = clicks / impressions (100 clicks on 8,000 impressions is
1.25 %), CVR = conversions / clicks, CPC = spend / clicks, CPA = spend / conversions,
ROAS = revenue / spend, NPS = % promoters (9–10) − % detractors (0–6).

Zero denominators never raise and never give ``inf``: the metric is NaN and the ``note`` column says why.
"""

from __future__ import annotations

from typing import Any

import ibis
import numpy as np
import pandas as pd
from scipy import stats

from ._args import check_ci
from ._engine import execute
from .io import Column, prepare
from ._errors import DataError

__all__ = ["rate", "compare_rates", "ad_metrics", "nps"]

_METHODS = ("wilson", "jeffreys")


# --- helpers ------------------------------------------------------------------------------------


def _as_array(values: Any, argument: str) -> tuple[np.ndarray, pd.Index | None]:
    index = values.index if isinstance(values, pd.Series) else None
    raw = np.asarray(values, dtype=object) if not isinstance(values, pd.Series) else values.to_numpy(object)
    if any(isinstance(v, (bool, np.bool_)) for v in np.ravel(raw)):
        raise DataError(
            f"{argument} holds True/False values; rates need counts. Pass the number of successes "
            "and trials (e.g. flags.sum() and len(flags))."
        )
    try:
        arr = np.asarray(values, dtype="float64")
    except (TypeError, ValueError):
        raise DataError(
            f"{argument} must be numbers (a number, an array or a pandas Series), got "
            f"{type(values).__name__}. Convert it with pandas.to_numeric(...)."
        ) from None
    if np.isnan(arr).any():
        raise DataError(
            f"{argument} contains {int(np.isnan(arr).sum())} missing value(s). Fill or drop them "
            "before computing rates."
        )
    if np.isinf(arr).any():
        raise DataError(
            f"{argument} contains {int(np.isinf(arr).sum())} infinite value(s); counts must be "
            "finite. Fix or drop them."
        )
    return np.atleast_1d(arr), index


def _check_counts(x: np.ndarray, n: np.ndarray, xname: str, nname: str) -> None:
    if (n < 0).any() or (x < 0).any():
        name = nname if (n < 0).any() else xname
        bad = (n if name == nname else x)
        raise DataError(
            f"{name} must be >= 0, but {int((bad < 0).sum())} value(s) are negative, e.g. "
            f"{bad[bad < 0][0]:g}. Counts cannot be negative; check the data."
        )
    over = x > n
    if over.any():
        i = int(np.flatnonzero(over)[0])
        raise DataError(
            f"{xname} must not exceed {nname}, but {int(over.sum())} value(s) do, e.g. "
            f"{x[i]:g} > {n[i]:g}. Check that the arguments are (successes, trials) in that order."
        )


def rate_interval(x: np.ndarray, n: np.ndarray, ci: float, method: str):
    """Point estimate and interval; NaN where n == 0 or x > n (callers add the reason)."""
    ok = (n > 0) & (x <= n) & (x >= 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(n > 0, x / np.where(n > 0, n, 1), np.nan)
        nn = np.where(ok, n, 1.0)
        xx = np.where(ok, x, 0.0)
        q = xx / nn
        alpha = 1 - ci
        if method == "wilson":
            z = stats.norm.isf(alpha / 2)
            z2 = z * z
            denom = 1 + z2 / nn
            center = (q + z2 / (2 * nn)) / denom
            half = z * np.sqrt(q * (1 - q) / nn + z2 / (4 * nn * nn)) / denom
            lower, upper = np.clip(center - half, 0, 1), np.clip(center + half, 0, 1)
        else:
            lower = stats.beta.ppf(alpha / 2, xx + 0.5, nn - xx + 0.5)
            upper = stats.beta.isf(alpha / 2, xx + 0.5, nn - xx + 0.5)
            # Brown, Cai & DasGupta's boundary modification: the interval must contain 0 at x = 0
            # and 1 at x = n
            lower = np.where(xx == 0, 0.0, lower)
            upper = np.where(xx == nn, 1.0, upper)
    lower = np.where(ok, lower, np.nan)
    upper = np.where(ok, upper, np.nan)
    return p, lower, upper


def _check_method(method: Any) -> str:
    if method not in _METHODS:
        raise DataError(
            f"method={method!r} is not a rate interval. Pass method='wilson' (the default) or "
            "method='jeffreys'."
        )
    return method


# --- rate -----------------------------------------------------------------------------------------


def rate(successes: Any, trials: Any, *, ci: float = 0.95, method: str = "wilson") -> pd.DataFrame:
    """A proportion with its confidence interval, vectorised over arrays and Series.

    Parameters
    ----------
    successes, trials : number, array-like or pandas.Series
        Counts (broadcast against each other). ``0 <= successes <= trials``; counts need not be
        integers (weighted counts are accepted by both formulas).
    ci : float, default 0.95
        Confidence level.
    method : {"wilson", "jeffreys"}
        ``"wilson"``: the Wilson score interval (clipped to [0, 1]). ``"jeffreys"``: the equal-tailed
        Jeffreys interval, the ``ci`` central interval of Beta(x + 1/2, n − x + 1/2), with Brown, Cai
        & DasGupta's (2001, *Statistical Science* 16:101–133) boundary modification: the lower
        bound is 0 when x = 0 and the upper bound is 1 when x = n (otherwise the interval would
        exclude the estimate). Elsewhere it equals statsmodels'
        ``proportion_confint(method="jeffreys")``.

    Returns
    -------
    pandas.DataFrame
        Always a DataFrame (one row for scalar input; the index of a Series input is kept) with
        columns ``successes, trials, rate, lower, upper, note``. ``rate`` is a fraction (0.0125 is
        1.25 %). Where ``trials == 0`` the rate and interval are NaN and ``note`` is
        ``"0 trials"``; otherwise ``note`` is ``""``.

    Raises
    ------
    DataError
        Negative counts, ``successes > trials``, missing values, a bad ``ci`` or ``method``.

    Examples
    --------
    CTR of 100 clicks on 8,000 impressions:

    >>> r = rate(100, 8000)
    >>> round(r["rate"].item() * 100, 2)
    1.25
    >>> r[["lower", "upper"]].round(4)
        lower   upper
    0  0.0103  0.0152
    """
    ci = check_ci(ci)
    method = _check_method(method)
    x, xi = _as_array(successes, "successes")
    n, ni = _as_array(trials, "trials")
    try:
        x, n = np.broadcast_arrays(x, n)
    except ValueError:
        raise DataError(
            f"successes has {x.size} values but trials has {n.size}; pass arrays of the same "
            "length (or a scalar for one of them)."
        ) from None
    _check_counts(x, n, "successes", "trials")
    p, lower, upper = rate_interval(x, n, ci, method)
    index = xi if xi is not None and len(xi) == len(x) else (ni if ni is not None and len(ni) == len(x) else None)
    return pd.DataFrame(
        {
            "successes": x,
            "trials": n,
            "rate": p,
            "lower": lower,
            "upper": upper,
            "note": np.where(n == 0, "0 trials", ""),
        },
        index=index,
    )


def compare_rates(
    successes_a: Any,
    trials_a: Any,
    successes_b: Any,
    trials_b: Any,
    *,
    ci: float = 0.95,
) -> pd.DataFrame:
    """Compare two proportions: difference B − A, its interval, and a two-sided p-value.

    The interval is Newcombe's hybrid score interval ("method 10" of Newcombe 1998, *Statistics in
    Medicine* 17:873–890), built from the Wilson intervals of each rate:
    ``d − sqrt((p_b − l_b)² + (u_a − p_a)²)`` to ``d + sqrt((u_b − p_b)² + (p_a − l_a)²)``.
    The p-value is the pooled two-proportion z test (normal approximation, no continuity
    correction).

    Parameters
    ----------
    successes_a, trials_a, successes_b, trials_b : number, array-like or Series
        Counts of variant A (the baseline) and B (broadcast against each other).
    ci : float, default 0.95
        Confidence level of the interval.

    Returns
    -------
    pandas.DataFrame
        Columns ``rate_a, rate_b, difference, lower, upper, z, p_value, note`` (``difference`` is
        ``rate_b − rate_a`` as a fraction). NaN with a reason in ``note`` when a variant has 0
        trials, or (for ``z`` and ``p_value`` only) when both variants have rate 0 or both 1 (the
        pooled variance is zero).

    Examples
    --------
    >>> out = compare_rates(100, 8000, 130, 8000)
    >>> out[["rate_a", "rate_b", "difference"]].round(5)
       rate_a   rate_b  difference
    0  0.0125  0.01625     0.00375
    >>> round(out["p_value"].item(), 3)
    0.046
    """
    ci = check_ci(ci)
    arrays = {}
    for name, value in (
        ("successes_a", successes_a),
        ("trials_a", trials_a),
        ("successes_b", successes_b),
        ("trials_b", trials_b),
    ):
        arrays[name] = _as_array(value, name)[0]
    try:
        xa, na, xb, nb = np.broadcast_arrays(*arrays.values())
    except ValueError:
        raise DataError(
            "successes_a, trials_a, successes_b and trials_b have different lengths "
            f"({', '.join(str(a.size) for a in arrays.values())}); pass arrays of the same length "
            "(or scalars)."
        ) from None
    _check_counts(xa, na, "successes_a", "trials_a")
    _check_counts(xb, nb, "successes_b", "trials_b")
    pa, la, ua = rate_interval(xa, na, ci, "wilson")
    pb, lb, ub = rate_interval(xb, nb, ci, "wilson")
    d = pb - pa
    lower = d - np.sqrt((pb - lb) ** 2 + (ua - pa) ** 2)
    upper = d + np.sqrt((ub - pb) ** 2 + (pa - la) ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = (xa + xb) / (na + nb)
        se = np.sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb))
        z = np.where((se > 0) & np.isfinite(se), d / np.where(se > 0, se, 1), np.nan)
    p_value = 2 * stats.norm.sf(np.abs(z))
    note = np.where(
        (na == 0) | (nb == 0),
        "0 trials in a variant",
        np.where(np.isnan(z), "no variation (both rates 0 or both 1): no test", ""),
    )
    return pd.DataFrame(
        {
            "rate_a": pa,
            "rate_b": pb,
            "difference": d,
            "lower": lower,
            "upper": upper,
            "z": z,
            "p_value": p_value,
            "note": note,
        }
    )


# --- ad_metrics -----------------------------------------------------------------------------------


def _by_list(by: Any, argument: str = "by") -> list[str]:
    if by is None:
        return []
    if isinstance(by, str):
        return [by]
    if isinstance(by, (list, tuple)) and all(isinstance(b, str) for b in by):
        return list(by)
    raise DataError(
        f"{argument}={by!r} is not a column name. Pass a column name, a list of column names, or None."
    )


def _join_notes(parts: list[np.ndarray]) -> np.ndarray:
    out = []
    for row in zip(*parts):
        out.append("; ".join(p for p in row if p))
    return np.array(out, dtype=object)


def ad_metrics(
    campaigns: Any,
    *,
    by: str | list[str] | None = "campaign",
    date_col: str | None = None,
    impressions_col: str = "impressions",
    clicks_col: str = "clicks",
    spend_col: str = "spend",
    conversions_col: str | None = "conversions",
    revenue_col: str | None = "revenue",
    ci: float = 0.95,
    method: str = "wilson",
) -> pd.DataFrame:
    """Campaign metrics from daily rows: CTR and CVR with intervals, CPC, CPA and ROAS.

    The rows are summed per ``by`` group in the engine (DuckDB by default, or the backend of an Ibis
    table); rates and intervals are then computed on the small per-campaign table.

    Parameters
    ----------
    campaigns : DataFrame, path or ibis.Table
        One row per campaign and day (or any finer split); counts and money are summed.
    by : str, list of str or None, default "campaign"
        Grouping column(s); ``None`` gives one total row.
    date_col : str, optional
        When given, the output has ``first_date`` and ``last_date`` of each group.
    impressions_col, clicks_col, spend_col : str
        Required columns.
    conversions_col, revenue_col : str or None
        Optional columns. ``None`` leaves the metrics that need them out. If the argument keeps its
        default name (``"conversions"``, ``"revenue"``) and the table has no such column, those
        metrics are left out as well (CVR/CPA, ROAS); a column named explicitly must exist.
    ci : float, default 0.95
        Confidence level of the CTR and CVR intervals.
    method : {"wilson", "jeffreys"}
        Interval method, see :func:`rate`.

    Returns
    -------
    pandas.DataFrame
        One row per group (sorted by ``by``) with the summed ``impressions, clicks, spend
        [, conversions][, revenue]`` and ``ctr, ctr_lower, ctr_upper, cpc [, cvr, cvr_lower,
        cvr_upper, cpa][, roas], note``. Rates are fractions; CVR is conversions / clicks; money
        metrics are in the unit of ``spend``/``revenue``. A zero denominator gives NaN and a
        reason in ``note`` (e.g. ``"cpa: 0 conversions"``); a numerator above its denominator
        (more clicks than impressions, or view-through conversions above clicks) keeps the point
        estimate, gives a NaN interval and says so in ``note``.

    Raises
    ------
    DataError
        A missing column, a non-numeric count or money column, negative values, a bad ``ci``.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({
    ...     "campaign": ["A", "A", "B"],
    ...     "impressions": [5000, 3000, 0],
    ...     "clicks": [60, 40, 0],
    ...     "spend": [30000.0, 20000.0, 0.0],
    ...     "conversions": [3, 2, 0],
    ...     "revenue": [90000.0, 60000.0, 0.0],
    ... })
    >>> m = ad_metrics(rows)
    >>> m[["campaign", "impressions", "clicks", "ctr", "cpc", "cvr", "cpa", "roas"]]
      campaign  impressions  clicks     ctr    cpc   cvr      cpa  roas
    0        A         8000     100  0.0125  500.0  0.05  10000.0   3.0
    1        B            0       0     NaN    NaN   NaN      NaN   NaN
    >>> m.loc[1, "note"]
    'ctr: 0 impressions; cpc: 0 clicks; cvr: 0 clicks; cpa: 0 conversions; roas: 0 spend'
    """
    ci = check_ci(ci)
    method = _check_method(method)
    by_cols = _by_list(by)
    data, conv, rev = _optional_columns(campaigns, conversions_col, revenue_col)
    cols = [Column("by", b, f"__by{i}", "any", "the campaign name") for i, b in enumerate(by_cols)]
    cols += [
        Column("date_col", date_col, "date", "timestamp", "the day of each row"),
        Column("impressions_col", impressions_col, "impressions", "numeric", "impressions", missing="allow"),
        Column("clicks_col", clicks_col, "clicks", "numeric", "clicks", missing="allow"),
        Column("spend_col", spend_col, "spend", "numeric", "the ad spend", missing="allow"),
        Column("conversions_col", conv, "conversions", "numeric", "conversions", missing="allow"),
        Column("revenue_col", rev, "revenue", "numeric", "the attributed revenue", missing="allow"),
    ]
    t = prepare(data, cols, what="campaigns")
    arguments = {
        "impressions": ("impressions_col", impressions_col),
        "clicks": ("clicks_col", clicks_col),
        "spend": ("spend_col", spend_col),
        "conversions": ("conversions_col", conv),
        "revenue": ("revenue_col", rev),
    }
    measures = {m: arg for m, arg in arguments.items() if arg[1] is not None}
    out = _campaign_sums(t, measures, by_cols, with_dates=date_col is not None)
    notes = [
        _ratio(out, "clicks", "impressions", "ctr", ci=ci, method=method),
        _ratio(out, "spend", "clicks", "cpc"),
    ]
    if conv:
        notes += [_ratio(out, "conversions", "clicks", "cvr", ci=ci, method=method),
                  _ratio(out, "spend", "conversions", "cpa")]
    if rev:
        notes.append(_ratio(out, "revenue", "spend", "roas"))
    out["note"] = pd.array(_join_notes(notes), dtype="str")
    return out


def _optional_columns(campaigns: Any, conversions_col: str | None, revenue_col: str | None):
    """The data to prepare, and the conversions / revenue columns to use (a default name only if present)."""
    probe = None
    present: list[str] | None = None

    def optional(arg_value: str | None, default: str) -> str | None:
        nonlocal probe, present
        if arg_value is None:
            return None
        if arg_value != default:
            return arg_value
        if present is None:
            from .io import as_table

            probe = as_table(campaigns, argument="campaigns")
            present = list(probe.schema().names)
        return arg_value if arg_value in present else None

    conv = optional(conversions_col, "conversions")
    rev = optional(revenue_col, "revenue")
    # the DataFrame itself when there is one, so that prepare cleans just the columns it needs
    data = campaigns if isinstance(campaigns, pd.DataFrame) or probe is None else probe
    return data, conv, rev


def _campaign_sums(t, measures: dict[str, tuple[str, str]], by_cols: list[str], *, with_dates: bool) -> pd.DataFrame:
    """Sums per group (and first/last date), refusing missing and negative values of the measures."""
    aggs: dict[str, Any] = {}
    for m in measures:
        aggs[m] = t[m].sum()
        aggs[f"__min_{m}"] = t[m].min()
        aggs[f"__nulls_{m}"] = t[m].isnull().sum()
    if with_dates:
        aggs["first_date"] = t["date"].min()
        aggs["last_date"] = t["date"].max()
    keys = [f"__by{i}" for i in range(len(by_cols))]
    out = execute(t.group_by(keys).aggregate(**aggs) if keys else t.aggregate(**aggs))
    for m, (argument, name) in measures.items():
        n_null = int(out[f"__nulls_{m}"].sum())
        if n_null:
            raise DataError(
                f"column {name!r} ({argument}) has {n_null} missing value(s). Fill them (e.g. with "
                "0 for days without delivery) or drop those rows."
            )
        mins = out[f"__min_{m}"]
        if (mins < 0).any():
            raise DataError(
                f"column {name!r} ({argument}) must be >= 0, but has negative values, e.g. "
                f"{mins[mins < 0].iloc[0]:g}. Check the data."
            )
    out = out.drop(columns=[c for c in out.columns if c.startswith("__min_") or c.startswith("__nulls_")])
    out = out.rename(columns={k: b for k, b in zip(keys, by_cols)})
    if by_cols:
        out = out.sort_values(by_cols, kind="stable").reset_index(drop=True)
    for m in ("impressions", "clicks", "conversions"):
        if m in out and np.all(np.mod(out[m].to_numpy(dtype=float), 1) == 0):
            out[m] = out[m].astype("int64")
    return out


def _ratio(out: pd.DataFrame, num: str, den: str, label: str, *, ci: float | None = None,
           method: str = "wilson") -> np.ndarray:
    """``out[label] = num / den`` (NaN where den is 0), with an interval when ``ci``; returns the notes."""
    x = out[num].to_numpy(dtype=float)
    n = out[den].to_numpy(dtype=float)
    zero = n == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        out[label] = np.where(zero, np.nan, x / np.where(zero, 1, n))
    note = np.where(zero, f"{label}: 0 {den}", "")
    if ci is not None:
        _, lower, upper = rate_interval(x, n, ci, method)
        out[f"{label}_lower"] = lower
        out[f"{label}_upper"] = upper
        note = np.where(~zero & (x > n), f"{label}: {num} exceed {den}, no interval", note)
    return note


# --- NPS ------------------------------------------------------------------------------------------


def nps(
    data: Any,
    *,
    score_col: str = "score",
    by: str | list[str] | None = None,
    ci: float = 0.95,
) -> pd.DataFrame:
    """Net Promoter Score in points, with a confidence interval.

    NPS = 100 × (promoters − detractors) / respondents, promoters scoring 9–10 and detractors 0–6
    on the 0–10 "how likely are you to recommend" question; it runs from −100 to +100.

    The interval is the normal (Wald) interval of the difference of two multinomial proportions:
    ``Var(p̂_P − p̂_D) = (p_P + p_D − (p_P − p_D)²) / n``, i.e. the variance of the mean of a score
    that is +1 for promoters, 0 for passives and −1 for detractors. It is clipped to [−100, 100];
    with all respondents in one class its width is 0.

    Parameters
    ----------
    data : DataFrame, path or ibis.Table
        One row per survey response.
    score_col : str, default "score"
        The 0–10 score. Missing values (non-responses) are left out and counted in ``missing``.
    by : str, list of str or None
        Optional grouping column(s), e.g. the acquisition channel.
    ci : float, default 0.95
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        One row per group: ``[by...,] respondents, promoters, passives, detractors, missing, nps,
        lower, upper, note`` (``nps`` and its interval in points). A group whose scores are all
        missing gets NaN and the reason in ``note``.

    Raises
    ------
    DataError
        Scores outside 0–10 or not whole numbers, a missing column, no responses.

    Examples
    --------
    >>> import pandas as pd
    >>> survey = pd.DataFrame({"score": [10, 9, 9, 8, 7, 6, 3, 10, 9, 0]})
    >>> nps(survey)[["respondents", "promoters", "detractors", "nps"]]
       respondents  promoters  detractors   nps
    0           10          5           3  20.0
    """
    ci = check_ci(ci)
    by_cols = _by_list(by)
    cols = [Column("by", b, f"__by{i}", "any", "a grouping key") for i, b in enumerate(by_cols)]
    cols.append(Column("score_col", score_col, "score", "numeric", "the 0-10 recommendation score",
                       missing="allow"))
    t = prepare(data, cols, what="data")
    s = t["score"].cast("float64")
    valid = s.notnull()
    out_of_range = valid & ((s < 0) | (s > 10))
    fractional = valid & ~out_of_range & (s != s.floor())
    aggs = {
        "respondents": valid.sum(),
        "promoters": (valid & (s >= 9)).sum(),
        "detractors": (valid & (s <= 6)).sum(),
        "missing": (~valid).sum(),
        "__bad_range": out_of_range.sum(),
        "__bad_range_ex": ibis.cases((out_of_range, s), else_=ibis.null("float64")).max(),
        "__bad_int": fractional.sum(),
        "__bad_int_ex": ibis.cases((fractional, s), else_=ibis.null("float64")).max(),
    }
    keys = [f"__by{i}" for i in range(len(by_cols))]
    out = execute(t.group_by(keys).aggregate(**aggs) if keys else t.aggregate(**aggs))
    total = int(out["respondents"].sum() + out["missing"].sum())
    n_range = int(out["__bad_range"].sum())
    if n_range:
        example = out.loc[out["__bad_range"] > 0, "__bad_range_ex"].iloc[0]
        raise DataError(
            f"column {score_col!r} (score_col) must hold scores from 0 to 10, but {n_range} of "
            f"{total} values are outside 0–10, e.g. {example:g}. Recode the scale to 0–10 or drop "
            "those rows."
        )
    n_int = int(out["__bad_int"].sum())
    if n_int:
        example = out.loc[out["__bad_int"] > 0, "__bad_int_ex"].iloc[0]
        raise DataError(
            f"column {score_col!r} (score_col) must hold whole-number scores from 0 to 10, but "
            f"{n_int} of {total} values are not whole numbers, e.g. {example:g}. NPS is defined "
            "on the 11-point 0–10 scale; round or drop those values."
        )
    if int(out["respondents"].sum()) == 0:
        raise DataError(
            f"column {score_col!r} (score_col) has no scores (all {total} values are missing); "
            "NPS needs at least one response."
        )
    out = out.drop(columns=[c for c in out.columns if c.startswith("__bad")])
    out = out.rename(columns={k: b for k, b in zip(keys, by_cols)})
    if by_cols:
        out = out.sort_values(by_cols, kind="stable").reset_index(drop=True)
    for c in ("respondents", "promoters", "detractors", "missing"):
        out[c] = out[c].astype("int64")
    out.insert(
        out.columns.get_loc("detractors"), "passives", out["respondents"] - out["promoters"] - out["detractors"]
    )
    n = out["respondents"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        pp = out["promoters"].to_numpy() / n
        pd_ = out["detractors"].to_numpy() / n
        diff = pp - pd_
        se = np.sqrt(np.maximum(pp + pd_ - diff**2, 0) / n)
    z = stats.norm.isf((1 - ci) / 2)
    out["nps"] = 100 * diff
    out["lower"] = np.clip(100 * (diff - z * se), -100, 100)
    out["upper"] = np.clip(100 * (diff + z * se), -100, 100)
    out["note"] = pd.array(np.where(n == 0, "no responses (all scores missing)", ""), dtype="str")
    return out
