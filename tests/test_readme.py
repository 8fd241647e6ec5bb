"""The README's Python examples run as written (the Spark one only where pyspark is installed)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```python\n(.*?)```", README, re.DOTALL)


def test_readme_has_the_two_commands_first():
    first = re.search(r"```bash\n(.*?)```", README, re.DOTALL).group(1)
    assert first.splitlines()[0].startswith("make report")
    assert first.splitlines()[1].startswith("make test")


def test_tour_runs_and_shows_the_reversal():
    namespace: dict = {}
    exec(compile(BLOCKS[0], "README tour", "exec"), namespace)
    value = namespace["value"]
    coupon = value.set_index("campaign").loc["coupon_affiliate"]
    assert coupon["rank_ctr"] == 1
    assert coupon["rank_ltv_roas"] == len(value)
    assert round(coupon["ctr"] * 100, 1) == 6.0


def test_own_data_example_runs(tmp_path, monkeypatch):
    import cohortkit as ck

    folder = tmp_path / "exports"
    folder.mkdir()
    tx = ck.datasets.load_cdnow(sample=True).rename(
        columns={"customer_id": "会員ID", "date": "注文日", "amount": "金額"})
    tx.iloc[:3000].to_parquet(folder / "orders-1.parquet")
    tx.iloc[3000:].to_parquet(folder / "orders-2.parquet")
    monkeypatch.chdir(tmp_path)
    namespace = {"ck": ck}
    block = next(b for b in BLOCKS if "exports/orders-*.parquet" in b)
    table = eval(compile(block, "README own data", "eval"), namespace)
    assert table["orders"].sum() == len(tx)


def test_spark_example_is_well_formed():
    block = next(b for b in BLOCKS if "pyspark" in b)
    compile(block, "README spark", "exec")  # it runs in tests/test_spark.py's conformance tests
