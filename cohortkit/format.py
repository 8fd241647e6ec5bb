"""How a number reaches a reader: money, percentages, counts, intervals, durations, and tables.

Every function returns a string in English or Japanese (``lang=None`` follows the last
:func:`cohortkit.set_style` call, like the workshop messages). The rules, the same everywhere:

===================  =========================  ===========================
what                 ``lang="en"``               ``lang="ja"``
===================  =========================  ===========================
money (yen)          ``¥1,234``, ``-¥1,234``    ``1,234円``, ``-1,234円``
percentage           ``12.3 %``                  ``12.3%``
count                ``20,194``                  ``20,194``
interval             ``12.3 % (11.8–12.9)``      ``12.3% (11.8–12.9)``
duration             ``3.5 days``, ``1 week``    ``3.5日``, ``1週``
missing (NaN, None)  ``–``                       ``–``
===================  =========================  ===========================

Rounding is half to even on the decimal value Python prints (``f"{x:.1f}"``), and a value that
rounds to zero loses its sign (``-0.04 %`` reads ``0.0 %``). :func:`style_table` formats a whole
DataFrame for display by the kind of each column (shares as %, money as yen, counts with separators)
and gives the pandas Styler a stable id, so a notebook shows the same HTML on every run.
"""

from __future__ import annotations

import hashlib
import math
import numbers
import re
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from ._errors import DataError
from .style import current_lang

__all__ = [
    "NA",
    "money",
    "percent",
    "points",
    "count",
    "number",
    "interval",
    "duration",
    "column_kind",
    "style_table",
]

#: What a missing value (NaN, None, NaT, pd.NA) reads as.
NA = "–"

_UNITS = {
    # time_unit -> (en singular, en plural, ja)
    "min": ("minute", "minutes", "分"),
    "h": ("hour", "hours", "時間"),
    "D": ("day", "days", "日"),
    "W": ("week", "weeks", "週"),
}


def _lang(lang: str | None) -> str:
    lang = current_lang() if lang is None else lang
    if lang not in ("en", "ja"):
        raise DataError(f"lang must be \"en\" or \"ja\" or None; got {lang!r}. Use lang=\"ja\" for Japanese.")
    return lang


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _float(value: Any, what: str) -> float:
    if isinstance(value, (bool, np.bool_)):
        raise DataError(f"{what} must be a number, got {value!r}.")
    if isinstance(value, (np.ndarray, pd.Series)) and value.size == 1:
        value = value.reshape(-1)[0] if isinstance(value, np.ndarray) else value.iloc[0]
    if isinstance(value, numbers.Real) or isinstance(value, np.number):
        return float(value)
    raise DataError(f"{what} must be a number, got {type(value).__name__} {value!r}.")


def _digits(digits: int) -> int:
    if isinstance(digits, bool) or not isinstance(digits, numbers.Integral) or not 0 <= digits <= 12:
        raise DataError(f"digits must be a whole number from 0 to 12, got {digits!r}.")
    return int(digits)


def _plain(x: float, digits: int, sign: bool = False) -> str:
    """``x`` with thousands separators and ``digits`` decimals; no "-0"; ``+`` when ``sign``."""
    text = f"{x:,.{digits}f}"
    if re.fullmatch(r"-[0,.]*", text):  # rounds to zero: drop the sign
        text = text[1:]
    if sign and not text.startswith("-") and float(text.replace(",", "")) != 0:
        text = "+" + text
    return text


_CURRENCIES = {"JPY": 0, "USD": 2}


def money(value: Any, *, digits: int | None = None, sign: bool = False, currency: str = "JPY",
          lang: str | None = None) -> str:
    """An amount of money: yen as ``¥1,234`` (English) or ``1,234円`` (Japanese); dollars as ``$1,234.50``.

    Parameters
    ----------
    value : number
        The amount. NaN or None gives ``"–"``.
    digits : int, optional
        Decimals; default 0 for yen, 2 for dollars.
    sign : bool, default False
        Write ``+`` before a positive amount (a change).
    currency : {"JPY", "USD"}, default "JPY"
        ``"USD"`` for a dollar data set such as CDNOW (``$`` in both languages).
    lang : {"en", "ja"}, optional
        Default: the language of the last :func:`cohortkit.set_style` call.

    Examples
    --------
    >>> money(1234.5, lang="en"), money(1234.5, lang="ja")
    ('¥1,234', '1,234円')
    >>> money(-9707410.4, lang="en"), money(-9707410.4, lang="ja"), money(250, sign=True, lang="en")
    ('-¥9,707,410', '-9,707,410円', '+¥250')
    >>> money(float("nan")), money(21.5006, currency="USD", lang="ja")
    ('–', '$21.50')
    """
    if currency not in _CURRENCIES:
        raise DataError(f"currency must be one of {list(_CURRENCIES)}; got {currency!r}.")
    if _missing(value):
        return NA
    x = _float(value, "value")
    text = _plain(x, _digits(_CURRENCIES[currency] if digits is None else digits), sign)
    if currency == "JPY" and _lang(lang) == "ja":
        return text + "円"
    symbol = "¥" if currency == "JPY" else "$"
    if text[0] in "+-":
        return text[0] + symbol + text[1:]
    return symbol + text


def percent(value: Any, *, digits: int = 1, sign: bool = False, lang: str | None = None) -> str:
    """A share given as a fraction, in percent: ``0.1234`` → ``12.3 %`` (``12.3%`` in Japanese).

    Parameters
    ----------
    value : number
        A fraction (0.0599 is 5.99 %). NaN or None gives ``"–"``.
    digits : int, default 1
        Decimals of the percentage.
    sign : bool, default False
        Write ``+`` before a positive value (a change).
    lang : {"en", "ja"}, optional

    Examples
    --------
    >>> percent(0.1234, lang="en"), percent(0.0599, digits=2, lang="ja")
    ('12.3 %', '5.99%')
    >>> percent(-0.0325, lang="en"), percent(0.0325, sign=True, lang="en"), percent(-0.0004, lang="en")
    ('-3.2 %', '+3.2 %', '0.0 %')
    """
    if _missing(value):
        return NA
    text = _plain(_float(value, "value") * 100, _digits(digits), sign)
    return text + ("%" if _lang(lang) == "ja" else " %")


def points(value: Any, *, digits: int = 1, sign: bool = True, lang: str | None = None) -> str:
    """A difference of two percentages, in percentage points: ``0.00375`` → ``+0.4 points``.

    Examples
    --------
    >>> points(0.00375, digits=2, lang="en"), points(-0.012, lang="ja")
    ('+0.38 points', '-1.2ポイント')
    """
    if _missing(value):
        return NA
    text = _plain(_float(value, "value") * 100, _digits(digits), sign)
    return text + ("ポイント" if _lang(lang) == "ja" else " points")


def count(value: Any, *, lang: str | None = None) -> str:
    """A whole number with thousands separators: ``20194`` → ``20,194`` (rounded half to even).

    Examples
    --------
    >>> count(20194), count(4530472.0), count(-1500), count(None)
    ('20,194', '4,530,472', '-1,500', '–')
    """
    if _missing(value):
        return NA
    _lang(lang)
    return _plain(_float(value, "value"), 0)


def number(value: Any, *, digits: int = 2, sign: bool = False, lang: str | None = None) -> str:
    """A plain number (a ratio such as ROAS or LTV:CAC, a score) with separators, never in
    scientific notation.

    Examples
    --------
    >>> number(12.8513), number(9.70741e6, digits=0), number(0.000123, digits=5), number(-0.004)
    ('12.85', '9,707,410', '0.00012', '0.00')
    """
    if _missing(value):
        return NA
    _lang(lang)
    return _plain(_float(value, "value"), _digits(digits), sign)


_FORMATTERS: dict[str, Callable[..., str]] = {"percent": percent, "money": money, "number": number,
                                              "count": count}


def interval(value: Any, lower: Any, upper: Any, *, kind: str = "percent", digits: int | None = None,
             lang: str | None = None) -> str:
    """An estimate with its interval: ``12.3 % (11.8–12.9)``; the bounds carry no unit of their own.

    Parameters
    ----------
    value, lower, upper : number
        The estimate and the interval's bounds (a missing bound reads ``–``; with both missing only
        the estimate is written). Bounds are joined by an en dash, or by `` to `` (``〜`` in
        Japanese) when one is negative.
    kind : {"percent", "money", "number", "count"}, default "percent"
        How the three numbers are written.
    digits : int, optional
        Decimals; default that of ``kind`` (1 for percent, 0 for money, 2 for number).
    lang : {"en", "ja"}, optional

    Examples
    --------
    >>> interval(0.1234, 0.1181, 0.1289, lang="en")
    '12.3 % (11.8–12.9)'
    >>> interval(0.0125, 0.0103, 0.0152, digits=2, lang="ja")
    '1.25% (1.03–1.52)'
    >>> interval(2980, 2500.4, 3400, kind="money", lang="ja"), interval(-0.02, -0.035, 0.005, lang="en")
    ('2,980円 (2,500–3,400)', '-2.0 % (-3.5 to 0.5)')
    """
    if kind not in _FORMATTERS:
        raise DataError(f"kind must be one of {sorted(_FORMATTERS)}; got {kind!r}.")
    lang = _lang(lang)
    options = {} if digits is None or kind == "count" else {"digits": digits}
    head = _FORMATTERS[kind](value, lang=lang, **options)
    scale = 100 if kind == "percent" else 1
    d = _digits(digits) if digits is not None else {"percent": 1, "money": 0, "number": 2, "count": 0}[kind]

    if _missing(lower) and _missing(upper):
        return head
    low, high = (NA if _missing(x) else _plain(_float(x, "bound") * scale, d) for x in (lower, upper))
    dash = "–"
    if low.startswith("-") or high.startswith("-"):  # "-3.5–-0.5" is hard to read
        dash = "〜" if lang == "ja" else " to "
    return f"{head} ({low}{dash}{high})"


def duration(value: Any, time_unit: str = "D", *, digits: int = 1, lang: str | None = None) -> str:
    """A length of time: ``3.5 days``, ``1 week``, ``12 minutes`` (``3.5日``, ``1週``, ``12分``).

    Parameters
    ----------
    value : number or pandas.Timedelta
        A number of ``time_unit`` periods, or a Timedelta (then written in ``time_unit``; pass
        ``time_unit=None`` to pick minutes, hours or days by its size).
    time_unit : {"min", "h", "D", "W"} or None, default "D"
    digits : int, default 1
        Decimals; a whole number is written without them (``2 days``, not ``2.0 days``).
    lang : {"en", "ja"}, optional

    Examples
    --------
    >>> duration(3.5), duration(1, "W"), duration(12.0, "W", lang="ja")
    ('3.5 days', '1 week', '12週')
    >>> import pandas as pd
    >>> duration(pd.Timedelta(minutes=7.5), None), duration(pd.Timedelta(hours=36), None, lang="ja")
    ('7.5 minutes', '1.5日')
    """
    if _missing(value):
        return NA
    lang = _lang(lang)
    if isinstance(value, (pd.Timedelta, np.timedelta64)):
        seconds = pd.Timedelta(value).total_seconds()
        if time_unit is None:
            time_unit = "min" if abs(seconds) < 3600 else "h" if abs(seconds) < 86400 else "D"
        value = seconds / {"min": 60, "h": 3600, "D": 86400, "W": 604800}.get(time_unit, 86400)
    if time_unit not in _UNITS:
        raise DataError(f"time_unit must be one of {list(_UNITS)}; got {time_unit!r}.")
    x = _float(value, "value")
    d = _digits(digits)
    text = _plain(x, d)
    if re.fullmatch(r"-?[\d,]+\.0+", text):
        text = text.split(".")[0]
    one, many, ja = _UNITS[time_unit]
    if lang == "ja":
        return text + ja
    return f"{text} {one if text in ('1', '-1') else many}"


# --- tables ------------------------------------------------------------------------------------

_PERCENT_COLUMN = re.compile(
    r"(^|_)(ctr|cvr|rate|share|retention|incrementality|churn|p_alive|conversion(?!_value)|"
    r"conversion_from_\w+|kgi_change_\w+)(_|$)"
)
_MONEY_COLUMN = re.compile(
    r"(^|_)(spend|cpa|cpc|cac|revenue|clv|amount|value|cost|price|profit|aov|margin_per_customer|"
    r"cumulative_margin_per_customer|margin_\w*customer\w*|observed_margin|expected_margin)(_|$)"
)
_COUNT_COLUMN = re.compile(
    r"(^|_)(impressions|clicks|conversions|customers|users|leads|mqls|sqls|deals|orders|purchases|"
    r"events|count|size|drop_off|active|new|returning|resurrected|dormant|churned|acquired|answers|"
    r"respondents|promoters|detractors|rank)(_|$)"
)


def column_kind(name: Any, dtype: Any = None) -> str:
    """The kind :func:`style_table` gives a column: from its name, then its type.

    ``"percent"`` for shares and rates (``ctr``, ``cvr``, ``*_rate``, ``share*``, ``retention``,
    ``conversion_from_*``, ``incrementality``, and their ``_lower``/``_upper``), ``"money"`` for yen
    (``spend``, ``cpa``, ``cpc``, ``cac``, ``revenue*``, ``*_value``, ``clv``, ``cost``, ``profit``,
    margins per customer), ``"count"`` for people and events (``impressions``, ``clicks``,
    ``customers``, ``users``, ``leads``, ``rank*``, ...) and whole-number columns (:func:`style_table`
    writes a "count" column holding fractions, such as ``expected_purchases``, as a number), ``"duration"``
    for timedeltas, ``"number"`` for other numbers (ratios such as ROAS, LTV:CAC, elasticity) and
    ``"text"`` for everything else. A bare ``margin`` is a share.

    Examples
    --------
    >>> [column_kind(c) for c in ("ctr_lower", "repeat_rate", "share_of_revenue", "conversion_value",
    ...                           "cumulative_revenue_per_customer", "customers", "ltv_roas")]
    ['percent', 'percent', 'percent', 'money', 'money', 'count', 'text']
    >>> column_kind("ltv_roas", "float64"), column_kind("period_number", "int64"), column_kind("p_value")
    ('number', 'count', 'number')
    """
    text = str(name).lower().replace(" ", "_").replace("-", "_")
    if text == "margin":
        return "percent"
    if re.search(r"(^|_)(p_value|pvalue|statistic|z|std_error)$", text):  # statistics, not yen
        return "number"
    if re.match(r"ltv_cac(_lower|_upper)?$", text):  # a ratio of two amounts
        return "number"
    if re.search(r"(^|_)rank(_|$)", text):
        return "count"
    if _PERCENT_COLUMN.search(text):
        return "percent"
    if _MONEY_COLUMN.search(text):
        return "money"
    if _COUNT_COLUMN.search(text):
        return "count"
    if dtype is None:
        return "text"
    if pd.api.types.is_bool_dtype(dtype):
        return "text"
    if pd.api.types.is_timedelta64_dtype(dtype):
        return "duration"
    if pd.api.types.is_integer_dtype(dtype):
        return "count"
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"
    return "text"


def _stable_uuid(frame: pd.DataFrame) -> str:
    """A short id from the table's content, identical on every run with the same data."""
    digest = hashlib.sha1(repr(list(map(str, frame.columns))).encode())
    digest.update(str(frame.shape).encode())
    try:
        digest.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    except (TypeError, ValueError):
        digest.update(frame.to_csv().encode())
    return "ck" + digest.hexdigest()[:10]


def style_table(
    frame: pd.DataFrame,
    *,
    kinds: Mapping[str, str | Callable[[Any], str]] | None = None,
    digits: Mapping[str, int] | None = None,
    uuid: str | None = None,
    time_unit: str | None = None,
    currency: str = "JPY",
    lang: str | None = None,
):
    """A DataFrame ready to show: every column formatted by its kind, the index hidden, a stable id.

    One call for every displayed table: shares and rates as % (``5.99 %``, not 0.0599), money as yen
    (``¥4,530,472``, not 4530472.0), counts with separators, other numbers with two decimals and
    never in scientific notation, missing values as ``–``. A meaningful index (named, or not made
    of integers) is turned into columns first, so hiding the index loses nothing; an unnamed integer
    index is row numbers, also after sorting or filtering, and is left out.

    Parameters
    ----------
    frame : pandas.DataFrame (or Series)
    kinds : dict, optional
        Column -> ``"percent"``, ``"money"``, ``"count"``, ``"number"``, ``"duration"``, ``"text"``
        or a function of one value returning the text; overrides :func:`column_kind`.
    digits : dict, optional
        Column -> decimals (default 1 for percent, 0 for money, 2 for number).
    uuid : str, optional
        The Styler's id (HTML element ids start with it). Default: a hash of the table's content,
        the same on every run with the same data.
    time_unit : {"min", "h", "D", "W"}, optional
        The unit of duration columns; default chosen per value.
    currency : {"JPY", "USD"}, default "JPY"
        The currency of money columns (see :func:`money`).
    lang : {"en", "ja"}, optional
        ``"ja"`` also shows the column labels of ``cohortkit/locale/ja/columns.toml`` (``ctr`` →
        ``CTR（クリック率）``); the Styler's data keep their names.

    Returns
    -------
    pandas.io.formats.style.Styler

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"campaign": ["a", "b"], "impressions": [1_200_000, 950],
    ...                   "ctr": [0.0599, float("nan")], "spend": [4530472.0, -12.0], "roas": [2.81094, 0.5]})
    >>> s = style_table(t, lang="en", uuid="demo")
    >>> s.data.map(str).values.tolist() == t.map(str).values.tolist()  # the data is untouched
    True
    >>> [s._display_funcs[(0, j)](t.iat[0, j]) for j in range(5)]
    ['a', '1,200,000', '6.0 %', '¥4,530,472', '2.81']
    >>> [s._display_funcs[(1, j)](t.iat[1, j]) for j in (2, 3)]
    ['–', '-¥12']
    """
    if isinstance(frame, pd.Series):
        frame = frame.to_frame()
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"frame must be a pandas DataFrame, got {type(frame).__name__}.")
    lang = _lang(lang)
    kinds = dict(kinds or {})
    digits = dict(digits or {})
    unknown = [c for c in [*kinds, *digits] if c not in frame.columns and c not in frame.index.names]
    if unknown:
        raise DataError(f"kinds/digits name column(s) {unknown} that the table does not have; it has "
                        f"{list(frame.columns)}.")
    unnamed_rows = (frame.index.nlevels == 1 and frame.index.name is None
                    and pd.api.types.is_integer_dtype(frame.index.dtype))
    if unnamed_rows:  # row numbers, also after sorting or filtering: nothing to show
        frame = frame.reset_index(drop=True)
    elif not isinstance(frame.index, pd.RangeIndex) or frame.index.name is not None:
        frame = frame.reset_index()
    frame = frame.copy()
    frame.columns = [str(c) if not isinstance(c, str) else c for c in frame.columns]
    formatters = {}
    for col in frame.columns:
        kind = kinds.get(col) or column_kind(col, frame[col].dtype)
        if kind in ("percent", "money", "count", "number") and not pd.api.types.is_numeric_dtype(frame[col]):
            kind = "text"
        if col not in kinds and kind == "count" and pd.api.types.is_float_dtype(frame[col]):
            finite = frame[col].to_numpy(dtype=float)
            finite = finite[np.isfinite(finite)]
            if (finite != np.round(finite)).any():  # e.g. expected_purchases: a count, but not whole
                kind = "number"
        if callable(kind):
            formatters[col] = kind
        elif kind == "text":
            formatters[col] = lambda x: NA if _missing(x) else str(x)
        elif kind == "duration":
            formatters[col] = lambda x, _u=time_unit: duration(x, _u, lang=lang)
        elif kind == "count":
            formatters[col] = lambda x: count(x, lang=lang)
        elif kind == "money":
            formatters[col] = lambda x, _d=digits.get(col): money(x, digits=_d, currency=currency, lang=lang)
        elif kind in _FORMATTERS:
            d = digits.get(col, {"percent": 1, "number": 2}[kind])
            formatters[col] = lambda x, _f=_FORMATTERS[kind], _d=d: _f(x, digits=_d, lang=lang)
        else:
            raise DataError(f"kinds[{col!r}]={kind!r} must be one of 'percent', 'money', 'count', 'number', "
                            "'duration', 'text' or a function.")
    styler = frame.style.format(formatters, na_rep=NA).hide(axis="index")
    if lang != "en":  # column labels in the reader's language; the data keep their names
        from .i18n import column_labels

        labels = column_labels(lang)
        styler = styler.relabel_index([labels.get(c, c) for c in frame.columns], axis="columns")
    return styler.set_uuid(uuid if uuid is not None else _stable_uuid(frame))
