"""CLV diagnostics tables (cohortkit/clv/_diagnostics.py) vs the papers and independent computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import exact

from cohortkit.clv import (
    CLVModel,
    calibration_holdout_table,
    p_alive_matrix,
    period_transactions,
    tracking_table,
)
from cohortkit.clv._bgnbd import BetaGeo


@pytest.fixture(scope="module")
def model(cal):
    return CLVModel("bgnbd", spend_model=None).fit(cal)


def test_period_transactions_table(model, cal):
    table = period_transactions(model, max_frequency=7)
    assert table["actual"].tolist()[:3] == [1411, 439, 214]  # FHL (2005) figure 2 histogram
    assert table["actual"].sum() == 2357 and table["model"].sum() == pytest.approx(2357)
    # model counts: sum of each customer's P(X(T_i) = n), the slow way for n = 1
    direct = sum(float(M_pmf(model, 1, t)) for t in cal["T"])
    assert table.loc[1, "model"] == pytest.approx(direct, rel=1e-10)


def M_pmf(model, n, t):
    return model._purchase.pmf(model._pp(), n, np.array([t]))[0]


def test_calibration_holdout_table(model, cal):
    table = calibration_holdout_table(model, cal, max_frequency=7)
    assert table["n_customers"].sum() == 2357
    # weighted means add back to the totals: 1,882 actual, 1,653.4 expected (FHL 2005)
    assert (table["actual"] * table["n_customers"]).sum() == pytest.approx(1882)
    assert (table["model"] * table["n_customers"]).sum() == pytest.approx(1653.4, abs=0.05)


def test_tracking_table(model, cdnow_sample, cal):
    table = tracking_table(model, cdnow_sample, calibration_end="1997-09-30")
    assert len(table) == 78
    assert str(table.loc[38, "end_date"].date()) == "1997-09-30"
    # actual cumulative repeat transactions: 2,457 in calibration, + 1,882 in the holdout
    assert table.loc[38, "actual"] == 2457 and table.loc[77, "actual"] == 2457 + 1882
    # model at the calibration end = sum of E[X(T_i)] over customers, T_i as in the summary
    expected = BetaGeo().expected(model._pp(), cal["T"].to_numpy()).sum()
    assert table.loc[38, "model"] == pytest.approx(expected, rel=1e-10)
    assert np.all(np.diff(table["model"]) >= 0)


def test_tracking_table_observation_end_and_its_old_name(model, cdnow_sample):
    full = tracking_table(model, cdnow_sample, calibration_end="1997-09-30")
    cut = tracking_table(model, cdnow_sample, observation_end="1997-12-31", calibration_end="1997-09-30")
    assert len(cut) == 52  # 365 days from 1997-01-01: 52 whole weeks
    pd.testing.assert_frame_equal(cut, full.iloc[:52])
    msg = "tracking_table(end=...) is renamed to observation_end=...; the old name stops working in the next release."
    with pytest.warns(FutureWarning, match=exact(msg)):
        old = tracking_table(model, cdnow_sample, end="1997-12-31", calibration_end="1997-09-30")
    pd.testing.assert_frame_equal(old, cut)


def test_p_alive_matrix(model):
    table = p_alive_matrix(model, max_frequency=10, T=38.0)
    assert table["p_alive"].between(0, 1).all()
    row = table[(table.frequency == 3) & (table.recency == 20.0)]
    assert row["p_alive"].iloc[0] == pytest.approx(model.p_alive(
        pd.DataFrame({"frequency": [3], "recency": [20.0], "T": [38.0]})).iloc[0])
    wide = table.pivot(index="recency", columns="frequency", values="p_alive").sort_index(ascending=False)
    # recent buyers are more likely alive than lapsed ones with the same frequency
    assert wide.loc[38.0, 5] > wide.loc[5.0, 5]
