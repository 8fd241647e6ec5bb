"""Fitting any CLV model (cohortkit/clv/_fit.py, _rows.py): restarts when BFGS fails, the bootstrap's
joint customer resample, and the unique-row compression.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import cohortkit as ck
from cohortkit import ConvergenceWarning
from cohortkit.clv import CLVModel
from cohortkit.clv import _fit
from cohortkit.clv._rows import compress


PUBLISHED = {"r": 0.2426, "alpha": 4.4137, "a": 0.7930, "b": 2.4262}  # FHL (2005), CDNOW 1/10 sample


# --- restarts -------------------------------------------------------------------------------------


def test_failed_first_start_is_recovered_by_restarts(cal, monkeypatch):
    real = _fit._minimize
    calls = []

    def flaky(fun, x0, jac, tol, hess_inv0=None):
        calls.append(np.asarray(x0, float).copy())
        out = real(fun, x0, jac, tol, hess_inv0)
        if np.allclose(x0, 0.1):  # lifetimes' single start "fails", as in its issues #258/#262/#396
            out.success, out.jac, out.message = False, np.full(len(x0), np.nan), "simulated failure"
        return out

    monkeypatch.setattr(_fit, "_minimize", flaky)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # recovered: no warning
        model = ck.CLVModel("bgnbd", spend_model=None).fit(cal)
    assert len(calls) >= 2 and np.allclose(calls[1], 0.0)
    for name, value in PUBLISHED.items():
        assert model.params_.loc[name, "estimate"] == pytest.approx(value, rel=2e-4), name


def test_unrecoverable_fit_warns(cal, monkeypatch):
    real = _fit._minimize

    def always_fails(fun, x0, jac, tol, hess_inv0=None):
        out = real(fun, x0, jac, tol, hess_inv0)
        out.success, out.jac, out.message = False, np.full(len(x0), np.nan), "simulated failure"
        return out

    monkeypatch.setattr(_fit, "_minimize", always_fails)
    with pytest.warns(ConvergenceWarning, match=r"^bgnbd fit did not converge \(simulated failure\)"):
        ck.CLVModel("bgnbd", spend_model=None).fit(cal)


# --- bootstrap refits -----------------------------------------------------------------------------


def test_bootstrap_resamples_customers_jointly(cal, monkeypatch):
    # the multinomial over distinct (purchase row, spend row) pairs is a customer resample: each
    # draw has n customers, the spend weights count exactly the drawn repeat buyers, and the mean
    # weights are the observed counts
    model = CLVModel("bgnbd").fit(cal)
    seen = {"bgnbd": [], "gamma_gamma": []}

    def fake_refit(kind, rows, w, start, penalizer=0.0, engine="numpy"):
        seen[kind.name].append(np.asarray(w, float))
        return start.params

    monkeypatch.setattr(_fit, "refit", fake_refit)
    model._bootstrap(300, 5)
    w, sw = np.array(seen["bgnbd"]), np.array(seen["gamma_gamma"])
    assert (w.sum(axis=1) == len(cal)).all()
    repeat_rows = model._rows[:, 0] > 0
    np.testing.assert_array_equal(sw.sum(axis=1), w[:, repeat_rows].sum(axis=1))
    se = np.sqrt(model._counts / len(w))  # Poisson-ish standard error of the mean weight
    assert np.all(np.abs(w.mean(axis=0) - model._counts) < 5 * se + 1e-9)


# --- compression ----------------------------------------------------------------------------------


@given(st.lists(st.tuples(st.integers(0, 4), st.sampled_from([0.0, 0.5, 1.0, 2.25, 1e-9]), st.integers(-3, 3)),
                min_size=1, max_size=40))
def test_compress_equals_numpy_unique_rows(values):
    cols = [np.array([v[i] for v in values], float) for i in range(3)]
    rows, counts, inverse = compress(*cols)
    ref_rows, ref_inverse, ref_counts = np.unique(np.column_stack(cols), axis=0, return_inverse=True,
                                                  return_counts=True)
    np.testing.assert_array_equal(rows, ref_rows)
    np.testing.assert_array_equal(counts, ref_counts)
    np.testing.assert_array_equal(inverse, ref_inverse.reshape(-1))
    np.testing.assert_array_equal(rows[inverse], np.column_stack(cols))
