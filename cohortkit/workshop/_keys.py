"""The answer keys: one ``check_*`` exercise per concept taught in the notebooks.

Each key returns the expected value from the exercise's inputs. Where the library computes the same
quantity under the same definition as the exercise's hint, the key calls the library, so that the rule
lives in one place: retention (:func:`cohortkit.cohort_table`), the discount rate per period
(:func:`cohortkit.clv.per_period_rate`) and the Gamma-Gamma expected spend (the clv model). The other
keys keep their own one-line formula, and say why next to it.

The ad and value ratios (CTR, CVR, CPC, CPA, ROAS, LTV-ROAS, LTV:CAC, allowable CPA, payback, stage
conversion) are the exercise's formula on the numbers the exercise gives. The library computes them
on tables (:func:`cohortkit.ad_metrics`, :func:`cohortkit.ad_value`, ``lead_funnel``) or with an
interval (:func:`cohortkit.rate`), where a zero denominator gives NaN and a note; a key must raise
``ZeroDivisionError`` instead, so that :func:`cohortkit.workshop.check` can say which copied input is
zero.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._args import parse_duration, renamed, unit_days
from .._errors import DataError
from ._exercise import exercise, other_way_round

__all__ = [
    "check_ctr",
    "check_cvr",
    "check_cpc",
    "check_cpa",
    "check_roas",
    "check_nps",
    "check_retention",
    "check_repeat_rate",
    "check_ltv_roas",
    "check_ltv_cac",
    "check_allowable_cpa",
    "check_payback",
    "check_budget_shift",
    "check_lead_score",
    "check_stage_conversion",
    "check_repeat_rate_lift",
    "check_per_period_rate",
    "check_expected_spend",
]


# --- ad metrics (notebook 01) ---------------------------------------------------------------------


@exercise(
    title="CTR",
    title_ja="CTR（クリック率）",
    hint="CTR = clicks / impressions, as a fraction.",
    hint_ja="CTR = クリック数 ÷ 表示回数（小数で）。",
    mistakes=[other_way_round("CTR = clicks / impressions", "CTR = クリック数 ÷ 表示回数")],
)
def check_ctr(clicks, impressions):
    """Click-through rate: ``clicks / impressions`` (100 clicks on 8,000 impressions → 0.0125)."""
    return clicks / impressions


@exercise(
    title="CVR",
    title_ja="CVR（コンバージョン率）",
    hint="CVR = conversions / clicks, as a fraction.",
    hint_ja="CVR = コンバージョン数 ÷ クリック数（小数で）。",
    mistakes=[other_way_round("CVR = conversions / clicks", "CVR = コンバージョン数 ÷ クリック数")],
)
def check_cvr(conversions, clicks):
    """Conversion rate per click: ``conversions / clicks``."""
    return conversions / clicks


@exercise(
    title="CPC",
    title_ja="CPC（クリック単価）",
    hint="CPC = ad spend / clicks.",
    hint_ja="CPC = 広告費 ÷ クリック数。",
    percent=False,
    mistakes=[other_way_round("CPC = spend / clicks", "CPC = 広告費 ÷ クリック数")],
)
def check_cpc(spend, clicks):
    """Cost per click: ``spend / clicks``."""
    return spend / clicks


@exercise(
    title="CPA",
    title_ja="CPA（顧客獲得単価）",
    hint="CPA = ad spend / conversions.",
    hint_ja="CPA = 広告費 ÷ コンバージョン数。",
    percent=False,
    mistakes=[other_way_round("CPA = spend / conversions", "CPA = 広告費 ÷ コンバージョン数")],
)
def check_cpa(spend, conversions):
    """Cost per acquisition (conversion): ``spend / conversions``."""
    return spend / conversions


@exercise(
    title="ROAS",
    title_ja="ROAS（広告費用対効果）",
    hint="ROAS = revenue / ad spend, as a ratio (3.0 means 300 %).",
    hint_ja="ROAS = 売上 ÷ 広告費（比率で。3.0 は 300 %）。",
    mistakes=[other_way_round("ROAS = revenue / spend", "ROAS = 売上 ÷ 広告費")],
)
def check_roas(revenue, spend):
    """Return on ad spend: ``revenue / spend``."""
    return revenue / spend


# --- NPS, retention, repeat rate (notebook 02) ----------------------------------------------------


def _nps_parts(scores) -> tuple[float, float]:
    # Own computation: cohortkit.nps() splits the scores the same way (9–10 / 0–6) but runs an engine
    # query on a table (about 60 ms); the key and its mistake hints need the two shares of a short list
    # many times per check, and the property tests call it hundreds of times.
    values = np.asarray(list(scores), dtype=float)
    if values.size == 0 or np.isnan(values).any() or (values < 0).any() or (values > 10).any():
        raise DataError(
            f"scores must be a non-empty list of 0–10 answers without missing values; got {values.size} "
            "values. Drop missing answers before computing the NPS."
        )
    return float((values >= 9).mean()), float((values <= 6).mean())


@exercise(
    title="NPS",
    title_ja="NPS（ネット・プロモーター・スコア）",
    hint="NPS = % promoters (9–10) − % detractors (0–6), in points from −100 to 100.",
    hint_ja="NPS = 推奨者（9〜10点）の割合 − 批判者（0〜6点）の割合。−100〜100 のポイントで。",
    percent=False,
    atol=0.05,
    mistakes=[
        (lambda scores: _nps_parts(scores)[0] - _nps_parts(scores)[1],
         "give the NPS in points (−100 to 100), not as a fraction: multiply by 100.",
         "NPS は割合ではなくポイント（−100〜100）で答えます。100 を掛けてください。"),
        (lambda scores: 100 * (np.asarray(list(scores)) >= 7).mean() - 100 * _nps_parts(scores)[1],
         "promoters are only the 9s and 10s; 7–8 are passives and count in neither group.",
         "推奨者は 9〜10 点だけです。7〜8 点は中立者で、どちらにも数えません。"),
        (lambda scores: 100 * _nps_parts(scores)[0],
         "subtract the share of detractors (0–6) from the share of promoters.",
         "推奨者の割合から批判者（0〜6点）の割合を引いてください。"),
    ],
)
def check_nps(scores):
    """Net Promoter Score of 0–10 answers, in points: ``100 × (share ≥ 9 − share ≤ 6)``."""
    promoters, detractors = _nps_parts(scores)
    return 100 * (promoters - detractors)


def _customer_months(data, customer_col: str, date_col: str) -> pd.DataFrame:
    """The exercise's transactions as ``customer, date`` (the day) and ``month`` (year * 12 + month - 1)."""
    if not isinstance(data, pd.DataFrame):
        raise DataError(
            f"data must be a pandas DataFrame of transactions; got {type(data).__name__}. "
            "Load it with cohortkit.datasets or pandas first."
        )
    for argument, column in (("customer_col", customer_col), ("date_col", date_col)):
        if column not in data.columns:
            raise DataError(
                f"{argument}={column!r} is not a column of data; the columns are "
                f"{list(map(str, data.columns))}. Pass {argument}= with the right name."
            )
    dates = pd.to_datetime(data[date_col])
    return pd.DataFrame(
        {
            "customer": data[customer_col].astype(str).to_numpy(),
            "date": dates.dt.normalize().to_numpy(),
            "month": (dates.dt.year * 12 + dates.dt.month - 1).to_numpy(),
        }
    )


@renamed(period="period_number")
@exercise(
    title="retention",
    title_ja="継続率",
    hint="Group customers by the month of their first purchase; count those who buy again in "
    "month +period_number, and divide by the cohort size.",
    hint_ja="初回購入月で顧客をまとめ、period_number か月後の月にも購入した顧客数をコホートの人数で割ります。",
    mistakes=[
        (lambda data, period_number=1, cohort=None, customer_col="customer_id", date_col="date":
         1 - _retention(data, period_number, cohort, customer_col, date_col),
         "that is the churn (1 − retention). Count the customers who DID buy in that month.",
         "それは離脱率（1 − 継続率）です。その月に購入した顧客を数えてください。"),
    ],
)
def check_retention(data, period_number=1, cohort=None, customer_col="customer_id", date_col="date"):
    """Month-``period_number`` retention of acquisition cohorts (calendar months), pooled or one ``cohort``.

    A customer's cohort is the calendar month of their first purchase; they are retained in period
    ``k`` when they buy in calendar month cohort + ``k``. Pooled over the cohorts whose month +
    ``period_number`` lies within the data (or only ``cohort="YYYY-MM"``).
    """
    return _retention(data, period_number, cohort, customer_col, date_col)


def _retention(data, period, cohort, customer_col, date_col) -> float:
    # The library's rule: cohort_table(time_unit="M") counts a customer active in period n when they
    # buy in calendar month cohort + n, as the exercise does. Its table leaves out months after the
    # observation end, so the end is set to the last day of the data's last month: every month of
    # the data counts, as the exercise says. Pooling is the exercise's own step (summed cells).
    from ..cohort import cohort_table

    last_month = int(_customer_months(data, customer_col, date_col)["month"].max())
    end = pd.Timestamp(year=last_month // 12, month=last_month % 12 + 1, day=1) + pd.offsets.MonthEnd(0)
    table = cohort_table(data, customer_col=customer_col, date_col=date_col, time_unit="M", observation_end=end)
    cells = table[table["period_number"] == period]
    if cohort is not None:
        cells = cells[cells["cohort"] == pd.Period(cohort, freq="M")]
    if cells.empty:
        raise DataError(
            f"no customers to compute month-{period} retention for (cohort={cohort!r}); pick a cohort "
            "and period that the data covers."
        )
    return int(cells["active_customers"].sum()) / int(cells["cohort_size"].sum())


@renamed(within_days="window")
@exercise(
    title="repeat (F2) rate",
    title_ja="F2転換率（リピート率）",
    hint="Among all customers, the share who bought again on a later day than their first purchase "
    "(within the `window` when given, e.g. '90D').",
    hint_ja="全顧客のうち、初回購入日より後の日に（window の指定があればその期間内に）"
    "再購入した顧客の割合です。",
    mistakes=[
        (lambda data, window=None, customer_col="customer_id", date_col="date":
         _repeaters(data, window, customer_col, date_col)[0],
         "that is the number of repeat buyers; divide it by the number of first-time buyers.",
         "それはリピート購入者の人数です。初回購入者の人数で割ってください。"),
    ],
)
def check_repeat_rate(data, window=None, customer_col="customer_id", date_col="date"):
    """Share of customers with a second purchase on a later day (within ``window``: '90D' or days)."""
    repeaters, customers = _repeaters(data, window, customer_col, date_col)
    return repeaters / customers


def _repeaters(data, window, customer_col, date_col) -> tuple[int, int]:
    # Own computation: cohortkit.repeat_rate() divides by the *eligible* first-time buyers, those whose
    # whole window has been observed, and always has a window. The exercise divides by all customers
    # and, without a window, counts any later day (e.g. the published CDNOW calibration count).
    tx = _customer_months(data, customer_col, date_col)
    first = tx.groupby("customer")["date"].transform("min")
    later = tx["date"] > first
    if window is not None:
        span = parse_duration(window, argument="window") if isinstance(window, str) else pd.Timedelta(days=window)
        later &= (tx["date"] - first) <= span
    return int(tx.loc[later, "customer"].nunique()), int(tx["customer"].nunique())


# --- lifetime value and ad value (notebooks 03 and 04) ---------------------------------------------


@exercise(
    title="LTV-ROAS",
    title_ja="LTVベースのROAS",
    hint="LTV-ROAS = customers acquired × LTV per customer / ad spend.",
    hint_ja="LTV-ROAS = 獲得顧客数 × 1人あたりLTV ÷ 広告費。",
    mistakes=[
        (lambda customers, ltv, spend: ltv / spend,
         "multiply the LTV per customer by the number of customers acquired.",
         "1人あたりLTVに獲得顧客数を掛けてください。"),
        other_way_round("value / spend", "価値 ÷ 広告費", sep=": "),
    ],
)
def check_ltv_roas(customers, ltv, spend):
    """ROAS counted with lifetime value: ``customers × ltv / spend``."""
    return customers * ltv / spend


@exercise(
    title="LTV:CAC",
    title_ja="LTV:CAC",
    hint="LTV:CAC = LTV per customer / acquisition cost per customer.",
    hint_ja="LTV:CAC = 1人あたりLTV ÷ 1人あたり獲得コスト。",
    percent=False,
    mistakes=[other_way_round("LTV / CAC", "LTV ÷ CAC", sep=": ")],
)
def check_ltv_cac(ltv, cac):
    """Lifetime value over acquisition cost: ``ltv / cac``."""
    return ltv / cac


@exercise(
    title="allowable CPA",
    title_ja="許容CPA",
    hint="Allowable CPA = LTV / target LTV:CAC ratio.",
    hint_ja="許容CPA = LTV ÷ 目標とする LTV:CAC 比率。",
    percent=False,
    mistakes=[
        (lambda ltv, target_ratio=3.0: ltv * target_ratio,
         "divide the LTV by the target ratio, don't multiply.",
         "LTV に目標比率を掛けるのではなく、割ってください。"),
    ],
)
def check_allowable_cpa(ltv, target_ratio=3.0):
    """Highest CPA that keeps LTV:CAC at the target: ``ltv / target_ratio``."""
    return ltv / target_ratio


@exercise(
    title="payback period",
    title_ja="投資回収期間",
    hint="Payback = acquisition cost / margin per customer per period.",
    hint_ja="回収期間 = 獲得コスト ÷ 1人・1期間あたりの利益。",
    percent=False,
    mistakes=[other_way_round("CAC / margin per period", "CAC ÷ 期間あたり利益", sep=": ")],
)
def check_payback(cac, margin_per_period):
    """Periods needed to earn back the acquisition cost: ``cac / margin_per_period``."""
    return cac / margin_per_period


# --- budget what-if, lead scoring, KPI trees (notebooks 04 and 05) ---------------------------------


@exercise(
    title="value change of the budget move",
    title_ja="予算移動による価値の変化",
    hint="Constant returns: the moved yen stop earning the old LTV-ROAS and start earning the new one, "
    "so value change = moved × (LTV-ROAS of the receiving campaign − LTV-ROAS of the giving one).",
    hint_ja="収穫一定なら、移した金額は元のLTV-ROASを失い、移し先のLTV-ROASを得ます。"
    "価値の変化 = 移動額 × (移し先のLTV-ROAS − 移し元のLTV-ROAS)。",
    percent=False,
    mistakes=[
        (lambda moved, roas_from, roas_to: moved * roas_to,
         "that is only what the moved budget earns in its new campaign; subtract what it earned before "
         "(moved × LTV-ROAS of the giving campaign).",
         "それは移した予算が移し先で生む価値だけです。移し元で生んでいた価値（移動額 × 移し元のLTV-ROAS）を引いてください。"),
        (lambda moved, roas_from, roas_to: moved * (roas_from - roas_to),
         "the sign is reversed: receiving minus giving.",
         "符号が逆です。移し先 − 移し元 です。"),
    ],
)
def check_budget_shift(moved, roas_from, roas_to):
    """Value change of moving ``moved`` yen between campaigns at constant returns:
    ``moved × (roas_to − roas_from)``."""
    # The exercise's formula: cohortkit.reallocate() gives the same value change for a plan, but
    # works on a campaign table with spends, which the exercise does not give.
    return moved * (roas_to - roas_from)


@exercise(
    title="lead score",
    title_ja="リードスコア",
    hint="Score = page views × points per view + seminars × points per seminar + document requests × "
    "points per request.",
    hint_ja="スコア = 製品ページ閲覧数 × 閲覧の点数 + セミナー参加数 × セミナーの点数 + 資料請求数 × 資料請求の点数。",
    percent=False,
    mistakes=[
        (lambda page_views, seminars, document_requests, view_points=10, seminar_points=20,
         document_points=30: view_points + seminar_points + document_points,
         "count every event, not each kind once: multiply the points by the number of events.",
         "種類ごとに1回ではなく、すべての行動を数えます。点数に回数を掛けてください。"),
    ],
)
def check_lead_score(page_views, seminars, document_requests, view_points=10, seminar_points=20,
                     document_points=30):
    """Rule-based lead score: points per behaviour times how often the lead did it."""
    # The exercise gives counts and points per behaviour; cohortkit.lead_scores() scores an event log
    # (the defaults here are its DEFAULT_POINTS, which tests/workshop/test_notebooks_b.py checks).
    return page_views * view_points + seminars * seminar_points + document_requests * document_points


@exercise(
    title="stage conversion",
    title_ja="ステージ間の転換率",
    hint="Stage conversion = leads that reached this stage / leads that reached the previous stage.",
    hint_ja="転換率 = このステージに到達したリード数 ÷ 前のステージに到達したリード数。",
    mistakes=[other_way_round("reached / previous", "到達数 ÷ 前ステージの数", sep=": ")],
)
def check_stage_conversion(reached, previous):
    """Conversion from one funnel stage to the next: ``reached / previous``."""
    return reached / previous


@exercise(
    title="revenue change from the repeat rate",
    title_ja="リピート率による売上の変化",
    hint="Revenue is proportional to (1 + repeat_rate), so the relative change is "
    "(1 + repeat_rate × (1 + change)) / (1 + repeat_rate) − 1.",
    hint_ja="売上は (1 + リピート率) に比例するので、変化率は "
    "(1 + リピート率 × (1 + 変化)) ÷ (1 + リピート率) − 1 です。",
    mistakes=[
        (lambda repeat_rate, change=0.10: change,
         "the repeat rate enters as (1 + repeat_rate), not as a factor: +10 % of it moves revenue by less "
         "than 10 %.",
         "リピート率は掛け算の因子ではなく (1 + リピート率) の形で効くので、10 % 上げても売上は 10 % も増えません。"),
    ],
)
def check_repeat_rate_lift(repeat_rate, change=0.10):
    """Relative revenue change when the repeat rate in ``× (1 + repeat_rate)`` rises by ``change``."""
    # The exercise's one-node tree; cohortkit.kpi_tree() evaluates any tree of formulas the same way.
    return (1 + repeat_rate * (1 + change)) / (1 + repeat_rate) - 1


# --- CLV: discount rate per period, Gamma-Gamma spend (notebook 03) -------------------------------


@exercise(
    title="discount rate per period",
    title_ja="1期間あたりの割引率",
    hint="Compound, don't divide: rate per period = (1 + annual rate) ** (days per period / 365.25) − 1 "
    "(7 days for time_unit='W', 1 for 'D').",
    hint_ja="割り算ではなく複利で換算します: 1期間あたりの割引率 = (1 + 年率) ** (1期間の日数 ÷ 365.25) − 1"
    "（time_unit='W' なら7日、'D' なら1日）。",
    mistakes=[
        (lambda annual_rate, time_unit="W": annual_rate * unit_days(time_unit) / 365.25,
         "close, but dividing the annual rate ignores compounding: use (1 + annual) ** (days / 365.25) − 1.",
         "近いですが、年率を割るだけでは複利が無視されます。(1 + 年率) ** (日数 ÷ 365.25) − 1 を使ってください。"),
        (lambda annual_rate, time_unit="W": (1 + annual_rate) ** (1 / 12) - 1,
         "that is a monthly rate; the period here is a day or a week, not a month.",
         "それは月あたりの割引率です。ここでの期間は月ではなく日または週です。"),
    ],
)
def check_per_period_rate(annual_rate, time_unit="W"):
    """Discount rate per day or week equivalent to ``annual_rate``: ``(1 + annual) ** (days / 365.25) − 1``."""
    from ..clv import per_period_rate

    return per_period_rate(annual_rate, time_unit)


@exercise(
    title="expected spend per purchase (Gamma-Gamma)",
    title_ja="1回あたりの期待購入額（Gamma-Gamma）",
    hint="E[spend] = p · (v + x · m) / (p · x + q − 1), with x the repeat purchases and m their average: a "
    "weighted mean of the population mean p · v / (q − 1) and the customer's own average m.",
    hint_ja="期待購入額 = p · (v + x · m) ÷ (p · x + q − 1)（x はリピート購入回数、m はその平均額）。"
    "母集団の平均 p · v ÷ (q − 1) と顧客自身の平均 m の加重平均です。",
    percent=False,
    mistakes=[
        (lambda frequency, monetary_value, p, q, v: monetary_value,
         "that is the customer's own average, which is noisy with few purchases; shrink it towards the "
         "population mean p · v / (q − 1).",
         "それは顧客自身の平均額です。購入回数が少ないとぶれるので、母集団の平均 p · v ÷ (q − 1) に寄せてください。"),
        (lambda frequency, monetary_value, p, q, v: p * v / (q - 1),
         "that is the population mean; give the customer's own average weight p · x / (p · x + q − 1).",
         "それは母集団の平均です。顧客自身の平均額に p · x ÷ (p · x + q − 1) の重みを付けてください。"),
    ],
)
def check_expected_spend(frequency, monetary_value, p, q, v):
    """Gamma-Gamma expected spend per purchase of a customer with ``frequency`` repeat purchases
    averaging ``monetary_value`` (Fader, Hardie & Lee 2005): ``p (v + x m) / (p x + q − 1)``."""
    # The clv model's conditional expectation (what CLVModel.expected_spend uses), on given parameters.
    from ..clv._gamma_gamma import GammaGamma

    return float(GammaGamma().expected_spend((p, q, v), frequency, monetary_value))
