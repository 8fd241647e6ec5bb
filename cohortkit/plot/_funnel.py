"""Plots for funnels and rates: :func:`funnel` (horizontal bars), :func:`funnel_paths` (the most
common paths between two steps) and :func:`rates` (intervals)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._errors import DataError

__all__ = ["funnel", "funnel_paths", "rates"]

_FUNNEL_COLUMNS = {
    "step_index",
    "step",
    "users",
    "conversion_from_start",
    "conversion_from_previous",
    "drop_off",
    "median_time_from_previous",
    "p90_time_from_previous",
    "note",
}


def _new_ax(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(7, 3.5))
    return ax


def _need(table: Any, columns: list[str], producer: str) -> pd.DataFrame:
    if not isinstance(table, pd.DataFrame):
        raise DataError(
            f"table has type {type(table).__name__}; pass the DataFrame returned by {producer}."
        )
    missing = [c for c in columns if c not in table.columns]
    if missing:
        found = ", ".join(repr(str(c)) for c in table.columns)
        raise DataError(
            f"table has no column(s) {missing!r} (it has {found}); pass the DataFrame returned by "
            f"{producer}."
        )
    return table


def _percent(value: float) -> str:
    """1 decimal from 10 % up, 2 below (so a 1.25 % CTR reads 1.25 %, not 1.2 %)."""
    return f"{value:.1%}" if value >= 0.1 else f"{value:.2%}"


def funnel(table: pd.DataFrame, ax=None, **kwargs):
    """Horizontal funnel bars (users per step) labelled with the conversion from the start.

    Parameters
    ----------
    table : pandas.DataFrame
        The result of :func:`cohortkit.funnel` or :func:`cohortkit.funnel_from_counts`. If it has a
        ``by`` column (one funnel per group), the bars are grouped by it (seaborn ``hue``).
    ax : matplotlib Axes, optional
        Drawn into when given; otherwise a new figure is created.
    **kwargs
        Passed to :func:`seaborn.barplot` (and on to matplotlib), e.g. ``color=``.

    Returns
    -------
    matplotlib.axes.Axes
        Step 1 at the top. Each bar's width is the users at that step and its label reads
        ``"1,234 (56.7%)"``: users and conversion from the start (two decimals below 10 %).

    Examples
    --------
    >>> from cohortkit.funnel import funnel_from_counts
    >>> ax = funnel(funnel_from_counts({"view": 200, "cart": 50, "purchase": 10}))
    >>> [round(p.get_width()) for p in ax.patches]
    [200, 50, 10]
    >>> [t.get_text() for t in ax.texts]
    ['200 (100.0%)', '50 (25.0%)', '10 (5.00%)']
    """
    import seaborn as sns

    table = _need(table, ["step", "users", "conversion_from_start"], "cohortkit.funnel()")
    ax = _new_ax(ax)
    groups = [c for c in table.columns if c not in _FUNNEL_COLUMNS]
    hue = groups[0] if groups else None
    data = table.copy()
    data["step"] = data["step"].astype(str)
    order = list(dict.fromkeys(data.sort_values("step_index")["step"])) if "step_index" in data else list(
        dict.fromkeys(data["step"])
    )
    options = dict(errorbar=None, orient="h")
    if hue is None and "color" not in kwargs:
        options["color"] = sns.color_palette()[0]
    if hue is not None and "palette" not in kwargs and "color" not in kwargs:
        from ..style import campaign_palette

        data[hue] = data[hue].astype(str)
        options.update(palette=campaign_palette(data[hue]), saturation=1)  # the same colour per group in every plot
    options.update(kwargs)
    sns.barplot(data=data, x="users", y="step", hue=hue, order=order, ax=ax, **options)
    hue_levels = list(dict.fromkeys(data[hue])) if hue else [None]
    for container, level in zip(ax.containers, hue_levels):
        rows = data if level is None else data[data[hue] == level]
        rows = rows.set_index("step").reindex(order)
        labels = [
            "" if pd.isna(u) else f"{int(u):,} ({_percent(c)})" if pd.notna(c) else f"{int(u):,}"
            for u, c in zip(rows["users"], rows["conversion_from_start"])
        ]
        ax.bar_label(container, labels=labels, padding=3)
    ax.set_xlabel("users")
    ax.set_ylabel("")
    ax.set_xlim(0, float(np.nanmax(data["users"].to_numpy(dtype=float))) * 1.3 or 1)
    return ax


_PATH_COLUMNS = {"rank", "path", "events", "users", "share", "users_total", "median_time"}


def funnel_paths(table: pd.DataFrame, ax=None, **kwargs):
    """Horizontal bars of the most common paths between two steps, labelled with users and share.

    Parameters
    ----------
    table : pandas.DataFrame
        The result of :func:`cohortkit.funnel_paths`. If it has a ``by`` column (paths per group),
        the bars are grouped by it (seaborn ``hue``) and a path missing from a group has no bar there.
    ax : matplotlib Axes, optional
        Drawn into when given; otherwise a new figure is created (taller with more paths).
    **kwargs
        Passed to :func:`seaborn.barplot` (and on to matplotlib), e.g. ``color=``.

    Returns
    -------
    matplotlib.axes.Axes
        The most common path at the top (by users over all groups, ties by path text). Each bar's
        width is the users who took that path; its label reads ``"1,234 (56.7%)"``: users and
        their share of everyone who went from the first step to the second.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"rank": [1, 2], "path": ["view → cart → buy", "view → buy"],
    ...                       "events": [1, 0], "users": [30, 10], "share": [0.6, 0.2],
    ...                       "users_total": [50, 50],
    ...                       "median_time": pd.to_timedelta(["20min", "2min"])})
    >>> ax = funnel_paths(table)
    >>> [round(p.get_width()) for p in ax.patches]
    [30, 10]
    >>> [t.get_text() for t in ax.yaxis.get_ticklabels()]
    ['view → cart → buy', 'view → buy']
    >>> [t.get_text() for t in ax.texts]
    ['30 (60.0%)', '10 (20.0%)']
    """
    import seaborn as sns

    table = _need(table, ["path", "users", "share"], "cohortkit.funnel_paths()")
    groups = [c for c in table.columns if c not in _PATH_COLUMNS]
    hue = groups[0] if groups else None
    data = table.copy()
    data["path"] = data["path"].astype(str)
    totals = data.groupby("path", sort=False)["users"].sum().reset_index()
    totals = totals.sort_values(["users", "path"], ascending=[False, True], kind="stable")
    order = totals["path"].tolist()
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(8, 1.2 + 0.45 * max(len(order), 1) * (1 if hue is None else 1.5)))
    options = dict(errorbar=None, orient="h")
    if hue is None and "color" not in kwargs:
        options["color"] = sns.color_palette()[0]
    if hue is not None and "palette" not in kwargs and "color" not in kwargs:
        from ..style import campaign_palette

        data[hue] = data[hue].astype(str)
        options.update(palette=campaign_palette(data[hue]), saturation=1)
    options.update(kwargs)
    sns.barplot(data=data, x="users", y="path", hue=hue, order=order, ax=ax, **options)
    hue_levels = list(dict.fromkeys(data[hue])) if hue else [None]
    for container, level in zip(ax.containers, hue_levels):
        rows = data if level is None else data[data[hue] == level]
        rows = rows.drop_duplicates("path").set_index("path")
        labels = []
        for bar in container:  # a group may lack some paths: find each bar's path by its position
            path = order[int(round(bar.get_y() + bar.get_height() / 2))]
            u = rows["users"].get(path, np.nan)
            labels.append("" if pd.isna(u) else f"{int(u):,} ({_percent(rows['share'][path])})")
        ax.bar_label(container, labels=labels, padding=3)
    ax.set_xlabel("users")
    ax.set_ylabel("")
    ax.set_xlim(0, float(np.nanmax(data["users"].to_numpy(dtype=float), initial=0)) * 1.3 or 1)
    return ax


def rates(
    table: pd.DataFrame,
    ax=None,
    *,
    metric: str | None = None,
    label_col: str | None = None,
    **kwargs,
):
    """Point estimates with interval whiskers, one row per campaign (or per row of ``table``).

    Parameters
    ----------
    table : pandas.DataFrame
        The result of :func:`cohortkit.rate` (columns ``rate, lower, upper``) or of
        :func:`cohortkit.ad_metrics` (``ctr``/``cvr`` with ``_lower``/``_upper``).
    metric : str, optional
        Which rate to draw: ``"rate"``, ``"ctr"`` or ``"cvr"``. Default: ``"rate"`` when present,
        else ``"ctr"``.
    label_col : str, optional
        The column that names each row; default the first text column, else the index.
    ax : matplotlib Axes, optional
        Drawn into when given; otherwise a new figure is created.
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.errorbar`.

    Returns
    -------
    matplotlib.axes.Axes
        Rows top to bottom in table order; the x axis is in percent.

    Examples
    --------
    >>> from cohortkit.metrics import rate
    >>> ax = rates(rate([100, 30], [8000, 1000]))
    >>> ax.lines[0].get_xdata().tolist()
    [0.0125, 0.03]
    """
    import seaborn as sns
    from matplotlib.ticker import PercentFormatter

    if metric is None:
        metric = "rate" if isinstance(table, pd.DataFrame) and "rate" in table.columns else "ctr"
    lower_col = "lower" if metric == "rate" else f"{metric}_lower"
    upper_col = "upper" if metric == "rate" else f"{metric}_upper"
    table = _need(table, [metric, lower_col, upper_col], "cohortkit.rate() or cohortkit.ad_metrics()")
    if label_col is None:
        text = [c for c in table.columns if c != "note" and not pd.api.types.is_numeric_dtype(table[c])
                and not pd.api.types.is_datetime64_any_dtype(table[c])]
        labels = table[text[0]].astype(str).tolist() if text else [str(i) for i in table.index]
    else:
        labels = _need(table, [label_col], "cohortkit.ad_metrics()")[label_col].astype(str).tolist()
    ax = _new_ax(ax)
    value = table[metric].to_numpy(dtype=float)
    lower = table[lower_col].to_numpy(dtype=float)
    upper = table[upper_col].to_numpy(dtype=float)
    y = np.arange(len(table))
    options = dict(fmt="o", capsize=4, color=sns.color_palette()[0])
    options.update(kwargs)
    ax.errorbar(value, y, xerr=np.vstack([value - lower, upper - value]), **options)
    ax.set_yticks(y, labels)
    ax.set_ylim(len(table) - 0.5, -0.5)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel(metric.upper() if metric != "rate" else "rate")
    return ax
