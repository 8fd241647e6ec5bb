"""GA4 export and ad-platform cost reports → cohortkit's tidy tables."""

from __future__ import annotations


import ibis
import pandas as pd
import pyarrow.parquet as pq
import pytest

from cohortkit import DataError, to_pandas
from cohortkit.sources import (
    ad_costs,
    ga4_customers,
    ga4_events,
    ga4_transactions,
    to_ga4_export,
)
from helpers import exact


def ts(text):
    return pd.Timestamp(text)


# a tiny world: two visitors who buy, one who does not
EVENTS = pd.DataFrame(
    {
        "user_id": ["C1", "C1", "C1", "C1", "C2", "C2", "C2", "V9", "V9", "C1", "C1"],
        "timestamp": [
            ts("2024-01-01 10:00:00"), ts("2024-01-01 10:01:00"), ts("2024-01-01 10:05:00"),
            ts("2024-01-01 10:09:00"), ts("2024-01-02 23:59:00"), ts("2024-01-03 00:01:00"),
            ts("2024-01-03 00:02:00"), ts("2024-01-02 08:00:00"), ts("2024-01-02 08:00:30"),
            ts("2024-02-10 12:00:00"), ts("2024-02-10 12:03:00"),
        ],
        "event": ["session_start", "product_view", "add_to_cart", "purchase", "session_start",
                  "product_view", "purchase", "session_start", "product_view", "session_start", "product_view"],
    }
)
TRANSACTIONS = pd.DataFrame(
    {
        "customer_id": ["C1", "C2", "C1"],
        "date": [ts("2024-01-01 10:09:00"), ts("2024-01-03 00:02:00"), ts("2024-02-10 12:10:00")],
        "amount": [30.0, 12.5, 44.0],
    }
)
CUSTOMERS = pd.DataFrame({"customer_id": ["C1", "C2"], "campaign": ["generic_search", "coupon"]})
SOURCES = {"generic_search": ("google", "cpc"), "coupon": ("affiliate_net", "affiliate")}


@pytest.fixture(scope="module")
def export_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("ga4") / "events_2024.parquet"
    table = to_ga4_export(EVENTS, TRANSACTIONS, CUSTOMERS, sources=SOURCES, duplicate_every=2)
    pq.write_table(table, path)
    return path


def test_events_round_trip(export_path):
    got = to_pandas(ga4_events(export_path)).sort_values(["user_id", "timestamp", "event"])
    # every tidy event comes back, plus the purchase added for the transaction with no event
    # (C1, 2024-02-10 12:10) and the duplicated (reloaded) purchase events
    purchases = got[got["event"] == "purchase"]
    assert len(purchases) == 3 + 2  # 3 transactions + every 2nd duplicated (2 of 3)
    other = got[got["event"] != "purchase"][["user_id", "timestamp", "event"]].reset_index(drop=True)
    expected = EVENTS[EVENTS["event"] != "purchase"].sort_values(["user_id", "timestamp", "event"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(other, expected, check_dtype=False)
    assert set(got.columns) == {"user_id", "timestamp", "event", "session_id", "source", "medium", "campaign"}


def test_sessions_and_sources(export_path):
    got = to_pandas(ga4_events(export_path)).sort_values(["user_id", "timestamp", "event"])
    c1 = got[got["user_id"] == "C1"]
    jan, feb = c1[c1["timestamp"] < ts("2024-02-01")], c1[c1["timestamp"] > ts("2024-02-01")]
    assert jan["session_id"].nunique() == 1 and feb["session_id"].nunique() == 1
    assert jan["session_id"].iloc[0] == f"C1-{int(ts('2024-01-01 10:00').timestamp())}"
    starts = got[(got["event"] == "session_start") & (got["user_id"] == "C2")]
    assert starts[["source", "medium", "campaign"]].iloc[0].tolist() == ["affiliate_net", "affiliate", "coupon"]
    assert got[got["user_id"] == "V9"]["campaign"].isna().all()


def test_transactions_deduplicated(export_path):
    got = to_pandas(ga4_transactions(export_path))
    assert len(got) == 3
    assert got["transaction_id"].is_unique
    merged = got.merge(TRANSACTIONS, on=["customer_id", "date", "amount"])
    assert len(merged) == 3
    assert got["amount"].sum() == pytest.approx(86.5)


def test_customers_first_touch(export_path):
    got = to_pandas(ga4_customers(export_path)).set_index("customer_id")
    assert sorted(got.index) == ["C1", "C2"]  # V9 never purchased
    assert got.loc["C1", "campaign"] == "generic_search"
    assert got.loc["C1", "channel"] == "Paid Search"
    assert got.loc["C2", "channel"] == "Affiliates"
    assert got.loc["C1", "acquired_at"] == ts("2024-01-01 10:09:00")
    assert got.loc["C2", "first_seen"] == ts("2024-01-02 23:59:00")


def test_date_range_filters_on_event_date(export_path):
    got = to_pandas(ga4_events(export_path, start="2024-01-02", end="2024-01-02"))
    assert sorted(got["user_id"].unique()) == ["C2", "V9"]
    assert got["timestamp"].dt.date.astype(str).unique().tolist() == ["2024-01-02"]


def test_tidy_events_feed_the_rest_of_cohortkit(export_path):
    # the expression is an ordinary Ibis table: filter, join, aggregate without leaving the engine
    events = ga4_events(export_path)
    per_event = to_pandas(events.group_by("event").aggregate(n=events.count()).order_by("event"))
    assert dict(zip(per_event["event"], per_event["n"])) == {
        "add_to_cart": 1, "product_view": 4, "purchase": 5, "session_start": 4,
    }


@pytest.mark.parametrize("fn", [ga4_events, ga4_transactions, ga4_customers])
def test_compiles_for_bigquery(fn, export_path):
    # no connection needed: the same expressions compile to BigQuery SQL
    table = ibis.table(
        ibis.schema(pq.read_schema(export_path)), name="events_20240101"
    )
    sql = ibis.to_sql(fn(table, start="2024-01-01", end="2024-01-31"), dialect="bigquery")
    assert "UNNEST" in sql or fn is ga4_transactions
    assert "events_20240101" in sql
    assert "TIMESTAMP_MILLIS" in sql


def test_missing_ga4_columns():
    flat = pd.DataFrame({"user": ["a"], "ts": [1], "name": ["x"]})
    with pytest.raises(DataError, match=exact(
        "data is not a GA4 export: missing column(s) event_date, event_timestamp, event_name, "
        "user_pseudo_id. Expected the GA4 BigQuery export schema (event_date, event_timestamp, "
        "event_name, user_pseudo_id, user_id, event_params, traffic_source, collected_traffic_source, "
        "ecommerce); found user, ts, name. Pass the events_* table (or its Parquet export) as it is, "
        "without flattening it."
    )):
        ga4_events(flat)


# --- ad-platform cost reports -------------------------------------------------------------------

GOOGLE_EN = """Campaign performance report
"January 1, 2024 - January 2, 2024"
Day,Campaign,Campaign type,Currency code,Impr.,Clicks,Cost,Conversions
2024-01-01,Brand search,Search,JPY,"8,000",100,"12,000.00",7.00
2024-01-01,Generic search,Search,JPY,"12,000",90,"30,500.00",3.50
2024-01-02,Brand search,Search,JPY,"7,500",80,"10,100.00",--
Total: Account,,,,"27,500",270,"52,600.00",10.50
"""

GOOGLE_JA = """キャンペーン レポート
2024年1月1日～2024年1月2日
日,キャンペーン,通貨コード,表示回数,クリック数,費用,コンバージョン
2024/01/01,ブランド検索,JPY,"8,000",100,"￥12,000",7
2024/01/02,ブランド検索,JPY,"7,500",80,"￥10,100",0
合計: アカウント,,,"15,500",180,"￥22,100",7
"""

META_EN = """Reporting starts,Reporting ends,Campaign name,Impressions,Link clicks,Amount spent (JPY),Results,Result indicator
2024-01-01,2024-01-01,Video - spring,"20,000",150,"9,800",4,actions:offsite_conversion.fb_pixel_purchase
2024-01-01,2024-01-01,Video - spring,"1,000",10,200,0,actions:offsite_conversion.fb_pixel_purchase
"""

META_JA = """レポート開始日,レポート終了日,キャンペーン名,インプレッション,リンクのクリック,消化金額 (JPY),結果
2024-01-01,2024-01-01,動画・春,20000,150,9800,4
"""


def test_google_ads_english_with_title_lines_and_total(tmp_path):
    path = tmp_path / "google.csv"
    path.write_text(GOOGLE_EN, encoding="utf-8")
    got = ad_costs(path, platform="google_ads")
    assert list(got.columns) == ["date", "campaign", "channel", "impressions", "clicks", "spend", "conversions"]
    assert len(got) == 3  # the Total row is dropped
    assert got["impressions"].sum() == 27_500 and got["clicks"].sum() == 270
    assert got["spend"].sum() == pytest.approx(52_600.0)
    assert got["conversions"].sum() == pytest.approx(10.5)  # "--" counts as 0
    assert (got["channel"] == "search").all()
    brand = got[(got["campaign"] == "Brand search") & (got["date"] == ts("2024-01-01"))].iloc[0]
    assert brand["clicks"] / brand["impressions"] == pytest.approx(0.0125)  # 100 / 8,000 = 1.25 %


def test_google_ads_japanese_shift_jis(tmp_path):
    path = tmp_path / "google_ja.csv"
    path.write_bytes(GOOGLE_JA.encode("cp932"))
    got = ad_costs(path, platform="google_ads")
    assert got["campaign"].unique().tolist() == ["ブランド検索"]
    assert got["date"].tolist() == [ts("2024-01-01"), ts("2024-01-02")]
    assert got["spend"].tolist() == [12_000.0, 10_100.0]


def test_google_ads_utf16_tab_separated(tmp_path):
    path = tmp_path / "google.tsv"
    path.write_text(GOOGLE_EN.replace(",", "\t").replace('"', "").replace("8\t000", "8000")
                    .replace("12\t000.00", "12000.00").replace("12\t000", "12000").replace("30\t500.00", "30500.00")
                    .replace("7\t500", "7500").replace("10\t100.00", "10100.00").replace("27\t500", "27500")
                    .replace("52\t600.00", "52600.00"), encoding="utf-16")
    got = ad_costs(path, platform="google_ads")
    assert got["spend"].sum() == pytest.approx(52_600.0)


def test_meta_english_sums_rows_per_day_and_campaign(tmp_path):
    path = tmp_path / "meta.csv"
    path.write_text(META_EN, encoding="utf-8")
    got = ad_costs(path, platform="meta")
    assert len(got) == 1
    row = got.iloc[0]
    assert (row["impressions"], row["clicks"], row["spend"], row["conversions"]) == (21_000, 160, 10_000, 4)
    assert row["channel"] == "social"


def test_meta_japanese(tmp_path):
    path = tmp_path / "meta_ja.csv"
    path.write_text(META_JA, encoding="utf-8-sig")
    got = ad_costs(path, platform="meta", channel="social_video")
    assert got.iloc[0][["campaign", "channel", "spend"]].tolist() == ["動画・春", "social_video", 9800.0]


def test_generic_accepts_canonical_names():
    frame = pd.DataFrame({"date": ["2024-01-01"], "campaign": ["x"], "impressions": [10],
                          "clicks": [1], "spend": [5.0]})
    got = ad_costs(frame, platform="generic", channel="email")
    assert got.iloc[0]["spend"] == 5.0 and got.iloc[0]["channel"] == "email"


def test_unknown_headers_list_expected_and_found():
    frame = pd.DataFrame({"when": ["2024-01-01"], "name": ["x"], "views": [1], "taps": [1], "yen": [1]})
    with pytest.raises(DataError, match=exact(
        "cost report headers not recognised for platform='meta': missing date, campaign, impressions, "
        "clicks, spend (expected date: 'Reporting starts' / 'Day' / 'レポート開始日' / '日'; campaign: "
        "'Campaign name' / 'キャンペーン名'; impressions: 'Impressions' / 'インプレッション'; clicks: "
        "'Link clicks' / 'Clicks (all)' / 'リンクのクリック' / 'クリック(すべて)' / 'クリック（すべて）'; "
        "spend: 'Amount spent' / '消化金額'); found 'when', 'name', 'views', 'taps', 'yen'. Pass "
        "columns={'role': 'your header'} or platform='generic'."
    )):
        ad_costs(frame, platform="meta")


def test_explicit_column_mapping():
    frame = pd.DataFrame({"Day": ["2024-01-01"], "Campaign": ["x"], "Impr.": ["1,000"],
                          "Clicks": ["10"], "Cost (converted currency)": ["$12.50"]})
    got = ad_costs(frame, platform="google_ads", columns={"spend": "Cost (converted currency)"})
    assert got.iloc[0]["spend"] == 12.5


def test_bad_numbers_and_negative_spend():
    frame = pd.DataFrame({"Day": ["2024-01-01"], "Campaign": ["x"], "Impr.": ["lots"],
                          "Clicks": ["10"], "Cost": ["5"]})
    with pytest.raises(DataError, match=exact(
        "column 'Impr.' of the cost report must hold numbers, but 1 value(s) do not parse, e.g. "
        "'lots'. Fix those cells or drop the rows."
    )):
        ad_costs(frame)
    frame = frame.assign(**{"Impr.": ["1"], "Cost": ["-5"]})
    with pytest.raises(DataError, match=r"^column 'Cost' \(spend\) has negative values"):
        ad_costs(frame)


def test_unknown_platform():
    with pytest.raises(DataError, match=exact(
        "platform='tiktok' is not supported; pass one of 'google_ads', 'meta', 'generic'."
    )):
        ad_costs(pd.DataFrame(), platform="tiktok")
