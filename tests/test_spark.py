"""The same cohortkit calls on Spark (Ibis PySpark backend, local mode) equal the DuckDB results.

Needs the ``spark`` extra (pyspark) and Java 17. Skipped locally when pyspark is absent; in CI
(``CI`` set) a missing pyspark is a failure, not a skip. Data reaches Spark as Parquet files, never
as pandas DataFrames (shared/ENGINE.md, guardrail 2).
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

if os.environ.get("CI"):
    import pyspark  # noqa: F401  (CI must run these tests)
else:
    pytest.importorskip("pyspark")

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def _parquet(frame: pd.DataFrame, path) -> str:
    # Spark reads microsecond timestamps only
    frame.to_parquet(path, coerce_timestamps="us", allow_truncated_timestamps=True)
    return str(path)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def _edge_log(seed: int = 7) -> pd.DataFrame:
    """Transactions with the edge cases where engines disagree: midnight crossings, month ends,
    same-day repeats, leap day, year end."""
    rng = np.random.default_rng(seed)
    base = [
        ("A", "2024-01-31 23:00:00", 10.0), ("A", "2024-02-01 01:00:00", 5.0),
        ("A", "2024-02-29 12:00:00", 7.0), ("A", "2024-03-01 00:00:00", 1.0),
        ("B", "2023-12-31 23:59:59", 20.0), ("B", "2024-01-01 00:00:00", 3.0),
        ("B", "2024-01-01 08:00:00", 4.0), ("C", "2024-03-31 23:30:00", 9.0),
    ]
    rows = [(c, pd.Timestamp(d), a) for c, d, a in base]
    start = pd.Timestamp("2023-11-01")
    for i in range(300):
        customer = f"R{i % 60:03d}"
        rows.append((customer, start + pd.Timedelta(seconds=int(rng.integers(0, 150 * 86400))),
                     float(rng.integers(1, 100))))
    return pd.DataFrame(rows, columns=["customer_id", "date", "amount"])


def test_prepare_on_spark_equals_duckdb(spark_con, tmp_path):
    from cohortkit._engine import execute
    from cohortkit.io import Column, prepare

    log = _edge_log()
    path = _parquet(log, tmp_path / "tx.parquet")
    columns = [
        Column("customer_col", "customer_id", "customer_id", "string"),
        Column("date_col", "date", "date", "timestamp"),
        Column("amount_col", "amount", "amount", "numeric"),
    ]
    spark = execute(prepare(spark_con.read_parquet(path), columns))
    duck = execute(prepare(path, columns))
    pd.testing.assert_frame_equal(_sorted(spark), _sorted(duck), check_dtype=False)


def test_prepare_errors_on_spark(spark_con, tmp_path):
    from cohortkit import DataError
    from cohortkit.io import Column, prepare

    path = _parquet(_edge_log(), tmp_path / "tx.parquet")
    with pytest.raises(DataError, match=r"^column 'when' \(date_col\) not found in transactions"):
        prepare(spark_con.read_parquet(path), [Column("date_col", "when", "date", "timestamp")],
                what="transactions")


@pytest.mark.parametrize("period", ["D", "W", "M", "Q"])
def test_cohort_table_on_spark_equals_duckdb(spark_con, tmp_path, period):
    import cohortkit as ck

    log = _edge_log()
    path = _parquet(log, tmp_path / "tx.parquet")
    kwargs = dict(customer_col="customer_id", date_col="date", amount_col="amount", time_unit=period,
                  observation_end="2024-03-31")
    spark = ck.cohort_table(spark_con.read_parquet(path), **kwargs)
    duck = ck.cohort_table(log, **kwargs)
    assert len(duck) > 0
    pd.testing.assert_frame_equal(spark, duck, check_dtype=False)


@pytest.mark.parametrize("time_unit", ["D", "W"])
def test_rfm_summary_on_spark_equals_duckdb(spark_con, tmp_path, time_unit):
    import cohortkit as ck

    log = _edge_log()
    path = _parquet(log, tmp_path / "tx.parquet")
    kwargs = dict(customer_col="customer_id", date_col="date", amount_col="amount",
                  observation_end="2024-03-31", time_unit=time_unit)
    spark = ck.rfm_summary(spark_con.read_parquet(path), **kwargs)
    duck = ck.rfm_summary(log, **kwargs)
    assert len(duck) == log["customer_id"].nunique()
    pd.testing.assert_frame_equal(spark, duck, check_dtype=False)


def _event_log(seed: int = 3) -> pd.DataFrame:
    """Events with ties, repeats, several attempts and exactly-at-window gaps."""
    rng = np.random.default_rng(seed)
    base = pd.Timestamp("2024-01-30 22:00:00")
    rows = [
        ("tie", base, "view"), ("tie", base, "cart"), ("tie", base, "buy"),
        ("edge", base, "view"), ("edge", base + pd.Timedelta("7D"), "cart"),
        ("edge", base + pd.Timedelta("7D"), "buy"),
        ("late", base, "view"), ("late", base + pd.Timedelta("7D 00:00:01"), "cart"),
        ("retry", base, "view"), ("retry", base + pd.Timedelta("8D"), "view"),
        ("retry", base + pd.Timedelta("9D"), "cart"), ("retry", base + pd.Timedelta("9D 01:00:00"), "buy"),
    ]
    for i in range(400):
        user = f"u{i % 80}"
        rows.append((user, base + pd.Timedelta(seconds=int(rng.integers(0, 20 * 86400))),
                     str(rng.choice(["view", "cart", "buy", "other"]))))
    frame = pd.DataFrame(rows, columns=["user_id", "timestamp", "event"])
    frame["channel"] = np.where(frame["user_id"].str.len() % 2 == 0, "search", "display")
    return frame


@pytest.mark.parametrize("order", ["ordered", "strict", "any"])
def test_funnel_on_spark_equals_duckdb(spark_con, tmp_path, order):
    import cohortkit as ck

    log = _event_log()
    path = _parquet(log, tmp_path / "events.parquet")
    kwargs = dict(customer_col="user_id", date_col="timestamp", event_col="event", window="7D", order=order,
                  by="channel")
    spark = ck.funnel(spark_con.read_parquet(path), ["view", "cart", "buy"], **kwargs)
    duck = ck.funnel(log, ["view", "cart", "buy"], **kwargs)
    assert duck["users"].sum() > 0
    pd.testing.assert_frame_equal(spark, duck, check_dtype=False)
