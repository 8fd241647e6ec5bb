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
    value = namespace["value"].set_index("campaign")
    # the sentence under the tour: coupon/affiliate best by CTR and CVR, last by LTV-ROAS;
    # LINE/e-mail retargeting fifth by CTR, first by LTV-ROAS
    assert value["rank_ctr"]["coupon_affiliate"] == 1
    assert value["cvr"].idxmax() == "coupon_affiliate"
    assert value["rank_ltv_roas"]["coupon_affiliate"] == len(value)
    assert value["rank_ctr"]["line_retargeting"] == 5
    assert value["rank_ltv_roas"]["line_retargeting"] == 1
    sentence = re.search(r"In the bundled shop the coupon/affiliate.*?\)\.", README, re.DOTALL).group(0)
    assert "fifth by CTR" in sentence
    assert not re.search(r"\d", sentence), "no hard-coded figure of a run in the README: " + sentence


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
