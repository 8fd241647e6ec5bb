"""Workshop checks added for notebooks 04 and 05: budget shift, lead score, stage conversion, repeat-rate lift.

Each expected value is compared with an independent computation: a brute-force count of the scored
events, the library's own what-if (``reallocate`` with a plan, ``kpi_tree``, ``lead_funnel``), and
hand-worked numbers.
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cohortkit import workshop as w
from cohortkit.value import kpi_tree, lead_funnel, lead_scores, reallocate


def test_registered():
    names = set(w.exercises()["name"])
    assert {"budget_shift", "lead_score", "stage_conversion", "repeat_rate_lift"} <= names
    for name in ("check_budget_shift", "check_lead_score", "check_stage_conversion", "check_repeat_rate_lift"):
        assert name in w.__all__


def test_budget_shift_messages(capsys):
    assert w.check_budget_shift(2_000_000, moved=1_000_000, roas_from=2.2, roas_to=4.2, lang="en")
    assert capsys.readouterr().out == "✅ Correct! value change of the budget move = 2,000,000.\n"
    assert not w.check_budget_shift(4_200_000, moved=1_000_000, roas_from=2.2, roas_to=4.2, lang="en")
    assert capsys.readouterr().out == (
        "❌ Not quite (your answer: 4,200,000). Hint: that is only what the moved budget earns in its new "
        "campaign; subtract what it earned before (moved × LTV-ROAS of the giving campaign).\n"
    )
    assert not w.check_budget_shift(-2_000_000, moved=1_000_000, roas_from=2.2, roas_to=4.2, lang="en")
    assert capsys.readouterr().out.endswith("Hint: the sign is reversed: receiving minus giving.\n")


@given(
    spend_a=st.floats(1_000, 1e7), spend_b=st.floats(1_000, 1e7), share=st.floats(0.0, 1.0),
    roas_a=st.floats(0.1, 20), roas_b=st.floats(0.1, 20),
)
def test_budget_shift_matches_reallocate_plan(spend_a, spend_b, share, roas_a, roas_b):
    table = pd.DataFrame({"campaign": ["a", "b"], "spend": [spend_a, spend_b], "ltv_roas": [roas_a, roas_b]})
    moved = share * spend_a
    plan = reallocate(table, plan={"a": spend_a - moved, "b": spend_b + moved})
    expected = w.check_budget_shift.expected(moved=moved, roas_from=roas_a, roas_to=roas_b)
    assert expected == pytest.approx(plan.attrs["value_change"], rel=1e-9, abs=1e-6)


@given(views=st.integers(0, 30), seminars=st.integers(0, 5), documents=st.integers(0, 5))
def test_lead_score_matches_lead_scores(views, seminars, documents):
    events = ["product_page_view"] * views + ["seminar"] * seminars + ["document_request"] * documents
    if not events:
        events = ["newsletter_open"]  # scores 0
    log = pd.DataFrame({"lead_id": "L1", "event": events,
                        "timestamp": pd.date_range("2024-01-01", periods=len(events), freq="h")})
    score = float(lead_scores(log)["score"].iloc[0])
    assert w.check_lead_score.expected(page_views=views, seminars=seminars, document_requests=documents) == score


def test_lead_score_messages(capsys):
    assert w.check_lead_score(80, page_views=3, seminars=1, document_requests=1, lang="en")
    assert capsys.readouterr().out == "✅ Correct! lead score = 80.\n"
    assert not w.check_lead_score(60, page_views=3, seminars=1, document_requests=1, lang="ja")
    assert capsys.readouterr().out == (
        "❌ 不正解です（あなたの答え: 60）。ヒント: 種類ごとに1回ではなく、すべての行動を数えます。"
        "点数に回数を掛けてください。\n"
    )
    # custom points: 2 views at 5 + 0 seminars + 1 request at 40 = 50
    assert w.check_lead_score(50, page_views=2, seminars=0, document_requests=1, view_points=5,
                              document_points=40, lang="en")


def test_stage_conversion_matches_lead_funnel(capsys):
    log = pd.DataFrame({
        "lead_id": ["a", "a", "a", "b", "b", "c", "c", "d"],
        "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-05", "2024-01-01", "2024-01-03",
                                     "2024-01-02", "2024-01-04", "2024-01-02"]),
        "event": ["document_request", "seminar", "sql", "document_request", "seminar",
                  "document_request", "seminar", "seminar"],
    })
    funnel = lead_funnel(lead_scores(log)).set_index("stage")
    mql, sql = int(funnel.loc["mql", "leads"]), int(funnel.loc["sql", "leads"])
    assert (mql, sql) == (3, 1)
    assert w.check_stage_conversion(funnel.loc["sql", "conversion"], reached=sql, previous=mql, lang="en")
    assert capsys.readouterr().out == "✅ Correct! stage conversion = 0.333333 (33.33 %).\n"
    assert not w.check_stage_conversion(3, reached=sql, previous=mql, lang="en")
    assert capsys.readouterr().out == (
        "❌ Not quite (your answer: 3). Hint: you divided the other way round: reached / previous.\n"
    )
    assert not w.check_stage_conversion(33.3333, reached=sql, previous=mql, lang="en")
    assert "as a fraction" in capsys.readouterr().out


@given(repeat=st.floats(0.01, 2.0), change=st.floats(0.01, 0.5))
def test_repeat_rate_lift_matches_kpi_tree(repeat, change):
    tree = kpi_tree({"revenue": "customers * order_value * (1 + repeat_rate)"},
                    {"customers": 1000, "order_value": 5000, "repeat_rate": repeat}, change=change)
    up = float(tree.set_index("node").loc["repeat_rate", "kgi_change_up"])
    assert w.check_repeat_rate_lift.expected(repeat_rate=repeat, change=change) == pytest.approx(up, rel=1e-9)


def test_repeat_rate_lift_messages(capsys):
    # 0.20 -> 0.22: revenue 1.22 / 1.20 - 1 = 1.667 %
    assert w.check_repeat_rate_lift(1 / 60, repeat_rate=0.2, lang="en")
    assert capsys.readouterr().out == "✅ Correct! revenue change from the repeat rate = 0.0166667 (1.667 %).\n"
    assert not w.check_repeat_rate_lift(0.1, repeat_rate=0.2, lang="en")
    assert capsys.readouterr().out == (
        "❌ Not quite (your answer: 0.1). Hint: the repeat rate enters as (1 + repeat_rate), not as a factor: "
        "+10 % of it moves revenue by less than 10 %.\n"
    )
