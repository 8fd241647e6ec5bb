"""The data engine: every heavy reduction goes through here.

``data`` arguments across cohortkit may be a pandas DataFrame, a ``str``/``Path`` to a CSV or Parquet
file (or a glob of them), or an Ibis table on any backend. :func:`cohortkit.io.prepare` turns each into an
Ibis table of canonical columns (embedded DuckDB by default), modules build one Ibis expression on
those names, and :func:`execute` runs it back to pandas.

Modules never special-case pandas vs SQL themselves.

See ``shared/ENGINE.md`` for the measured facts behind these choices (truncate timestamps before
taking differences, typed nulls, explicit tie-breaks, scalars passed as literals).

Reading data, resolving column arguments, and the input policies (missing values, time zones, ids,
text encodings) live in :mod:`cohortkit.io`; this module only builds and runs expressions.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import warnings
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from ._errors import DataError

__all__ = [
    "execute",
    "to_pandas",
    "backend_name",
    "exact_sum",
    "decimal_sum",
    "arg_min",
    "epoch_microseconds",
    "get_backend",
    "quiet",
    "release_backend",
]

_BACKEND = None
#: what other modules keep for the connection, dropped when it closes (io's tables of unchanged files)
ON_RELEASE: list = []



@contextlib.contextmanager
def quiet():
    """Silence deprecation chatter that Ibis 12 emits on pandas 3 / DuckDB 2 (not our warnings)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*future.infer_string.*")
        warnings.filterwarnings("ignore", message=".*fetch_arrow_table.*")
        warnings.filterwarnings("ignore", message=".*fetch_record_batch.*")
        yield


def get_backend():
    """Return cohortkit's embedded DuckDB connection (created on first use).

    Examples
    --------
    >>> con = get_backend()
    >>> con.name
    'duckdb'
    """
    global _BACKEND
    if _BACKEND is None:
        con = ibis.duckdb.connect()
        # Timestamps are compared as UTC wall-clock times (shared/ENGINE.md, guardrail 7).
        con.raw_sql("SET TimeZone = 'UTC'")
        _apply_limits(con)
        _BACKEND = con
    return _BACKEND


def release_backend() -> None:
    """Close the embedded DuckDB connection and hand freed memory back to the system.

    The next :func:`get_backend` opens a new connection. ``make report`` calls this in its own process
    once the executive summary is computed, so that the memory that took stays free while the
    notebooks' kernels run. Tables read through the closed connection can no longer be executed.
    """
    global _BACKEND
    con, _BACKEND = _BACKEND, None
    _COMPILED.clear()
    for forget in ON_RELEASE:
        forget()
    if con is not None:
        with contextlib.suppress(Exception):
            con.disconnect()
    import gc

    gc.collect()
    with contextlib.suppress(Exception):  # glibc only: return freed heap pages to the system
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)


# Environment variables that cap the embedded DuckDB of this process (``make report`` sets them for its
# kernels and itself, so that several processes share the machine instead of each taking DuckDB's
# default of 80 % of its memory). They change where DuckDB spills to disk, never a result.
MEMORY_LIMIT_ENV = "COHORTKIT_DUCKDB_MEMORY_LIMIT"  # e.g. "1.5GB"
THREADS_ENV = "COHORTKIT_DUCKDB_THREADS"  # e.g. "2"


def _apply_limits(con) -> None:
    import os
    import re

    limit = os.environ.get(MEMORY_LIMIT_ENV, "").strip()
    if limit:
        if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", limit, flags=re.I):
            raise DataError(f"{MEMORY_LIMIT_ENV}={limit!r}: expected a size such as '1.5GB'")
        con.raw_sql(f"SET memory_limit = '{limit}'")
    threads = os.environ.get(THREADS_ENV, "").strip()
    if threads:
        if not threads.isdigit() or int(threads) < 1:
            raise DataError(f"{THREADS_ENV}={threads!r}: expected a whole number of threads, 1 or more")
        con.raw_sql(f"SET threads = {int(threads)}")


def execute(expr: ir.Expr, *, backend_of: ir.Expr | None = None) -> pd.DataFrame:
    """Execute an Ibis expression and return a pandas DataFrame.

    Expressions bound to a backend (a table read from a path, or a user's Spark/warehouse table) run
    there; expressions built only from in-memory tables run on the embedded DuckDB connection.

    Examples
    --------
    >>> import ibis
    >>> execute(ibis.memtable({"a": [1, 2]}).count().name("n").as_table())
       n
    0  2
    """
    backend = _backend_for(backend_of if backend_of is not None else expr)
    if isinstance(expr, ir.Scalar):
        expr = expr.as_table()
    elif isinstance(expr, ir.Column):
        expr = expr.as_table()
    with quiet():
        if backend.name == "duckdb":
            result = _duckdb_execute(backend, expr)
        else:
            result = backend.execute(expr)
    if not isinstance(result, pd.DataFrame):
        result = pd.DataFrame(result)
    return _microseconds(result)


#: Compiled SQL and result schema of expressions over files or database tables, by expression. A
#: notebook runs the same reductions on the same unchanged file again and again (a re-run cell, a
#: function called per campaign); compiling the Ibis expression costs ~6 ms of a 0.17 s query on 1M
#: rows. Expressions holding in-memory tables are not kept (they would keep the DataFrame alive).
_COMPILED: dict[Any, tuple[str, Any]] = {}
_COMPILED_MAX = 256


def _duckdb_execute(backend, expr: ir.Table) -> pd.DataFrame:
    """``backend.execute(expr)`` for DuckDB, with the compiled SQL kept for expressions over files.

    The result is converted as Ibis converts it (the same frame, column for column); only the
    compilation and the pre-execution hooks (registering in-memory tables, which these expressions
    have none of) are skipped on a repeated expression.
    """
    import ibis.expr.operations as ops
    import pyarrow.types as pat
    from ibis.backends.duckdb.converter import DuckDBPandasData

    op = expr.op()
    key = (id(backend), op)
    hit = _COMPILED.get(key)
    if hit is None:
        backend._run_pre_execute_hooks(expr)
        hit = (backend.compile(expr), expr.schema())
        if not op.find(ops.InMemoryTable):
            while len(_COMPILED) >= _COMPILED_MAX:
                _COMPILED.pop(next(iter(_COMPILED)))
            _COMPILED[key] = hit
    sql, schema = hit
    table = backend.con.sql(sql).to_arrow_table()
    frame = pd.DataFrame({
        name: (
            col.to_pylist()
            if pat.is_nested(col.type) or pat.is_dictionary(col.type) or col.null_count
            else col.to_pandas()
        )
        for name, col in zip(table.column_names, table.columns)
    })
    return expr.__pandas_result__(DuckDBPandasData.convert_table(frame, schema), schema=schema)


def _microseconds(frame: pd.DataFrame) -> pd.DataFrame:
    """Naive timestamps as ``datetime64[us]`` whatever the backend returned (Spark gives ``ns``)."""
    odd = {
        c: frame[c].astype("datetime64[us]")
        for c in frame.columns
        if pd.api.types.is_datetime64_dtype(frame[c].dtype)
        and not isinstance(frame[c].dtype, pd.DatetimeTZDtype)
        and frame[c].dtype != "datetime64[us]"
    }
    return frame.assign(**odd) if odd else frame


def backend_name(expr: ir.Expr) -> str:
    """The name of the backend an expression runs on (``"duckdb"``, ``"pyspark"``, …).

    Examples
    --------
    >>> import ibis
    >>> backend_name(ibis.memtable({"a": [1]}))
    'duckdb'
    """
    return _backend_for(expr).name


def _backend_for(expr: ir.Expr):
    """The backend an expression is bound to; unbound (in-memory) expressions run on our DuckDB."""
    try:
        return expr._find_backend(use_default=False)
    except Exception:
        return get_backend()


def arg_min(value: ir.Value, key: ir.Value) -> ir.Scalar:
    """The ``value`` of the row with the smallest ``key`` (an aggregate; ties broken arbitrarily).

    Ibis compiles ``value.argmin(key)`` to ``MIN_BY`` on Spark, BigQuery and Snowflake but to the
    ordered aggregate ``FIRST(value ORDER BY key)`` on DuckDB, which is ~30 % slower than DuckDB's
    own ``arg_min``; this uses the native function there.

    Examples
    --------
    >>> import ibis
    >>> t = ibis.memtable({"c": ["a", "a", "b"], "day": [2, 1, 1], "x": [1.5, 2.5, 3.0]})
    >>> execute(t.group_by("c").aggregate(first_x=arg_min(t.x, t.day)).order_by("c"))
       c  first_x
    0  a      2.5
    1  b      3.0
    """
    if backend_name(value) != "duckdb":
        return value.argmin(key)
    return _duckdb_arg_min(value.type(), key.type())(value, key)


@functools.lru_cache(maxsize=None)
def _duckdb_arg_min(value_type, key_type):
    def arg_min(value, key):  # pragma: no cover - a declaration, compiled to SQL
        """DuckDB's arg_min(value, key)."""

    return ibis.udf.agg.builtin(arg_min, name="arg_min", signature=((value_type, key_type), value_type))


def epoch_microseconds(ts: ir.TimestampValue) -> ir.IntegerValue:
    """Whole microseconds since 1970-01-01 of a naive timestamp, as int64 (exact on every engine).

    Spelled as a difference from the epoch (``DATE_DIFF('microsecond', ...)``) everywhere but on
    DuckDB, whose own ``epoch_us`` reads the stored integer (a 1M-event funnel: ~1 % less CPU).

    Examples
    --------
    >>> import datetime as dt, ibis
    >>> t = ibis.memtable({"ts": [dt.datetime(1970, 1, 1, 0, 0, 1, 5)]})
    >>> int(execute(epoch_microseconds(t.ts).name("us").as_table())["us"].iloc[0])
    1000005
    """
    if backend_name(ts) != "duckdb":
        epoch = ibis.literal(datetime.datetime(1970, 1, 1), type="timestamp")
        return ts.delta(epoch, unit="microsecond").cast("int64")
    return _duckdb_epoch_us()(ts).cast("int64")


@functools.lru_cache(maxsize=None)
def _duckdb_epoch_us():
    def epoch_us(ts):  # pragma: no cover - a declaration, compiled to SQL
        """DuckDB's epoch_us(timestamp)."""

    return ibis.udf.scalar.builtin(epoch_us, name="epoch_us", signature=((ibis.dtype("timestamp"),), ibis.dtype("int64")))


def year_and_month(ts: ir.TimestampValue) -> tuple[ir.IntegerValue, ir.IntegerValue]:
    """The calendar year and month (1-12) of a timestamp, as int64 (the same on every engine).

    Ibis writes ``ts.year()`` as ``EXTRACT(year FROM ts)``; on DuckDB its own ``year``/``month``
    functions give the same integers faster (a monthly cohort table of 5M rows: ~12 % less time in
    the scan's projection, measured with both spellings on the same file).

    Examples
    --------
    >>> import datetime as dt, ibis
    >>> t = ibis.memtable({"ts": [dt.datetime(1969, 12, 31, 23, 59), dt.datetime(2024, 2, 29, 12)]})
    >>> y, m = year_and_month(t.ts)
    >>> execute(t.select(y=y, m=m))
          y   m
    0  1969  12
    1  2024   2
    """
    if backend_name(ts) != "duckdb":
        return ts.year().cast("int64"), ts.month().cast("int64")
    year, month = _duckdb_year_month()
    return year(ts), month(ts)


@functools.lru_cache(maxsize=None)
def _duckdb_year_month():
    def year(ts):  # pragma: no cover - a declaration, compiled to SQL
        """DuckDB's year(timestamp)."""

    def month(ts):  # pragma: no cover - a declaration, compiled to SQL
        """DuckDB's month(timestamp)."""

    signature = ((ibis.dtype("timestamp"),), ibis.dtype("int64"))
    return (ibis.udf.scalar.builtin(year, name="year", signature=signature),
            ibis.udf.scalar.builtin(month, name="month", signature=signature))


def exact_sum(value: ir.NumericValue, *, where: ir.BooleanValue | None = None) -> ir.FloatingScalar:
    """Sum of money amounts that is identical on every run and every engine, as float64.

    Engines add floating-point numbers in parallel, in an order that changes from run to run, so the
    last digits of a plain ``sum()`` drift (enough to move a fitted standard error in its 4th
    decimal). Summing as ``DECIMAL(38, 9)`` is exact and order-free; amounts are rounded to 1e-9.

    Examples
    --------
    >>> import ibis
    >>> t = ibis.memtable({"amount": [0.1, 0.2, 0.3]})
    >>> float(execute(exact_sum(t.amount).name("s").as_table())["s"].iloc[0])
    0.6
    """
    return decimal_sum(value, where=where).cast("float64")


def decimal_sum(value: ir.NumericValue, *, where: ir.BooleanValue | None = None) -> ir.DecimalScalar:
    """:func:`exact_sum` kept as ``DECIMAL(38, 9)``, for sums that are summed again later.

    A two-level reduction (purchases -> customer-days -> customers) stays exact and skips a
    float round trip per intermediate row; cast to ``float64`` once at the end.

    Examples
    --------
    >>> import ibis
    >>> t = ibis.memtable({"amount": [0.1, 0.2, 0.3]})
    >>> decimal_sum(t.amount).type()
    Decimal(precision=38, scale=9, nullable=True)
    """
    return value.cast("decimal(38, 9)").sum(where=where)


def to_pandas(expr: ir.Expr) -> pd.DataFrame:
    """Run an Ibis expression returned by cohortkit (e.g. :func:`cohortkit.sources.ga4_events`).

    Examples
    --------
    >>> import ibis
    >>> to_pandas(ibis.memtable({"a": [1, 2]}).mutate(b=ibis._.a * 10))
       a   b
    0  1  10
    1  2  20
    """
    return execute(expr)
