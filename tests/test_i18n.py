"""The Japanese edition comes from the one English source (cohortkit/i18n.py, cohortkit/locale/ja/).

Checked here without executing the series: every markdown cell and every computed message of every
notebook has a current translation; a translation keeps the links, code and headings of its English
cell and leaves no English sentence; the catalogue tools (status, sync, translate_notebook, messages)
find what they should; Japanese column labels; the font embedded in the HTML has a glyph for every
Japanese character of the edition. The executed editions (same numbers, rendering in a browser) are
checked in tests/test_report_browser.py.
"""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest

import cohortkit as ck
import cohortkit.i18n as i18n
from cohortkit import DataError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SERIES = sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))


def _catalogue(stem: str) -> i18n.Catalogue:
    return i18n.Catalogue.load(stem, "ja")


# --- the real series -------------------------------------------------------------------------------------

def test_every_cell_and_message_has_a_current_translation():
    table = i18n.status(NOTEBOOKS, "ja")
    assert set(table["notebook"]) == {p.stem for p in SERIES}
    assert (table["kind"] == "cell").sum() > 100  # every markdown cell of the six notebooks
    gaps = table[table["state"] != "ok"]
    assert gaps.empty, "untranslated or stale (python -m cohortkit.i18n status --lang ja):\n" + gaps.to_string()


_LINK = re.compile(r"\]\(([^)\s]+)\)")
_CODE = re.compile(r"`[^`]+`")
_FENCE = re.compile(r"```.*?```", re.S)


def _pairs():
    for path in SERIES:
        nb = nbformat.read(path, as_version=4)
        catalogue = _catalogue(path.stem)
        for cell in nb.cells:
            if cell.cell_type == "markdown" and cell.get("id") in catalogue.cells:
                yield path.stem, cell.get("id"), cell.source, catalogue.cells[cell.get("id")][1]


def test_translations_keep_links_code_and_headings():
    problems = []
    for stem, cell_id, english, japanese in _pairs():
        if sorted(_LINK.findall(english)) != sorted(_LINK.findall(japanese)):
            problems.append(f"{stem} {cell_id}: links {_LINK.findall(english)} vs {_LINK.findall(japanese)}")
        code_en, code_ja = ([" ".join(c.split()) for c in _CODE.findall(_FENCE.sub(" ", text))]
                            + _FENCE.findall(text) for text in (english, japanese))
        code_en, code_ja = sorted(code_en), sorted(code_ja)
        if code_en != code_ja:
            missing = set(code_en) ^ set(code_ja)
            problems.append(f"{stem} {cell_id}: code spans differ: {sorted(missing)[:5]}")
        levels = [len(m) for m in re.findall(r"^(#{1,6})\s", english, re.M)]
        if levels != [len(m) for m in re.findall(r"^(#{1,6})\s", japanese, re.M)]:
            problems.append(f"{stem} {cell_id}: heading levels differ")
    assert problems == []


# five or more English words in a row: a sentence left untranslated (names and terms are shorter)
_ENGLISH_RUN = re.compile(r"\b[A-Za-z][a-z']+(?:[ \-][A-Za-z][a-z']+){4,}\b")


def _prose(markdown: str) -> str:
    text = re.sub(r"```.*?```", " ", markdown, flags=re.S)
    text = re.sub(r"\$\$.*?\$\$|\$[^$\n]+\$", " ", text)
    text = _CODE.sub(" ", text)
    text = _LINK.sub("]", text)
    return re.sub(r"<[^>]+>", " ", text)


def test_english_run_detector_finds_an_untranslated_sentence():
    assert _ENGLISH_RUN.search(_prose("顧客は the campaign brought these customers で"))
    assert not _ENGLISH_RUN.search(_prose("BG/NBD + Gamma-Gammaの `ck.rfm_summary(data, time_unit=\"W\")` と "
                                          "[Next: 05 KPI trees and lead](05-kpi.ipynb)"))


def test_no_english_sentence_is_left_in_the_japanese_markdown():
    left = [(stem, cell_id, m.group(0)) for stem, cell_id, _, japanese in _pairs()
            for m in _ENGLISH_RUN.finditer(_prose(japanese))]
    assert left == []


def test_every_computed_message_is_translated_with_the_same_placeholders():
    for path in SERIES:
        templates = i18n.message_templates(nbformat.read(path, as_version=4))
        messages = _catalogue(path.stem).messages
        for template in templates:
            assert template in messages, f"{path.stem}: {template!r}"
            assert i18n._fields(messages[template]) == i18n._fields(template), template
            assert not _ENGLISH_RUN.search(re.sub(r"\{[^}]*\}", " ", messages[template])), messages[template]


def test_plot_labels_exist_in_both_languages():
    """Each notebook's LABELS table (plot titles and axis labels) has the same keys in en and ja."""
    for path in SERIES:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code" and re.search(r"^LABELS\s*=", cell.source, re.M):
                scope: dict = {}
                start = re.search(r"^LABELS\s*=", cell.source, re.M).start()
                block = cell.source[start:]
                end = re.search(r"^\}", block, re.M).end()
                exec(block[:end], scope)  # a literal dict
                labels = scope["LABELS"]
                assert set(labels) == {"en", "ja"} and set(labels["en"]) == set(labels["ja"]), path.stem
                for key, text in labels["ja"].items():
                    for item in text if isinstance(text, (list, tuple)) else [text]:
                        assert not _ENGLISH_RUN.search(str(item)), (path.stem, key, item)


def test_workshop_builds_the_japanese_edition(tmp_path, capsys):
    written = ck.workshop.build_workshop(NOTEBOOKS, tmp_path, lang="ja")
    assert len(written["attendee"]) == len(SERIES) + 0 or len(written["attendee"]) >= len(SERIES)
    for path in written["instructor"]:
        nb = nbformat.read(path, as_version=4)
        catalogue = _catalogue(path.stem)
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                assert cell.source == catalogue.cells[cell.get("id")][1]
            if "parameters" in cell.metadata.get("tags", []):
                assert re.search(r'^lang = "ja"', cell.source, re.M), path.stem


def test_embedded_font_has_a_glyph_for_every_japanese_character():
    """The subset embedded in a page covers each Japanese character the page uses (the whole edition's
    text here), so no character falls back to a missing-glyph box."""
    from fontTools.ttLib import TTFont

    from cohortkit._report import _CJK, embed_japanese_font

    text = "".join(ja for *_, ja in _pairs()) + "".join(i18n.column_labels("ja").values())
    page = embed_japanese_font(f"<html><head><style>p {{ font-family: serif; }}</style></head><body><p>{text}"
                               "</p></body></html>")
    data = re.search(r"data:font/woff;base64,([A-Za-z0-9+/=]+)", page).group(1)
    font = TTFont(io.BytesIO(base64.b64decode(data)))
    cmap = font.getBestCmap()
    characters = set(_CJK.findall(text))
    assert len(characters) > 500
    assert sorted(c for c in characters if ord(c) not in cmap) == []
    assert "font-family: ck-japanese, serif;" in page
    assert len(data) < 2_000_000  # a subset, not the 6 MB font


# --- the catalogue tools on a small notebook ----------------------------------------------------------------

@pytest.fixture
def small(tmp_path, monkeypatch):
    """A notebook folder with one notebook and an empty locale folder in use."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 01 — Title\n\nSee [the next one](02-next.ipynb).", id="c0"),
        nbformat.v4.new_code_cell('lang = "en"  # the edition\nseed = 1', metadata={"tags": ["parameters"]},
                                  id="c1"),
        nbformat.v4.new_code_cell('T = ck.i18n.messages("01-small", lang)\n'
                                  'print(T("{n} customers bought again", n=5))', id="c2"),
        nbformat.v4.new_markdown_cell("Second cell.", id="c3"),
    ]
    nbformat.write(nb, folder / "01-small.ipynb")
    monkeypatch.setattr(i18n, "LOCALE", tmp_path / "locale")
    return folder


def _states(folder) -> dict:
    table = i18n.status(folder, "ja")
    return dict(zip(table["key"], table["state"]))


def test_sync_writes_entries_a_translator_fills_in(small):
    assert _states(small) == {"c0": "missing", "c3": "missing", "{n} customers bought again": "missing"}
    (path,) = i18n.sync(small, "ja")
    text = path.read_text(encoding="utf-8")
    assert "See [the next one](02-next.ipynb)." in text and 'en = "{n} customers bought again"' in text
    assert i18n.sync(small, "ja") == []  # nothing new the second time
    text = text.replace("ja = '''\n'''", "ja = '''\n# 01 — 題名\n\n[次へ](02-next.ipynb)。\n'''", 1)
    text = text.replace("ja = '''\n'''", "ja = '''\n二つ目のセル。\n'''", 1)
    text = text.replace('ja = ""', 'ja = "{n}人が再購入"')
    path.write_text(text, encoding="utf-8")
    assert set(_states(small).values()) == {"ok"}

    T = i18n.messages("01-small", "ja")
    assert T("{n} customers bought again", n="5") == "5人が再購入"
    assert i18n.messages("01-small", "en")("{n} customers bought again", n="5") == "5 customers bought again"
    with pytest.raises(DataError, match=r"no ja translation of the message 'new text' in .*01-small.toml"):
        T("new text")

    nb = i18n.translate_notebook(nbformat.read(small / "01-small.ipynb", as_version=4), "ja", "01-small")
    assert nb.cells[0].source == "# 01 — 題名\n\n[次へ](02-next.ipynb)。"
    assert nb.cells[1].source == 'lang = "ja"  # the edition\nseed = 1'
    assert nb.cells[3].source == "二つ目のセル。"


def test_status_finds_stale_unused_and_placeholder_mismatches(small, capsys):
    i18n.sync(small, "ja")
    path = i18n.catalogue_path("01-small", "ja")
    text = path.read_text(encoding="utf-8").replace("ja = '''\n'''", "ja = '''\n訳。\n'''")
    path.write_text(text.replace('ja = ""', 'ja = "{m}人が再購入"'), encoding="utf-8")
    assert _states(small) == {"c0": "ok", "c3": "ok", "{n} customers bought again": "fields"}
    nb = nbformat.read(small / "01-small.ipynb", as_version=4)
    nb.cells[3].source = "Second cell, edited."
    nb.cells = nb.cells[:3] + [nb.cells[3]]
    del nb.cells[0]
    nbformat.write(nb, small / "01-small.ipynb")
    assert _states(small) == {"c3": "stale", "c0": "unused", "{n} customers bought again": "fields"}
    assert i18n.main(["status", "--lang", "ja", "--notebooks", str(small)]) == 1
    out = capsys.readouterr().out
    assert "-Second cell." in out and "+Second cell, edited." in out  # what changed in the English


def test_translate_notebook_refuses_an_incomplete_edition(small):
    nb = nbformat.read(small / "01-small.ipynb", as_version=4)
    with pytest.raises(DataError, match=r"2 markdown cell\(s\) have no ja translation .*\['c0', 'c3'\]"):
        i18n.translate_notebook(nb, "ja", "01-small")
    assert i18n.translate_notebook(nb, "ja", "01-small", strict=False).cells[0].source == nb.cells[0].source
    assert i18n.translate_notebook(nb, "en", "01-small").cells == nb.cells
    with pytest.raises(DataError, match="lang must be one of"):
        i18n.translate_notebook(nb, "fr", "01-small")


def test_style_table_shows_japanese_column_labels_and_keeps_the_data():
    frame = pd.DataFrame({"campaign": ["a"], "ctr": [0.05], "spend": [1000.0], "own_column": [1]})
    styler = ck.style_table(frame, lang="ja", uuid="t")
    headers = re.findall(r'class="col_heading[^"]*"[^>]*>(.*?)<', styler.to_html())
    assert headers == ["キャンペーン", "CTR（クリック率）", "広告費", "own_column"]
    assert list(styler.data.columns) == ["campaign", "ctr", "spend", "own_column"]
    assert re.findall(r'class="col_heading[^"]*"[^>]*>(.*?)<', ck.style_table(frame, lang="en", uuid="t").to_html()) \
        == ["campaign", "ctr", "spend", "own_column"]


def test_glossary_in_japanese_has_japanese_topics_and_formulas():
    table = ck.glossary("ja")
    assert table.loc[table["term"] == "CTR (click-through rate)", "formula"].item() == "クリック数 / 表示回数"
    for column in ("topic", "formula", "definition", "japanese"):
        for text in table[column]:
            assert not re.search(r"\b[a-z]{3,}\b", text), (column, text)  # abbreviations (LTV, CAC, k) only
