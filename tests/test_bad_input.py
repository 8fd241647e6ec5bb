"""A catalogue of malformed inputs across the public functions (issue 10, item 1).

Every case either returns a correct result (the case says why it is correct and checks it) or raises
``cohortkit.DataError`` with an exact message that names the column or argument and the fix. Any
other exception fails the test, as does ``inf`` in a numeric output column or ``NaN`` outside the
columns that document it (those come with a reason in a ``note`` column).

The policies behind the cases are in the module docstrings of ``cohortkit.io``.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd
import pytest

import cohortkit as ck
from cohortkit import DataError, datasets, sources

# --- small inputs ---------------------------------------------------------------------------------

TX = pd.DataFrame({
    "customer_id": ["a", "a", "b", "c", "c"],
    "date": pd.to_datetime(["2024-01-05", "2024-02-10", "2024-01-20", "2024-02-01", "2024-03-15"]),
    "amount": [10.0, 20.0, 5.0, 8.0, 12.0],
})
EVENTS = pd.DataFrame({
    "user_id": ["a", "a", "a", "b", "b"],
    "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-01", "2024-01-02"]),
    "event": ["view", "cart", "buy", "view", "cart"],
})
CAMPAIGN_ROWS = pd.DataFrame({
    "campaign": ["A", "A", "B"], "impressions": [100, 200, 0], "clicks": [5, 10, 0],
    "spend": [50.0, 60.0, 0.0], "conversions": [1, 2, 0], "revenue": [100.0, 0.0, 0.0],
})
CAMPAIGNS = pd.DataFrame({"campaign": ["banner", "search"], "impressions": [10000, 4000],
                          "clicks": [400, 80], "spend": [40000.0, 16000.0]})
CUSTOMERS = pd.DataFrame({"customer_id": ["a", "b", "c", "d"],
                          "campaign": ["banner", "banner", "search", "search"],
                          "acquired_at": pd.to_datetime(["2024-01-01"] * 4)})
PURCHASES = pd.DataFrame({
    "customer_id": ["a", "b", "c", "c", "d"],
    "date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-01", "2024-01-20", "2024-01-01"]),
    "amount": [9000.0, 7000.0, 8000.0, 14000.0, 10000.0],
})
CLV = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "clv": [1000.0, 3000.0, 30000.0, 18000.0]})
PLAN = pd.DataFrame({"campaign": ["banner", "search", "line"], "spend": [500.0, 300.0, 200.0],
                     "ltv_roas": [0.8, 2.0, 3.0]})
LEADS = pd.DataFrame({"lead_id": ["a", "a", "b"],
                      "timestamp": pd.to_datetime(["2024-01-01", "2024-01-03", "2024-01-02"]),
                      "event": ["seminar", "document_request", "sql"]})
REPORT = pd.DataFrame({"Day": ["2024-01-01", "2024-01-02"], "Campaign": ["A", "B"],
                       "Impr.": ["100", "0"], "Clicks": ["5", "0"], "Cost": ["¥1,000", "0"]})
GA4 = pd.DataFrame({"event_date": ["20240105"], "event_timestamp": [1704412800123456],
                    "event_name": ["page_view"], "user_pseudo_id": ["123.456"]})

TOKYO_FIRST = pd.Series(
    [pd.Timestamp("2024-01-05 12:00", tz="Asia/Tokyo"), *TX["date"].iloc[1:]], dtype=object
)
MIXED_FORMATS = ["2024-01-05", "01/02/2024", "5 Jan 2024", "2024-02-01", "2024-03-15"]


def with_col(frame: pd.DataFrame, **columns) -> pd.DataFrame:
    return frame.assign(**columns)


def _rfm(tx, **kw):
    return ck.rfm_summary(tx, amount_col="amount", observation_end="2024-03-31", **kw)


def _fit_clv(summary, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ck.CLVModel("bgnbd", spend_model="gamma_gamma").fit(summary, **kw)


def _ad_value(**kw):
    args = dict(campaigns=CAMPAIGNS, customers=CUSTOMERS, clv=CLV, transactions=PURCHASES)
    args.update(kw)
    return ck.ad_value(args.pop("campaigns"), args.pop("customers"), args.pop("clv"),
                       observation_end="2024-03-31", **args)


# --- expected outcomes ----------------------------------------------------------------------------


@dataclass
class Error:
    """A DataError with exactly this message."""

    message: str


@dataclass
class Result:
    """A result, checked by ``check``; ``why`` says why it is the correct answer."""

    why: str
    check: Callable[[Any], None]
    nan_ok: tuple[str, ...] = field(default=())  # numeric columns allowed NaN (reason in `note`)


@dataclass
class Case:
    id: str
    call: Callable[[], Any]
    expect: Error | Result
    xfail: str | None = None


def _missing(col, arg, n, rows, meaning, what="transactions"):
    return (f"column {col!r} ({arg}) has {n} missing value(s) in {rows} rows; every row needs {meaning}. "
            f"Drop or fill those rows first, e.g. {what}.dropna(subset=[{col!r}]).")


def _tz_mixed(col, arg, n_aware, aware, n_naive, naive):
    return (f"column {col!r} ({arg}) mixes time-zone-aware and naive timestamps ({n_aware} with a time "
            f"zone, e.g. {aware}; {n_naive} without, e.g. {naive}), so their order is ambiguous. Make "
            "them consistent first: pandas.to_datetime(column, utc=True) if the naive ones are UTC, or "
            "localize the naive ones with .dt.tz_localize('Asia/Tokyo') (your zone) before combining.")


def _not_numeric(col, arg, dtype, example):
    return (f"column {col!r} ({arg}) must be numeric, but has type {dtype} (e.g. {example}). Convert it "
            "with pandas.to_numeric(...) after removing currency symbols and thousands separators.")


def _infinite(col, arg, n, rows, meaning, what):
    return (f"column {col!r} ({arg}) has {n} infinite value(s) in {rows} rows; {meaning} must be a "
            f"finite number. Fix or drop those rows, e.g. {what}[numpy.isfinite({what}[{col!r}])].")


# --- checks of correct results --------------------------------------------------------------------


def _rfm_tz_keeps_wall_clock(out):
    pd.testing.assert_frame_equal(out, _rfm(TX))
    # 2024-01-05 00:00 in Tokyo stays 2024-01-05 (it is 2024-01-04 15:00 in UTC): local calendar days
    assert out.loc[out.customer_id == "a", "T"].item() == (pd.Timestamp("2024-03-31")
                                                           - pd.Timestamp("2024-01-05")).days


def _rfm_duplicates_merge(out):
    single = _rfm(TX)
    assert out[["customer_id", "frequency", "recency", "T"]].equals(
        single[["customer_id", "frequency", "recency", "T"]])
    np.testing.assert_allclose(out["monetary_value"], 2 * single["monetary_value"])




def _rfm_single(out):
    assert out.to_dict("records") == [
        {"customer_id": "a", "frequency": 1, "recency": 36.0, "T": 86.0, "monetary_value": 20.0}]


def _rfm_refund_not_a_purchase(out):
    # a bought once (10.0 on 2024-01-05) and returned it on 2024-02-10: no repeat purchase
    a = out.set_index("customer_id").loc["a"]
    assert a["frequency"] == 0 and a["monetary_value"] == 0.0


def _fit_warnings(summary):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = ck.CLVModel("bgnbd", spend_model="gamma_gamma").fit(summary)
    return model, [w for w in caught if issubclass(w.category, ck.CohortkitWarning)]


def _refund_fit_warns(out):
    model, caught = out
    assert model.time_unit_ == "D"
    assert any("monetary_value <= 0" in str(w.message) for w in caught)


def _rfm_future(out):
    # purchases after observation_end are ignored: c's 2024-03-15 purchase is not a repeat yet
    assert out.set_index("customer_id")["frequency"].to_dict() == {"a": 1, "b": 0, "c": 0}
    assert out["T"].max() == (pd.Timestamp("2024-02-15") - pd.Timestamp("2024-01-05")).days


def _calibration_future(out):
    # the holdout stops at observation_end: a's 2024-02-10 purchase is in it, c's 2024-03-15 is not
    assert out.set_index("customer_id")["frequency_holdout"].to_dict() == {"a": 1, "b": 0, "c": 0}
    assert out["duration_holdout"].unique().tolist() == [9.0]


def _cohort_refunds(out):
    # a refund is negative revenue in the period it happens; totals still add up
    assert out["revenue"].sum() == pytest.approx(10.0 - 20.0 + 5.0 + 8.0 + 12.0)
    assert out["orders"].sum() == 5


def _cohort_duplicates(out):
    # several rows are several orders (documented); active customers do not change
    single = ck.cohort_table(TX, amount_col="amount", observation_end="2024-03-31")
    assert (out["orders"] == 2 * single["orders"]).all()
    assert (out["active_customers"] == single["active_customers"]).all()


def _cohort_tz(out):
    naive = with_col(TX, date=TX["date"].dt.tz_localize("UTC").dt.tz_localize(None))
    pd.testing.assert_frame_equal(out, ck.cohort_table(naive, amount_col="amount",
                                                       observation_end="2024-03-31"))


def _repeat_one_timers(out):
    assert out[["first_time_buyers", "customers", "repeaters"]].iloc[0].tolist() == [2, 2, 0]
    assert out["repeat_rate"].item() == 0.0 and out["note"].item() == ""


def _repeat_not_observed(out):
    assert np.isnan(out["repeat_rate"].item())
    assert out["note"].item() == "no customer's 90-day window has ended by the observation end"


def _funnel_missing_user(out):
    # rows without a user are ignored (module docstring): a keeps view and buy, b keeps view
    assert out["users"].tolist() == [2, 0, 0]
    assert out["note"].tolist() == ["", "", "no users at the previous step"]


def _counts_zero_top(out):
    assert out["note"].tolist() == ["no users at the previous step"] * 3
    assert out["conversion_from_previous"].isna().all()


def _ad_metrics_zero_impressions(out):
    b = out.set_index("campaign").loc["B"]
    assert np.isnan(b["ctr"]) and b["note"].startswith("ctr: 0 impressions")
    assert out.set_index("campaign").loc["A", "ctr"] == pytest.approx(15 / 300)


def _rate_zero(out):
    assert np.isnan(out["rate"].item()) and out["note"].item() == "0 trials"


def _nps_missing_group(out):
    # a missing group value is a group of its own (SQL GROUP BY), listed last
    assert out["g"].isna().tolist() == [False, True]
    assert out["nps"].tolist() == [100.0, -100.0]


def _av_zero_impressions(out):
    banner = out.set_index("campaign").loc["banner"]
    assert np.isnan(banner["ctr"]) and "ctr: 0 impressions" in banner["note"]


def _av_refund(out):
    # realised value nets the refund: banner customers a (9000) and b (-7000)
    assert out.set_index("campaign").loc["banner", "realised_value"] == pytest.approx(1000.0)


def _leads_unknown_events(out):
    assert out["score"].tolist() == [0.0, 0.0] and not out["mql"].any()


def _pseudonym_text_form(out):
    assert out["c"].iloc[0] == out["c"].iloc[1] and out["c"].iloc[2] != out["c"].iloc[0]


# --- the catalogue --------------------------------------------------------------------------------

CASES = [
    # rfm_summary ------------------------------------------------------------------------------
    Case("rfm-misspelled-column", lambda: ck.rfm_summary(TX, customer_col="customerid"), Error(
        "column 'customerid' (customer_col) not found in transactions; it has columns 'customer_id', "
        "'date', 'amount'. Did you mean 'customer_id'? Pass customer_col= the name of the column that "
        "holds the customer id.")),
    Case("rfm-date-strings-mixed-formats", lambda: _rfm(with_col(TX, date=MIXED_FORMATS)), Error(
        "column 'date' (date_col) must hold dates, but 2 of 5 values do not parse as dates, e.g. "
        "'5 Jan 2024'. Convert the column with pandas.to_datetime(..., format=...) or drop those rows.")),
    Case("rfm-tz-aware-and-naive-mixed", lambda: _rfm(with_col(TX, date=TOKYO_FIRST)), Error(_tz_mixed(
        "date", "date_col", 1, "2024-01-05 12:00:00+09:00", 4, "2024-02-10 00:00:00"))),
    Case("rfm-tz-offset-strings-mixed", lambda: _rfm(with_col(TX, date=[
        "2024-01-05T10:00:00+09:00", "2024-02-10", "2024-01-20", "2024-02-01", "2024-03-15"])),
        Error(_tz_mixed("date", "date_col", 1, "'2024-01-05T10:00:00+09:00'", 4, "'2024-01-20'"))),
    Case("rfm-all-tz-aware", lambda: _rfm(with_col(TX, date=TX["date"].dt.tz_localize("Asia/Tokyo"))),
         Result("aware timestamps keep the wall-clock time they carry (timestamp policy)", _rfm_tz_keeps_wall_clock)),
    Case("rfm-nan-customer-id", lambda: _rfm(with_col(TX, customer_id=["a", None, "b", "c", "c"])),
         Error(_missing("customer_id", "customer_col", 1, 5, "the customer id"))),
    Case("rfm-empty-string-customer-id", lambda: _rfm(with_col(TX, customer_id=["a", " ", "b", "c", "c"])),
         Error("column 'customer_id' (customer_col) has 1 empty value(s) ('' or spaces) in 5 rows; every "
               "row needs the customer id. Drop those rows first, e.g. "
               "transactions[transactions['customer_id'].str.strip() != ''].")),
    Case("rfm-nan-amount", lambda: _rfm(with_col(TX, amount=[10.0, np.nan, 5.0, 8.0, 12.0])),
         Error(_missing("amount", "amount_col", 1, 5, "the purchase amount"))),
    Case("rfm-text-amount", lambda: _rfm(with_col(TX, amount=["10", "20", "5", "8", "12 yen"])),
         Error(_not_numeric("amount", "amount_col", "string", "'12 yen'"))),
    Case("rfm-object-amount-mixing-numbers-and-text",
         lambda: _rfm(with_col(TX, amount=pd.Series([10, "20", 5, 8, 12], dtype=object))),
         Error("column 'amount' (amount_col) must be numeric, but 1 of 5 values are not numbers, e.g. "
               "'20' (str). Convert it with pandas.to_numeric(...) after removing currency symbols and "
               "thousands separators.")),
    Case("rfm-bool-amount", lambda: _rfm(with_col(TX, amount=[True, False, True, True, False])),
         Error(_not_numeric("amount", "amount_col", "boolean", "True"))),
    Case("rfm-object-ids-mixing-ints-and-strings",
         lambda: _rfm(pd.DataFrame({"customer_id": pd.Series([1, "1", 2, "2", 2], dtype=object),
                                    "date": TX["date"], "amount": TX["amount"]})),
         Error("column 'customer_id' (customer_col) mixes id types (3 int, 2 str; e.g. 1, '1'), so the "
               "same customer could appear twice (1 and '1'). Make the ids one type first, e.g. "
               "data['customer_id'] = data['customer_id'].astype(str).")),
    Case("rfm-duplicate-rows", lambda: _rfm(pd.concat([TX, TX])),
         Result("duplicate rows are same-day purchases, merged into one transaction with the summed "
                "amount (the papers' data preparation)", _rfm_duplicates_merge)),
    Case("rfm-single-customer", lambda: _rfm(TX[TX["customer_id"] == "a"]),
         Result("one customer is a valid summary", _rfm_single)),
    Case("rfm-purchases-after-observation-end",
         lambda: ck.rfm_summary(TX, amount_col="amount", observation_end="2024-02-15"),
         Result("purchases after observation_end are ignored (documented)", _rfm_future)),
    Case("rfm-series", lambda: ck.rfm_summary(TX["amount"]), Error(
        "transactions is a pandas Series; cohortkit needs a table. Pass series.to_frame() or the "
        "DataFrame it came from.")),
    Case("rfm-list", lambda: ck.rfm_summary(TX.to_dict("records")), Error(
        "transactions has type list; pass a pandas DataFrame, a path to a CSV or Parquet file, or an "
        "Ibis table.")),
    Case("rfm-empty-frame", lambda: ck.rfm_summary(TX.iloc[:0]), Error(
        "transactions is empty (0 rows); cohortkit needs at least one row. Check the file path or the "
        "filter that produced it.")),
    Case("rfm-refund-on-its-own-day", lambda: _rfm(with_col(TX, amount=[10.0, -10.0, 5.0, 8.0, 12.0])),
         Result("a day with only a refund is not a repeat purchase", _rfm_refund_not_a_purchase)),
    Case("rfm-observation-end-before-first-purchase",
         lambda: ck.rfm_summary(TX, observation_end="2023-12-31"),
         Error("observation_end='2023-12-31' is before the first purchase (2024-01-05); nothing would be "
               "observed. Pass a date on or after 2024-01-05, or leave observation_end=None to use the "
               "day of the last purchase (2024-03-15).")),
    # calibration_holdout ----------------------------------------------------------------------
    Case("calibration-nan-customer-id", lambda: ck.calibration_holdout(
        with_col(TX, customer_id=[None, "a", "b", "c", "c"]), calibration_end="2024-02-15"),
        Error(_missing("customer_id", "customer_col", 1, 5, "the customer id"))),
    Case("calibration-purchases-after-observation-end", lambda: ck.calibration_holdout(
        TX, calibration_end="2024-02-05", observation_end="2024-02-14"),
        Result("holdout purchases are counted up to observation_end only", _calibration_future)),
    # CLVModel.fit -----------------------------------------------------------------------------
    Case("clv-all-one-time-buyers", lambda: _fit_clv(_rfm(TX.drop_duplicates("customer_id"))), Error(
        "summary has no repeat customers: frequency is 0 for all 3 customers, so the purchase model "
        "cannot be estimated. Use a longer observation period, or check that customer_col identifies "
        "customers (not orders).")),
    Case("clv-free-repeat-order-makes-monetary-value-zero",
         lambda: _fit_warnings(_rfm(with_col(TX, amount=[10.0, 0.0, 5.0, 8.0, 12.0]))),
         Result("the spend model is fitted without customers whose monetary_value <= 0, with a warning",
                _refund_fit_warns)),
    Case("clv-list-instead-of-summary", lambda: _fit_clv([1, 2, 3]), Error(
        "summary has type list; pass the DataFrame returned by cohortkit.rfm_summary(...) or "
        "cohortkit.calibration_holdout(...).")),
    # cohort_table, repeat_rate ------------------------------------------------------------------
    Case("cohort-nan-customer-id", lambda: ck.cohort_table(with_col(TX, customer_id=["a", np.nan, "b", "c", "c"])),
         Error(_missing("customer_id", "customer_col", 1, 5, "the customer id"))),
    Case("cohort-missing-date", lambda: ck.cohort_table(with_col(TX, date=[*TX["date"].iloc[:4], pd.NaT])),
         Error("date_col has 1 missing values; every transaction needs a customer id, a date and (when "
               "amount_col is given) an amount. Drop or fill those rows first (e.g. "
               "transactions.dropna(subset=[...])).")),
    Case("cohort-refunds", lambda: ck.cohort_table(with_col(TX, amount=[10.0, -20.0, 5.0, 8.0, 12.0]),
                                                   amount_col="amount", observation_end="2024-03-31"),
         Result("refunds are negative revenue (cohort revenue is net)", _cohort_refunds)),
    Case("cohort-duplicate-rows", lambda: ck.cohort_table(pd.concat([TX, TX]), amount_col="amount",
                                                          observation_end="2024-03-31"),
         Result("orders count rows; retention counts customers", _cohort_duplicates)),
    Case("cohort-all-tz-aware", lambda: ck.cohort_table(with_col(TX, date=TX["date"].dt.tz_localize("UTC")),
                                                        amount_col="amount", observation_end="2024-03-31"),
         Result("UTC-aware timestamps equal their naive UTC values", _cohort_tz)),
    Case("cohort-observation-end-before-data", lambda: ck.cohort_table(TX, observation_end="2023-12-31"),
         Error("observation_end='2023-12-31' is before the first purchase (2024-01-05); nothing would be "
               "observed. Pass a date on or after 2024-01-05, or leave observation_end=None to use the "
               "day of the last purchase (2024-03-15).")),
    Case("repeat-rate-all-one-time-buyers", lambda: ck.repeat_rate(
        TX.drop_duplicates("customer_id").iloc[:2], window="7D", observation_end="2024-03-31"),
        Result("nobody bought twice: rate 0 on 2 eligible customers", _repeat_one_timers)),
    Case("repeat-rate-window-not-observed-yet", lambda: ck.repeat_rate(TX, window="90D"),
         Result("no customer's window has ended: NaN with the reason in note (documented)",
                _repeat_not_observed, nan_ok=("repeat_rate", "ci_low", "ci_high"))),
    # funnels ----------------------------------------------------------------------------------
    Case("funnel-step-never-occurs", lambda: ck.funnel(EVENTS, ["view", "cart", "checkout"]), Error(
        "step(s) ['checkout'] never occur in column 'event' (event_col); it has events 'buy', 'cart', "
        "'view'. Pass steps= event names as they appear in the data.")),
    Case("funnel-missing-user-ignored",
         lambda: ck.funnel(with_col(EVENTS, user_id=["a", None, "a", "b", None]), ["view", "cart", "buy"]),
         Result("rows without a user are ignored (documented)", _funnel_missing_user,
                nan_ok=("conversion_from_previous",))),
    Case("funnel-tz-aware-and-naive-mixed", lambda: ck.funnel(with_col(EVENTS, timestamp=pd.Series(
        [pd.Timestamp("2024-01-01", tz="UTC"), *EVENTS["timestamp"].iloc[1:]], dtype=object)),
        ["view", "cart"]),
        Error(_tz_mixed("timestamp", "date_col", 1, "2024-01-01 00:00:00+00:00", 4, "2024-01-02 00:00:00"))),
    Case("funnel-counts-zero-at-the-top", lambda: ck.funnel_from_counts({"impressions": 0, "clicks": 0, "buy": 0}),
         Result("no users anywhere: conversions are NaN with the reason in note", _counts_zero_top,
                nan_ok=("conversion_from_start", "conversion_from_previous"))),
    Case("funnel-counts-bool", lambda: ck.funnel_from_counts({"impressions": True, "clicks": False}), Error(
        "funnel counts must be numbers, got True/False values ([True, False]). Pass the number of users "
        "at each step (e.g. flags.sum()).")),
    Case("funnel-counts-infinite", lambda: ck.funnel_from_counts({"impressions": float("inf"), "clicks": 5}),
         Error("funnel counts must be whole numbers >= 0, but step 'impressions' has inf. Fix or drop that "
               "step.")),
    # ad metrics, NPS, rates -------------------------------------------------------------------
    Case("ad-metrics-zero-impressions", lambda: ck.ad_metrics(CAMPAIGN_ROWS),
         Result("a zero denominator gives NaN and the reason in note", _ad_metrics_zero_impressions,
                nan_ok=("ctr", "ctr_lower", "ctr_upper", "cpc", "cvr", "cvr_lower", "cvr_upper", "cpa",
                        "roas"))),
    Case("ad-metrics-misspelled-column", lambda: ck.ad_metrics(CAMPAIGN_ROWS, clicks_col="click"), Error(
        "column 'click' (clicks_col) not found in campaigns; it has columns 'campaign', 'impressions', "
        "'clicks', 'spend', 'conversions', 'revenue'. Did you mean 'clicks'? Pass clicks_col= the name of "
        "the column that holds clicks.")),
    Case("ad-metrics-infinite-spend", lambda: ck.ad_metrics(with_col(CAMPAIGN_ROWS, spend=[1.0, np.inf, 0.0])),
         Error(_infinite("spend", "spend_col", 1, 3, "the ad spend", "campaigns"))),
    Case("ad-metrics-object-spend", lambda: ck.ad_metrics(
        with_col(CAMPAIGN_ROWS, spend=pd.Series([1.0, "2,000", 3.0], dtype=object))),
        Error("column 'spend' (spend_col) must be numeric, but 1 of 3 values are not numbers, e.g. '2,000' "
              "(str). Convert it with pandas.to_numeric(...) after removing currency symbols and thousands "
              "separators.")),
    Case("nps-score-above-10", lambda: ck.nps(pd.DataFrame({"score": [10, 11, 3]})), Error(
        "column 'score' (score_col) must hold scores from 0 to 10, but 1 of 3 values are outside 0–10, "
        "e.g. 11. Recode the scale to 0–10 or drop those rows.")),
    Case("nps-negative-score", lambda: ck.nps(pd.DataFrame({"score": [10, -1, 3]})), Error(
        "column 'score' (score_col) must hold scores from 0 to 10, but 1 of 3 values are outside 0–10, "
        "e.g. -1. Recode the scale to 0–10 or drop those rows.")),
    Case("nps-non-integer-score", lambda: ck.nps(pd.DataFrame({"score": [10, 7.5, 3]})), Error(
        "column 'score' (score_col) must hold whole-number scores from 0 to 10, but 1 of 3 values are not "
        "whole numbers, e.g. 7.5. NPS is defined on the 11-point 0–10 scale; round or drop those values.")),
    Case("nps-infinite-score", lambda: ck.nps(pd.DataFrame({"score": [np.inf, 3.0]})),
         Error(_infinite("score", "score_col", 1, 2, "the 0-10 recommendation score", "data"))),
    Case("nps-missing-group", lambda: ck.nps(pd.DataFrame({"g": ["a", None], "score": [9, 3]}), by="g"),
         Result("a missing group is its own group", _nps_missing_group)),
    Case("rate-bool", lambda: ck.rate(np.array([True, False]), 10), Error(
        "successes holds True/False values; rates need counts. Pass the number of successes and trials "
        "(e.g. flags.sum() and len(flags)).")),
    Case("rate-infinite-trials", lambda: ck.rate(1, np.inf), Error(
        "trials contains 1 infinite value(s); counts must be finite. Fix or drop them.")),
    Case("rate-zero-trials", lambda: ck.rate(0, 0),
         Result("0 trials: NaN with the reason in note", _rate_zero, nan_ok=("rate", "lower", "upper"))),
    # ad value, reallocation, leads ------------------------------------------------------------
    Case("ad-value-unknown-campaign", lambda: _ad_value(customers=with_col(
        CUSTOMERS, campaign=["banner", "banner", "search", "video"])), Error(
        "customers has 1 customer(s) acquired by campaign value(s) not in campaigns: 'video'. Add their "
        "rows to campaigns (spend 0 if they cost nothing) or drop those customers.")),
    Case("ad-value-nan-customer-in-customers",
         lambda: _ad_value(customers=with_col(CUSTOMERS, customer_id=["a", None, "c", "d"])),
         Error(_missing("customer_id", "customer_col", 1, 4, "the customer id", "customers"))),
    Case("ad-value-nan-customer-in-transactions",
         lambda: _ad_value(transactions=with_col(PURCHASES, customer_id=["a", None, "c", "c", "d"])),
         Error(_missing("customer_id", "customer_col", 1, 5, "the customer id"))),
    Case("ad-value-infinite-clv", lambda: _ad_value(clv=with_col(CLV, clv=[1.0, np.inf, 3.0, 4.0])),
         Error(_infinite("clv", "clv_col", 1, 4, "each customer's predicted residual value", "clv"))),
    Case("ad-value-zero-impressions",
         lambda: _ad_value(campaigns=with_col(CAMPAIGNS, impressions=[0, 4000], clicks=[0, 80])),
         Result("0 impressions: NaN CTR and CVR with the reason in note", _av_zero_impressions,
                nan_ok=("ctr", "ctr_lower", "ctr_upper", "cvr", "payback_period", "rank_ctr"))),
    Case("ad-value-refund", lambda: _ad_value(
        transactions=with_col(PURCHASES, amount=[9000.0, -7000.0, 8000.0, 14000.0, 10000.0])),
        Result("realised value is net of refunds", _av_refund, nan_ok=("payback_period",))),
    Case("reallocate-unknown-campaign-in-plan", lambda: ck.reallocate(PLAN, plan={"tv": 100.0}), Error(
        "plan names 'tv', which is not a row of table; rows are ['banner', 'search', 'line'].")),
    Case("reallocate-bool-spend", lambda: ck.reallocate(with_col(PLAN, spend=[True, False, True])), Error(
        "column 'spend' (spend_col) holds True/False values; it must hold numbers. Pass the numeric "
        "column.")),
    Case("reallocate-infinite-ltv-roas", lambda: ck.reallocate(with_col(PLAN, ltv_roas=[np.inf, 2.0, 3.0])),
         Error("column 'ltv_roas' (metric) is infinite for 'banner' (a campaign with value but no spend?); "
               "reallocation needs a finite value per unit of spend. Drop those rows or fix their spend.")),
    Case("lead-scores-nan-lead-id", lambda: ck.lead_scores(with_col(LEADS, lead_id=["a", None, "b"])),
         Error(_missing("lead_id", "customer_col", 1, 3, "the lead id", "events"))),
    Case("lead-scores-tz-aware-and-naive-mixed", lambda: ck.lead_scores(with_col(LEADS, timestamp=pd.Series(
        [pd.Timestamp("2024-01-01", tz="UTC"), *LEADS["timestamp"].iloc[1:]], dtype=object))),
        Error(_tz_mixed("timestamp", "date_col", 1, "2024-01-01 00:00:00+00:00", 2, "2024-01-03 00:00:00"))),
    Case("lead-scores-unknown-events", lambda: ck.lead_scores(with_col(LEADS, event=["x", "y", "z"])),
         Result("events not in points score 0 (documented)", _leads_unknown_events)),
    # sources, datasets, privacy ---------------------------------------------------------------
    Case("ad-costs-mixed-date-formats", lambda: sources.ad_costs(with_col(REPORT, Day=["2024-01-05", "01/02/2024"])),
         Error("column 'Day' of the cost report mixes date formats, e.g. '2024-01-05' and '01/02/2024', so "
               "a value such as '01/02/2024' is ambiguous. Re-export the report with one date format, or "
               "convert the column with pandas.to_datetime(..., format=...) first.")),
    Case("ad-costs-negative-clicks", lambda: sources.ad_costs(with_col(REPORT, Clicks=["-5", "0"])), Error(
        "column 'Clicks' (clicks) of the cost report has negative values, e.g. -5; counts are never "
        "negative. Check the export.")),
    Case("ad-costs-missing-campaign-name", lambda: sources.ad_costs(with_col(REPORT, Campaign=["A", None])),
         Error("column 'Campaign' of the cost report is empty in 1 data row(s), e.g. the row dated "
               "'2024-01-02'; their spend would belong to no campaign. Fill in the campaign names or drop "
               "those rows.")),
    Case("ad-costs-series", lambda: sources.ad_costs(REPORT["Cost"]), Error(
        "report has type Series; pass the path of the exported CSV or a pandas DataFrame of it.")),
    Case("ad-costs-only-a-total-row", lambda: sources.ad_costs(with_col(REPORT.iloc[:1], Day=["Total"])), Error(
        "the cost report has no data rows (only headers or a total row) under 'Day'; check the export's "
        "date range and filters.")),
    Case("ga4-flattened-export", lambda: sources.ga4_events(GA4.drop(columns=["event_name"])), Error(
        "data is not a GA4 export: missing column(s) event_name. Expected the GA4 BigQuery export schema "
        "(event_date, event_timestamp, event_name, user_pseudo_id, user_id, event_params, traffic_source, "
        "collected_traffic_source, ecommerce); found event_date, event_timestamp, user_pseudo_id. Pass the "
        "events_* table (or its Parquet export) as it is, without flattening it.")),
    Case("ga4-timestamp-as-text", lambda: sources.ga4_events(with_col(GA4, event_timestamp=["2024-01-05"])),
         Error("column 'event_timestamp' of the GA4 export must hold integer microseconds since 1970 "
               "(INT64), but has type string. Pass the export as BigQuery wrote it (not a converted copy).")),
    Case("load-cdnow-sample-not-bool", lambda: datasets.load_cdnow(sample="yes"),
         Error("sample='yes' must be True or False.")),
    Case("pseudonymize-series", lambda: ck.pseudonymize(TX["customer_id"], "customer_id", salt="s"), Error(
        "frame has type Series; pass a pandas DataFrame (for a Series, series.to_frame()).")),
    Case("pseudonymize-length-as-text", lambda: ck.pseudonymize(TX, "customer_id", salt="s", length="12"),
         Error("length='12' must be between 8 and 64 hex characters.")),
    Case("pseudonymize-ids-mixing-ints-and-strings", lambda: ck.pseudonymize(
        pd.DataFrame({"c": pd.Series([1, "1", 2], dtype=object)}), "c", salt="s"),
        Result("ids are hashed in their text form, as the engine reads them", _pseudonym_text_form)),
]


def _params():
    for case in CASES:
        marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
        yield pytest.param(case, id=case.id, marks=marks)


def _check_numbers(out: Any, nan_ok: tuple[str, ...]) -> None:
    frames = [out] if isinstance(out, pd.DataFrame) else []
    for frame in frames:
        for col in frame.select_dtypes(include=["number"]).columns:
            values = frame[col].to_numpy(dtype="float64", na_value=np.nan)
            assert not np.isinf(values).any(), f"inf in {col!r}"
            if col not in nan_ok:
                assert not np.isnan(values).any(), f"undocumented NaN in {col!r}"
        if any(frame[c].isna().any() for c in nan_ok if c in frame):
            assert "note" in frame.columns and frame["note"].str.len().gt(0).any(), "NaN without a reason"


@pytest.mark.parametrize("case", _params())
def test_bad_input(case: Case):
    if isinstance(case.expect, Error):
        with pytest.raises(DataError, match="^" + re.escape(case.expect.message) + "$"):
            case.call()
        return
    out = case.call()
    if hasattr(out, "execute") and not isinstance(out, pd.DataFrame):
        out = ck.to_pandas(out)
    case.expect.check(out)
    _check_numbers(out, case.expect.nan_ok)


def test_catalogue_is_large_and_ids_are_unique():
    assert len(CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES)
