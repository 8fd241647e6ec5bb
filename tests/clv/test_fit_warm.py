"""Fitting many distinct rows (cohortkit/clv/_fit.py, _rows.py): the warm start from a coarse fit
lands where the plain BFGS fit lands (closer to the maximum), and the unique-row compression takes
the same rows whichever way it finds them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cohortkit.clv import CLVModel
from cohortkit.clv import _fit
from cohortkit.clv._rows import compress
from cohortkit.simulate import bgnbd


@pytest.fixture(scope="module")
def many_rows():
    """150,000 BG/NBD customers in weeks of whole days (first purchases over 12 weeks, 39 weeks
    observed): ~30,000 distinct (frequency, recency, T) rows, more than the warm start's threshold."""
    rng = np.random.default_rng(11)
    n = 150_000
    T_days = 273 - rng.integers(0, 84, n)
    pop = bgnbd(n, r=0.25, alpha=4.4 * 7, a=0.8, b=2.4, T=T_days.astype(float), seed=rng)
    tx = pop.transactions
    repeat = tx[tx["t"] > 0].groupby("customer_id")["t"]
    frequency = repeat.size().reindex(range(n), fill_value=0).to_numpy()
    recency = np.floor(repeat.max().reindex(range(n), fill_value=0.0).to_numpy())
    return pd.DataFrame({"frequency": frequency, "recency": recency / 7.0, "T": T_days / 7.0})


@pytest.mark.parametrize("purchase", ["bgnbd", "mbgnbd", "paretonbd"])
def test_warm_start_lands_where_the_plain_fit_lands(many_rows, purchase, monkeypatch):
    rows, _, _ = compress(many_rows["frequency"], many_rows["recency"], many_rows["T"])
    assert len(rows) > _fit._COARSE_MIN_ROWS
    warm = CLVModel(purchase, spend_model=None).fit(many_rows, time_unit="W")
    monkeypatch.setattr(_fit, "_COARSE_MIN_ROWS", 10**9)
    cold = CLVModel(purchase, spend_model=None).fit(many_rows, time_unit="W")
    assert warm.fit_info_.iloc[0]["converged"] and cold.fit_info_.iloc[0]["converged"]
    assert warm.fit_info_.iloc[0]["iterations"] < cold.fit_info_.iloc[0]["iterations"]
    # both stop within their gradient tolerances of the same maximum (BFGS's 1e-7 leaves ~1e-6)
    np.testing.assert_allclose(warm.params_["estimate"], cold.params_["estimate"], rtol=5e-6)
    np.testing.assert_allclose(warm.params_["std_error"], cold.params_["std_error"], rtol=1e-3)
    assert warm.fit_info_.iloc[0]["log_likelihood"] >= cold.fit_info_.iloc[0]["log_likelihood"] - 1e-7


@pytest.mark.parametrize("space", ["counted", "hashed", "overflowing"])
def test_compress_finds_the_same_rows_every_way(space):
    rng = np.random.default_rng(3)
    n = 20_000
    if space == "counted":  # few distinct values per column: keys counted with bincount
        cols = [rng.integers(0, 30, n) * 1.0, rng.integers(0, 50, n) / 7, rng.integers(0, 9, n) * 1.0]
    elif space == "hashed":  # many: one sorted factorize of the combined key
        cols = [rng.integers(0, 3000, n) * 1.0, rng.normal(size=n).round(3), rng.integers(0, 9, n) * 1.0]
    else:  # the product of the distinct counts overflows 64 bits: re-ranked column by column
        cols = [rng.normal(size=n) for _ in range(5)]
        cols[1][:100] = cols[1][100:200]
    rows, counts, inverse = compress(*cols)
    ref_rows, ref_inverse, ref_counts = np.unique(np.column_stack(cols), axis=0, return_inverse=True,
                                                  return_counts=True)
    np.testing.assert_array_equal(rows, ref_rows)
    np.testing.assert_array_equal(counts, ref_counts)
    np.testing.assert_array_equal(inverse, ref_inverse.reshape(-1))
