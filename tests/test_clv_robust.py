"""Numerical robustness of CLV fitting: restarts when BFGS fails, finite predictions for extreme customers."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import cohortkit as ck
from cohortkit import ConvergenceWarning
from cohortkit.clv import _fit

PUBLISHED = {"r": 0.2426, "alpha": 4.4137, "a": 0.7930, "b": 2.4262}  # FHL (2005), CDNOW 1/10 sample


@pytest.fixture(scope="module")
def cal(cdnow_sample):
    return ck.calibration_holdout(cdnow_sample, calibration_end="1997-09-30", observation_end="1998-06-30",
                                  amount_col="amount", time_unit="W")


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


EXTREME = pd.DataFrame({
    "customer_id": ["heavy", "heavy-long-ago", "gone", "new", "typical"],
    "frequency": [300, 150, 40, 0, 2],
    "recency": [38.0, 2.0, 1.0, 0.0, 20.0],
    "T": [38.5, 300.0, 1_000.0, 0.5, 38.0],
    "monetary_value": [25.0, 40.0, 10.0, 0.0, 30.0],
})


@pytest.mark.parametrize("purchase", ["bgnbd", "mbgnbd", "paretonbd"])
def test_no_nan_for_extreme_customers(cal, purchase):
    model = ck.CLVModel(purchase, spend_model="gamma_gamma").fit(cal)
    summary = EXTREME.copy()
    summary.attrs["time_unit"] = "W"
    alive = model.p_alive(summary)
    assert np.isfinite(alive).all() and ((alive >= 0) & (alive <= 1)).all()
    bought = model.predict_purchases(52, summary=summary)
    assert np.isfinite(bought).all() and (bought >= 0).all()
    value = model.clv(52, time_unit="W", discount_rate=0.001, summary=summary)
    assert np.isfinite(value).all() and (value >= 0).all()
    # a heavy buyer who stopped long ago is almost surely gone; one buying until now is alive
    assert alive["heavy-long-ago"] < 0.01 < 0.5 < alive["heavy"]
