"""Workshop checks (right/wrong answers, hints, languages) and the attendee / instructor build."""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict

import nbformat
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import cohortkit as ck
from cohortkit import DataError, workshop
from cohortkit.workshop import (
    attendee_version,
    build_workshop,
    check,
    check_allowable_cpa,
    check_cpa,
    check_cpc,
    check_ctr,
    check_cvr,
    check_ltv_cac,
    check_ltv_roas,
    check_nps,
    check_payback,
    check_repeat_rate,
    check_retention,
    check_roas,
    exercise,
    exercises,
)
from helpers import exact


@pytest.fixture(autouse=True)
def _english():
    saved = ck.style._STATE["lang"]
    ck.style._STATE["lang"] = "en"
    yield
    ck.style._STATE["lang"] = saved


def said(capsys) -> str:
    return capsys.readouterr().out.strip()


# --- the CTR exercise from shared/DOMAIN.md: 100 clicks on 8,000 impressions is 1.25 % -------------


def test_ctr_right_answer(capsys):
    assert check_ctr(100 / 8000, clicks=100, impressions=8000) is True
    assert said(capsys) == "✅ Correct! CTR = 0.0125 (1.25 %)."
    assert check_ctr.expected(clicks=100, impressions=8000) == 0.0125


@pytest.mark.parametrize("answer", [0.0125, 0.01251, "1.25%", "1.25 ％", "0.0125", np.float64(0.0125),
                                    np.array([0.0125]), pd.Series([0.0125])])
def test_ctr_accepts_equivalent_answers(answer, capsys):
    assert check_ctr(answer, clicks=100, impressions=8000)


def test_ctr_divided_the_wrong_way(capsys):
    assert check_ctr(8000 / 100, clicks=100, impressions=8000) is False
    assert said(capsys) == (
        "❌ Not quite (your answer: 80). Hint: you divided the other way round. CTR = clicks / impressions."
    )


def test_ctr_percent_instead_of_fraction(capsys):
    assert check_ctr(1.25, clicks=100, impressions=8000) is False
    assert said(capsys) == (
        "❌ Your answer looks like a percentage (1.25). Give the rate as a fraction, e.g. 0.0125 for 1.25 %."
    )


def test_ctr_plain_wrong_answer_gives_the_generic_hint(capsys):
    assert check_ctr(0.0135, clicks=100, impressions=8000) is False
    assert said(capsys) == "❌ Not quite (your answer: 0.0135). Hint: CTR = clicks / impressions, as a fraction."


@pytest.mark.parametrize("answer", [None, "abc", True, [1, 2], float("nan")])
def test_non_numbers_are_wrong_not_errors(answer, capsys):
    assert check_ctr(answer, clicks=100, impressions=8000) is False
    assert said(capsys).startswith("❌ Your answer is not a number")


def test_placeholder_reminds_to_fill_in(capsys):
    assert check_ctr(..., clicks=100, impressions=8000) is False
    assert said(capsys) == "✏️ Replace ... with your answer, then run the cell again."


def test_japanese_messages_follow_set_style(capsys):
    ck.style._STATE["lang"] = "ja"  # what set_style("ja") records
    assert check_ctr(0.0125, clicks=100, impressions=8000)
    assert said(capsys) == "✅ 正解です！ CTR（クリック率） = 0.0125 (1.25%)。"
    assert not check_ctr(80, clicks=100, impressions=8000)
    assert said(capsys) == "❌ 不正解です（あなたの答え: 80）。ヒント: 逆に割っています。CTR = クリック数 ÷ 表示回数 です。"
    assert check_ctr(0.0125, clicks=100, impressions=8000, lang="en")  # explicit lang wins
    assert said(capsys).startswith("✅ Correct!")


@given(clicks=st.integers(0, 10_000), extra=st.integers(1, 10_000_000))
def test_ctr_property_right_iff_close(clicks, extra):
    impressions = clicks + extra
    truth = clicks / impressions  # independent: the definition
    assert check_ctr(truth, clicks=clicks, impressions=impressions, lang="en")
    assert not check_ctr(truth * 1.02 + 1e-6, clicks=clicks, impressions=impressions, lang="en")


# --- the other ad and value metrics --------------------------------------------------------------


@pytest.mark.parametrize(
    ("fn", "inputs", "truth", "wrong"),
    [
        (check_cvr, dict(conversions=5, clicks=200), 0.025, 40),
        (check_cpc, dict(spend=50_000, clicks=1_000), 50, 0.02),
        (check_cpa, dict(spend=300_000, conversions=30), 10_000, 1e-4),
        (check_roas, dict(revenue=900_000, spend=300_000), 3.0, 1 / 3),
        (check_ltv_roas, dict(customers=30, ltv=40_000, spend=300_000), 4.0, 0.25),
        (check_ltv_cac, dict(ltv=40_000, cac=10_000), 4.0, 0.25),
        (check_allowable_cpa, dict(ltv=30_000, target_ratio=3), 10_000, 90_000),
        (check_payback, dict(cac=12_000, margin_per_period=2_000), 6, 1 / 6),
    ],
)
def test_value_metrics(fn, inputs, truth, wrong, capsys):
    assert fn(truth, **inputs, lang="en")
    assert said(capsys).startswith("✅")
    assert not fn(wrong, **inputs, lang="en")
    out = said(capsys)
    assert out.startswith("❌") and ("round" in out or "multiply" in out or "divide the LTV" in out), out


def test_allowable_cpa_default_target_ratio():
    assert check_allowable_cpa(10_000, ltv=30_000, lang="en")


# --- NPS: % promoters (9–10) − % detractors (0–6) ---------------------------------------------------


def nps_brute(scores):
    promoters = sum(1 for s in scores if s in (9, 10))
    detractors = sum(1 for s in scores if s <= 6)
    return 100 * (promoters - detractors) / len(scores)


def test_nps_worked_example(capsys):
    scores = [10, 9, 9, 8, 7, 7, 6, 5, 3, 10]  # 4 promoters, 3 passives, 3 detractors -> 40 - 30 = 10
    assert nps_brute(scores) == 10
    assert check_nps(10, scores=scores, lang="en")
    assert not check_nps(0.1, scores=scores, lang="en")  # a fraction, not points
    assert "in points" in said(capsys).splitlines()[-1]
    assert not check_nps(70 - 30, scores=scores, lang="en")  # 7-8 counted as promoters
    assert "7–8 are passives" in said(capsys).splitlines()[-1]
    assert not check_nps(30, scores=[10, 9, 9, 8, 7, 7, 6, 5, 3, 3], lang="en")  # promoters only (NPS -10)
    assert "subtract the share of detractors" in said(capsys).splitlines()[-1]


@given(st.lists(st.integers(0, 10), min_size=1, max_size=200))
def test_nps_property(scores):
    assert check_nps(nps_brute(scores), scores=scores, lang="en")
    assert check_nps(round(nps_brute(scores), 1), scores=scores, lang="en")  # one decimal is fine
    assert not check_nps(nps_brute(scores) + 1, scores=scores, lang="en")


def test_nps_bad_scores():
    msg = ("scores must be a non-empty list of 0–10 answers without missing values; got 2 values. "
           "Drop missing answers before computing the NPS.")
    with pytest.raises(DataError, match=exact(msg)):
        check_nps(0, scores=[11, 3])


# --- retention and repeat rate on CDNOW (real data) ------------------------------------------------


def retention_brute(tx: pd.DataFrame, period: int, cohort: str | None = None) -> float:
    """Pure-Python reference: customer -> set of (year, month) of their purchases."""
    months = defaultdict(set)
    for customer, date in zip(tx["customer_id"], tx["date"]):
        months[customer].add(date.year * 12 + date.month - 1)
    last = max(m for ms in months.values() for m in ms)
    size = kept = 0
    for ms in months.values():
        first = min(ms)
        if first + period > last:
            continue
        if cohort is not None and f"{first // 12}-{first % 12 + 1:02d}" != cohort:
            continue
        size += 1
        kept += (first + period) in ms
    return kept / size


# Month-1 retention of all CDNOW customers (first purchases Jan–Mar 1997): 3,501 of 23,570.
CDNOW_MONTH1_RETENTION = 0.1485


def test_cdnow_month1_retention(cdnow, capsys):
    truth = retention_brute(cdnow, 1)
    assert round(truth, 4) == CDNOW_MONTH1_RETENTION
    assert round(truth * 23_570) == 3_501
    assert check_retention(CDNOW_MONTH1_RETENTION, data=cdnow)
    assert check_retention("14.85%", data=cdnow)
    assert not check_retention(1 - truth, data=cdnow)
    assert "churn" in said(capsys).splitlines()[-1]


@pytest.mark.parametrize(("period", "cohort"), [(1, "1997-01"), (2, "1997-03"), (3, None), (14, None)])
def test_retention_matches_brute_force(cdnow_sample, period, cohort):
    truth = retention_brute(cdnow_sample, period, cohort)
    expected = check_retention.expected(data=cdnow_sample, period_number=period, cohort=cohort)
    assert expected == pytest.approx(truth, abs=1e-12)


def test_cdnow_repeat_rate_published(cdnow_sample):
    """Fader, Hardie & Lee (2005, Marketing Science 24(2)), CDNOW 1/10 sample: 1,411 of the 2,357
    customers made no repeat purchase in the calibration period ending 1997-09-30."""
    calibration = cdnow_sample[cdnow_sample["date"] <= "1997-09-30"]
    rate = check_repeat_rate.expected(data=calibration)
    assert round(rate * 2357) == 2357 - 1411
    assert check_repeat_rate(946 / 2357, data=calibration, lang="en")
    assert not check_repeat_rate(946, data=calibration, lang="en")


def test_repeat_rate_window():
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "b", "c", "c"],
            "date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-01", "2024-03-01",
                                    "2024-01-01", "2024-01-20"]),
        }
    )
    # a: same-day only (no repeat); b: after 60 days; c: after 19 days
    assert check_repeat_rate.expected(data=tx) == pytest.approx(2 / 3)
    assert check_repeat_rate.expected(data=tx, window="30D") == pytest.approx(1 / 3)


# --- errors ------------------------------------------------------------------------------------


def test_error_messages():
    with pytest.raises(DataError, match=exact(
        "check_ctr() needs the exercise inputs (clicks, impressions) as keyword arguments; got "
        "(clicks). Copy them from the exercise cell.")):
        check_ctr(0.1, clicks=1)
    with pytest.raises(DataError, match="^no exercise named 'ctrr'; the registered exercises are: "):
        check("ctrr", 0.1)
    with pytest.raises(DataError, match=exact(
        "customer_col='user' is not a column of data; the columns are ['customer_id', 'date', "
        "'quantity', 'amount']. Pass customer_col= with the right name.")):
        check_retention(0.1, data=ck.datasets.load_cdnow(sample=True).head(), customer_col="user")
    with pytest.raises(DataError, match=exact(
        'lang must be "en" or "ja" or None; got \'de\'. Use lang="ja" for Japanese.')):
        check_ctr(0.1, clicks=1, impressions=10, lang="de")
    with pytest.raises(DataError, match=exact(
        "check_cpa() cannot compute the expected value: a denominator is zero in (spend=100, conversions=0). "
        "Check the numbers copied from the exercise cell.")):
        check_cpa(0.1, spend=100, conversions=0)


# --- adding an exercise is two lines --------------------------------------------------------------


def test_register_a_new_exercise(capsys):
    @exercise(hint="AOV = revenue / orders", hint_ja="客単価 = 売上 ÷ 注文数", percent=False)
    def check_aov_test(revenue, orders): return revenue / orders

    try:
        assert check_aov_test(2500, revenue=10_000, orders=4, lang="en")
        assert check("aov_test", 2500, revenue=10_000, orders=4, lang="en")
        assert not check_aov_test(2000, revenue=10_000, orders=4, lang="ja")
        assert said(capsys).splitlines()[-1] == "❌ 不正解です（あなたの答え: 2,000）。ヒント: 客単価 = 売上 ÷ 注文数"
        assert "aov_test" in exercises()["name"].tolist()
        assert str(__import__("inspect").signature(check_aov_test)) == "(answer, *, revenue, orders, lang=None) -> bool"
    finally:
        workshop._REGISTRY.pop("aov_test", None)

    def aov():
        return 1

    with pytest.raises(DataError, match=exact(
        "exercise function name must start with 'check_'; got 'aov'. Rename it to 'check_aov'.")):
        exercise(hint="h", hint_ja="h")(aov)


def test_every_builtin_check_is_exported():
    for name in exercises()["name"]:
        if name in ("aov", "aov_test"):  # registered by the docstring example / the test above
            continue
        assert f"check_{name}" in workshop.__all__


# --- attendee / instructor build -------------------------------------------------------------------


def _demo_notebook():
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    intro = nbformat.v4.new_markdown_cell("# Demo\n\n**Exercise:** compute the CTR of 100 clicks on 8,000 impressions.")
    setup = nbformat.v4.new_code_cell("from cohortkit.workshop import check_ctr")
    setup.outputs = [nbformat.v4.new_output("stream", text="ok\n")]
    setup.execution_count = 1
    todo = nbformat.v4.new_code_cell(
        "answer = ...  # your answer\ncheck_ctr(answer, clicks=100, impressions=8000, lang='en')",
        metadata={"tags": ["exercise"]},
    )
    todo.outputs = [nbformat.v4.new_output("stream", text="✅ Correct! CTR = 0.0125 (1.25 %).\n")]
    solution = nbformat.v4.new_code_cell(
        "answer = 100 / 8000\ncheck_ctr(answer, clicks=100, impressions=8000, lang='en')",
        metadata={"tags": ["solution"]},
    )
    solution.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "True"}, execution_count=3)]
    explain = nbformat.v4.new_markdown_cell("Clicks over impressions, not the other way.",
                                            metadata={"tags": ["solution"]})
    outro = nbformat.v4.new_markdown_cell("## Summary")
    nb.cells = [intro, setup, todo, solution, explain, outro]
    return nb


def test_build_workshop_cli(tmp_path):
    src = tmp_path / "notebooks"
    src.mkdir()
    nbformat.write(_demo_notebook(), src / "01-demo.ipynb")
    out = tmp_path / "workshop"
    done = subprocess.run(
        [sys.executable, "-m", "cohortkit.workshop", "--notebooks", str(src), "--out", str(out)],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "01-demo.ipynb: 1 exercise cells, 2 solution cells removed for attendees" in done.stdout

    source = nbformat.read(src / "01-demo.ipynb", as_version=4)
    attendee = nbformat.read(out / "attendee" / "01-demo.ipynb", as_version=4)
    instructor = nbformat.read(out / "instructor" / "01-demo.ipynb", as_version=4)
    nbformat.validate(attendee)
    nbformat.validate(instructor)

    assert [c.source for c in attendee.cells] == [source.cells[i].source for i in (0, 1, 2, 5)]
    assert not any("solution" in c.metadata.get("tags", []) for c in attendee.cells)
    assert "100 / 8000" not in nbformat.writes(attendee)  # the answer does not leak
    exercise_cell = attendee.cells[2]
    assert exercise_cell.metadata["tags"] == ["exercise"] and exercise_cell.outputs == []
    assert all(c.outputs == [] and c.execution_count is None for c in attendee.cells if c.cell_type == "code")

    assert instructor.cells == source.cells  # everything kept, outputs included


def test_built_notebooks_run(tmp_path):
    """Executed: the attendee's placeholder gets the reminder, the instructor's solution passes."""
    from nbclient import NotebookClient

    src = tmp_path / "nb"
    src.mkdir()
    nbformat.write(_demo_notebook(), src / "01-demo.ipynb")
    written = build_workshop(src, tmp_path / "ws")
    texts = {}
    for kind in ("attendee", "instructor"):
        nb = nbformat.read(written[kind][0], as_version=4)
        NotebookClient(nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
        texts[kind] = [o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert "✏️ Replace ... with your answer, then run the cell again.\n" in texts["attendee"]
    assert "✅ Correct! CTR = 0.0125 (1.25 %).\n" in texts["instructor"]


def test_build_rejects_a_cell_tagged_solution_and_exercise(tmp_path):
    nb = _demo_notebook()
    nb.cells[2].metadata["tags"] = ["exercise", "solution"]
    with pytest.raises(DataError, match=exact(
        "cell 2 is tagged both 'solution' and 'exercise'; a solution would be removed with the "
        "exercise. Split it into an exercise cell and a solution cell.")):
        attendee_version(nb)
    (tmp_path / "nb").mkdir()
    nbformat.write(nb, tmp_path / "nb" / "02-bad.ipynb")
    assert workshop.main(["--notebooks", str(tmp_path / "nb"), "--out", str(tmp_path / "ws")]) == 1


def test_build_without_notebooks(tmp_path):
    with pytest.raises(DataError, match=exact(
        f"notebooks={str(tmp_path)!r} holds no .ipynb files. Pass the notebooks folder.")):
        build_workshop(tmp_path, tmp_path / "out")
