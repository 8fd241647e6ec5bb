"""Pareto/NBD (cohortkit/clv/_paretonbd.py): the published CDNOW estimates, lifetimes' fit, and the
log-space closed forms against numerical integration, where lifetimes returns NaN.

References: the BTYD R package vignette (Dziurzynski, Wadsworth & McCarthy, "BTYD: Implementing Buy
'Til You Die Models") and Fader & Hardie's note 009.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from cohortkit.clv import CLVModel
from cohortkit.clv._base import lifetimes_fitters
from cohortkit.clv._paretonbd import ParetoNBD

PARETO_NBD = ParetoNBD()


@pytest.fixture(scope="module")
def pareto(cal):
    return CLVModel("paretonbd", spend_model=None).fit(cal)


# --- published figures and lifetimes --------------------------------------------------------------


def test_paretonbd_published_parameters(pareto):
    # BTYD vignette (CDNOW sample): r = 0.553, alpha = 10.58, s = 0.606, beta = 11.67, LL = -9595.0
    est = pareto.params_["estimate"]
    # to the published rounding
    assert (round(est["r"], 3), round(est["alpha"], 2), round(est["s"], 3), round(est["beta"], 2)) == (
        0.553, 10.58, 0.606, 11.67)
    assert pareto.fit_info_.loc["paretonbd", "log_likelihood"] == pytest.approx(-9595.0, abs=0.05)


def test_paretonbd_agrees_with_lifetimes_fit(pareto, cal):
    lt = lifetimes_fitters()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = lt.ParetoNBDFitter().fit(cal["frequency"], cal["recency"], cal["T"])
    for name in ("r", "alpha", "s", "beta"):
        # lifetimes stops Nelder-Mead at tol=1e-4, so agreement is to ~1e-4 relative
        assert pareto.params_.loc[name, "estimate"] == pytest.approx(plain.params_[name], rel=5e-4)
    pa = plain.conditional_probability_alive(cal.frequency.to_numpy(), cal.recency.to_numpy(), cal["T"].to_numpy())
    plain.params_ = pd.Series(pareto.params_["estimate"].to_dict())
    pa = plain.conditional_probability_alive(cal.frequency.to_numpy(), cal.recency.to_numpy(), cal["T"].to_numpy())
    np.testing.assert_allclose(pareto.p_alive().to_numpy(), pa, rtol=1e-9)


# --- closed forms vs numerical integration --------------------------------------------------------

PARETO = (0.553, 10.58, 0.606, 11.67)


def _pareto_by_quadrature(params, x, tx, T):
    """Likelihood and P(alive) from the integral form (note 009, eq. 11), with scipy.integrate.quad."""
    from scipy.integrate import quad
    from scipy.special import gammaln

    r, alpha, s, beta = params
    c = np.exp(gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta))
    alive = (alpha + T) ** -(r + x) * (beta + T) ** -s
    dead = s * quad(lambda u: (alpha + u) ** -(r + x) * (beta + u) ** -(s + 1), tx, T, epsabs=0, epsrel=1e-12)[0]
    return np.log(c * (alive + dead)), alive / (alive + dead)


@pytest.mark.parametrize("params", [PARETO, (0.553, 11.67, 0.606, 10.58), (1.3, 3.0, 1.0, 5.0)])
@pytest.mark.parametrize("x,tx,T", [(0, 0.0, 38.9), (2, 30.4, 38.9), (7, 10.0, 35.0), (20, 38.0, 38.9), (3, 5.0, 5.0)])
def test_pareto_closed_forms_match_quadrature(params, x, tx, T):
    ll, pa = _pareto_by_quadrature(params, x, tx, T)
    assert PARETO_NBD.loglik(params, x, tx, T) == pytest.approx(ll, rel=1e-9)
    assert PARETO_NBD.p_alive(params, x, tx, T) == pytest.approx(pa, rel=1e-7)


def test_pareto_where_lifetimes_returns_nan():
    lt = lifetimes_fitters()
    fitter = lt.ParetoNBDFitter()
    # a heavy buyer who bought at the very end (full CDNOW in days: x = 170, t_x = T = 496)
    fitter.params_ = pd.Series(dict(zip(("r", "alpha", "s", "beta"), PARETO)))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.isnan(fitter.conditional_expected_number_of_purchases_up_to_time(39, np.array([170.0]),
                                                                                   np.array([496.0]), np.array([496.0])))[0]
    assert PARETO_NBD.p_alive(PARETO, 170, 496.0, 496.0) == 1.0
    assert np.isfinite(PARETO_NBD.conditional_expected(PARETO, 39.0, 170, 496.0, 496.0))
    # s == 1: lifetimes divides 0 by 0; the limit is continuous
    s1 = (0.553, 10.58, 1.0, 11.67)
    fitter.params_ = pd.Series(dict(zip(("r", "alpha", "s", "beta"), s1)))
    with np.errstate(all="ignore"):
        assert np.isnan(fitter.conditional_expected_number_of_purchases_up_to_time(39, 2, 30.0, 38.0))
    near = [PARETO_NBD.conditional_expected((0.553, 10.58, 1.0 + e, 11.67), 39.0, 2, 30.0, 38.0) for e in (-1e-6, 1e-6)]
    assert PARETO_NBD.conditional_expected(s1, 39.0, 2, 30.0, 38.0) == pytest.approx(np.mean(near), rel=1e-5)
    assert PARETO_NBD.expected(s1, 39.0) == pytest.approx(np.mean([PARETO_NBD.expected((0.553, 10.58, 1 + e, 11.67), 39.0)
                                                                 for e in (-1e-6, 1e-6)]), rel=1e-5)


def test_pareto_conditional_expectation_by_integration():
    # E[X(T, T+t) | x, tx, T] = P(alive) * E[lambda * min(tau, t)] under the posterior; for a brand-new
    # customer (x = tx = T = 0) it equals the unconditional expectation, which we integrate directly.
    from scipy.integrate import quad

    r, alpha, s, beta = PARETO
    t = 39.0
    # E[min(tau, t)] for tau ~ Pareto II(s, beta) = int_0^t (beta / (beta + u)) ** s du
    mean_exposure = quad(lambda u: (beta / (beta + u)) ** s, 0, t)[0]
    assert PARETO_NBD.expected(PARETO, t) == pytest.approx(r / alpha * mean_exposure, rel=1e-10)
    assert PARETO_NBD.conditional_expected(PARETO, t, 0, 0.0, 0.0) == pytest.approx(r / alpha * mean_exposure, rel=1e-10)
