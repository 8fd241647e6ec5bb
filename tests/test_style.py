"""set_style (Japanese font, no glyph warnings) and the bilingual glossary."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt
import pytest
from matplotlib import font_manager

import cohortkit as ck
from cohortkit import DataError
from cohortkit.style import current_lang, glossary, glossary_markdown, japanese_font_path, set_style

ROOT = Path(__file__).resolve().parents[1]
JA_WORDS = ["クリック率", "顧客生涯価値", "コンバージョン"]


@pytest.fixture(autouse=True)
def _restore_rc():
    """Every test here changes rcParams through set_style; put them back afterwards."""
    saved = mpl.rcParams.copy()
    lang = current_lang()
    yield
    plt.close("all")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mpl.rcParams.update(saved)
    ck.style._STATE["lang"] = lang


def _glyph_warnings(tmp_path: Path) -> list[str]:
    """Draw a figure with Japanese title, labels, tick labels and legend; save it; return warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig, ax = plt.subplots()
        ax.bar(JA_WORDS, [1.25, 3.0, -0.5], label="広告A")
        ax.set_title("広告別の顧客生涯価値（LTV）")
        ax.set_xlabel("指標")
        ax.set_ylabel("値（％）")
        ax.legend(title="凡例")
        fig.savefig(tmp_path / "ja.png")
    return [str(w.message) for w in caught if "missing from font" in str(w.message) or "Glyph" in str(w.message)]


def test_japanese_figure_renders_without_glyph_warnings(tmp_path):
    set_style("ja")
    assert _glyph_warnings(tmp_path) == []
    assert (tmp_path / "ja.png").stat().st_size > 5000


def test_control_default_font_does_warn(tmp_path):
    """The same figure with seaborn's default font (DejaVu Sans) warns: the test above can fail."""
    set_style("en")
    found = _glyph_warnings(tmp_path)
    assert found, "expected Glyph-missing warnings with the default font"
    assert any("missing from font" in w for w in found)


def test_set_theme_after_set_style_loses_the_font_control(tmp_path):
    """Why the font is re-applied after set_theme: set_theme alone resets font.family and warns."""
    import seaborn as sns

    set_style("ja")
    sns.set_theme()
    assert mpl.rcParams["font.family"] == ["sans-serif"]
    assert _glyph_warnings(tmp_path)


def test_font_resolves_to_the_fontja_file():
    set_style("ja")
    family = mpl.rcParams["font.family"]
    assert family[0] == "IPAexGothic"
    found = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
    assert Path(found).resolve() == japanese_font_path().resolve()
    assert japanese_font_path().parent.parent.name == "matplotlib_fontja"
    # the font really contains the glyphs (independent check with fontTools)
    from fontTools.ttLib import TTFont

    cmap = TTFont(found).getBestCmap()
    assert all(ord(ch) in cmap for word in JA_WORDS for ch in word)


def test_set_style_applies_the_seaborn_theme_and_language():
    set_style("ja", context="talk", palette="deep", style="ticks")
    import seaborn as sns

    assert current_lang() == "ja"
    assert mpl.rcParams["axes.titlesize"] == sns.plotting_context("talk")["axes.titlesize"]
    first = mpl.rcParams["axes.prop_cycle"].by_key()["color"][0]
    assert mpl.colors.to_hex(first) == mpl.colors.to_hex(sns.color_palette("deep")[0])
    set_style("en")
    assert current_lang() == "en"
    assert "IPAexGothic" not in mpl.rcParams["font.family"]


def test_bad_lang_message():
    msg = 'lang must be "en" or "ja"; got \'jp\'. Use lang="ja" for Japanese.'
    with pytest.raises(DataError, match="^" + re.escape(msg) + "$"):
        set_style("jp")
    msg = 'lang must be "en" or "ja" or None; got \'fr\'. Use lang="ja" for Japanese.'
    with pytest.raises(DataError, match="^" + re.escape(msg) + "$"):
        glossary("fr")


def test_import_changes_no_rcparams():
    code = (
        "import matplotlib as mpl; before = dict(mpl.rcParams); "
        "import cohortkit, cohortkit.style, cohortkit.workshop; cohortkit.glossary; "
        "assert dict(mpl.rcParams) == before, 'rcParams changed at import'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# --- glossary ---------------------------------------------------------------------------------

REQUIRED = {  # term prefix -> Japanese that must appear (from the issue and shared/DOMAIN.md)
    "CTR": "クリック率",
    "CV (": "コンバージョン",
    "CVR": "コンバージョン率",
    "CPA": "顧客獲得単価",
    "CPC": "クリック単価",
    "ROAS": "広告費用対効果",
    "LTV (": "顧客生涯価値",
    "CAC": "顧客獲得コスト",
    "LTV:CAC": "LTV",
    "payback": "回収",
    "allowable CPA": "許容CPA",
    "NPS": "推奨度",
    "MQL": "リード",
    "SQL": "リード",
    "KGI": "重要目標達成指標",
    "KSF": "重要成功要因",
    "KPI (": "重要業績評価指標",
    "cohort": "コホート",
    "retention": "継続率",
    "churn": "解約率",
    "repeat (F2)": "F2転換率",
    "funnel": "ファネル",
    "impressions": "インプレッション",
    "lead": "リード",
    "lead nurturing": "リードナーチャリング",
    "lead scoring": "リードスコアリング",
    "BG/NBD": "BG/NBD",
    "Gamma-Gamma": "ガンマ",
    "RFM": "RFM",
    "P(alive)": "生存確率",
    "awareness": "認知",
}


def test_glossary_has_the_required_terms():
    g = glossary()
    assert list(g.columns) == ["term", "japanese", "topic", "formula", "definition", "definition_ja"]
    assert g["term"].is_unique
    for prefix, ja in REQUIRED.items():
        rows = g[g["term"].str.startswith(prefix)]
        assert len(rows) >= 1, prefix
        assert rows["japanese"].str.contains(ja, regex=False).any(), (prefix, rows["japanese"].tolist())
    assert (g[["term", "japanese", "topic", "definition", "definition_ja"]] != "").all().all()
    # Japanese definitions are Japanese, English ones are not
    kana = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
    assert g["definition_ja"].map(lambda s: bool(kana.search(s))).all()


def test_glossary_formulas_match_the_domain_definitions():
    f = glossary().set_index("term")["formula"]
    assert f["CTR (click-through rate)"] == "clicks / impressions"  # not impressions / clicks
    assert f["CVR (conversion rate)"] == "conversions / clicks"
    assert f["CPA (cost per acquisition)"] == "spend / conversions"
    assert f["CPC (cost per click)"] == "spend / clicks"
    assert f["ROAS (return on ad spend)"] == "revenue / spend"
    assert f["LTV:CAC"] == "LTV / CAC"
    assert "9–10" in f["NPS (Net Promoter Score)"] and "0–6" in f["NPS (Net Promoter Score)"]


def test_glossary_lang_selects_one_definition():
    both = glossary()
    en, ja = glossary("en"), glossary("ja")
    assert list(en.columns) == list(ja.columns) == ["term", "japanese", "topic", "formula", "definition"]
    assert en["definition"].tolist() == both["definition"].tolist()
    assert ja["definition"].tolist() == both["definition_ja"].tolist()


def _parse_markdown_rows(text: str) -> list[list[str]]:
    rows = []
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith("| term |"):
            cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            rows.append(cells)
    return rows


def test_docs_glossary_agrees_with_glossary():
    page = (ROOT / "docs" / "glossary.md").read_text(encoding="utf-8")
    assert page == glossary_markdown(), "regenerate: python -m cohortkit.style --glossary docs/glossary.md"
    # and, read back independently, the table holds exactly the same rows
    rows = _parse_markdown_rows(page)
    g = glossary()
    assert [r[0] for r in rows] == g["term"].tolist()
    assert [r[1] for r in rows] == g["japanese"].tolist()
    assert [r[2].strip("`") for r in rows] == g["formula"].tolist()
    assert [r[3] for r in rows] == g["definition"].tolist()
    assert [r[4] for r in rows] == g["definition_ja"].tolist()
