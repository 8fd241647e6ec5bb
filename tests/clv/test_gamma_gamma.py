"""Gamma-Gamma spend model (cohortkit/clv/_gamma_gamma.py): published estimates, analytic gradient,
lifetimes' objective; repeat customers with zero spend (free orders, refunds; full CDNOW has one).

References: Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves for customer base
analysis", JMR 42(4), and Fader & Hardie (2013) note 025.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import cohortkit as ck
from cohortkit import CohortkitWarning, DataError
from cohortkit.clv._base import lifetimes_fitters
from cohortkit.clv._gamma_gamma import GammaGamma
from cohortkit.clv._rows import compress


@pytest.fixture(scope="module")
def spend_rows(cal):
    rep = cal[cal["frequency"] > 0]
    r, w, _ = compress(rep["frequency"], rep["monetary_value"])
    return r[:, 0], r[:, 1], w


def test_gamma_gamma_published_parameters(bgnbd):
    # FHL (2005) "RFM and CLV" / note 025, 946 repeat buyers: p = 6.25, q = 3.74, gamma = 15.44
    est = bgnbd.params_["estimate"]
    # to the published rounding (two decimals)
    assert (round(est["p"], 2), round(est["q"], 2), round(est["v"], 2)) == (6.25, 3.74, 15.44)
    assert bgnbd.fit_info_.loc["gamma_gamma", "n_customers"] == 946


@pytest.mark.parametrize("penalizer", [0.0, 0.01])
def test_gamma_gamma_gradient_matches_finite_differences(penalizer, spend_rows, central_gradient):
    objective = GammaGamma().gradient_objective(spend_rows[:2], spend_rows[2], penalizer)
    for point in (np.full(3, 0.1), np.log([6.25, 3.74, 15.44]), np.array([2.0, -0.5, 0.3])):
        _, grad = objective(point)
        np.testing.assert_allclose(grad, central_gradient(objective, point), rtol=1e-6, atol=1e-8)


def test_gamma_gamma_objective_equals_lifetimes_autograd(spend_rows):
    from autograd import value_and_grad

    nll = lifetimes_fitters().GammaGammaFitter._negative_log_likelihood
    objective = GammaGamma().gradient_objective(spend_rows[:2], spend_rows[2], 0.003)
    for point in (np.full(3, 0.1), np.log([6.25, 3.74, 15.44])):
        value, grad = objective(point)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref_value, ref_grad = value_and_grad(nll)(point, *spend_rows, 0.0)
        # lifetimes' likelihood plus cohortkit's penalty on the log-parameters, 0.003 * sum(log_params**2)
        ref_value, ref_grad = ref_value + 0.003 * np.sum(point**2), ref_grad + 0.006 * point
        assert value == pytest.approx(ref_value, rel=1e-13)
        np.testing.assert_allclose(grad, ref_grad, rtol=1e-11)


# --- monetary_value <= 0 --------------------------------------------------------------------------


def test_full_cdnow_fits_with_a_warning_naming_the_count(cdnow):
    rfm = ck.rfm_summary(cdnow, amount_col="amount", time_unit="W")
    bad = ((rfm["frequency"] > 0) & (rfm["monetary_value"] <= 0)).sum()
    assert bad == 1
    with pytest.warns(CohortkitWarning, match=r"^1 repeat customers have monetary_value <= 0"):
        model = ck.CLVModel("bgnbd", spend_model="gamma_gamma").fit(rfm)
    spend = model.expected_spend()
    assert np.isfinite(spend).all() and (spend > 0).all()
    # the excluded customer's observed mean (0) is shrunk toward the population mean (a one-time
    # buyer's prediction): positive, and below it
    excluded = rfm.loc[(rfm["frequency"] > 0) & (rfm["monetary_value"] <= 0), "customer_id"].item()
    one_time = rfm.loc[rfm["frequency"] == 0, "customer_id"].iloc[0]
    assert 0 < spend[excluded] < spend[one_time]


def test_all_repeat_spend_nonpositive_is_refused(cdnow_sample):
    rfm = ck.rfm_summary(cdnow_sample, amount_col="amount", time_unit="W")
    rfm["monetary_value"] = 0.0
    with pytest.warns(CohortkitWarning), pytest.raises(DataError, match=(
        r"^summary column 'monetary_value' is <= 0 for every repeat customer, so the Gamma-Gamma spend "
        r"model cannot be estimated; check amount_col, or fit with spend_model=None\.$"
    )):
        ck.CLVModel("bgnbd", spend_model="gamma_gamma").fit(rfm)
