"""make report's machinery: what a reader sees, links, parameters, and no local path in the output."""

from __future__ import annotations

import subprocess
from pathlib import Path

import nbformat

from cohortkit._report import _local_paths, _rewrite_links, report_version

ROOT = Path(__file__).resolve().parents[1]


def _code(source, tags=(), outputs=()):
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": list(tags)} if tags else {})
    cell.outputs = list(outputs)
    return cell


def test_report_version_drops_exercises_parameters_and_progress_bars():
    md = nbformat.v4.new_markdown_cell
    stream = nbformat.v4.new_output
    nb = nbformat.v4.new_notebook(cells=[
        md("# Title\n\n[Next](01-next.ipynb)"),
        _code("data_path = None", ["parameters"]),
        _code('data_path = "/secret/place/orders.csv"', ["injected-parameters"]),
        md("## Workshop\n\nEach notebook ends with exercises."),
        md("### Exercise 1: CTR\n\nCompute it."),
        _code("answer = ...", ["exercise"]),
        _code("answer = 1 / 80", ["solution"], [stream("stream", text="✅ Correct!")]),
        md("### Exercise 2\n\n```python\n# not a heading\n```\nStill the exercise."),
        md("Hint: still the exercise."),
        md("## Step 2\n\nBack to the story.\n\n### Exercise 3: inline\n\nText of the exercise."),
        _code("fit()", outputs=[
            stream("stream", name="stderr", text="bootstrap refits:  93%|█████████▎| 28/30 [00:00<00:00, 278.71it/s]"),
            stream("stream", name="stderr", text="\rExecuting:  50%"),
            stream("stream", text="read /secret/place/orders.csv: 10 rows\n"),
            stream("stream", name="stderr", text="UserWarning: a real warning\n"),
            stream("stream", name="stderr", text="/tmp/ipykernel_25052/1894713206.py:1: CohortkitWarning: "
                                                 "1 repeat customers\n  model = fit(ch)\n"),
        ]),
        _code("print(1)", ["remove-cell"]),
    ])
    secrets = _local_paths(["/secret/place/orders.csv"], ROOT / "notebooks")
    out = report_version(nb, secrets)
    assert [c.source for c in out.cells] == [
        "# Title\n\n[Next](01-next.ipynb)", "## Step 2\n\nBack to the story.\n\n", "fit()"]
    assert [o["text"] for o in out.cells[-1].outputs] == [
        "read orders.csv: 10 rows\n", "UserWarning: a real warning\n",
        "CohortkitWarning: 1 repeat customers\n  model = fit(ch)\n"]  # no kernel's temporary file
    assert len(nb.cells) == 12  # the executed notebook itself is untouched


def test_links_to_sibling_notebooks_point_to_pages():
    body = ('<a href="00-overview.ipynb#Contents">c</a> <a href="01-ctr.ipynb">n</a> '
            '<a href="./02-x.ipynb">x</a> <a href="99-missing.ipynb">m</a> <a href="#Contents">here</a> '
            '<a href="https://example.org/a.ipynb">ext</a>')
    pages = {"00-overview.html", "01-ctr.html", "02-x.html"}
    assert _rewrite_links(body, pages) == (
        '<a href="00-overview.html#Contents">c</a> <a href="01-ctr.html">n</a> '
        '<a href="02-x.html">x</a> <a href="99-missing.ipynb">m</a> <a href="#Contents">here</a> '
        '<a href="https://example.org/a.ipynb">ext</a>')


def test_make_report_passes_every_variable():
    done = subprocess.run(
        ["make", "-n", "report", "DATA=/d/orders.csv", "CUSTOMER_COL=会員ID", "DATE_COL=注文日",
         "AMOUNT_COL=金額", "CAMPAIGN_COL=utm", "CUSTOMERS=/d/c.csv", "CAMPAIGNS=/d/a.csv", "LANG=ja"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )
    command = " ".join(done.stdout.replace("\\\n", " ").split())
    # LANG=ja is the Japanese edition, written into reports/ja
    assert ('-m cohortkit._report --notebooks notebooks --out reports/ja --jobs 2 --data "/d/orders.csv" '
            '--customer-col "会員ID" --date-col "注文日" --amount-col "金額" --campaign-col "utm" '
            '--customers "/d/c.csv" --campaigns "/d/a.csv" --lang "ja"') in command
    # the shell's LANG (a locale) is not a report language
    done = subprocess.run(["make", "-n", "report"], cwd=ROOT, capture_output=True, text=True, check=True,
                          env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
    assert "--lang" not in done.stdout and "--data" not in done.stdout


# The series on a user's own transactions file (CDNOW under other column names): tests/test_report_owndata.py


def test_build_report_leaves_the_working_folder_as_it_was(tmp_path, monkeypatch):
    """papermill changes the process's folder to each notebook's while it runs it; with two notebooks at
    a time the changes interleave and once left the process in notebooks/, so the next build's relative
    output path landed there (seen when building the English and Japanese editions in one process).
    Whatever the execution does to the folder, build_report puts it back."""
    import os

    import cohortkit._report as report

    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 00 — page")]),
                   notebooks / "00-page.ipynb")

    def execute_and_wander(*args, **kwargs):
        os.chdir(notebooks)  # what an interleaved papermill run can leave behind
        return []

    monkeypatch.setattr(report, "_execute_all", execute_and_wander)
    monkeypatch.chdir(tmp_path)
    index = report.build_report(Path("notebooks"), Path("reports"), work=Path("work"), summary=False)
    assert os.getcwd() == str(tmp_path) and index == tmp_path / "reports" / "index.html"


def test_the_summary_computed_in_a_child_process_equals_the_one_computed_here():
    # make report computes the executive summary in a child process that exits once it has sent it
    from cohortkit._report import _summary_in_child, _summary_or_note

    child, here = _summary_in_child(None, lang="ja"), _summary_or_note(None, lang="ja")
    assert child.numbers == here.numbers and child.tiles == here.tiles and child.missing == here.missing == []
    assert [png for _, png in child.figures] == [png for _, png in here.figures]
