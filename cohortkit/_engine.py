"""The data engine: every heavy reduction goes through here.

``data`` arguments across cohortkit may be a pandas DataFrame, a ``str``/``Path`` to a CSV or Parquet
file (or a glob of them), or an Ibis table on any backend. :func:`as_table` turns each into an Ibis
table (embedded DuckDB by default), :func:`prepare` resolves and validates the column arguments and
renames them to cohortkit's canonical names, and :func:`execute` runs an expression back to pandas.

Modules never special-case pandas vs SQL themselves: they call :func:`prepare`, build one Ibis
expression on the canonical column names, and call :func:`execute`.

See ``shared/ENGINE.md`` for the measured facts behind these choices (truncate timestamps before
taking differences, typed nulls, explicit tie-breaks, scalars passed as literals).

Input policies (every function that takes ``data`` inherits them through :func:`prepare`)
------------------------------------------------------------------------------------------
Missing values
    By default a column of kind ``"string"`` (ids), ``"numeric"`` (amounts, counts) or
    ``"timestamp"`` must have no missing values: nulls/NaN/NaT raise :class:`~cohortkit.DataError`
    with their count and the fix (drop or fill those rows), instead of becoming a customer called
    "nan", a NaN monetary value or a silently dropped row. Empty or blank strings in an id column
    count as missing. Functions whose documented semantics *ignore* or *count* missing values
    (funnel events, NPS non-responses, …) declare ``Column(..., missing="allow")``; kind ``"any"``
    (grouping columns) allows them by default, and a missing group is a group of its own.
Infinite numbers
    ``inf``/``-inf`` in a numeric column always raise: no cohortkit output may contain ``inf``.
Types
    Booleans are not numbers (a True/False column passed as an amount or a count raises). Text is
    never parsed as a number (use ``pandas.to_numeric`` after removing currency symbols). A pandas
    ``object`` column mixing types is resolved per kind: ids become strings (``1`` → ``"1"``);
    numbers stored as Python objects become floats; any non-number in a numeric column raises with
    an example.
Time zones
    Timestamps are compared as UTC wall-clock times. Time-zone-aware timestamps (a
    ``datetime64[ns, tz]`` column, aware ``Timestamp`` objects, or strings with an offset such as
    ``"2024-01-05T10:00:00+09:00"``) are converted to UTC and then made naive, so day boundaries are
    UTC days; to analyse in local calendar days, convert first with
    ``col.dt.tz_convert("Asia/Tokyo").dt.tz_localize(None)``. A column that *mixes* aware and naive
    values is ambiguous and raises.
Date strings
    Strings are parsed by the engine (ISO 8601 ``"2024-01-05"``, ``"2024-01-05 13:00"``, …). Values
    that do not parse (``"01/02/2024"`` is ambiguous, ``"5 Jan 2024"`` is not ISO) raise with their
    count and an example; convert such columns with ``pandas.to_datetime(..., format=...)``.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import glob
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Literal

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from ._errors import DataError

__all__ = [
    "Column",
    "transaction_columns",
    "as_table",
    "prepare",
    "execute",
    "to_pandas",
    "parse_timestamp",
    "observation_end",
    "exact_sum",
    "decimal_sum",
    "arg_min",
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
        # object columns mixing types (ids like 17 and "A-17") would fail later, inside the query
        mixed = {
            c: frame[c].map(str, na_action="ignore").astype("str")
            for c in frame.columns
            if frame[c].dtype == object and _mixed_scalars(frame[c])
        }
        if mixed:
            frame = frame.assign(**mixed)
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


def _mixed_scalars(values: pd.Series) -> bool:
    """An object column of plain scalars of several types (not nested records or lists)."""
    if pd.api.types.infer_dtype(values, skipna=True) not in ("mixed", "mixed-integer"):
        return False
    present = values[values.notna()]
    return bool(present.map(lambda v: isinstance(v, (str, int, float, np.number))).all())


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
    missing : {"refuse", "allow"}, optional
        What to do with missing values (and, for ``"string"`` columns, empty strings): ``"refuse"``
        raises :class:`~cohortkit.DataError`; ``"allow"`` lets them through for the caller to
        handle. Default: ``"allow"`` for kind ``"any"``, ``"refuse"`` otherwise.
    """

    argument: str
    name: str | None
    as_: str
    kind: Literal["any", "timestamp", "numeric", "string"] = "any"
    meaning: str = ""
    missing: Literal["refuse", "allow"] | None = None

    @property
    def refuses_missing(self) -> bool:
        if self.missing is None:
            return self.kind != "any"
        return self.missing == "refuse"


def transaction_columns(customer_col: str, date_col: str, amount_col: str | None) -> list[Column]:
    """The column spec of a transaction log: customer id, purchase time and (optional) amount.

    Examples
    --------
    >>> [c.as_ for c in transaction_columns("cust", "when", None)]
    ['customer_id', 'date']
    """
    cols = [
        Column("customer_col", customer_col, "customer_id", "string", "the customer id"),
        Column("date_col", date_col, "date", "timestamp", "the purchase date"),
        Column("amount_col", amount_col, "amount", "numeric", "the purchase amount"),
    ]
    return [c for c in cols if c.name is not None]


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
    numeric, or an empty table. All value checks run in one aggregate query (two on a Parquet path:
    one that file statistics answer, one that scans the values it must; a third counts blank ids
    only when the id column's minimum shows that one can exist).

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
    cols = [c for c in columns if c.name is not None]
    for col in cols:
        if not isinstance(col.name, str):
            raise DataError(
                f"{col.argument} must be a column name (a string), got {type(col.name).__name__} "
                f"{col.name!r}. Pass {col.argument}='<column name>'."
            )
    if isinstance(data, pd.DataFrame):
        data = _clean_frame(_normal_frame(data), cols, what)
    table = as_table(data, argument=what)
    schema = table.schema()
    names = list(schema.names)
    for col in cols:
        if col.name not in names:
            raise DataError(_missing_message(col, names, what))

    selected: dict[str, ir.Value] = {}
    # ``checks`` are answered from Parquet statistics (counts, null counts, minimums); ``scans``
    # need every value. On a Parquet path they run as two queries, so that a clean log's id
    # column is never read just to be validated (0.45 s -> 0.1 s on 10M rows).
    checks: dict[str, ir.Scalar] = {}
    scans: dict[str, ir.Scalar] = {}
    blank_counts: dict[int, ir.Scalar] = {}
    for i, col in enumerate(cols):
        expr = table[col.name]
        dtype = expr.type()
        if col.refuses_missing:
            # count(*) - count(column): answered from Parquet statistics without a scan
            checks[f"null{i}"] = table.count() - expr.count()
            if dtype.is_floating():  # NaN stored in a file (pandas NaN arrives as null)
                scans[f"nan{i}"] = expr.isnan().fill_null(False).cast("int64").sum()
            if dtype.is_string() and col.kind == "string":
                # blank ids ('' or ASCII spaces) sort first in binary order, so the column's minimum
                # tells whether any can exist; only then are they counted (with a regex, ~10x faster
                # than strip() == "" on DuckDB). Saves a regex over every row of a clean log.
                checks[f"lowest{i}"] = expr.min()
                blank_counts[i] = expr.re_search(r"^\s*$").fill_null(False).cast("int64").sum()
        if col.kind == "timestamp":
            if dtype.is_timestamp() or dtype.is_date():
                expr = expr.cast("timestamp") if not dtype.is_timestamp() or dtype.timezone else expr
            elif dtype.is_string():
                # strings with a UTC offset are instants: parse as UTC, then drop the zone
                parsed = expr.try_cast(ibis.expr.datatypes.Timestamp(timezone="UTC")).cast("timestamp")
                bad = expr.notnull() & parsed.isnull()
                scans[f"bad{i}"] = bad.cast("int64").sum()
                scans[f"ex{i}"] = ibis.cases((bad, expr), else_=ibis.null("string")).max()
                offset = expr.re_search(_OFFSET).fill_null(False)
                scans[f"aware{i}"] = (offset & parsed.notnull()).cast("int64").sum()
                scans[f"naive{i}"] = (~offset & parsed.notnull()).cast("int64").sum()
                scans[f"exa{i}"] = ibis.cases((offset, expr), else_=ibis.null("string")).min()
                scans[f"exn{i}"] = ibis.cases(
                    (~offset & parsed.notnull(), expr), else_=ibis.null("string")
                ).min()
                expr = parsed
            else:
                raise DataError(_not_type_message(table, col, dtype, what))
        elif col.kind == "numeric":
            if not dtype.is_numeric():
                raise DataError(_not_type_message(table, col, dtype, what))
            if dtype.is_decimal():
                expr = expr.cast("float64")
            if dtype.is_floating():
                scans[f"inf{i}"] = expr.isinf().fill_null(False).cast("int64").sum()
        elif col.kind == "string":
            if not dtype.is_string():
                expr = expr.cast("string")
        selected[col.as_] = expr

    if check_empty or checks or scans:
        queries = [dict(__n=table.count(), **checks, **scans)]
        if scans and _is_parquet_path(data):
            queries = [dict(__n=table.count(), **checks), scans]
        row = pd.concat([execute(table.aggregate(**q), backend_of=table).iloc[0] for q in queries])
        n_rows = int(row["__n"])
        if check_empty and n_rows == 0:
            raise DataError(
                f"{what} is empty (0 rows); cohortkit needs at least one row. Check the file path "
                "or the filter that produced it."
            )

        def count(key: str) -> int:
            return int(row[key] or 0) if key in row.index else 0

        for i, blank in blank_counts.items():
            lowest = row[f"lowest{i}"]
            if isinstance(lowest, str) and (lowest == "" or ord(lowest[0]) <= 32):
                n_blank = execute(blank.name("n").as_table(), backend_of=table)["n"].iloc[0]
                row[f"blank{i}"] = int(n_blank or 0)

        for i, col in enumerate(cols):
            meaning = col.meaning or "a value"
            if count(f"null{i}") or count(f"nan{i}"):
                raise DataError(
                    f"column {col.name!r} ({col.argument}) has {count(f'null{i}') + count(f'nan{i}')} "
                    "missing value(s) "
                    f"in {n_rows} rows; every row needs {meaning}. Drop or fill those rows first, "
                    f"e.g. {what}.dropna(subset=[{col.name!r}])."
                )
            if count(f"blank{i}"):
                raise DataError(
                    f"column {col.name!r} ({col.argument}) has {count(f'blank{i}')} empty value(s) "
                    f"('' or spaces) in {n_rows} rows; every row needs {meaning}. Drop those rows "
                    f"first, e.g. {what}[{what}[{col.name!r}].str.strip() != '']."
                )
            if count(f"bad{i}"):
                raise DataError(
                    f"column {col.name!r} ({col.argument}) must hold dates, but {count(f'bad{i}')} of "
                    f"{n_rows} values do not parse as dates, e.g. "
                    f"{_example(row[f'ex{i}'])}. Convert the column with "
                    "pandas.to_datetime(..., format=...) or drop those rows."
                )
            if count(f"aware{i}") and count(f"naive{i}"):
                raise DataError(_mixed_tz_message(
                    col, count(f"aware{i}"), count(f"naive{i}"), row[f"exa{i}"], row[f"exn{i}"]
                ))
            if count(f"inf{i}"):
                raise DataError(
                    f"column {col.name!r} ({col.argument}) has {count(f'inf{i}')} infinite value(s) "
                    f"in {n_rows} rows; {meaning} must be a finite number. Fix or drop those rows, "
                    f"e.g. {what}[numpy.isfinite({what}[{col.name!r}])]."
                )
    return table.select(**selected)


def _is_parquet_path(data: Any) -> bool:
    """A path (or glob, or folder) of Parquet files: their statistics answer counts and minimums."""
    if not isinstance(data, (str, Path)):
        return False
    text = str(data)
    return Path(text).is_dir() or Path(text).suffix.lower() in {".parquet", ".pq"}


#: a time of day followed by a UTC offset or "Z": "10:00+09:00", "10:00:00.5Z", "10:00 -0500"
_OFFSET = r"\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*([zZ]|[+-]\d{2}(:?\d{2})?)$"


def _mixed_tz_message(col: Column, n_aware: int, n_naive: int, aware: Any, naive: Any) -> str:
    return (
        f"column {col.name!r} ({col.argument}) mixes time-zone-aware and naive timestamps "
        f"({n_aware} with a time zone, e.g. {_example(aware)}; {n_naive} without, e.g. "
        f"{_example(naive)}), so their order is ambiguous. Make them consistent first: "
        "pandas.to_datetime(column, utc=True) if the naive ones are UTC, or localize the naive ones "
        "with .dt.tz_localize('Asia/Tokyo') (your zone) before combining."
    )


def _normal_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """String column names and a plain index (as :func:`as_table` does)."""
    if not all(isinstance(c, str) for c in frame.columns):
        frame = frame.rename(columns=str)
    if isinstance(frame.index, pd.MultiIndex) or frame.index.name is not None:
        frame = frame.reset_index()
    return frame


def _clean_frame(frame: pd.DataFrame, cols: list[Column], what: str) -> pd.DataFrame:
    """Just the needed columns of a DataFrame, with ``object`` columns resolved per kind.

    Unused columns are never converted (a messy free-text column cannot break a query), and an
    ``object`` column that mixes types becomes one type or raises with the column's argument.
    """
    names = list(dict.fromkeys(c.name for c in cols if c.name in frame.columns))
    if len(names) < len(cols) and any(c.name not in frame.columns for c in cols):
        missing = next(c for c in cols if c.name not in frame.columns)
        raise DataError(_missing_message(missing, [str(c) for c in frame.columns], what))
    if frame.columns.duplicated().any():
        dupes = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
        if any(n in dupes for n in names):
            raise DataError(
                f"{what} has several columns named {dupes[0]!r}; rename or drop the duplicates "
                "(e.g. data.loc[:, ~data.columns.duplicated()])."
            )
    out = frame[names]
    changed: dict[str, pd.Series] = {}
    for col in cols:
        values = out[col.name]
        if values.dtype != object or col.name in changed:
            continue
        changed[col.name] = _clean_object(values, col)
    if changed:
        out = out.assign(**changed)
    return out


def _clean_object(values: pd.Series, col: Column) -> pd.Series:
    import datetime as _dt
    import numbers

    present = values[values.notna()]
    if col.kind == "numeric":
        is_bool = present.map(lambda v: isinstance(v, (bool, np.bool_)))
        if len(present) and bool(is_bool.all()):
            return values.astype("boolean")  # refused as booleans, with the usual message
        bad = present[is_bool | ~present.map(lambda v: isinstance(v, numbers.Number))]
        if len(bad):
            example = bad.iloc[0]
            raise DataError(
                f"column {col.name!r} ({col.argument}) must be numeric, but {len(bad)} of "
                f"{len(values)} values are not numbers, e.g. {example!r} "
                f"({type(example).__name__}). Convert it with pandas.to_numeric(...) after "
                "removing currency symbols and thousands separators."
            )
        return pd.to_numeric(values.astype("float64"))
    if col.kind == "timestamp":
        is_time = present.map(lambda v: isinstance(v, (_dt.datetime, _dt.date, np.datetime64)))
        if len(present) and bool(is_time.all()):
            aware = present.map(lambda v: getattr(v, "tzinfo", None) is not None)
            if aware.any() and not aware.all():
                raise DataError(_mixed_tz_message(
                    col, int(aware.sum()), int((~aware).sum()), present[aware].iloc[0],
                    present[~aware].iloc[0],
                ))
            if aware.all() and len(present):
                return pd.to_datetime(values, utc=True).dt.tz_localize(None)
            return pd.to_datetime(values)
        return values.map(str, na_action="ignore").astype("str")
    # ids, names, groups: one string type (1 and "1" are the same id, as after a cast)
    return values.map(lambda v: v if isinstance(v, str) else str(v), na_action="ignore").astype("str")


def _not_type_message(table: ir.Table, col: Column, dtype, what: str) -> str:
    try:
        value = table[col.name]
        keep = value.notnull()
        if col.kind == "numeric" and dtype.is_string():
            # show a value that is not a number ('x'), not one that merely is text ('10')
            text = table.filter(keep & value.try_cast("float64").isnull())
            if int(execute(text.count().name("n"))["n"].iloc[0]):
                table, keep = text, ibis.literal(True)
        sample = execute(table.select(v=table[col.name]).filter(keep).limit(1))
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
    backend = _backend_for(backend_of if backend_of is not None else expr)
    if isinstance(expr, ir.Scalar):
        expr = expr.as_table()
    elif isinstance(expr, ir.Column):
        expr = expr.as_table()
    with quiet():
        result = backend.execute(expr)
    if not isinstance(result, pd.DataFrame):
        result = pd.DataFrame(result)
    return result


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
    if _backend_for(value).name != "duckdb":
        return value.argmin(key)
    return _duckdb_arg_min(value.type(), key.type())(value, key)


@functools.lru_cache(maxsize=None)
def _duckdb_arg_min(value_type, key_type):
    def arg_min(value, key):  # pragma: no cover - a declaration, compiled to SQL
        """DuckDB's arg_min(value, key)."""

    return ibis.udf.agg.builtin(arg_min, name="arg_min", signature=((value_type, key_type), value_type))


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


def parse_timestamp(value: Any, *, argument: str) -> pd.Timestamp:
    """A user-supplied date (str, datetime, Timestamp) as a UTC-naive :class:`pandas.Timestamp`.

    Time-zone-aware values are converted to UTC first, as the engine does with timestamp columns.

    Examples
    --------
    >>> parse_timestamp("1998-06-30T09:00:00+09:00", argument="observation_end")
    Timestamp('1998-06-30 00:00:00')
    """
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        ts = pd.NaT
    if ts is pd.NaT or pd.isna(ts):
        raise DataError(
            f"{argument}={value!r} is not a date. Pass a date such as '1998-06-30' or a "
            "pandas.Timestamp."
        )
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts


def literal_timestamp(value: Any, *, argument: str) -> ibis.expr.types.TimestampScalar | None:
    """A user-supplied date (str, datetime, Timestamp) as an Ibis timestamp literal; None passes.

    Examples
    --------
    >>> literal_timestamp("1998-06-30", argument="observation_end").execute()
    Timestamp('1998-06-30 00:00:00')
    """
    if value is None:
        return None
    return ibis.literal(parse_timestamp(value, argument=argument).to_pydatetime(), type="timestamp")


def _date_text(ts: pd.Timestamp) -> str:
    return str(ts.date()) if ts == ts.normalize() else str(ts)


def observation_end(
    value: Any, first: pd.Timestamp, last: pd.Timestamp, *, argument: str = "observation_end"
) -> pd.Timestamp:
    """The end of observation: ``value`` parsed, or the last purchase when ``None``.

    ``first`` and ``last`` are the data's first and last purchase times (one query, passed in as
    scalars). A date before the day of the first purchase would observe nothing and raises.

    Examples
    --------
    >>> observation_end(None, pd.Timestamp("2024-01-05"), pd.Timestamp("2024-03-15 10:00"))
    Timestamp('2024-03-15 10:00:00')
    """
    if value is None:
        return last
    ts = parse_timestamp(value, argument=argument)
    if ts.normalize() < first.normalize():
        raise DataError(
            f"{argument}={value!r} is before the first purchase ({_date_text(first)}); nothing would "
            f"be observed. Pass a date on or after {_date_text(first.normalize())}, or leave "
            f"observation_end=None to use the day of the last purchase ({_date_text(last.normalize())})."
        )
    return ts


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
