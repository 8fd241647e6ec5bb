"""ad_value with the value of a new customer per campaign from a CLV model with the campaign as covariate
(issue 19, item 2): a campaign with a handful of customers gets a value and an interval."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import cohortkit as ck
from cohortkit import DataError
from cohortkit.clv import CLVModel

CUT = "2023-03-31"


@pytest.fixture(scope="module")
def shop():
    return ck.datasets.load_shop()


@pytest.fixture(scope="module")
def early(shop):
    """Three months of the shop; line_retargeting keeps only 30 of its customers (a small test campaign)."""
    end = pd.Timestamp(CUT) + pd.Timedelta(days=1)
    customers = shop.customers[shop.customers["acquired_at"] < end]
    small = customers[customers["campaign"] == "line_retargeting"]["customer_id"].iloc[30:]
    customers = customers[~customers["customer_id"].isin(small)]
    tx = shop.transactions[(shop.transactions["date"] < end) & shop.transactions["customer_id"].isin(customers["customer_id"])]
    campaigns = shop.campaigns[shop.campaigns["date"] < end]
    rfm = ck.rfm_summary(tx, amount_col="amount", observation_end=CUT, time_unit="W")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = CLVModel(penalizer=0.0003).fit(rfm, covariates=customers[["customer_id", "campaign"]])
    new = model.new_customer_value(horizon=730, time_unit="D", ci=0.9, seed=0)
    return campaigns, customers, tx, rfm, model, new


def test_a_small_campaign_gets_a_finite_value_and_an_interval(early, shop):
    campaigns, customers, tx, rfm, model, new = early
    v = ck.ad_value(campaigns, customers, new, transactions=tx, observation_end=CUT,
                    economics=ck.Economics(margin=0.4)).set_index("campaign")
    assert v.loc["line_retargeting", "customers"] == 30
    cols = ["customer_value", "customer_value_lower", "customer_value_upper", "ltv_roas", "ltv_roas_lower",
            "ltv_roas_upper"]
    assert np.isfinite(v[cols].to_numpy()).all()
    assert (v["customer_value_lower"] < v["customer_value"]).all() and (v["customer_value"] < v["customer_value_upper"]).all()
    # customer value is the model's new-customer value (first order included), nothing added to it
    value = new.set_index("campaign")
    assert np.allclose(v["customer_value"], value.loc[v.index, "clv"])
    assert np.allclose(v["predicted_clv"], value.loc[v.index, "clv"] - value.loc[v.index, "expected_spend"])
    spend = campaigns.groupby("campaign")["spend"].sum()
    assert np.allclose(v["ltv_roas"], v["customers"] * v["customer_value"] * 0.4 / spend.loc[v.index])
    assert np.allclose(v["ltv_roas_upper"], v["customers"] * v["customer_value_upper"] * 0.4 / spend.loc[v.index])
    assert v.attrs["value"] == "new_customer" and v.attrs["value_ci"] == 0.9
    # the small campaign's interval holds its true two-year value (first order included, undiscounted, revenue)
    truth = shop.truth.campaigns.set_index("campaign")["expected_value_730d"]
    lo, hi = v.loc["line_retargeting", ["customer_value_lower", "customer_value_upper"]]
    assert lo < truth["line_retargeting"] < hi
    # ... and, relative to the value, is the widest: the model knows least about the smallest campaign
    widths = (v["customer_value_upper"] - v["customer_value_lower"]) / v["customer_value"]
    assert widths.idxmax() == "line_retargeting"


def test_a_new_customer_table_must_cover_every_campaign_at_margin_one(early):
    campaigns, customers, tx, rfm, model, new = early
    with pytest.raises(DataError, match="no new-customer value for campaign 'line_retargeting'"):
        ck.ad_value(campaigns, customers, new[new["campaign"] != "line_retargeting"], transactions=tx)
    with pytest.raises(DataError, match="margin=1"):
        ck.ad_value(campaigns, customers, model.new_customer_value(horizon=52, time_unit="W", margin=0.5, ci=0.9),
                    transactions=tx)
    with pytest.raises(DataError, match="no clv_lower, clv_upper"):
        ck.ad_value(campaigns, customers, model.new_customer_value(horizon=52, time_unit="W"), transactions=tx)
