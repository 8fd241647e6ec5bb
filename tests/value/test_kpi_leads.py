"""cohortkit.value: KPI trees, lead scoring and the value plots (values read back from the Axes)."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

from helpers import exact
import cohortkit as ck
from cohortkit import DataError
from cohortkit.value import kpi_tree, lead_funnel, lead_scores
from helpers import exact


# --- KPI tree ---------------------------------------------------------------------------------------

TREE = {
    "revenue": "customers * order_value * (1 + repeat_rate) - refunds",
    "customers": "sessions * cvr * close_rate",
}
VALUES = {"sessions": 80_000, "cvr": 0.03, "close_rate": 0.4, "order_value": 6000, "repeat_rate": 0.3,
          "refunds": 150_000}


def _revenue(sessions, cvr, close_rate, order_value, repeat_rate, refunds):
    """The same tree written by hand, independent of the formula parser."""
    return sessions * cvr * close_rate * order_value * (1 + repeat_rate) - refunds


def test_kpi_tree_values_and_sensitivities_match_finite_differences():
    t = kpi_tree(TREE, VALUES, change=0.1).set_index("node")
    base = _revenue(**VALUES)
    assert t.loc["revenue", "value"] == pytest.approx(base)
    assert t.loc["customers", "value"] == pytest.approx(80_000 * 0.03 * 0.4)
    assert t.loc["revenue", "role"] == "KGI" and t.loc["customers", "role"] == "KSF"
    assert t.loc["sessions", "role"] == "KPI" and t.loc["sessions", "parent"] == "customers"
    for leaf, x in VALUES.items():
        up = _revenue(**{**VALUES, leaf: x * 1.1})
        down = _revenue(**{**VALUES, leaf: x * 0.9})
        assert t.loc[leaf, "kgi_if_up"] == pytest.approx(up, rel=1e-12)
        assert t.loc[leaf, "kgi_if_down"] == pytest.approx(down, rel=1e-12)
        h = 1e-6 * x
        deriv = (_revenue(**{**VALUES, leaf: x + h}) - _revenue(**{**VALUES, leaf: x - h})) / (2 * h)
        assert t.loc[leaf, "elasticity"] == pytest.approx(deriv * x / base, rel=1e-6)
    # a KSF moved with its inputs held: customers x 1.1
    ksf_up = 960 * 1.1 * 6000 * 1.3 - 150_000
    assert t.loc["customers", "kgi_if_up"] == pytest.approx(ksf_up)
    # the multiplicative drivers tie and are ranked by name; repeat_rate moves revenue less, refunds least
    ties = ["close_rate", "customers", "cvr", "order_value", "sessions"]
    assert t.loc[ties, "impact_rank"].tolist() == [1, 2, 3, 4, 5]
    assert t.loc["repeat_rate", "impact_rank"] == 6
    assert t.loc["refunds", "impact_rank"] == len(t) - 1


def test_kpi_tree_ties_are_broken_by_name_not_by_float_noise():
    # 0.1 * 3 and 0.3 differ in the last bit: the +10 % moves of the factors differ by float noise only
    tree = {"kgi": "a * b * c * d"}
    for values in ({"a": 0.1 * 3, "b": 0.3, "c": 7.0, "d": 1 / 3}, {"d": 0.3, "c": 1 / 3, "b": 7.0, "a": 0.1 * 3}):
        t = kpi_tree(tree, values).set_index("node")
        raw = (t["kgi_if_up"] - t.attrs["kgi_value"]).abs().drop("kgi")
        assert raw.nunique() > 1  # the noise is there ...
        assert t["impact_rank"].drop("kgi").to_dict() == {"a": 1, "b": 2, "c": 3, "d": 4}  # ... and ignored
        assert pd.isna(t.loc["kgi", "impact_rank"])
    # a real difference still decides before the name
    t = kpi_tree({"kgi": "a * b + z"}, {"a": 2.0, "b": 3.0, "z": 1.0}).set_index("node")
    assert t["impact_rank"].drop("kgi").to_dict() == {"a": 1, "b": 2, "z": 3}


def test_kpi_tree_japanese_names_and_errors():
    t = kpi_tree({"売上": "客数 * 客単価"}, {"客数": 100, "客単価": 5000})
    assert t.attrs["kgi"] == "売上" and t.attrs["kgi_value"] == 500_000
    with pytest.raises(DataError, match=exact(
        "values has no value for 'cvr'; every leaf needs one (leaves: ['sessions', 'cvr'])."
    )):
        kpi_tree({"orders": "sessions * cvr"}, {"sessions": 10})
    with pytest.raises(DataError, match=exact(
        "tree['orders'] = 'sessions * log(cvr)' uses Call; formulas may only use names, numbers, "
        "+ - * / ** and parentheses."
    )):
        kpi_tree({"orders": "sessions * log(cvr)"}, {"sessions": 10, "cvr": 0.1})
    with pytest.raises(DataError, match=exact("tree has a cycle: a -> b -> a. A node cannot depend on itself.")):
        kpi_tree({"top": "a + 1", "a": "b * 2", "b": "a / 2"}, {}, kgi="top")
    with pytest.raises(DataError, match=exact(
        "values gives 'orders', which tree computes from a formula. Give values only for the leaves "
        "(the names that have no formula), or remove its formula."
    )):
        kpi_tree({"revenue": "orders * aov", "orders": "sessions * cvr"},
                 {"orders": 5, "aov": 1, "sessions": 1, "cvr": 1})


# --- lead scoring -----------------------------------------------------------------------------------


def _brute_leads(ev, points, threshold, stages):
    rows = []
    for lead, g in ev.groupby("lead_id", sort=True):
        g = g.sort_values(["timestamp", "event"], kind="stable")
        score, mql_at = 0.0, pd.NaT
        for r in g.itertuples():
            score += points.get(r.event, 0.0)
            if pd.isna(mql_at) and score >= threshold:
                mql_at = r.timestamp
        row = {"lead_id": lead, "score": score, "mql_at": mql_at, "first_seen": g["timestamp"].min()}
        prev = mql_at
        for s in stages:
            hits = g.loc[(g["event"] == s) & (g["timestamp"] >= prev), "timestamp"] if pd.notna(prev) else []
            prev = min(hits) if len(hits) else pd.NaT
            row[f"{s}_at"] = prev
        rows.append(row)
    return pd.DataFrame(rows)


def _random_log(seed, n_leads=30, n_events=200):
    rng = np.random.default_rng(seed)
    names = ["product_page_view", "seminar", "document_request", "email_open", "sql", "deal", "unsubscribe"]
    return pd.DataFrame({
        "lead_id": rng.choice([f"L{i:03d}" for i in range(n_leads)], n_events),
        # hours on a coarse grid so that ties happen
        "timestamp": pd.Timestamp("2024-04-01") + pd.to_timedelta(rng.integers(0, 400, n_events) * 6, unit="h"),
        "event": rng.choice(names, n_events, p=[0.35, 0.1, 0.1, 0.2, 0.1, 0.05, 0.1]),
    })


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lead_scores_match_brute_force(seed):
    ev = _random_log(seed)
    points = {"product_page_view": 10, "seminar": 20, "document_request": 30, "unsubscribe": -15}
    got = lead_scores(ev, points=points, threshold=60)
    ref = _brute_leads(ev, points, 60, ["sql", "deal"])
    assert got["lead_id"].tolist() == ref["lead_id"].tolist()
    assert got["score"].tolist() == pytest.approx(ref["score"].tolist())
    for col in ("first_seen", "mql_at", "sql_at", "deal_at"):
        pd.testing.assert_series_equal(got[col], ref[col].astype("datetime64[ns]"), check_names=False)
    assert (got["mql"] == ref["mql_at"].notna()).all()
    assert got["n_events"].sum() == len(ev)


def test_lead_funnel_conversion_and_time_match_scores():
    ev = _random_log(3, n_leads=40, n_events=300)
    s = lead_scores(ev, threshold=40)
    f = lead_funnel(s, time_unit="D").set_index("stage")
    assert f.index.tolist() == ["lead", "mql", "sql", "deal"]
    assert f.loc["lead", "leads"] == s["lead_id"].nunique()
    assert f.loc["mql", "leads"] == s["mql"].sum()
    assert f.loc["sql", "conversion"] == pytest.approx(s["sql"].sum() / s["mql"].sum())
    gap = (s.loc[s["sql"], "sql_at"] - s.loc[s["sql"], "mql_at"]).dt.total_seconds() / 86400
    assert f.loc["sql", "median_time"] == pytest.approx(gap.median())
    weeks = lead_funnel(s, time_unit="W").set_index("stage")
    assert weeks.loc["sql", "mean_time"] == pytest.approx(gap.mean() / 7)
    # conversion interval brackets the point estimate
    assert f.loc["sql", "conversion_lower"] <= f.loc["sql", "conversion"] <= f.loc["sql", "conversion_upper"]


def test_lead_scores_custom_stages_and_errors():
    ev = pd.DataFrame({"lead_id": ["a", "a", "a"], "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
                       "event": ["document_request", "opportunity", "won"]})
    s = lead_scores(ev, points={"document_request": 30}, threshold=30, stages=["opportunity", "won"])
    assert s.attrs["stages"] == ["lead", "mql", "opportunity", "won"]
    assert bool(s.loc[0, "won"]) and s.loc[0, "won_at"] == pd.Timestamp("2024-01-03")
    with pytest.raises(DataError, match=exact(
        "column 'lead' (customer_col) not found in events; it has columns 'lead_id', 'timestamp', 'event'. "
        "Did you mean 'lead_id'? Pass customer_col= the name of the column that holds the lead id."
    )):
        lead_scores(ev, customer_col="lead")
    with pytest.raises(DataError, match=exact("points['seminar'] must be a finite number, got 'x'.")):
        lead_scores(ev, points={"seminar": "x"})


# --- plots -------------------------------------------------------------------------------------------


def _value_table():
    return pd.DataFrame({"campaign": ["banner", "search", "line"], "ctr": [0.045, 0.02, 0.018],
                         "ltv_roas": [0.9, 2.4, 3.1], "spend": [300.0, 150.0, 60.0]})


def test_value_quadrant_points_and_labels():
    t = _value_table()
    ax = ck.plot.value_quadrant(t)
    offsets = ax.collections[0].get_offsets()
    np.testing.assert_allclose(offsets[:, 0], t["ctr"])
    np.testing.assert_allclose(offsets[:, 1], t["ltv_roas"])
    sizes = ax.collections[0].get_sizes()
    assert sizes.argmax() == 0 and sizes[0] == pytest.approx(600)
    assert [x.get_text() for x in ax.texts] == t["campaign"].tolist()
    medians = [line.get_xdata()[0] for line in ax.lines if line.get_linestyle() == "--"]
    assert medians[0] == pytest.approx(0.02)


def test_rank_slope_lines_are_the_ranks():
    t = _value_table()
    ax = ck.plot.rank_slope(t)
    lines = {tuple(float(v) for v in line.get_ydata()) for line in ax.lines}
    assert lines == {(1.0, 3.0), (2.0, 2.0), (3.0, 1.0)}


def test_tornado_bars_match_the_tree():
    t = kpi_tree(TREE, VALUES)
    ax = ck.plot.tornado(t, roles=("KPI",))
    labels = [x.get_text() for x in ax.get_yticklabels()]
    by = t.set_index("node")
    for patch, name in zip(ax.patches, labels):
        lo = min(by.loc[name, "kgi_if_up"], by.loc[name, "kgi_if_down"])
        assert patch.get_x() == pytest.approx(lo)
        assert patch.get_width() == pytest.approx(abs(by.loc[name, "kgi_if_up"] - by.loc[name, "kgi_if_down"]))
    assert labels[0] == "refunds"  # narrowest at the bottom
    widths = [p.get_width() for p in ax.patches]
    assert widths == sorted(widths)


def test_lead_funnel_plot_bars_and_labels():
    s = lead_scores(_random_log(4), threshold=30)
    f = lead_funnel(s)
    ax = ck.plot.lead_funnel(f)
    assert [p.get_width() for p in ax.patches] == pytest.approx(f["leads"].astype(float).tolist())
    first = ax.texts[0].get_text()
    assert first.startswith(f"{f.loc[1, 'conversion']:.1%}")
