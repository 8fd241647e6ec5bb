"""cohortkit.simulate: the BG/NBD generator, the simulated shop and its bundled instance.

Independent references used here: lifetimes' BetaGeoFitter / GammaGammaFitter (parameter recovery),
lifetimes' own per-customer-loop generator (same distribution), the closed form of E[X(t)] in Fader,
Hardie & Lee (2005, eq. 7, via scipy's hyp2f1), and brute-force pandas recounts of the tables.
"""

from __future__ import annotations

import gzip
import hashlib
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from scipy.special import hyp2f1

from cohortkit import DataError
from cohortkit.datasets import data_path, load_shop
from cohortkit.simulate import (
    FUNNEL_STEPS,
    _TABLES,
    _to_csv_bytes,
    bgnbd,
    default_campaigns,
    expected_repeat_purchases,
    read_shop,
    shop,
)
from helpers import exact
from helpers import off_lock


@pytest.fixture(scope="module")
def small():
    return shop(n_customers=1500, start="2024-01-01", end="2024-04-30", seed=11)


@pytest.fixture(scope="module")
def bundled():
    return load_shop()


def _rfm(pop):
    """frequency / recency / T (days) from a Population, written independently of cohortkit.clv."""
    n = len(pop.customers)
    repeats = pop.transactions[pop.transactions["t"] > 0]
    grouped = repeats.groupby("customer_id")
    rfm = pd.DataFrame({"frequency": grouped.size(), "recency": grouped["t"].max()})
    if "amount" in repeats:
        rfm["monetary_value"] = grouped["amount"].mean()
    rfm = rfm.reindex(np.arange(n)).fillna({"frequency": 0, "recency": 0.0})
    rfm["T"] = pop.customers["T"].to_numpy()
    return rfm


# --- the BG/NBD generator -----------------------------------------------------------------------


def test_bgnbd_recovers_parameters_with_lifetimes():
    """30,000 customers observed 1–2 years: lifetimes' MLE is within 10 % (r, alpha) and 15 % (a, b).

    With these sizes the estimates of four seeds tried while writing the test were within 6 %.
    """
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    true = {"r": 0.8, "alpha": 60.0, "a": 0.9, "b": 4.0}
    n = 30_000
    T = np.random.default_rng(5).uniform(365.0, 730.0, n)
    pop = bgnbd(n, **true, T=T, gamma_gamma=(4.0, 6.0, 9000.0), seed=5)
    rfm = _rfm(pop)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bg = BetaGeoFitter().fit(rfm["frequency"], rfm["recency"], rfm["T"])
    for name, value in true.items():
        tol = 0.10 if name in ("r", "alpha") else 0.15
        assert bg.params_[name] == pytest.approx(value, rel=tol), name
    buyers = rfm[rfm["frequency"] > 0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gg = GammaGammaFitter().fit(buyers["frequency"], buyers["monetary_value"])
    assert gg.params_["p"] == pytest.approx(4.0, rel=0.10)
    assert gg.params_["q"] == pytest.approx(6.0, rel=0.10)
    assert gg.params_["v"] == pytest.approx(9000.0, rel=0.10)
    mean = gg.params_["p"] * gg.params_["v"] / (gg.params_["q"] - 1)
    assert mean == pytest.approx(4.0 * 9000.0 / 5.0, rel=0.03)


def test_bgnbd_matches_lifetimes_loop_generator():
    """Same distribution as lifetimes' per-customer loop (frequency counted as lifetimes does)."""
    from lifetimes.generate_data import beta_geometric_nbd_model

    par = {"r": 0.5, "alpha": 10.0, "a": 1.2, "b": 2.5}
    n, T = 6000, 200.0
    ref = beta_geometric_nbd_model(T, par["r"], par["alpha"], par["a"], par["b"], size=n)  # global seed
    pop = bgnbd(n, **par, T=T, seed=3)
    repeats = pop.transactions[pop.transactions["t"] > 0]
    # lifetimes counts distinct whole days of the repeat purchases
    ours_freq = repeats.assign(day=np.floor(repeats["t"])).groupby("customer_id")["day"].nunique()
    ours_freq = ours_freq.reindex(np.arange(n), fill_value=0).to_numpy()
    ours_rec = repeats.groupby("customer_id")["t"].max().reindex(np.arange(n), fill_value=0.0).to_numpy()
    bins = [0, 1, 2, 3, 5, 8, 13, np.inf]
    a = np.histogram(ours_freq, bins)[0]
    b = np.histogram(ref["frequency"].to_numpy(), bins)[0]
    assert stats.chi2_contingency(np.vstack([a, b]))[1] > 0.01
    assert stats.ks_2samp(ours_rec, ref["recency"].to_numpy()).pvalue > 0.01
    assert stats.ttest_ind(ours_freq, ref["frequency"].to_numpy(), equal_var=False).pvalue > 0.01


@pytest.mark.parametrize("a", [0.8, 1.5, 3.0])
def test_expected_repeat_purchases_closed_form_and_monte_carlo(a):
    r, alpha, b, t = 0.7, 30.0, 3.0, 400.0
    closed = (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))
    value = expected_repeat_purchases(t, r=r, alpha=alpha, a=a, b=b)
    assert value == pytest.approx(closed, rel=1e-8)
    pop = bgnbd(200_000, r=r, alpha=alpha, a=a, b=b, T=t, seed=int(a * 10))
    repeats = len(pop.transactions) / 200_000 - 1
    assert repeats == pytest.approx(value, rel=0.02)


@given(
    n=st.integers(1, 40),
    r=st.floats(0.1, 3.0),
    alpha=st.floats(0.5, 50.0),
    a=st.floats(0.2, 5.0),
    b=st.floats(0.2, 5.0),
    T=st.floats(0.01, 500.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_bgnbd_invariants(n, r, alpha, a, b, T, seed):
    pop = bgnbd(n, r=r, alpha=alpha, a=a, b=b, T=T, gamma_gamma=(2.0, 3.0, 10.0), seed=seed)
    tx, cust = pop.transactions, pop.customers
    assert list(cust["customer_id"]) == list(range(n))
    assert (tx.groupby("customer_id")["t"].min() == 0).all()
    assert ((tx["t"] >= 0) & (tx["t"] < T)).all()
    assert (tx["amount"] > 0).all()
    assert tx.groupby("customer_id")["t"].apply(lambda s: s.is_monotonic_increasing).all()
    repeats = (tx.groupby("customer_id").size() - 1).reindex(range(n)).to_numpy()
    last = tx.groupby("customer_id")["t"].max().reindex(range(n)).to_numpy()
    J = cust["repeats_until_dropout"].to_numpy()
    alive = cust["alive_at_end"].to_numpy()
    assert (repeats <= J).all() and (J >= 1).all()
    # dead customers dropped out right after their J-th repeat purchase, the last one seen
    assert (repeats[~alive] == J[~alive]).all()
    np.testing.assert_allclose(last[~alive], cust["lifetime"].to_numpy()[~alive])
    assert (cust["lifetime"].to_numpy()[alive] > T).all()
    assert (repeats[alive] < J[alive]).all()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n": 0}, "n must be at least 1, got 0."),
        ({"n": "x"}, "n must be a whole number of customers, got 'x'."),
        ({"r": -1.0}, "r must be a finite number > 0, got -1.0."),
        ({"T": 0.0}, "T must be finite and > 0 for every customer. Pass the observation length after the first purchase."),
        ({"T": [1.0, 2.0]}, "T must be one number or one value per customer (length 5), got shape (2,)."),
        ({"gamma_gamma": (1.0, 2.0)}, "gamma_gamma must be a tuple (p, q, gamma) of numbers > 0, got (1.0, 2.0)."),
    ],
)
def test_bgnbd_errors(kwargs, message):
    args = {"n": 5, "r": 1.0, "alpha": 1.0, "a": 1.0, "b": 1.0, "T": 10.0, **kwargs}
    with pytest.raises(DataError, match=exact(message)):
        bgnbd(args.pop("n"), **args)


# --- the shop: structure ------------------------------------------------------------------------

DTYPES = {
    "campaigns": {"date": "datetime64[ns]", "campaign": "str", "channel": "str", "impressions": "int64",
                  "clicks": "int64", "spend": "float64", "conversions": "int64", "revenue": "float64"},
    "customers": {"customer_id": "str", "campaign": "str", "channel": "str", "acquired_at": "datetime64[ns]"},
    "transactions": {"customer_id": "str", "date": "datetime64[ns]", "amount": "float64"},
    "events": {"user_id": "str", "timestamp": "datetime64[ns]", "event": "str", "campaign": "str"},
    "nps": {"customer_id": "str", "answered_at": "datetime64[ns]", "score": "int64"},
}


@pytest.mark.parametrize("which", ["small", "bundled"])
def test_columns_and_dtypes(which, request):
    world = request.getfixturevalue(which)
    for name, spec in DTYPES.items():
        frame = getattr(world, name)
        assert list(frame.columns) == list(spec), name
        assert {c: str(frame[c].dtype) for c in frame} == spec, name
        assert frame.notna().all().all(), name
    truth = world.truth
    assert list(truth.campaigns.columns[:19]) == list(default_campaigns().columns)
    assert list(truth.campaigns.columns[19:]) == [
        "mean_spend", "expected_repeats_730d", "expected_value_730d", "incrementality", "incremental_value_730d",
    ]
    np.testing.assert_allclose(truth.campaigns["incrementality"], 1 - truth.campaigns["baseline"], rtol=1e-12)
    assert list(truth.customers.columns) == [
        "customer_id", "campaign", "purchase_rate", "dropout_prob", "repeats_until_dropout",
        "lifetime_days", "dropout_at", "alive_at_end", "spend_rate", "mean_spend",
    ]
    assert str(truth.customers["alive_at_end"].dtype) == "bool"
    assert str(truth.customers["dropout_at"].dtype) == "datetime64[ns]"
    # timestamps at whole seconds
    for frame, col in ((world.transactions, "date"), (world.events, "timestamp"), (world.customers, "acquired_at")):
        assert (frame[col].dt.microsecond == 0).all() and (frame[col].dt.nanosecond == 0).all()


def test_same_seed_same_world_and_different_seed_differs(small):
    again = shop(n_customers=1500, start="2024-01-01", end="2024-04-30", seed=11)
    for name, frame in small.tables().items():
        pd.testing.assert_frame_equal(frame, again.tables()[name], obj=name)
    other = shop(n_customers=1500, start="2024-01-01", end="2024-04-30", seed=12)
    assert not other.transactions.equals(small.transactions)
    assert not other.campaigns.equals(small.campaigns)
    assert not other.events.equals(small.events)


def test_write_read_round_trip_is_exact_and_byte_stable(small, tmp_path):
    digests = small.write(tmp_path / "a")
    back = read_shop(tmp_path / "a")
    for name, frame in small.tables().items():
        pd.testing.assert_frame_equal(back.tables()[name], frame, obj=name)
    assert back.params == small.params
    assert small.write(tmp_path / "b") == digests
    for name in digests:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    sums = (tmp_path / "a" / "SHA256SUMS").read_text().splitlines()
    assert sums == [f"{d}  {n}" for n, d in sorted(digests.items())]


def test_ids_and_user_mapping(small):
    ids = small.customers["customer_id"]
    assert ids.is_unique and ids.str.fullmatch(r"C\d{6}").all()
    assert (ids == [f"C{i:06d}" for i in range(1, len(ids) + 1)]).all()
    assert small.customers["acquired_at"].is_monotonic_increasing
    users = small.events["user_id"].drop_duplicates()
    buyers = small.events.loc[small.events["event"] == "purchase", "user_id"]
    assert set(buyers) == set(ids)  # converting visitors carry their customer_id
    visitors = users[~users.isin(ids)]
    assert visitors.str.fullmatch(r"V\d{7}").all()


# --- the shop: consistency ----------------------------------------------------------------------


@pytest.mark.parametrize("which", ["small", "bundled"])
def test_events_consistent_with_campaigns(which, request):
    world = request.getfixturevalue(which)
    ev, camp, cust = world.events, world.campaigns, world.customers
    key = ["date", "campaign"]
    daily = camp.set_index(key)
    # exactly one session_start per click, on the click's day and campaign
    starts = ev[ev["event"] == "session_start"].assign(date=lambda d: d["timestamp"].dt.normalize())
    n_start = starts.groupby(key).size().reindex(daily.index, fill_value=0)
    assert (n_start == daily["clicks"]).all()
    # one purchase event per conversion, = customers acquired that day by that campaign
    buys = ev[ev["event"] == "purchase"].assign(date=lambda d: d["timestamp"].dt.normalize())
    n_buy = buys.groupby(key).size().reindex(daily.index, fill_value=0)
    assert (n_buy == daily["conversions"]).all()
    n_cust = cust.assign(date=cust["acquired_at"].dt.normalize()).groupby(key).size()
    assert (n_cust.reindex(daily.index, fill_value=0) == daily["conversions"]).all()
    assert daily["conversions"].sum() == len(cust)
    # every user has one session; its events are a prefix of the funnel, in time order, on one day
    steps = {name: i for i, name in enumerate(FUNNEL_STEPS)}
    ordered = ev.assign(step=ev["event"].map(steps)).sort_values(["user_id", "step"], kind="stable")
    g = ordered.groupby("user_id", sort=False)
    assert (ordered["step"].to_numpy() == g.cumcount().to_numpy()).all()
    same_user = ordered["user_id"].eq(ordered["user_id"].shift())
    gap = ordered["timestamp"].diff()
    assert (gap[same_user] > pd.Timedelta(0)).all()
    assert (g["timestamp"].min().dt.normalize() == g["timestamp"].max().dt.normalize()).all()
    assert (g["campaign"].nunique() == 1).all()
    # the purchase event is the first transaction, at acquired_at
    first_tx = world.transactions.groupby("customer_id")["date"].min()
    purchase_at = buys.set_index("user_id")["timestamp"]
    acquired = cust.set_index("customer_id")["acquired_at"]
    assert (purchase_at.reindex(acquired.index) == acquired).all()
    assert (first_tx.reindex(acquired.index) == acquired).all()
    assert (cust.set_index("customer_id")["campaign"] == buys.set_index("user_id")["campaign"].reindex(acquired.index)).all()
    # first-order revenue per day and campaign
    first = world.transactions.merge(cust, on="customer_id")
    first = first[first["date"] == first["acquired_at"]].assign(date=lambda d: d["acquired_at"].dt.normalize())
    rev = first.groupby(key)["amount"].sum().reindex(daily.index, fill_value=0.0)
    np.testing.assert_allclose(rev.to_numpy(), daily["revenue"].to_numpy())
    # funnel counts never grow down the funnel
    counts = ev["event"].value_counts().reindex(list(FUNNEL_STEPS))
    assert counts.is_monotonic_decreasing
    assert (daily["clicks"] <= daily["impressions"]).all() and (daily["spend"] >= 0).all()


@pytest.mark.parametrize("which", ["small", "bundled"])
def test_transactions_and_truth_agree(which, request):
    world = request.getfixturevalue(which)
    start = pd.Timestamp(world.params["start"])
    obs_end = pd.Timestamp(world.params["end"]) + pd.Timedelta(days=1)
    tx = world.transactions
    assert tx["date"].min() >= start and tx["date"].max() < obs_end
    assert (tx["amount"] >= 1).all() and (tx["amount"] == tx["amount"].round()).all()
    truth = world.truth.customers.set_index("customer_id")
    assert list(truth.index) == list(world.customers["customer_id"])
    repeats = tx.groupby("customer_id").size().reindex(truth.index) - 1
    last = tx.groupby("customer_id")["date"].max().reindex(truth.index)
    dead = ~truth["alive_at_end"]
    assert (repeats[dead] == truth["repeats_until_dropout"][dead]).all()
    assert (last[dead] == truth["dropout_at"][dead]).all()
    assert (repeats[~dead] < truth["repeats_until_dropout"][~dead]).all()
    alive_drop = truth["dropout_at"][~dead]
    assert (alive_drop.isna() | (alive_drop >= obs_end - pd.Timedelta(seconds=1))).all()


def test_nps_scores(bundled):
    nps, cust = bundled.nps, bundled.customers
    assert nps["score"].between(0, 10).all() and nps["customer_id"].is_unique
    joined = nps.merge(cust, on="customer_id")
    delay = joined["answered_at"] - joined["acquired_at"]
    assert (delay >= pd.Timedelta(days=7)).all() and (delay < pd.Timedelta(days=56)).all()
    assert nps["answered_at"].max() < pd.Timestamp("2025-01-01")
    score = joined.groupby("campaign")["score"].agg(lambda s: 100 * ((s >= 9).mean() - (s <= 6).mean()))
    assert score["generic_search"] > score["coupon_affiliate"] + 50
    # loyal campaigns (high true 2-year value) score higher: rank correlation across campaigns
    value = bundled.truth.campaigns.set_index("campaign")["expected_value_730d"]
    assert stats.spearmanr(score.reindex(value.index), value).statistic > 0.7


# --- the bundled instance -----------------------------------------------------------------------


def test_bundled_ctr_rank_disagrees_with_ltv_rank(bundled):
    """The lesson: ranking campaigns by CTR and by customer value disagree."""
    camp = bundled.campaigns.groupby("campaign")[["impressions", "clicks", "conversions"]].sum()
    ctr = camp["clicks"] / camp["impressions"]
    cvr = camp["conversions"] / camp["clicks"]
    tx = bundled.transactions.merge(bundled.customers, on="customer_id")
    ltv = tx.groupby("campaign")["amount"].sum() / bundled.customers.groupby("campaign").size()
    true_value = bundled.truth.campaigns.set_index("campaign")["expected_value_730d"]
    assert len(ctr) >= 6 and bundled.customers["channel"].nunique() >= 5
    best_ctr = ctr.idxmax()
    assert best_ctr == cvr.idxmax() == "coupon_affiliate"
    assert ltv.idxmin() == best_ctr and true_value.idxmin() == best_ctr
    assert ltv.idxmax() == "generic_search" == true_value.idxmax()
    assert ctr["coupon_affiliate"] > 2 * ctr["generic_search"]
    assert ltv["generic_search"] > 3 * ltv["coupon_affiliate"]
    assert stats.spearmanr(ctr, ltv.reindex(ctr.index)).statistic < 0
    assert stats.spearmanr(ltv, true_value.reindex(ltv.index)).statistic > 0.9


def test_bundled_size_and_checksums():
    folder = data_path("shop")
    total = 0
    for line in (folder / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ")
        data = (folder / name).read_bytes()
        total += len(data)
        assert hashlib.sha256(data).hexdigest() == digest, name
    assert total < 6e6


#: the packages whose releases can move the last digit of a generated float (simulate uses numpy,
#: pandas and scipy; pyarrow reads and writes the tables elsewhere)
NUMERIC_PACKAGES = ("numpy", "pandas", "scipy", "pyarrow")
#: relative tolerance for float columns of a regeneration on versions other than the lock's
FLOAT_RTOL = 1e-12


@pytest.fixture(scope="module")
def regenerated(bundled):
    return shop(**{k: bundled.params[k] for k in ("n_customers", "start", "end", "seed")})


def test_bundled_files_match_a_fresh_regeneration(bundled, regenerated):
    """A regeneration gives the bundled tables on any supported versions of the numerics.

    Floats agree to a relative 1e-12 (no absolute slack); ids, strings, integers, booleans and
    timestamps exactly, as do columns and dtypes.
    """
    stored = bundled.tables()
    for name, frame in regenerated.tables().items():
        expected = stored[name]
        assert list(frame.columns) == list(expected.columns), name
        assert frame.dtypes.astype(str).to_dict() == expected.dtypes.astype(str).to_dict(), name
        assert len(frame) == len(expected), name
        for col in frame:
            if pd.api.types.is_float_dtype(frame[col]):
                np.testing.assert_allclose(frame[col].to_numpy(), expected[col].to_numpy(), rtol=FLOAT_RTOL,
                                           atol=0.0, err_msg=f"{name}.{col}")
            else:
                pd.testing.assert_series_equal(frame[col], expected[col], check_exact=True,
                                               obj=f"{name}.{col}")


def test_bundled_files_equal_a_fresh_regeneration(regenerated):
    """``python -m cohortkit.simulate --write data/shop`` reproduces the bundled files byte for byte.

    Promised only on the versions in requirements/constraints.txt (what ``make install`` installs): a
    numpy, pandas or scipy release may change the last printed digit of a float, which the test above
    tolerates. Compares the CSV text (decompressed), which does not depend on the zlib build; the gzip
    bytes themselves are checked by the round-trip test above and the SHA256SUMS test.
    """
    different = off_lock(NUMERIC_PACKAGES)
    if different:
        shown = ", ".join(f"{n} {have} (lock {want})" for n, (have, want) in sorted(different.items()))
        pytest.skip(f"byte-for-byte comparison only on the locked versions; installed: {shown}")
    folder = data_path("shop")
    for stem, frame in regenerated.tables().items():
        name = _TABLES[stem][0]
        stored = (folder / name).read_bytes()
        if name.endswith(".gz"):
            stored = gzip.decompress(stored)
        assert stored == _to_csv_bytes(frame, stem), name


# --- argument errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_customers": 0}, "n_customers must be at least 1, got 0."),
        ({"start": "2024-02-01", "end": "2024-01-01"}, "end (2024-01-01) is before start (2024-02-01). Swap them."),
        ({"start": "not a date"}, "start and end must be dates like '2023-01-01', got 'not a date' and '2024-12-31'."),
        (
            {"campaigns": default_campaigns().drop(columns=["r", "cvr"])},
            "campaigns is missing the column(s) cvr, r. Start from cohortkit.simulate.default_campaigns() and edit its values.",
        ),
        (
            {"campaigns": default_campaigns().assign(ctr=1.5)},
            "campaigns column 'ctr' must lie in (0, 1] in every row. Fix its values.",
        ),
        (
            {"campaigns": default_campaigns().assign(baseline=1.0)},
            "campaigns column 'baseline' must lie in [0, 1) in every row. Fix its values.",
        ),
    ],
)
def test_shop_errors(kwargs, message):
    with pytest.raises(DataError, match=exact(message)):
        shop(**kwargs)


def test_custom_campaigns_change_the_world():
    spec = default_campaigns().iloc[:2].assign(share=[1.0, 3.0])
    world = shop(n_customers=800, start="2024-01-01", end="2024-02-29", seed=3, campaigns=spec)
    shares = world.customers["campaign"].value_counts(normalize=True)
    assert set(shares.index) == {"coupon_affiliate", "clickbait_banner"}
    assert shares["clickbait_banner"] == pytest.approx(0.75, abs=0.05)
    assert world.params["default_campaigns"] is False


def test_read_shop_missing_file(tmp_path):
    msg = (
        f"shop file 'campaigns.csv' was not found in {tmp_path}. Regenerate the folder with "
        f"`python -m cohortkit.simulate --write {tmp_path}`."
    )
    with pytest.raises(DataError, match=exact(msg)):
        read_shop(tmp_path)


def test_baseline_is_optional_and_changes_no_simulated_row():
    kw = dict(n_customers=300, start="2024-01-01", end="2024-02-29", seed=3)
    with_baseline = shop(**kw)
    without = shop(campaigns=default_campaigns().drop(columns=["baseline"]), **kw)
    for name in ("campaigns", "customers", "transactions", "events", "nps"):
        pd.testing.assert_frame_equal(getattr(with_baseline, name), getattr(without, name), obj=name)
    assert (without.truth.campaigns["incrementality"] == 1.0).all()
    assert with_baseline.truth.campaigns.set_index("campaign")["incrementality"].to_dict() == {
        "coupon_affiliate": 0.5, "clickbait_banner": 0.95, "brand_search": 0.3, "social_video": 0.9,
        "generic_search": 0.8, "line_retargeting": 0.2,
    }


# --- the fast paths of the generator give what the string routes give ------------------------------


def test_sig6_equals_the_string_route():
    from cohortkit.simulate import _sig6

    rng = np.random.default_rng(5)
    values = np.concatenate([
        rng.gamma(0.3, 1 / 90, 100_000),  # purchase rates, some underflowing toward 0
        rng.beta(0.8, 6.0, 100_000),  # dropout probabilities
        10 ** rng.uniform(-40, 40, 100_000),  # every decade, beyond the exact powers of 10
        [0.0, 5e-324, np.inf, 1.5, 2.5, 0.1234565, 123456.5, 999999.5, 9.999995e-5, 1e22, 1e23, 1e300],
    ])
    want = np.char.mod("%.6g", values).astype("float64")
    np.testing.assert_array_equal(_sig6(values), want)


def test_id_strings_equal_the_python_strings():
    from cohortkit.simulate import _id_array, _ids, _taken, _text

    for prefix, n, width in (("C", 0, 6), ("C", 1, 6), ("V", 12_345, 7), ("C", 1_234_567, 7)):
        fast = pd.Series(_taken(_id_array(prefix, n, width)))
        slow = pd.Series(_text(_ids(prefix, n, width)))
        assert fast.dtype == slow.dtype
        pd.testing.assert_series_equal(fast, slow)
    index = np.array([4, 0, 4, 11])
    pd.testing.assert_series_equal(pd.Series(_taken(_id_array("C", 12, 6), index)),
                                   pd.Series(_text(_ids("C", 12, 6)[index])))
