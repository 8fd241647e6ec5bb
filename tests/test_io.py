"""Reading data (cohortkit.io): DataFrame / path / Ibis table in, validated canonical columns out."""

from __future__ import annotations

import re

import ibis
import pandas as pd
import pytest

from cohortkit import DataError
from cohortkit._engine import execute, get_backend
from cohortkit.io import Column, as_table, literal_timestamp, prepare
from helpers import exact

TX = pd.DataFrame(
    {
        "customer_id": ["a", "a", "b"],
        "date": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-02-01"]),
        "amount": [10.0, 5.5, 7.0],
    }
)


def tx_columns(customer="customer_id", date="date", amount="amount"):
    return [
        Column("customer_col", customer, "customer_id", "string", "the customer id"),
        Column("date_col", date, "date", "timestamp", "the purchase date"),
        Column("amount_col", amount, "amount", "numeric", "the purchase amount"),
    ]


# --- inputs of every accepted kind give the same result ------------------------------------


def _prepared(data):
    out = execute(prepare(data, tx_columns(), what="transactions"))
    return out.sort_values(["customer_id", "date"]).reset_index(drop=True)


def test_dataframe_csv_parquet_and_ibis_inputs_agree(tmp_path):
    expected = _prepared(TX)
    csv = tmp_path / "tx.csv"
    TX.to_csv(csv, index=False)
    parquet = tmp_path / "tx.parquet"
    TX.to_parquet(parquet)
    for data in (str(csv), csv, parquet, ibis.memtable(TX), get_backend().read_parquet(parquet)):
        got = _prepared(data)
        pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    assert expected["amount"].sum() == 22.5
    assert list(expected.columns) == ["customer_id", "date", "amount"]


def test_parquet_glob(tmp_path):
    TX.iloc[:2].to_parquet(tmp_path / "part-1.parquet")
    TX.iloc[2:].to_parquet(tmp_path / "part-2.parquet")
    got = _prepared(str(tmp_path / "*.parquet"))
    assert len(got) == 3 and got["amount"].sum() == 22.5


def test_renames_user_columns_to_canonical_names():
    df = TX.rename(columns={"customer_id": "会員ID", "date": "購入日", "amount": "金額"})
    got = execute(prepare(df, tx_columns("会員ID", "購入日", "金額"), what="transactions"))
    assert list(got.columns) == ["customer_id", "date", "amount"]
    assert got["amount"].sum() == 22.5


def test_string_dates_are_parsed():
    df = TX.assign(date=["2024-01-01", "2024-01-05 13:00:00", "2024-02-01"])
    got = execute(prepare(df, tx_columns(), what="transactions")).sort_values("date")
    assert got["date"].tolist() == [
        pd.Timestamp("2024-01-01"),
        pd.Timestamp("2024-01-05 13:00"),
        pd.Timestamp("2024-02-01"),
    ]


def test_string_kind_casts_integers_to_text_and_id_kind_keeps_them():
    df = TX.assign(customer_id=[1, 1, 2])
    got = execute(prepare(df, tx_columns(), what="transactions"))  # kind "string": names, groups
    assert sorted(got["customer_id"].unique()) == ["1", "2"]
    ids = [Column("customer_col", "customer_id", "customer_id", "id"), *tx_columns()[1:]]
    got = execute(prepare(df, ids, what="transactions"))  # kind "id": ids keep their type
    assert got["customer_id"].dtype == "int64" and sorted(got["customer_id"].unique()) == [1, 2]


def test_optional_column_is_skipped():
    got = execute(prepare(TX, tx_columns(amount=None), what="transactions"))
    assert list(got.columns) == ["customer_id", "date"]


# --- bad input: exact messages ------------------------------------------------------------


def test_missing_column_names_column_found_and_fix():
    with pytest.raises(DataError, match=exact(
        "column 'customer' (customer_col) not found in transactions; it has columns "
        "'customer_id', 'date', 'amount'. Did you mean 'customer_id'? Pass customer_col= the "
        "name of the column that holds the customer id."
    )):
        prepare(TX, tx_columns(customer="customer"), what="transactions")


def test_missing_column_without_close_match():
    with pytest.raises(DataError, match=exact(
        "column 'revenue' (amount_col) not found in transactions; it has columns "
        "'customer_id', 'date', 'amount'. Pass amount_col= the name of the column that holds "
        "the purchase amount."
    )):
        prepare(TX, tx_columns(amount="revenue"), what="transactions")


def test_missing_column_case_mismatch_is_suggested():
    with pytest.raises(DataError, match=r"Did you mean 'date'\?"):
        prepare(TX, tx_columns(date="DATE"), what="transactions")


def test_date_column_that_does_not_parse():
    df = TX.assign(date=["2024-01-01", "yesterday", "2024-02-01"])
    with pytest.raises(DataError, match=exact(
        "column 'date' (date_col) must hold dates, but 1 of 3 values do not parse as dates, "
        "e.g. 'yesterday'. Convert the column with pandas.to_datetime(..., format=...) or drop "
        "those rows."
    )):
        prepare(df, tx_columns(), what="transactions")


def test_date_column_of_numbers():
    df = TX.assign(date=[19970101, 19970102, 19970103])
    with pytest.raises(DataError, match=exact(
        "column 'date' (date_col) must hold dates, but has type int64 (e.g. 19970101). Convert "
        "it with pandas.to_datetime(col.astype(str), format='%Y%m%d') (the numbers look like "
        "YYYYMMDD dates), then pass the DataFrame."
    )):
        prepare(df, tx_columns(), what="transactions")


def test_amount_column_not_numeric():
    df = TX.assign(amount=["¥1,200", "¥300", "¥80"])
    with pytest.raises(DataError, match=exact(
        "column 'amount' (amount_col) must be numeric, but has type string (e.g. '¥1,200'). "
        "Convert it with pandas.to_numeric(...) after removing currency symbols and thousands "
        "separators."
    )):
        prepare(df, tx_columns(), what="transactions")


def test_empty_table():
    with pytest.raises(DataError, match=exact(
        "transactions is empty (0 rows); cohortkit needs at least one row. Check the file path "
        "or the filter that produced it."
    )):
        prepare(TX.iloc[:0], tx_columns(), what="transactions")


def test_missing_path():
    with pytest.raises(DataError, match=exact(
        "data path 'no/such/file.csv' does not exist. Pass the path to a CSV or Parquet file (or "
        "a glob such as 'logs/*.parquet'), a pandas DataFrame, or an Ibis table."
    )):
        as_table("no/such/file.csv")


def test_wrong_data_type():
    with pytest.raises(DataError, match=exact(
        "transactions has type list; pass a pandas DataFrame, a path to a CSV or Parquet file, "
        "or an Ibis table."
    )):
        as_table([1, 2], argument="transactions")


def test_series_is_refused_with_fix():
    with pytest.raises(DataError, match=r"Pass series.to_frame\(\)"):
        as_table(TX["amount"], argument="transactions")


def test_column_argument_must_be_a_string():
    with pytest.raises(DataError, match=exact(
        "customer_col must be a column name (a string), got int 3. Pass customer_col='<column name>'."
    )):
        prepare(TX, tx_columns(customer=3), what="transactions")


def test_data_error_is_value_error():
    assert issubclass(DataError, ValueError)


# --- helpers --------------------------------------------------------------------------------


def test_literal_timestamp():
    assert literal_timestamp(None, argument="x") is None
    assert execute(literal_timestamp("1998-06-30", argument="x").name("t").as_table())["t"][0] == pd.Timestamp("1998-06-30")
    with pytest.raises(DataError, match=exact(
        "observation_end='someday' is not a date. Pass a date such as '1998-06-30' or a pandas.Timestamp."
    )):
        literal_timestamp("someday", argument="observation_end")


# --- Parquet paths validate in two queries (statistics, then a scan); same verdicts ------------

_BAD_FILES = {
    "nan amount": TX.assign(amount=[10.0, float("nan"), 7.0]),
    "inf amount": TX.assign(amount=[10.0, float("inf"), 7.0]),
    "null id": TX.assign(customer_id=["a", None, "b"]),
    "blank id": TX.assign(customer_id=["a", " ", "b"]),
    "unparseable date": TX.assign(date=["2024-01-01", "soon", "2024-02-01"]),
    "mixed zones": TX.assign(date=["2024-01-01T10:00+09:00", "2024-01-05 10:00", "2024-02-01T10:00Z"]),
}


@pytest.mark.parametrize("case", sorted(_BAD_FILES))
def test_parquet_path_errors_equal_dataframe_errors(case, tmp_path):
    frame = _BAD_FILES[case]
    path = tmp_path / "tx.parquet"
    frame.to_parquet(path)
    messages = []
    for data in (frame, path, get_backend().read_parquet(path)):
        with pytest.raises(DataError) as info:
            prepare(data, tx_columns(), what="transactions")
        messages.append(str(info.value))
    assert messages[0] == messages[1] == messages[2]


def test_parquet_path_validation_reads_statistics_then_scans(tmp_path, monkeypatch):
    import cohortkit.io as engine

    path = tmp_path / "tx.parquet"
    TX.to_parquet(path)
    seen = []
    real = engine.execute
    monkeypatch.setattr(engine, "execute", lambda expr, **kw: seen.append(expr) or real(expr, **kw))
    prepare(path, tx_columns(), what="transactions")
    assert len(seen) == 2  # counts/minimums, then the NaN/inf scan of the float amount
    seen.clear()
    prepare(TX, tx_columns(), what="transactions")
    assert len(seen) == 1  # in memory: one query


@pytest.mark.parametrize(
    "values, message",
    [
        ([10.0, float("nan"), float("nan")], "has 2 missing value(s) in 3 rows"),
        ([10.0, float("inf"), 7.0], "has 1 infinite value(s) in 3 rows"),
        ([float("-inf"), 5.5, float("nan")], "has 1 missing value(s) in 3 rows"),
    ],
)
def test_parquet_nan_and_inf_amounts_are_counted_when_the_flag_shows_them(tmp_path, monkeypatch, values, message):
    # pyarrow writes NaN as NaN (pandas writes it as null), and Parquet statistics leave NaN out:
    # the flag must come from the values, and the counts in the message stay exact
    import pyarrow as pa
    import pyarrow.parquet as pq

    import cohortkit.io as engine

    path = tmp_path / "tx.parquet"
    pq.write_table(pa.table({
        "customer_id": TX["customer_id"].tolist(),
        "date": pa.array(TX["date"].to_numpy(dtype="datetime64[us]")),
        "amount": pa.array(values, from_pandas=False),
    }), path)
    seen = []
    real = engine.execute
    monkeypatch.setattr(engine, "execute", lambda expr, **kw: seen.append(expr) or real(expr, **kw))
    with pytest.raises(DataError, match=re.escape(message)):
        prepare(path, tx_columns(), what="transactions")
    assert len(seen) == 3  # counts/minimums, the NaN/inf flag, then the counts for the message
    with pytest.raises(DataError, match=re.escape(message)):
        prepare(pd.read_parquet(path).assign(amount=values), tx_columns(), what="transactions")


def test_prepare_with_range_takes_the_range_from_the_checking_queries(tmp_path, monkeypatch):
    import cohortkit.io as engine
    from cohortkit.io import prepare_with_range

    path = tmp_path / "tx.parquet"
    TX.assign(date=TX["date"].astype("datetime64[us]")).to_parquet(path)
    seen = []
    real = engine.execute
    monkeypatch.setattr(engine, "execute", lambda expr, **kw: seen.append(expr) or real(expr, **kw))
    columns = tx_columns()
    for data, queries in ((path, 2), (TX, 1), (TX.assign(date=TX["date"].dt.strftime("%Y/%m/%d")), 1)):
        seen.clear()
        t, first, last, missing = prepare_with_range(data, columns, what="transactions")
        assert (first, last, missing) == (pd.Timestamp("2024-01-01"), pd.Timestamp("2024-02-01"), 0)
        assert len(seen) == queries  # no query of its own
        pd.testing.assert_frame_equal(execute(t), execute(prepare(data, columns, what="transactions")))
    allow = [columns[0], Column("date_col", "date", "date", "timestamp", missing="allow"), columns[2]]
    gappy = TX.assign(date=[pd.Timestamp("2024-01-03"), pd.NaT, pd.Timestamp("2024-01-02")])
    assert prepare_with_range(gappy, allow, what="transactions")[1:] == (
        pd.Timestamp("2024-01-02"), pd.Timestamp("2024-01-03"), 1)


def test_rfm_summary_on_a_parquet_path_runs_three_queries(tmp_path, monkeypatch):
    # counts and the date range (file statistics), the NaN/inf flag, the summary: no separate
    # date-range query, and the NaN/inf counts only when the flag shows one
    import cohortkit as ck
    import cohortkit._engine as engine

    path = tmp_path / "tx.parquet"
    TX.to_parquet(path)
    seen = []
    real = engine.execute
    monkeypatch.setattr(engine, "execute", lambda expr, **kw: seen.append(expr) or real(expr, **kw))
    import cohortkit.io as io

    monkeypatch.setattr(io, "execute", engine.execute)
    out = ck.rfm_summary(path, amount_col="amount")
    assert len(seen) == 3
    pd.testing.assert_frame_equal(out, ck.rfm_summary(TX, amount_col="amount"), check_exact=True)


# --- the timestamp policy, encodings and ids (issue: the same answer from every input) -------------


def test_tokyo_purchase_after_midnight_lands_in_its_local_month(tmp_path):
    import cohortkit as ck

    when = pd.to_datetime(["2023-04-01 00:30", "2023-03-15 10:00", "2023-05-20 12:00"]).tz_localize("Asia/Tokyo")
    tx = pd.DataFrame({"customer_id": ["a", "b", "a"], "date": when, "amount": [1.0, 2.0, 3.0]})
    kw = dict(customer_col="customer_id", date_col="date", amount_col="amount", time_unit="M",
              observation_end="2023-06-30")
    frame = ck.cohort_table(tx, **kw)
    sizes = frame[frame["period_number"] == 0].set_index("cohort")["cohort_size"]
    assert sizes.to_dict() == {pd.Period("2023-03", "M"): 1, pd.Period("2023-04", "M"): 1}
    tx.to_parquet(tmp_path / "tokyo.parquet")
    tx.assign(date=when.strftime("%Y-%m-%dT%H:%M:%S+09:00")).to_csv(tmp_path / "tokyo.csv", index=False)
    for path in (tmp_path / "tokyo.parquet", tmp_path / "tokyo.csv"):
        pd.testing.assert_frame_equal(ck.cohort_table(str(path), **kw), frame)
    # on UTC's calendar the same purchase is in March
    utc = ck.cohort_table(ck.read_table(tx, tz="UTC"), **kw)
    assert utc[utc["period_number"] == 0].set_index("cohort")["cohort_size"].to_dict() == {pd.Period("2023-03", "M"): 2}


@pytest.mark.parametrize(
    ("value", "fix"),
    [
        (1680307200, "pandas.to_datetime(col, unit='s') (the numbers look like seconds since 1970-01-01 UTC)"),
        (1680307200123, "pandas.to_datetime(col, unit='ms') (the numbers look like milliseconds since 1970-01-01 UTC)"),
        (20230401, "pandas.to_datetime(col.astype(str), format='%Y%m%d') (the numbers look like YYYYMMDD dates)"),
        (42, "pandas.to_datetime(col, format=...) with the format of your dates"),
    ],
)
def test_number_dates_get_the_fix_that_fits(value, fix):
    df = TX.assign(date=[value] * 3)
    with pytest.raises(DataError, match=exact(
        f"column 'date' (date_col) must hold dates, but has type int64 (e.g. {value}). Convert it with "
        f"{fix}, then pass the DataFrame."
    )):
        prepare(df, tx_columns(), what="transactions")


def test_slash_dates_and_offsets_in_strings_follow_the_policy():
    df = TX.assign(date=["2024/1/5", "2024/01/05 23:30:00", "2024-02-01T00:30:00+09:00"])
    got = execute(prepare(df.iloc[:2], tx_columns(), what="transactions"))["date"].tolist()
    assert got == [pd.Timestamp("2024-01-05"), pd.Timestamp("2024-01-05 23:30")]
    aware = TX.assign(date=["2024-01-05T10:00+09:00", "2024-01-05T23:30:00Z", "2024-02-01T00:30:00+09:00"])
    got = execute(prepare(aware, tx_columns(), what="transactions"))["date"].tolist()
    assert got == [pd.Timestamp("2024-01-05 10:00"), pd.Timestamp("2024-01-05 23:30"), pd.Timestamp("2024-02-01 00:30")]


def test_csv_encodings(tmp_path):
    import cohortkit as ck
    from cohortkit.io import csv_encoding

    frame = pd.DataFrame({"会員ID": ["A1", "B2"], "注文日": ["2023-04-01", "2023-04-02"], "金額": [1200, 800]})
    for encoding, expected in (("utf-8", "utf-8"), ("utf-8-sig", "utf-8"), ("cp932", "cp932"), ("utf-16", "utf-16")):
        path = tmp_path / f"{encoding}.csv"
        frame.to_csv(path, index=False, encoding=encoding)
        assert csv_encoding(path) == expected
        if encoding != "utf-16":
            got = ck.io.read_frame(str(path), columns={"会員ID": "customer_id"})
            assert got["customer_id"].tolist() == ["A1", "B2"] and got["金額"].tolist() == [1200, 800]
    path = tmp_path / "latin.csv"
    path.write_bytes(b"name\n\x81 x\n")  # a Shift_JIS lead byte without its second byte: not cp932, not UTF-8
    with pytest.raises(DataError, match=exact(
        f"CSV file {str(path)!r}: the file is neither UTF-8, UTF-16 nor Shift_JIS (cp932) text. Name its "
        "encoding: cohortkit.read_table(path, encoding='...'), or re-save it as UTF-8 CSV."
    )):
        ck.read_table(str(path))
    assert ck.to_pandas(ck.read_table(str(path), encoding="latin-1"))["name"].tolist() == ["\x81 x"]


def test_read_table_refuses_an_unknown_time_zone():
    import cohortkit as ck

    with pytest.raises(DataError, match=exact(
        "tz='Asia/Tokio' is not a time zone. Pass an IANA name such as 'Asia/Tokyo' or 'UTC', or leave "
        "tz=None to keep the wall-clock time the data carries."
    )):
        ck.read_table(TX, tz="Asia/Tokio")


def test_joining_integer_and_text_ids_is_refused():
    import cohortkit as ck

    tx = TX.assign(customer_id=[1, 1, 2])
    customers = pd.DataFrame({"customer_id": ["1", "2"], "channel": ["search", "social"]})
    with pytest.raises(DataError, match=exact(
        "customer_col holds whole numbers in transactions but text in customers, so no id would match. "
        "Give both the same type, e.g. customers['<id column>'] = customers['<id column>'].astype('int64') "
        "(or .astype(str) on transactions)."
    )):
        ck.cohort_table(tx, by="channel", customers=customers)


def test_a_parquet_path_is_read_once_while_the_file_is_unchanged(tmp_path):
    import os

    path = tmp_path / "tx.parquet"
    TX.to_parquet(path)
    first = as_table(str(path))
    assert as_table(str(path)) is first  # no new view (CREATE VIEW + DESCRIBE) per call
    # a rewritten file (new size or modification time) is read again, with its new schema and rows
    TX.assign(extra=1).to_parquet(path)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    again = as_table(str(path))
    assert again is not first and "extra" in again.columns
    assert len(execute(again)) == 3
    # a file added to a glob changes the key as well
    folder = tmp_path / "parts"
    folder.mkdir()
    TX.to_parquet(folder / "a.parquet")
    assert len(execute(as_table(str(folder / "*.parquet")))) == 3
    (folder / "b.parquet").write_bytes((folder / "a.parquet").read_bytes())
    assert len(execute(as_table(str(folder / "*.parquet")))) == 6
    assert len(execute(as_table(str(folder)))) == 6
