"""Fixtures shared by the CLV tests: the CDNOW calibration/holdout summary and its BG/NBD fit."""

from __future__ import annotations

import numpy as np
import pytest

from cohortkit.clv import CLVModel, calibration_holdout


@pytest.fixture(scope="session")
def cal(cdnow_sample):
    """CDNOW 1/10 sample in weeks: weeks 1-39 calibration, 40-78 holdout (Fader, Hardie & Lee 2005)."""
    return calibration_holdout(cdnow_sample, calibration_end="1997-09-30", observation_end="1998-06-30",
                               amount_col="amount", time_unit="W")


@pytest.fixture(scope="session")
def bgnbd(cal):
    """BG/NBD + Gamma-Gamma fitted on ``cal``."""
    return CLVModel("bgnbd").fit(cal)


def _central_gradient(f, x, h=1e-6):
    g = np.empty(len(x))
    for i in range(len(x)):
        e = np.zeros(len(x))
        e[i] = h
        g[i] = (f(x + e)[0] - f(x - e)[0]) / (2 * h)
    return g


@pytest.fixture
def central_gradient():
    """``central_gradient(f, x)``: the gradient of ``f(x)[0]`` by central differences (h = 1e-6)."""
    return _central_gradient


@pytest.fixture(scope="session")
def shop():
    """The bundled simulated shop (known truth)."""
    from cohortkit.datasets import load_shop

    return load_shop()
