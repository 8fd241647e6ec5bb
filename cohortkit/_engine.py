"""The data engine: every heavy reduction goes through here.

``data`` arguments across cohortkit may be a pandas DataFrame, a ``str``/``Path`` to a CSV or Parquet
file (or a glob of them), or an Ibis table on any backend. :func:`as_table` turns each into an Ibis
table (embedded DuckDB by default), :func:`prepare` resolves and validates the column arguments and
renames them to cohortkit's canonical names, and :func:`execute` runs an expression back to pandas.

Modules never special-case pandas vs SQL themselves: they call :func:`prepare`, build one Ibis
expression on the canonical column names, and call :func:`execute`.

See ``shared/ENGINE.md`` for the measured facts behind these choices (truncate timestamps before
taking differences, typed nulls, explicit tie-breaks, scalars passed as literals).
"""

from __future__ import annotations

import contextlib
import difflib
import glob
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Literal

import ibis
import ibis.expr.types as ir
import pandas as pd

from ._errors import DataError

__all__ = [
    "Column",
    "as_table",
    "prepare",
    "execute",
    "to_pandas",
    "get_backend",
    "literal_timestamp",
    "TIME_UNITS",
    "parse_duration",
    "quiet",
]

_BACKEND = None

#: Time units accepted wherever cohortkit takes ``time_unit``: pandas-style codes → (name, days).
TIME_UNITS: dict[str, tuple[str, float]] = {
    "D": ("day", 1.0),
    "W": ("week", 7.0),
}


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
        _BACKEND = con
    return _BACKEND


def _read_path(path: str | Path) -> ir.Table:
    text = str(path)
    has_glob = any(ch in text for ch in "*?[")
    matches = sorted(glob.glob(text)) if has_glob else ([text] if Path(text).exists() else [])
    if not matches:
        raise DataError(
            f"data path {text!r} does not exist. Pass the path to a CSV or Parquet file "
            "(or a glob such as 'logs/*.parquet'), a pandas DataFrame, or an Ibis table."
        )
    suffixes = {Path(m).suffix.lower() for m in matches}
    if Path(matches[0]).is_dir():
        suffixes = {".parquet"}
        text = str(Path(text) / "**" / "*.parquet")
    con = get_backend()
    with quiet():
        if suffixes <= {".parquet", ".pq"}:
            return con.read_parquet(text)
        if suffixes <= {".csv", ".tsv", ".txt", ".gz"}:
            return con.read_csv(text)
    raise DataError(
        f"data path {text!r} has suffix {sorted(suffixes)}; cohortkit reads .csv and .parquet files. "
        "Convert the file, or load it yourself and pass a pandas DataFrame."
    )


def as_table(data: Any, *, argument: str = "data") -> ir.Table:
    """Turn a DataFrame, a CSV/Parquet path or an Ibis table into an Ibis table.

    Parameters
    ----------
    data : pandas.DataFrame, str, pathlib.Path or ibis.Table
        DataFrames become in-memory tables on the embedded DuckDB backend (zero-copy); paths are
        read by DuckDB without going through pandas; Ibis tables are used as they are, on whatever
        backend they live.
    argument : str
        The argument's name, used in error messages.

    Returns
    -------
    ibis.Table

    Examples
    --------
    >>> import pandas as pd
    >>> t = as_table(pd.DataFrame({"x": [1, 2, 3]}))
    >>> execute(t.x.sum().name("total").as_table())["total"].item()
    6
    """
    if isinstance(data, ir.Table):
        return data
    if isinstance(data, pd.DataFrame):
        frame = data
        if not all(isinstance(c, str) for c in frame.columns):
            frame = frame.rename(columns=str)
        if isinstance(frame.index, pd.MultiIndex) or frame.index.name is not None:
            frame = frame.reset_index()
        try:
            with quiet():
                return ibis.memtable(frame)
        except Exception as exc:  # pyarrow conversion errors on mixed object columns
            raise DataError(
                f"{argument} could not be converted to a table: {exc}. Make each column a single "
                "type (e.g. with pandas.to_numeric / pandas.to_datetime / .astype(str))."
            ) from None
    if isinstance(data, pd.Series):
        raise DataError(
            f"{argument} is a pandas Series; cohortkit needs a table. Pass series.to_frame() "
            "or the DataFrame it came from."
        )
    if isinstance(data, (str, Path)):
        return _read_path(data)
    raise DataError(
        f"{argument} has type {type(data).__name__}; pass a pandas DataFrame, a path to a CSV or "
        "Parquet file, or an Ibis table."
    )


@dataclass(frozen=True)
class Column:
    """A column argument to resolve: ``Column("customer_col", "cust", as_="customer_id")``.

    Parameters
    ----------
    argument : str
        The keyword argument that named the column (``"customer_col"``), quoted in errors.
    name : str or None
        The column name the user gave. ``None`` means the argument is optional and unused.
    as_ : str
        The canonical name the column gets in the prepared table.
    kind : {"any", "timestamp", "numeric", "string"}
        What the column must hold. ``"timestamp"`` accepts dates, timestamps and strings that parse
        as timestamps (cast in the engine); ``"numeric"`` accepts integer, float and decimal
        columns; ``"string"`` casts the values to strings (ids).
    meaning : str
        What the column holds, in words, for the error message ("the customer id").
    """

    argument: str
    name: str | None
    as_: str
    kind: Literal["any", "timestamp", "numeric", "string"] = "any"
    meaning: str = ""


def _missing_message(col: Column, columns: list[str], what: str) -> str:
    found = ", ".join(repr(c) for c in columns[:20]) + (", ..." if len(columns) > 20 else "")
    close = difflib.get_close_matches(col.name, columns, n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in columns}
        if col.name.lower() in lowered:
            close = [lowered[col.name.lower()]]
    hint = f" Did you mean {close[0]!r}?" if close else ""
    meaning = f" that holds {col.meaning}" if col.meaning else ""
    return (
        f"column {col.name!r} ({col.argument}) not found in {what}; it has columns {found}.{hint} "
        f"Pass {col.argument}= the name of the column{meaning}."
    )


def _example(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    return str(value)


def prepare(
    data: Any,
    columns: Iterable[Column],
    *,
    what: str = "data",
    check_empty: bool = True,
) -> ir.Table:
    """Resolve, validate and rename column arguments; return an Ibis table of just those columns.

    Errors are :class:`cohortkit.DataError` with a message naming the column, what was found and
    the fix: a missing column, a date column that does not parse, an amount column that is not
    numeric, or an empty table. All value checks run in one aggregate query.

    Parameters
    ----------
    data : DataFrame, path or ibis.Table
        See :func:`as_table`.
    columns : iterable of Column
        Columns to select; those with ``name=None`` are skipped.
    what : str
        The argument's name for messages (``"transactions"``).
    check_empty : bool
        Raise when the table has no rows.

    Returns
    -------
    ibis.Table
        With one column per resolved :class:`Column`, named ``Column.as_``; timestamp columns are
        cast to ``timestamp``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"cust": ["a", "b"], "when": ["2024-01-02", "2024-02-03"], "amt": [5.0, 7.5]})
    >>> t = prepare(df, [Column("customer_col", "cust", "customer_id", "string"),
    ...                  Column("date_col", "when", "date", "timestamp"),
    ...                  Column("amount_col", "amt", "amount", "numeric")], what="transactions")
    >>> execute(t)
      customer_id       date  amount
    0           a 2024-01-02     5.0
    1           b 2024-02-03     7.5
    """
    table = as_table(data, argument=what)
    cols = [c for c in columns if c.name is not None]
    schema = table.schema()
    names = list(schema.names)
    for col in cols:
        if not isinstance(col.name, str):
            raise DataError(
                f"{col.argument} must be a column name (a string), got {type(col.name).__name__} "
                f"{col.name!r}. Pass {col.argument}='<column name>'."
            )
        if col.name not in names:
            raise DataError(_missing_message(col, names, what))

    selected: dict[str, ir.Value] = {}
    checks: dict[str, ir.Scalar] = {}
    examples: dict[str, ir.Scalar] = {}
    for i, col in enumerate(cols):
        expr = table[col.name]
        dtype = expr.type()
        if col.kind == "timestamp":
            if dtype.is_timestamp() or dtype.is_date():
                expr = expr.cast("timestamp") if not dtype.is_timestamp() or dtype.timezone else expr
            elif dtype.is_string():
                parsed = expr.try_cast("timestamp")
                bad = expr.notnull() & parsed.isnull()
                checks[f"bad{i}"] = bad.sum()
                examples[f"ex{i}"] = ibis.cases((bad, expr), else_=ibis.null("string")).max()
                expr = parsed
            else:
                raise DataError(_not_type_message(table, col, dtype, what))
        elif col.kind == "numeric":
            if not dtype.is_numeric():
                raise DataError(_not_type_message(table, col, dtype, what))
            if dtype.is_decimal():
                expr = expr.cast("float64")
        elif col.kind == "string":
            if not dtype.is_string():
                expr = expr.cast("string")
        selected[col.as_] = expr

    if check_empty or checks:
        row = execute(
            table.aggregate(__n=table.count(), **checks, **examples), backend_of=table
        ).iloc[0]
        if check_empty and int(row["__n"]) == 0:
            raise DataError(
                f"{what} is empty (0 rows); cohortkit needs at least one row. Check the file path "
                "or the filter that produced it."
            )
        for i, col in enumerate(cols):
            key = f"bad{i}"
            if key in checks and int(row[key] or 0) > 0:
                n_bad = int(row[key])
                raise DataError(
                    f"column {col.name!r} ({col.argument}) must hold dates, but {n_bad} of "
                    f"{int(row['__n'])} values do not parse as dates, e.g. "
                    f"{_example(row[f'ex{i}'])}. Convert the column with "
                    "pandas.to_datetime(..., format=...) or drop those rows."
                )
    return table.select(**selected)


def _not_type_message(table: ir.Table, col: Column, dtype, what: str) -> str:
    try:
        sample = execute(table.select(v=table[col.name]).filter(table[col.name].notnull()).limit(1))
        example = f" (e.g. {_example(sample['v'].iloc[0])})" if len(sample) else ""
    except Exception:  # the example is a courtesy; never mask the real message
        example = ""
    if col.kind == "timestamp":
        fix = (
            "Convert it with pandas.to_datetime(...) (for numbers like 19970101 use "
            "format='%Y%m%d' on the values as strings)."
        )
        return f"column {col.name!r} ({col.argument}) must hold dates, but has type {dtype}{example}. {fix}"
    fix = (
        "Convert it with pandas.to_numeric(...) after removing currency symbols and thousands "
        "separators."
    )
    return f"column {col.name!r} ({col.argument}) must be numeric, but has type {dtype}{example}. {fix}"


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
    probe = backend_of if backend_of is not None else expr
    try:
        backend = probe._find_backend(use_default=False)
    except Exception:
        backend = get_backend()
    if isinstance(expr, ir.Scalar):
        expr = expr.as_table()
    elif isinstance(expr, ir.Column):
        expr = expr.as_table()
    with quiet():
        result = backend.execute(expr)
    if not isinstance(result, pd.DataFrame):
        result = pd.DataFrame(result)
    return result


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


def literal_timestamp(value: Any, *, argument: str) -> ibis.expr.types.TimestampScalar | None:
    """A user-supplied date (str, datetime, Timestamp) as an Ibis timestamp literal; None passes.

    Examples
    --------
    >>> literal_timestamp("1998-06-30", argument="observation_end").execute()
    Timestamp('1998-06-30 00:00:00')
    """
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        ts = pd.NaT
    if ts is pd.NaT:
        raise DataError(
            f"{argument}={value!r} is not a date. Pass a date such as '1998-06-30' or a "
            "pandas.Timestamp."
        )
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ibis.literal(ts.to_pydatetime(), type="timestamp")


def parse_duration(value: Any, *, argument: str) -> pd.Timedelta:
    """Parse a window such as ``"7D"``, ``"90D"``, ``"2W"``, ``"12h"`` or a Timedelta.

    Calendar months and years are refused: their length varies, so cohortkit never assumes one.

    Examples
    --------
    >>> parse_duration("7D", argument="window")
    Timedelta('7 days 00:00:00')
    """
    if isinstance(value, pd.Timedelta):
        td = value
    else:
        try:
            td = pd.Timedelta(value)
        except (ValueError, TypeError):
            td = pd.NaT
        if isinstance(value, str) and value.strip()[-1:].upper() in {"M", "Y"} and not value.strip().lower().endswith(("min", "ms")):
            td = pd.NaT
    if td is pd.NaT or pd.isna(td) or td <= pd.Timedelta(0):
        raise DataError(
            f"{argument}={value!r} is not a positive duration. Pass a string such as '7D', '90D', "
            "'2W' or '12h', or a pandas.Timedelta (months and years vary in length; use days)."
        )
    return td
