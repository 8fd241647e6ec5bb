"""CLV diagnostics plots (cohortkit/plot/_clv.py): the values read back from each plot are its table's."""

from __future__ import annotations

import numpy as np
import pytest

from cohortkit import plot
from cohortkit.clv import (
    CLVModel,
    calibration_holdout_table,
    p_alive_matrix,
    period_transactions,
    tracking_table,
)


@pytest.fixture(scope="module")
def model(cal):
    return CLVModel("bgnbd", spend_model=None).fit(cal)


def test_period_transactions_plot(model):
    table = period_transactions(model, max_frequency=7)
    ax = plot.plot_period_transactions(table)
    assert [b.get_height() for b in ax.containers[0]] == table["actual"].tolist()
    np.testing.assert_allclose([b.get_height() for b in ax.containers[1]], table["model"])
    assert [t.get_text() for t in ax.get_xticklabels()] == table["label"].tolist()


def test_calibration_holdout_plot(model, cal):
    table = calibration_holdout_table(model, cal, max_frequency=7)
    ax = plot.plot_calibration_holdout(table)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), table["actual"])
    np.testing.assert_allclose(ax.lines[1].get_ydata(), table["model"])


def test_tracking_plot(model, cdnow_sample):
    table = tracking_table(model, cdnow_sample, calibration_end="1997-09-30")
    ax = plot.plot_tracking(table)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), table["actual"])
    np.testing.assert_allclose(ax.lines[1].get_ydata(), table["model"])
    assert ax.lines[2].get_xdata()[0] == pytest.approx(39.0)


def test_p_alive_heatmap(model):
    table = p_alive_matrix(model, max_frequency=10, T=38.0)
    ax = plot.plot_p_alive_matrix(table)
    image = np.asarray(ax.collections[0].get_array()).reshape(39, 11)
    wide = table.pivot(index="recency", columns="frequency", values="p_alive").sort_index(ascending=False)
    np.testing.assert_allclose(image, wide.to_numpy())
