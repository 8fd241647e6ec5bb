"""Argument checks and the vocabulary's one home: time units, confidence levels, numbers, renamed arguments.

Every public function checks its scalar arguments here, so one concept has one rule and one message.
The column arguments (``customer_col``, ``date_col``, …) are resolved by :mod:`cohortkit.io`.
"""

from __future__ import annotations

import functools
import inspect
import math
import warnings
from typing import Any, Callable

import numpy as np
import pandas as pd

from ._errors import DataError

__all__ = [
    "TIME_UNITS",
    "CALENDAR_UNITS",
    "unit_days",
    "unit_name",
    "check_ci",
    "check_number",
    "renamed",
    "parse_duration",
]

#: Fixed-length time units, accepted wherever cohortkit takes ``time_unit``: code → (name, days).
TIME_UNITS: dict[str, tuple[str, int]] = {
    "D": ("day", 1),
    "W": ("week", 7),
}

#: Calendar units of cohort tables (``cohort_table(time_unit=...)``): code → (name, description).
CALENDAR_UNITS: dict[str, tuple[str, str]] = {
    "D": ("day", "day"),
    "W": ("week", "ISO week, Monday to Sunday"),
    "M": ("month", "calendar month"),
    "Q": ("quarter", "calendar quarter"),
}


def unit_days(value: Any, argument: str = "time_unit") -> int:
    """The length in days of a fixed time unit (``"D"`` → 1, ``"W"`` → 7); anything else raises.

    Months and years are refused: their length varies, so cohortkit never assumes one.

    Examples
    --------
    >>> unit_days("W")
    7
    >>> unit_days("M")
    Traceback (most recent call last):
    ...
    cohortkit._errors.DataError: time_unit='M' is not a supported unit; pass 'D' (days) or 'W' (weeks of 7 days). Months are refused because their length varies.
    """
    if not isinstance(value, str) or value not in TIME_UNITS:
        raise DataError(
            f"{argument}={value!r} is not a supported unit; pass 'D' (days) or 'W' (weeks of 7 days). "
            "Months are refused because their length varies."
        )
    return TIME_UNITS[value][1]


def unit_name(value: str) -> str:
    """``"W"`` → ``"week"`` (fixed or calendar units).

    Examples
    --------
    >>> unit_name("W"), unit_name("M")
    ('week', 'month')
    """
    if value in TIME_UNITS:
        return TIME_UNITS[value][0]
    return CALENDAR_UNITS[value][0]


def check_ci(ci: Any) -> float:
    """A confidence level strictly between 0 and 1.

    Examples
    --------
    >>> check_ci(0.9)
    0.9
    """
    if isinstance(ci, bool) or not isinstance(ci, (int, float, np.floating)) or not 0 < ci < 1:
        raise DataError(
            f"ci={ci!r} is not a confidence level. Pass a number between 0 and 1, e.g. ci=0.95."
        )
    return float(ci)


def check_number(
    value: Any,
    argument: str,
    *,
    low: float | None = None,
    low_open: bool = False,
    high: float | None = None,
    example: str = "",
) -> float:
    """A finite real number within optional bounds (booleans are not numbers).

    Examples
    --------
    >>> check_number(0.3, "margin", low=0, high=1)
    0.3
    >>> check_number(-1, "margin", low=0, high=1, example=", e.g. margin=0.3")
    Traceback (most recent call last):
    ...
    cohortkit._errors.DataError: margin=-1 must be a number >= 0 and <= 1, e.g. margin=0.3.
    """
    ok = (
        not isinstance(value, bool)
        and isinstance(value, (int, float, np.integer, np.floating))
        and math.isfinite(float(value))
    )
    if ok and low is not None:
        ok = float(value) > low if low_open else float(value) >= low
    if ok and high is not None:
        ok = float(value) <= high
    if not ok:
        bounds = []
        if low is not None:
            bounds.append(f"{'>' if low_open else '>='} {low:g}")
        if high is not None:
            bounds.append(f"<= {high:g}")
        raise DataError(f"{argument}={value!r} must be a number {' and '.join(bounds)}{example}.")
    return float(value)


def renamed(**old_to_new: str) -> Callable:
    """Accept an argument's old name for one release, with a :class:`FutureWarning` naming the new one.

    Examples
    --------
    >>> import warnings
    >>> @renamed(within="window")
    ... def f(data, *, window="90D"):
    ...     return window
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     f(None, within="30D")
    '30D'
    >>> print(caught[0].message)
    f(within=...) is renamed to window=...; the old name stops working in the next release.
    """

    def decorate(func: Callable) -> Callable:
        params = inspect.signature(func).parameters
        for old, new in old_to_new.items():
            if new not in params or old in params:
                raise TypeError(f"renamed({old}={new!r}) does not fit {func.__qualname__}")

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            for old, new in old_to_new.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(
                            f"{func.__name__}() got both {old}= (the old name) and {new}=; pass only {new}=."
                        )
                    warnings.warn(
                        f"{func.__name__}({old}=...) is renamed to {new}=...; the old name stops "
                        "working in the next release.",
                        FutureWarning,
                        stacklevel=2,
                    )
                    kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)

        wrapper.__renamed__ = dict(old_to_new)  # read by the vocabulary test
        return wrapper

    return decorate


def parse_duration(value: Any, *, argument: str) -> pd.Timedelta:
    """Parse a window such as ``"7D"``, ``"90D"``, ``"2W"``, ``"12h"`` or a Timedelta.

    Calendar months and years are refused: their length varies, so cohortkit never assumes one.

    Examples
    --------
    >>> parse_duration("7D", argument="window")
    Timedelta('7 days 00:00:00')
    """
    if isinstance(value, pd.Timedelta):
        td = value
    else:
        try:
            td = pd.Timedelta(value)
        except (ValueError, TypeError):
            td = pd.NaT
        if isinstance(value, str) and value.strip()[-1:].upper() in {"M", "Y"} and not value.strip().lower().endswith(("min", "ms")):
            td = pd.NaT
    if td is pd.NaT or pd.isna(td) or td <= pd.Timedelta(0):
        raise DataError(
            f"{argument}={value!r} is not a positive duration. Pass a string such as '7D', '90D', "
            "'2W' or '12h', or a pandas.Timedelta (months and years vary in length; use days)."
        )
    return td
