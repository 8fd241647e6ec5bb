"""cohortkit.value: rank shifts between metrics and what-if budget reallocation."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, strategies as st

from cohortkit import DataError
from cohortkit.value import rank_shift, reallocate
from helpers import exact


# --- rank shift ------------------------------------------------------------------------------------


def test_rank_shift_directions_and_tau():
    t = pd.DataFrame({"campaign": list("abcd"), "ctr": [0.04, 0.03, 0.02, 0.01],
                      "cpa": [900.0, 1000.0, 700.0, np.nan], "ltv_roas": [1.0, 2.0, 3.0, 4.0]})
    r = rank_shift(t, "ctr", "cpa").set_index("campaign")
    assert r["rank_cpa"].tolist()[:3] == [1, 2, 3]  # sorted by the to-rank: c (700), a, b
    assert r.loc["c", "rank_cpa"] == 1 and r.loc["b", "rank_cpa"] == 3 and pd.isna(r.loc["d", "rank_cpa"])
    assert r.loc["c", "shift"] == 2
    full = rank_shift(t)
    assert full.attrs["kendall_tau"] == pytest.approx(-1.0)
    assert full.attrs["n_moved"] == 4
    with pytest.raises(DataError, match=exact("from_ and to are both 'ctr'; pass two different metric columns.")):
        rank_shift(t, "ctr", "ctr")


# --- reallocation -----------------------------------------------------------------------------------


def _brute_best(rate, spend, budget, lo, hi, beta, steps=400):
    """Grid search over the first two campaigns; the third takes the rest."""
    best = -np.inf
    grid = np.linspace(0, budget, steps + 1)
    for x0, x1 in itertools.product(grid, grid):
        x = np.array([x0, x1, budget - x0 - x1])
        if (x < lo - 1e-9).any() or (x > hi + 1e-9).any():
            continue
        value = (rate * spend * (np.maximum(x, 0) / spend) ** beta).sum()
        best = max(best, value)
    return best


@pytest.mark.parametrize("beta", [1.0, 0.5, 0.8])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_reallocation_is_optimal_vs_brute_force(beta, seed):
    rng = np.random.default_rng(seed)
    spend = rng.uniform(50, 500, 3).round()
    rate = rng.uniform(0.5, 4.0, 3).round(2)
    t = pd.DataFrame({"campaign": ["a", "b", "c"], "spend": spend, "ltv_roas": rate})
    budget = float(spend.sum())
    r = reallocate(t, budget, beta=beta, min_share=0.1, max_share=0.6)
    x = r["new_spend"].to_numpy()
    assert x.sum() == pytest.approx(budget, rel=1e-12)
    brute = _brute_best(rate, spend, budget, 0.1 * budget, 0.6 * budget, beta)
    # the exact optimum is at least as good as every grid point, and close to the best one
    assert r.attrs["value_after"] >= brute - 1e-9 * brute
    assert r.attrs["value_after"] <= brute * (1 + 1e-3)


money = st.floats(min_value=1.0, max_value=1e6, allow_nan=False)


@given(
    spend=st.lists(money, min_size=1, max_size=6),
    rates=st.lists(st.floats(min_value=0.0, max_value=20.0), min_size=6, max_size=6),
    lo=st.floats(min_value=0.0, max_value=0.15),
    hi=st.floats(min_value=0.2, max_value=1.0),
    beta=st.sampled_from([1.0, 0.3, 0.5, 0.9]),
    scale=st.floats(min_value=0.2, max_value=3.0),
)
def test_reallocation_conserves_budget_and_respects_bounds(spend, rates, lo, hi, beta, scale):
    k = len(spend)
    if lo * k > 1 or hi * k < 1:
        return  # infeasible bounds are a DataError, tested below
    t = pd.DataFrame({"campaign": [f"c{i}" for i in range(k)], "spend": spend, "ltv_roas": rates[:k]})
    budget = float(sum(spend)) * scale
    r = reallocate(t, budget, beta=beta, min_share=lo, max_share=hi)
    x = r["new_spend"].to_numpy()
    assert x.sum() == pytest.approx(budget, rel=1e-9)
    tol = 1e-9 * budget
    assert (x >= lo * budget - tol).all() and (x <= hi * budget + tol).all()
    # never worse than the proportional plan (feasible whenever the current shares are)
    shares = np.asarray(spend) / sum(spend)
    if (shares >= lo).all() and (shares <= hi).all():
        plan = dict(zip(t["campaign"], shares * budget))
        base = reallocate(t, budget, beta=beta, plan=plan)
        assert r.attrs["value_after"] >= base.attrs["value_after"] * (1 - 1e-9) - 1e-9


def test_reallocation_plan_and_errors():
    t = pd.DataFrame({"campaign": ["banner", "search"], "spend": [1000.0, 500.0], "ltv_roas": [1.0, 3.0]})
    r = reallocate(t, plan={"banner": 800.0, "search": 700.0})
    assert r.attrs["value_change"] == pytest.approx(-200 * 1.0 + 200 * 3.0)
    r = reallocate(t, plan={"banner": 800.0, "search": 700.0}, beta=0.5)
    expected = 1000 * (0.8**0.5 - 1) + 1500 * ((700 / 500) ** 0.5 - 1)
    assert r.attrs["value_change"] == pytest.approx(expected)
    with pytest.raises(DataError, match=exact(
        "min_share adds up to 1.2 of the budget; the minimum shares must add up to at most 1."
    )):
        reallocate(t, min_share=0.6)
    with pytest.raises(DataError, match=exact(
        "plan spends 1600 in total but budget is 1500; pass budget=1600 or change the plan so it adds up."
    )):
        reallocate(t, plan={"banner": 1100.0})
    with pytest.raises(DataError, match=exact(
        "column 'ltv_roas' (metric) is missing for 'search'; the value of their spend is unknown. Drop "
        "those rows (e.g. campaigns without customers or spend) before reallocating."
    )):
        reallocate(t.assign(ltv_roas=[1.0, np.nan]))
