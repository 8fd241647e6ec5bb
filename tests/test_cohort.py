"""Cohorts, retention and repeat rate: every cell against a plain pandas reference.

The reference below uses pandas ``Period`` arithmetic (``Series.dt.to_period``, ``Period.end_time``)
and explicit loops over cohorts and period numbers — an implementation independent of the integer
period indices and the Ibis expression in ``cohortkit.cohort``.
"""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cohortkit import DataError
from cohortkit.cohort import cohort_matrix, cohort_table, days_to_second_purchase, repeat_rate
from cohortkit.plot import ltv_curves, retention_curves, retention_heatmap
from helpers import exact

FREQ = {"D": "D", "W": "W-SUN", "M": "M", "Q": "Q-DEC"}


# --- the independent reference ------------------------------------------------------------


def reference_cohort_table(tx, period, observation_end=None, retention="n_period", by=None):
    """Plain pandas: one dict per (group, cohort, period number), dense, complete periods only."""
    df = tx.copy()
    df["per"] = df["date"].dt.to_period(FREQ[period])
    obs = (df["date"].max() if observation_end is None else pd.Timestamp(observation_end)).normalize()
    # a period is complete when its last day is on or before the observation end
    obs_period = obs.to_period(FREQ[period])
    last_complete = obs_period if obs_period.end_time.normalize() == obs else obs_period - 1
    df = df[df["per"] <= last_complete]
    rows = []
    if df.empty:
        return pd.DataFrame(rows)
    df = df.sort_values(["customer_id", "date"] + ([by] if by else []), kind="stable")
    first = df.groupby("customer_id")["per"].min()
    last = df.groupby("customer_id")["per"].max().map(lambda p: p.ordinal)  # last active period
    group = df.groupby("customer_id")[by].first() if by else pd.Series("all", index=first.index)
    for (g, c), members in pd.Series(first.index, index=first.index).groupby([group, first]):
        members = set(members)
        size = len(members)
        members_last = last[list(members)].to_numpy()
        mine = df[df["customer_id"].isin(members)]
        cumulative = 0.0
        n = 0
        while c + n <= last_complete:
            cell = mine[mine["per"] == c + n]
            if retention == "n_period":
                active = cell["customer_id"].nunique()
            else:
                active = int((members_last >= (c + n).ordinal).sum())
            revenue = float(cell["amount"].sum())
            cumulative += revenue
            row = {
                "cohort": c,
                "period_number": n,
                "cohort_size": size,
                "active_customers": active,
                "retention": active / size,
                "orders": len(cell),
                "revenue": revenue,
                "revenue_per_customer": revenue / size,
                "cumulative_revenue_per_customer": cumulative / size,
            }
            if by:
                row = {by: g, **row}
            rows.append(row)
            n += 1
    return pd.DataFrame(rows)


def assert_same_table(got: pd.DataFrame, want: pd.DataFrame, by=None):
    keys = ([by] if by else []) + ["cohort", "period_number"]
    got = got.sort_values(keys).reset_index(drop=True)
    want = want.sort_values(keys).reset_index(drop=True)
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want)
    for col in want.columns:
        if col in ("retention", "revenue", "revenue_per_customer", "cumulative_revenue_per_customer"):
            np.testing.assert_allclose(got[col].to_numpy(float), want[col].to_numpy(float), rtol=1e-9,
                                       atol=1e-9, err_msg=col)
        else:
            assert got[col].tolist() == want[col].tolist(), col


# --- CDNOW --------------------------------------------------------------------------------


@pytest.mark.parametrize("period", ["M", "Q", "W"])
@pytest.mark.parametrize("retention", ["n_period", "unbounded"])
def test_cdnow_every_cell_matches_reference(cdnow, period, retention):
    got = cohort_table(cdnow, amount_col="amount", time_unit=period, retention=retention)
    want = reference_cohort_table(cdnow, period, retention=retention)
    assert_same_table(got, want)


def test_cdnow_monthly_shape_and_totals(cdnow):
    t = cohort_table(cdnow, amount_col="amount")
    # CDNOW customers were all acquired in 1997 Q1 and followed to 1998-06-30 (the last day of June)
    assert [str(c) for c in t["cohort"].unique()] == ["1997-01", "1997-02", "1997-03"]
    assert t.groupby("cohort")["period_number"].max().tolist() == [17, 16, 15]
    assert t.loc[t["period_number"] == 0, "cohort_size"].sum() == 23570
    # the observation end is the last day of a month: every transaction is in a complete cell
    assert t["revenue"].sum() == pytest.approx(cdnow["amount"].sum(), rel=1e-12)
    assert t["orders"].sum() == len(cdnow) == 69659


def test_cdnow_weekly_revenue_excludes_the_incomplete_last_week(cdnow):
    t = cohort_table(cdnow, amount_col="amount", time_unit="W")
    # 1998-06-30 is a Tuesday: the ISO week from Monday 1998-06-29 is incomplete and left out
    assert t["cohort"].max().start_time == pd.Timestamp("1997-03-24")
    assert (t["cohort"] + t["period_number"]).max().end_time.normalize() == pd.Timestamp("1998-06-28")
    kept = cdnow[cdnow["date"] < "1998-06-29"]
    assert t["revenue"].sum() == pytest.approx(kept["amount"].sum(), rel=1e-12)
    assert t["orders"].sum() == len(kept) < len(cdnow)


def test_cdnow_invariants(cdnow):
    for retention in ("n_period", "unbounded"):
        t = cohort_table(cdnow, time_unit="M", retention=retention)
        assert (t.loc[t["period_number"] == 0, "retention"] == 1.0).all()
        assert t["retention"].between(0, 1).all()
    u = cohort_table(cdnow, time_unit="W", retention="unbounded")
    steps = u.groupby("cohort")["active_customers"].diff().dropna()
    assert (steps <= 0).all() and (steps < 0).any()


def test_by_column_of_the_log_takes_the_first_purchase_value(cdnow_sample):
    tx = cdnow_sample.copy()
    # a channel that changes over time: the customer's group is the one at the first purchase
    tx["channel"] = np.where(tx["date"].dt.month % 2 == 0, "even", "odd")
    got = cohort_table(tx, amount_col="amount", by="channel", time_unit="Q")
    want = reference_cohort_table(tx, "Q", by="channel")
    assert_same_table(got, want, by="channel")
    assert set(got["channel"]) == {"even", "odd"}


def test_by_from_a_customers_table(cdnow_sample):
    ids = sorted(cdnow_sample["customer_id"].unique())
    customers = pd.DataFrame({"customer_id": ids, "campaign": [f"c{i % 3}" for i in range(len(ids))]})
    got = cohort_table(cdnow_sample, amount_col="amount", by="campaign", customers=customers)
    tx = cdnow_sample.merge(customers, on="customer_id")
    want = reference_cohort_table(tx, "M", by="campaign")
    assert_same_table(got, want, by="campaign")


def test_without_amount_the_revenue_columns_are_left_out(cdnow_sample):
    t = cohort_table(cdnow_sample)
    assert list(t.columns) == [
        "cohort", "period_number", "cohort_size", "active_customers", "retention", "orders",
    ]


# --- randomised logs ----------------------------------------------------------------------

START = pd.Timestamp("2023-12-25")


@st.composite
def logs(draw):
    n = draw(st.integers(1, 25))
    customers = draw(st.lists(st.sampled_from("abcdefg"), min_size=n, max_size=n))
    minutes = draw(st.lists(st.integers(0, 120 * 24 * 60), min_size=n, max_size=n))
    amounts = draw(st.lists(st.integers(0, 500), min_size=n, max_size=n))
    channels = draw(st.lists(st.sampled_from(["x", "y"]), min_size=n, max_size=n))
    tx = pd.DataFrame({
        "customer_id": customers,
        "date": START + pd.to_timedelta(minutes, unit="min"),
        "amount": np.array(amounts, dtype=float) / 4,
        "channel": channels,
    })
    period = draw(st.sampled_from(["D", "W", "M", "Q"]))
    extra = draw(st.one_of(st.none(), st.integers(0, 130)))
    obs = None if extra is None else (tx["date"].min().normalize() + pd.Timedelta(days=extra))
    return tx, period, obs


@settings(max_examples=30)
@given(logs(), st.sampled_from(["n_period", "unbounded"]), st.booleans())
def test_random_logs_match_reference(case, retention, use_by):
    tx, period, obs = case
    by = "channel" if use_by else None
    want = reference_cohort_table(tx, period, observation_end=obs, retention=retention, by=by)
    if want.empty:
        with pytest.raises(DataError, match="leaves no complete"):
            cohort_table(tx, amount_col="amount", time_unit=period, observation_end=obs, by=by)
        return
    got = cohort_table(tx, amount_col="amount", time_unit=period, observation_end=obs,
                       retention=retention, by=by)
    assert_same_table(got, want, by=by)
    assert (got.loc[got["period_number"] == 0, "retention"] == 1.0).all()
    if retention == "unbounded":
        keys = ([by] if by else []) + ["cohort"]
        assert (got.groupby(keys)["retention"].diff().dropna() <= 0).all()
    # revenue: the total of the transactions before the end of the last complete period
    end = (got["cohort"] + got["period_number"]).max().end_time
    assert got["revenue"].sum() == pytest.approx(tx.loc[tx["date"] <= end, "amount"].sum())


def test_missing_cells_are_zero_not_absent():
    tx = pd.DataFrame({
        "customer_id": ["a", "a", "b"],
        "date": pd.to_datetime(["2024-01-03", "2024-04-10", "2024-01-20"]),
        "amount": [1.0, 2.0, 4.0],
    })
    t = cohort_table(tx, amount_col="amount", observation_end="2024-05-31")
    assert t["period_number"].tolist() == [0, 1, 2, 3, 4]
    assert t["active_customers"].tolist() == [2, 0, 0, 1, 0]
    assert t["revenue"].tolist() == [5.0, 0.0, 0.0, 2.0, 0.0]
    assert t["cumulative_revenue_per_customer"].tolist() == [2.5, 2.5, 2.5, 3.5, 3.5]
    u = cohort_table(tx, observation_end="2024-05-31", retention="unbounded")
    assert u["active_customers"].tolist() == [2, 1, 1, 1, 0]


def test_period_boundaries_are_calendar_periods():
    # 23:00 on 31 Jan → 01:00 on 1 Feb is one month; Sunday → Monday is one ISO week
    tx = pd.DataFrame({
        "customer_id": ["a", "a", "b", "b"],
        "date": pd.to_datetime(["2024-01-31 23:00", "2024-02-01 01:00", "2024-03-03 23:59",
                                "2024-03-04 00:00"]),
    })
    m = cohort_table(tx, observation_end="2024-03-31")
    assert m.loc[m["cohort"].astype(str) == "2024-01", "active_customers"].tolist() == [1, 1, 0]
    w = cohort_table(tx, time_unit="W", observation_end="2024-03-10")
    row = w[(w["cohort"].astype(str) == "2024-02-26/2024-03-03")]
    assert row["active_customers"].tolist() == [1, 1]
    assert w["cohort"].iloc[0].start_time.day_name() == "Monday"


def test_observation_end_on_the_last_day_completes_the_period():
    tx = pd.DataFrame({"customer_id": ["a", "a"], "date": pd.to_datetime(["2024-01-10", "2024-02-15"])})
    assert cohort_table(tx, observation_end="2024-02-29")["period_number"].max() == 1
    assert cohort_table(tx, observation_end="2024-02-28")["period_number"].max() == 0
    assert cohort_table(tx, observation_end="2024-02-28 23:59")["period_number"].max() == 0


def test_cohort_matrix_is_the_pivot_with_nan_only_for_incomplete_cells(cdnow):
    t = cohort_table(cdnow, amount_col="amount")
    for values in ("retention", "revenue_per_customer"):
        wide = cohort_matrix(t, values=values)
        assert wide.shape == (3, 18)
        for row in t.itertuples():
            assert wide.loc[row.cohort, row.period_number] == getattr(row, values)
        assert wide.isna().sum().sum() == 0 + 1 + 2  # the February and March cohorts' missing tails


def test_cohort_matrix_with_groups(cdnow_sample):
    tx = cdnow_sample.assign(ch=np.where(cdnow_sample["customer_id"] < "10000", "a", "b"))
    wide = cohort_matrix(cohort_table(tx, by="ch"))
    assert wide.index.names == ["ch", "cohort"]
    assert wide.shape == (6, 18)


# --- plots read back ----------------------------------------------------------------------


def test_heatmap_values_and_labels_equal_the_table(cdnow):
    t = cohort_table(cdnow, time_unit="M")
    ax = retention_heatmap(t)
    mesh = ax.collections[0]
    arr = mesh.get_array()
    wide = cohort_matrix(t)
    assert arr.shape == (wide.size,) or arr.shape == wide.shape
    arr = np.ma.asarray(arr).reshape(wide.shape)
    expected = wide.to_numpy()
    # incomplete cells are masked (blank); every other cell equals the table
    assert (np.ma.getmaskarray(arr) == np.isnan(expected)).all()
    np.testing.assert_allclose(arr.compressed(), expected[~np.isnan(expected)])
    texts = [x.get_text() for x in ax.texts]
    assert texts == [f"{v:.1%}" for v in expected[~np.isnan(expected)]]
    assert [x.get_text() for x in ax.get_yticklabels()] == ["1997-01", "1997-02", "1997-03"]
    assert texts[1] == f"{t.loc[1, 'retention']:.1%}"


def test_heatmap_of_revenue_uses_number_format():
    tx = pd.DataFrame({"customer_id": ["a", "a", "b"],
                       "date": pd.to_datetime(["2024-01-05", "2024-02-01", "2024-02-10"]),
                       "amount": [1234.5, 6.0, 4.0]})
    t = cohort_table(tx, amount_col="amount", observation_end="2024-02-29")
    ax = retention_heatmap(t, values="revenue")
    assert [x.get_text() for x in ax.texts] == ["1,234.5", "6.0", "4.0"]


def test_heatmap_refuses_several_groups(cdnow_sample):
    tx = cdnow_sample.assign(ch=np.where(cdnow_sample["customer_id"] < "10000", "a", "b"))
    with pytest.raises(DataError, match=exact(
        "table has 2 groups in column 'ch'; a heatmap shows one. Filter it first, e.g. "
        "table[table['ch'] == 'a']."
    )):
        retention_heatmap(cohort_table(tx, by="ch"))


def test_retention_curves_read_back(cdnow):
    t = cohort_table(cdnow, time_unit="M")
    pooled = retention_curves(t)
    y = pooled.lines[0].get_ydata()
    sums = t.groupby("period_number")[["active_customers", "cohort_size"]].sum()
    np.testing.assert_allclose(y, sums["active_customers"] / sums["cohort_size"])
    per_cohort = retention_curves(t, by="cohort")
    for line, (_, one) in zip(per_cohort.lines, t.groupby("cohort")):
        np.testing.assert_allclose(line.get_ydata(), one["retention"])


def test_ltv_curves_read_back(cdnow_sample):
    tx = cdnow_sample.assign(ch=np.where(cdnow_sample["customer_id"] < "10000", "a", "b"))
    t = cohort_table(tx, amount_col="amount", by="ch")
    ax = ltv_curves(t, min_share=0)
    assert len(ax.lines) >= 2
    for line, (_, one) in zip(ax.lines, t.groupby("ch")):
        # censoring-safe pooling: add up each period's revenue per customer observed in that period
        revenue = one.groupby("period_number")["revenue"].sum()
        size = one.groupby("period_number")["cohort_size"].sum()
        np.testing.assert_allclose(line.get_ydata(), (revenue / size).cumsum())
        assert (np.diff(line.get_ydata()) >= 0).all()
    # one cohort: the curve is that cohort's own cumulative revenue per customer, to its last period
    jan = t[(t["ch"] == "a") & (t["cohort"].astype(str) == "1997-01")]
    y = ltv_curves(jan).lines[0].get_ydata()
    np.testing.assert_allclose(y, jan["cumulative_revenue_per_customer"])
    assert y[-1] == pytest.approx(jan["revenue"].sum() / jan["cohort_size"].iloc[0])


def test_ltv_curves_do_not_fall_when_young_cohorts_are_censored():
    """Two cohorts, each buying exactly 10 per customer in every period: the true curve is 10, 20, 30.
    The older cohort is small and the younger one big and richer at acquisition, so averaging cumulative
    revenue over the cohorts that reach period n (the old pooling) falls at the right end."""
    rows = []
    for i in range(1):  # January: one customer, 10 a month for three months
        rows += [(f"j{i}", f"2024-0{m}-05", 10.0) for m in (1, 2, 3)]
    for i in range(9):  # February: nine customers, 50 at acquisition, then 10
        rows += [(f"f{i}", "2024-02-05", 50.0), (f"f{i}", "2024-03-05", 10.0)]
    tx = pd.DataFrame(rows, columns=["customer_id", "date", "amount"]).assign(date=lambda d: pd.to_datetime(d["date"]))
    t = cohort_table(tx, amount_col="amount", observation_end="2024-03-31")
    old = (t["cumulative_revenue_per_customer"] * t["cohort_size"]).groupby(t["period_number"]).sum() \
        / t.groupby("period_number")["cohort_size"].sum()
    assert old.diff().min() < 0  # the bias this test is about: 46, 56, 30
    y = ltv_curves(t, min_share=0).lines[0].get_ydata()
    np.testing.assert_allclose(y, [46.0, 56.0, 66.0])
    assert (np.diff(y) >= 0).all()
    # min_share cuts the line where few customers are observed: period 2 has 1 of 10
    np.testing.assert_allclose(ltv_curves(t).lines[0].get_ydata(), [46.0, 56.0, 66.0])
    np.testing.assert_allclose(ltv_curves(t, min_share=0.2).lines[0].get_ydata(), [46.0, 56.0])
    by_cohort = ltv_curves(t, by="cohort")
    assert [len(line.get_ydata()) for line in by_cohort.lines if len(line.get_ydata())] == [3, 2]  # each cohort stops where its data ends


# --- bad input: exact messages ------------------------------------------------------------

TX = pd.DataFrame({
    "customer_id": ["a", "a", "b"],
    "date": pd.to_datetime(["2024-01-03", "2024-02-10", "2024-01-20"]),
    "amount": [1.0, 2.0, 4.0],
})


def test_bad_period():
    with pytest.raises(DataError, match=exact(
        "time_unit='Y' is not a supported period. Pass 'D' (day), 'W' (ISO week, Monday to Sunday), "
        "'M' (calendar month) or 'Q' (calendar quarter)."
    )):
        cohort_table(TX, time_unit="Y")


def test_missing_column():
    with pytest.raises(DataError, match=exact(
        "column 'user' (customer_col) not found in transactions; it has columns 'customer_id', "
        "'date', 'amount'. Pass customer_col= the name of the column that holds the customer id."
    )):
        cohort_table(TX, customer_col="user")


def test_observation_end_before_first_date():
    with pytest.raises(DataError, match=exact(
        "observation_end='2023-12-31' is before the first purchase (2024-01-03); nothing would be "
        "observed. Pass a date on or after 2024-01-03, or leave observation_end=None to use the day "
        "of the last purchase (2024-02-10)."
    )):
        cohort_table(TX, observation_end="2023-12-31")
    with pytest.raises(DataError, match="^observation_end='2023-12-31' is before the first purchase"):
        repeat_rate(TX, observation_end="2023-12-31")


def test_no_complete_period():
    with pytest.raises(DataError, match=exact(
        "observation_end='2024-01-15' leaves no complete calendar month: the first purchase is in "
        "2024-01, which ends after it. Pass a later observation_end or a shorter period "
        "(e.g. time_unit='D')."
    )):
        cohort_table(TX, observation_end="2024-01-15")


def test_bad_retention():
    with pytest.raises(DataError, match=exact(
        "retention='rolling' is not a retention type. Pass 'n_period' (the share of the cohort that "
        "bought in period n) or 'unbounded' (the share that bought in period n or later)."
    )):
        cohort_table(TX, retention="rolling")


def test_by_column_missing():
    with pytest.raises(DataError, match=exact(
        "column 'channel' (by) not found in transactions; it has columns 'customer_id', 'date', "
        "'amount'. Pass by= the name of the column that holds the customer attribute to group by "
        "(e.g. the channel)."
    )):
        cohort_table(TX, by="channel")
    customers = pd.DataFrame({"customer_id": ["a", "b"], "chanel": ["x", "y"]})
    with pytest.raises(DataError, match=exact(
        "column 'channel' (by) not found in customers; it has columns 'customer_id', 'chanel'. "
        "Did you mean 'chanel'? Pass by= the name of the column that holds the customer attribute "
        "to group by (e.g. the channel)."
    )):
        cohort_table(TX, by="channel", customers=customers)


def test_customers_without_by_and_duplicated_customers():
    customers = pd.DataFrame({"customer_id": ["a", "a", "b"], "channel": ["x", "y", "y"]})
    with pytest.raises(DataError, match=exact(
        "customers was given but by is None; pass by= the column of customers to group by (e.g. "
        "by='channel'), or leave out customers."
    )):
        cohort_table(TX, customers=customers)
    with pytest.raises(DataError, match=exact(
        "customers has 1 duplicated values of 'customer_id' (customer_col); it must hold one row per "
        "customer. Drop the duplicates (e.g. customers.drop_duplicates(subset=[customer_col]))."
    )):
        cohort_table(TX, by="channel", customers=customers)


def test_missing_dates_are_refused():
    tx = TX.assign(date=[pd.Timestamp("2024-01-03"), pd.NaT, pd.Timestamp("2024-01-20")])
    with pytest.raises(DataError, match=exact(
        "date_col has 1 missing values; every transaction needs a customer id, a date and (when "
        "amount_col is given) an amount. Drop or fill those rows first (e.g. "
        "transactions.dropna(subset=[...]))."
    )):
        cohort_table(tx)


def test_cohort_matrix_bad_values():
    with pytest.raises(DataError, match=exact(
        "values='retension' is not a column of the cohort table; pass one of 'cohort_size', "
        "'active_customers', 'retention', 'orders'."
    )):
        cohort_matrix(cohort_table(TX), values="retension")


# --- repeat rate --------------------------------------------------------------------------


def reference_days_to_second(tx, observation_end):
    obs = pd.Timestamp(observation_end)
    out = {}
    for customer, rows in tx.groupby("customer_id"):
        days = sorted(set(d for d in rows["date"].dt.normalize() if d <= obs))
        if days:
            out[customer] = ((days[1] - days[0]).days if len(days) > 1 else None, (obs - days[0]).days)
    return out


def test_cdnow_published_zero_repeaters(cdnow_sample):
    # Fader, Hardie & Lee (2005), "Counting your customers the easy way", Marketing Science 24(2),
    # section 4: of the 2,357 sampled customers, 1,411 made no repeat purchase in the 39-week
    # calibration period (ending 1997-09-30), with same-day purchases merged.
    d = days_to_second_purchase(cdnow_sample, observation_end="1997-09-30")
    assert len(d) == 2357
    assert int(d["days_to_second"].isna().sum()) == 1411


def test_days_to_second_matches_reference(cdnow_sample):
    d = days_to_second_purchase(cdnow_sample, observation_end="1997-12-31")
    ref = reference_days_to_second(cdnow_sample, "1997-12-31")
    assert len(d) == len(ref)
    for row in d.itertuples():
        days, observed = ref[row.customer_id]
        assert (None if pd.isna(row.days_to_second) else int(row.days_to_second)) == days
        assert row.days_observed == observed
    assert (d["second_purchase"] - d["first_purchase"]).dt.days.dropna().astype(int).tolist() == (
        d["days_to_second"].dropna().astype(int).tolist()
    )


@pytest.mark.parametrize("within,obs", [("90D", None), ("30D", "1997-06-30"), ("2W", "1997-02-10")])
def test_repeat_rate_matches_reference_and_wilson(cdnow_sample, within, obs):
    from statsmodels.stats.proportion import proportion_confint

    cdnow = cdnow_sample
    w = pd.Timedelta(within).days
    end = cdnow["date"].max() if obs is None else pd.Timestamp(obs)
    ref = reference_days_to_second(cdnow, end)
    eligible = {c: v for c, v in ref.items() if v[1] >= w}
    repeaters = sum(1 for days, _ in eligible.values() if days is not None and days <= w)
    r = repeat_rate(cdnow, window=within, observation_end=obs)
    row = r.iloc[0]
    assert row["first_time_buyers"] == len(ref)
    assert row["not_yet_eligible"] == len(ref) - len(eligible)
    assert row["customers"] == len(eligible)
    assert row["repeaters"] == repeaters
    assert row["repeat_rate"] == pytest.approx(repeaters / len(eligible))
    low, high = proportion_confint(repeaters, len(eligible), alpha=0.05, method="wilson")
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high), rel=1e-9)
    assert row["note"] == ""


def test_repeat_rate_by_group_and_no_eligible_group():
    tx = pd.DataFrame({
        "customer_id": ["a", "a", "b", "c", "c", "d"],
        "date": pd.to_datetime(["2024-01-01", "2024-01-20", "2024-01-03", "2024-01-05",
                                "2024-03-30", "2024-03-20"]),
        "channel": ["x", "y", "x", "x", "x", "y"],
    })
    r = repeat_rate(tx, window="30D", by="channel", observation_end="2024-03-31", ci=0.9)
    assert r["channel"].tolist() == ["x", "y"]
    assert r["customers"].tolist() == [3, 0]
    assert r["repeaters"].tolist() == [1, 0]
    assert r["not_yet_eligible"].tolist() == [0, 1]
    assert r.loc[0, "repeat_rate"] == pytest.approx(1 / 3)
    assert np.isnan(r.loc[1, "repeat_rate"]) and np.isnan(r.loc[1, "ci_low"])
    assert r["note"].tolist() == ["", "no customer's 30-day window has ended by the observation end"]


def test_repeat_rate_bad_window_and_ci():
    with pytest.raises(DataError, match=exact(
        "window='36h' is not a whole number of days; purchases are merged by day, so pass a window "
        "such as '30D', '90D' or '2W'."
    )):
        repeat_rate(TX, window="36h")
    with pytest.raises(DataError, match=exact(
        "window='3M' is not a positive duration. Pass a string such as '7D', '90D', '2W' or '12h', "
        "or a pandas.Timedelta (months and years vary in length; use days)."
    )):
        repeat_rate(TX, window="3M")
    with pytest.raises(DataError, match=exact(
        "ci=95 is not a confidence level. Pass a number between 0 and 1, e.g. ci=0.95."
    )):
        repeat_rate(TX, ci=95)
