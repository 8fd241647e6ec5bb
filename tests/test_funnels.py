"""Funnels: funnel_from_counts, and funnel() against a brute-force pure-Python reference."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cohortkit import DataError
from cohortkit.funnels import funnel, funnel_from_counts
from helpers import exact

T0 = pd.Timestamp("2024-03-01")
STEPS = ["view", "cart", "purchase"]


def log(rows, by=False):
    """rows: (user, hours after T0, event[, channel])."""
    df = pd.DataFrame(
        {
            "user_id": [r[0] for r in rows],
            "timestamp": [T0 + pd.Timedelta(hours=r[1]) for r in rows],
            "event": [r[2] for r in rows],
        }
    )
    if by:
        df["channel"] = [r[3] for r in rows]
    return df


# --- brute-force reference: pure Python, one user at a time, every attempt enumerated -------------


def reference(df, steps, window, order, by=None):
    """Follows the rules in the cohortkit.funnels module docstring literally."""
    n = len(steps)
    index = {s: i + 1 for i, s in enumerate(steps)}
    w = int(pd.Timedelta(window) // pd.Timedelta(microseconds=1))
    users: dict = {}
    for row in df.itertuples(index=False):
        if row.event not in index:
            continue
        us = int((row.timestamp - pd.Timestamp("1970-01-01")) // pd.Timedelta(microseconds=1))
        group = getattr(row, by) if by else 0
        users.setdefault(row.user_id, []).append((us, index[row.event], group))
    chosen = []
    for evs in users.values():
        evs.sort(key=lambda e: (e[0], e[1]))
        attempts = []
        for i, (s, step, group) in enumerate(evs):
            if step != 1:
                continue
            times = [s]
            pos = i
            for k in range(2, n + 1):
                hit = None
                for j in range(pos + 1, len(evs)):
                    t, sj, _ = evs[j]
                    if order == "strict" and sj == k - 1:
                        continue
                    if sj == k and s <= t <= s + w:
                        hit = j
                        break
                    if order == "strict":
                        break
                if hit is None:
                    break
                if order == "any":
                    times.append(max(times[-1], evs[hit][0]))
                else:
                    times.append(evs[hit][0])
                    pos = hit
            attempts.append((-len(times), times[-1], -s, group, times))
        if attempts:
            best = min(attempts, key=lambda a: a[:4])
            chosen.append((best[3], best[4]))
    rows = []
    for group in sorted({g for g, _ in chosen}):
        mine = [times for g, times in chosen if g == group]
        for k in range(1, n + 1):
            reached = [times for times in mine if len(times) >= k]
            deltas = [times[k - 1] - times[k - 2] for times in reached] if k >= 2 else []
            rows.append(
                {
                    "group": group,
                    "step_index": k,
                    "users": len(reached),
                    "median_us": float(np.median(deltas)) if deltas else np.nan,
                    "p90_us": float(np.quantile(deltas, 0.9)) if deltas else np.nan,
                }
            )
    return pd.DataFrame(rows)


def assert_matches_reference(got, ref, by=None):
    assert len(got) == len(ref)
    if by:
        assert got[by].tolist() == ref["group"].tolist()
    assert got["step_index"].tolist() == ref["step_index"].tolist()
    assert got["users"].tolist() == ref["users"].tolist()
    for col, ref_col in (("median_time_from_previous", "median_us"), ("p90_time_from_previous", "p90_us")):
        got_us = got[col].to_numpy(dtype="timedelta64[ns]").astype("float64") / 1000.0
        got_us[pd.isna(got[col]).to_numpy()] = np.nan
        np.testing.assert_allclose(got_us, ref[ref_col].to_numpy(), rtol=0, atol=1e-3, equal_nan=True)


events_strategy = st.lists(
    st.tuples(
        st.integers(0, 1),  # user
        st.integers(0, 12),  # hour: many ties and exact-boundary cases
        st.sampled_from(["view", "cart", "purchase", "other"]),
        st.sampled_from(["ads", "mail"]),
    ),
    min_size=5,
    max_size=40,
)


def with_all_steps(rows):
    # one user far away makes sure every step name occurs (an absent step is an error)
    return rows + [(9, 500, "view", "ads"), (9, 501, "cart", "ads"), (9, 502, "purchase", "ads")]


# each example runs 3 engine queries per order; 20 examples keep this file fast
@settings(max_examples=20)
@given(rows=events_strategy, window_h=st.integers(1, 8), use_by=st.booleans())
def test_funnel_equals_brute_force_reference(rows, window_h, use_by):
    df = log(with_all_steps(rows), by=True)
    by = "channel" if use_by else None
    window = f"{window_h}h"
    results = {}
    for order in ("ordered", "strict", "any"):
        got = funnel(df, STEPS, window=window, order=order, by=by)
        ref = reference(df, STEPS, window, order, by=by)
        assert_matches_reference(got, ref, by=by)
        results[order] = got["users"].to_numpy()
        # monotone non-increasing step counts within each group
        per_group = results[order].reshape(-1, len(STEPS))
        assert (np.diff(per_group, axis=1) <= 0).all()
    # strict is a special case of ordered, which is a special case of any
    assert (results["strict"] <= results["ordered"]).all()
    assert (results["ordered"] <= results["any"]).all()


@settings(max_examples=10)
@given(rows=events_strategy, window_h=st.integers(1, 12))
def test_two_step_funnel_and_wider_window(rows, window_h):
    df = log(with_all_steps(rows))
    for steps in (["view", "purchase"], ["cart", "view"]):
        got = funnel(df, steps, window=f"{window_h}h")
        assert_matches_reference(got, reference(df, steps, f"{window_h}h", "ordered"))
        wider = funnel(df, steps, window=f"{window_h + 5}h")
        assert (wider["users"].to_numpy() >= got["users"].to_numpy()).all()


@pytest.mark.parametrize("seed", [1, 2])
def test_many_random_users_against_reference(seed):
    """300 random users in one log; by = the user id makes each group one user's own funnel."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(300):
        for _ in range(rng.integers(3, 20)):
            event = rng.choice(["view", "cart", "purchase", "other"], p=[0.35, 0.3, 0.2, 0.15])
            rows.append((user, int(rng.integers(0, 12)), str(event), f"u{user:03d}"))
    df = log(rows, by=True)
    for order in ("ordered", "strict", "any"):
        window = "5h"
        ref = reference(df, STEPS, window, order, by="channel")
        assert_matches_reference(funnel(df, STEPS, window=window, order=order, by="channel"), ref, by="channel")
        total = reference(df, STEPS, window, order)
        assert_matches_reference(funnel(df, STEPS, window=window, order=order), total)


# --- hand-checked edge cases ----------------------------------------------------------------------


def users(df, **kwargs):
    return funnel(df, STEPS, **kwargs)["users"].tolist()


def test_same_timestamp_counts_as_in_order():
    df = log([(1, 0, "view"), (1, 0, "cart"), (1, 0, "purchase")])
    assert users(df) == [1, 1, 1]
    # listed in the "wrong" order in the table: ties are broken by step index, not by row order
    df = log([(1, 0, "purchase"), (1, 0, "cart"), (1, 0, "view")])
    assert users(df) == [1, 1, 1]


def test_window_is_inclusive_at_the_boundary():
    df = log([(1, 0, "view"), (1, 24, "cart"), (1, 48, "purchase")])
    assert users(df, window="2D") == [1, 1, 1]
    assert users(df, window=pd.Timedelta(hours=47, minutes=59, seconds=59, microseconds=999999)) == [1, 1, 0]
    assert users(df, window="1D") == [1, 1, 0]


def test_best_attempt_counts_and_times_come_from_that_attempt():
    # attempt 1 (h0) reaches cart only; attempt 2 (h100) goes all the way
    df = log([(1, 0, "view"), (1, 1, "cart"), (1, 100, "view"), (1, 103, "cart"), (1, 104, "purchase")])
    f = funnel(df, STEPS, window="7D")
    assert f["users"].tolist() == [1, 1, 1]
    assert f["median_time_from_previous"].tolist()[1:] == [pd.Timedelta(hours=3), pd.Timedelta(hours=1)]


def test_latest_step1_event_starts_the_attempt():
    # two views before the cart: the window runs from the later one
    df = log([(1, 0, "view"), (1, 170, "view"), (1, 171, "cart"), (1, 180, "purchase")])
    f = funnel(df, STEPS, window="7D")  # 168 h
    assert f["users"].tolist() == [1, 1, 1]
    assert f["median_time_from_previous"].iloc[1] == pd.Timedelta(hours=1)


def test_strict_forbids_other_steps_in_between_but_allows_repeats():
    back = log([(1, 0, "view"), (1, 1, "cart"), (1, 2, "view"), (1, 3, "purchase"), (1, 4, "other")])
    assert users(back, order="ordered") == [1, 1, 1]
    assert users(back, order="strict") == [1, 1, 0]
    repeats = log([(1, 0, "view"), (1, 1, "view"), (1, 2, "other"), (1, 3, "cart"), (1, 4, "cart"), (1, 5, "purchase")])
    assert users(repeats, order="strict") == [1, 1, 1]


def test_any_order():
    df = log([(1, 0, "view"), (1, 1, "purchase"), (1, 2, "cart")])
    assert users(df, order="ordered") == [1, 1, 0]
    f = funnel(df, STEPS, order="any")
    assert f["users"].tolist() == [1, 1, 1]
    # completion of {view, cart} at h2, of {view, cart, purchase} also at h2
    assert f["median_time_from_previous"].tolist()[1:] == [pd.Timedelta(hours=2), pd.Timedelta(0)]
    # but step 1 must come first
    before = log([(1, 0, "cart"), (1, 1, "view"), (1, 2, "purchase")])
    assert users(before, order="any") == [1, 0, 0]


def test_by_uses_the_group_of_the_counting_attempt_start():
    df = log(
        [(1, 0, "view", "mail"), (1, 200, "view", "ads"), (1, 201, "cart", "ads"),
         (2, 0, "view", "mail"), (2, 1, "other", "ads"),
         (3, 5, "purchase", "web")],  # no step 1: not in the funnel, and no "web" group
        by=True,
    )
    f = funnel(df, STEPS, by="channel")
    assert f["channel"].tolist() == ["ads"] * 3 + ["mail"] * 3
    assert f["users"].tolist() == [1, 1, 0, 1, 0, 0]
    assert f.loc[5, "note"] == "no users at the previous step"
    assert np.isnan(f.loc[5, "conversion_from_previous"])


def test_output_columns_and_conversions():
    df = log([(1, 0, "view"), (1, 1, "cart"), (2, 0, "view"), (3, 0, "view"), (3, 2, "cart"), (3, 3, "purchase"),
              (4, 0, "view")])
    f = funnel(df, STEPS)
    assert list(f.columns) == [
        "step_index", "step", "users", "conversion_from_start", "conversion_from_previous", "drop_off",
        "median_time_from_previous", "p90_time_from_previous", "note",
    ]
    assert f["users"].tolist() == [4, 2, 1]
    assert f["conversion_from_start"].tolist() == [1.0, 0.5, 0.25]
    assert f["conversion_from_previous"].tolist() == [1.0, 0.5, 0.5]
    assert f["drop_off"].tolist() == [0, 2, 1]
    assert pd.isna(f.loc[0, "median_time_from_previous"])
    assert f.loc[1, "median_time_from_previous"] == pd.Timedelta(hours=1.5)
    assert f.loc[1, "p90_time_from_previous"] == pd.Timedelta(hours=1.9)


def test_parquet_path_and_renamed_columns(tmp_path):
    df = log([(1, 0, "view"), (1, 1, "cart"), (2, 0, "view")]).rename(
        columns={"user_id": "uid", "timestamp": "ts", "event": "name"}
    )
    path = tmp_path / "events.parquet"
    df.to_parquet(path)
    f = funnel(str(path), ["view", "cart"], customer_col="uid", date_col="ts", event_col="name")
    assert f["users"].tolist() == [2, 1]


# --- bad input: exact messages --------------------------------------------------------------------

LOG = log([(1, 0, "view"), (1, 1, "cart"), (1, 2, "purchase")])


def test_unknown_step_name():
    with pytest.raises(DataError, match=exact(
        "step(s) ['purchse'] never occur in column 'event' (event_col); it has events 'cart', "
        "'purchase', 'view'. Did you mean 'purchse' → 'purchase'? Pass steps= event names as they "
        "appear in the data."
    )):
        funnel(LOG, ["view", "cart", "purchse"])


def test_window_that_does_not_parse():
    with pytest.raises(DataError, match=exact(
        "window='a week' is not a positive duration. Pass a string such as '7D', '90D', '2W' or "
        "'12h', or a pandas.Timedelta (months and years vary in length; use days)."
    )):
        funnel(LOG, STEPS, window="a week")


def test_missing_column():
    with pytest.raises(DataError, match=exact(
        "column 'user' (customer_col) not found in events; it has columns 'user_id', 'timestamp', "
        "'event'. Did you mean 'user_id'? Pass customer_col= the name of the column that holds the "
        "user id."
    )):
        funnel(LOG, STEPS, customer_col="user")


def test_fewer_than_two_steps():
    with pytest.raises(DataError, match=exact(
        "steps=['view'] has 1 step(s); a funnel needs at least 2. Pass the event names in order, "
        "e.g. steps=['view', 'cart', 'purchase']."
    )):
        funnel(LOG, ["view"])


def test_steps_as_a_string():
    with pytest.raises(DataError, match=exact(
        "steps='view' is not a list of event names. Pass the funnel's event names in order, e.g. "
        "steps=['view', 'cart', 'purchase']."
    )):
        funnel(LOG, "view")


def test_duplicate_steps():
    with pytest.raises(DataError, match=exact(
        "steps=['view', 'cart', 'view'] lists ['view'] more than once; each step must be a "
        "different event name."
    )):
        funnel(LOG, ["view", "cart", "view"])


def test_bad_order():
    with pytest.raises(DataError, match=exact(
        "order='sequential' is not a funnel order. Pass order='ordered' (steps in order, other "
        "events allowed between), 'strict' (no other step between) or 'any' (any order)."
    )):
        funnel(LOG, STEPS, order="sequential")


def test_time_column_not_dates():
    bad = LOG.assign(timestamp=["2024-01-01", "soon", "2024-01-02"])
    with pytest.raises(DataError, match=r"^column 'timestamp' \(date_col\) must hold dates"):
        funnel(bad, STEPS)


# --- funnel_from_counts ---------------------------------------------------------------------------


def test_funnel_from_counts_ctr_example():
    # CTR = clicks / impressions: 100 / 8,000 = 1.25 % (shared/DOMAIN.md)
    f = funnel_from_counts({"impressions": 8000, "clicks": 100, "purchase": 4})
    assert f["conversion_from_previous"].tolist() == [1.0, 0.0125, 0.04]
    assert f["drop_off"].tolist() == [0, 7900, 96]
    assert f["step_index"].tolist() == [1, 2, 3]


def test_funnel_from_counts_inputs_agree():
    mapping = {"a": 10, "b": 4, "c": 0, "d": 0}
    frame = pd.DataFrame({"stage": list(mapping), "n": list(mapping.values())})
    expected = funnel_from_counts(mapping)
    pd.testing.assert_frame_equal(funnel_from_counts(pd.Series(mapping)), expected)
    pd.testing.assert_frame_equal(funnel_from_counts(frame, step_col="stage", count_col="n"), expected)
    assert np.isnan(expected.loc[3, "conversion_from_previous"])
    assert expected.loc[3, "note"] == "no users at the previous step"
    assert expected["users"].tolist() == [10, 4, 0, 0]


def test_funnel_from_counts_equals_event_funnel_layout():
    df = log([(1, 0, "view"), (1, 1, "cart"), (2, 0, "view")])
    from_log = funnel(df, ["view", "cart"])
    from_counts = funnel_from_counts({"view": 2, "cart": 1})
    pd.testing.assert_frame_equal(
        from_log.drop(columns=["median_time_from_previous", "p90_time_from_previous"]), from_counts
    )


def test_funnel_from_counts_errors():
    with pytest.raises(DataError, match=exact(
        "step 'clicks' has 120, more than the previous step 'impressions' (100); a funnel's counts "
        "cannot grow. Check the order of the steps."
    )):
        funnel_from_counts({"impressions": 100, "clicks": 120})
    with pytest.raises(DataError, match=exact(
        "funnel counts must be whole numbers >= 0, but step 'b' has -1. Fix or drop that step."
    )):
        funnel_from_counts({"a": 3, "b": -1})
    with pytest.raises(DataError, match=exact(
        "column 'users' (count_col) not found in the counts table; it has columns 'step', 'n'. "
        "Pass count_col= the name of the column that holds the counts."
    )):
        funnel_from_counts(pd.DataFrame({"step": ["a"], "n": [1]}))
    with pytest.raises(DataError, match=exact(
        "mapping_or_frame has type list; pass a dict {step: count}, a pandas Series indexed by "
        "step, or a DataFrame with step and count columns."
    )):
        funnel_from_counts([1, 2])


# --- plot -----------------------------------------------------------------------------------------


def test_plot_funnel_bars_and_labels_match_table():
    import matplotlib.pyplot as plt

    import cohortkit as ck

    table = funnel_from_counts({"impressions": 8000, "clicks": 100, "purchase": 4})
    fig, ax = plt.subplots()
    out = ck.plot.funnel(table, ax=ax)
    assert out is ax
    assert [p.get_width() for p in ax.patches] == table["users"].tolist()
    # step 1 at the top: bar centres increase downwards in the inverted categorical axis
    assert [t.get_text() for t in ax.yaxis.get_ticklabels()] == ["impressions", "clicks", "purchase"]
    assert [t.get_text() for t in ax.texts] == ["8,000 (100.0%)", "100 (1.25%)", "4 (0.05%)"]


def test_plot_funnel_by_group():
    import cohortkit as ck

    df = log([(1, 0, "view", "ads"), (1, 1, "cart", "ads"), (2, 0, "view", "mail"), (3, 0, "view", "mail"),
              (3, 1, "purchase", "mail")], by=True)
    table = funnel(df, STEPS, by="channel")
    ax = ck.plot.funnel(table)
    widths = sorted(p.get_width() for p in ax.patches if p.get_width() > 0)
    assert widths == sorted(u for u in table["users"].tolist() if u > 0)
    assert "1 (100.0%)" in [t.get_text() for t in ax.texts]
    assert "2 (100.0%)" in [t.get_text() for t in ax.texts]


# --- the name cohortkit.funnel is the function; the module path cohortkit.funnel is an alias -------


def test_ck_funnel_is_the_plain_function_whatever_was_imported_first():
    import subprocess
    import sys

    code = (
        "import inspect, cohortkit as ck, cohortkit.funnel\n"
        "from cohortkit.funnel import funnel, funnel_from_counts\n"
        "import cohortkit.funnels as room\n"
        "assert inspect.isfunction(ck.funnel) and ck.funnel is funnel is room.funnel\n"
        "assert ck.funnel_from_counts is funnel_from_counts is room.funnel_from_counts\n"
        "assert not callable(sys.modules['cohortkit.funnel'])\n"
        "assert type(sys.modules['cohortkit.funnel']) is type(room)\n"
        "print(ck.funnel_from_counts({'a': 2, 'b': 1})['users'].tolist())\n"
    )
    done = subprocess.run([sys.executable, "-c", "import sys\n" + code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[2, 1]"
