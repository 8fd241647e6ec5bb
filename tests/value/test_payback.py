"""Payback beyond the observed window: observed part equals value_curve/ad_value, projection from the model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import cohortkit as ck
from cohortkit import DataError
from helpers import exact

CUT = "2023-06-30"


@pytest.fixture(scope="module")
def shop():
    return ck.datasets.load_shop()


@pytest.fixture(scope="module")
def early(shop):
    tx = shop.transactions[shop.transactions["date"] <= CUT]
    customers = shop.customers[shop.customers["acquired_at"] <= CUT]
    campaigns = shop.campaigns[shop.campaigns["date"] <= CUT]
    model = ck.CLVModel().fit(ck.rfm_summary(tx, amount_col="amount", time_unit="W", observation_end=CUT))
    kw = dict(economics=ck.Economics(margin=0.3), horizon=104, observation_end=CUT, n_boot=60)
    return dict(tx=tx, customers=customers, campaigns=campaigns, model=model, kw=kw,
                curve=ck.payback_curve(campaigns, customers, tx, model, **kw),
                table=ck.payback(campaigns, customers, tx, model, **kw).set_index("campaign"))


def test_observed_part_equals_value_curve_and_ad_value(shop, early):
    vc = ck.value_curve(early["customers"], early["tx"], margin=0.3, time_unit="W", observation_end=CUT)
    j = early["curve"].merge(vc, on=["campaign", "period_number"])
    assert len(j) == len(vc) > 100
    np.testing.assert_allclose(j["observed_margin"], j["cumulative_margin_per_customer"], rtol=1e-9)
    assert early["curve"].loc[~early["curve"].set_index(["campaign", "period_number"]).index.isin(
        vc.set_index(["campaign", "period_number"]).index), "observed_margin"].isna().all()
    clv = early["model"].summary(ck.rfm_summary(early["tx"], amount_col="amount", time_unit="W",
                                                observation_end=CUT), horizon=52, time_unit="W")
    v = ck.ad_value(early["campaigns"], early["customers"], clv[["customer_id", "clv"]], transactions=early["tx"],
                    economics=ck.Economics(margin=0.3), observation_end=CUT).set_index("campaign")
    pd.testing.assert_series_equal(early["table"]["observed_payback"], v["payback_period"], check_names=False)
    np.testing.assert_allclose(early["table"]["cac"], v["cac"], rtol=1e-12)


def test_where_every_customer_is_observed_both_curves_agree(early):
    # customers acquired by the end of April have at least eight whole weeks (periods 0-7) observed at the cut
    customers = early["customers"][early["customers"]["acquired_at"] < "2023-05-01"]
    c = ck.payback_curve(early["campaigns"], customers, early["tx"], early["model"], **early["kw"])
    full = c[c["kind"] == "observed"]
    assert full.groupby("campaign")["period_number"].max().eq(7).all()
    np.testing.assert_allclose(full["expected_margin"], full["observed_margin"], rtol=1e-9)
    assert set(c["kind"]) == {"observed", "mixed", "projected"}
    c = early["curve"]
    # cumulative margins never fall
    for _, g in c.groupby("campaign"):
        assert (np.diff(g["expected_margin"].to_numpy()) >= -1e-9).all()
        assert (g["expected_margin_lower"] <= g["expected_margin"] + 1e-9).all()
        assert (g["expected_margin"] <= g["expected_margin_upper"] + 1e-9).all()


def test_projection_is_observed_revenue_plus_expected_purchases_times_expected_spend(early):
    """Brute force for customers whose age at the cut is whole weeks (no interpolation)."""
    tx, model = early["tx"], early["model"]
    rfm = ck.rfm_summary(tx, amount_col="amount", time_unit="W", observation_end=CUT)
    acquired = early["customers"].set_index("customer_id")["acquired_at"].dt.normalize()
    age = (pd.Timestamp(CUT) - acquired).dt.days + 1
    whole = age[age % 7 == 0].index[:25]
    total = tx[tx["customer_id"].isin(whole)].groupby("customer_id")["amount"].sum()
    spend = model.expected_spend(rfm).reindex(whole)
    from cohortkit.value._payback import _people, _projected  # the internal matrix, checked row by row
    from cohortkit.value._inputs import acquisition, customers_table, transactions_table
    c = customers_table(early["customers"], by="campaign", customer_col="customer_id", acquired_col="acquired_at")
    t = transactions_table(tx, customer_col="customer_id", date_col="date", amount_col="amount")
    people = _people(acquisition(c, t, True), t, pd.Timestamp(CUT), 7, 104)
    matrix = _projected(people, model, t, pd.Timestamp(CUT), 7, 104, "customer_id")
    rows = pd.Index(people["customer_id"]).get_indexer(whole)
    for k in (30, 60, 103):
        ahead_weeks = (k + 1) - age[whole].to_numpy() // 7
        for cust, row, w in zip(whole, rows, ahead_weeks):
            if w <= 0:
                continue
            expected = total.get(cust, 0.0) + model.predict_purchases(
                float(w), summary=rfm[rfm["customer_id"] == cust]).iloc[0] * spend[cust]
            assert matrix[row, k] == pytest.approx(expected, rel=1e-9)


def test_payback_beyond_the_data_is_projected_with_an_interval(early):
    p = early["table"]
    assert p.loc["line_retargeting", "source"] == "observed" and p.loc["line_retargeting", "payback_period"] == 1
    projected = p[p["source"] == "projected"]
    assert {"coupon_affiliate", "social_video"} <= set(projected.index)
    assert projected["observed_payback"].isna().all()
    # the observed curve (customers whose weeks have ended) does not reach the CAC within the 26 weeks
    # the earliest customers were observed; the model's curve for every customer does, within horizon
    curve = early["curve"].set_index("campaign")
    for campaign in projected.index:
        g = curve.loc[campaign]
        assert (g["observed_margin"].dropna() < g["cac"].iloc[0]).all()
        assert 1 <= projected.loc[campaign, "payback_period"] <= 104
    assert (projected["payback_lower"] <= projected["payback_period"]).all()
    assert (projected["payback_period"] <= projected["payback_upper"]).all()


def test_model_without_spend_model_is_refused(early):
    no_spend = ck.CLVModel(spend_model=None).fit(
        ck.rfm_summary(early["tx"], time_unit="W", observation_end=CUT))
    with pytest.raises(DataError, match=exact(
        "model has no spend model; fit CLVModel(spend_model='gamma_gamma') to project revenue."
    )):
        ck.payback(early["campaigns"], early["customers"], early["tx"], no_spend, observation_end=CUT)


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_payback_is_the_same_from_files(early, tmp_path, kind):
    paths = {}
    for name in ("tx", "customers", "campaigns"):
        frame = early[name]
        paths[name] = tmp_path / f"{name}.{kind}"
        frame.to_csv(paths[name], index=False) if kind == "csv" else frame.to_parquet(paths[name])
    files = ck.payback(str(paths["campaigns"]), str(paths["customers"]), str(paths["tx"]), early["model"],
                       **early["kw"]).set_index("campaign")
    pd.testing.assert_frame_equal(files, early["table"])


def test_payback_keeps_the_curve_it_read(early):
    pd.testing.assert_frame_equal(early["table"].attrs["curve"], early["curve"])
