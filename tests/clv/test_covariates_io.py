"""Save and load of CLV models fitted with covariates (issue 19, item 4): the JSON file keeps the design
(columns, levels and reference, scaling), the groups, the coefficients and the fitted rows, so a loaded
model predicts, values new customers and draws intervals exactly as the fitted one."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cohortkit import DataError
from cohortkit.clv import CLVModel

from .test_covariates import simulate_groups
from .test_covariates_paretonbd import simulate_pareto


@pytest.fixture(scope="module")
def summary():
    s = simulate_groups(n_per_group=3000, seed=3)
    s["band"] = pd.Categorical(np.where(s["monetary_value"] > 20, "high", "low"), categories=["low", "high"])
    s["score"] = np.random.default_rng(0).normal(size=len(s))
    s.attrs["time_unit"] = "W"
    return s


@pytest.mark.parametrize("covariates", [["group"], ["group", "band", "score"]])
def test_a_saved_covariate_model_predicts_like_the_fitted_one(summary, covariates, tmp_path):
    model = CLVModel(penalizer=0.001).fit(summary, covariates=covariates)
    path = tmp_path / "model.json"
    model.save(path)
    assert json.loads(path.read_text())["covariates"]["columns"] == covariates
    loaded = CLVModel.load(path)
    pd.testing.assert_frame_equal(loaded.params_, model.params_)
    pd.testing.assert_frame_equal(loaded.coefficients_, model.coefficients_, check_dtype=False)
    assert loaded.reference_ == model.reference_
    profiles = summary[covariates].iloc[:7]  # a numeric covariate makes every customer a profile
    a = model.new_customer_value(profiles, horizon=52, time_unit="W", ci=0.9, seed=1)
    b = loaded.new_customer_value(profiles, horizon=52, time_unit="W", ci=0.9, seed=1)
    pd.testing.assert_frame_equal(a.drop(columns=covariates), b.drop(columns=covariates))
    assert a[covariates].astype(str).equals(b[covariates].astype(str))
    part = summary.iloc[::97]
    assert np.array_equal(loaded.p_alive(part).to_numpy(), model.p_alive(part).to_numpy())
    assert np.allclose(loaded.clv(52, time_unit="W", discount_rate=0.0, summary=part),
                       model.clv(52, time_unit="W", discount_rate=0.0, summary=part))
    with pytest.raises(DataError, match="keeps no customer ids"):
        loaded.p_alive(part.drop(columns=covariates))


def test_a_saved_pareto_covariate_model_loads(tmp_path):
    s = simulate_pareto(n_per_group=2000, seed=5)
    model = CLVModel("paretonbd", spend_model=None).fit(s, covariates=["group"])
    model.save(tmp_path / "pareto.json")
    loaded = CLVModel.load(tmp_path / "pareto.json")
    pd.testing.assert_frame_equal(loaded.params_, model.params_)
    assert np.allclose(loaded.predict_purchases(26, summary=s.iloc[::50]), model.predict_purchases(26, summary=s.iloc[::50]))
