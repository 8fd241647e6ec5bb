"""The exercise machinery: the ``exercise`` decorator, the registry, and ``check`` with its en/ja messages.

Names here have no leading underscore so that the package's other modules may import them (see
``tests/test_vocabulary.py``); the public ones are re-exported by :mod:`cohortkit.workshop`.
"""

from __future__ import annotations

import inspect
import math
import numbers
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._errors import DataError

Mistake = tuple[Callable[..., float], str, str]


@dataclass(frozen=True)
class Exercise:
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


#: name -> exercise, filled by :func:`exercise` (``cohortkit.workshop._REGISTRY``).
REGISTRY: dict[str, Exercise] = {}


@dataclass(frozen=True)
class OtherWayRound:
    """The typical mistake of a ratio exercise: the expected value's reciprocal (see :func:`other_way_round`)."""

    hint: str
    hint_ja: str

    def mistake(self, expected: Callable[..., float]) -> Mistake:
        return (lambda **inputs: 1 / expected(**inputs), self.hint, self.hint_ja)


def other_way_round(formula: str, formula_ja: str, *, sep: str = ". ") -> OtherWayRound:
    """A ``mistakes`` entry for dividing the other way round (the answer is 1 / the expected value).

    Its hint is "you divided the other way round{sep}{formula}." and "逆に割っています。{formula_ja} です。".

    Examples
    --------
    >>> other_way_round("CTR = clicks / impressions", "CTR = クリック数 ÷ 表示回数").hint
    'you divided the other way round. CTR = clicks / impressions.'
    """
    return OtherWayRound(f"you divided the other way round{sep}{formula}.", f"逆に割っています。{formula_ja} です。")


def exercise(
    *,
    hint: str,
    hint_ja: str,
    title: str | None = None,
    title_ja: str | None = None,
    rtol: float = 0.005,
    atol: float = 1e-9,
    percent: bool = True,
    mistakes: Sequence[Mistake | OtherWayRound] = (),
):
    """Decorator turning ``check_NAME(**inputs) -> expected value`` into an answer check.

    The decorated function becomes ``check_NAME(answer, *, lang=None, **inputs) -> bool`` and is
    registered under ``NAME`` for :func:`check`. The original function stays available as
    ``check_NAME.expected``. See the :mod:`cohortkit.workshop` docstring for the arguments.

    Examples
    --------
    >>> @exercise(hint="AOV = revenue / orders", hint_ja="客単価 = 売上 ÷ 注文数", percent=False)
    ... def check_aov(revenue, orders): return revenue / orders
    >>> check_aov(2500, revenue=10_000, orders=4, lang="en")
    ✅ Correct! AOV = 2,500.
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
        known = tuple(m.mistake(fn) if isinstance(m, OtherWayRound) else m for m in mistakes)
        REGISTRY[name] = Exercise(name, fn, label, title_ja or label, hint, hint_ja, rtol, atol, percent, known)
        return _check_function(name, fn, label)

    return decorate


def _check_function(name: str, fn: Callable[..., float], label: str):
    """``check_NAME(answer, *, <the inputs of fn>, lang=None) -> bool``, calling :func:`check`."""

    def check_fn(answer, *, lang: str | None = None, **inputs) -> bool:
        return check(name, answer, lang=lang, **inputs)

    params = [inspect.Parameter("answer", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    params += [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in inspect.signature(fn).parameters.values()
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
        for ex in REGISTRY.values()
    ]
    return pd.DataFrame(rows)


# --- the generic check --------------------------------------------------------------------------

MESSAGES = {
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
        from ..style import current_lang

        return current_lang()
    if lang not in MESSAGES:
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
    """A number as a reader wants it: 2,000,000 and 1,946.69, never 2e+06; small values to 6 digits."""
    if abs(value) >= 1000:
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
    return f"{value:.6g}"


def _close(a: float, b: float, ex: Exercise) -> bool:
    return math.isfinite(a) and math.isfinite(b) and math.isclose(a, b, rel_tol=ex.rtol, abs_tol=ex.atol)


def _expected(ex: Exercise, inputs: dict) -> float:
    """The exercise's expected value on ``inputs``; a DataError names what is missing or zero."""
    signature = inspect.signature(ex.expected)
    try:
        signature.bind(**inputs)
    except TypeError:
        needed = ", ".join(signature.parameters)
        raise DataError(
            f"check_{ex.name}() needs the exercise inputs ({needed}) as keyword arguments; got "
            f"({', '.join(inputs) or 'none'}). Copy them from the exercise cell."
        ) from None
    try:
        return float(ex.expected(**inputs))
    except ZeroDivisionError:
        given = ", ".join(f"{k}={v!r}" for k, v in inputs.items())
        raise DataError(
            f"check_{ex.name}() cannot compute the expected value: a denominator is zero in ({given}). "
            "Check the numbers copied from the exercise cell."
        ) from None


def _wrong_answer_message(ex: Exercise, value: float, expected: float, inputs: dict, text: dict, ja: bool) -> str:
    """The ❌ line: a recognised mistake's hint, the percentage reminder, or the generic hint."""
    for wrong, mistake_hint, mistake_hint_ja in ex.mistakes:
        try:
            alternative = float(wrong(**inputs))
        except ZeroDivisionError:
            continue
        if _close(value, alternative, ex):
            return text["wrong"].format(answer=_fmt(value), hint=mistake_hint_ja if ja else mistake_hint)
    if ex.percent and _close(value, expected * 100, ex):
        return text["percent"].format(answer=_fmt(value))
    return text["wrong"].format(answer=_fmt(value), hint=ex.hint_ja if ja else ex.hint)


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
    if name not in REGISTRY:
        known = ", ".join(sorted(REGISTRY))
        raise DataError(f"no exercise named {name!r}; the registered exercises are: {known}.")
    ex = REGISTRY[name]
    text = MESSAGES[_resolve_lang(lang)]
    ja = text is MESSAGES["ja"]
    expected = _expected(ex, inputs)
    if answer is Ellipsis:
        print(text["todo"])
        return False
    value = _as_number(answer)
    if value is None or math.isnan(value):
        print(text["nan"].format(answer=answer, hint=ex.hint_ja if ja else ex.hint))
        return False
    if _close(value, expected, ex):
        shown = _fmt(expected)
        if ex.percent:
            shown += f" ({expected * 100:.4g}{'%' if ja else ' %'})"
        print(text["ok"].format(title=ex.title_ja if ja else ex.title, value=shown))
        return True
    print(_wrong_answer_message(ex, value, expected, inputs, text, ja))
    return False
