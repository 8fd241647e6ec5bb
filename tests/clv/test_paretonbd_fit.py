"""The Pareto/NBD fitting objective (cohortkit/clv/_paretonbd.py, ParetoNBDTerms): its log-likelihood
against 40-digit quadrature and the closed form, its analytic gradient against finite differences,
both ways of summing the hypergeometric function, and the fit against finite-difference BFGS.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
from scipy.special import hyp2f1

from cohortkit.clv import CLVModel
from cohortkit.clv._paretonbd import (ParetoNBD, ParetoNBDObjective, ParetoNBDTerms, _log_g_direct,
                                      _log_g_series)

# CDNOW (BTYD vignette), the same with alpha and beta swapped, and parameters far apart (z > 0.9:
# the 2F1 and central differences instead of the series)
PARAMS = [(0.553, 10.58, 0.606, 11.67), (0.553, 11.67, 0.606, 10.58), (1.3, 3.0, 1.0, 5.0),
          (0.2, 0.5, 2.0, 30.0), (5.0, 0.5, 0.2, 100.0), (0.5, 100.0, 0.7, 0.5)]


def _rows(n=300, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 30, n).astype(float)
    T = np.round(rng.uniform(1, 40, n) * 7) / 7
    tx = np.where(x > 0, np.floor(T * rng.uniform(0, 1, n) * 7) / 7, 0.0)
    tx[:10] = T[:10]  # bought at the very end: no "died in (tx, T]" term
    w = rng.integers(1, 5, n).astype(float)
    return x, tx, T, w


def _mp_loglik(params, x, tx, T):
    """note 009, eq. 11, with the integral by mpmath quadrature at 40 digits."""
    with mp.workdps(40):
        r, alpha, s, beta = (mp.mpf(v) for v in params)
        x, tx, T = mp.mpf(x), mp.mpf(tx), mp.mpf(T)
        c = mp.exp(mp.loggamma(r + x) - mp.loggamma(r)) * alpha**r * beta**s
        alive = (alpha + T) ** -(r + x) * (beta + T) ** -s
        dead = s * mp.quad(lambda u: (alpha + u) ** -(r + x) * (beta + u) ** -(s + 1),
                           [tx] + [tx + (T - tx) / 2**k for k in range(12, -1, -1)]) if T > tx else 0
        return float(mp.log(c * (alive + dead)))


@pytest.mark.parametrize("params", PARAMS)
def test_loglik_matches_40_digit_quadrature(params):
    rows = [(0, 0.0, 38.9), (2, 30.4, 38.9), (7, 10.0, 35.0), (20, 38.0, 38.9), (3, 5.0, 5.0), (29, 0.5, 40.0)]
    x, tx, T = (np.array(c, float) for c in zip(*rows))
    got = ParetoNBDTerms(x, tx, T)(params)
    want = [_mp_loglik(params, *row) for row in rows]
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("params", PARAMS)
def test_loglik_equals_the_closed_form(params):
    x, tx, T, _ = _rows()
    np.testing.assert_allclose(ParetoNBDTerms(x, tx, T)(params), ParetoNBD().loglik(params, x, tx, T), rtol=1e-11)


@pytest.mark.parametrize("params", PARAMS)
@pytest.mark.parametrize("penalizer", [0.0, 0.01])
def test_gradient_matches_finite_differences(params, penalizer):
    x, tx, T, w = _rows()
    objective = ParetoNBDObjective(x, tx, T, w, penalizer)
    theta = np.log(params)
    _, grad = objective(theta)
    h = 1e-3

    def f(i, k):
        t = theta.copy()
        t[i] += k * h
        return objective(t, gradient=False)[0]

    # five-point stencil: truncation error ~h**4
    fd = [(-f(i, 2) + 8 * f(i, 1) - 8 * f(i, -1) + f(i, -2)) / (12 * h) for i in range(4)]
    np.testing.assert_allclose(grad, fd, rtol=1e-8, atol=1e-10)
    assert objective(theta)[0] == pytest.approx(objective(theta, gradient=False)[0], rel=1e-15)


@pytest.mark.parametrize("e,g,z", [(0.6, 2.2, 0.0), (1.6, 3.1, 0.3), (40.0, 41.5, 0.5), (0.05, 1.7, 0.85),
                                   (3.0, 4.0, 0.9)])
def test_hypergeometric_series_equals_scipy_and_mpmath(e, g, z):
    e_, g_, z_ = (np.array([v]) for v in (e, g, z))
    series = _log_g_series(e_, g_, z_)
    direct = _log_g_direct(e_, g_, z_)
    np.testing.assert_allclose(series[0], np.log(hyp2f1(1.0, e, g, z)), rtol=1e-13, atol=1e-15)
    for a, b in zip(series, direct):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)
    with mp.workdps(30):
        def log_f(e, g, z):
            return mp.log(mp.hyp2f1(1, e, g, z))
        want = [log_f(e, g, z), mp.diff(lambda v: log_f(v, g, z), e), mp.diff(lambda v: log_f(e, v, z), g),
                mp.diff(lambda v: log_f(e, g, v), z)]
    np.testing.assert_allclose([v[0] for v in series], [float(v) for v in want], rtol=1e-12, atol=1e-14)


def test_fit_equals_finite_difference_bfgs(cal, monkeypatch):
    # the analytic gradient changes how fast BFGS gets there, not where: the previous fit (the
    # closed-form log-likelihood with finite-difference gradients, which stop BFGS ~1e-5 short)
    # gives the same estimates, and the new one is nearer the maximum
    fast = CLVModel("paretonbd", spend_model=None).fit(cal)
    monkeypatch.setattr(ParetoNBD, "gradient_objective", lambda self, rows, w, penalizer: None)
    slow = CLVModel("paretonbd", spend_model=None).fit(cal)
    np.testing.assert_allclose(fast.params_["estimate"], slow.params_["estimate"], rtol=1e-5)
    np.testing.assert_allclose(fast.params_["std_error"], slow.params_["std_error"], rtol=1e-4)
    assert fast.fit_info_.iloc[0]["log_likelihood"] == pytest.approx(slow.fit_info_.iloc[0]["log_likelihood"],
                                                                      rel=1e-10)
    assert bool(fast.fit_info_.iloc[0]["converged"])
    scale = 1 / cal["T"].max()
    objective = ParetoNBDObjective(*(cal[c].to_numpy(float) * f for c, f in (("frequency", 1), ("recency", scale),
                                                                               ("T", scale))),
                                   np.ones(len(cal)), 0.0)

    def gradient_norm(model):
        p = model.params_["estimate"].to_numpy() / [1, scale**-1, 1, scale**-1]
        return np.abs(objective(np.log(p))[1]).max()

    assert gradient_norm(fast) < 1e-8 < gradient_norm(slow)


def test_weighted_unique_rows_equal_one_row_per_customer(cal):
    # the objective on unique rows with counts is the objective on every customer
    x, tx, T = (cal[c].to_numpy(float) / f for c, f in (("frequency", 1), ("recency", 39), ("T", 39)))
    uniq, counts = np.unique(np.column_stack([x, tx, T]), axis=0, return_counts=True)
    theta = np.log([0.55, 10.6 / 39, 0.6, 11.7 / 39])
    full = ParetoNBDObjective(x, tx, T, np.ones(len(x)), 0.0)(theta)
    packed = ParetoNBDObjective(*uniq.T, counts, 0.0)(theta)
    assert len(uniq) < len(x) / 2
    assert full[0] == pytest.approx(packed[0], rel=1e-13)
    np.testing.assert_allclose(full[1], packed[1], rtol=1e-11)
