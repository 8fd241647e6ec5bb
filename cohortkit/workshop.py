"""Workshop mode: answer checks for exercise cells, and the attendee / instructor notebook build.

In an exercise cell the attendee computes an answer and calls a check, which prints ✅ or ❌ with a
hint and returns ``True`` / ``False``. The expected value is computed from the same inputs the
exercise gives (so the check stays right when the data or numbers change)::

    answer = ...  # CTR of 100 clicks on 8,000 impressions, as a fraction
    check_ctr(answer, clicks=100, impressions=8000)

Messages are in English or Japanese: ``lang="en"``/``"ja"``, or by default the language of the last
:func:`cohortkit.set_style` call.

Adding an exercise (two lines)
------------------------------
Decorate a function that returns the expected value from the exercise's inputs; its name must start
with ``check_``, and the decorated name is the check attendees call::

    @exercise(hint="AOV = revenue / orders", hint_ja="客単価 = 売上 ÷ 注文数", percent=False)
    def check_aov(revenue, orders): return revenue / orders

It is registered under ``"aov"`` (so ``check("aov", answer, revenue=..., orders=...)`` works too).
Optional arguments: ``title``/``title_ja`` (what is being checked), ``rtol``/``atol`` (tolerance,
default 0.5 % relative), ``percent=True`` (the answer is a fraction; an answer 100× too big gets a
"give a fraction, not a percentage" hint; strings such as ``"1.25%"`` are accepted) and ``mistakes``,
a list of ``(function, hint, hint_ja)`` recognising a typical wrong answer (e.g. dividing the other
way) and answering it with a specific hint. Put the check in this module (or your own) and import it
in the notebook.

Attendee and instructor notebooks
---------------------------------
``python -m cohortkit.workshop --notebooks notebooks --out workshop`` (``make workshop``) writes

* ``workshop/attendee/*.ipynb``: cells tagged ``solution`` removed, every output cleared (cells tagged
  ``exercise`` are kept, empty, for the attendee to fill in);
* ``workshop/instructor/*.ipynb``: every cell kept, as in the source.

Examples
--------
>>> check_ctr(0.0125, clicks=100, impressions=8000, lang="en")
✅ Correct! CTR = 0.0125 (1.25 %).
True
>>> check_ctr(80, clicks=100, impressions=8000, lang="ja")
❌ 不正解です（あなたの答え: 80）。ヒント: 逆に割っています。CTR = クリック数 ÷ 表示回数 です。
False
"""

from __future__ import annotations

import argparse
import copy
import inspect
import math
import numbers
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ._args import parse_duration, renamed
from ._errors import DataError

__all__ = [
    "check",
    "exercise",
    "exercises",
    "build_workshop",
    "attendee_version",
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
]

Mistake = tuple[Callable[..., float], str, str]


@dataclass(frozen=True)
class _Exercise:
    name: str
    expected: Callable[..., float]
    title: str
    title_ja: str
    hint: str
    hint_ja: str
    rtol: float = 0.005
    atol: float = 1e-9
    percent: bool = True
    mistakes: tuple[Mistake, ...] = field(default_factory=tuple)


_REGISTRY: dict[str, _Exercise] = {}


def exercise(
    *,
    hint: str,
    hint_ja: str,
    title: str | None = None,
    title_ja: str | None = None,
    rtol: float = 0.005,
    atol: float = 1e-9,
    percent: bool = True,
    mistakes: Sequence[Mistake] = (),
):
    """Decorator turning ``check_NAME(**inputs) -> expected value`` into an answer check.

    The decorated function becomes ``check_NAME(answer, *, lang=None, **inputs) -> bool`` and is
    registered under ``NAME`` for :func:`check`. The original function stays available as
    ``check_NAME.expected``. See the module docstring for the arguments.

    Examples
    --------
    >>> @exercise(hint="AOV = revenue / orders", hint_ja="客単価 = 売上 ÷ 注文数", percent=False)
    ... def check_aov(revenue, orders): return revenue / orders
    >>> check_aov(2500, revenue=10_000, orders=4, lang="en")
    ✅ Correct! AOV = 2500.
    True
    >>> check_aov.expected(revenue=10_000, orders=4)
    2500.0
    """

    def decorate(fn: Callable[..., float]):
        if not fn.__name__.startswith("check_"):
            raise DataError(
                f"exercise function name must start with 'check_'; got {fn.__name__!r}. "
                f"Rename it to 'check_{fn.__name__}'."
            )
        name = fn.__name__.removeprefix("check_")
        label = title or name.upper().replace("_", " ")
        _REGISTRY[name] = _Exercise(
            name, fn, label, title_ja or label, hint, hint_ja, rtol, atol, percent, tuple(mistakes)
        )

        def check_fn(answer, *, lang: str | None = None, **inputs) -> bool:
            return check(name, answer, lang=lang, **inputs)

        params = [inspect.Parameter("answer", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        params += [
            p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
            for p in inspect.signature(fn).parameters.values()
        ]
        params.append(inspect.Parameter("lang", inspect.Parameter.KEYWORD_ONLY, default=None))
        check_fn.__signature__ = inspect.Signature(params, return_annotation=bool)
        check_fn.__name__ = check_fn.__qualname__ = fn.__name__
        check_fn.__module__ = fn.__module__
        check_fn.__doc__ = (fn.__doc__ or f"Check an answer for {label}.") + (
            "\n\nPrints ✅ or ❌ with a hint and returns True when ``answer`` is right."
        )
        check_fn.expected = fn
        return check_fn

    return decorate


def exercises() -> pd.DataFrame:
    """The registered exercises: name, what is checked, inputs and tolerance.

    Examples
    --------
    >>> "ctr" in exercises()["name"].tolist()
    True
    """
    rows = [
        {
            "name": ex.name,
            "check": f"check_{ex.name}",
            "title": ex.title,
            "title_ja": ex.title_ja,
            "inputs": ", ".join(inspect.signature(ex.expected).parameters),
            "rtol": ex.rtol,
            "atol": ex.atol,
        }
        for ex in _REGISTRY.values()
    ]
    return pd.DataFrame(rows)


# --- the generic check --------------------------------------------------------------------------

_MESSAGES = {
    "en": {
        "ok": "✅ Correct! {title} = {value}.",
        "wrong": "❌ Not quite (your answer: {answer}). Hint: {hint}",
        "todo": "✏️ Replace ... with your answer, then run the cell again.",
        "nan": "❌ Your answer is not a number ({answer!r}). Hint: {hint}",
        "percent": "❌ Your answer looks like a percentage ({answer}). Give the rate as a fraction, "
        "e.g. 0.0125 for 1.25 %.",
    },
    "ja": {
        "ok": "✅ 正解です！ {title} = {value}。",
        "wrong": "❌ 不正解です（あなたの答え: {answer}）。ヒント: {hint}",
        "todo": "✏️ ... をあなたの答えに置き換えて、もう一度セルを実行してください。",
        "nan": "❌ 答えが数値ではありません（{answer!r}）。ヒント: {hint}",
        "percent": "❌ パーセントで答えているようです（{answer}）。割合は小数で答えてください"
        "（例: 1.25 % なら 0.0125）。",
    },
}


def _resolve_lang(lang: str | None) -> str:
    if lang is None:
        from .style import current_lang

        return current_lang()
    if lang not in _MESSAGES:
        raise DataError(f"lang must be \"en\" or \"ja\" or None; got {lang!r}. Use lang=\"ja\" for Japanese.")
    return lang


_NUMBER = re.compile(r"^\s*([-+]?(?:\d[\d,_]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(%|％)?\s*$")


def _as_number(answer) -> float | None:
    """A float from a number, a 0-d/size-1 array or a string like "1.25%"; None if impossible."""
    if isinstance(answer, bool) or answer is None:
        return None
    if isinstance(answer, numbers.Real):
        return float(answer)
    if isinstance(answer, str):
        match = _NUMBER.match(answer)
        if not match:
            return None
        value = float(match.group(1).replace(",", "").replace("_", ""))
        return value / 100 if match.group(2) else value
    if isinstance(answer, (np.ndarray, pd.Series)) and answer.size == 1:
        return _as_number(answer.reshape(-1)[0] if isinstance(answer, np.ndarray) else answer.iloc[0])
    return None


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def _close(a: float, b: float, ex: _Exercise) -> bool:
    return math.isfinite(a) and math.isfinite(b) and math.isclose(a, b, rel_tol=ex.rtol, abs_tol=ex.atol)


def check(name: str, answer, *, lang: str | None = None, **inputs) -> bool:
    """Check ``answer`` against the registered exercise ``name`` computed on ``inputs``.

    Prints a ✅ / ❌ message (with a hint when wrong) in ``lang`` (default: the language of the last
    :func:`cohortkit.set_style` call) and returns whether the answer is right. Answers may be numbers,
    size-1 arrays or strings like ``"1.25%"``; ``...`` (the placeholder) returns False with a reminder.

    Examples
    --------
    >>> check("cvr", 0.05, conversions=5, clicks=100, lang="en")
    ✅ Correct! CVR = 0.05 (5 %).
    True
    >>> check("cvr", ..., conversions=5, clicks=100, lang="en")
    ✏️ Replace ... with your answer, then run the cell again.
    False
    """
    if name not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY))
        raise DataError(f"no exercise named {name!r}; the registered exercises are: {known}.")
    ex = _REGISTRY[name]
    text = _MESSAGES[_resolve_lang(lang)]
    ja = text is _MESSAGES["ja"]
    signature = inspect.signature(ex.expected)
    try:
        signature.bind(**inputs)
    except TypeError:
        needed = ", ".join(signature.parameters)
        raise DataError(
            f"check_{name}() needs the exercise inputs ({needed}) as keyword arguments; got "
            f"({', '.join(inputs) or 'none'}). Copy them from the exercise cell."
        ) from None
    try:
        expected = float(ex.expected(**inputs))
    except ZeroDivisionError:
        given = ", ".join(f"{k}={v!r}" for k, v in inputs.items())
        raise DataError(
            f"check_{name}() cannot compute the expected value: a denominator is zero in ({given}). "
            "Check the numbers copied from the exercise cell."
        ) from None
    hint = ex.hint_ja if ja else ex.hint

    if answer is Ellipsis:
        print(text["todo"])
        return False
    value = _as_number(answer)
    if value is None or math.isnan(value):
        print(text["nan"].format(answer=answer, hint=hint))
        return False
    if _close(value, expected, ex):
        shown = _fmt(expected)
        if ex.percent:
            shown += f" ({expected * 100:.4g} %)"
        print(text["ok"].format(title=ex.title_ja if ja else ex.title, value=shown))
        return True
    for wrong, mistake_hint, mistake_hint_ja in ex.mistakes:
        try:
            alternative = float(wrong(**inputs))
        except ZeroDivisionError:
            continue
        if _close(value, alternative, ex):
            hint = mistake_hint_ja if ja else mistake_hint
            break
    else:
        if ex.percent and _close(value, expected * 100, ex):
            print(text["percent"].format(answer=_fmt(value)))
            return False
    print(text["wrong"].format(answer=_fmt(value), hint=hint))
    return False


# --- built-in exercises -------------------------------------------------------------------------


@exercise(
    title="CTR",
    title_ja="CTR（クリック率）",
    hint="CTR = clicks / impressions, as a fraction.",
    hint_ja="CTR = クリック数 ÷ 表示回数（小数で）。",
    mistakes=[
        (lambda clicks, impressions: impressions / clicks,
         "you divided the other way round. CTR = clicks / impressions.",
         "逆に割っています。CTR = クリック数 ÷ 表示回数 です。"),
    ],
)
def check_ctr(clicks, impressions):
    """Click-through rate: ``clicks / impressions`` (100 clicks on 8,000 impressions → 0.0125)."""
    return clicks / impressions


@exercise(
    title="CVR",
    title_ja="CVR（コンバージョン率）",
    hint="CVR = conversions / clicks, as a fraction.",
    hint_ja="CVR = コンバージョン数 ÷ クリック数（小数で）。",
    mistakes=[
        (lambda conversions, clicks: clicks / conversions,
         "you divided the other way round. CVR = conversions / clicks.",
         "逆に割っています。CVR = コンバージョン数 ÷ クリック数 です。"),
    ],
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
    mistakes=[
        (lambda spend, clicks: clicks / spend,
         "you divided the other way round. CPC = spend / clicks.",
         "逆に割っています。CPC = 広告費 ÷ クリック数 です。"),
    ],
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
    mistakes=[
        (lambda spend, conversions: conversions / spend,
         "you divided the other way round. CPA = spend / conversions.",
         "逆に割っています。CPA = 広告費 ÷ コンバージョン数 です。"),
    ],
)
def check_cpa(spend, conversions):
    """Cost per acquisition (conversion): ``spend / conversions``."""
    return spend / conversions


@exercise(
    title="ROAS",
    title_ja="ROAS（広告費用対効果）",
    hint="ROAS = revenue / ad spend, as a ratio (3.0 means 300 %).",
    hint_ja="ROAS = 売上 ÷ 広告費（比率で。3.0 は 300 %）。",
    mistakes=[
        (lambda revenue, spend: spend / revenue,
         "you divided the other way round. ROAS = revenue / spend.",
         "逆に割っています。ROAS = 売上 ÷ 広告費 です。"),
    ],
)
def check_roas(revenue, spend):
    """Return on ad spend: ``revenue / spend``."""
    return revenue / spend


def _nps_parts(scores) -> tuple[float, float]:
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
    tx = _customer_months(data, customer_col, date_col)
    first = tx.groupby("customer")["month"].transform("min")
    tx["age"] = tx["month"] - first
    tx["cohort"] = first
    cohorts = tx.groupby("customer")["cohort"].first()
    if cohort is not None:
        stamp = pd.Period(cohort, freq="M")
        cohorts = cohorts[cohorts == stamp.year * 12 + stamp.month - 1]
    cohorts = cohorts[cohorts + period <= tx["month"].max()]
    if cohorts.empty:
        raise DataError(
            f"no customers to compute month-{period} retention for (cohort={cohort!r}); pick a cohort "
            "and period that the data covers."
        )
    retained = tx.loc[(tx["age"] == period) & tx["customer"].isin(cohorts.index), "customer"].nunique()
    return retained / len(cohorts)


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
    tx = _customer_months(data, customer_col, date_col)
    first = tx.groupby("customer")["date"].transform("min")
    later = tx["date"] > first
    if window is not None:
        span = parse_duration(window, argument="window") if isinstance(window, str) else pd.Timedelta(days=window)
        later &= (tx["date"] - first) <= span
    return int(tx.loc[later, "customer"].nunique()), int(tx["customer"].nunique())


@exercise(
    title="LTV-ROAS",
    title_ja="LTVベースのROAS",
    hint="LTV-ROAS = customers acquired × LTV per customer / ad spend.",
    hint_ja="LTV-ROAS = 獲得顧客数 × 1人あたりLTV ÷ 広告費。",
    mistakes=[
        (lambda customers, ltv, spend: ltv / spend,
         "multiply the LTV per customer by the number of customers acquired.",
         "1人あたりLTVに獲得顧客数を掛けてください。"),
        (lambda customers, ltv, spend: spend / (customers * ltv),
         "you divided the other way round: value / spend.",
         "逆に割っています。価値 ÷ 広告費 です。"),
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
    mistakes=[
        (lambda ltv, cac: cac / ltv,
         "you divided the other way round: LTV / CAC.",
         "逆に割っています。LTV ÷ CAC です。"),
    ],
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
    mistakes=[
        (lambda cac, margin_per_period: margin_per_period / cac,
         "you divided the other way round: CAC / margin per period.",
         "逆に割っています。CAC ÷ 期間あたり利益 です。"),
    ],
)
def check_payback(cac, margin_per_period):
    """Periods needed to earn back the acquisition cost: ``cac / margin_per_period``."""
    return cac / margin_per_period


# --- attendee / instructor build ----------------------------------------------------------------


def _tags(cell) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def attendee_version(nb):
    """Copy of notebook ``nb`` without ``solution`` cells and with every output cleared.

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook(cells=[
    ...     nbformat.v4.new_code_cell("answer = ...", metadata={"tags": ["exercise"]}),
    ...     nbformat.v4.new_code_cell("answer = 100 / 8000", metadata={"tags": ["solution"]})])
    >>> [c.source for c in attendee_version(nb).cells]
    ['answer = ...']
    """
    out = copy.deepcopy(nb)
    for index, cell in enumerate(out.cells):
        if {"solution", "exercise"} <= _tags(cell):
            raise DataError(
                f"cell {index} is tagged both 'solution' and 'exercise'; a solution would be removed "
                "with the exercise. Split it into an exercise cell and a solution cell."
            )
    out.cells = [cell for cell in out.cells if "solution" not in _tags(cell)]
    for cell in out.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        for key in ("execution", "papermill"):
            cell.metadata.pop(key, None)
    return out


def build_workshop(
    notebooks: str | Path = "notebooks", out: str | Path = "workshop"
) -> dict[str, list[Path]]:
    """Write the attendee and instructor versions of every notebook in ``notebooks``.

    ``out/attendee/NAME.ipynb`` has the cells tagged ``solution`` removed and all outputs cleared;
    ``out/instructor/NAME.ipynb`` keeps every cell. Returns the written paths per version.

    Examples
    --------
    >>> import tempfile, nbformat
    >>> from pathlib import Path
    >>> tmp = Path(tempfile.mkdtemp())
    >>> nb = nbformat.v4.new_notebook(cells=[
    ...     nbformat.v4.new_markdown_cell("**Exercise.** What is the CTR of 30 clicks on 1,000 impressions?",
    ...                                   metadata={"tags": ["exercise"]}),
    ...     nbformat.v4.new_code_cell("ctr = 30 / 1000", metadata={"tags": ["solution"]})])
    >>> (tmp / "nb").mkdir(); nbformat.write(nb, tmp / "nb" / "01-ctr.ipynb")
    >>> written = build_workshop(tmp / "nb", tmp / "out")
    01-ctr.ipynb: 1 exercise cells, 1 solution cells removed for attendees
    >>> [len(nbformat.read(p, as_version=4).cells) for p in written["attendee"] + written["instructor"]]
    [1, 2]
    """
    import nbformat

    notebooks, out = Path(notebooks), Path(out)
    sources = sorted(notebooks.glob("*.ipynb"))
    if not sources:
        raise DataError(f"notebooks={str(notebooks)!r} holds no .ipynb files. Pass the notebooks folder.")
    written: dict[str, list[Path]] = {"attendee": [], "instructor": []}
    for kind in written:
        (out / kind).mkdir(parents=True, exist_ok=True)
    for src in sources:
        nb = nbformat.read(src, as_version=4)
        try:
            student = attendee_version(nb)
        except DataError as exc:
            raise DataError(f"{src.name}: {exc}") from None
        for kind, version in (("attendee", student), ("instructor", nb)):
            nbformat.validate(version)
            target = out / kind / src.name
            nbformat.write(version, target)
            written[kind].append(target)
        removed = len(nb.cells) - len(student.cells)
        n_exercises = sum("exercise" in _tags(c) for c in nb.cells)
        print(f"{src.name}: {n_exercises} exercise cells, {removed} solution cells removed for attendees")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build attendee and instructor notebooks (make workshop).")
    parser.add_argument("--notebooks", default="notebooks")
    parser.add_argument("--out", default="workshop")
    args = parser.parse_args(argv)
    try:
        written = build_workshop(args.notebooks, args.out)
    except DataError as exc:
        print(f"make workshop: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {len(written['attendee'])} attendee and {len(written['instructor'])} instructor "
          f"notebooks into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())


# --- exercises of notebooks 04 and 05 (budget what-if, lead scoring, KPI trees) -----------------


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
    return page_views * view_points + seminars * seminar_points + document_requests * document_points


@exercise(
    title="stage conversion",
    title_ja="ステージ間の転換率",
    hint="Stage conversion = leads that reached this stage / leads that reached the previous stage.",
    hint_ja="転換率 = このステージに到達したリード数 ÷ 前のステージに到達したリード数。",
    mistakes=[
        (lambda reached, previous: previous / reached,
         "you divided the other way round: reached / previous.",
         "逆に割っています。到達数 ÷ 前ステージの数 です。"),
    ],
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
    return (1 + repeat_rate * (1 + change)) / (1 + repeat_rate) - 1


__all__ += ["check_budget_shift", "check_lead_score", "check_stage_conversion", "check_repeat_rate_lift"]


# --- exercises of notebooks 01–03 (CLV: discount rate per period, Gamma-Gamma spend) ------------

_PERIOD_DAYS = {"D": 1.0, "W": 7.0}


def _period_days(time_unit) -> float:
    if time_unit not in _PERIOD_DAYS:
        raise DataError(
            f"time_unit={time_unit!r} is not a supported unit; pass 'D' (days) or 'W' (weeks of 7 days). "
            "Months are refused because their length varies."
        )
    return _PERIOD_DAYS[time_unit]


@exercise(
    title="discount rate per period",
    title_ja="1期間あたりの割引率",
    hint="Compound, don't divide: rate per period = (1 + annual rate) ** (days per period / 365.25) − 1 "
    "(7 days for time_unit='W', 1 for 'D').",
    hint_ja="割り算ではなく複利で換算します: 1期間あたりの割引率 = (1 + 年率) ** (1期間の日数 ÷ 365.25) − 1"
    "（time_unit='W' なら7日、'D' なら1日）。",
    mistakes=[
        (lambda annual_rate, time_unit="W": annual_rate * _period_days(time_unit) / 365.25,
         "close, but dividing the annual rate ignores compounding: use (1 + annual) ** (days / 365.25) − 1.",
         "近いですが、年率を割るだけでは複利が無視されます。(1 + 年率) ** (日数 ÷ 365.25) − 1 を使ってください。"),
        (lambda annual_rate, time_unit="W": (1 + annual_rate) ** (1 / 12) - 1,
         "that is a monthly rate; the period here is a day or a week, not a month.",
         "それは月あたりの割引率です。ここでの期間は月ではなく日または週です。"),
    ],
)
def check_per_period_rate(annual_rate, time_unit="W"):
    """Discount rate per day or week equivalent to ``annual_rate``: ``(1 + annual) ** (days / 365.25) − 1``."""
    return (1 + annual_rate) ** (_period_days(time_unit) / 365.25) - 1


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
    return p * (v + frequency * monetary_value) / (p * frequency + q - 1)


__all__ += ["check_per_period_rate", "check_expected_spend"]
