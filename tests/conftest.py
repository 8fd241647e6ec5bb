"""Shared test fixtures: fixed seeds, a headless matplotlib, and the bundled data."""

from __future__ import annotations

import os

import matplotlib
import numpy as np
import pytest
from hypothesis import HealthCheck, settings

matplotlib.use("Agg")

# One fixed hypothesis profile for CI and local runs: reproducible, bounded in time.
settings.register_profile(
    "cohortkit",
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "cohortkit"))


@pytest.fixture(autouse=True)
def _fixed_seed():
    np.random.seed(20240101)
    yield


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.fixture(scope="session")
def cdnow():
    from cohortkit.datasets import load_cdnow

    return load_cdnow()


@pytest.fixture(scope="session")
def cdnow_sample():
    from cohortkit.datasets import load_cdnow

    return load_cdnow(sample=True)
