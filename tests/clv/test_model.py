"""CLVModel (cohortkit/clv/_model.py): fitting errors and warnings, CLV and its units, the summary
table, bootstrap intervals, JSON save/load, engines, and the renamed arguments.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from helpers import exact

from cohortkit import ConvergenceWarning, DataError
from cohortkit.clv import CLVModel, clv_interval, per_period_rate
from cohortkit.clv._bgnbd import BetaGeo


# --- errors and warnings --------------------------------------------------------------------------


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


def test_fast_fit_does_not_import_lifetimes(tmp_path):
    import subprocess
    import sys

    code = ("import sys, pandas as pd, cohortkit as ck; "
            "d = pd.DataFrame({'frequency': [0, 1, 2, 0], 'recency': [0.0, 3.0, 5.0, 0.0], "
            "'T': [6.0, 6.0, 7.0, 8.0]}); "
            "ck.CLVModel('bgnbd', spend_model=None).fit(d, time_unit='W'); print('lifetimes' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"


# --- CLV ------------------------------------------------------------------------------------------


def test_clv_is_the_discounted_sum_computed_by_hand(bgnbd, cal):
    sub = cal.iloc[:50]
    spend = bgnbd.expected_spend(sub).to_numpy()
    rate = per_period_rate(0.10, "W")
    got = bgnbd.clv(8, time_unit="W", discount_rate=rate, margin=0.3, summary=sub).to_numpy()
    want = np.zeros(len(sub))
    for i, row in enumerate(sub.itertuples()):
        prev = 0.0
        for k in range(1, 9):
            cum = BetaGeo().conditional_expected(bgnbd._pp(), float(k), row.frequency, row.recency, row.T)
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


# --- uncertainty and persistence ------------------------------------------------------------------


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


def test_engine_is_validated_and_saved(cal, tmp_path):
    msg = "engine='autograd' is not a fitting engine; pass 'numpy' (default) or 'lifetimes'."
    with pytest.raises(DataError, match=exact(msg)):
        CLVModel("bgnbd", engine="autograd").fit(cal)
    model = CLVModel("bgnbd", spend_model=None, engine="lifetimes").fit(cal)
    assert repr(model) == "CLVModel(purchase_model='bgnbd', spend_model=None, penalizer=0.0, engine='lifetimes')"
    assert repr(CLVModel()) == "CLVModel(purchase_model='bgnbd', spend_model='gamma_gamma', penalizer=0.0)"
    model.save(tmp_path / "m.json")
    assert CLVModel.load(tmp_path / "m.json").engine == "lifetimes"


# --- renamed arguments ----------------------------------------------------------------------------


def test_old_argument_names_work_with_a_future_warning_naming_the_new_ones(cal, bgnbd):
    for old, new in (("purchase", "purchase_model"), ("spend", "spend_model")):
        msg = f"CLVModel({old}=...) is renamed to {new}=...; the old name stops working in the next release."
        with pytest.warns(FutureWarning, match=exact(msg)):
            model = CLVModel(**{old: {"purchase": "bgnbd", "spend": "gamma_gamma"}[old]})
        assert (model.purchase_model, model.spend_model) == ("bgnbd", "gamma_gamma")
    with pytest.warns(FutureWarning, match=r"^CLVModel\(spend=\.\.\.\) is renamed to spend_model="):
        old = CLVModel(purchase_model="bgnbd", spend="gamma_gamma").fit(cal)
    pd.testing.assert_frame_equal(old.params_, bgnbd.params_)
    with pytest.raises(TypeError, match=exact("CLVModel() got both spend= (the old name) and spend_model=; "
                                              "pass only spend_model=.")):
        CLVModel(spend=None, spend_model=None)
    assert CLVModel.__renamed__ == {"purchase": "purchase_model", "spend": "spend_model"}


def test_new_argument_names_do_not_warn(cal):
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        model = CLVModel(purchase_model="paretonbd", spend_model=None).fit(cal)
    assert model.fit_info_.index.tolist() == ["paretonbd"]


def test_unknown_spend_model_and_no_spend_model_messages(cal):
    msg = "spend_model='gamma' is not a spend model; pass 'gamma_gamma' or None."
    with pytest.raises(DataError, match=exact(msg)):
        CLVModel("bgnbd", spend_model="gamma").fit(cal)
    model = CLVModel("bgnbd", spend_model=None).fit(cal)
    msg = ("this CLVModel has no spend model (spend_model=None); refit with CLVModel(..., "
           "spend_model='gamma_gamma') on a summary with monetary_value.")
    with pytest.raises(DataError, match=exact(msg)):
        model.expected_spend(cal)
