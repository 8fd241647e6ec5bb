"""The bundled CDNOW log matches the figures published with it (Fader, Hardie & Lee 2005)."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest


def test_cdnow_master_figures(cdnow):
    assert list(cdnow.columns) == ["customer_id", "date", "quantity", "amount"]
    assert len(cdnow) == 69_659
    assert cdnow["customer_id"].nunique() == 23_570
    assert cdnow["date"].min() == pd.Timestamp("1997-01-01")
    assert cdnow["date"].max() == pd.Timestamp("1998-06-30")
    # every customer's first purchase falls in the first quarter of 1997
    first = cdnow.groupby("customer_id")["date"].min()
    assert first.max() < pd.Timestamp("1997-04-01")


def test_cdnow_dtypes(cdnow):
    assert pd.api.types.is_string_dtype(cdnow["customer_id"])
    assert cdnow["customer_id"].str.len().eq(5).all()
    assert cdnow["customer_id"].iloc[0] == "00001"
    assert pd.api.types.is_datetime64_any_dtype(cdnow["date"])
    assert cdnow["quantity"].dtype == "int64"
    assert cdnow["amount"].dtype == "float64"
    assert round(cdnow["amount"].sum(), 2) == 2_500_315.63


def test_cdnow_sample_figures(cdnow, cdnow_sample):
    assert len(cdnow_sample) == 6_919
    assert cdnow_sample["customer_id"].nunique() == 2_357
    assert cdnow_sample["date"].min() == pd.Timestamp("1997-01-01")
    assert cdnow_sample["date"].max() == pd.Timestamp("1998-06-30")
    # the sample is a sample of customers: each keeps all their master records
    ids = set(cdnow_sample["customer_id"])
    master_rows = cdnow[cdnow["customer_id"].isin(ids)]
    assert len(master_rows) == len(cdnow_sample)
    # the papers' calibration period: 1,882 repeat transactions... are counted in tests/clv/test_summary.py;
    # here the raw sample total is fixed
    assert round(cdnow_sample["amount"].sum(), 2) == 244_091.94


def test_loaders_never_import_lifetimes_datasets():
    code = (
        "import sys, cohortkit\n"
        "cohortkit.datasets.load_cdnow(sample=True)\n"
        "assert 'lifetimes.datasets' not in sys.modules, 'lifetimes.datasets was imported'\n"
        "assert 'pkg_resources' not in sys.modules, 'pkg_resources was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_no_module_imports_lifetimes_datasets():
    from pathlib import Path

    import cohortkit

    root = Path(cohortkit.__file__).parent
    offenders = [
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if "lifetimes.datasets" in p.read_text(encoding="utf-8")
        or "from lifetimes import datasets" in p.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_data_path_missing_file_names_the_fix():
    from cohortkit import DataError
    from cohortkit.datasets import data_path

    with pytest.raises(DataError, match=r"bundled data file 'nope/missing.csv' was not found"):
        data_path("nope", "missing.csv")
