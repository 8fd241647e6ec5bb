"""Rank shifts between metrics, and what-if budget reallocation toward higher LTV-ROAS."""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .._args import renamed
from .._errors import DataError

__all__ = ["rank_shift", "reallocate", "LOWER_IS_BETTER"]

#: Metrics ranked ascending (smaller is better) by :func:`rank_shift` unless told otherwise.
LOWER_IS_BETTER = frozenset({"cpa", "cpc", "cac", "payback_period"})


def _need(table: Any, columns: list[str], what: str = "table") -> None:
    if not isinstance(table, pd.DataFrame):
        raise DataError(f"{what} must be a pandas DataFrame (e.g. the output of cohortkit.ad_value), "
                        f"got {type(table).__name__}.")
    for col in columns:
        if col not in table.columns:
            raise DataError(
                f"column {col!r} not found in {what}; it has columns "
                f"{', '.join(repr(c) for c in table.columns)}. Pass the output of cohortkit.ad_value "
                "or name an existing column."
            )


def rank_values(values: pd.Series, ascending: bool) -> pd.Series:
    return values.rank(ascending=ascending, method="min").astype("Int64")


def rank_shift(table: pd.DataFrame, from_: str = "ctr", to: str = "ltv_roas", *, key: str = "campaign",
               ascending: Mapping[str, bool] | None = None) -> pd.DataFrame:
    """How each campaign's rank moves when judged by ``to`` instead of ``from_`` (CTR → LTV-ROAS).

    Rank 1 is the best. Metrics in :data:`LOWER_IS_BETTER` (``cpa, cpc, cac, payback_period``) are
    ranked ascending, all others descending; ``ascending={"metric": True}`` overrides. Ties share
    the smallest rank; NaN values get no rank.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per campaign, e.g. the output of :func:`ad_value`.
    from_, to : str
        The two metric columns.
    key : str, default "campaign"
        The column naming the rows.
    ascending : dict of str -> bool, optional
        Rank direction per metric (True = smaller is better).

    Returns
    -------
    pandas.DataFrame
        Sorted by the ``to`` rank: ``key, <from_>, <to>, rank_<from_>, rank_<to>, shift``, where
        ``shift = rank_<from_> - rank_<to>`` (positive: the campaign looks better under ``to``).
        ``attrs`` holds ``from_``, ``to``, ``kendall_tau`` (rank agreement, 1 = same order, -1 =
        reversed; NaN with fewer than 2 ranked rows) and ``n_moved`` (rows whose rank changed).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"campaign": ["banner", "search", "line"],
    ...                   "ctr": [0.045, 0.02, 0.018], "ltv_roas": [0.9, 2.4, 3.1]})
    >>> r = rank_shift(t)
    >>> r[["campaign", "rank_ctr", "rank_ltv_roas", "shift"]]
      campaign  rank_ctr  rank_ltv_roas  shift
    0     line         3              1      2
    1   search         2              2      0
    2   banner         1              3     -2
    >>> round(r.attrs["kendall_tau"], 2)
    -1.0
    """
    from scipy import stats

    if from_ == to:
        raise DataError(f"from_ and to are both {to!r}; pass two different metric columns.")
    _need(table, [key, from_, to])
    direction = {m: m in LOWER_IS_BETTER for m in (from_, to)}
    direction.update(dict(ascending or {}))
    out = table[[key, from_, to]].copy()
    for m in (from_, to):
        values = pd.to_numeric(out[m], errors="coerce").astype("float64")
        out[f"rank_{m}"] = rank_values(values, direction[m])
    out["shift"] = (out[f"rank_{from_}"] - out[f"rank_{to}"]).astype("Int64")
    out = out.sort_values([f"rank_{to}", key], na_position="last", kind="stable").reset_index(drop=True)
    both = out[[f"rank_{from_}", f"rank_{to}"]].dropna()
    tau = np.nan
    if len(both) >= 2:
        a, b = both.iloc[:, 0].astype(float), both.iloc[:, 1].astype(float)
        if a.nunique() > 1 and b.nunique() > 1:
            tau = float(stats.kendalltau(a, b).statistic)
    out.attrs.update(from_=from_, to=to, kendall_tau=tau, n_moved=int((out["shift"].fillna(0) != 0).sum()))
    return out


# --- reallocation ---------------------------------------------------------------------------------


def _bounds(value: Any, keys: pd.Series, argument: str) -> np.ndarray:
    if isinstance(value, Mapping):
        unknown = [k for k in value if k not in set(keys)]
        if unknown:
            raise DataError(f"{argument} names {unknown[0]!r}, which is not a row of table; rows are "
                            f"{list(keys)}.")
        default = 0.0 if argument == "min_share" else 1.0
        arr = np.array([value.get(k, default) for k in keys], dtype=object)
    else:
        arr = np.array([value] * len(keys), dtype=object)
    out = np.empty(len(keys))
    for i, v in enumerate(arr):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) \
                or not 0 <= float(v) <= 1:
            raise DataError(f"{argument} must be a share of the budget between 0 and 1 (or a dict of "
                            f"row -> share), got {v!r}.")
        out[i] = float(v)
    return out


def _solve_linear(rate, lo, hi, budget):
    """max sum(rate*x) s.t. lo<=x<=hi, sum(x)=budget: fill from the highest rate (stable order)."""
    x = lo.copy()
    left = budget - x.sum()
    for i in np.argsort(-rate, kind="stable"):
        add = min(hi[i] - x[i], left)
        x[i] += add
        left -= add
        if left <= 0:
            break
    return x


def _solve_power(a, beta, lo, hi, budget):
    """max sum(a*x**beta) s.t. lo<=x<=hi, sum(x)=budget (0<beta<1): KKT water-filling.

    Unclipped x_i = (a_i beta / lambda)**(1/(1-beta)); bisection on log(lambda) finds which rows sit
    on a bound, then the free rows share the rest of the budget in closed form (x_i ∝ a_i**(1/(1-beta))).
    """
    e = 1.0 / (1.0 - beta)
    pos = a > 0
    la = np.where(pos, np.log(np.where(pos, a, 1.0) * beta), -np.inf)

    def alloc(t):
        with np.errstate(over="ignore", invalid="ignore"):
            x = np.exp(np.clip((la - t) * e, -745.0, 700.0))
        x = np.where(pos, x, 0.0)
        return np.clip(x, lo, hi)

    if not pos.any():
        return _solve_linear(np.zeros_like(a), lo, hi, budget)
    big = max(hi.max(), budget, 1.0)
    t_low = float(np.min(la[pos]) - np.log(big) / e - 1.0)
    t_high = float(np.max(la[pos]) - np.log(budget * 1e-13 / len(a) if budget > 0 else 1e-300) / e + 1.0)
    for _ in range(300):
        mid = 0.5 * (t_low + t_high)
        if alloc(mid).sum() > budget:
            t_low = mid
        else:
            t_high = mid
    x = alloc(0.5 * (t_low + t_high))
    for _ in range(len(a) + 1):  # closed form on the free set; re-clip if a row leaves its bounds
        tol = 1e-12 * big
        free = pos & (x > lo + tol) & (x < hi - tol)
        rest = budget - x[~free].sum()
        if not free.any():
            break
        w = np.exp((la[free] - la[free].max()) * e)
        new = rest * w / w.sum()
        clipped = np.clip(new, lo[free], hi[free])
        x[free] = clipped
        if np.allclose(clipped, new, rtol=0, atol=tol):
            break
    # leftover from rounding (or rows with a_i = 0): give it to rows with room, best marginal first
    gap = budget - x.sum()
    if abs(gap) > 0:
        order = np.argsort(-np.where(pos, la, -np.inf), kind="stable")
        for i in order if gap > 0 else order[::-1]:
            room = hi[i] - x[i] if gap > 0 else lo[i] - x[i]
            step = min(gap, room) if gap > 0 else max(gap, room)
            x[i] += step
            gap -= step
            if gap == 0:
                break
    return x


@renamed(by="metric")
def reallocate(
    table: pd.DataFrame,
    budget: float | None = None,
    *,
    metric: str = "ltv_roas",
    key: str = "campaign",
    spend_col: str = "spend",
    min_share: float | Mapping[str, float] = 0.0,
    max_share: float | Mapping[str, float] = 1.0,
    beta: float = 1.0,
    plan: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """What if the budget moved toward campaigns with higher LTV-ROAS? (a stated, simple model).

    **Returns model.** Campaign *i* now spends ``s_i`` and returns ``r_i = table[metric]`` of value per
    unit of spend (with ``metric="ltv_roas"``: expected customer value × margin per yen). Spending ``x``
    is assumed to return

        ``value_i(x) = r_i · s_i · (x / s_i) ** beta``

    — a curve through today's point. ``beta = 1`` (default) is constant returns (``r_i · x``: every
    extra yen buys customers as good as today's); ``0 < beta < 1`` is diminishing returns (doubling
    the spend multiplies the value by ``2 ** beta``; ``beta = 0.5`` is a common planning assumption
    for paid media, but it is an assumption: measure it with spend tests before trusting it).

    **Optimisation.** Maximise ``sum value_i(x_i)`` subject to ``sum x_i = budget`` and
    ``min_share_i · budget <= x_i <= max_share_i · budget``. Solved exactly: constant returns by
    filling the highest ``r_i`` first (ties in table order); diminishing returns by the KKT
    water-filling solution (bisection for the bound-constrained rows, closed form for the rest).
    With ``plan`` nothing is optimised: the given spends are valued under the same curves.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per campaign with ``key``, ``spend_col`` and ``metric`` (e.g. the output of
        :func:`ad_value`). Rows with a missing ``metric`` raise.
    budget : float, optional
        Total to allocate; default the current total spend.
    metric : str, default "ltv_roas"
        Value per unit of spend.
    key, spend_col : str
        Columns naming the campaign and holding its current spend.
    min_share, max_share : float or dict of campaign -> float
        Bounds on each campaign's share of ``budget`` (a dict gives per-campaign bounds; campaigns
        not in it get 0 and 1).
    beta : float in (0, 1], default 1.0
        Returns exponent (see above). Below 1 every campaign needs a current spend > 0.
    plan : dict of campaign -> spend, optional
        Evaluate this allocation instead of optimising (campaigns not named keep their spend);
        e.g. move 20 % of the banner budget to search.

    Returns
    -------
    pandas.DataFrame
        One row per campaign in table order: ``key, spend, <metric>, share, new_spend, new_share,
        spend_change, value, new_value, value_change, bound`` (``"min"``/``"max"`` when the new spend
        sits on a bound). ``attrs``: ``budget, beta, metric, value_before, value_after, value_change``.

    Raises
    ------
    DataError
        Missing columns, negative spend, a missing ``metric`` value, bounds that cannot hold
        (``sum(min_share) > 1`` or ``sum(max_share) < 1``), ``beta`` outside (0, 1], a zero current
        spend with ``beta < 1``, a ``plan`` with unknown campaigns or a total other than ``budget``.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"campaign": ["banner", "search", "line"],
    ...                   "spend": [500.0, 300.0, 200.0], "ltv_roas": [0.8, 2.0, 3.0]})
    >>> r = reallocate(t, max_share=0.5)
    >>> r[["campaign", "new_spend", "value", "new_value"]]
      campaign  new_spend  value  new_value
    0   banner        0.0  400.0        0.0
    1   search      500.0  600.0     1000.0
    2     line      500.0  600.0     1500.0
    >>> r.attrs["value_before"], r.attrs["value_after"]
    (1600.0, 2500.0)
    """
    keys, spend, rate = _plan_inputs(table, key=key, spend_col=spend_col, metric=metric)
    beta = _check_beta(beta, keys, spend)
    budget = _check_budget(float(spend.sum()) if budget is None else budget)
    lo = _bounds(min_share, keys, "min_share") * budget
    hi = _bounds(max_share, keys, "max_share") * budget
    if plan is not None:
        x = _planned_spend(plan, keys, spend, budget)
        bound = np.full(len(x), "")
    else:
        x = _optimal_spend(rate, spend, beta, lo, hi, budget, keys)
        tol = 1e-9 * max(budget, 1.0)
        bound = np.where(np.abs(x - lo) <= tol, "min", np.where(np.abs(x - hi) <= tol, "max", ""))
    before, after = _returns(rate, spend, beta, spend), _returns(rate, spend, beta, x)
    total_now = spend.sum()
    out = pd.DataFrame({
        key: keys,
        "spend": spend,
        metric: rate,
        "share": spend / total_now if total_now > 0 else np.nan,
        "new_spend": x,
        "new_share": x / budget if budget > 0 else np.nan,
        "spend_change": x - spend,
        "value": before,
        "new_value": after,
        "value_change": after - before,
        "bound": bound,
    })
    out.attrs.update(budget=budget, beta=beta, metric=metric, value_before=float(before.sum()),
                     value_after=float(after.sum()), value_change=float(after.sum() - before.sum()))
    return out


def _plan_inputs(table: pd.DataFrame, *, key: str, spend_col: str, metric: str):
    """Campaign keys, current spend and value per unit of spend, refusing what cannot be planned."""
    _need(table, [key, spend_col, metric])
    if table[key].duplicated().any():
        dup = table.loc[table[key].duplicated(), key].iloc[0]
        raise DataError(f"column {key!r} (key) has duplicate value {dup!r}; pass one row per campaign.")
    keys = table[key].reset_index(drop=True)
    for arg, col in (("spend_col", spend_col), ("metric", metric)):
        if pd.api.types.is_bool_dtype(table[col]) or any(isinstance(v, (bool, np.bool_)) for v in table[col]):
            raise DataError(f"column {col!r} ({arg}) holds True/False values; it must hold numbers. "
                            "Pass the numeric column.")
    spend = pd.to_numeric(table[spend_col], errors="coerce").to_numpy(dtype="float64")
    rate = pd.to_numeric(table[metric], errors="coerce").to_numpy(dtype="float64")
    if np.isnan(spend).any() or (spend < 0).any() or np.isinf(spend).any():
        i = int(np.flatnonzero(~(spend >= 0) | np.isinf(spend))[0])
        raise DataError(f"column {spend_col!r} (spend_col) must hold spends >= 0, but {keys[i]!r} has "
                        f"{table[spend_col].iloc[i]!r}. Fix or drop that row.")
    if np.isinf(rate).any():
        bad = [k for k, v in zip(keys, rate) if np.isinf(v)]
        raise DataError(f"column {metric!r} (metric) is infinite for {', '.join(repr(k) for k in bad)} (a campaign "
                        "with value but no spend?); reallocation needs a finite value per unit of spend. Drop "
                        "those rows or fix their spend.")
    if (~np.isfinite(rate)).any():
        bad = [k for k, v in zip(keys, rate) if not np.isfinite(v)]
        raise DataError(f"column {metric!r} (metric) is missing for {', '.join(repr(k) for k in bad)}; "
                        "the value of their spend is unknown. Drop those rows (e.g. campaigns without "
                        "customers or spend) before reallocating.")
    return keys, spend, rate


def _check_beta(beta: Any, keys: pd.Series, spend: np.ndarray) -> float:
    if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not 0 < beta <= 1:
        raise DataError(f"beta={beta!r} must be in (0, 1]: 1 for constant returns, e.g. 0.5 for "
                        "diminishing returns.")
    beta = float(beta)
    if beta < 1 and (spend <= 0).any():
        k = keys[int(np.flatnonzero(spend <= 0)[0])]
        raise DataError(f"beta={beta} anchors each returns curve at the current spend, but {k!r} has "
                        "spend 0. Use beta=1 (constant returns) or drop that row.")
    return beta


def _check_budget(budget: Any) -> float:
    if isinstance(budget, bool) or not isinstance(budget, (int, float, np.integer, np.floating)) \
            or not math.isfinite(float(budget)) or budget < 0:
        raise DataError(f"budget={budget!r} must be a finite amount >= 0.")
    return float(budget)


def _returns(rate: np.ndarray, spend: np.ndarray, beta: float, x: np.ndarray) -> np.ndarray:
    """Value of spending ``x``: constant returns (beta 1) or a power curve through the current spend."""
    if beta == 1.0:
        return rate * x
    return rate * spend * (x / spend) ** beta


def _planned_spend(plan: Any, keys: pd.Series, spend: np.ndarray, budget: float) -> np.ndarray:
    """The user's plan (campaign -> new spend; others unchanged), checked to add up to the budget."""
    if not isinstance(plan, Mapping):
        raise DataError("plan must be a dict of campaign -> new spend.")
    unknown = [k for k in plan if k not in set(keys)]
    if unknown:
        raise DataError(f"plan names {unknown[0]!r}, which is not a row of table; rows are {list(keys)}.")
    x = spend.copy()
    for i, k in enumerate(keys):
        if k in plan:
            v = plan[k]
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) \
                    or not math.isfinite(float(v)) or v < 0:
                raise DataError(f"plan[{k!r}] must be a spend >= 0, got {v!r}.")
            x[i] = float(v)
    total = float(x.sum())
    if not math.isclose(total, budget, rel_tol=1e-9, abs_tol=1e-9):
        raise DataError(f"plan spends {total:g} in total but budget is {budget:g}; pass budget={total:g} "
                        "or change the plan so it adds up.")
    return x


def _optimal_spend(rate, spend, beta: float, lo, hi, budget: float, keys: pd.Series) -> np.ndarray:
    """The spend that maximises total value within the share bounds (exact for both returns models)."""
    if (lo > hi).any():
        k = keys[int(np.flatnonzero(lo > hi)[0])]
        raise DataError(f"min_share is above max_share for {k!r}; make min_share <= max_share.")
    if lo.sum() > budget * (1 + 1e-12):
        raise DataError(f"min_share adds up to {lo.sum() / budget if budget else np.inf:.4g} of the budget; "
                        "the minimum shares must add up to at most 1.")
    if hi.sum() < budget * (1 - 1e-12):
        raise DataError(f"max_share adds up to {hi.sum() / budget if budget else 0:.4g} of the budget; the "
                        "maximum shares must add up to at least 1 so the whole budget can be spent.")
    if beta == 1.0:
        return _solve_linear(rate, lo, hi, budget)
    return _solve_power(rate * spend ** (1 - beta), beta, lo, hi, budget)
