"""cohortkit.value: LTV-adjusted ad value, value curves and payback, rank shifts, reallocation."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

from helpers import exact
import cohortkit as ck
from cohortkit import DataError
from cohortkit.value import rank_shift, value_curve
from helpers import exact


# --- a tiny hand-made world ---------------------------------------------------------------------

CAMPAIGNS = pd.DataFrame({
    "campaign": ["banner", "banner", "search", "video"],
    "impressions": [6000, 4000, 4000, 5000],
    "clicks": [250, 150, 80, 50],
    "spend": [25000.0, 15000.0, 16000.0, 10000.0],
})
CUSTOMERS = pd.DataFrame({
    "customer_id": ["a", "b", "c", "d", "e"],
    "campaign": ["banner", "banner", "search", "search", "search"],
    "acquired_at": pd.to_datetime(["2024-01-01 10:00", "2024-01-03 09:00", "2024-01-01 12:00",
                                   "2024-01-15 08:00", "2024-03-20 18:00"]),
})
TX = pd.DataFrame({
    "customer_id": ["a", "b", "b", "c", "c", "c", "d", "e", "x"],
    "date": pd.to_datetime(["2024-01-01 10:00", "2024-01-03 09:00", "2024-02-10 12:00", "2024-01-01 12:00",
                            "2024-01-09 12:00", "2024-03-01 00:00", "2024-01-15 08:00", "2024-03-20 18:00",
                            "2024-01-05 00:00"]),
    "amount": [9000.0, 4000.0, 3000.0, 8000.0, 6000.0, 5000.0, 10000.0, 7000.0, 999.0],
})
CLV = pd.DataFrame({"customer_id": ["a", "b", "c", "d", "e"], "clv": [1000.0, 2000.0, 20000.0, 9000.0, 4000.0]})
END = "2024-03-31"


def test_ltv_roas_matches_hand_computation():
    v = ck.ad_value(CAMPAIGNS, CUSTOMERS, CLV, transactions=TX, economics=ck.Economics(margin=0.4, target_ltv_cac=2.0), observation_end=END).set_index("campaign")
    # banner: spend 40,000, 2 customers; realised a 9,000, b 4,000 + 3,000; residual 1,000 + 2,000
    #   total expected value = 9,000 + 7,000 + 3,000 = 19,000 -> LTV-ROAS = 19,000 * 0.4 / 40,000
    assert v.loc["banner", "ltv_roas"] == pytest.approx(19000 * 0.4 / 40000)
    assert v.loc["banner", "cpa"] == pytest.approx(20000)
    assert v.loc["banner", "customer_value"] == pytest.approx(9500)
    assert v.loc["banner", "ltv_cac"] == pytest.approx(9500 * 0.4 / 20000)
    assert v.loc["banner", "allowable_cpa"] == pytest.approx(9500 * 0.4 / 2.0)
    assert v.loc["banner", "first_order_roas"] == pytest.approx((9000 + 4000) / 40000)
    # search: spend 16,000, 3 customers; realised 19,000 + 10,000 + 7,000; residual 33,000
    assert v.loc["search", "ltv_roas"] == pytest.approx((36000 + 33000) * 0.4 / 16000)
    assert v.loc["search", "realised_value"] == pytest.approx(12000)
    assert v.loc["search", "predicted_clv"] == pytest.approx(11000)
    assert v.loc["search", "ctr"] == pytest.approx(80 / 4000)
    assert v.loc["search", "cvr"] == pytest.approx(3 / 80)
    # normal interval over customers: mean +- z * sd / sqrt(n)
    values = np.array([19000 + 20000, 10000 + 9000, 7000 + 4000])
    half = 1.959964 * values.std(ddof=1) / np.sqrt(3)
    assert v.loc["search", "customer_value_lower"] == pytest.approx(values.mean() - half, rel=1e-6)
    assert v.loc["search", "ltv_roas_upper"] == pytest.approx(3 * (values.mean() + half) * 0.4 / 16000, rel=1e-6)
    # ranks: CTR banner 0.04 > search 0.02 > video 0.01; LTV-ROAS search > banner > video (0)
    assert v["rank_ctr"].tolist() == [1, 2, 3]
    assert v["rank_ltv_roas"].tolist() == [2, 1, 3]
    assert v["rank_cpa"].astype("float").tolist()[:2] == [2.0, 1.0]


def test_zero_customers_give_nan_with_reason_not_inf():
    v = ck.ad_value(CAMPAIGNS, CUSTOMERS, CLV, transactions=TX, observation_end=END).set_index("campaign")
    video = v.loc["video"]
    assert video["customers"] == 0
    for col in ("cpa", "cac", "customer_value", "ltv_cac", "allowable_cpa", "payback_period", "cvr"):
        if col == "cvr":
            assert video[col] == 0
        else:
            assert np.isnan(video[col]), col
    assert video["ltv_roas"] == 0.0
    assert pd.isna(video["rank_cpa"])
    assert video["note"] == "cpa: 0 customers"
    assert not np.isinf(v.select_dtypes("number").astype(float).to_numpy()).any()


def test_zero_spend_gives_nan_roas_with_reason():
    camp = CAMPAIGNS.assign(spend=[25000.0, 15000.0, 0.0, 10000.0])
    v = ck.ad_value(camp, CUSTOMERS, CLV, transactions=TX, observation_end=END).set_index("campaign")
    assert np.isnan(v.loc["search", "ltv_roas"]) and np.isnan(v.loc["search", "first_order_roas"])
    assert v.loc["search", "cpa"] == 0
    assert v.loc["search", "note"] == "roas: 0 spend; ltv_cac: 0 acquisition cost"


def test_clv_as_series_and_cost_per_customer():
    base = ck.ad_value(CAMPAIGNS, CUSTOMERS, CLV, transactions=TX, observation_end=END)
    series = CLV.set_index("customer_id")["clv"]
    again = ck.ad_value(CAMPAIGNS, CUSTOMERS, series, transactions=TX, observation_end=END)
    pd.testing.assert_frame_equal(base, again)
    extra = ck.ad_value(CAMPAIGNS, CUSTOMERS, CLV, transactions=TX, observation_end=END,
                        economics=ck.Economics(cost_per_customer=500.0, target_ltv_cac=3.0)).set_index("campaign")
    assert extra.loc["banner", "cac"] == pytest.approx(20500)
    assert extra.loc["banner", "ltv_cac"] == pytest.approx(9500 / 20500)
    assert extra.loc["banner", "allowable_cpa"] == pytest.approx(9500 / 3 - 500)
    # LTV-ROAS is media spend only: unchanged by the extra cost
    assert extra.loc["banner", "ltv_roas"] == pytest.approx(base.set_index("campaign").loc["banner", "ltv_roas"])


def test_without_transactions_value_is_residual_only():
    v = ck.ad_value(CAMPAIGNS, CUSTOMERS, CLV).set_index("campaign")
    assert v.loc["banner", "ltv_roas"] == pytest.approx(3000 / 40000)
    assert np.isnan(v.loc["banner", "payback_period"])
    assert v.loc["banner", "note"].startswith("no transactions")


def test_missing_clv_raises_or_counts_zero():
    partial = CLV[CLV["customer_id"] != "e"]
    with pytest.raises(DataError, match=exact(
        "clv has no value for 1 of 5 acquired customers. Value every customer in customers (e.g. "
        "model.summary(horizon=..., time_unit=...) on all of them), or pass missing_clv='zero' to "
        "count their residual value as 0."
    )):
        ck.ad_value(CAMPAIGNS, CUSTOMERS, partial, transactions=TX, observation_end=END)
    v = ck.ad_value(CAMPAIGNS, CUSTOMERS, partial, transactions=TX, observation_end=END,
                    missing_clv="zero").set_index("campaign")
    assert v.loc["search", "predicted_clv"] == pytest.approx(29000 / 3)


# --- bad input: exact messages ------------------------------------------------------------------


def test_campaign_in_customers_but_not_in_campaigns():
    customers = pd.concat([CUSTOMERS, pd.DataFrame({"customer_id": ["f", "g"], "campaign": ["tv", "tv"],
                                                     "acquired_at": pd.to_datetime(["2024-01-02"] * 2)})])
    with pytest.raises(DataError, match=exact(
        "customers has 2 customer(s) acquired by campaign value(s) not in campaigns: 'tv'. Add their "
        "rows to campaigns (spend 0 if they cost nothing) or drop those customers."
    )):
        ck.ad_value(CAMPAIGNS, customers, CLV, transactions=TX)


def test_negative_spend():
    camp = CAMPAIGNS.assign(spend=[25000.0, -15000.0, 16000.0, 10000.0])
    with pytest.raises(DataError, match=exact(
        "column 'spend' (spend_col) in campaigns has 1 negative value(s), e.g. -15000 for campaign "
        "'banner'; spend must be >= 0. Fix or drop those rows (refunds and credits belong in a "
        "separate adjustment)."
    )):
        ck.ad_value(camp, CUSTOMERS, CLV, transactions=TX)


def test_missing_columns():
    with pytest.raises(DataError, match=exact(
        "column 'spend' (spend_col) not found in campaigns; it has columns 'campaign', 'impressions', "
        "'clicks', 'cost'. Pass spend_col= the name of the column that holds the ad spend."
    )):
        ck.ad_value(CAMPAIGNS.rename(columns={"spend": "cost"}), CUSTOMERS, CLV)
    with pytest.raises(DataError, match=exact(
        "column 'clv' (clv_col) not found in clv; it has columns 'customer_id', 'value'. Pass "
        "clv_col= the name of the column that holds each customer's predicted residual value."
    )):
        ck.ad_value(CAMPAIGNS, CUSTOMERS, CLV.rename(columns={"clv": "value"}))
    with pytest.raises(DataError, match=exact(
        "column 'acquired_at' (acquired_col) not found in customers; it has columns 'customer_id', "
        "'campaign'. Pass acquired_col= the name of the column that holds the acquisition time."
    )):
        ck.ad_value(CAMPAIGNS, CUSTOMERS.drop(columns="acquired_at"), CLV)


def test_duplicate_customers_and_bad_arguments():
    with pytest.raises(DataError, match=exact(
        "column 'customer_id' (customer_col) in customers has 1 duplicate customer id(s); customers "
        "needs one row per customer (the campaign that acquired them). Drop the duplicates, e.g. keep "
        "each customer's first row."
    )):
        ck.ad_value(CAMPAIGNS, pd.concat([CUSTOMERS, CUSTOMERS.iloc[:1]]), CLV)
    with pytest.raises(DataError, match=exact("margin=1.5 must be a number > 0 and <= 1, e.g. 0.3 for a 30 % margin.")):
        ck.ad_value(CAMPAIGNS, CUSTOMERS, CLV, economics=ck.Economics(margin=1.5))
    with pytest.raises(DataError, match=exact("time_unit='M' is not a supported unit; pass 'D' (days) or 'W' (weeks of 7 days). Months are refused because their length varies.")):
        ck.ad_value(CAMPAIGNS, CUSTOMERS, CLV, time_unit="M")


# --- value curve and payback --------------------------------------------------------------------


def _brute_curve(customers, tx, end, unit_days, by="campaign"):
    """Pure-Python reference: per campaign and period n, revenue of customers observed through n."""
    end_day = pd.Timestamp(end).normalize()
    rows = []
    for camp, group in customers.groupby(by):
        acq = {r.customer_id: r.acquired_at.normalize() for r in group.itertuples()}
        n_complete = {c: ((end_day - d).days + 1) // unit_days for c, d in acq.items()}
        cum = 0.0
        for n in range(max(n_complete.values())):
            observed = [c for c in acq if n_complete[c] >= n + 1]
            revenue = 0.0
            for r in tx.itertuples():
                if r.customer_id in observed:
                    age = (r.date.normalize() - acq[r.customer_id]).days
                    if age >= 0 and age // unit_days == n:
                        revenue += r.amount
            cum += revenue / len(observed)
            rows.append((camp, n, len(observed), revenue, cum))
    return pd.DataFrame(rows, columns=[by, "period_number", "customers", "revenue", "cumulative_revenue_per_customer"])


@pytest.mark.parametrize("time_unit, days", [("D", 1), ("W", 7)])
def test_value_curve_matches_brute_force(time_unit, days):
    got = value_curve(CUSTOMERS, TX, time_unit=time_unit, observation_end=END)
    ref = _brute_curve(CUSTOMERS, TX, END, days)
    pd.testing.assert_frame_equal(got[list(ref.columns)], ref, check_dtype=False)


def test_value_curve_random_logs_match_brute_force():
    rng = np.random.default_rng(5)
    n = 40
    customers = pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(n)],
        "campaign": rng.choice(["p", "q", "r"], n),
        "acquired_at": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 60 * 24, n), unit="h"),
    })
    k = 150
    owner = rng.integers(0, n, k)
    tx = pd.DataFrame({
        "customer_id": customers["customer_id"].to_numpy()[owner],
        "date": customers["acquired_at"].to_numpy()[owner] + pd.to_timedelta(rng.integers(-50, 2000, k), unit="h"),
        "amount": rng.integers(1, 100, k).astype(float),
    })
    end = "2024-03-15"
    got = value_curve(customers, tx, time_unit="W", observation_end=end)
    ref = _brute_curve(customers, tx, end, 7)
    pd.testing.assert_frame_equal(got[list(ref.columns)], ref, check_dtype=False)


def test_payback_is_first_period_where_cumulative_margin_reaches_cac():
    margin = 0.5
    v = ck.ad_value(CAMPAIGNS, CUSTOMERS, CLV, transactions=TX, economics=ck.Economics(margin=margin), observation_end=END,
                    time_unit="D")
    curve = value_curve(CUSTOMERS, TX, time_unit="D", margin=margin, observation_end=END)
    for row in v.itertuples():
        c = curve[curve["campaign"] == row.campaign]
        reached = c.loc[c["cumulative_margin_per_customer"] >= row.cac, "period_number"]
        expected = reached.min() + 1 if len(reached) else np.nan
        if np.isnan(expected):
            assert np.isnan(row.payback_period)
        else:
            assert row.payback_period == expected
            # and the period before had not paid back
            before = c.loc[c["period_number"] == expected - 2, "cumulative_margin_per_customer"]
            assert before.empty or before.iloc[0] < row.cac
    # search: CPA 16,000/3 = 5,333; day 0 margin (8,000 + 10,000 + 7,000)/3 * 0.5 = 4,167,
    # day 8: + 6,000/3 * 0.5 (c is observed on day 8, so are d and e) -> 5,167, day 60: + 5,000/2 * 0.5
    s = v.set_index("campaign").loc["search"]
    assert s["payback_period"] == 61.0
    assert v.set_index("campaign").loc["banner", "note"] == "payback: not reached in 91 observed days"


# --- the shop: the CTR ranking and the LTV-ROAS ranking disagree ------------------------------------


@pytest.fixture(scope="module")
def shop_value():
    from cohortkit.datasets import data_path

    try:
        data_path("shop", "customers.csv.gz")
    except DataError:
        pytest.skip("data/shop is not built yet (make shop)")
    shop = ck.datasets.load_shop()
    rfm = ck.rfm_summary(shop.transactions, amount_col="amount", time_unit="W")
    model = ck.CLVModel("bgnbd").fit(rfm)
    clv = model.summary(horizon=52, time_unit="W")[["customer_id", "clv"]]
    value = ck.ad_value(shop.campaigns, shop.customers, clv, transactions=shop.transactions,
                        economics=ck.Economics(margin=0.3), time_unit="W")
    # a fitted CLVModel with horizon= gives the same table as its per-customer clv column
    direct = ck.ad_value(shop.campaigns, shop.customers, model, transactions=shop.transactions,
                         economics=ck.Economics(margin=0.3, horizon=52), time_unit="W")
    pd.testing.assert_frame_equal(direct, value)
    return shop, value


def test_shop_ctr_and_ltv_roas_rankings_disagree(shop_value):
    shop, v = shop_value
    r = rank_shift(v, "ctr", "ltv_roas")
    assert r.attrs["kendall_tau"] < 0  # the orders are reversed more than kept
    by = v.set_index("campaign")
    # the designed reversal: the most-clicked campaigns bring the least valuable customers
    assert by.loc["coupon_affiliate", "rank_ctr"] == 1
    assert by.loc["coupon_affiliate", "rank_ltv_roas"] == len(v)
    assert by.loc["clickbait_banner", "rank_ctr"] == 2
    assert by.loc["clickbait_banner", "rank_ltv_roas"] > 3
    # customer value per campaign follows the simulation's true expected two-year value
    truth = shop.truth.campaigns.set_index("campaign")["expected_value_730d"]
    rho = by["customer_value"].rank().corr(truth.reindex(by.index).rank())
    assert rho > 0.9


# --- incrementality (issue: from scores to decisions) ---------------------------------------------


def test_incremental_ltv_roas_scales_attributed_value_by_the_measured_lift():
    base = ck.ad_value(CAMPAIGNS, CUSTOMERS, CLV, transactions=TX, observation_end=END).set_index("campaign")
    lift = {"banner": 0.9, "search": (0.2, 0.4)}
    v = ck.ad_value(CAMPAIGNS, CUSTOMERS, CLV, transactions=TX, observation_end=END,
                    incrementality=lift).set_index("campaign")
    # attributed columns are unchanged
    pd.testing.assert_frame_equal(v[base.columns.drop("note")], base[base.columns.drop("note")])
    assert v.loc["search", "incrementality"] == pytest.approx(0.3)
    assert (v.loc["search", "incrementality_lower"], v.loc["search", "incrementality_upper"]) == (0.2, 0.4)
    for c, f, lo, hi in (("banner", 0.9, 0.9, 0.9), ("search", 0.3, 0.2, 0.4)):
        assert v.loc[c, "incremental_ltv_roas"] == pytest.approx(base.loc[c, "ltv_roas"] * f)
        assert v.loc[c, "incremental_customers"] == pytest.approx(base.loc[c, "customers"] * f)
        assert v.loc[c, "incremental_cpa"] == pytest.approx(base.loc[c, "spend"] / (base.loc[c, "customers"] * f))
        if np.isfinite(base.loc[c, "ltv_roas_lower"]):
            assert v.loc[c, "incremental_ltv_roas_lower"] == pytest.approx(base.loc[c, "ltv_roas_lower"] * lo)
            assert v.loc[c, "incremental_ltv_roas_upper"] == pytest.approx(base.loc[c, "ltv_roas_upper"] * hi)
    # video has no customers and no measured lift: no incremental value, no rank
    assert np.isnan(v.loc["video", "incremental_ltv_roas"]) and pd.isna(v.loc["video", "rank_incremental_ltv_roas"])
    assert v.loc[["banner", "search"], "rank_incremental_ltv_roas"].tolist() == (
        [1, 2] if v.loc["banner", "incremental_ltv_roas"] > v.loc["search", "incremental_ltv_roas"] else [2, 1])


def test_unmeasured_campaigns_get_nan_and_a_note_and_bad_lifts_are_refused():
    v = ck.ad_value(CAMPAIGNS, CUSTOMERS, CLV, transactions=TX, observation_end=END,
                    incrementality=pd.DataFrame({"campaign": ["banner"], "incrementality": [0.5]}))
    row = v.set_index("campaign").loc["search"]
    assert np.isnan(row["incremental_ltv_roas"]) and "incrementality: not measured" in row["note"]
    with pytest.raises(DataError, match=exact(
        "incrementality for 'banner' must be a share between 0 and 1 (or a (low, high) range with low <= "
        "high), got 1.5."
    )):
        ck.ad_value(CAMPAIGNS, CUSTOMERS, CLV, incrementality={"banner": 1.5})
    with pytest.raises(DataError, match="incrementality names 'tv', which is not a campaign of campaigns"):
        ck.ad_value(CAMPAIGNS, CUSTOMERS, CLV, incrementality={"tv": 0.5})


def test_true_lift_on_the_shop_recovers_the_true_incremental_ranking():
    """The shop's simulator knows each campaign's baseline (customers who would have bought anyway)."""
    from scipy.stats import spearmanr

    shop = ck.datasets.load_shop()
    truth = shop.truth.campaigns.set_index("campaign")
    rfm = ck.rfm_summary(shop.transactions, amount_col="amount", time_unit="W")
    campaign_of = shop.customers.set_index("customer_id")["campaign"]

    def value(clv):
        return ck.ad_value(shop.campaigns, shop.customers, clv, transactions=shop.transactions,
                           economics=ck.Economics(margin=0.3), time_unit="W",
                           incrementality=truth["incrementality"].to_dict()).set_index("campaign")

    # one model per campaign: each campaign's customers valued by their own purchase process
    per_campaign = pd.concat([
        ck.CLVModel().fit(part).summary(part, horizon=52, time_unit="W")[["customer_id", "clv"]]
        for _, part in rfm.groupby(rfm["customer_id"].map(campaign_of))
    ])
    v = value(per_campaign)
    per_yen = v["customers"] / v["spend"]
    true_attributed = (truth["expected_value_730d"] * per_yen).rank(ascending=False).astype(int)
    true_incremental = (truth["incremental_value_730d"] * per_yen).rank(ascending=False).astype(int)
    assert v["rank_ltv_roas"].to_dict() == true_attributed.to_dict()
    assert v["rank_incremental_ltv_roas"].to_dict() == true_incremental.to_dict()
    # the simulator says retargeting and brand search reach people who would buy anyway: they fall,
    # and generic search (mostly new demand) takes first place, in the truth and in the estimate
    for campaign in ("line_retargeting", "brand_search"):
        assert v.loc[campaign, "rank_incremental_ltv_roas"] > v.loc[campaign, "rank_ltv_roas"]
    assert v.loc["generic_search", "rank_incremental_ltv_roas"] == 1 and v.loc["generic_search", "rank_ltv_roas"] == 3
    # one pooled model for every customer gets the same story, with one close pair swapped
    pooled = value(ck.CLVModel().fit(rfm).summary(rfm, horizon=52, time_unit="W")[["customer_id", "clv"]])
    assert spearmanr(pooled["incremental_ltv_roas"], -true_incremental).statistic >= 0.9  # rank 1 = highest
