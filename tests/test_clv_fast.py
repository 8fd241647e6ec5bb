"""cohortkit.clv fast engine: analytic-gradient objectives, hashed compression, faster closed forms.

The references are independent of the code under test: central finite differences of the objective
(the gradient), lifetimes' own ``_negative_log_likelihood`` differentiated by autograd (value and
gradient), a plain customer-by-customer lifetimes fit (the parameters, to 1e-4), lifetimes'
``conditional_expected_number_of_purchases_up_to_time`` (bit for bit), ``np.unique(axis=0)`` (the
compression), and the published CDNOW estimates of Fader, Hardie & Lee (2005), "Counting your
customers the easy way", Marketing Science 24(2), section 5 (BG/NBD), and Fader, Hardie & Lee
(2005), "RFM and CLV", JMR 42(4) / Fader & Hardie (2013) note 025 (Gamma-Gamma).
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cohortkit import DataError
from cohortkit.clv import CLVModel, calibration_holdout
from cohortkit.clv import _fit as F
from cohortkit.clv._base import lifetimes_fitters
from cohortkit.clv._gamma_gamma import GammaGamma
from cohortkit.clv._registry import PURCHASE_MODELS
from cohortkit.clv._rows import compress

CAL_END, HOLD_END = "1997-09-30", "1998-06-30"


@pytest.fixture(scope="module")
def cal(cdnow_sample):
    return calibration_holdout(cdnow_sample, calibration_end=CAL_END, observation_end=HOLD_END,
                               amount_col="amount", time_unit="W")


@pytest.fixture(scope="module")
def rows(cal):
    """Compressed CDNOW rows with time scaled so that max T = 1, as the optimiser sees them."""
    r, w, _ = compress(cal["frequency"], cal["recency"], cal["T"])
    scale = 1.0 / r[:, 2].max()
    return r[:, 0], r[:, 1] * scale, r[:, 2] * scale, w


@pytest.fixture(scope="module")
def spend_rows(cal):
    rep = cal[cal["frequency"] > 0]
    r, w, _ = compress(rep["frequency"], rep["monetary_value"])
    return r[:, 0], r[:, 1], w


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


def _central_gradient(f, x, h=1e-6):
    g = np.empty(len(x))
    for i in range(len(x)):
        e = np.zeros(len(x))
        e[i] = h
        g[i] = (f(x + e)[0] - f(x - e)[0]) / (2 * h)
    return g


POINTS = [np.full(4, 0.1), np.array([-1.4, -2.2, -0.23, 0.89]), np.array([0.7, 1.3, -1.5, -2.0])]


# --- the objective: gradient and value ------------------------------------------------------------


@pytest.mark.parametrize("model", ["bgnbd", "mbgnbd"])
@pytest.mark.parametrize("penalizer", [0.0, 0.01])
def test_purchase_gradient_matches_finite_differences(model, penalizer, rows):
    objective = PURCHASE_MODELS[model]().gradient_objective(rows[:3], rows[3], penalizer)
    for point in POINTS:
        value, grad = objective(point)
        assert np.isfinite(value)
        np.testing.assert_allclose(grad, _central_gradient(objective, point), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("penalizer", [0.0, 0.01])
def test_gamma_gamma_gradient_matches_finite_differences(penalizer, spend_rows):
    objective = GammaGamma().gradient_objective(spend_rows[:2], spend_rows[2], penalizer)
    for point in (np.full(3, 0.1), np.log([6.25, 3.74, 15.44]), np.array([2.0, -0.5, 0.3])):
        _, grad = objective(point)
        np.testing.assert_allclose(grad, _central_gradient(objective, point), rtol=1e-6, atol=1e-8)


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
            ref_value, ref_grad = value_and_grad(nll)(point, x.astype(int), tx, T, w, 0.003)
        assert value == pytest.approx(ref_value, rel=1e-13)
        np.testing.assert_allclose(grad, ref_grad, rtol=1e-11)


def test_gamma_gamma_objective_equals_lifetimes_autograd(spend_rows):
    from autograd import value_and_grad

    nll = _lifetimes().GammaGammaFitter._negative_log_likelihood
    objective = GammaGamma().gradient_objective(spend_rows[:2], spend_rows[2], 0.003)
    for point in (np.full(3, 0.1), np.log([6.25, 3.74, 15.44])):
        value, grad = objective(point)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref_value, ref_grad = value_and_grad(nll)(point, *spend_rows, 0.003)
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


# --- fits: numpy engine vs lifetimes ----------------------------------------------------------------


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


def test_engine_is_validated_and_saved(cal, tmp_path):
    msg = "engine='autograd' is not a fitting engine; pass 'numpy' (default) or 'lifetimes'."
    with pytest.raises(DataError, match="^" + re.escape(msg) + "$"):
        CLVModel("bgnbd", engine="autograd").fit(cal)
    model = CLVModel("bgnbd", spend_model=None, engine="lifetimes").fit(cal)
    assert repr(model) == "CLVModel(purchase_model='bgnbd', spend_model=None, penalizer=0.0, engine='lifetimes')"
    assert repr(CLVModel()) == "CLVModel(purchase_model='bgnbd', spend_model='gamma_gamma', penalizer=0.0)"
    model.save(tmp_path / "m.json")
    assert CLVModel.load(tmp_path / "m.json").engine == "lifetimes"


def test_fast_fit_does_not_import_lifetimes(tmp_path):
    import subprocess
    import sys

    code = ("import sys, pandas as pd, cohortkit as ck; "
            "d = pd.DataFrame({'frequency': [0, 1, 2, 0], 'recency': [0.0, 3.0, 5.0, 0.0], "
            "'T': [6.0, 6.0, 7.0, 8.0]}); "
            "ck.CLVModel('bgnbd', spend_model=None).fit(d, time_unit='W'); print('lifetimes' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"


# --- bootstrap refits -----------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["bgnbd", "mbgnbd"])
def test_refit_with_the_original_weights_returns_the_estimates(model, cal):
    fitted = CLVModel(model).fit(cal)
    for engine in ("numpy", "lifetimes"):
        pp = F.refit(fitted._purchase, fitted._rows, fitted._counts, fitted._p_fit, engine=engine)
        np.testing.assert_allclose(pp, fitted._pp(), rtol=1e-5)
        sp = F.refit(fitted._spend, fitted._srows, fitted._scounts, fitted._s_fit, engine=engine)
        np.testing.assert_allclose(sp, fitted._sp(), rtol=1e-5)


def test_bootstrap_resamples_customers_jointly(cal, monkeypatch):
    # the multinomial over distinct (purchase row, spend row) pairs is a customer resample: each
    # draw has n customers, the spend weights count exactly the drawn repeat buyers, and the mean
    # weights are the observed counts
    model = CLVModel("bgnbd").fit(cal)
    seen = {"bgnbd": [], "gamma_gamma": []}

    def fake_refit(kind, rows, w, start, penalizer=0.0, engine="numpy"):
        seen[kind.name].append(np.asarray(w, float))
        return start.params

    monkeypatch.setattr(F, "refit", fake_refit)
    model._bootstrap(300, 5)
    w, sw = np.array(seen["bgnbd"]), np.array(seen["gamma_gamma"])
    assert (w.sum(axis=1) == len(cal)).all()
    repeat_rows = model._rows[:, 0] > 0
    np.testing.assert_array_equal(sw.sum(axis=1), w[:, repeat_rows].sum(axis=1))
    se = np.sqrt(model._counts / len(w))  # Poisson-ish standard error of the mean weight
    assert np.all(np.abs(w.mean(axis=0) - model._counts) < 5 * se + 1e-9)


# --- closed forms and compression --------------------------------------------------------------------


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
        np.testing.assert_array_equal(ours, ref)


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
