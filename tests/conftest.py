"""Shared test fixtures: fixed seeds, a headless matplotlib, and the bundled data."""

from __future__ import annotations

import os
import shutil

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


@pytest.fixture(scope="session")
def spark_con():
    """One local Spark session (Ibis PySpark backend) for every Spark test of the run.

    Skipped when pyspark or Java is missing, except in CI (``CI`` set), where a missing pyspark fails.
    """
    if os.environ.get("CI"):
        import pyspark  # noqa: F401  (CI must run the Spark tests)
    else:
        pytest.importorskip("pyspark")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Java is not installed")
    import ibis
    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    session = (
        SparkSession.builder.master("local[2]")
        .appName("cohortkit-tests")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield ibis.pyspark.connect(session)
    session.stop()
