"""Customer-level outputs: the score table and values for value-based bidding (brute-force references)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

import cohortkit as ck
from cohortkit import DataError
from helpers import exact


@pytest.fixture(scope="module")
def shop():
    return ck.datasets.load_shop()


@pytest.fixture(scope="module")
def fitted(shop):
    rfm = ck.rfm_summary(shop.transactions, amount_col="amount", time_unit="W")
    return rfm, ck.CLVModel().fit(rfm)


def test_scores_partition_customers_by_the_stated_rules(shop, fitted, tmp_path):
    rfm, model = fitted
    scores = ck.value.customer_scores(model, rfm, customers=shop.customers, horizon=52,
                                      path=tmp_path / "scores.parquet")
    assert len(scores) == len(rfm) == scores["customer_id"].nunique()
    expected = model.summary(rfm, horizon=52, time_unit="W").set_index("customer_id")["clv"]
    np.testing.assert_allclose(scores.set_index("customer_id")["expected_value"].reindex(expected.index), expected)
    assert ((scores["segment"] == "lapsing") == (scores["p_alive"] < 0.3)).all()
    alive = scores[scores["segment"] != "lapsing"]
    n = len(alive)
    counts = alive["segment"].value_counts()
    assert counts["top"] == int(np.floor(0.1 * n + 1e-9)) or abs(counts["top"] - 0.1 * n) <= 1
    assert abs(counts["high"] - 0.2 * n) <= 1 and abs(counts["middle"] - 0.3 * n) <= 1
    # the segments are ordered by expected value
    order = ["top", "high", "middle", "low"]
    means = alive.groupby("segment")["expected_value"].agg(["min", "max"]).loc[order]
    assert (means["min"].to_numpy()[:-1] >= means["max"].to_numpy()[1:]).all()
    assert (scores["campaign"] == scores["customer_id"].map(shop.customers.set_index("customer_id")["campaign"])).all()
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "scores.parquet"), scores)


def _reference_rules(shop, margin=0.3, horizon_days=364, bands=4, prior=30):
    """The bidding rule table in plain pandas."""
    tx, cust = shop.transactions, shop.customers.set_index("customer_id")
    end = tx["date"].max().normalize()
    acq = cust["acquired_at"].dt.normalize()
    t = tx.assign(acq=tx["customer_id"].map(acq))
    t = t[t["date"].dt.normalize() >= t["acq"]]
    first_time = t.groupby("customer_id")["date"].transform("min")
    first = t[t["date"] == first_time].groupby("customer_id")["amount"].sum()
    window = t[(t["date"].dt.normalize() - t["acq"]).dt.days < horizon_days].groupby("customer_id")["amount"].sum()
    people = pd.DataFrame({"campaign": cust["campaign"], "first": first.reindex(cust.index).fillna(0.0),
                           "value": window.reindex(cust.index).fillna(0.0),
                           "mature": (end - acq).dt.days + 1 >= horizon_days})
    edges = np.unique(np.quantile(people["first"], np.linspace(0, 1, bands + 1)[1:-1]))
    people["band"] = np.searchsorted(edges, people["first"], side="right") + 1
    mature = people[people["mature"]]
    camp = mature.groupby("campaign")["value"].mean()
    cell = mature.groupby(["campaign", "band"])["value"].agg(["size", "mean"])
    out = {}
    for (c, b), row in cell.iterrows():
        out[(c, b)] = round((row["size"] * row["mean"] + prior * camp[c]) / (row["size"] + prior) * margin)
    return out


def test_bidding_values_equal_a_pandas_reference_and_spread(shop, tmp_path):
    values = ck.value.bidding_values(shop.transactions, shop.customers, margin=0.3, path=tmp_path / "bids.csv")
    rules = values.attrs["rules"].set_index(["campaign", "value_band"])["conversion_value"]
    reference = _reference_rules(shop)
    assert set(reference) == set(rules.index)
    for key, value in reference.items():
        assert rules[key] == value, key
    v = values["conversion_value"]
    assert v.nunique() >= 12 and v.quantile(0.9) / v.quantile(0.1) >= 3  # several values, a real spread
    assert len(values) == len(shop.customers) and (values["currency"] == "JPY").all()
    back = pd.read_csv(tmp_path / "bids.csv", dtype={"customer_id": "str"}, parse_dates=["conversion_time"])
    pd.testing.assert_frame_equal(back, values, check_dtype=False)
    # campaigns whose customers are worth more in truth get higher values
    truth = shop.truth.campaigns.set_index("campaign")["expected_value_730d"]
    mean_value = values.groupby("campaign")["conversion_value"].mean().reindex(truth.index)
    assert spearmanr(mean_value, truth).statistic >= 0.8


def test_a_new_customers_value_is_known_at_the_first_purchase(shop):
    """A customer too recent to be mature gets the same value whatever they buy later."""
    values = ck.value.bidding_values(shop.transactions, shop.customers)
    recent = values.iloc[-1]
    later = pd.DataFrame({"customer_id": [recent["customer_id"]], "date": [recent["conversion_time"] + pd.Timedelta(days=1)],
                          "amount": [1e7]})
    tx = pd.concat([shop.transactions, later], ignore_index=True)
    again = ck.value.bidding_values(tx, shop.customers, observation_end=shop.transactions["date"].max())
    assert again.set_index("customer_id").loc[recent["customer_id"], "conversion_value"] == recent["conversion_value"]


def test_bad_arguments():
    tx = pd.DataFrame({"customer_id": ["a"], "date": pd.to_datetime(["2024-01-01"]), "amount": [1.0]})
    customers = pd.DataFrame({"customer_id": ["a"], "campaign": ["x"], "acquired_at": pd.to_datetime(["2024-01-01"])})
    with pytest.raises(DataError, match=exact("bands=0 must be a whole number from 1 to 20, e.g. 4.")):
        ck.value.bidding_values(tx, customers, bands=0)
    with pytest.raises(DataError, match="no customer has been observed for the whole horizon yet"):
        ck.value.bidding_values(tx, customers)
    with pytest.raises(DataError, match=exact(
        "path='scores.xlsx' must end in .csv, .csv.gz or .parquet (the format is taken from it)."
    )):
        ck.value.bidding_values(tx, customers, horizon=1, time_unit="D", path="scores.xlsx")


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_bidding_values_are_the_same_from_files(shop, tmp_path, kind):
    tx, customers = shop.transactions, shop.customers
    if kind == "csv":
        tx.to_csv(tmp_path / "tx.csv", index=False)
        customers.to_csv(tmp_path / "customers.csv", index=False)
    else:
        tx.to_parquet(tmp_path / "tx.parquet")
        customers.to_parquet(tmp_path / "customers.parquet")
    frame = ck.value.bidding_values(tx, customers, margin=0.3)
    files = ck.value.bidding_values(str(tmp_path / f"tx.{kind}"), str(tmp_path / f"customers.{kind}"), margin=0.3)
    pd.testing.assert_frame_equal(files, frame)
    pd.testing.assert_frame_equal(files.attrs["rules"], frame.attrs["rules"])
