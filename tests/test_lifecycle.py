"""Lifecycle states, growth accounting and RFM segments (cohortkit/lifecycle.py, plot/_lifecycle.py).

Every reduction is compared with a brute-force pandas reference written from the definitions (sets of
customers per calendar period, ``pandas.Period`` arithmetic — none of the module's integer period
indices), on hand-made logs, on random logs (hypothesis), on the bundled shop and on the CDNOW sample.
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cohortkit as ck
from cohortkit.lifecycle import SEGMENT_NAMES_JA, SEGMENTS, STATE_NAMES_JA, STATES
from cohortkit._errors import DataError

FREQ = {"D": "D", "W": "W-SUN", "M": "M", "Q": "Q-DEC"}
START = pd.Timestamp("2024-01-01")


# --- the brute-force reference ----------------------------------------------------------------


def reference(tx: pd.DataFrame, unit: str, obs=None, amount: bool = True) -> pd.DataFrame:
    """growth_accounting from the definitions, with Python sets per period."""
    obs_day = (tx["date"].max() if obs is None else pd.Timestamp(obs)).normalize()
    per = tx["date"].dt.to_period(FREQ[unit])
    obs_period = obs_day.to_period(FREQ[unit])
    last = obs_period if obs_period.end_time.normalize() == obs_day else obs_period - 1
    tx = tx.assign(per=per)
    tx = tx[tx["per"] <= last]
    spend = tx.groupby(["customer_id", "per"])["amount"].sum().to_dict() if amount else {}
    buyers = tx.groupby("per")["customer_id"].agg(set).to_dict()
    first = tx.groupby("customer_id")["per"].min()
    rows, seen_before_prev = [], set()  # customers active in some period before p - 1
    prev_active: set = set()
    for p in pd.period_range(per.min(), last, freq=FREQ[unit]):
        active = buyers.get(p, set())
        acquired = set(first[first <= p].index)
        new = {c for c in active if first[c] == p}
        returning = active & prev_active
        resurrected = active - new - returning
        assert resurrected <= seen_before_prev
        churned = prev_active - active
        dormant = acquired - active
        row = {"period": p, "acquired": len(acquired), "active": len(active),
               "previous_active": len(prev_active), "new": len(new), "returning": len(returning),
               "resurrected": len(resurrected), "churned": len(churned), "dormant": len(dormant)}
        if amount:
            row["revenue"] = sum(spend[c, p] for c in active)
            row["previous_revenue"] = sum(spend[c, p - 1] for c in prev_active)
            row["new_revenue"] = sum(spend[c, p] for c in new)
            row["resurrected_revenue"] = sum(spend[c, p] for c in resurrected)
            row["returning_revenue"] = sum(spend[c, p] for c in returning)
            row["expansion_revenue"] = sum(max(spend[c, p] - spend[c, p - 1], 0) for c in returning)
            row["contraction_revenue"] = sum(max(spend[c, p - 1] - spend[c, p], 0) for c in returning)
            row["churned_revenue"] = sum(spend[c, p - 1] for c in churned)
        rows.append(row)
        seen_before_prev |= prev_active
        prev_active = active
    return pd.DataFrame(rows)


def assert_matches_reference(g: pd.DataFrame, ref: pd.DataFrame) -> None:
    assert list(g["period"]) == list(ref["period"])
    for col in ref.columns.drop("period"):
        if col.endswith("revenue"):
            np.testing.assert_allclose(g[col].to_numpy(), ref[col].to_numpy(dtype="float64"),
                                       rtol=1e-9, atol=1e-6, err_msg=col)
        else:
            assert g[col].tolist() == ref[col].tolist(), col


def assert_laws(g: pd.DataFrame, lt: pd.DataFrame) -> None:
    """The invariants that hold whatever the reference says."""
    # the four exclusive states sum to the customers acquired up to the period
    sums = lt.groupby("period", observed=True, sort=True)["customers"].sum()
    assert sums.tolist() == g["acquired"].tolist()
    assert (g["new"] + g["returning"] + g["resurrected"] + g["dormant"] == g["acquired"]).all()
    # growth accounting identities
    assert (g["active"] == g["previous_active"] + g["new"] + g["resurrected"] - g["churned"]).all()
    assert (g["previous_active"] == g["returning"] + g["churned"]).all()
    assert (g["churned"] <= g["dormant"]).all()
    assert (g["acquired"].diff().fillna(g["acquired"].iloc[0]) == g["new"]).all()
    # quick ratio: never infinite, NaN exactly when nobody churned, and then a note says so
    assert np.isfinite(g["quick_ratio"].dropna()).all()
    assert (g["quick_ratio"].isna() == (g["churned"] == 0)).all()
    assert (g.loc[g["churned"] == 0, "note"].str.contains("quick ratio undefined")).all()
    if "revenue" in g:
        rhs = (g["previous_revenue"] + g["new_revenue"] + g["resurrected_revenue"]
               + g["expansion_revenue"] - g["contraction_revenue"] - g["churned_revenue"])
        np.testing.assert_allclose(g["revenue"], rhs, rtol=1e-9, atol=1e-6)
        assert np.isfinite(g["revenue_quick_ratio"].dropna()).all()


# --- hand-made logs ---------------------------------------------------------------------------


@pytest.fixture
def small():
    return pd.DataFrame({
        "customer_id": ["a", "b", "a", "c", "a", "b", "d", "a"],
        "date": pd.to_datetime(["2024-01-03", "2024-01-09", "2024-02-01", "2024-02-11",
                                "2024-03-05", "2024-03-20", "2024-03-31 23:59", "2024-04-02"], format="ISO8601"),
        "amount": [10.0, 5.0, 12.0, 8.0, 9.0, 4.0, 7.0, 100.0],
    })


def test_states_by_hand(small):
    g = ck.growth_accounting(small, amount_col="amount", observation_end="2024-03-31")
    # April is incomplete: left out, and its purchase ignored
    assert [str(p) for p in g["period"]] == ["2024-01", "2024-02", "2024-03"]
    assert g[["new", "returning", "resurrected", "churned", "dormant"]].values.tolist() == [
        [2, 0, 0, 0, 0],  # a, b new
        [1, 1, 0, 1, 1],  # c new, a returning, b churned (dormant)
        [1, 1, 1, 1, 1],  # d new, a returning, b resurrected, c churned
    ]
    assert g["quick_ratio"].tolist()[1:] == [1.0, 2.0]
    assert np.isnan(g["quick_ratio"].iloc[0])
    assert g["note"].tolist()[0] == (
        "no churned customers: quick ratio undefined; "
        "no churned or contracted revenue: revenue quick ratio undefined"
    )
    # March: a spent 9 after 12 (contraction 3), c had spent 8 in February (churned revenue)
    march = g.iloc[2]
    assert (march["revenue"], march["previous_revenue"]) == (20.0, 20.0)
    assert (march["expansion_revenue"], march["contraction_revenue"], march["churned_revenue"]) == (0.0, 3.0, 8.0)
    assert march["revenue_quick_ratio"] == pytest.approx((7.0 + 4.0) / (8.0 + 3.0))
    assert_matches_reference(g, reference(small, "M", "2024-03-31"))
    assert g.attrs == {"time_unit": "M", "observation_end": pd.Timestamp("2024-03-31"), "by": None}


def test_lifecycle_table_is_long_and_ordered(small):
    lt = ck.lifecycle_table(small, amount_col="amount", observation_end="2024-03-31")
    assert list(lt.columns) == ["period", "state", "state_ja", "customers", "revenue"]
    assert len(lt) == 3 * 4
    assert lt["state"].tolist()[:4] == list(STATES)
    assert list(lt["state"].cat.categories) == ["new", "returning", "resurrected", "dormant"]
    assert lt["state_ja"].tolist()[:4] == ["新規", "継続", "復帰", "休眠"]
    assert (lt.loc[lt["state"] == "dormant", "revenue"] == 0).all()
    g = ck.growth_accounting(small, amount_col="amount", observation_end="2024-03-31")
    assert_laws(g, lt)
    # without amounts: no revenue columns
    assert list(ck.lifecycle_table(small, observation_end="2024-03-31").columns) == [
        "period", "state", "state_ja", "customers"]
    assert "revenue" not in ck.growth_accounting(small, observation_end="2024-03-31")


def test_a_gap_of_several_periods_is_resurrection_and_dormancy_in_between():
    tx = pd.DataFrame({"customer_id": ["a", "a"], "date": pd.to_datetime(["2024-01-10", "2024-05-10"])})
    g = ck.growth_accounting(tx, observation_end="2024-05-31")
    assert g["dormant"].tolist() == [0, 1, 1, 1, 0]
    assert g["churned"].tolist() == [0, 1, 0, 0, 0]
    assert g["resurrected"].tolist() == [0, 0, 0, 0, 1]
    assert g["quick_ratio"].isna().tolist() == [True, False, True, True, True]
    assert g["quick_ratio"].iloc[1] == 0.0  # churn and nothing gained: 0, not NaN


@pytest.mark.parametrize("unit", ["D", "W", "M", "Q"])
def test_every_time_unit_matches_the_reference(small, unit):
    g = ck.growth_accounting(small, amount_col="amount", time_unit=unit)
    assert_matches_reference(g, reference(small, unit))
    assert_laws(g, ck.lifecycle_table(small, amount_col="amount", time_unit=unit))


def test_groups_partition_the_customers():
    tx = ck.datasets.load_shop().transactions
    cust = ck.datasets.load_shop().customers[["customer_id", "campaign"]]
    tx = tx.merge(cust, on="customer_id")
    whole = ck.growth_accounting(tx, amount_col="amount")
    grouped = ck.growth_accounting(tx, amount_col="amount", by="campaign")
    assert list(grouped.columns[:2]) == ["campaign", "period"]
    assert grouped["campaign"].nunique() == 6
    summed = grouped.groupby("period", sort=True)[["acquired", "new", "returning", "resurrected",
                                                   "churned", "dormant"]].sum().reset_index()
    for col in summed.columns.drop("period"):
        assert summed[col].tolist() == whole[col].tolist(), col
    for _, part in grouped.groupby("campaign"):
        part = part.reset_index(drop=True)
        ref = reference(tx[tx["campaign"] == part["campaign"].iloc[0]], "M", tx["date"].max())
        # a group's reference starts at the group's first period; the table starts at the log's
        part = part[part["period"] >= ref["period"].iloc[0]].reset_index(drop=True)
        assert_matches_reference(part, ref)
    lt = ck.lifecycle_table(tx, by="campaign")
    assert list(lt.columns) == ["campaign", "period", "state", "state_ja", "customers"]
    assert lt.groupby(["campaign", "period"])["customers"].sum().tolist() == grouped["acquired"].tolist()


# --- random logs --------------------------------------------------------------------------------

purchase = st.tuples(st.integers(0, 7), st.integers(0, 200), st.integers(0, 23), st.integers(0, 5000))


@settings(max_examples=40)
@given(rows=st.lists(purchase, min_size=1, max_size=40), unit=st.sampled_from(["D", "W", "M", "Q"]),
       end=st.integers(0, 220))
def test_random_logs_match_the_reference_and_keep_the_laws(rows, unit, end):
    tx = pd.DataFrame({
        "customer_id": [f"c{c}" for c, *_ in rows],
        "date": [START + pd.Timedelta(days=d, hours=h) for _, d, h, _ in rows],
        "amount": [float(a) for *_, a in rows],
    })
    obs = START + pd.Timedelta(days=end)
    first_period = tx["date"].min().to_period(FREQ[unit])
    obs_period = obs.to_period(FREQ[unit])
    last = obs_period if obs_period.end_time.normalize() == obs.normalize() else obs_period - 1
    if obs.normalize() < tx["date"].min().normalize() or last < first_period:
        with pytest.raises(DataError):
            ck.growth_accounting(tx, time_unit=unit, observation_end=obs)
        return
    g = ck.growth_accounting(tx, amount_col="amount", time_unit=unit, observation_end=obs)
    lt = ck.lifecycle_table(tx, amount_col="amount", time_unit=unit, observation_end=obs)
    assert_matches_reference(g, reference(tx, unit, obs))
    assert_laws(g, lt)


# --- the bundled data ---------------------------------------------------------------------------


def test_shop_monthly_states_match_the_reference():
    tx = ck.datasets.load_shop().transactions
    g = ck.growth_accounting(tx, amount_col="amount", time_unit="M")
    lt = ck.lifecycle_table(tx, amount_col="amount", time_unit="M")
    assert_matches_reference(g, reference(tx, "M"))
    assert_laws(g, lt)
    assert g["acquired"].iloc[-1] == tx["customer_id"].nunique()  # the log ends on 31 December
    dec = g.iloc[-1]
    assert str(dec["period"]) == "2024-12"
    assert dec[["new", "returning", "resurrected", "churned", "dormant"]].tolist() == [968, 553, 1045, 1964, 17628]
    assert dec["quick_ratio"] == pytest.approx((968 + 1045) / 1964)


@pytest.mark.parametrize("unit", ["W", "M"])
def test_cdnow_sample_matches_the_reference(unit):
    tx = ck.datasets.load_cdnow(sample=True)
    g = ck.growth_accounting(tx, amount_col="amount", time_unit=unit)
    assert_matches_reference(g, reference(tx, unit))
    assert_laws(g, ck.lifecycle_table(tx, amount_col="amount", time_unit=unit))


# --- input kinds --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shop_slice():
    tx = ck.datasets.load_shop().transactions
    keep = tx["customer_id"].isin(tx["customer_id"].drop_duplicates().iloc[::25])
    return tx[keep].reset_index(drop=True)


def _as_kind(tx: pd.DataFrame, kind: str, tmp_path):
    if kind == "pandas":
        return tx
    if kind == "csv":
        path = tmp_path / "tx.csv"
        tx.to_csv(path, index=False)
        return str(path)
    if kind == "parquet":
        path = tmp_path / "tx.parquet"
        tx.to_parquet(path, index=False)
        return str(path)
    return ibis.memtable(tx)


@pytest.mark.filterwarnings("ignore:.*future.infer_string")  # Ibis 12 on pandas 3, not ours
@pytest.mark.parametrize("kind", ["csv", "parquet", "ibis"])
@pytest.mark.parametrize("func", ["growth_accounting", "lifecycle_table", "rfm_segments"])
def test_every_input_kind_gives_the_same_frame(shop_slice, kind, func, tmp_path):
    f = getattr(ck, func)
    kwargs = {"amount_col": "amount"}
    expected = f(shop_slice, **kwargs)
    got = f(_as_kind(shop_slice, kind, tmp_path), **kwargs)
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-9)
    assert got.attrs == expected.attrs


# --- RFM segments -------------------------------------------------------------------------------


def rfm_reference(tx: pd.DataFrame, obs=None) -> pd.DataFrame:
    obs_day = (tx["date"].max() if obs is None else pd.Timestamp(obs)).normalize()
    tx = tx.assign(day=tx["date"].dt.normalize())
    tx = tx[tx["day"] <= obs_day]
    c = tx.groupby("customer_id").agg(last=("day", "max"), purchase_days=("day", "nunique"),
                                      revenue=("amount", "sum"))
    c["recency_days"] = (obs_day - c["last"]).dt.days
    n = len(c)

    def score(better: pd.Series) -> pd.Series:  # 1 + floor(5 * (# strictly worse) / n)
        worse = better.rank(method="min").astype(int) - 1
        return 1 + (5 * worse) // n

    c["r_score"] = score(-c["recency_days"])
    c["f_score"] = score(c["purchase_days"])
    c["m_score"] = score(c["revenue"].round(6))
    return c.reset_index()


GRID = {  # R -> segment per F score 1..5, the table in the docstring
    5: ["New customers", "Potential loyalists", "Potential loyalists", "Champions", "Champions"],
    4: ["Promising", "Potential loyalists", "Potential loyalists", "Loyal customers", "Loyal customers"],
    3: ["About to sleep", "About to sleep", "Need attention", "Loyal customers", "Loyal customers"],
    2: ["Hibernating", "Hibernating", "At risk", "At risk", "Can't lose them"],
    1: ["Lost", "Hibernating", "At risk", "At risk", "Can't lose them"],
}


@pytest.mark.parametrize("data", ["shop", "cdnow"])
def test_rfm_segments_match_the_reference_and_partition_the_customers(data):
    tx = ck.datasets.load_shop().transactions if data == "shop" else ck.datasets.load_cdnow(sample=True)
    s = ck.rfm_segments(tx, amount_col="amount")
    ref = rfm_reference(tx)
    assert s["customer_id"].tolist() == ref["customer_id"].tolist()
    for col in ("recency_days", "purchase_days", "r_score", "f_score", "m_score"):
        assert s[col].tolist() == ref[col].tolist(), col
    np.testing.assert_allclose(s["revenue"], ref["revenue"], rtol=1e-9)
    # every customer in exactly one segment; the counts sum to the customers
    assert s["customer_id"].is_unique
    assert s["segment"].notna().all()
    assert int(s["segment"].value_counts().sum()) == tx["customer_id"].nunique()
    assert [GRID[r][f - 1] for r, f in zip(s["r_score"], s["f_score"])] == s["segment"].astype(str).tolist()
    assert (s["segment_ja"] == s["segment"].astype(str).map(SEGMENT_NAMES_JA)).all()
    assert (s["rfm_cell"] == s["r_score"].astype(str) + s["f_score"].astype(str) + s["m_score"].astype(str)).all()
    # equal values always share a score (ties are never broken by row order)
    for value, score in (("recency_days", "r_score"), ("purchase_days", "f_score")):
        assert (s.groupby(value)[score].nunique() == 1).all()
    assert s[["r_score", "f_score", "m_score"]].isin(range(1, 6)).all().all()


def test_the_segment_grid_names_every_cell_once_and_uses_every_name():
    from cohortkit.lifecycle import _GRID  # noqa: PLC2701 - the module's own table

    assert sorted(_GRID) == [(r, f) for r in range(1, 6) for f in range(1, 6)]
    assert {_GRID[r, f] for r in range(1, 6) for f in range(1, 6)} == set(SEGMENTS)
    for r, names in GRID.items():
        assert [_GRID[r, f] for f in range(1, 6)] == names
    assert set(SEGMENT_NAMES_JA) == set(SEGMENTS) and len(set(SEGMENT_NAMES_JA.values())) == 11
    assert SEGMENT_NAMES_JA["Champions"] == "チャンピオン" and SEGMENT_NAMES_JA["Loyal customers"] == "ロイヤル顧客"


def test_rfm_segments_do_not_depend_on_row_order():
    tx = ck.datasets.load_cdnow(sample=True)
    a = ck.rfm_segments(tx, amount_col="amount")
    b = ck.rfm_segments(tx.sample(frac=1.0, random_state=1), amount_col="amount")
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12)


@pytest.mark.parametrize("data", ["shop", "cdnow"])
def test_rfm_segment_sizes_equal_the_per_customer_segments_grouped(data):
    tx = ck.datasets.load_shop().transactions if data == "shop" else ck.datasets.load_cdnow(sample=True)
    s = ck.rfm_segments(tx, amount_col="amount")
    sizes = ck.lifecycle.rfm_segment_sizes(tx, amount_col="amount")
    ref = s.groupby("segment", observed=True).agg(customers=("customer_id", "size"), revenue=("revenue", "sum"))
    assert sizes["segment"].astype(str).tolist() == [str(k) for k in ref.index]  # best first, only non-empty
    assert list(sizes["segment"].cat.categories) == list(SEGMENTS) and sizes["segment"].cat.ordered
    assert sizes["segment_ja"].tolist() == [SEGMENT_NAMES_JA[k] for k in sizes["segment"].astype(str)]
    assert sizes["customers"].tolist() == ref["customers"].tolist()
    assert sizes["customers"].dtype == "int64" and sizes["revenue"].dtype == "float64"
    np.testing.assert_allclose(sizes["revenue"], ref["revenue"], rtol=1e-12)
    assert sizes.attrs["observation_end"] == s.attrs["observation_end"]


def test_rfm_segment_sizes_observation_end_and_bad_input():
    tx = pd.DataFrame({"customer_id": ["a", "a", "b"],
                       "date": pd.to_datetime(["2024-01-01", "2024-03-01", "2024-01-15"]),
                       "amount": [1.0, 50.0, 2.0]})
    sizes = ck.lifecycle.rfm_segment_sizes(tx, amount_col="amount", observation_end="2024-01-31")
    assert sizes["customers"].sum() == 2 and sizes["revenue"].sum() == 3.0
    with pytest.raises(DataError, match="amount_col"):
        ck.lifecycle.rfm_segment_sizes(tx, amount_col=None)


def test_rfm_segments_observation_end_ignores_later_purchases():
    tx = pd.DataFrame({"customer_id": ["a", "a", "b"],
                       "date": pd.to_datetime(["2024-01-01", "2024-03-01", "2024-01-15"]),
                       "amount": [1.0, 50.0, 2.0]})
    s = ck.rfm_segments(tx, amount_col="amount", observation_end="2024-01-31")
    assert s["purchase_days"].tolist() == [1, 1]
    assert s["revenue"].tolist() == [1.0, 2.0]
    assert s["recency_days"].tolist() == [30, 16]


# --- the plot ---------------------------------------------------------------------------------


def test_lifecycle_bars_reads_back_the_table(small):
    g = ck.growth_accounting(small, amount_col="amount", observation_end="2024-03-31")
    ax = ck.plot.lifecycle_bars(g, lang="en")
    bars = {c.get_label(): [p.get_height() for p in c] for c in ax.containers}
    assert list(bars) == ["new", "resurrected", "returning", "churned"]
    for state in ("new", "resurrected", "returning"):
        assert bars[state] == g[state].astype(float).tolist()
    assert bars["churned"] == (-g["churned"]).astype(float).tolist()
    # stacked: returning starts on top of new + resurrected
    returning = ax.containers[2]
    assert [p.get_y() for p in returning] == (g["new"] + g["resurrected"]).astype(float).tolist()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2024-01", "2024-02", "2024-03"]
    assert ax.get_ylabel() == "customers"


def test_lifecycle_bars_revenue_in_japanese(small):
    import matplotlib.pyplot as plt

    g = ck.growth_accounting(small, amount_col="amount", observation_end="2024-03-31")
    _, given_ax = plt.subplots()
    ck.set_style("ja")
    try:
        ax = ck.plot.lifecycle_bars(g, values="revenue", ax=given_ax, width=0.5)
    finally:
        ck.set_style("en")
        import matplotlib as mpl

        mpl.rcdefaults()
    assert ax is given_ax
    bars = {c.get_label(): [p.get_height() for p in c] for c in ax.containers}
    assert list(bars) == ["新規", "復帰", "継続", "離脱"]
    assert bars["新規"] == g["new_revenue"].tolist()
    assert bars["離脱"] == (-g["churned_revenue"]).tolist()
    assert ax.containers[0][0].get_width() == 0.5
    assert ax.get_ylabel() == "売上"
    assert STATE_NAMES_JA["churned"] == "離脱"


def test_lifecycle_bars_refuses_bad_tables(small):
    g = ck.growth_accounting(small, observation_end="2024-03-31")
    with pytest.raises(DataError, match="amount_col"):
        ck.plot.lifecycle_bars(g, values="revenue")
    with pytest.raises(DataError, match="growth_accounting"):
        ck.plot.lifecycle_bars(ck.lifecycle_table(small))
    tx = small.assign(channel=["x", "y", "x", "y", "x", "y", "x", "x"])
    with pytest.raises(DataError, match="2 groups"):
        ck.plot.lifecycle_bars(ck.growth_accounting(tx, by="channel"))


# --- bad input --------------------------------------------------------------------------------


def test_bad_arguments_raise_data_errors(small):
    with pytest.raises(DataError, match="time_unit='Y'"):
        ck.growth_accounting(small, time_unit="Y")
    with pytest.raises(DataError, match="leaves no complete calendar month"):
        ck.growth_accounting(small, observation_end="2024-01-20")
    with pytest.raises(DataError, match="before the first purchase"):
        ck.lifecycle_table(small, observation_end="2023-12-01")
    with pytest.raises(DataError, match="clashes"):
        ck.growth_accounting(small.assign(state="x"), by="state")
    with pytest.raises(DataError, match="custmer_id|customer"):
        ck.rfm_segments(small, customer_col="custmer_id")
    with pytest.raises(DataError, match="amount_col"):
        ck.rfm_segments(small, amount_col=None)
