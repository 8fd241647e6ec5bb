"""The engine (cohortkit._engine): expressions run on their own backend, engine-aware helpers; durations."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from cohortkit import DataError
from cohortkit._args import parse_duration
from cohortkit._engine import execute, get_backend
from helpers import exact

TX = pd.DataFrame(
    {
        "customer_id": ["a", "a", "b"],
        "date": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-02-01"]),
        "amount": [10.0, 5.5, 7.0],
    }
)


@pytest.mark.parametrize(
    ("text", "days"), [("7D", 7), ("90D", 90), ("2W", 14), ("12h", 0.5), (pd.Timedelta(days=3), 3)]
)
def test_parse_duration(text, days):
    assert parse_duration(text, argument="window") == pd.Timedelta(days=days)


@pytest.mark.parametrize("bad", ["1M", "1Y", "seven days", "-3D", "0D", None])
def test_parse_duration_refuses(bad):
    with pytest.raises(DataError, match=exact(
        f"window={bad!r} is not a positive duration. Pass a string such as '7D', '90D', '2W' or "
        "'12h', or a pandas.Timedelta (months and years vary in length; use days)."
    )):
        parse_duration(bad, argument="window")


def test_execute_runs_bound_tables_on_their_backend(tmp_path):
    path = tmp_path / "tx.parquet"
    TX.to_parquet(path)
    table = get_backend().read_parquet(path)
    assert execute(table.count().name("n").as_table())["n"].item() == 3


def test_arg_min_uses_duckdb_native_function_and_min_by_elsewhere():
    from cohortkit._engine import arg_min

    t = ibis.memtable(TX)
    expr = t.group_by("customer_id").aggregate(first=arg_min(t.amount, t.date))
    sql = ibis.to_sql(expr, dialect="duckdb")
    assert "ARG_MIN(" in sql and "FIRST(" not in sql  # Ibis' own argmin is an ordered FIRST here
    got = execute(expr.order_by("customer_id"))
    assert got["first"].tolist() == [10.0, 7.0]
    # an expression bound to another backend keeps Ibis' portable argmin (MIN_BY on Spark/BigQuery)
    unbound = ibis.table({"c": "string", "d": "timestamp", "x": "float64"}, name="t")
    assert "MIN_BY" in ibis.to_sql(unbound.aggregate(f=unbound.x.argmin(unbound.d)), dialect="bigquery").upper()


def _counting_queries(monkeypatch) -> list:
    import cohortkit._engine as engine
    import cohortkit.funnels as funnels
    import cohortkit.io as io

    seen = []
    real = engine.execute

    def counted(expr, **kw):
        seen.append(expr)
        return real(expr, **kw)

    for module in (io, funnels):
        monkeypatch.setattr(module, "execute", counted)
    return seen


def test_funnel_scans_the_events_for_step_names_only_when_a_step_has_no_user(monkeypatch):
    import cohortkit as ck

    log = pd.DataFrame({
        "user_id": ["a", "a", "a", "b", "b"],
        "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-01", "2024-01-02"]),
        "event": ["view", "cart", "buy", "view", "cart"],
    })
    seen = _counting_queries(monkeypatch)
    out = ck.funnel(log, ["view", "cart", "buy"])
    assert out["users"].tolist() == [2, 2, 1]
    assert len(seen) == 2  # the checks of the log, the funnel: no pass counting each step's events
    seen.clear()
    # 'buy' occurs but nobody reaches it within the window: the step check runs and passes
    late = log.assign(timestamp=log["timestamp"].where(log["event"] != "buy", pd.Timestamp("2024-03-01")))
    assert ck.funnel(late, ["view", "cart", "buy"])["users"].tolist() == [2, 2, 0]
    assert len(seen) == 3
    with pytest.raises(DataError, match=r"^step\(s\) \['buyy'\] never occur in column 'event' \(event_col\); "
                                        r"it has events 'buy', 'cart', 'view'\. Did you mean 'buyy' → 'buy'\?"):
        ck.funnel(log, ["view", "cart", "buyy"])


def test_duckdb_limits_come_from_the_environment(monkeypatch):
    from cohortkit import _engine

    con = ibis.duckdb.connect()
    monkeypatch.setenv(_engine.MEMORY_LIMIT_ENV, "512MB")
    monkeypatch.setenv(_engine.THREADS_ENV, "1")
    _engine._apply_limits(con)
    limit, threads = con.raw_sql("SELECT current_setting('memory_limit'), current_setting('threads')").fetchone()
    assert threads == 1 and limit.endswith("MiB") and 400 < float(limit.split()[0]) < 520
    for name, bad in [(_engine.MEMORY_LIMIT_ENV, "a lot"), (_engine.THREADS_ENV, "0")]:
        monkeypatch.setenv(name, bad)
        with pytest.raises(DataError, match=name):
            _engine._apply_limits(con)
        monkeypatch.delenv(name)


def test_report_sets_duckdb_limits_for_its_kernels_unless_the_user_did(monkeypatch):
    import os

    from cohortkit import _engine
    from cohortkit._report import _duckdb_limits

    monkeypatch.delenv(_engine.MEMORY_LIMIT_ENV, raising=False)
    monkeypatch.setenv(_engine.THREADS_ENV, "3")
    with _duckdb_limits(jobs=2):
        assert os.environ[_engine.MEMORY_LIMIT_ENV] == "1GB"
        assert os.environ[_engine.THREADS_ENV] == "3"  # the user's own
    assert _engine.MEMORY_LIMIT_ENV not in os.environ and os.environ[_engine.THREADS_ENV] == "3"


def test_release_backend_closes_the_connection_and_the_next_call_opens_one():
    from cohortkit import _engine

    first = get_backend()
    _engine.release_backend()
    second = get_backend()
    assert second is not first
    assert execute(ibis.memtable({"a": [1, 2]}).count().name("n").as_table())["n"].iloc[0] == 2


def test_a_parquet_file_is_checked_once_while_it_is_unchanged_and_again_when_it_changes(tmp_path, monkeypatch):
    import cohortkit as ck

    path = tmp_path / "tx.parquet"
    TX.to_parquet(path)
    seen = _counting_queries(monkeypatch)
    first = ck.rfm_summary(path, amount_col="amount")
    n_checks = len(seen)
    assert n_checks >= 1  # the checking queries of the file ran
    seen.clear()
    again = ck.rfm_summary(path, amount_col="amount")
    assert seen == []  # unchanged file: nothing learnt again (the summary itself runs in clv)
    pd.testing.assert_frame_equal(first, again)
    # the file rewritten with a missing id: found by a new check, not answered from the cache
    import os

    bad = TX.assign(customer_id=[None, "a", "b"])
    bad.to_parquet(path)
    os.utime(path, ns=(1, 1))  # even with the same size, a new modification time is a new file
    with pytest.raises(DataError, match="customer_id"):
        ck.rfm_summary(path, amount_col="amount")
    assert len(seen) >= 1


def test_execute_compiles_an_expression_over_a_file_once_and_converts_as_ibis_does(tmp_path, monkeypatch):
    import datetime as dt
    import decimal

    from cohortkit import _engine

    frame = pd.DataFrame({
        "i": pd.array([1, None, 3], dtype="Int64"),
        "f": [1.5, None, 2.0],
        "s": ["x", None, "z"],
        "t": pd.to_datetime(["2024-01-01 00:00", None, "2024-03-01 12:00"]),
        "d": [decimal.Decimal("1.10"), decimal.Decimal("2.25"), None],
        "lst": [[1, 2], [], None],
    })
    path = tmp_path / "odd.parquet"
    frame.to_parquet(path)
    backend = get_backend()
    table = backend.read_parquet(path)
    expr = table.mutate(day=table.t.date(), n=table.i + 1, when=ibis.literal(dt.datetime(2024, 1, 2)))
    compiled = []
    real = backend.compile
    monkeypatch.setattr(backend, "compile", lambda e, **kw: compiled.append(e) or real(e, **kw))
    ours = execute(expr)
    with _engine.quiet():
        theirs = backend.execute(expr)  # Ibis' own execution (compiles again)
    pd.testing.assert_frame_equal(ours, _engine._microseconds(theirs))
    n = len(compiled)
    pd.testing.assert_frame_equal(execute(expr), ours)
    assert len(compiled) == n  # the second run reused the compiled SQL
    # an in-memory table is not kept (the cache would keep its DataFrame alive)
    mem = ibis.memtable(TX)
    execute(mem.count().name("n").as_table())
    assert not any(key[1].find(ibis.expr.operations.InMemoryTable) for key in _engine._COMPILED)
    _engine.release_backend()
    assert _engine._COMPILED == {}


def test_epoch_microseconds_is_exact_on_duckdb_and_spelled_portably_elsewhere(monkeypatch):
    import datetime as dt

    from cohortkit._engine import epoch_microseconds

    stamps = [dt.datetime(1970, 1, 1), dt.datetime(2024, 2, 29, 23, 59, 59, 999999), dt.datetime(1960, 5, 1, 0, 0, 0, 1)]
    t = ibis.memtable({"ts": stamps})
    got = execute(epoch_microseconds(t.ts).name("us").as_table())["us"].tolist()
    want = [(s - dt.datetime(1970, 1, 1)) // dt.timedelta(microseconds=1) for s in stamps]
    assert got == want
    assert "EPOCH_US(" in ibis.to_sql(epoch_microseconds(t.ts).name("us").as_table(), dialect="duckdb").upper()
    # on another engine (Spark: tests/test_conformance.py runs the funnels there) a portable difference
    import cohortkit._engine as engine

    monkeypatch.setattr(engine, "backend_name", lambda expr: "pyspark")
    sql = ibis.to_sql(epoch_microseconds(t.ts).name("us").as_table(), dialect="bigquery").upper()
    assert "EPOCH_US" not in sql and "1970" in sql


def test_a_parquet_file_with_fewer_row_groups_than_threads_is_spread_over_every_thread(tmp_path, monkeypatch):
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    import cohortkit as ck
    from cohortkit import _engine, io

    rng = np.random.default_rng(3)
    n = 5_000
    tx = pd.DataFrame({"customer_id": rng.integers(0, 400, n).astype(str),
                       "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 200 * 86400, n), unit="s"),
                       "amount": rng.gamma(2.0, 10.0, n).round(2)})
    one, many = tmp_path / "one.parquet", tmp_path / "many.parquet"
    pq.write_table(pa.Table.from_pandas(tx), one)  # one row group
    pq.write_table(pa.Table.from_pandas(tx), many, row_group_size=500)  # ten
    assert [pq.ParquetFile(p).metadata.num_row_groups for p in (one, many)] == [1, 10]
    threads = int(get_backend().raw_sql("SELECT current_setting('threads')").fetchall()[0][0])
    calls = {
        "rfm": lambda p: ck.rfm_summary(p, amount_col="amount", time_unit="W"),
        "cohort": lambda p: ck.cohort_table(p, amount_col="amount", time_unit="M"),
        "lifecycle": lambda p: ck.lifecycle_table(p, amount_col="amount", time_unit="M"),
    }
    def spread_sql(call, path):
        _engine._COMPILED.clear()
        result = call(str(path))
        return result, any("__spread_rows" in s for s, _ in _engine._COMPILED.values())

    for name, call in calls.items():
        (spread, spread_used), (plain, plain_used) = spread_sql(call, one), spread_sql(call, many)
        # the same frame from the one-row-group file (read once into a shared intermediate) and the other
        pd.testing.assert_frame_equal(spread, plain, check_exact=True, obj=name)
        wanted = name != "rfm"  # only where the first grouping is the heavy part (memory for speed)
        assert (spread_used, plain_used) == (wanted and threads >= 2, False), name
    # with one thread, or above the row cap, the file is scanned as it is
    io.forget_tables()
    monkeypatch.setattr(io, "_SPREAD_MAX_ROWS", n - 1)
    _engine._COMPILED.clear()
    capped = calls["cohort"](str(one))
    assert not any("__spread_rows" in s for s, _ in _engine._COMPILED.values())
    pd.testing.assert_frame_equal(capped, calls["cohort"](str(many)), check_exact=True)
