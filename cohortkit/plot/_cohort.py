"""Plots of cohort tables: retention heatmap, retention curves, LTV curves.

Each takes the output of :func:`cohortkit.cohort_table`, creates a figure when ``ax`` is None, returns
the Axes and passes ``**kwargs`` to matplotlib/seaborn.
"""

from __future__ import annotations

import pandas as pd

from .._errors import DataError

__all__ = ["retention_heatmap", "retention_curves", "ltv_curves"]

_PERCENT = {"retention"}


def _check_table(table, needed: tuple[str, ...]) -> None:
    if not isinstance(table, pd.DataFrame) or not {"cohort", "period_number"} <= set(table.columns):
        raise DataError(
            "table must be the output of cohortkit.cohort_table (with columns 'cohort' and "
            "'period_number'); pass cohort_table(...) or a filtered copy of it."
        )
    for col in needed:
        if col not in table.columns:
            extra = " (pass amount_col= to cohort_table)" if "revenue" in col else ""
            raise DataError(f"table has no column {col!r}{extra}; it has {list(table.columns)}.")


def _ax(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    return ax


def retention_heatmap(table: pd.DataFrame, values: str = "retention", *, annot: bool | None = None,
                      fmt: str | None = None, ax=None, **kwargs):
    """Cohort × period-number heatmap of a :func:`cohortkit.cohort_table`, incomplete cells blank.

    Parameters
    ----------
    table : DataFrame
        A cohort table with a single group (filter a table made with ``by`` first).
    values : str, default "retention"
        The column to show (``"retention"``, ``"revenue_per_customer"``,
        ``"cumulative_revenue_per_customer"``, …).
    annot : bool, optional
        Write each cell's value in it. Default: when the matrix has at most 30 × 30 cells.
    fmt : str, optional
        Format of the annotations: default ``".1%"`` for retention and ``",.1f"`` otherwise.
    ax : matplotlib Axes, optional
    **kwargs
        Passed to :func:`seaborn.heatmap` (e.g. ``cmap``, ``vmin``, ``vmax``).

    Returns
    -------
    matplotlib.axes.Axes
        Rows are cohorts (labelled by period), columns period numbers. Cells whose period was
        incomplete at the observation end are masked (blank, no text).

    Examples
    --------
    >>> import pandas as pd, cohortkit as ck
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...                    "date": pd.to_datetime(["2024-01-05", "2024-02-01", "2024-02-10"])})
    >>> ax = retention_heatmap(ck.cohort_table(tx, observation_end="2024-02-29"))
    >>> [t.get_text() for t in ax.texts]
    ['100.0%', '100.0%', '100.0%']
    """
    import seaborn as sns

    from ..cohort import group_column, cohort_matrix

    _check_table(table, (values,))
    group = group_column(table)
    if group is not None and table[group].nunique(dropna=False) > 1:
        raise DataError(
            f"table has {table[group].nunique(dropna=False)} groups in column {group!r}; a heatmap "
            f"shows one. Filter it first, e.g. table[table[{group!r}] == "
            f"{table[group].iloc[0]!r}]."
        )
    wide = cohort_matrix(table, values=values)
    if group is not None:
        wide = wide.droplevel(0)
    wide.index = [str(c) for c in wide.index]
    if annot is None:
        annot = wide.shape[0] <= 30 and wide.shape[1] <= 30
    if fmt is None:
        fmt = ".1%" if values in _PERCENT else ",.1f"
    ax = _ax(ax)
    options = {"cmap": "Blues", "linewidths": 0.5, "cbar": True}
    if values in _PERCENT:
        options.update(vmin=0.0, vmax=1.0)
    options.update(kwargs)
    sns.heatmap(wide, annot=annot, fmt=fmt, mask=wide.isna(), ax=ax, **options)
    ax.set_xlabel("periods since acquisition")
    ax.set_ylabel("cohort")
    ax.set_title(values.replace("_", " "))
    return ax


def _pooled(table: pd.DataFrame, numerator: str, by: str | None) -> pd.DataFrame:
    """Per line and period number: sum(numerator) / sum(cohort_size) over cohorts with that cell."""
    keys = [by] if by else []
    grouped = table.groupby([*keys, "period_number"], dropna=False, sort=True)
    pooled = grouped[[numerator, "cohort_size"]].sum().reset_index()
    pooled["value"] = pooled[numerator] / pooled["cohort_size"]
    return pooled


def _chained(table: pd.DataFrame, by: str | None, min_share: float) -> pd.DataFrame:
    """The pooled empirical LTV curve, censoring-safe: per line, the running sum over n of
    (revenue in period n of the cohorts observed through n / their customers), cut where fewer than
    ``min_share`` of the line's acquired customers are observed."""
    keys = [by] if by else []
    grouped = table.groupby([*keys, "period_number"], dropna=False, sort=True)
    pooled = grouped[["revenue", "cohort_size"]].sum().reset_index()
    pooled["increment"] = pooled["revenue"] / pooled["cohort_size"]
    if keys:
        pooled["value"] = pooled.groupby(keys, dropna=False, sort=False)["increment"].cumsum()
        acquired = pooled.groupby(keys, dropna=False, sort=False)["cohort_size"].transform("first")
    else:
        pooled["value"] = pooled["increment"].cumsum()
        acquired = pooled["cohort_size"].iloc[0] if len(pooled) else 0
    # period 0 is complete for every cohort, so its size is the line's number of acquired customers
    return pooled[pooled["cohort_size"] >= min_share * acquired].reset_index(drop=True)


def _curves(table, numerator: str, by, ax, ylabel: str, percent: bool, kwargs, min_share=None):
    import seaborn as sns
    from matplotlib.ticker import PercentFormatter

    from ..cohort import group_column

    if by is None:
        by = group_column(table)
    if by is not None and by not in table.columns:
        raise DataError(
            f"by={by!r} is not a column of the cohort table; pass one of "
            f"{[c for c in ('cohort', group_column(table)) if c]} or None."
        )
    if by == "cohort":
        # one line per cohort: its own cells, no pooling
        data = table.assign(value=table[numerator] / table["cohort_size"], cohort=table["cohort"].astype(str))
    elif min_share is not None:
        data = _chained(table, by, min_share)
    else:
        data = _pooled(table, numerator, by)
    ax = _ax(ax)
    if by not in (None, "cohort") and "palette" not in kwargs:
        from ..style import campaign_palette

        kwargs = {**kwargs, "palette": campaign_palette(data[by])}
        data = data.assign(**{by: data[by].astype(str)})
    sns.lineplot(data=data, x="period_number", y="value", hue=by, marker="o", ax=ax, **kwargs)
    ax.set_xlabel("periods since acquisition")
    ax.set_ylabel(ylabel)
    if percent:
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    return ax


def retention_curves(table: pd.DataFrame, by: str | None = None, *, ax=None, **kwargs):
    """Retention by period number: one line per group (or per cohort, or pooled).

    Parameters
    ----------
    table : DataFrame
        A :func:`cohortkit.cohort_table`.
    by : str, optional
        ``"cohort"`` draws each cohort's own curve; a group column (the table's ``by``, the default
        when the table has one) draws one pooled line per group; with no group column, one pooled
        line. Pooled retention at period n = Σ active customers / Σ cohort sizes over the cohorts
        whose period n is complete (a size-weighted mean).
    ax : matplotlib Axes, optional
    **kwargs
        Passed to :func:`seaborn.lineplot`.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd, cohortkit as ck
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...                    "date": pd.to_datetime(["2024-01-05", "2024-02-01", "2024-02-10"])})
    >>> ax = retention_curves(ck.cohort_table(tx, observation_end="2024-02-29"))
    >>> ax.lines[0].get_ydata().tolist()
    [1.0, 1.0]
    """
    _check_table(table, ("active_customers", "cohort_size"))
    return _curves(table, "active_customers", by, ax, "retention", True, kwargs)


def ltv_curves(table: pd.DataFrame, by: str | None = None, *, min_share: float = 0.1, ax=None, **kwargs):
    """Cumulative revenue per acquired customer by period number (the empirical LTV curve).

    Young cohorts are censored: a cohort acquired three months before the end of the data has no
    period 4 yet. Averaging each cohort's *cumulative* revenue over the cohorts that reach period n
    would mix ever fewer, older cohorts into the right end of the curve, so it could fall. Pooled
    lines therefore add up per-period revenue instead: value at n = Σ over k ≤ n of (revenue in
    period k of the cohorts observed through k ÷ their acquired customers) — the same rule as
    :func:`cohortkit.value_curve`; with one cohort it is that cohort's own cumulative revenue per
    customer, and it never falls while revenue is not negative. Each line stops at the last period
    for which at least ``min_share`` of its acquired customers are observed (``by="cohort"`` lines
    stop where each cohort's data ends).

    Parameters
    ----------
    table : DataFrame
        A :func:`cohortkit.cohort_table` made with ``amount_col``.
    by : str, optional
        As in :func:`retention_curves`: ``"cohort"`` for each cohort's own curve, a group column for
        one pooled line per group (coloured by :func:`cohortkit.style.campaign_palette`).
    min_share : float, default 0.1
        Cut a pooled line where fewer than this share of its customers are observed (0 draws every
        period that any cohort reaches; the last points then rest on the oldest cohort alone).
    ax : matplotlib Axes, optional
    **kwargs
        Passed to :func:`seaborn.lineplot`.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd, cohortkit as ck
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...                    "date": pd.to_datetime(["2024-01-05", "2024-02-01", "2024-02-10"]),
    ...                    "amount": [10.0, 6.0, 4.0]})
    >>> t = ck.cohort_table(tx, amount_col="amount", observation_end="2024-02-29")
    >>> ltv_curves(t).lines[0].get_ydata().tolist()  # 7 in period 0, then + 6 per observed customer
    [7.0, 13.0]
    >>> ltv_curves(t, min_share=0.6).lines[0].get_ydata().tolist()  # period 1: 1 of 2 customers observed
    [7.0]
    """
    from .._args import check_number

    _check_table(table, ("cumulative_revenue_per_customer", "revenue", "cohort_size"))
    min_share = check_number(min_share, "min_share", low=0, high=1, example=", e.g. min_share=0.1")
    table = table.assign(_cumulative_revenue=table["cumulative_revenue_per_customer"] * table["cohort_size"])
    return _curves(table, "_cumulative_revenue", by, ax, "cumulative revenue per customer", False,
                   kwargs, min_share=min_share)
