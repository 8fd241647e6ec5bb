"""cohortkit.clv: RFM summaries, BG/NBD-family models, Gamma-Gamma, CLV and intervals.

Published figures are from the CDNOW 1/10 sample (2,357 customers, weeks 1-39 calibration, 40-78
holdout): Fader, Hardie & Lee (2005), "Counting your customers the easy way: an alternative to the
Pareto/NBD model", Marketing Science 24(2) (BG/NBD); the BTYD R package vignette (Dziurzynski,
Wadsworth & McCarthy, "BTYD: Implementing Buy 'Til You Die Models") and Fader & Hardie's note 009
(Pareto/NBD); Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves for customer base
analysis", JMR 42(4), and Fader & Hardie (2013) note 025 (Gamma-Gamma).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cohortkit import ConvergenceWarning, DataError
from cohortkit.clv import (
    CLVModel,
    calibration_holdout,
    clv_interval,
    per_period_rate,
    rfm_summary,
)
from cohortkit.clv._base import lifetimes_fitters
from cohortkit.clv._paretonbd import ParetoNBD
from cohortkit.clv._registry import PURCHASE_MODELS

PARETO_NBD = ParetoNBD()


def purchase_model(name):
    return PURCHASE_MODELS[name]()

CAL_END, HOLD_END = "1997-09-30", "1998-06-30"


def exact(message: str) -> str:
    return "^" + re.escape(message) + "$"


def _lifetimes_summary(tx, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lifetimes.utils import summary_data_from_transaction_data

        return summary_data_from_transaction_data(tx, "customer_id", "date", **kwargs)


@pytest.fixture(scope="module")
def cal(cdnow_sample):
    return calibration_holdout(cdnow_sample, calibration_end=CAL_END, observation_end=HOLD_END,
                               amount_col="amount", time_unit="W")


@pytest.fixture(scope="module")
def bgnbd(cal):
    return CLVModel("bgnbd").fit(cal)


@pytest.fixture(scope="module")
def pareto(cal):
    return CLVModel("paretonbd", spend_model=None).fit(cal)


# --- RFM summaries -------------------------------------------------------------------------------


def _compare(ours, ref, cols):
    ref = ref.reset_index()
    assert ours["customer_id"].tolist() == ref["customer_id"].tolist()
    for col in cols:
        if col == "monetary_value":
            np.testing.assert_allclose(ours[col], ref[col], rtol=1e-12, atol=1e-12)
        else:
            assert (ours[col].to_numpy(float) == ref[col].to_numpy(float)).all(), col


def test_rfm_summary_equals_lifetimes_in_days(cdnow_sample):
    ours = rfm_summary(cdnow_sample, amount_col="amount", observation_end=CAL_END, time_unit="D")
    ref = _lifetimes_summary(cdnow_sample, monetary_value_col="amount", observation_period_end=CAL_END, freq="D")
    _compare(ours, ref, ["frequency", "recency", "T", "monetary_value"])
    assert ours.attrs["time_unit"] == "D" and ours["frequency"].dtype == "int64"


def test_rfm_summary_in_weeks_is_days_over_7_like_the_papers(cdnow_sample):
    # merge same-day purchases, measure in weeks = days / 7: lifetimes' freq="D", freq_multiplier=7
    ours = rfm_summary(cdnow_sample, amount_col="amount", observation_end=CAL_END, time_unit="W")
    ref = _lifetimes_summary(cdnow_sample, monetary_value_col="amount", observation_period_end=CAL_END,
                             freq="D", freq_multiplier=7)
    _compare(ours, ref, ["frequency", "recency", "T", "monetary_value"])
    assert round(ours["T"].min(), 2) == 27.00 and round(ours["T"].max(), 2) == 38.86


def test_rfm_summary_full_cdnow_equals_lifetimes(cdnow):
    ours = rfm_summary(cdnow, amount_col="amount")
    ref = _lifetimes_summary(cdnow, monetary_value_col="amount", freq="D")
    _compare(ours, ref, ["frequency", "recency", "T", "monetary_value"])
    assert len(ours) == 23570


def test_weekly_merge_equals_lifetimes_freq_w(cdnow_sample):
    # 1998-06-28 is a Sunday, the end of an ISO week, so both sides see the same purchases
    ours = rfm_summary(cdnow_sample, observation_end="1998-06-28", time_unit="W", merge="W")
    ref = _lifetimes_summary(cdnow_sample, observation_period_end="1998-06-28", freq="W")
    _compare(ours, ref, ["frequency", "recency", "T"])


def _brute_force(tx, end, unit_days):
    tx = tx.assign(day=pd.to_datetime(tx["date"]).dt.normalize())
    tx = tx[tx["day"] <= pd.Timestamp(end)]
    rows = []
    for cust, g in tx.groupby("customer_id"):
        per_day = g.groupby("day")["amount"].sum().sort_index()
        days = list(per_day.index)
        rows.append({
            "customer_id": cust,
            "frequency": len(days) - 1,
            "recency": (days[-1] - days[0]).days / unit_days,
            "T": (pd.Timestamp(end) - days[0]).days / unit_days,
            "monetary_value": float(per_day.iloc[1:].mean()) if len(days) > 1 else 0.0,
        })
    return pd.DataFrame(rows).sort_values("customer_id").reset_index(drop=True)


@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 20 * 24 - 1), st.integers(1, 50)),
        min_size=1,
        max_size=25,
    ),
    st.sampled_from(["D", "W"]),
)
def test_rfm_summary_matches_brute_force(events, unit):
    # hourly timestamps: same-day merges, midnight crossings, purchases after observation_end
    start = pd.Timestamp("2024-03-01")
    tx = pd.DataFrame({
        "customer_id": [e[0] for e in events],
        "date": [start + pd.Timedelta(hours=e[1]) for e in events],
        "amount": [float(e[2]) for e in events],
    })
    end = "2024-03-15"
    expected = _brute_force(tx, end, {"D": 1, "W": 7}[unit])
    if expected.empty:
        return
    got = rfm_summary(tx, amount_col="amount", observation_end=end, time_unit=unit)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, check_exact=False, rtol=1e-12)


def test_rfm_summary_bad_unit():
    tx = pd.DataFrame({"customer_id": ["a"], "date": ["2024-01-01"]})
    msg = ("time_unit='M' is not a supported unit; pass 'D' (days) or 'W' (weeks of 7 days). "
           "Months are refused because their length varies.")
    with pytest.raises(DataError, match=exact(msg)):
        rfm_summary(tx, time_unit="M")


def test_calibration_holdout_reproduces_the_paper(cdnow_sample, cal):
    assert len(cal) == 2357
    assert int(cal["frequency_holdout"].sum()) == 1882  # FHL (2005): 1,882 repeat transactions, weeks 40-78
    assert int(cal["frequency"].sum()) == 2457
    assert (cal["frequency"] > 0).sum() == 946
    assert round(cal["T"].min(), 2) == 27.00 and round(cal["T"].max(), 2) == 38.86
    assert (cal["duration_holdout"] == 39.0).all()
    # the calibration columns are exactly rfm_summary at calibration_end
    alone = rfm_summary(cdnow_sample, amount_col="amount", observation_end=CAL_END, time_unit="W")
    pd.testing.assert_frame_equal(cal[alone.columns], alone)
    # holdout, brute force: distinct purchase days after calibration_end per customer
    days = cdnow_sample.assign(day=cdnow_sample["date"].dt.normalize())
    hold = days[(days["day"] > CAL_END) & (days["day"] <= HOLD_END)]
    per_day = hold.groupby(["customer_id", "day"])["amount"].sum()
    counts = per_day.groupby(level=0).size().reindex(cal["customer_id"], fill_value=0)
    assert (counts.to_numpy() == cal["frequency_holdout"].to_numpy()).all()
    means = per_day.groupby(level=0).mean().reindex(cal["customer_id"], fill_value=0.0)
    np.testing.assert_allclose(means.to_numpy(), cal["monetary_value_holdout"].to_numpy(), rtol=1e-12)


def test_weekly_merge_changes_the_figures(cdnow_sample):
    # shared/DOMAIN.md: merging by calendar week gives 1,788 holdout repeat transactions, not 1,882
    weekly = calibration_holdout(cdnow_sample, calibration_end=CAL_END, observation_end=HOLD_END,
                                 time_unit="W", merge="W")
    assert int(weekly["frequency_holdout"].sum()) == 1788


def test_lifetimes_calibration_and_holdout_fails_on_pandas3(cdnow_sample):
    # why cohortkit has its own: lifetimes 0.11.3's version breaks on pandas 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lifetimes.utils import calibration_and_holdout_data
    with pytest.raises(ValueError, match="No objects to concatenate"):
        calibration_and_holdout_data(cdnow_sample, "customer_id", "date", CAL_END, HOLD_END)


def test_calibration_holdout_refuses_empty_holdout(cdnow_sample):
    msg = ("observation_end (1997-09-30) must be after calibration_end (1997-09-30); the holdout "
           "period would be empty. Pass a later observation_end or an earlier calibration_end.")
    with pytest.raises(DataError, match=exact(msg)):
        calibration_holdout(cdnow_sample, calibration_end=CAL_END, observation_end=CAL_END)


# --- published figures -----------------------------------------------------------------------------


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


def test_paretonbd_published_parameters(pareto):
    # BTYD vignette (CDNOW sample): r = 0.553, alpha = 10.58, s = 0.606, beta = 11.67, LL = -9595.0
    est = pareto.params_["estimate"]
    # to the published rounding
    assert (round(est["r"], 3), round(est["alpha"], 2), round(est["s"], 3), round(est["beta"], 2)) == (
        0.553, 10.58, 0.606, 11.67)
    assert pareto.fit_info_.loc["paretonbd", "log_likelihood"] == pytest.approx(-9595.0, abs=0.05)


def test_gamma_gamma_published_parameters(bgnbd):
    # FHL (2005) "RFM and CLV" / note 025, 946 repeat buyers: p = 6.25, q = 3.74, gamma = 15.44
    est = bgnbd.params_["estimate"]
    # to the published rounding (two decimals)
    assert (round(est["p"], 2), round(est["q"], 2), round(est["v"], 2)) == (6.25, 3.74, 15.44)
    assert bgnbd.fit_info_.loc["gamma_gamma", "n_customers"] == 946


# --- agreement with lifetimes ---------------------------------------------------------------------


def test_compressed_fit_equals_plain_lifetimes_fit(bgnbd, cal):
    lt = lifetimes_fitters()
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


def test_pmf_matches_lifetimes_closed_forms():
    lt = lifetimes_fitters()
    for model, cls in (("bgnbd", lt.BetaGeoFitter), ("mbgnbd", lt.ModifiedBetaGeoFitter)):
        params = (0.24, 4.4, 0.79, 2.4)
        fitter = cls()
        fitter.params_ = pd.Series(dict(zip(("r", "alpha", "a", "b"), params)))
        for n in range(6):
            ours = purchase_model(model).pmf(params, n, np.array([10.0, 39.0]))
            ref = [fitter.probability_of_n_purchases_up_to_time(t, n) for t in (10.0, 39.0)]
            np.testing.assert_allclose(ours, ref, rtol=1e-10)


# --- Pareto/NBD closed forms vs numerical integration --------------------------------------------

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


@pytest.mark.parametrize("model", ["bgnbd", "mbgnbd", "paretonbd"])
def test_pmf_sums_to_one_and_to_the_mean(model):
    params = PARETO if model == "paretonbd" else (0.24, 4.4, 0.79, 2.4)
    t = np.array([5.0, 39.0])
    probs = np.array([purchase_model(model).pmf(params, n, t) for n in range(400)])
    np.testing.assert_allclose(probs.sum(axis=0), 1.0, atol=1e-6)
    np.testing.assert_allclose((np.arange(400)[:, None] * probs).sum(axis=0), purchase_model(model).expected(params, t), rtol=1e-4)


@given(
    st.sampled_from(["bgnbd", "mbgnbd", "paretonbd"]),
    st.tuples(*[st.floats(0.05, 20.0) for _ in range(4)]),
    st.integers(0, 60),
    st.floats(0.0, 1.0),
    st.floats(0.01, 100.0),
)
def test_p_alive_is_a_probability(model, params, x, frac, T):
    tx = 0.0 if x == 0 else frac * T
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pa = purchase_model(model).p_alive(params, np.array([float(x)]), np.array([tx]), np.array([T]))
    assert np.all((pa >= 0) & (pa <= 1))


# --- simulated data: recovery --------------------------------------------------------------------


def _simulate(model, params, n, rng):
    T = rng.uniform(30, 40, n)
    if model == "bgnbd":
        r, alpha, a, b = params
        lam, p = rng.gamma(r, 1 / alpha, n), rng.beta(a, b, n)
    else:
        r, alpha, s, beta = params
        lam, mu = rng.gamma(r, 1 / alpha, n), rng.gamma(s, 1 / beta, n)
        death = rng.exponential(1 / mu)
    x, tx = np.zeros(n), np.zeros(n)
    for i in range(n):
        t, k = 0.0, 0
        end = T[i] if model == "bgnbd" else min(T[i], death[i])
        while True:
            t += rng.exponential(1 / lam[i])
            if t > end:
                break
            k, last = k + 1, t
            if model == "bgnbd" and rng.random() < p[i]:
                break
        x[i], tx[i] = k, (last if k else 0.0)
    return pd.DataFrame({"customer_id": np.arange(n).astype(str), "frequency": x, "recency": tx, "T": T})


@pytest.mark.parametrize("model,truth", [("bgnbd", (0.5, 5.0, 0.8, 2.5)), ("paretonbd", (0.6, 8.0, 0.7, 10.0))])
def test_recovers_true_parameters_on_simulated_data(model, truth):
    rng = np.random.default_rng(7)
    data = _simulate(model, truth, 8000, rng)
    fit = CLVModel(model, spend_model=None).fit(data, time_unit="W")
    est, se = fit.params_["estimate"].to_numpy(), fit.params_["std_error"].to_numpy()
    z = np.abs(est - np.array(truth)) / se
    assert np.all(z < 3.5), (est, se)
    assert np.all(np.isfinite(se)) and np.all(se > 0)


# --- errors and warnings ------------------------------------------------------------------------


def test_refuses_a_summary_without_repeat_customers():
    data = pd.DataFrame({"customer_id": ["a", "b"], "frequency": [0, 0], "recency": [0.0, 0.0], "T": [5.0, 3.0]})
    msg = ("summary has no repeat customers: frequency is 0 for all 2 customers, so the purchase model "
           "cannot be estimated. Use a longer observation period, or check that customer_col identifies "
           "customers (not orders).")
    with pytest.raises(DataError, match=exact(msg)):
        CLVModel("bgnbd", spend_model=None).fit(data, time_unit="W")


def test_needs_an_explicit_time_unit():
    data = pd.DataFrame({"frequency": [1, 0], "recency": [2.0, 0.0], "T": [5.0, 3.0]})
    msg = ("time_unit is not known: summary.attrs has no 'time_unit' (the summary was not made by "
           "cohortkit.rfm_summary, or pandas dropped its attrs). Pass fit(summary, time_unit='D') or 'W', "
           "the unit of recency and T.")
    with pytest.raises(DataError, match=exact(msg)):
        CLVModel("bgnbd", spend_model=None).fit(data)


def test_missing_and_invalid_columns():
    data = pd.DataFrame({"frequency": [1, 0], "recency": [2.0, 0.0], "T": [5.0, 3.0]})
    msg = ("summary has no column 'monetary_value'; it has columns 'frequency', 'recency', 'T'. Pass the "
           "output of cohortkit.rfm_summary(...) (with amount_col= for a spend model), or rename your "
           "columns to frequency, recency, T[, monetary_value].")
    with pytest.raises(DataError, match=exact(msg)):
        CLVModel("bgnbd").fit(data, time_unit="W")
    bad = data.assign(recency=[6.0, 0.0])
    msg = ("summary column 'recency' must not exceed T, but 1 rows break this; compute the summary with "
           "cohortkit.rfm_summary(...).")
    with pytest.raises(DataError, match=exact(msg)):
        CLVModel("bgnbd", spend_model=None).fit(bad, time_unit="W")
    with pytest.raises(DataError, match=exact("purchase_model='bgbd' is not a purchase model; pass one of 'bgnbd', "
                                              "'mbgnbd', 'paretonbd'.")):
        CLVModel("bgbd").fit(data, time_unit="W")


def test_warns_when_a_parameter_runs_to_the_edge():
    # every repeat buyer buys steadily up to the end: no sign of dropout, so b (or a) runs away
    n = 400
    x = np.tile([1, 2, 3, 4, 5, 6, 7, 8], n // 8)
    data = pd.DataFrame({"frequency": x, "recency": 39.0 * np.ones(n), "T": 39.0 * np.ones(n)})
    with pytest.warns(ConvergenceWarning, match="bgnbd fit"):
        CLVModel("bgnbd", spend_model=None).fit(data, time_unit="W")


def test_lifetimes_does_not_leak_warning_filters(cal):
    before = list(warnings.filters)
    CLVModel("mbgnbd").fit(cal)
    assert list(warnings.filters) == before


def test_importing_clv_does_not_import_lifetimes():
    code = "import sys, cohortkit.clv; print('lifetimes' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- CLV ----------------------------------------------------------------------------------------


def test_clv_is_the_discounted_sum_computed_by_hand(bgnbd, cal):
    sub = cal.iloc[:50]
    spend = bgnbd.expected_spend(sub).to_numpy()
    rate = per_period_rate(0.10, "W")
    got = bgnbd.clv(8, time_unit="W", discount_rate=rate, margin=0.3, summary=sub).to_numpy()
    want = np.zeros(len(sub))
    for i, row in enumerate(sub.itertuples()):
        prev = 0.0
        for k in range(1, 9):
            cum = purchase_model("bgnbd").conditional_expected(bgnbd._pp(), float(k), row.frequency, row.recency, row.T)
            want[i] += (cum - prev) * spend[i] * 0.3 / (1 + rate) ** k
            prev = cum
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_clv_units_are_explicit(bgnbd, cal):
    sub = cal.iloc[:30]
    undiscounted = bgnbd.clv(52, time_unit="W", discount_rate=0.0, summary=sub)
    np.testing.assert_allclose(undiscounted, bgnbd.predict_purchases(52, summary=sub) * bgnbd.expected_spend(sub))
    # 364 days is 52 weeks: same value without discounting, whatever the step
    np.testing.assert_allclose(bgnbd.clv(364, time_unit="D", discount_rate=0.0, summary=sub), undiscounted, rtol=1e-10)
    np.testing.assert_allclose(bgnbd.predict_purchases(364, time_unit="D", summary=sub),
                               bgnbd.predict_purchases(52, summary=sub), rtol=1e-12)
    # equivalent daily and weekly rates give nearly the same value
    daily = bgnbd.clv(364, time_unit="D", discount_rate=per_period_rate(0.1, "D"), summary=sub)
    weekly = bgnbd.clv(52, time_unit="W", discount_rate=per_period_rate(0.1, "W"), summary=sub)
    np.testing.assert_allclose(daily, weekly, rtol=2e-3)
    with pytest.warns(UserWarning, match="if you meant an annual rate"):
        bgnbd.clv(52, time_unit="W", discount_rate=0.1, summary=sub)
    msg = ("horizon=12.5 must be a whole number (>= 1) of time_unit='W' periods, e.g. horizon=52, "
           "time_unit='W' for a year of weeks.")
    with pytest.raises(DataError, match=exact(msg)):
        bgnbd.clv(12.5, time_unit="W", discount_rate=0.0)


def test_summary_table(bgnbd, cal):
    table = bgnbd.summary(horizon=52, time_unit="W", discount_rate=0.0)
    assert list(table.columns) == ["customer_id", "frequency", "recency", "T", "monetary_value", "p_alive",
                                   "expected_purchases", "expected_spend", "clv"]
    assert table["customer_id"].tolist() == cal["customer_id"].tolist()
    assert table["p_alive"].between(0, 1).all()
    np.testing.assert_allclose(table["clv"], table["expected_purchases"] * table["expected_spend"])


# --- uncertainty and persistence ----------------------------------------------------------------


def test_clv_interval_is_seeded_and_brackets_the_mean(bgnbd, cal):
    groups = cal.assign(campaign=np.where(cal["customer_id"] < "10000", "A", "B"))
    out = clv_interval(bgnbd, groups, horizon=52, time_unit="W", discount_rate=0.0, by="campaign", n_boot=15, seed=3)
    assert out["campaign"].tolist() == ["A", "B"]
    assert out["n_customers"].sum() == 2357
    assert ((out["lower"] < out["mean_clv"]) & (out["mean_clv"] < out["upper"])).all()
    again = clv_interval(bgnbd, groups, horizon=52, time_unit="W", discount_rate=0.0, by="campaign", n_boot=15, seed=3)
    pd.testing.assert_frame_equal(out, again)
    ci = bgnbd.predict_purchases(39, ci=0.9, n_boot=15, seed=3)
    assert ((ci["lower"] <= ci["expected_purchases"] + 1e-9) & (ci["expected_purchases"] <= ci["upper"] + 1e-9)).mean() > 0.95


def test_save_and_load_json(bgnbd, cal, tmp_path):
    path = tmp_path / "model.json"
    bgnbd.save(path)
    doc = json.loads(path.read_text())
    assert doc["purchase"] == "bgnbd" and doc["time_unit"] == "W"
    loaded = CLVModel.load(path)
    pd.testing.assert_frame_equal(loaded.params_, bgnbd.params_)
    pd.testing.assert_series_equal(loaded.clv(52, time_unit="W", discount_rate=0.0, summary=cal),
                                   bgnbd.clv(52, time_unit="W", discount_rate=0.0))
    msg = ("this model was loaded without its training data; pass summary= (the output of "
           "cohortkit.rfm_summary) to predict for those customers.")
    with pytest.raises(DataError, match=exact(msg)):
        loaded.p_alive()
    out = clv_interval(loaded, cal, horizon=52, time_unit="W", discount_rate=0.0, n_boot=5, seed=1)
    assert out["lower"].iloc[0] < out["upper"].iloc[0]
