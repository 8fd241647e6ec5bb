"""Property tests for invariants of cohorts, funnels, RFM and value tables (issue 10, item 2).

Hypothesis runs with the fixed "cohortkit" profile of ``tests/conftest.py`` (derandomised, no
deadline); the tests that run DuckDB queries draw fewer examples (``QUERY_EXAMPLES``) so the file stays
well under a minute on a busy 2-core machine. The module test files compare each reduction with a brute-force reference; the
properties here are coarser, independent laws that must hold whatever the reference says:
conservation of orders and revenue, monotone funnels, bounds on RFM and value columns, and a
reallocation that never loses value.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

import cohortkit as ck
from cohortkit.cohort import period_index_of as _index_of

START = pd.Timestamp("2024-01-01")
#: examples per property that runs engine queries (each example is a few DuckDB round trips)
QUERY_EXAMPLES = 40
query_settings = settings(max_examples=QUERY_EXAMPLES)

# one purchase: (customer, day offset, hour, amount in whole yen)
purchase = st.tuples(st.integers(0, 6), st.integers(0, 120), st.integers(0, 23), st.integers(0, 5000))


def _log(rows) -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": [f"c{c}" for c, _, _, _ in rows],
        "date": [START + pd.Timedelta(days=d, hours=h) for _, d, h, _ in rows],
        "amount": [float(a) for *_, a in rows],
    })


@query_settings
@given(rows=st.lists(purchase, min_size=1, max_size=40), period=st.sampled_from(["D", "W", "M"]),
       end=st.integers(0, 130), retention=st.sampled_from(["n_period", "unbounded"]))
def test_cohort_table_conserves_orders_revenue_and_customers(rows, period, end, retention):
    tx = _log(rows)
    obs = START + pd.Timedelta(days=end)
    first_day = tx["date"].min().normalize()
    last_complete = _index_of(obs + pd.Timedelta(days=1), period) - 1
    if obs < first_day or last_complete < _index_of(first_day, period):
        return  # refused with a DataError (tested in test_cohort.py)
    t = ck.cohort_table(tx, amount_col="amount", time_unit=period, observation_end=obs, retention=retention)
    index = np.array([_index_of(ts, period) for ts in tx["date"]])
    kept = tx[index <= last_complete]
    # every transaction in a complete period lands in exactly one cell
    assert int(t["orders"].sum()) == len(kept)
    assert t["revenue"].sum() == kept["amount"].sum()
    # each cohort's size is counted once, and all customers of complete periods are in a cohort
    sizes = t.groupby("cohort")["cohort_size"].agg(["min", "max"])
    assert (sizes["min"] == sizes["max"]).all()
    assert int(sizes["min"].sum()) == kept["customer_id"].nunique()
    assert ((t["active_customers"] >= 0) & (t["active_customers"] <= t["cohort_size"])).all()
    assert ((t["retention"] >= 0) & (t["retention"] <= 1)).all()
    assert (t.loc[t["period_number"] == 0, "retention"] == 1.0).all()
    for _, cohort in t.groupby("cohort"):
        ltv = cohort["cumulative_revenue_per_customer"].to_numpy()
        assert (np.diff(ltv) >= -1e-9).all()  # amounts >= 0: the LTV curve never falls
        if retention == "unbounded":
            assert (np.diff(cohort["active_customers"].to_numpy()) <= 0).all()


event = st.tuples(st.integers(0, 5), st.integers(0, 48), st.integers(0, 3))  # user, hour, step index
STEPS = ["view", "cart", "checkout", "buy"]


@query_settings
@given(rows=st.lists(event, min_size=1, max_size=40), window_h=st.integers(1, 72),
       order=st.sampled_from(["ordered", "strict", "any"]), n_steps=st.integers(2, 4))
def test_funnel_is_monotone_and_bounded_by_distinct_users(rows, window_h, order, n_steps):
    steps = STEPS[:n_steps]
    log = pd.DataFrame({
        "user_id": [f"u{u}" for u, _, _ in rows],
        "timestamp": [START + pd.Timedelta(hours=h) for _, h, _ in rows],
        "event": [STEPS[s] for _, _, s in rows],
    })
    present = set(log["event"])
    if not set(steps) <= present:
        return  # a step that never occurs is refused (tested in tests/test_funnels.py)
    f = ck.funnel(log, steps, window=pd.Timedelta(hours=window_h), order=order)
    users = f["users"].to_numpy()
    assert (np.diff(users) <= 0).all()
    assert (f["drop_off"].to_numpy() >= 0).all()
    # nobody reaches step k without an event of step k; step 1 is every user with a step-1 event
    for k, step in enumerate(steps):
        assert users[k] <= log.loc[log["event"] == step, "user_id"].nunique()
    assert users[0] == log.loc[log["event"] == steps[0], "user_id"].nunique()
    conv = f["conversion_from_start"].to_numpy()
    assert ((conv >= 0) & (conv <= 1)).all()


@query_settings
@given(rows=st.lists(purchase, min_size=1, max_size=40), end=st.integers(0, 130),
       unit=st.sampled_from(["D", "W"]), merge=st.sampled_from(["D", "W"]))
def test_rfm_bounds(rows, end, unit, merge):
    tx = _log(rows)
    obs = START + pd.Timedelta(days=end)
    seen = tx[tx["date"].dt.normalize() <= obs]
    if seen.empty:
        return  # nothing observed by observation_end (see test_bad_input.py)
    s = ck.rfm_summary(tx, amount_col="amount", observation_end=obs, time_unit=unit, merge=merge)
    assert s["customer_id"].tolist() == sorted(seen["customer_id"].unique())
    assert ((s["recency"] >= 0) & (s["recency"] <= s["T"])).all()
    assert (s["T"] <= (obs - START).days / (7 if unit == "W" else 1) + 1e-12).all()
    days = seen.groupby("customer_id")["date"].agg(lambda d: d.dt.normalize().nunique())
    assert (s["frequency"].to_numpy() <= days.reindex(s["customer_id"]).to_numpy() - 1).all()
    assert ((s["frequency"] == 0) == (s["recency"] == 0)).all() if merge == "D" else True
    assert (s["monetary_value"] >= 0).all()
    assert (s.loc[s["frequency"] == 0, "monetary_value"] == 0).all()
    # a mean of repeat periods never exceeds the customer's total spend
    total = seen.groupby("customer_id")["amount"].sum().reindex(s["customer_id"]).to_numpy()
    assert (s["monetary_value"].to_numpy() <= total + 1e-9).all()


campaign_row = st.tuples(st.integers(0, 5000), st.integers(0, 100), st.integers(0, 10000))
customer_row = st.tuples(st.integers(0, 2), st.integers(0, 60), st.integers(0, 30000), st.integers(0, 9000))


@query_settings
@given(camps=st.lists(campaign_row, min_size=3, max_size=3), custs=st.lists(customer_row, min_size=1, max_size=12),
       margin=st.sampled_from([0.2, 0.5, 1.0]), target=st.sampled_from([1.0, 3.0]),
       extra=st.sampled_from([0.0, 500.0]))
def test_value_table_bounds(camps, custs, margin, target, extra):
    names = ["banner", "line", "search"]
    campaigns = pd.DataFrame({
        "campaign": names,
        "impressions": [max(i, c) for i, c, _ in camps], "clicks": [c for _, c, _ in camps],
        "spend": [float(s) for *_, s in camps],
    })
    ids = [f"c{i}" for i in range(len(custs))]
    customers = pd.DataFrame({"customer_id": ids, "campaign": [names[g] for g, *_ in custs],
                              "acquired_at": [START + pd.Timedelta(days=d) for _, d, _, _ in custs]})
    tx = pd.DataFrame({"customer_id": ids, "date": customers["acquired_at"],
                       "amount": [float(a) for *_, a in custs]})
    clv = pd.DataFrame({"customer_id": ids, "clv": [float(v) for _, _, v, _ in custs]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        v = ck.ad_value(campaigns, customers, clv, transactions=tx, economics=ck.Economics(margin=margin, target_ltv_cac=target, cost_per_customer=extra), observation_end=START + pd.Timedelta(days=90))
    num = v.select_dtypes("number").to_numpy(dtype="float64", na_value=np.nan)
    assert not np.isinf(num).any()
    ok = v["ltv_roas"].notna()
    assert (v.loc[ok, "ltv_roas"] >= 0).all()
    # allowable CPA = customer value x margin / target - extra: never above value x margin
    has = v["customer_value"].notna()
    assert (v.loc[has, "allowable_cpa"] <= v.loc[has, "customer_value"] * margin + 1e-9).all()
    assert (v["customers"] == customers.groupby("campaign").size().reindex(names, fill_value=0).to_numpy()).all()
    spent = v["spend"] > 0
    np.testing.assert_allclose(v.loc[spent & has, "ltv_roas"],
                               (v["customer_value"] * v["customers"] * margin / v["spend"])[spent & has])
    # NaN only with a reason
    for col in ("ltv_roas", "cpa", "ctr"):
        assert v.loc[v[col].isna(), "note"].str.len().gt(0).all()


@given(spend=st.lists(st.floats(1.0, 1e5), min_size=2, max_size=6), data=st.data(),
       beta=st.sampled_from([1.0, 0.5]))
def test_reallocation_never_loses_value_when_todays_plan_is_feasible(spend, data, beta):
    rates = data.draw(st.lists(st.floats(0.0, 5.0), min_size=len(spend), max_size=len(spend)))
    t = pd.DataFrame({"campaign": [f"k{i}" for i in range(len(spend))], "spend": spend, "ltv_roas": rates})
    r = ck.reallocate(t, beta=beta)
    # the current allocation satisfies the default bounds, so the optimum is at least as good
    assert r.attrs["value_after"] >= r.attrs["value_before"] * (1 - 1e-9) - 1e-9
    assert (r["new_spend"] >= -1e-9).all()
    # evaluating today's plan changes nothing
    same = ck.reallocate(t, beta=beta, plan=dict(zip(t["campaign"], t["spend"])))
    np.testing.assert_allclose(same["new_value"], same["value"], rtol=1e-12)
