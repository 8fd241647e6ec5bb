"""CLV diagnostics: tables vs independent computations, and values read back from the plots."""

from __future__ import annotations

import numpy as np
import pytest

from cohortkit import plot
from cohortkit.clv import (
    CLVModel,
    calibration_holdout,
    calibration_holdout_table,
    p_alive_matrix,
    period_transactions,
    tracking_table,
)


@pytest.fixture(scope="module")
def cal(cdnow_sample):
    return calibration_holdout(cdnow_sample, calibration_end="1997-09-30", observation_end="1998-06-30",
                               amount_col="amount", time_unit="W")


@pytest.fixture(scope="module")
def model(cal):
    return CLVModel("bgnbd", spend_model=None).fit(cal)


def test_period_transactions_table_and_plot(model, cal):
    table = period_transactions(model, max_frequency=7)
    assert table["actual"].tolist()[:3] == [1411, 439, 214]  # FHL (2005) figure 2 histogram
    assert table["actual"].sum() == 2357 and table["model"].sum() == pytest.approx(2357)
    # model counts: sum of each customer's P(X(T_i) = n), the slow way for n = 1
    direct = sum(float(M_pmf(model, 1, t)) for t in cal["T"])
    assert table.loc[1, "model"] == pytest.approx(direct, rel=1e-10)
    ax = plot.plot_period_transactions(table)
    assert [b.get_height() for b in ax.containers[0]] == table["actual"].tolist()
    np.testing.assert_allclose([b.get_height() for b in ax.containers[1]], table["model"])
    assert [t.get_text() for t in ax.get_xticklabels()] == table["label"].tolist()


def M_pmf(model, n, t):
    return model._purchase.pmf(model._pp(), n, np.array([t]))[0]


def test_calibration_holdout_table_and_plot(model, cal):
    table = calibration_holdout_table(model, cal, max_frequency=7)
    assert table["n_customers"].sum() == 2357
    # weighted means add back to the totals: 1,882 actual, 1,653.4 expected (FHL 2005)
    assert (table["actual"] * table["n_customers"]).sum() == pytest.approx(1882)
    assert (table["model"] * table["n_customers"]).sum() == pytest.approx(1653.4, abs=0.05)
    ax = plot.plot_calibration_holdout(table)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), table["actual"])
    np.testing.assert_allclose(ax.lines[1].get_ydata(), table["model"])


def test_tracking_table_and_plot(model, cdnow_sample, cal):
    table = tracking_table(model, cdnow_sample, calibration_end="1997-09-30")
    assert len(table) == 78
    assert str(table.loc[38, "end_date"].date()) == "1997-09-30"
    # actual cumulative repeat transactions: 2,457 in calibration, + 1,882 in the holdout
    assert table.loc[38, "actual"] == 2457 and table.loc[77, "actual"] == 2457 + 1882
    # model at the calibration end = sum of E[X(T_i)] over customers, T_i as in the summary
    from cohortkit.clv._bgnbd import BetaGeo

    expected = BetaGeo().expected(model._pp(), cal["T"].to_numpy()).sum()
    assert table.loc[38, "model"] == pytest.approx(expected, rel=1e-10)
    assert np.all(np.diff(table["model"]) >= 0)
    ax = plot.plot_tracking(table)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), table["actual"])
    np.testing.assert_allclose(ax.lines[1].get_ydata(), table["model"])
    assert ax.lines[2].get_xdata()[0] == pytest.approx(39.0)


def test_p_alive_matrix_and_heatmap(model):
    table = p_alive_matrix(model, max_frequency=10, T=38.0)
    assert table["p_alive"].between(0, 1).all()
    row = table[(table.frequency == 3) & (table.recency == 20.0)]
    assert row["p_alive"].iloc[0] == pytest.approx(model.p_alive(
        __import__("pandas").DataFrame({"frequency": [3], "recency": [20.0], "T": [38.0]})).iloc[0])
    ax = plot.plot_p_alive_matrix(table)
    image = np.asarray(ax.collections[0].get_array()).reshape(39, 11)
    wide = table.pivot(index="recency", columns="frequency", values="p_alive").sort_index(ascending=False)
    np.testing.assert_allclose(image, wide.to_numpy())
    # recent buyers are more likely alive than lapsed ones with the same frequency
    assert wide.loc[38.0, 5] > wide.loc[5.0, 5]
