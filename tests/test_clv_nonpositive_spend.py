"""Repeat customers with zero spend (free orders, refunds) do not stop a CLV fit (full CDNOW has one)."""

from __future__ import annotations

import numpy as np
import pytest

import cohortkit as ck
from cohortkit import CohortkitWarning, DataError


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
