"""Pseudonymised loaders, and a report that refuses to publish personal data (issue: reliability)."""

from __future__ import annotations


import nbformat
import pandas as pd
import pytest

from cohortkit import DataError
from cohortkit._report import ReportError, build_report, find_personal_data, main
from cohortkit.datasets import load_cdnow
from cohortkit.privacy import pseudonymize
from helpers import exact


def test_pseudonymize_is_stable_and_keyed():
    df = pd.DataFrame({"id": ["a", "b", "a", None], "x": [1, 2, 3, 4]})
    one = pseudonymize(df, "id", salt="k1")
    assert one["id"].iloc[0] == one["id"].iloc[2] != one["id"].iloc[1]
    assert one["id"].isna().tolist() == [False, False, False, True]
    assert one["id"].iloc[0].startswith("p_") and len(one["id"].iloc[0]) == 14
    assert not one["id"].isin(["a", "b"]).any()
    other = pseudonymize(df, "id", salt="k2")
    assert one["id"].iloc[0] != other["id"].iloc[0]
    assert df["id"].tolist()[:3] == ["a", "b", "a"]  # input untouched


def test_pseudonymize_env_salt(monkeypatch):
    df = pd.DataFrame({"id": ["a"]})
    monkeypatch.setenv("COHORTKIT_SALT", "from-env")
    assert pseudonymize(df, "id")["id"][0] == pseudonymize(df, "id", salt="from-env")["id"][0]


def test_pseudonymize_missing_column():
    with pytest.raises(DataError, match=exact(
        "column 'email' (columns) not found; the data has columns 'id'. Pass the names of the id "
        "columns to pseudonymise."
    )):
        pseudonymize(pd.DataFrame({"id": [1]}), "email", salt="s")


def test_load_cdnow_pseudonymized_keeps_every_figure(cdnow_sample):
    pseudo = load_cdnow(sample=True, pseudonymize=True, salt="workshop")
    assert pseudo["customer_id"].nunique() == 2_357
    assert not pseudo["customer_id"].isin(cdnow_sample["customer_id"]).any()
    # per-customer totals are unchanged, only relabelled
    a = cdnow_sample.groupby("customer_id")["amount"].sum().sort_values().to_numpy()
    b = pseudo.groupby("customer_id")["amount"].sum().sort_values().to_numpy()
    assert (a == b).all()


def _notebook(path, source):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Tiny"), nbformat.v4.new_code_cell(source)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


@pytest.mark.parametrize(
    "text, found",
    [
        ("mail me: hanako.yamada@example.co.jp", "e-mail hanako.yamada@example.co.jp"),
        ("tel 03-1234-5678", "phone 03-1234-5678"),
        ("call +81 90-1234-5678", "phone +81 90-1234-5678"),
        ("(415) 555-0100", "phone (415) 555-0100"),
    ],
)
def test_find_personal_data(text, found):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("")
    cell.outputs = [nbformat.v4.new_output("stream", text=text)]
    nb.cells.append(cell)
    assert find_personal_data(nb) == [f"cell 0: {found}"]


@pytest.mark.parametrize(
    "text", ["revenue 2,500,315.63", "1997-01-01 → 1998-06-30", "customer 00001 bought 19970101",
             "CTR 1.25 % (0.0103–0.0152)", "p_6c1a5a5e1a0d", "ids C000123, V0001234"]
)
def test_numbers_dates_and_pseudonyms_are_not_personal_data(text):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("")
    cell.outputs = [nbformat.v4.new_output("stream", text=text)]
    nb.cells.append(cell)
    assert find_personal_data(nb) == []


def test_report_refuses_to_publish_personal_data(tmp_path):
    notebooks = tmp_path / "nb"
    notebooks.mkdir()
    _notebook(notebooks / "01-leak.ipynb", "print('top customer: taro.suzuki@example.com')")
    out = tmp_path / "reports"
    with pytest.raises(ReportError, match="refusing to publish") as info:
        build_report(notebooks, out, work=tmp_path / "work")
    assert "01-leak.ipynb, cell 1: e-mail taro.suzuki@example.com" in str(info.value)
    assert "nothing was written to the report folder" in str(info.value)
    assert not out.exists()
    # the command line says so and fails
    code = main(["--notebooks", str(notebooks), "--out", str(out), "--work", str(tmp_path / "w2")])
    assert code == 1 and not out.exists()


def test_report_renders_index_and_pages(tmp_path):
    notebooks = tmp_path / "nb"
    notebooks.mkdir()
    _notebook(notebooks / "01-ok.ipynb", "print(sum(range(10)))")
    _notebook(notebooks / "02-ok.ipynb", "import cohortkit; print(cohortkit.__version__)")
    out = tmp_path / "reports"
    index = build_report(notebooks, out, work=tmp_path / "work")
    html = index.read_text()
    assert 'href="01-ok.html"' in html and 'href="02-ok.html"' in html
    assert "cohortkit 0.1.0" in html
    assert ">45<" in (out / "01-ok.html").read_text() or "45\n" in (out / "01-ok.html").read_text()


def test_report_stops_on_a_failing_notebook(tmp_path):
    notebooks = tmp_path / "nb"
    notebooks.mkdir()
    _notebook(notebooks / "01-boom.ipynb", "1 / 0")
    with pytest.raises(ReportError, match=r"01-boom.ipynb failed in cell .*ZeroDivisionError"):
        build_report(notebooks, tmp_path / "out", work=tmp_path / "work")
    assert not (tmp_path / "out").exists()


def test_report_hides_tagged_boilerplate(tmp_path):
    notebooks = tmp_path / "nb"
    notebooks.mkdir()
    nb = nbformat.v4.new_notebook()
    hidden = nbformat.v4.new_code_cell("LABELS_SECRET_SOURCE = 1\nprint('visible output 4242')")
    hidden.metadata["tags"] = ["hide-input"]
    removed = nbformat.v4.new_code_cell("print('removed cell 5151')")
    removed.metadata["tags"] = ["remove-cell"]
    nb.cells = [nbformat.v4.new_markdown_cell("# Tiny"), hidden, removed,
                nbformat.v4.new_code_cell("print('plain 6161')")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, notebooks / "01-tags.ipynb")
    build_report(notebooks, tmp_path / "out", work=tmp_path / "work")
    page = (tmp_path / "out" / "01-tags.html").read_text()
    assert "visible output 4242" in page and "plain 6161" in page
    assert "LABELS_SECRET_SOURCE" not in page
    assert "5151" not in page
