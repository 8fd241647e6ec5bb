"""Conformance: every public table function returns the same frame from every input kind.

The reference is the function's result on a pandas DataFrame with ``datetime64[ns]`` timestamps
(kind ``pandas_ns``). Every other cell of the matrix (input kind × function) must give the IDENTICAL
frame: ``pandas.testing.assert_frame_equal`` on the whole frame (index, columns, dtypes — the id
dtype included — and values, floats to a relative 1e-9 so that only summation order may differ),
plus ``DataFrame.attrs``; ``note`` columns are part of the frame.

Data: a deterministic slice of the bundled shop (every 60th customer, plus the first customers with
a purchase just after midnight, just before midnight, on the 1st of a month before 09:00 — the
previous month in UTC —, late on a month's last day, and two purchases on the same day), their
transactions, web events (plus every 100th visitor's), NPS answers, and the whole campaigns table.
Timestamps are whole seconds, so that every kind (millisecond Parquet included) can hold them.

Input kinds (``KINDS``):
  pandas_ns, pandas_us        DataFrame with datetime64[ns] / datetime64[us] timestamps
  csv                         DataFrame.to_csv
  parquet_pandas              DataFrame.to_parquet (ns timestamps)
  parquet_us                  pyarrow, timestamp('us')
  parquet_glob                "dir/part-*.parquet", two parts written by pandas (ns)
  parquet_dir                 a folder of two parts written by pyarrow (us)
  ibis_duckdb                 ibis.duckdb.connect().read_parquet(<the pandas-written Parquet>),
                              a connection that is not cohortkit's own
  memtable                    ibis.memtable(DataFrame)
  csv_ja_utf8, csv_cp932      Japanese column names (会員ID/注文日/金額, …), UTF-8 / cp932 (Shift_JIS);
                              the cp932 result must equal the UTF-8 one, which must equal the
                              reference once the output's Japanese column names are mapped back
  csv_bom                     UTF-8 with a byte-order mark
  pandas_tz                   tz-aware (tz_localize("Asia/Tokyo") of the naive times): the policy keeps
                              the wall-clock time, so the result equals the naive input's
  parquet_tz                  DataFrame.to_parquet of that tz-aware frame
  csv_offset                  ISO strings "2023-01-01T02:19:05+09:00"
  parquet_int96               pq.write_table(..., use_deprecated_int96_timestamps=True), as Spark writes
  parquet_ms                  pyarrow, timestamp('ms')
  csv_slash                   "YYYY/MM/DD HH:MM:SS" strings
  read_table_tz               ck.read_table(<frame of the UTC equivalents, tz-aware UTC>, tz="Asia/Tokyo")
  spark                       (marked ``spark``) an Ibis PySpark table reading the µs Parquet

Functions (``CASES``): cohort_table (M with amount; W; M unbounded), cohort_matrix of the first,
repeat_rate, days_to_second_purchase, rfm_summary (D with amount and observation_end; W without
either), calibration_holdout, funnel (by campaign), ad_metrics (with date_col), nps (by campaign),
ad_value (campaigns, customers and transactions all given in the kind; clv a fixed DataFrame),
value_curve. Integer customer ids (C000123 → 123, in transactions, customers and clv) run through
the functions that return customer ids or join tables on them (days_to_second_purchase, rfm_D,
calibration_holdout, ad_value) on every kind but the Japanese-header ones, and must come back as
int64; with integer ids the reference must equal the text-id reference once the ids are mapped back.

Separately: cohortkit.sources.ga4_events / ga4_transactions / ga4_customers on a GA4 export made with
``to_ga4_export``, given as a Parquet path (reference), a glob of two parts, an Ibis table on a
foreign DuckDB connection and a DataFrame of the nested records; and sources.ad_costs on one Google
Ads cost report (Japanese headers) saved as UTF-8, cp932 and UTF-16 (tab-separated).

Combinations left out because they are impossible or meaningless (not skipped):
  * nps × the timestamp kinds (pandas_tz, parquet_tz, csv_offset, parquet_int96, parquet_ms,
    csv_slash, read_table_tz): nps has no time column argument; those kinds differ only in a column
    nps never reads.
  * integer ids × funnel / ad_metrics / nps: funnel's users include web visitors ("V…" ids, not
    customers), ad_metrics has no id column, nps returns no ids.
  * GA4 functions × CSV, the timestamp kinds and Japanese names: a GA4 export is nested records (no
    CSV) with an INT64 ``event_timestamp`` (no timestamp column to store other ways) and fixed
    column names.
  * ad_costs × Parquet / Ibis kinds: ad_costs reads only a CSV path or a DataFrame; its input kinds
    are the text encodings.
  * cohort_matrix is computed from each kind's cohort_table result (it takes no ``data`` argument).

Left out only to keep the file near a minute (a CSV input costs ~0.5 s a call: DuckDB sniffs the
file on every query): integer ids × cohort_table / cohort_matrix / repeat_rate / rfm_W_no_amount /
value_curve (no ids in their output; ids only group rows there, as in rfm_D), and integer ids ×
csv_ja_utf8 / csv_cp932 (those kinds are about text encodings; the id policy is covered by the
other kinds).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import pytest

import cohortkit as ck

TOKYO = "Asia/Tokyo"
OBS_END = "2024-12-31"
STEPS = ["session_start", "product_view", "add_to_cart", "purchase"]
RTOL = 1e-9

# Japanese column names per table (kinds csv_ja_utf8 and csv_cp932)
JA = {
    "transactions": {"customer_id": "会員ID", "date": "注文日", "amount": "金額"},
    "customers": {"customer_id": "会員ID", "campaign": "キャンペーン", "channel": "チャネル",
                  "acquired_at": "獲得日時"},
    "events": {"user_id": "ユーザーID", "timestamp": "日時", "event": "イベント",
               "campaign": "キャンペーン"},
    "campaigns": {"date": "日付", "campaign": "キャンペーン", "channel": "チャネル",
                  "impressions": "表示回数", "clicks": "クリック数", "spend": "費用",
                  "conversions": "コンバージョン", "revenue": "売上"},
    "nps": {"customer_id": "会員ID", "answered_at": "回答日時", "score": "スコア",
            "campaign": "キャンペーン"},
    "clv": {"customer_id": "会員ID"},
}
FROM_JA = {ja: en for table in JA.values() for en, ja in table.items()}


# --- input kinds ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    name: str
    build: Callable[[Any, pd.DataFrame, Path], Any]  # (world, frame, stem) -> the data argument
    ja: bool = False  # Japanese column names
    time: bool = False  # differs from pandas_ns only in how the timestamps are stored
    marks: tuple = ()


def _time_cols(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c])]


def _with_times(frame: pd.DataFrame, fn) -> pd.DataFrame:
    return frame.assign(**{c: fn(frame[c]) for c in _time_cols(frame)})


def _arrow(frame: pd.DataFrame, unit: str):
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=False)
    fields = [
        pa.field(f.name, pa.timestamp(unit, tz=f.type.tz)) if pa.types.is_timestamp(f.type) else f
        for f in table.schema
    ]
    return table.cast(pa.schema(fields, metadata=table.schema.metadata))


def _write_arrow(frame: pd.DataFrame, path: Path, unit: str = "us", **kwargs) -> str:
    import pyarrow.parquet as pq

    pq.write_table(_arrow(frame, unit), path, **kwargs)
    return str(path)


def _csv(frame: pd.DataFrame, path: Path, encoding: str = "utf-8") -> str:
    frame.to_csv(path, index=False, encoding=encoding)
    return str(path)


def _pandas_parquet(frame: pd.DataFrame, path: Path) -> str:
    frame.to_parquet(path)
    return str(path)


def _halves(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    half = len(frame) // 2
    return frame.iloc[:half], frame.iloc[half:]


def _glob(world, frame, stem):
    folder = stem.with_name(stem.name + "-glob")
    folder.mkdir()
    for i, part in enumerate(_halves(frame)):
        part.to_parquet(folder / f"part-{i}.parquet")
    return str(folder / "part-*.parquet")


def _folder(world, frame, stem):
    folder = stem.with_name(stem.name + "-dir")
    folder.mkdir()
    for i, part in enumerate(_halves(frame)):
        _write_arrow(part, folder / f"part-{i}.parquet")
    return str(folder)


def _tokyo(frame):
    return _with_times(frame, lambda s: s.dt.tz_localize(TOKYO))


def _int96(world, frame, stem):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = stem.with_suffix(".parquet")
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path,
                   use_deprecated_int96_timestamps=True)
    return str(path)


def _memtable(frame):
    import ibis

    return ibis.memtable(frame)


def _read_table_tz(world, frame, stem):
    utc = _with_times(frame, lambda s: s.dt.tz_localize(TOKYO).dt.tz_convert("UTC"))
    return ck.read_table(utc, tz=TOKYO)


KINDS = [
    Kind("pandas_ns", lambda w, f, s: f),
    Kind("pandas_us", lambda w, f, s: _with_times(f, lambda c: c.astype("datetime64[us]"))),
    Kind("csv", lambda w, f, s: _csv(f, s.with_suffix(".csv"))),
    Kind("parquet_pandas", lambda w, f, s: _pandas_parquet(f, s.with_suffix(".parquet"))),
    Kind("parquet_us", lambda w, f, s: _write_arrow(f, s.with_suffix(".parquet"), "us")),
    Kind("parquet_glob", _glob),
    Kind("parquet_dir", _folder),
    Kind("ibis_duckdb", lambda w, f, s: w.foreign.read_parquet(
        _pandas_parquet(f, s.with_suffix(".parquet")))),
    Kind("memtable", lambda w, f, s: _memtable(f)),
    Kind("csv_ja_utf8", lambda w, f, s: _csv(f, s.with_suffix(".csv")), ja=True),
    Kind("csv_cp932", lambda w, f, s: _csv(f, s.with_suffix(".csv"), "cp932"), ja=True),
    Kind("csv_bom", lambda w, f, s: _csv(f, s.with_suffix(".csv"), "utf-8-sig")),
    Kind("pandas_tz", lambda w, f, s: _tokyo(f), time=True),
    Kind("parquet_tz", lambda w, f, s: _pandas_parquet(_tokyo(f), s.with_suffix(".parquet")),
         time=True),
    Kind("csv_offset", lambda w, f, s: _csv(_with_times(
        f, lambda c: c.dt.strftime("%Y-%m-%dT%H:%M:%S+09:00")), s.with_suffix(".csv")), time=True),
    Kind("parquet_int96", _int96, time=True),
    Kind("parquet_ms", lambda w, f, s: _write_arrow(f, s.with_suffix(".parquet"), "ms"), time=True),
    Kind("csv_slash", lambda w, f, s: _csv(_with_times(
        f, lambda c: c.dt.strftime("%Y/%m/%d %H:%M:%S")), s.with_suffix(".csv")), time=True),
    Kind("read_table_tz", _read_table_tz, time=True),
    Kind("spark", lambda w, f, s: w.spark().read_parquet(
        _write_arrow(f, s.with_suffix(".parquet"), "us")), marks=(pytest.mark.spark,)),
]
KIND = {k.name: k for k in KINDS}


# --- the data ---------------------------------------------------------------------------------------


def _whole_seconds(frame: pd.DataFrame) -> pd.DataFrame:
    return _with_times(frame, lambda c: c.dt.floor("s").astype("datetime64[ns]"))


def _shop_slice() -> dict[str, pd.DataFrame]:
    shop = ck.datasets.load_shop()
    tx = shop.transactions
    t = tx["date"]
    picks = set(shop.customers["customer_id"].iloc[::60])
    edges = {
        "after_midnight": (t.dt.hour == 0) & (t.dt.minute < 5),
        "before_midnight": (t.dt.hour == 23) & (t.dt.minute >= 55),
        "first_of_month_morning": (t.dt.day == 1) & (t.dt.hour < 9),
        "month_end_night": t.dt.is_month_end & (t.dt.hour >= 21),
    }
    for mask in edges.values():
        picks |= set(tx.loc[mask, "customer_id"].sort_values().head(3))
    days = tx.assign(day=t.dt.normalize()).groupby(["customer_id", "day"]).size()
    picks |= set(days[days > 1].index.get_level_values("customer_id")[:3])
    # ... and customers whose second purchase is on the day of their first (days_to_second == 0)
    first_two = tx.sort_values(["customer_id", "date"]).groupby("customer_id").head(2)
    span = first_two.groupby("customer_id")["date"].agg(["count", lambda d: d.dt.normalize().nunique()])
    picks |= set(span.index[(span.iloc[:, 0] == 2) & (span.iloc[:, 1] == 1)][:2])

    customers = shop.customers[shop.customers["customer_id"].isin(picks)].reset_index(drop=True)
    transactions = tx[tx["customer_id"].isin(picks)].reset_index(drop=True)
    ev = shop.events
    visitor = ev["user_id"].str.startswith("V") & (ev["user_id"].str[1:].astype(int) % 100 == 0)
    events = ev[ev["user_id"].isin(picks) | visitor].reset_index(drop=True)
    nps = shop.nps[shop.nps["customer_id"].isin(picks)].merge(
        customers[["customer_id", "campaign"]], on="customer_id", how="left")
    number = customers["customer_id"].str[1:].astype("int64")
    clv = pd.DataFrame({"customer_id": customers["customer_id"],
                        "clv": 1500.0 + 37.5 * (number % 41).astype("float64")})
    frames = dict(transactions=transactions, customers=customers, events=events,
                  campaigns=shop.campaigns.copy(), nps=nps, clv=clv)
    return {name: _whole_seconds(frame) for name, frame in frames.items()}


def _int_ids(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    out = dict(frames)
    for name in ("transactions", "customers", "nps", "clv"):
        f = frames[name]
        out[name] = f.assign(customer_id=f["customer_id"].str[1:].astype("int64"))
    return out


class World:
    """Input objects per (table, kind, ids) and results per (case, kind, ids), each made once."""

    def __init__(self, folder: Path, request):
        import ibis

        self.folder = folder
        self.request = request
        self.frames = {"text": _shop_slice()}
        self.frames["int"] = _int_ids(self.frames["text"])
        self.foreign = ibis.duckdb.connect()  # not cohortkit's own connection
        self._inputs: dict = {}
        self._results: dict = {}

    def spark(self):
        return self.request.getfixturevalue("spark_con")

    def frame(self, table: str, kind: Kind, ids: str) -> pd.DataFrame:
        frame = self.frames[ids][table]
        return frame.rename(columns=JA[table]) if kind.ja else frame

    def input(self, table: str, kind: Kind, ids: str):
        key = (table, kind.name, ids)
        if key not in self._inputs:
            if table == "clv":  # a fixed DataFrame in every kind
                self._inputs[key] = self.frame(table, kind, ids)
            else:
                stem = self.folder / f"{table}-{kind.name}-{ids}"
                self._inputs[key] = kind.build(self, self.frame(table, kind, ids), stem)
        return self._inputs[key]

    def result(self, case: "Case", kind: Kind, ids: str) -> pd.DataFrame:
        key = (case.name, kind.name, ids)
        if key not in self._results:
            self._results[key] = case.run(self, kind, ids)
        return self._results[key]


@pytest.fixture(scope="module")
def world(tmp_path_factory, request):
    return World(tmp_path_factory.mktemp("conformance"), request)


# --- the functions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    call: Callable  # (get, col) -> DataFrame; get(table) the input, col(table, name) a column name
    uses_time: bool = True
    int_ids: bool = False  # also run with integer customer ids
    ids_in_output: bool = False

    def run(self, world: World, kind: Kind, ids: str) -> pd.DataFrame:
        if self.name == "cohort_matrix":
            return ck.cohort_matrix(world.result(CASE["cohort_M"], kind, ids))

        def get(table):
            return world.input(table, kind, ids)

        def col(table, name):
            return JA[table][name] if kind.ja else name

        return self.call(get, col)


def _tx_cols(col, amount=True):
    kw = dict(customer_col=col("transactions", "customer_id"), date_col=col("transactions", "date"))
    if amount:
        kw["amount_col"] = col("transactions", "amount")
    return kw


def _value_cols(col):
    return dict(
        by=col("customers", "campaign"), customer_col=col("transactions", "customer_id"),
        acquired_col=col("customers", "acquired_at"), date_col=col("transactions", "date"),
        amount_col=col("transactions", "amount"),
    )


CASES = [
    Case("cohort_M", lambda get, col: ck.cohort_table(
        get("transactions"), **_tx_cols(col), time_unit="M", observation_end=OBS_END)),
    Case("cohort_W", lambda get, col: ck.cohort_table(
        get("transactions"), **_tx_cols(col, amount=False), time_unit="W")),
    Case("cohort_M_unbounded", lambda get, col: ck.cohort_table(
        get("transactions"), **_tx_cols(col), time_unit="M", retention="unbounded")),
    Case("cohort_matrix", None),
    Case("repeat_rate", lambda get, col: ck.repeat_rate(
        get("transactions"), **_tx_cols(col, amount=False), window="90D", observation_end=OBS_END)),
    Case("days_to_second_purchase", lambda get, col: ck.days_to_second_purchase(
        get("transactions"), **_tx_cols(col, amount=False), observation_end=OBS_END),
        int_ids=True, ids_in_output=True),
    Case("rfm_D", lambda get, col: ck.rfm_summary(
        get("transactions"), **_tx_cols(col), time_unit="D", observation_end=OBS_END),
        int_ids=True, ids_in_output=True),
    Case("rfm_W_no_amount", lambda get, col: ck.rfm_summary(
        get("transactions"), **_tx_cols(col, amount=False), time_unit="W")),
    Case("calibration_holdout", lambda get, col: ck.calibration_holdout(
        get("transactions"), **_tx_cols(col), calibration_end="2024-06-30",
        observation_end=OBS_END, time_unit="W"), int_ids=True, ids_in_output=True),
    Case("funnel", lambda get, col: ck.funnel(
        get("events"), STEPS, customer_col=col("events", "user_id"), date_col=col("events", "timestamp"),
        event_col=col("events", "event"), window="7D", by=col("events", "campaign"))),
    Case("ad_metrics", lambda get, col: ck.ad_metrics(
        get("campaigns"), by=col("campaigns", "campaign"), date_col=col("campaigns", "date"),
        impressions_col=col("campaigns", "impressions"), clicks_col=col("campaigns", "clicks"),
        spend_col=col("campaigns", "spend"), conversions_col=col("campaigns", "conversions"),
        revenue_col=col("campaigns", "revenue"))),
    Case("nps", lambda get, col: ck.nps(
        get("nps"), score_col=col("nps", "score"), by=col("nps", "campaign")), uses_time=False),
    Case("ad_value", lambda get, col: ck.ad_value(
        get("campaigns"), get("customers"), get("clv"), transactions=get("transactions"),
        economics=ck.Economics(margin=0.3, target_ltv_cac=3.0), time_unit="W", observation_end=OBS_END,
        impressions_col=col("campaigns", "impressions"), clicks_col=col("campaigns", "clicks"),
        spend_col=col("campaigns", "spend"), **_value_cols(col)), int_ids=True),
    Case("value_curve", lambda get, col: ck.value_curve(
        get("customers"), get("transactions"), time_unit="W", margin=0.3, observation_end=OBS_END,
        **_value_cols(col))),
]
CASE = {c.name: c for c in CASES}


def _applies(case: Case, kind: Kind, ids: str) -> bool:
    if kind.name == "pandas_ns":  # the reference, checked by test_reference_*
        return False
    if kind.time and not case.uses_time:
        return False
    if ids == "int" and (not case.int_ids or kind.ja):
        return False
    return True


CELLS = [
    pytest.param(case, kind, ids, id=f"{case.name}-{kind.name}-{ids}", marks=kind.marks)
    for ids in ("text", "int")
    for case in CASES
    for kind in KINDS
    if _applies(case, kind, ids)
]


# --- comparing --------------------------------------------------------------------------------------


def _from_ja(frame: pd.DataFrame) -> pd.DataFrame:
    """A result of a Japanese-header kind with the user's column names mapped back to English."""
    out = frame.rename(columns=lambda c: FROM_JA.get(c, c) if isinstance(c, str) else c)
    for axis in (out.index, out.columns):
        if axis.names is not None:
            axis.names = [FROM_JA.get(n, n) if isinstance(n, str) else n for n in axis.names]
    out.attrs = {k: FROM_JA.get(v, v) if isinstance(v, str) else v for k, v in frame.attrs.items()}
    return out


def assert_same(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert isinstance(actual, pd.DataFrame), type(actual)
    pd.testing.assert_frame_equal(actual, expected, check_exact=False, rtol=RTOL, atol=0)
    assert actual.attrs.keys() == expected.attrs.keys(), (actual.attrs, expected.attrs)
    for key, value in expected.attrs.items():
        got = actual.attrs[key]
        same = (pd.isna(got) and pd.isna(value)) if _scalar_na(value) else got == value
        assert same, f"attrs[{key!r}]: {got!r} != {value!r}"


def _scalar_na(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


# --- the matrix -------------------------------------------------------------------------------------


@pytest.mark.parametrize("case, kind, ids", CELLS)
def test_same_frame_from_every_kind(world, case, kind, ids):
    actual = world.result(case, kind, ids)
    if kind.name == "csv_cp932":  # must equal its UTF-8 twin with the same (Japanese) names
        assert_same(actual, world.result(case, KIND["csv_ja_utf8"], ids))
        actual = _from_ja(actual)
    elif kind.ja:
        actual = _from_ja(actual)
    assert_same(actual, world.result(case, KIND["pandas_ns"], ids))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_reference_is_meaningful(world, case):
    """The reference results are not trivially empty, and text ids come back as text."""
    ref = world.result(case, KIND["pandas_ns"], "text")
    assert len(ref) > 0
    if case.ids_in_output:
        assert pd.api.types.is_string_dtype(ref["customer_id"]), ref["customer_id"].dtype
        assert ref["customer_id"].str.startswith("C").all()


@pytest.mark.parametrize("case", [c for c in CASES if c.int_ids], ids=lambda c: c.name)
def test_integer_ids_keep_their_type_and_change_nothing_else(world, case):
    ref_int = world.result(case, KIND["pandas_ns"], "int")
    ref_text = world.result(case, KIND["pandas_ns"], "text")
    if case.ids_in_output:
        assert ref_int["customer_id"].dtype == np.dtype("int64"), ref_int["customer_id"].dtype
        ref_int = ref_int.assign(customer_id="C" + ref_int["customer_id"].map("{:06d}".format))
        ref_int["customer_id"] = ref_int["customer_id"].astype(ref_text["customer_id"].dtype)
    assert_same(ref_int, ref_text)


def test_slice_holds_the_edge_cases(world):
    tx = world.frames["text"]["transactions"]
    t = tx["date"]
    assert ((t.dt.hour == 0) & (t.dt.minute < 5)).any()  # just after midnight
    assert ((t.dt.hour == 23) & (t.dt.minute >= 55)).any()  # just before midnight
    assert ((t.dt.day == 1) & (t.dt.hour < 9)).any()  # in UTC still the previous month
    assert (t.dt.is_month_end & (t.dt.hour >= 21)).any()
    per_day = tx.groupby([tx["customer_id"], t.dt.normalize()]).size()
    assert (per_day > 1).any()  # two purchases the same day
    assert (t.dt.floor("ms") == t).all()  # millisecond Parquet can hold every value
    assert tx["date"].dt.to_period("M").nunique() >= 20 and tx["customer_id"].nunique() >= 300
    first_two = tx.sort_values(["customer_id", "date"]).groupby("customer_id").head(2)
    span = first_two.groupby("customer_id")["date"].agg(["count", lambda d: d.dt.normalize().nunique()])
    assert ((span.iloc[:, 0] == 2) & (span.iloc[:, 1] == 1)).any()  # 2nd purchase on the 1st's day


def test_kinds_store_what_they_claim(world):
    """Each file kind really holds its timestamps / text the way its name says."""
    import pyarrow.parquet as pq

    def arrow_type(kind):
        return pq.read_schema(world.input("transactions", KIND[kind], "text"))
    assert str(arrow_type("parquet_pandas").field("date").type) == "timestamp[ns]"
    assert str(arrow_type("parquet_us").field("date").type) == "timestamp[us]"
    assert str(arrow_type("parquet_ms").field("date").type) == "timestamp[ms]"
    assert str(arrow_type("parquet_tz").field("date").type) == "timestamp[ns, tz=Asia/Tokyo]"
    int96 = pq.ParquetFile(world.input("transactions", KIND["parquet_int96"], "text"))
    assert int96.schema.column(1).physical_type == "INT96"

    def raw(kind):
        return Path(world.input("transactions", KIND[kind], "text")).read_bytes()
    assert raw("csv_bom").startswith(b"\xef\xbb\xbf")
    assert "会員ID".encode("cp932") in raw("csv_cp932") and "会員ID".encode() in raw("csv_ja_utf8")
    with pytest.raises(UnicodeDecodeError):
        raw("csv_cp932").decode("utf-8")
    assert b"T02:19:05+09:00" in raw("csv_offset") and b"2023/01/01 02:19:05" in raw("csv_slash")
    folder = Path(world.input("transactions", KIND["parquet_dir"], "text"))
    assert len(list(folder.glob("*.parquet"))) == 2
    assert ck.to_pandas(ck.read_table(world.input("transactions", KIND["read_table_tz"], "text"))
                        )["date"].equals(world.frames["text"]["transactions"]["date"]
                                         .astype("datetime64[us]"))


# --- GA4 export -------------------------------------------------------------------------------------


GA4_FUNCTIONS = ["ga4_events", "ga4_transactions", "ga4_customers"]
GA4_KINDS = ["parquet_glob", "ibis_duckdb", "pandas"]


@pytest.fixture(scope="module")
def ga4(world):
    import pyarrow.parquet as pq
    from cohortkit.sources import to_ga4_export

    frames = world.frames["text"]
    export = to_ga4_export(frames["events"], frames["transactions"], frames["customers"],
                           duplicate_every=7)
    folder = world.folder / "ga4"
    (folder / "parts").mkdir(parents=True)
    path = folder / "events.parquet"
    pq.write_table(export, path)
    half = export.num_rows // 2
    pq.write_table(export.slice(0, half), folder / "parts" / "part-0.parquet")
    pq.write_table(export.slice(half), folder / "parts" / "part-1.parquet")
    return {
        "parquet": str(path),
        "parquet_glob": str(folder / "parts" / "part-*.parquet"),
        "ibis_duckdb": world.foreign.read_parquet(str(path)),
        "pandas": export.to_pandas(),
    }


def _ga4_frame(fn: str, data) -> pd.DataFrame:
    from cohortkit import sources

    frame = ck.to_pandas(getattr(sources, fn)(data))
    # an Ibis expression has no row order; compare as sets of rows
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


@pytest.mark.parametrize("kind", GA4_KINDS)
@pytest.mark.parametrize("fn", GA4_FUNCTIONS)
def test_ga4_same_frame_from_every_kind(ga4, fn, kind):
    expected = _ga4_frame(fn, ga4["parquet"])
    assert len(expected) > 0
    assert_same(_ga4_frame(fn, ga4[kind]), expected)


def test_ga4_reference_round_trips(world, ga4):
    tx = world.frames["text"]["transactions"]
    got = _ga4_frame("ga4_transactions", ga4["parquet"])[["customer_id", "date", "amount"]]
    expected = tx.sort_values(["customer_id", "date", "amount"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got.sort_values(["customer_id", "date", "amount"])
                                  .reset_index(drop=True), expected, check_dtype=False)


@pytest.mark.parametrize("kind", GA4_KINDS)
def test_ga4_transactions_feed_cohort_table_alike(ga4, kind):
    from cohortkit.sources import ga4_transactions

    kw = dict(customer_col="customer_id", date_col="date", amount_col="amount", time_unit="M")
    assert_same(ck.cohort_table(ga4_transactions(ga4[kind]), **kw),
                ck.cohort_table(ga4_transactions(ga4["parquet"]), **kw))


# --- ad-platform cost report ------------------------------------------------------------------------

CAMPAIGN_JA = {"brand_search": "ブランド検索", "generic_search": "一般検索",
               "clickbait_banner": "バナー広告", "coupon_affiliate": "クーポン・アフィリエイト",
               "social_video": "SNS動画", "line_retargeting": "LINE・メール再訪"}


@pytest.fixture(scope="module")
def cost_reports(world):
    campaigns = world.frames["text"]["campaigns"]
    month = campaigns[campaigns["date"] < "2023-02-01"].sort_values(["date", "campaign"])
    names = month["campaign"].map(lambda c: CAMPAIGN_JA.get(c, c))
    body = pd.DataFrame({
        "日": month["date"].dt.strftime("%Y/%m/%d"),
        "キャンペーン": names,
        "表示回数": month["impressions"].map("{:,}".format),
        "クリック数": month["clicks"].map("{:,}".format),
        "費用": month["spend"].map("￥{:,.0f}".format),
        "コンバージョン": month["conversions"].map(str),
    })
    total = pd.DataFrame([{"日": "合計", "キャンペーン": "", "表示回数": f"{month['impressions'].sum():,}",
                           "クリック数": f"{month['clicks'].sum():,}",
                           "費用": f"￥{month['spend'].sum():,.0f}", "コンバージョン": "--"}])
    table = pd.concat([body, total], ignore_index=True)
    title = "キャンペーン レポート\n2023年1月1日～2023年1月31日\n"
    folder = world.folder / "costs"
    folder.mkdir()
    paths = {}
    for name, encoding, sep in (("utf8", "utf-8", ","), ("cp932", "cp932", ","),
                                ("utf16", "utf-16", "\t")):
        text = title.replace("\n", "\r\n") + table.to_csv(index=False, sep=sep, lineterminator="\r\n")
        paths[name] = folder / f"report-{name}.csv"
        paths[name].write_bytes(text.encode(encoding))
    expected = pd.DataFrame({
        "date": month["date"].values, "campaign": names.values, "channel": "search",
        "impressions": month["impressions"].astype("float64").values,
        "clicks": month["clicks"].astype("float64").values,
        "spend": month["spend"].astype("float64").values,
        "conversions": month["conversions"].astype("float64").values,
    })
    return paths, expected


def test_ad_costs_utf8_report_reads_the_campaigns(cost_reports):
    from cohortkit.sources import ad_costs

    paths, expected = cost_reports
    got = ad_costs(paths["utf8"], platform="google_ads")
    expected = expected.sort_values(["date", "campaign"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


@pytest.mark.parametrize("encoding", ["cp932", "utf16"])
def test_ad_costs_same_frame_from_every_encoding(cost_reports, encoding):
    from cohortkit.sources import ad_costs

    paths, _ = cost_reports
    assert_same(ad_costs(paths[encoding], platform="google_ads"),
                ad_costs(paths["utf8"], platform="google_ads"))
