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


# --- one colour per campaign ------------------------------------------------------------------

def test_campaign_palette_is_stable_and_sorted():
    import pandas as pd
    names = ["social_video", "brand_search", "coupon_affiliate", "brand_search"]
    p = ck.style.campaign_palette(names)
    assert list(p) == ["brand_search", "coupon_affiliate", "social_video"]
    assert p == ck.style.campaign_palette(list(reversed(names)))
    assert p == ck.style.campaign_palette(pd.DataFrame({"campaign": names}))
    import seaborn as sns
    assert list(p.values()) == [mpl.colors.to_hex(c) for c in sns.color_palette("colorblind")[:3]]
    many = ck.style.campaign_palette([f"c{i:02d}" for i in range(14)])
    assert len(set(many.values())) == 14  # more campaigns than palette colours: still distinct
    with pytest.raises(DataError, match="campaigns has no column 'campaign'"):
        ck.style.campaign_palette(pd.DataFrame({"channel": ["x"]}))


def _line_colours(ax) -> dict[str, str]:
    """Legend label -> colour of a line plot, read back from the Axes."""
    handles, labels = ax.get_legend_handles_labels()
    return {label: mpl.colors.to_hex(h.get_color()) for h, label in zip(handles, labels)}


def test_the_same_campaign_has_the_same_colour_in_every_plot():
    """Colours read back from four different plots of the shop agree with each other and the palette."""
    import pandas as pd

    shop = ck.datasets.load_shop()
    palette = ck.style.campaign_palette(shop.campaigns)
    assert len(palette) == 6
    # 1. pooled retention curves by campaign (cohort table rows in their own order)
    table = ck.cohort_table(shop.transactions, amount_col="amount", time_unit="M", by="campaign",
                            customers=shop.customers)
    retention = _line_colours(ck.plot.retention_curves(table))
    plt.close("all")
    # 2. LTV curves of the same table with the rows shuffled
    ltv = _line_colours(ck.plot.ltv_curves(table.sample(frac=1, random_state=1)))
    plt.close("all")
    # 3. the rank slope chart: one line per campaign, labelled at its ends
    ads = ck.ad_metrics(shop.campaigns)
    ads["value"] = ads["campaign"].map(shop.transactions.merge(shop.customers, on="customer_id")
                                       .groupby("campaign")["amount"].sum()) / ads["conversions"]
    ax = ck.plot.rank_slope(ads.iloc[::-1], "ctr", "value")
    slope = {}
    for line in ax.lines:
        rank = line.get_ydata()[0]
        name = next(t.get_text() for t in ax.texts if t.xy == (0, rank))
        slope[name] = mpl.colors.to_hex(line.get_color())
    plt.close("all")
    # 4. the value quadrant: one point per campaign
    ax = ck.plot.value_quadrant(ads, x="ctr", y="value")
    faces = ax.collections[0].get_facecolors()
    quadrant = {t.get_text(): mpl.colors.to_hex(faces[i], keep_alpha=False) for i, t in enumerate(ax.texts)}
    plt.close("all")
    assert retention == ltv == slope == quadrant == palette
    # and a funnel by campaign on the event log
    events = shop.events[shop.events["campaign"].isin(list(palette)[:3])]
    f = ck.funnel(events, ["session_start", "purchase"], window="7D", by="campaign")
    ax = ck.plot.funnel(f)
    bars = {label: mpl.colors.to_hex(c.patches[0].get_facecolor(), keep_alpha=False)
            for c, label in zip(ax.containers, [t.get_text() for t in ax.get_legend().get_texts()])}
    assert bars == {k: palette[k] for k in bars} and len(bars) == 3
