"""Holdout scorecard and early-read backtest (issue "Early-read CLV by acquisition campaign", item 5)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import cohortkit as ck
from cohortkit import DataError
from cohortkit.clv import CLVModel, backtest, scorecard
from cohortkit.clv._backtest import _gini_and_capture


def test_cdnow_scorecard_numbers(cal, bgnbd):
    card = scorecard(bgnbd, cal)
    row = card.iloc[0]
    assert "group" not in card.columns and row["n_customers"] == 2357
    # by hand from the model's predictions over the 39-week holdout
    pred = bgnbd.predict_purchases(cal["duration_holdout"].iloc[0], summary=cal).to_numpy()
    actual = cal["frequency_holdout"].to_numpy()
    assert row["mae"] == pytest.approx(np.abs(pred - actual).mean())
    assert row["bias"] == pytest.approx(pred.mean() - actual.mean())
    assert row["predicted_purchases"] == pytest.approx(pred.mean())
    assert row[["mae", "bias", "p_alive_hit_rate", "gini", "top_decile_capture"]].round(3).tolist() == [
        0.785, -0.097, 0.339, 0.556, 0.502]


def test_gini_and_top_decile_capture_against_a_brute_force():
    rng = np.random.default_rng(0)
    pred, actual = rng.gamma(1, 1, 1000), rng.gamma(0.5, 1, 1000) * (rng.random(1000) < 0.4)
    gini, top = _gini_and_capture(pred, actual)
    order = np.argsort(-pred)
    shares = np.concatenate([[0], np.cumsum(actual[order]) / actual.sum()])
    x = np.linspace(0, 1, 1001)
    assert gini == pytest.approx(2 * np.trapezoid(shares, x) - 1, abs=1e-12)
    assert top == pytest.approx(actual[order[:100]].sum() / actual.sum())
    perfect, _ = _gini_and_capture(actual, actual)
    assert perfect > gini
    assert _gini_and_capture(np.ones(3), np.zeros(3)) != _gini_and_capture(np.ones(3), np.ones(3))


def test_scorecard_refuses_a_table_without_holdout(cal, bgnbd):
    with pytest.raises(DataError, match="calibration_holdout"):
        scorecard(bgnbd, cal.drop(columns="frequency_holdout"))
    with pytest.raises(DataError, match="by='campaign'"):
        scorecard(bgnbd, cal, by="campaign")


@pytest.fixture(scope="module")
def shop_backtest(shop):
    return backtest(shop.transactions, customers=shop.customers, by="campaign", cuts=["2W", "8W", "26W"],
                    penalizer=0.0003, horizon=104)


def test_shop_backtest_table(shop, shop_backtest):
    bt = shop_backtest
    assert bt["cut"].unique().tolist() == ["2W", "8W", "26W"]
    assert bt["calibration_end"].unique().tolist() == [pd.Timestamp("2023-01-14"), pd.Timestamp("2023-02-25"),
                                                       pd.Timestamp("2023-07-01")]
    per_cut = bt.groupby("cut", sort=False)["campaign"].apply(list)
    assert all(groups[0] == "all" and len(groups) == 7 for groups in per_cut)
    groups = bt[bt["campaign"] != "all"]
    assert np.isfinite(groups[["new_customer_value", "rank", "mae", "gini"]].to_numpy(float)).all()
    # customers acquired by each cut: the all row counts them
    first = shop.transactions.groupby("customer_id")["date"].min()
    for cut, end in (("8W", "2023-02-25"), ("26W", "2023-07-01")):
        n = int((first < pd.Timestamp(end) + pd.Timedelta(days=1)).sum())
        assert bt.loc[(bt["cut"] == cut) & (bt["campaign"] == "all"), "n_customers"].item() == n


def test_the_campaign_ranking_settles_on_the_truth(shop, shop_backtest):
    truth = shop.truth.campaigns.set_index("campaign")["expected_value_730d"].rank(ascending=False)
    last = shop_backtest[(shop_backtest["cut"] == "26W") & (shop_backtest["campaign"] != "all")]
    assert dict(zip(last["campaign"], last["rank"])) == truth.to_dict()
    # later cuts score the holdout better on the whole
    overall = shop_backtest[shop_backtest["campaign"] == "all"].set_index("cut")
    assert overall.loc["26W", "gini"] > overall.loc["2W", "gini"]
    assert abs(overall.loc["26W", "bias"]) < abs(overall.loc["2W", "bias"])


def test_backtest_without_groups(cdnow_sample):
    bt = backtest(cdnow_sample, cuts=["13W", "26W"], observation_end="1998-06-30")
    assert "group" not in bt.columns and len(bt) == 2
    assert bt["new_customer_value"].notna().all()
    with pytest.raises(DataError, match="needs customers"):
        backtest(cdnow_sample, cuts=["13W"], by="campaign")
    with pytest.raises(DataError, match="cuts"):
        backtest(cdnow_sample, cuts="13W")


def test_the_ranking_plot_reads_back_the_ranks(shop_backtest):
    import cohortkit as ck

    ax = ck.plot.backtest_ranks(shop_backtest)
    groups = sorted(shop_backtest.loc[shop_backtest["campaign"] != "all", "campaign"].unique())
    assert [line.get_label() for line in ax.lines] == groups
    for line, campaign in zip(ax.lines, groups):
        expected = shop_backtest[shop_backtest["campaign"] == campaign]["rank"].tolist()
        assert line.get_ydata().tolist() == expected
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2W", "8W", "26W"]
    assert ax.get_ylim() == (6.5, 0.5)  # rank 1 at the top


def test_backtest_passes_shape_covariates_to_each_fit(shop):
    # the 13-week cut with partially pooled shapes values each campaign as the same fit made by hand
    bt = backtest(shop.transactions, customers=shop.customers, by="campaign", cuts=["13W"],
                  penalizer=0.0003, horizon=104, shape_covariates="pooled")
    shared = backtest(shop.transactions, customers=shop.customers, by="campaign", cuts=["13W"],
                      penalizer=0.0003, horizon=104)
    end = bt["calibration_end"].iloc[0]
    cal = ck.calibration_holdout(shop.transactions, calibration_end=end, amount_col="amount", time_unit="W")
    model = CLVModel("bgnbd", spend_model="gamma_gamma", penalizer=0.0003).fit(
        cal, covariates=shop.customers[["customer_id", "campaign"]], shape_covariates="pooled")
    assert model.shape_selection_["chosen"] == "pooled"
    by_hand = model.new_customer_value(horizon=104, time_unit="W").set_index("campaign")["clv"]
    groups = bt[bt["campaign"] != "all"].set_index("campaign")["new_customer_value"]
    np.testing.assert_allclose(groups.to_numpy(), by_hand.loc[groups.index].to_numpy(), rtol=1e-6)
    other = shared[shared["campaign"] != "all"].set_index("campaign")["new_customer_value"]
    assert np.abs(groups / other.loc[groups.index] - 1).max() > 0.01  # pooling moved the values


def test_a_fit_warning_is_said_with_its_cut(cdnow_sample, monkeypatch):
    import warnings

    import cohortkit.clv._backtest as module

    class Warns(CLVModel):
        def fit(self, summary, **kwargs):
            warnings.warn("the fit is not identified", UserWarning)
            return super().fit(summary, **kwargs)

    monkeypatch.setattr(module, "CLVModel", Warns)
    with pytest.warns(UserWarning) as record:
        bt = backtest(cdnow_sample, cuts=["13W", "26W"], observation_end="1998-06-30")
    said = [str(w.message) for w in record if "not identified" in str(w.message)]
    assert said == ["backtest, cut 13W: the fit is not identified", "backtest, cut 26W: the fit is not identified"]
    assert len(bt) == 2
