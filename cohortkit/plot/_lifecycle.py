"""Plots of lifecycle tables: growth-accounting bars.

Each takes the output of :func:`cohortkit.growth_accounting`, creates a figure when ``ax`` is None,
returns the Axes and passes ``**kwargs`` to matplotlib.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._errors import DataError

__all__ = ["lifecycle_bars"]

#: stacked above zero (bottom to top), then below zero
_UP = ("new", "resurrected", "returning")
_DOWN = ("churned",)
_TEXT = {
    "en": {"new": "new", "resurrected": "resurrected", "returning": "returning", "churned": "churned",
           "customers": "customers", "revenue": "revenue", "period": "period",
           "title": "Growth accounting"},
    "ja": {"new": "新規", "resurrected": "復帰", "returning": "継続", "churned": "離脱",
           "customers": "顧客数", "revenue": "売上", "period": "期間", "title": "グロース・アカウンティング（成長会計）"},
}


def lifecycle_bars(table: pd.DataFrame, *, values: str = "customers", lang: str | None = None, ax=None,
                   **kwargs):
    """Growth accounting as stacked bars: new, resurrected and returning above zero, churned below.

    Parameters
    ----------
    table : DataFrame
        A :func:`cohortkit.growth_accounting` table with a single group (filter a table made with
        ``by`` first).
    values : {"customers", "revenue"}, default "customers"
        ``"customers"``: counts of each state. ``"revenue"``: the ``new_revenue``,
        ``resurrected_revenue`` and ``returning_revenue`` of the period above zero and
        ``churned_revenue`` (what the churned customers spent in the period before) below zero
        (needs a table made with ``amount_col``).
    lang : {"en", "ja"}, optional
        Language of the labels (新規, 復帰, 継続, 離脱). Default: the language of the last
        :func:`cohortkit.set_style` call.
    ax : matplotlib Axes, optional
    **kwargs
        Passed to every :meth:`matplotlib.axes.Axes.bar` call (e.g. ``width``, ``alpha``).

    Returns
    -------
    matplotlib.axes.Axes
        One bar container per state, labelled, in the order new, resurrected, returning, churned; the
        churned bars have negative heights. The x tick labels are the periods.

    Examples
    --------
    >>> import pandas as pd, cohortkit as ck
    >>> tx = pd.DataFrame({"customer_id": ["a", "b", "a", "c", "a", "b"],
    ...                    "date": pd.to_datetime(["2024-01-03", "2024-01-09", "2024-02-01",
    ...                                            "2024-02-11", "2024-03-05", "2024-03-20"])})
    >>> ax = lifecycle_bars(ck.growth_accounting(tx, observation_end="2024-03-31"), lang="en")
    >>> {c.get_label(): [float(p.get_height()) for p in c] for c in ax.containers}
    {'new': [2.0, 1.0, 0.0], 'resurrected': [0.0, 0.0, 1.0], 'returning': [0.0, 1.0, 1.0], 'churned': [0.0, -1.0, -1.0]}
    """
    from ..style import current_lang

    lang = current_lang() if lang is None else lang
    if lang not in _TEXT:
        raise DataError(f"lang must be \"en\" or \"ja\"; got {lang!r}.")
    if values not in ("customers", "revenue"):
        raise DataError(f"values={values!r} is not supported; pass 'customers' or 'revenue'.")
    if not isinstance(table, pd.DataFrame) or "period" not in table.columns or "churned" not in table.columns:
        raise DataError(
            "table must be the output of cohortkit.growth_accounting (with columns 'period', 'new', "
            "'churned', …); pass growth_accounting(...) or a filtered copy of it."
        )
    suffix = "" if values == "customers" else "_revenue"
    needed = [f"{s}{suffix}" for s in (*_UP, *_DOWN)]
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise DataError(f"table has no column {missing[0]!r} (pass amount_col= to growth_accounting).")
    by = table.attrs.get("by") if table.attrs else None
    if by is not None and by in table.columns and table[by].nunique(dropna=False) > 1:
        raise DataError(
            f"table has {table[by].nunique(dropna=False)} groups in column {by!r}; the bars show one. "
            f"Filter it first, e.g. table[table[{by!r}] == {table[by].iloc[0]!r}]."
        )
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    text = _TEXT[lang]
    x = np.arange(len(table))
    bottom = np.zeros(len(table))
    for state in _UP:
        heights = table[f"{state}{suffix}"].to_numpy(dtype="float64")
        ax.bar(x, heights, bottom=bottom, label=text[state], **kwargs)
        bottom = bottom + heights
    for state in _DOWN:
        below = 0.0 - table[f"{state}{suffix}"].to_numpy(dtype="float64")  # 0.0, not -0.0
        ax.bar(x, below, label=text[state], **kwargs)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(x)
    ax.set_xticklabels([str(p) for p in table["period"]], rotation=90 if len(table) > 12 else 0)
    ax.set_xlabel(text["period"])
    ax.set_ylabel(text[values])
    ax.set_title(text["title"])
    ax.legend()
    return ax
