"""BG/NBD (cohortkit/clv/_bgnbd.py) and MBG/NBD (_mbgnbd.py, its subclass): published estimates,
lifetimes' fits and closed forms, the analytic objective and gradient, both fitting engines.

The references are independent of the code under test: central finite differences of the objective
(the gradient), lifetimes' own ``_negative_log_likelihood`` differentiated by autograd (value and
gradient), a plain customer-by-customer lifetimes fit (the parameters, to 1e-4), lifetimes'
``conditional_expected_number_of_purchases_up_to_time`` (bit for bit), and the published CDNOW
estimates of Fader, Hardie & Lee (2005), "Counting your customers the easy way", Marketing Science
24(2), section 5.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from cohortkit.clv import CLVModel
from cohortkit.clv import _fit as F
from cohortkit.clv._base import lifetimes_fitters
from cohortkit.clv._registry import PURCHASE_MODELS
from cohortkit.clv._rows import compress


@pytest.fixture(scope="module")
def rows(cal):
    """Compressed CDNOW rows with time scaled so that max T = 1, as the optimiser sees them."""
    r, w, _ = compress(cal["frequency"], cal["recency"], cal["T"])
    scale = 1.0 / r[:, 2].max()
    return r[:, 0], r[:, 1] * scale, r[:, 2] * scale, w


def _lifetimes():
    return lifetimes_fitters()


def _simulate_bgnbd(n, params, seed):
    """BG/NBD customers, 39-week calibration, first purchases over 12 weeks, times in whole days."""
    rng = np.random.default_rng(seed)
    r, alpha, a, b = params
    T_days = 273 - rng.integers(0, 84, n)
    T = T_days / 7.0
    lam, p = rng.gamma(r, 1 / alpha, n), rng.beta(a, b, n)
    t, x, last = np.zeros(n), np.zeros(n, int), np.zeros(n)
    active = np.ones(n, bool)
    while active.any():
        idx = np.flatnonzero(active)
        t[idx] += rng.exponential(1 / lam[idx])
        hit = idx[t[idx] <= T[idx]]
        x[hit] += 1
        last[hit] = t[hit]
        active[idx[t[idx] > T[idx]]] = False
        active[hit[rng.random(hit.size) < p[hit]]] = False
    recency = np.where(x > 0, np.minimum(np.floor(last * 7.0), T_days), 0) / 7.0
    spend = np.where(x > 0, np.round(rng.gamma(6.0, 15.0 / rng.gamma(3.7, 1.0, n) / 6.0 * 6.0, n), 2) + 0.01, 0.0)
    return pd.DataFrame({"customer_id": np.arange(n).astype(str), "frequency": x, "recency": recency, "T": T,
                         "monetary_value": spend})


POINTS = [np.full(4, 0.1), np.array([-1.4, -2.2, -0.23, 0.89]), np.array([0.7, 1.3, -1.5, -2.0])]


# --- published figures ----------------------------------------------------------------------------


def test_bgnbd_published_parameters(bgnbd):
    # FHL (2005), section 5: r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4
    est = bgnbd.params_["estimate"]
    for name, value in {"r": 0.2426, "alpha": 4.4137, "a": 0.7930, "b": 2.4262}.items():
        assert est[name] == pytest.approx(value, rel=2e-4), name
    assert bgnbd.fit_info_.loc["bgnbd", "log_likelihood"] == pytest.approx(-9582.43, abs=0.01)
    assert bool(bgnbd.fit_info_.loc["bgnbd", "converged"])


def test_bgnbd_holdout_conditional_expectation(bgnbd, cal):
    # FHL (2005), figure 4 / BTYD vignette: 1,653.4 expected vs 1,882 actual in weeks 40-78
    assert bgnbd.predict_purchases(39).sum() == pytest.approx(1653.4, abs=0.05)


@pytest.mark.parametrize("engine", ["numpy", "lifetimes"])
def test_both_engines_reproduce_the_published_cdnow_estimates(engine, cal):
    # FHL (2005) section 5: r = 0.2426, alpha = 4.4137, a = 0.7930, b = 2.4262, LL = -9582.43;
    # Gamma-Gamma on the 946 repeat buyers: p = 6.25, q = 3.74, gamma = 15.44
    model = CLVModel("bgnbd", engine=engine).fit(cal)
    est = model.params_["estimate"]
    for name, value in {"r": 0.2426, "alpha": 4.4137, "a": 0.7930, "b": 2.4262}.items():
        assert est[name] == pytest.approx(value, rel=2e-4), name
    assert model.fit_info_.loc["bgnbd", "log_likelihood"] == pytest.approx(-9582.43, abs=0.01)
    assert (round(est["p"], 2), round(est["q"], 2), round(est["v"], 2)) == (6.25, 3.74, 15.44)


# --- agreement with lifetimes ---------------------------------------------------------------------


def test_compressed_fit_equals_plain_lifetimes_fit(bgnbd, cal):
    lt = _lifetimes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = lt.BetaGeoFitter().fit(cal["frequency"], cal["recency"], cal["T"])
        gg = lt.GammaGammaFitter().fit(cal.loc[cal.frequency > 0, "frequency"],
                                       cal.loc[cal.frequency > 0, "monetary_value"])
    ours = bgnbd.params_["estimate"]
    for name in ("r", "alpha", "a", "b"):
        assert ours[name] == pytest.approx(plain.params_[name], rel=1e-4)
        # standard errors: lifetimes' delta-method ones (diagonal) from its autograd Hessian
        assert bgnbd.params_.loc[name, "std_error"] == pytest.approx(plain.standard_errors_[name], rel=1e-3)
    for name in ("p", "q", "v"):
        assert ours[name] == pytest.approx(gg.params_[name], rel=1e-4)
    assert bgnbd.fit_info_.loc["bgnbd", "n_rows"] < 0.5 * len(cal)
    expected = plain.conditional_expected_number_of_purchases_up_to_time(39, cal.frequency, cal.recency, cal["T"])
    np.testing.assert_allclose(bgnbd.predict_purchases(39).to_numpy(), np.asarray(expected), rtol=1e-4)


def test_pmf_matches_lifetimes_closed_forms():
    lt = _lifetimes()
    for model, cls in (("bgnbd", lt.BetaGeoFitter), ("mbgnbd", lt.ModifiedBetaGeoFitter)):
        params = (0.24, 4.4, 0.79, 2.4)
        fitter = cls()
        fitter.params_ = pd.Series(dict(zip(("r", "alpha", "a", "b"), params)))
        for n in range(6):
            ours = PURCHASE_MODELS[model]().pmf(params, n, np.array([10.0, 39.0]))
            ref = [fitter.probability_of_n_purchases_up_to_time(t, n) for t in (10.0, 39.0)]
            np.testing.assert_allclose(ours, ref, rtol=1e-10)


@pytest.mark.parametrize("model", ["bgnbd", "mbgnbd"])
def test_conditional_expectation_equals_lifetimes_bit_for_bit(model, cal):
    lt = _lifetimes()
    fitter = {"bgnbd": lt.BetaGeoFitter, "mbgnbd": lt.ModifiedBetaGeoFitter}[model]()
    x, tx, T = (cal[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    cases = [
        ((0.2426, 4.4137, 0.7930, 2.4262), (39.0, x, tx, T)),
        ((0.2426, 4.4137, 0.7930, 2.4262), (np.arange(1.0, 53.0)[:, None], x, tx, T)),
        ((0.2426, 4.4137, 0.7930, 2.4262), (T[:7], x[:7], tx[:7], T[:7])),
        ((0.2426, 4.4137, 0.7930, 2.4262), (3.0, 2.0, 1.0, 5.0)),
        # heavy buyers over a long horizon: the direct 2F1 series overflows, Euler's form is used
        ((5.0, 0.5, 3.0, 0.2), (1000.0, np.array([0.0, 1.0, 50.0, 200.0]), np.array([0.0, 5.0, 30.0, 38.0]), 38.86)),
        ((0.2426, 4.4137, 0.7930, 2.4262), (1000.0, np.array([0.0, 1.0, 50.0, 200.0]), np.array([0.0, 5.0, 30.0, 38.0]),
                                            38.86)),
    ]
    for params, (t, *hist) in cases:
        fitter.params_ = pd.Series(dict(zip(("r", "alpha", "a", "b"), params)))
        with np.errstate(all="ignore"):
            ref = fitter.conditional_expected_number_of_purchases_up_to_time(t, *hist)
        ours = PURCHASE_MODELS[model]().conditional_expected(params, t, *hist)
        assert np.shape(ours) == np.shape(ref)
        # bit for bit wherever lifetimes gives a number; where it gives NaN (x = 200 over 1,000 weeks
        # with the first parameters: its 2F1 is NaN) ours is finite and equals mpmath (tests/clv/test_stability.py)
        lifetimes_nan = np.isnan(ref)
        np.testing.assert_array_equal(np.where(lifetimes_nan, np.nan, ours), ref)
        assert np.isfinite(ours).all()
        if lifetimes_nan.any():
            from .mpmath_reference import bgnbd_conditional_expected

            want = [bgnbd_conditional_expected(params, t, *(np.broadcast_to(h, np.shape(ref))[i] for h in hist),
                                               modified=model == "mbgnbd")
                    for i in zip(*np.nonzero(lifetimes_nan))]
            np.testing.assert_allclose(ours[lifetimes_nan], want, rtol=1e-10)


@pytest.mark.parametrize("model", ["bgnbd", "mbgnbd"])
def test_numpy_engine_equals_a_plain_lifetimes_fit(model):
    # a customer-by-customer lifetimes fit on simulated data with day-level ties
    data = _simulate_bgnbd(20_000, (0.25, 4.4, 0.8, 2.4), seed=11)
    lt = _lifetimes()
    cls = {"bgnbd": lt.BetaGeoFitter, "mbgnbd": lt.ModifiedBetaGeoFitter}[model]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = cls().fit(data["frequency"], data["recency"], data["T"])
        repeat = data[data["frequency"] > 0]
        gg = lt.GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    ours = CLVModel(model).fit(data, time_unit="W")
    assert ours.fit_info_.loc[model, "n_rows"] < len(data) / 2
    for name in ("r", "alpha", "a", "b"):
        assert ours.params_.loc[name, "estimate"] == pytest.approx(plain.params_[name], rel=1e-4), name
    for name in ("p", "q", "v"):
        assert ours.params_.loc[name, "estimate"] == pytest.approx(gg.params_[name], rel=1e-4), name


# --- the objective: gradient and value ------------------------------------------------------------


@pytest.mark.parametrize("model", ["bgnbd", "mbgnbd"])
@pytest.mark.parametrize("penalizer", [0.0, 0.01])
def test_purchase_gradient_matches_finite_differences(model, penalizer, rows, central_gradient):
    objective = PURCHASE_MODELS[model]().gradient_objective(rows[:3], rows[3], penalizer)
    for point in POINTS:
        value, grad = objective(point)
        assert np.isfinite(value)
        np.testing.assert_allclose(grad, central_gradient(objective, point), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("model", ["bgnbd", "mbgnbd"])
def test_purchase_objective_equals_lifetimes_autograd(model, rows):
    from autograd import value_and_grad

    lt = _lifetimes()
    nll = {"bgnbd": lt.BetaGeoFitter, "mbgnbd": lt.ModifiedBetaGeoFitter}[model]._negative_log_likelihood
    x, tx, T, w = rows
    objective = PURCHASE_MODELS[model]().gradient_objective((x, tx, T), w, 0.003)
    for point in POINTS:
        value, grad = objective(point)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref_value, ref_grad = value_and_grad(nll)(point, x.astype(int), tx, T, w, 0.0)
        # lifetimes' likelihood plus cohortkit's penalty on the log-parameters, 0.003 * sum(log_params**2)
        ref_value, ref_grad = ref_value + 0.003 * np.sum(point**2), ref_grad + 0.006 * point
        assert value == pytest.approx(ref_value, rel=1e-13)
        np.testing.assert_allclose(grad, ref_grad, rtol=1e-11)


@pytest.mark.parametrize("model", ["bgnbd", "mbgnbd"])
def test_row_loglik_is_loglik_bit_for_bit(model, rows):
    x, tx, T, _ = rows
    fast = PURCHASE_MODELS[model]().row_loglik(x, tx, T)
    for point in POINTS:
        np.testing.assert_array_equal(fast(np.exp(point)), PURCHASE_MODELS[model]().loglik(np.exp(point), x, tx, T))


@pytest.mark.parametrize("model", ["bgnbd", "mbgnbd"])
def test_objective_loglik_equals_per_customer_sum(model, cal):
    # the aggregated (by frequency, by T) evaluation equals the plain per-row log-likelihood
    params = (0.2426, 4.4137, 0.7930, 2.4262)
    x, tx, T = (cal[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    objective = PURCHASE_MODELS[model]().gradient_objective((x, tx, T), np.ones(len(x)), 0.0)
    assert objective.loglik(params) == pytest.approx(PURCHASE_MODELS[model]().loglik(params, x, tx, T).sum(), rel=1e-12)


# --- fits: numpy engine vs lifetimes --------------------------------------------------------------


@pytest.mark.parametrize("model", ["bgnbd", "mbgnbd"])
def test_engines_give_the_same_parameters(model, cal):
    fast = CLVModel(model).fit(cal)
    ref = CLVModel(model, engine="lifetimes").fit(cal)
    np.testing.assert_allclose(fast.params_["estimate"], ref.params_["estimate"], rtol=1e-6)
    # the standard errors come from a central-difference Hessian (h = 1e-4) of the same
    # log-likelihood; that Hessian moves by ~4e-5 (relative) when the estimates move by 1e-13
    np.testing.assert_allclose(fast.params_["std_error"], ref.params_["std_error"], rtol=5e-4)
    np.testing.assert_allclose(fast.fit_info_["log_likelihood"], ref.fit_info_["log_likelihood"], rtol=1e-12)
    assert fast.fit_info_["converged"].all() and ref.fit_info_["converged"].all()


def test_engines_agree_with_a_penalizer(cal):
    fast = CLVModel("bgnbd", penalizer=0.001).fit(cal)
    ref = CLVModel("bgnbd", penalizer=0.001, engine="lifetimes").fit(cal)
    np.testing.assert_allclose(fast.params_["estimate"], ref.params_["estimate"], rtol=1e-6)


@pytest.mark.parametrize("model", ["bgnbd", "mbgnbd"])
def test_refit_with_the_original_weights_returns_the_estimates(model, cal):
    fitted = CLVModel(model).fit(cal)
    for engine in ("numpy", "lifetimes"):
        pp = F.refit(fitted._purchase, fitted._rows, fitted._counts, fitted._p_fit, engine=engine)
        np.testing.assert_allclose(pp, fitted._pp(), rtol=1e-5)
        sp = F.refit(fitted._spend, fitted._srows, fitted._scounts, fitted._s_fit, engine=engine)
        np.testing.assert_allclose(sp, fitted._sp(), rtol=1e-5)
