"""Funnels: funnel_from_counts, and funnel() against a brute-force pure-Python reference."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cohortkit import DataError
from cohortkit.funnels import funnel, funnel_dropoffs, funnel_from_counts, funnel_paths
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


def reference_chosen(df, steps, window, order, by=None, exclude=()):
    """Per user: (user, group, times C_1..C_depth) of the counting attempt, rules as documented."""
    n = len(steps)
    index = {s: i + 1 for i, s in enumerate(steps)}
    w = int(pd.Timedelta(window) // pd.Timedelta(microseconds=1))
    users: dict = {}
    excluded: dict = {}
    for row in df.itertuples(index=False):
        us = int((row.timestamp - pd.Timestamp("1970-01-01")) // pd.Timedelta(microseconds=1))
        if row.event in exclude:
            excluded.setdefault(row.user_id, []).append(us)
        if row.event not in index:
            continue
        group = getattr(row, by) if by else 0
        users.setdefault(row.user_id, []).append((us, index[row.event], group))
    chosen = []
    for user, evs in users.items():
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
            # exclusion: step k >= 2 counts only if no excluded event x with s <= x <= C_k
            cut = [x for x in excluded.get(user, []) if x >= s]
            if cut:
                first_x = min(cut)
                times = [times[0]] + [c for c in times[1:] if c < first_x]
            attempts.append((-len(times), times[-1], -s, group, times))
        if attempts:
            best = min(attempts, key=lambda a: a[:4])
            chosen.append((user, best[3], best[4]))
    return chosen


def reference(df, steps, window, order, by=None, exclude=()):
    """Follows the rules in the cohortkit.funnels module docstring literally."""
    n = len(steps)
    chosen = [(g, times) for _, g, times in reference_chosen(df, steps, window, order, by, exclude)]
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


# --- exclusion steps --------------------------------------------------------------------------------

exclusion_strategy = st.lists(
    st.tuples(
        st.integers(0, 2),  # user
        st.integers(0, 12),  # hour: ties between steps and exclusions, exact-window cases
        st.sampled_from(["view", "cart", "purchase", "refund", "other"]),
        st.sampled_from(["ads", "mail"]),
    ),
    min_size=5,
    max_size=40,
)


def with_refund(rows):
    return with_all_steps(rows) + [(9, 600, "refund", "ads")]


@settings(max_examples=20)
@given(rows=exclusion_strategy, window_h=st.integers(1, 8), use_by=st.booleans())
def test_exclusion_equals_brute_force_reference(rows, window_h, use_by):
    df = log(with_refund(rows), by=True)
    by = "channel" if use_by else None
    window = f"{window_h}h"
    for order in ("ordered", "strict", "any"):
        got = funnel(df, STEPS, window=window, order=order, by=by, exclude=["refund"])
        ref = reference(df, STEPS, window, order, by=by, exclude=("refund",))
        assert_matches_reference(got, ref, by=by)
        # an exclusion can only remove users from the later steps
        plain = funnel(df, STEPS, window=window, order=order, by=by)
        if by is None:
            assert got["users"].iloc[0] == plain["users"].iloc[0]
            assert (got["users"].to_numpy() <= plain["users"].to_numpy()).all()


@pytest.mark.parametrize("seed", [3, 4])
def test_exclusion_many_random_users_against_reference(seed):
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(300):
        for _ in range(rng.integers(3, 20)):
            event = rng.choice(["view", "cart", "purchase", "refund", "other"], p=[0.3, 0.3, 0.2, 0.1, 0.1])
            rows.append((user, int(rng.integers(0, 12)), str(event), f"u{user:03d}"))
    df = log(rows, by=True)
    for order in ("ordered", "strict", "any"):
        ref = reference(df, STEPS, "5h", order, exclude=("refund",))
        assert_matches_reference(funnel(df, STEPS, window="5h", order=order, exclude=["refund"]), ref)


def test_exclusion_cuts_the_attempt_at_the_excluded_event_ties_included():
    def first_user(rows, **kwargs):
        # user 9 (far away) makes every name occur; the counts below are user 1's
        got = users(log(with_refund(rows)), exclude=["refund"], **kwargs)
        return [u - 1 for u in got]

    assert first_user([(1, 0, "view"), (1, 1, "cart"), (1, 2, "refund"), (1, 3, "purchase")]) == [1, 1, 0]
    # an excluded event at the same time as the step cuts it (both ends of [start, C_k] included)
    assert first_user([(1, 0, "view"), (1, 1, "refund"), (1, 1, "cart")]) == [1, 0, 0]
    assert first_user([(1, 0, "refund"), (1, 0, "view"), (1, 1, "cart")]) == [1, 0, 0]
    # before the start it does not matter
    assert first_user([(1, 0, "refund"), (1, 1, "view"), (1, 2, "cart")]) == [1, 1, 0]
    # after the last step reached it does not matter either
    assert first_user([(1, 0, "view"), (1, 1, "cart"), (1, 2, "purchase"), (1, 3, "refund")]) == [1, 1, 1]
    assert first_user([(1, 0, "view"), (1, 1, "cart"), (1, 2, "purchase"), (1, 3, "refund")],
                      order="any") == [1, 1, 1]


def test_exclusion_a_new_attempt_after_the_excluded_event_counts():
    rows = [(1, 0, "view"), (1, 1, "refund"), (1, 2, "cart"), (1, 3, "view"), (1, 4, "cart"), (1, 5, "purchase")]
    f = funnel(log(rows), STEPS, exclude=["refund"])
    assert f["users"].tolist() == [1, 1, 1]
    assert f["median_time_from_previous"].tolist()[1:] == [pd.Timedelta(hours=1)] * 2
    # strict: the excluded event is not a step, so it does not break a strict run
    strict = [(1, 0, "view"), (1, 1, "refund"), (1, 2, "view"), (1, 3, "cart"), (1, 400, "purchase")]
    assert users(log(strict), order="strict", exclude=["refund"]) == [1, 1, 0]


def test_exclusion_errors():
    df = log([(1, 0, "view"), (1, 1, "cart"), (1, 2, "purchase"), (1, 3, "refund")])
    with pytest.raises(DataError, match=exact(
        "exclude event(s) ['refnd'] never occur in column 'event' (event_col); it has events 'cart', "
        "'purchase', 'refund', 'view'. Did you mean 'refnd' → 'refund'? Pass exclude= event names as "
        "they appear in the data."
    )):
        funnel(df, STEPS, exclude=["refnd"])
    with pytest.raises(DataError, match=exact(
        "exclude=['cart'] names ['cart'], which is also a step; an event cannot be both a step and an "
        "exclusion. Remove it from one of steps= and exclude=."
    )):
        funnel_dropoffs(df, STEPS, exclude=["cart"])
    with pytest.raises(DataError, match=exact(
        "exclude='refund' is not a list of event names. Pass the events that end an attempt, e.g. "
        "exclude=['refund_request']."
    )):
        funnel(df, STEPS, exclude="refund")


# --- drop-off lists ---------------------------------------------------------------------------------


def reference_dropoffs(df, steps, window, order, by=None, exclude=()):
    rows = []
    for user, group, times in reference_chosen(df, steps, window, order, by, exclude):
        if len(times) < len(steps):
            rows.append((group if by else 0, len(times), user, times[-1], times[0]))
    return sorted(rows, key=lambda r: r[:3])


def assert_dropoffs_match(got, df, steps, window, order, by=None, exclude=()):
    ref = reference_dropoffs(df, steps, window, order, by, exclude)
    assert len(got) == len(ref)
    epoch = pd.Timestamp("1970-01-01")
    to_us = lambda col: [int((t - epoch) // pd.Timedelta(microseconds=1)) for t in got[col]]  # noqa: E731
    assert got["user_id"].tolist() == [r[2] for r in ref]
    assert got["step_index"].tolist() == [r[1] for r in ref]
    assert got["step"].tolist() == [steps[r[1] - 1] for r in ref]
    assert got["next_step"].tolist() == [steps[r[1]] for r in ref]
    assert to_us("reached_at") == [r[3] for r in ref]
    assert to_us("started_at") == [r[4] for r in ref]
    if by:
        assert got[by].tolist() == [r[0] for r in ref]
    # the counts per step are funnel's drop-offs, per group
    f = funnel(df, steps, window=window, order=order, by=by, exclude=list(exclude) or None)
    keys = [by] if by else []
    counts = got.groupby(keys + ["step_index"]).size() if len(got) else pd.Series(dtype="int64")
    for row in f.itertuples(index=False):
        if row.step_index == len(steps):
            continue
        key = (getattr(row, by), row.step_index) if by else row.step_index
        nxt = f[(f["step_index"] == row.step_index + 1) & ((f[by] == getattr(row, by)) if by else True)]
        assert int(counts.get(key, 0)) == row.users - int(nxt["users"].iloc[0])


@settings(max_examples=20)
@given(rows=exclusion_strategy, window_h=st.integers(1, 8), use_by=st.booleans(), use_exclude=st.booleans())
def test_dropoffs_equal_brute_force_and_funnel_counts(rows, window_h, use_by, use_exclude):
    df = log(with_refund(rows), by=True)
    by = "channel" if use_by else None
    exclude = ("refund",) if use_exclude else ()
    for order in ("ordered", "strict", "any"):
        got = funnel_dropoffs(df, STEPS, window=f"{window_h}h", order=order, by=by,
                              exclude=list(exclude) or None)
        assert_dropoffs_match(got, df, STEPS, f"{window_h}h", order, by, exclude)


def test_dropoffs_layout_and_types():
    df = log([(1, 0, "view", "ads"), (1, 1, "cart", "ads"), (2, 0, "view", "mail"), (3, 0, "view", "ads"),
              (3, 1, "cart", "ads"), (3, 2, "purchase", "ads")], by=True)
    d = funnel_dropoffs(df, STEPS, by="channel")
    assert list(d.columns) == ["channel", "user_id", "step_index", "step", "next_step", "reached_at", "started_at"]
    assert d["user_id"].tolist() == [1, 2]  # integer ids stay integers
    assert str(d["user_id"].dtype) == "int64"
    assert d["channel"].tolist() == ["ads", "mail"]
    assert d["step"].tolist() == ["cart", "view"] and d["next_step"].tolist() == ["purchase", "cart"]
    assert str(d["reached_at"].dtype) == "datetime64[us]"
    assert d["reached_at"].tolist() == [T0 + pd.Timedelta(hours=1), T0]
    # nobody dropped off: an empty frame with the same columns
    done = funnel_dropoffs(log([(1, 0, "view"), (1, 1, "cart"), (1, 2, "purchase")]), STEPS)
    assert len(done) == 0 and list(done.columns) == list(d.columns)[1:]


def write_kinds(df, tmp_path):
    import ibis

    csv = tmp_path / "events.csv"
    df.to_csv(csv, index=False)
    parquet = tmp_path / "events.parquet"
    df.to_parquet(parquet)
    return {"frame": df, "csv": str(csv), "parquet": str(parquet), "memtable": ibis.memtable(df),
            "ibis_duckdb": ibis.duckdb.connect().read_parquet(str(parquet))}


def test_dropoffs_and_paths_same_frame_from_every_input_kind(tmp_path):
    rng = np.random.default_rng(7)
    rows = [(f"u{int(rng.integers(0, 40)):02d}", int(rng.integers(0, 30)),
             str(rng.choice(["view", "cart", "purchase", "refund", "help"])), str(rng.choice(["ads", "mail"])))
            for _ in range(300)]
    df = log(rows, by=True)
    kinds = write_kinds(df, tmp_path)
    calls = {
        "dropoffs": lambda data: funnel_dropoffs(data, STEPS, window="6h", by="channel", exclude=["refund"]),
        "paths": lambda data: funnel_paths(data, ["view", "purchase"], window="6h", by="channel", top=4),
        "funnel_excl": lambda data: funnel(data, STEPS, window="6h", order="any", exclude=["refund"]),
    }
    for name, call in calls.items():
        expected = call(kinds["frame"])
        assert len(expected) > 0, name
        for kind, data in kinds.items():
            pd.testing.assert_frame_equal(call(data), expected, obj=f"{name} from {kind}")


# --- paths between two steps -------------------------------------------------------------------------


def reference_paths(df, steps, window, by=None, top=10, max_events=5):
    """Literal rules of funnel_paths: one user at a time, every event in order."""
    a, b = steps
    w = int(pd.Timedelta(window) // pd.Timedelta(microseconds=1))
    users: dict = {}
    for row in df.itertuples(index=False):
        us = int((row.timestamp - pd.Timestamp("1970-01-01")) // pd.Timedelta(microseconds=1))
        key = 0 if row.event == a else 2 if row.event == b else 1
        users.setdefault(row.user_id, []).append((us, key, row.event, getattr(row, by) if by else 0))
    found = []  # (group, elements, duration)
    for evs in users.values():
        evs.sort(key=lambda e: e[:3])
        best = None  # the 2-step funnel's counting attempt: earliest completion, then latest start
        for i, ea in enumerate(evs):
            if ea[1] != 0:
                continue
            hit = next((eb for eb in evs[i + 1:] if eb[1] == 2), None)
            if hit is None or hit[0] - ea[0] > w:
                continue
            cand = (hit[0], -ea[0], ea[3], i, evs.index(hit))
            best = cand if best is None or cand[:3] < best[:3] else best
        if best is None:
            continue
        _, _, group, i, j = best
        # between: strictly after (t_a, 0) and strictly before (t_b, 2) in the (time, key, name) order
        t_a, t_b = evs[i][0], evs[j][0]
        middle = [e[2] for e in evs if (e[0], e[1]) > (t_a, 0) and (e[0], e[1]) < (t_b, 2)]
        elements = []
        for name in middle:
            if elements and elements[-1][0] == name:
                elements[-1][1] += 1
            else:
                elements.append([name, 1])
        labels = [n if c == 1 else f"{n}×{c}" for n, c in elements]
        found.append((group, labels, t_b - t_a))
    rows = []
    for group in sorted({g for g, _, _ in found}):
        mine = [(labels, d) for g, labels, d in found if g == group]
        paths: dict = {}
        for labels, d in mine:
            if len(labels) <= max_events:
                paths.setdefault(" → ".join([a, *labels, b]), []).append((len(labels), d))
        ranked = sorted(paths.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:top]
        for rank, (path, items) in enumerate(ranked, start=1):
            rows.append({"group": group, "rank": rank, "path": path, "events": items[0][0], "users": len(items),
                         "users_total": len(mine), "median_us": float(np.median([d for _, d in items]))})
    return pd.DataFrame(rows, columns=["group", "rank", "path", "events", "users", "users_total", "median_us"])


def assert_paths_match(got, ref, by=None):
    assert len(got) == len(ref)
    if by:
        assert got[by].tolist() == ref["group"].tolist()
    for col in ("rank", "path", "events", "users", "users_total"):
        assert got[col].tolist() == ref[col].tolist(), col
    np.testing.assert_allclose(got["share"].to_numpy(dtype=float),
                               ref["users"].to_numpy(dtype=float) / ref["users_total"].to_numpy(dtype=float))
    got_us = got["median_time"].to_numpy(dtype="timedelta64[ns]").astype("float64") / 1000.0
    np.testing.assert_allclose(got_us, ref["median_us"].to_numpy(dtype=float), rtol=0, atol=1e-3)


paths_strategy = st.lists(
    st.tuples(
        st.integers(0, 3),  # user
        st.integers(0, 10),  # hour: many ties
        st.sampled_from(["view", "purchase", "cart", "help", "cart", "view"]),
        st.sampled_from(["ads", "mail"]),
    ),
    min_size=5,
    max_size=40,
)


@settings(max_examples=25)
@given(rows=paths_strategy, window_h=st.integers(1, 8), use_by=st.booleans(), top=st.integers(1, 4),
       max_events=st.integers(1, 4))
def test_paths_equal_brute_force_reference(rows, window_h, use_by, top, max_events):
    df = log(with_all_steps(rows), by=True)
    by = "channel" if use_by else None
    steps = ["view", "purchase"]
    got = funnel_paths(df, steps, window=f"{window_h}h", by=by, top=top, max_events=max_events)
    assert_paths_match(got, reference_paths(df, steps, f"{window_h}h", by, top, max_events), by=by)
    # everyone in the paths is a user the 2-step funnel counts at the second step
    f = funnel(df, steps, window=f"{window_h}h", by=by)
    for total, reached in zip(got.groupby(by or (lambda _: 0))["users_total"].first(),
                              f[f["step_index"] == 2]["users"][f[f["step_index"] == 2]["users"] > 0]):
        assert total == reached


@pytest.mark.parametrize("seed", [5, 6])
def test_paths_many_random_users_against_reference(seed):
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(400):
        for _ in range(rng.integers(2, 15)):
            event = rng.choice(["view", "cart", "purchase", "help", "search"], p=[0.3, 0.25, 0.15, 0.15, 0.15])
            rows.append((user, int(rng.integers(0, 24)), str(event), str(rng.choice(["ads", "mail", "web"]))))
    df = log(rows, by=True)
    for by in (None, "channel"):
        got = funnel_paths(df, ["view", "purchase"], window="8h", by=by, top=6, max_events=3)
        assert_paths_match(got, reference_paths(df, ["view", "purchase"], "8h", by, 6, 3), by=by)


def test_paths_hand_checked():
    rows = [
        (1, 0, "view"), (1, 1, "help"), (1, 1, "help"), (1, 2, "help"), (1, 3, "cart"), (1, 4, "purchase"),
        # the latest view before the purchase starts the stretch; the earlier view is not in the path
        (2, 0, "view"), (2, 1, "cart"), (2, 2, "view"), (2, 3, "cart"), (2, 4, "purchase"),
        # ties: an event at the purchase's timestamp is between; the view at the same time comes first
        (3, 0, "view"), (3, 0, "cart"), (3, 5, "help"), (3, 5, "purchase"),
        # out of the window: not a converter
        (4, 0, "view"), (4, 30, "purchase"),
    ]
    p = funnel_paths(log(rows), ["view", "purchase"], window="1D")
    assert p["path"].tolist() == ["view → cart → help → purchase", "view → cart → purchase",
                                  "view → help×3 → cart → purchase"]
    assert p["events"].tolist() == [2, 1, 2]
    assert p["users"].tolist() == [1, 1, 1] and p["users_total"].tolist() == [3, 3, 3]
    assert p["median_time"].tolist() == [pd.Timedelta(hours=5), pd.Timedelta(hours=2), pd.Timedelta(hours=4)]
    short = funnel_paths(log(rows), ["view", "purchase"], window="1D", max_events=1, top=5)
    assert short["path"].tolist() == ["view → cart → purchase"]
    assert short["share"].tolist() == [1 / 3]


def test_paths_errors():
    df = log([(1, 0, "view"), (1, 1, "cart"), (1, 2, "purchase")])
    with pytest.raises(DataError, match=exact(
        "steps=['view', 'cart', 'purchase'] has 3 steps; paths run between two. Pass "
        "steps=[from_event, to_event], e.g. steps=['product_view', 'purchase']."
    )):
        funnel_paths(df, STEPS)
    with pytest.raises(DataError, match=exact("top=0 is not a whole number >= 1. Pass e.g. top=10.")):
        funnel_paths(df, ["view", "purchase"], top=0)
    with pytest.raises(DataError, match=exact(
        "max_events=2.5 is not a whole number >= 1. Pass e.g. max_events=10."
    )):
        funnel_paths(df, ["view", "purchase"], max_events=2.5)
    with pytest.raises(DataError, match=r"^step\(s\) \['purchse'\] never occur"):
        funnel_paths(df, ["view", "purchse"])


# --- the bundled shop -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shop_events():
    import cohortkit as ck

    return ck.datasets.load_shop().events


SHOP_STEPS = ["session_start", "product_view", "add_to_cart", "purchase"]


@pytest.mark.parametrize("order", ["ordered", "strict", "any"])
def test_shop_dropoffs_equal_funnel_drop_off(shop_events, order):
    for by, exclude in ((None, None), ("campaign", ["checkout"])):
        f = funnel(shop_events, SHOP_STEPS, window="7D", order=order, by=by, exclude=exclude)
        d = funnel_dropoffs(shop_events, SHOP_STEPS, window="7D", order=order, by=by, exclude=exclude)
        keys = [by] if by else []
        counts = d.groupby(keys + ["step_index"]).size()
        for key, part in f.groupby(by) if by else [(None, f)]:
            drops = part["drop_off"].tolist()[1:]  # drop-off at step k+1 = users who stopped at step k
            got = [int(counts.get((key, k) if by else k, 0)) for k in range(1, len(SHOP_STEPS))]
            assert got == drops, (key, order)
        assert d["user_id"].is_unique


def test_shop_paths_cover_the_funnels_buyers(shop_events):
    p = funnel_paths(shop_events, ["session_start", "purchase"], window="7D", by="campaign")
    f = funnel(shop_events, ["session_start", "purchase"], window="7D", by="campaign")
    totals = p.groupby("campaign")["users_total"].first()
    assert totals.tolist() == f[f["step_index"] == 2]["users"].tolist()
    top = p[p["rank"] == 1]
    assert (top["path"] == "session_start → product_view → add_to_cart → checkout → purchase").all()


# --- the paths plot ---------------------------------------------------------------------------------


def test_plot_funnel_paths_values_read_back():
    import matplotlib.pyplot as plt

    import cohortkit as ck

    rows = [(u, 0, "view") for u in range(5)] + [(u, 1, "cart") for u in range(3)] + \
        [(u, 2, "purchase") for u in range(5)]
    table = ck.funnel_paths(log(rows), ["view", "purchase"])
    fig, ax = plt.subplots()
    out = ck.plot.funnel_paths(table, ax=ax, color="tab:green")
    assert out is ax
    assert [p.get_width() for p in ax.patches] == [3, 2]
    assert [t.get_text() for t in ax.yaxis.get_ticklabels()] == ["view → cart → purchase", "view → purchase"]
    assert [t.get_text() for t in ax.texts] == ["3 (60.0%)", "2 (40.0%)"]


def test_plot_funnel_paths_by_group_with_a_path_missing_in_one_group():
    import cohortkit as ck

    rows = [(1, 0, "view", "ads"), (1, 1, "cart", "ads"), (1, 2, "purchase", "ads"),
            (2, 0, "view", "ads"), (2, 1, "cart", "ads"), (2, 2, "purchase", "ads"),
            (3, 0, "view", "mail"), (3, 2, "purchase", "mail")]
    table = ck.funnel_paths(log(rows, by=True), ["view", "purchase"], by="channel")
    ax = ck.plot.funnel_paths(table)
    widths = sorted(p.get_width() for p in ax.patches if p.get_width() > 0)
    assert widths == [1, 2]
    assert sorted(t.get_text() for t in ax.texts if t.get_text()) == ["1 (100.0%)", "2 (100.0%)"]
