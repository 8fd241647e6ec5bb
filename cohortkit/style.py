"""Plot styling (English or Japanese) and the bilingual glossary.

* :func:`set_style` applies the seaborn theme and, for ``lang="ja"``, the IPAex Gothic font bundled by the
  ``matplotlib-fontja`` package, so Japanese titles and labels render without "Glyph missing" warnings.
  Nothing changes at import: styling happens only when you call it.
* :func:`glossary` returns the marketing vocabulary used in the notebooks (English, 日本語, formula,
  definitions in both languages); ``docs/glossary.md`` is generated from it by :func:`glossary_markdown`
  (``python -m cohortkit.style --glossary docs/glossary.md``).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import pandas as pd

from ._errors import DataError

__all__ = [
    "set_style",
    "current_lang",
    "japanese_font_path",
    "glossary",
    "glossary_markdown",
    "campaign_palette",
    "campaign_names",
]

_LANGS = ("en", "ja")
_STATE = {"lang": "en"}


def _check_lang(lang, argument: str = "lang", allow_none: bool = False) -> None:
    allowed = (*_LANGS, None) if allow_none else _LANGS
    if lang not in allowed:
        choices = '"en" or "ja"' + (" or None" if allow_none else "")
        raise DataError(f"{argument} must be {choices}; got {lang!r}. Use lang=\"ja\" for Japanese.")


def current_lang() -> str:
    """The language chosen by the last :func:`set_style` call (``"en"`` until then).

    :mod:`cohortkit.workshop` uses it to pick the language of its messages.

    Examples
    --------
    >>> current_lang() in ("en", "ja")
    True
    """
    return _STATE["lang"]


def japanese_font_path() -> Path:
    """Path of the IPAex Gothic font file shipped by ``matplotlib-fontja``.

    The package is located without importing it: importing ``matplotlib_fontja`` changes
    ``rcParams`` as a side effect, which cohortkit avoids.

    Examples
    --------
    >>> japanese_font_path().name
    'ipaexg.ttf'
    """
    spec = importlib.util.find_spec("matplotlib_fontja")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "set_style(lang=\"ja\") needs the matplotlib-fontja package for its Japanese font; "
            "install it with `pip install matplotlib-fontja` (it is a cohortkit dependency)."
        )
    path = Path(list(spec.submodule_search_locations)[0]) / "fonts" / "ipaexg.ttf"
    if not path.exists():
        raise ImportError(
            f"matplotlib-fontja is installed but its font file {path} is missing; reinstall it with "
            "`pip install --force-reinstall matplotlib-fontja`."
        )
    return path


def _register_japanese_font() -> str:
    """Add the bundled font to matplotlib's font manager (once) and return its family name."""
    from matplotlib import font_manager

    path = str(japanese_font_path())
    if not any(entry.fname == path for entry in font_manager.fontManager.ttflist):
        font_manager.fontManager.addfont(path)
    return font_manager.FontProperties(fname=path).get_name()


def set_style(
    lang: str = "en",
    *,
    context: str = "notebook",
    palette: str | list | None = "colorblind",
    style: str = "whitegrid",
    font_scale: float = 1.0,
    rc: dict | None = None,
) -> None:
    """Apply cohortkit's plot style: the seaborn theme and, for Japanese, a Japanese-capable font.

    Parameters
    ----------
    lang : {"en", "ja"}, default "en"
        ``"ja"`` puts the IPAex Gothic font (from the ``matplotlib-fontja`` package) first in
        ``font.family``, so titles, labels and tick labels in Japanese render without "Glyph ...
        missing from font" warnings; Latin text falls back to the usual sans-serif fonts. The choice
        is remembered by :func:`current_lang` (workshop messages follow it).
    context, palette, style, font_scale, rc
        Passed to :func:`seaborn.set_theme`.

    Notes
    -----
    ``seaborn.set_theme`` resets ``rcParams["font.family"]``, so the Japanese font is applied after it;
    calling ``set_theme`` yourself afterwards removes it again (call ``set_style("ja")`` instead).

    Examples
    --------
    >>> import matplotlib as mpl
    >>> set_style("ja")
    >>> mpl.rcParams["font.family"][0]
    'IPAexGothic'
    >>> current_lang()
    'ja'
    >>> set_style("en")
    >>> mpl.rcParams["font.family"]
    ['sans-serif']
    >>> mpl.rcdefaults()  # back to matplotlib's own defaults
    """
    _check_lang(lang)
    import matplotlib as mpl
    import seaborn as sns

    sns.set_theme(context=context, style=style, palette=palette, font_scale=font_scale, rc=rc)
    if lang == "ja":
        family = _register_japanese_font()  # re-applied after set_theme, which resets font.family
        mpl.rcParams["font.family"] = [family, "sans-serif"]
    _STATE["lang"] = lang


# --- one colour per campaign ----------------------------------------------------------------


def campaign_names(campaigns) -> list[str]:
    """The distinct campaign names of ``campaigns``, sorted (as text), missing values left out.

    ``campaigns`` is a sequence of names, a Series, or a table with a ``campaign`` column (the ad
    report, the customers table, an :func:`cohortkit.ad_value` result).

    Examples
    --------
    >>> campaign_names(["search", "banner", "search"])
    ['banner', 'search']
    """
    if isinstance(campaigns, pd.DataFrame):
        if "campaign" not in campaigns.columns:
            raise DataError(
                f"campaigns has no column 'campaign' (it has {list(campaigns.columns)}); pass the "
                "campaign names, e.g. campaign_palette(table['channel'])."
            )
        campaigns = campaigns["campaign"]
    if isinstance(campaigns, (str, bytes)):
        campaigns = [campaigns]
    values = pd.Series(list(campaigns), dtype="object").dropna()
    return sorted({str(v) for v in values})


def campaign_palette(campaigns, *, palette: str | list | None = "colorblind") -> dict[str, str]:
    """One colour per campaign, the same in every plot: ``{name: "#rrggbb"}``.

    Colours are handed out in the order of the **sorted** names, from ``palette`` (seaborn's
    ``"colorblind"`` by default, ten colours, then ``"husl"`` steps when there are more campaigns),
    so the mapping depends only on the set of names, never on the order of a table's rows. The plot
    helpers use it whenever they colour by a campaign (or any grouping) column; pass the result as
    ``palette=`` to seaborn, or ``color=palette[name]`` to matplotlib, in your own plots. Build it
    once from all campaigns (e.g. the ad report) when some plots show only a few of them.

    Parameters
    ----------
    campaigns : sequence of str, Series or DataFrame with a ``campaign`` column
    palette : str or list, default "colorblind"
        A seaborn palette name or a list of colours.

    Examples
    --------
    >>> colours = campaign_palette(["search", "banner", "coupon"])
    >>> list(colours)
    ['banner', 'coupon', 'search']
    >>> colours == campaign_palette(["coupon", "search", "banner", "search"])
    True
    >>> colours["banner"]
    '#0173b2'
    """
    import seaborn as sns
    from matplotlib.colors import to_hex

    names = campaign_names(campaigns)
    base = [to_hex(c) for c in sns.color_palette(palette)]
    if len(names) > len(base):
        base = base + [to_hex(c) for c in sns.color_palette("husl", len(names) - len(base))]
    return {name: base[i] for i, name in enumerate(names)}


# --- glossary --------------------------------------------------------------------------------

# (term, japanese, topic, formula, definition, definition_ja)
_TERMS: list[tuple[str, str, str, str, str, str]] = [
    # ad metrics
    ("impressions", "インプレッション（表示回数）", "ad metrics", "",
     "How many times an ad was shown.",
     "広告が表示された回数。"),
    ("CTR (click-through rate)", "クリック率", "ad metrics", "clicks / impressions",
     "Share of impressions that led to a click; 100 clicks on 8,000 impressions is 1.25 %.",
     "表示のうちクリックされた割合。8,000回表示で100クリックなら1.25 %。"),
    ("CV (conversion)", "コンバージョン（CV）", "ad metrics", "",
     "The action the ad is meant to cause: a purchase, a sign-up, a document request (資料請求).",
     "広告が目指す成果となる行動。購入、会員登録、資料請求など。"),
    ("CVR (conversion rate)", "コンバージョン率", "ad metrics", "conversions / clicks",
     "Share of clicks (or of sessions; say which) that end in a conversion.",
     "クリック（またはセッション。どちらかを明示する）のうちコンバージョンに至った割合。"),
    ("CPC (cost per click)", "クリック単価", "ad metrics", "spend / clicks",
     "Average ad spend per click.",
     "1クリックあたりの平均広告費。"),
    ("CPA (cost per acquisition)", "顧客獲得単価", "ad metrics", "spend / conversions",
     "Average ad spend per conversion.",
     "1件のコンバージョンを得るのにかかった平均広告費。"),
    ("ROAS (return on ad spend)", "広告費用対効果", "ad metrics", "revenue / spend",
     "Revenue attributed to the ads per unit of ad spend, usually counting only the first order.",
     "広告費1単位あたりの広告経由の売上。通常は初回購入分だけを数える。"),
    ("AOV (average order value)", "平均注文単価（客単価）", "ad metrics", "revenue / orders",
     "Average revenue per order.",
     "1注文あたりの平均売上。"),
    # value of a customer
    ("LTV (customer lifetime value, CLV)", "顧客生涯価値", "customer value",
     "sum over future periods of expected (discounted) value",
     "Expected value a customer brings over the whole relationship, not just the first order.",
     "顧客が取引期間全体を通じてもたらす価値の期待値。初回購入だけではない。"),
    ("CAC (customer acquisition cost)", "顧客獲得コスト", "customer value",
     "acquisition spend / new customers",
     "What it costs to win one new customer, all acquisition spend included.",
     "新規顧客1人を獲得するのにかかる費用。獲得に使った費用をすべて含める。"),
    ("LTV-ROAS", "LTVベースの広告費用対効果", "customer value", "customers acquired × LTV / spend",
     "ROAS counted with the lifetime value of the acquired customers instead of their first order.",
     "初回売上ではなく、獲得した顧客の生涯価値で計算したROAS。"),
    ("LTV:CAC", "LTV÷CAC比率（ユニットエコノミクス）", "customer value", "LTV / CAC",
     "How many times a customer's value covers the cost of acquiring them.",
     "顧客の生涯価値が獲得コストの何倍になるか。"),
    ("payback period", "投資回収期間", "customer value", "CAC / margin per customer per period",
     "How long a customer's margin takes to repay what was spent to acquire them.",
     "顧客からの利益で獲得コストを回収するまでにかかる期間。"),
    ("allowable CPA", "許容CPA（限界CPA）", "customer value", "LTV / target LTV:CAC",
     "The highest CPA at which the expected customer value still meets the target ratio.",
     "顧客の期待価値が目標比率を満たす範囲で払える最大のCPA。"),
    # funnel and leads
    ("funnel", "ファネル", "funnel", "",
     "The ordered stages from first contact to purchase (impression → click → CV), each smaller.",
     "最初の接点から購入までの段階（表示 → クリック → CV）。段階ごとに人数が絞られていく。"),
    ("awareness", "認知", "funnel", "",
     "The first stage: people learn the brand exists (sessions, page views, unique users, CTR).",
     "最初の段階。ブランドの存在を知ってもらう（セッション数、PV、UU、CTR）。"),
    ("lead", "リード（見込み客）", "funnel", "",
     "A named prospect who left contact details, e.g. by an inquiry or a document request.",
     "問い合わせや資料請求などで連絡先を残した見込み客。"),
    ("lead nurturing", "リードナーチャリング（見込み客育成）", "funnel", "",
     "Following up leads (e-mails, content, seminars) until they are ready to buy.",
     "メールやコンテンツ、セミナーなどで見込み客を購買意欲が高まるまで育てること。"),
    ("lead scoring", "リードスコアリング", "funnel", "sum of points per behaviour",
     "Points per behaviour (page view, webinar, document request) to rank leads.",
     "行動ごと（製品ページ閲覧、ウェビナー参加、資料請求など）に点数を付けて見込み客を順位付けすること。"),
    ("MQL (marketing-qualified lead)", "マーケティング・クオリファイド・リード", "funnel",
     "lead score ≥ threshold",
     "A lead whose score passed the threshold and is handed to sales.",
     "スコアがしきい値を超え、営業に引き渡される見込み客。"),
    ("SQL (sales-qualified lead)", "セールス・クオリファイド・リード", "funnel", "",
     "An MQL that sales has qualified (e.g. with BANT) as worth pursuing.",
     "営業が（BANTなどで）商談化する価値ありと判断したMQL。"),
    ("BANT", "BANT（予算・決裁権・必要性・導入時期）", "funnel", "",
     "Qualification checklist: budget, authority, need, timeline.",
     "見込み客を見極める観点。予算、決裁権、必要性、導入時期。"),
    # retention and loyalty
    ("cohort", "コホート", "retention", "",
     "A group of customers who started in the same period (e.g. first purchase in January).",
     "同じ時期に始めた顧客のグループ（例: 1月に初回購入した顧客）。"),
    ("retention rate", "継続率（リテンション）", "retention", "active in period k / cohort size",
     "Share of a cohort still buying (or active) k periods after their start.",
     "コホートのうち開始からk期間後も購入（または利用）している顧客の割合。"),
    ("churn rate", "離脱率（解約率）", "retention", "customers lost / customers at the start",
     "Share of customers lost over a period; the complement of retention.",
     "ある期間に失った顧客の割合。継続率の裏返し。"),
    ("repeat (F2) rate", "F2転換率（リピート率）", "retention",
     "first-time buyers with a 2nd purchase / first-time buyers",
     "Share of first-time buyers who come back for a second purchase (within a stated window).",
     "初回購入者のうち（決めた期間内に）2回目の購入をした人の割合。"),
    ("NPS (Net Promoter Score)", "ネット・プロモーター・スコア（推奨度）", "retention",
     "% promoters (9–10) − % detractors (0–6)",
     "Loyalty score from the 0–10 \"would you recommend us?\" question, from −100 to +100.",
     "「友人に薦めますか」（0〜10点）の回答から計算する推奨度。−100〜+100。"),
    ("post-purchase", "ポストパーチェス（購入後体験）", "retention", "",
     "Everything after the first purchase: delivery, support, reviews, repeat-purchase prompts.",
     "初回購入後の体験全般。配送、サポート、レビュー依頼、再購入の案内など。"),
    ("CRM (customer relationship management)", "顧客関係管理", "retention", "",
     "Keeping in touch with known customers to raise repeat purchases and LTV.",
     "既存顧客との関係を保ち、リピート購入やLTVを高める取り組み。"),
    # customer-base models
    ("RFM", "RFM分析", "CLV models", "",
     "Describing each customer by recency, frequency and monetary value.",
     "最終購入日（Recency）、購入頻度（Frequency）、購入金額（Monetary）で顧客を表すこと。"),
    ("frequency", "購入頻度（リピート回数）", "CLV models", "number of purchases − 1",
     "Number of repeat purchases (purchases after the first one) in the observation window.",
     "観測期間内のリピート購入の回数（初回を除く）。"),
    ("recency", "リーセンシー（最終購入時点）", "CLV models", "last purchase − first purchase",
     "Time from a customer's first to last purchase (0 with no repeat purchase).",
     "初回購入から最終購入までの期間（リピートがなければ0）。"),
    ("T (customer age)", "観測期間（顧客年齢）", "CLV models", "end of observation − first purchase",
     "Time from a customer's first purchase to the end of the observation window.",
     "初回購入から観測期間の終わりまでの期間。"),
    ("monetary value", "平均購入金額", "CLV models", "mean value of the repeat purchases",
     "Average spend per repeat purchase.",
     "リピート購入1回あたりの平均金額。"),
    ("BG/NBD", "BG/NBDモデル", "CLV models", "",
     "Model of repeat buying: Poisson purchases while alive, a chance of dropping out after each.",
     "購買の確率モデル。生存中はポアソン過程で購入し、購入のたびに一定確率で離脱する。"),
    ("Pareto/NBD", "Pareto/NBDモデル", "CLV models", "",
     "Like BG/NBD, but customers can drop out at any moment (exponential lifetime).",
     "BG/NBDに似るが、離脱がいつでも起こりうる（寿命が指数分布）モデル。"),
    ("Gamma-Gamma", "ガンマ・ガンマモデル", "CLV models", "",
     "Model of spend per transaction, assumed independent of purchase frequency.",
     "1回あたりの購入金額のモデル。購入頻度とは独立と仮定する。"),
    ("P(alive)", "生存確率", "CLV models", "",
     "Probability that a customer has not yet dropped out, given their purchase history.",
     "購入履歴から見て、顧客がまだ離脱していない確率。"),
    ("calibration / holdout", "学習期間／検証期間（ホールドアウト）", "CLV models", "",
     "Fit a model on an earlier period and compare its forecast with the later, unseen period.",
     "前の期間でモデルを当てはめ、その予測を後の未使用の期間の実績と比べる検証方法。"),
    # KPI trees
    ("KGI (key goal indicator)", "重要目標達成指標", "KPI tree", "",
     "The final business goal, e.g. annual revenue or the number of contracts.",
     "事業の最終目標。年間売上や契約件数など。"),
    ("KSF (key success factor)", "重要成功要因", "KPI tree", "",
     "The factors that decide whether the KGI is reached, e.g. leads per month, repeat rate.",
     "KGI達成を左右する要因。月間リード数やリピート率など。"),
    ("KPI (key performance indicator)", "重要業績評価指標", "KPI tree", "",
     "A measurable driver of a KSF, reviewed regularly (e.g. inquiries, CVR, CPA).",
     "KSFを動かす測定可能な指標。定期的に確認する（問い合わせ数、CVR、CPAなど）。"),
    ("KPI tree", "KPIツリー", "KPI tree", "",
     "The KGI broken down into KSFs and KPIs, designed from the goal down.",
     "KGIをKSFとKPIに分解した木。目標から下へ向かって設計する。"),
]

_COLUMNS = ["term", "japanese", "topic", "formula", "definition", "definition_ja"]


# the Japanese edition's topics and formulas (the English ones are in _TERMS)
_TOPIC_JA = {"ad metrics": "広告指標", "customer value": "顧客価値", "funnel": "ファネル",
             "retention": "リテンション", "CLV models": "CLVモデル", "KPI tree": "KPIツリー"}
_FORMULA_JA = {
    "clicks / impressions": "クリック数 / 表示回数",
    "conversions / clicks": "CV数 / クリック数",
    "spend / clicks": "広告費 / クリック数",
    "spend / conversions": "広告費 / CV数",
    "revenue / spend": "売上 / 広告費",
    "revenue / orders": "売上 / 注文数",
    "sum over future periods of expected (discounted) value": "将来の各期間の期待価値（割引後）の合計",
    "acquisition spend / new customers": "獲得費用 / 新規顧客数",
    "customers acquired × LTV / spend": "獲得顧客数 × LTV / 広告費",
    "LTV / CAC": "LTV / CAC",
    "CAC / margin per customer per period": "CAC / 顧客1人・1期間あたりの粗利",
    "LTV / target LTV:CAC": "LTV / 目標LTV:CAC",
    "sum of points per behaviour": "行動ごとの点数の合計",
    "lead score ≥ threshold": "リードスコア ≥ しきい値",
    "active in period k / cohort size": "k期目の購入顧客数 / コホート人数",
    "customers lost / customers at the start": "離脱した顧客数 / 期首の顧客数",
    "first-time buyers with a 2nd purchase / first-time buyers": "2回目の購入をした初回購入者数 / 初回購入者数",
    "% promoters (9–10) − % detractors (0–6)": "推奨者（9〜10点）の% − 批判者（0〜6点）の%",
    "number of purchases − 1": "購入回数 − 1",
    "last purchase − first purchase": "最終購入日 − 初回購入日",
    "end of observation − first purchase": "観測終了日 − 初回購入日",
    "mean value of the repeat purchases": "リピート購入の平均金額",
}


def glossary(lang: str | None = None) -> pd.DataFrame:
    """The bilingual glossary of the terms used in the notebooks.

    Parameters
    ----------
    lang : {None, "en", "ja"}, default None
        ``None``: both definitions (columns ``definition`` and ``definition_ja``). ``"en"`` or
        ``"ja"``: only that language's definition, in a column named ``definition``; with ``"ja"`` the
        topic and the formula are in Japanese too.

    Returns
    -------
    pandas.DataFrame
        One row per term: ``term`` (English, with the abbreviation), ``japanese``, ``topic``,
        ``formula`` (empty string when the term has none) and the definition(s).

    Examples
    --------
    >>> g = glossary()
    >>> g.set_index("term").loc["CTR (click-through rate)", ["japanese", "formula"]].tolist()
    ['クリック率', 'clicks / impressions']
    >>> glossary("ja").query("term == 'LTV:CAC'")["definition"].item()
    '顧客の生涯価値が獲得コストの何倍になるか。'
    """
    _check_lang(lang, allow_none=True)
    table = pd.DataFrame(_TERMS, columns=_COLUMNS)
    if lang == "en":
        table = table.drop(columns="definition_ja")
    elif lang == "ja":
        table = table.drop(columns="definition").rename(columns={"definition_ja": "definition"})
        table["topic"] = table["topic"].map(lambda t: _TOPIC_JA.get(t, t))
        table["formula"] = table["formula"].map(lambda f: _FORMULA_JA.get(f, f))
    return table


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def glossary_markdown() -> str:
    """The glossary as the Markdown page ``docs/glossary.md`` (one table per topic).

    Examples
    --------
    >>> print(glossary_markdown().splitlines()[0])
    # Glossary / 用語集
    """
    table = glossary()
    lines = [
        "# Glossary / 用語集",
        "",
        "The marketing terms used in the cohortkit notebooks, in English and Japanese.",
        "cohortkit のノートブックで使うマーケティング用語（英語・日本語）。",
        "",
        "Generated from `cohortkit.glossary()` by `python -m cohortkit.style --glossary docs/glossary.md`;",
        "edit `cohortkit/style.py`, not this file.",
    ]
    for topic, rows in table.groupby("topic", sort=False):
        lines += [
            "",
            f"## {topic}",
            "",
            "| term | 日本語 | formula | definition | 定義 |",
            "|---|---|---|---|---|",
        ]
        for row in rows.itertuples(index=False):
            cells = [row.term, row.japanese, f"`{row.formula}`" if row.formula else "",
                     row.definition, row.definition_ja]
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the bilingual glossary as Markdown.")
    parser.add_argument("--glossary", default="docs/glossary.md", help="output file")
    args = parser.parse_args(argv)
    path = Path(args.glossary)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(glossary_markdown(), encoding="utf-8")
    print(f"wrote {path} ({len(glossary())} terms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
