"""Rates, comparisons, campaign metrics and NPS, checked against statsmodels and by hand."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
)

from cohortkit import DataError
from cohortkit.metrics import ad_metrics, compare_rates, nps, rate
from helpers import exact


counts = st.integers(1, 10_000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n)))


# --- rate -----------------------------------------------------------------------------------------


@given(pairs=st.lists(counts, min_size=1, max_size=20), level=st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_rate_matches_statsmodels(pairs, level):
    x = np.array([p[0] for p in pairs])
    n = np.array([p[1] for p in pairs])
    for method in ("wilson", "jeffreys"):
        got = rate(x, n, ci=level, method=method)
        low, upp = proportion_confint(x, n, alpha=1 - level, method=method)
        if method == "jeffreys":  # Brown, Cai & DasGupta's boundary modification
            low, upp = np.where(x == 0, 0.0, low), np.where(x == n, 1.0, upp)
        np.testing.assert_allclose(got["lower"], low, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(got["upper"], upp, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(got["rate"], x / n)
        assert (got["lower"] <= got["rate"] + 1e-12).all() and (got["rate"] <= got["upper"] + 1e-12).all()


def test_ctr_example_is_one_and_a_quarter_percent():
    # CTR = clicks / impressions: 100 / 8,000 = 1.25 % (shared/DOMAIN.md)
    r = rate(100, 8000)
    assert r["rate"].item() == 0.0125
    assert r["successes"].item() == 100 and r["trials"].item() == 8000


def test_rate_wilson_published_value():
    # Newcombe (1998), Statistics in Medicine 17:857-872, Table I: 81/263, Wilson 0.2553 to 0.3662
    r = rate(81, 263)
    assert round(r["lower"].item(), 4) == 0.2553
    assert round(r["upper"].item(), 4) == 0.3662


def test_rate_keeps_series_index_and_zero_trials():
    x = pd.Series([0, 5, 0], index=["a", "b", "c"])
    n = pd.Series([10, 10, 0], index=["a", "b", "c"])
    r = rate(x, n)
    assert r.index.tolist() == ["a", "b", "c"]
    assert np.isnan(r.loc["c", ["rate", "lower", "upper"]].astype(float)).all()
    assert r["note"].tolist() == ["", "", "0 trials"]
    assert r.loc["a", "lower"] == 0.0


def test_rate_errors():
    with pytest.raises(DataError, match=exact(
        "successes must not exceed trials, but 1 value(s) do, e.g. 12 > 10. Check that the "
        "arguments are (successes, trials) in that order."
    )):
        rate([1, 12], [10, 10])
    with pytest.raises(DataError, match=exact(
        "trials must be >= 0, but 1 value(s) are negative, e.g. -3. Counts cannot be negative; "
        "check the data."
    )):
        rate(1, -3)
    with pytest.raises(DataError, match=exact(
        "method='wald' is not a rate interval. Pass method='wilson' (the default) or "
        "method='jeffreys'."
    )):
        rate(1, 10, method="wald")
    with pytest.raises(DataError, match=exact(
        "ci=95 is not a confidence level. Pass a number between 0 and 1, e.g. ci=0.95."
    )):
        rate(1, 10, ci=95)
    with pytest.raises(DataError, match=exact(
        "successes has 2 values but trials has 3; pass arrays of the same length (or a scalar "
        "for one of them)."
    )):
        rate([1, 2], [3, 4, 5])


# --- compare_rates --------------------------------------------------------------------------------


@given(a=counts, b=counts, level=st.sampled_from([0.9, 0.95]))
def test_compare_rates_matches_statsmodels(a, b, level):
    (xa, na), (xb, nb) = a, b
    got = compare_rates(xa, na, xb, nb, ci=level).iloc[0]
    # statsmodels computes p1 - p2, so B goes first
    low, upp = confint_proportions_2indep(xb, nb, xa, na, method="newcomb", compare="diff", alpha=1 - level)
    assert got["difference"] == pytest.approx(xb / nb - xa / na, abs=1e-15)
    assert got["lower"] == pytest.approx(low, abs=1e-10)
    assert got["upper"] == pytest.approx(upp, abs=1e-10)
    if 0 < xa + xb < na + nb:
        z, p = proportions_ztest([xb, xa], [nb, na])
        assert got["z"] == pytest.approx(z, rel=1e-9)
        assert got["p_value"] == pytest.approx(p, rel=1e-9, abs=1e-300)
    else:
        assert np.isnan(got["p_value"]) and got["note"].startswith("no variation")


def test_compare_rates_vectorised_and_zero_trials():
    out = compare_rates([10, 0], [100, 0], [20, 5], [100, 50])
    assert out["difference"].iloc[0] == pytest.approx(0.1)
    assert np.isnan(out.loc[1, "difference"]) and out.loc[1, "note"] == "0 trials in a variant"
    assert out.loc[0, "note"] == ""


# --- ad_metrics -----------------------------------------------------------------------------------

ROWS = pd.DataFrame(
    {
        "campaign": ["A", "A", "B", "B", "C"],
        "day": pd.to_datetime(["2024-05-01", "2024-05-02", "2024-05-01", "2024-05-02", "2024-05-01"]),
        "impressions": [5000, 3000, 1000, 1000, 0],
        "clicks": [60, 40, 30, 10, 0],
        "spend": [30000.0, 20000.0, 8000.0, 4000.0, 0.0],
        "conversions": [3, 2, 0, 0, 0],
        "revenue": [90000.0, 60000.0, 0.0, 0.0, 0.0],
    }
)


def test_ad_metrics_against_hand_computation():
    m = ad_metrics(ROWS, date_col="day").set_index("campaign")
    a = m.loc["A"]
    # 100 clicks on 8,000 impressions is a CTR of 1.25 %
    assert a["impressions"] == 8000 and a["clicks"] == 100
    assert a["ctr"] == 0.0125
    assert a["cpc"] == 500.0 and a["cvr"] == 0.05 and a["cpa"] == 10000.0 and a["roas"] == 3.0
    low, upp = proportion_confint(100, 8000, method="wilson")
    assert (a["ctr_lower"], a["ctr_upper"]) == (pytest.approx(low), pytest.approx(upp))
    assert a["first_date"] == pd.Timestamp("2024-05-01") and a["last_date"] == pd.Timestamp("2024-05-02")
    b = m.loc["B"]
    assert b["ctr"] == 0.02 and b["cvr"] == 0.0 and np.isnan(b["cpa"]) and b["roas"] == 0.0
    assert b["note"] == "cpa: 0 conversions"
    c = m.loc["C"]
    assert c["note"] == "ctr: 0 impressions; cpc: 0 clicks; cvr: 0 clicks; cpa: 0 conversions; roas: 0 spend"
    assert not np.isinf(m.select_dtypes("number").to_numpy(dtype=float)).any()


def test_ad_metrics_totals_and_optional_columns():
    total = ad_metrics(ROWS.drop(columns=["conversions", "revenue"]), by=None)
    assert list(total.columns) == [
        "impressions", "clicks", "spend", "ctr", "ctr_lower", "ctr_upper", "cpc", "note"
    ]
    assert total["ctr"].item() == pytest.approx(140 / 10000)
    renamed = ROWS.rename(columns={"conversions": "orders"})
    m = ad_metrics(renamed, conversions_col="orders", revenue_col=None)
    assert "cvr" in m and "roas" not in m
    with pytest.raises(DataError, match=exact(
        "column 'sales' (revenue_col) not found in campaigns; it has columns 'campaign', 'day', "
        "'impressions', 'clicks', 'spend', 'conversions', 'revenue'. Pass revenue_col= the name "
        "of the column that holds the attributed revenue."
    )):
        ad_metrics(ROWS, revenue_col="sales")


def test_ad_metrics_more_clicks_than_impressions_keeps_estimate():
    odd = pd.DataFrame({"campaign": ["x"], "impressions": [10], "clicks": [12], "spend": [1.0]})
    m = ad_metrics(odd)
    assert m["ctr"].item() == 1.2 and np.isnan(m["ctr_lower"].item())
    assert m["note"].item() == "ctr: clicks exceed impressions, no interval"


def test_ad_metrics_errors():
    with pytest.raises(DataError, match=exact(
        "column 'clicks' (clicks_col) must be >= 0, but has negative values, e.g. -5. Check the data."
    )):
        ad_metrics(ROWS.assign(clicks=[60, 40, 30, -5, 0]))
    with pytest.raises(DataError, match=exact(
        "column 'spend' (spend_col) must be numeric, but has type string (e.g. '¥30,000'). Convert "
        "it with pandas.to_numeric(...) after removing currency symbols and thousands separators."
    )):
        ad_metrics(ROWS.assign(spend=["¥30,000", "1", "2", "3", "4"]))


# --- NPS --------------------------------------------------------------------------------------------


@given(scores=st.lists(st.integers(0, 10), min_size=1, max_size=200))
def test_nps_matches_independent_computation(scores):
    got = nps(pd.DataFrame({"score": scores}), ci=0.9).iloc[0]
    s = np.array(scores)
    value = np.where(s >= 9, 1.0, np.where(s <= 6, -1.0, 0.0))
    expected = 100 * value.mean()
    se = 100 * value.std(ddof=0) / np.sqrt(len(s))
    assert got["nps"] == pytest.approx(expected, abs=1e-9)
    assert got["lower"] == pytest.approx(max(-100, expected - 1.6448536269514722 * se), abs=1e-7)
    assert got["upper"] == pytest.approx(min(100, expected + 1.6448536269514722 * se), abs=1e-7)
    assert got["promoters"] + got["passives"] + got["detractors"] == len(s)


def test_nps_by_group_and_missing():
    df = pd.DataFrame(
        {"channel": ["ads"] * 4 + ["mail"] * 3, "score": [10, 9, 3, None, 8, 7, 6]}
    )
    out = nps(df, by="channel")
    assert out["channel"].tolist() == ["ads", "mail"]
    assert out["nps"].tolist() == pytest.approx([100 * (2 - 1) / 3, 100 * (0 - 1) / 3])
    assert out["missing"].tolist() == [1, 0]
    assert out["respondents"].tolist() == [3, 3]


def test_nps_errors():
    with pytest.raises(DataError, match=exact(
        "column 'score' (score_col) must hold scores from 0 to 10, but 2 of 4 values are outside "
        "0–10, e.g. 11. Recode the scale to 0–10 or drop those rows."
    )):
        nps(pd.DataFrame({"score": [10, 11, -1, 5]}))
    with pytest.raises(DataError, match=exact(
        "column 'score' (score_col) must hold whole-number scores from 0 to 10, but 1 of 3 values "
        "are not whole numbers, e.g. 7.5. NPS is defined on the 11-point 0–10 scale; round or drop "
        "those values."
    )):
        nps(pd.DataFrame({"score": [10, 7.5, 3]}))
    with pytest.raises(DataError, match=exact(
        "column 'rating' (score_col) not found in data; it has columns 'score'. Pass score_col= the "
        "name of the column that holds the 0-10 recommendation score."
    )):
        nps(pd.DataFrame({"score": [10]}), score_col="rating")


# --- plot -----------------------------------------------------------------------------------------


def test_plot_rates_reads_back_points_and_whiskers():
    import cohortkit as ck

    m = ad_metrics(ROWS[ROWS["campaign"] != "C"])
    ax = ck.plot.rates(m)
    assert ax.lines[0].get_xdata().tolist() == m["ctr"].tolist()
    segments = ax.collections[0].get_segments()
    for seg, lo, hi in zip(segments, m["ctr_lower"], m["ctr_upper"]):
        assert seg[0][0] == pytest.approx(lo) and seg[1][0] == pytest.approx(hi)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["A", "B"]
    ax2 = ck.plot.rates(m, metric="cvr", color="red")
    assert ax2.lines[0].get_xdata().tolist() == m["cvr"].tolist()
    with pytest.raises(DataError, match=exact(
        "table has no column(s) ['roas_lower', 'roas_upper'] (it has 'campaign', 'impressions', "
        "'clicks', 'spend', 'conversions', 'revenue', 'ctr', 'ctr_lower', 'ctr_upper', 'cpc', 'cvr', "
        "'cvr_lower', 'cvr_upper', 'cpa', 'roas', 'note'); pass the DataFrame returned by "
        "cohortkit.rate() or cohortkit.ad_metrics()."
    )):
        ck.plot.rates(m, metric="roas")


def test_ad_metrics_missing_by_column_and_multiple_keys():
    with pytest.raises(DataError, match=exact(
        "column 'campain' (by) not found in campaigns; it has columns 'campaign', 'day', "
        "'impressions', 'clicks', 'spend', 'conversions', 'revenue'. Did you mean 'campaign'? "
        "Pass by= the name of the column that holds the campaign name."
    )):
        ad_metrics(ROWS, by="campain")
    per_day = ad_metrics(ROWS, by=["campaign", "day"])
    assert len(per_day) == 5
    assert per_day["clicks"].sum() == ROWS["clicks"].sum()
