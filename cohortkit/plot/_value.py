"""Plots of ad value: CTR × LTV-ROAS quadrant, rank slope chart, KPI tornado, lead funnel.

Each creates a figure when ``ax`` is None, returns the Axes and passes ``**kwargs`` to matplotlib.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._errors import DataError

__all__ = ["value_quadrant", "rank_slope", "tornado", "lead_funnel"]


def _ax(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    return ax


def _need(table, columns, what):
    if not isinstance(table, pd.DataFrame):
        raise DataError(f"table must be a pandas DataFrame ({what}), got {type(table).__name__}.")
    for col in columns:
        if col is not None and col not in table.columns:
            raise DataError(f"table has no column {col!r}; it has {list(table.columns)}. Pass {what}.")


def value_quadrant(table: pd.DataFrame, x: str = "ctr", y: str = "ltv_roas", size: str | None = "spend", *,
                   label: str = "campaign", ax=None, **kwargs):
    """Scatter of campaigns by a short-term metric (x) and long-term value (y), split at the medians.

    Campaigns in the top-left quadrant (low CTR, high LTV-ROAS) are the ones a CTR dashboard
    undervalues; bottom-right (high CTR, low LTV-ROAS) the ones it overvalues. Marker area is
    proportional to ``size`` (largest = 600 pt²); dashed lines mark the medians; a dotted line at
    ``y = 1`` marks break-even when ``y`` is a ROAS. Each point has its campaign's colour from
    :func:`cohortkit.style.campaign_palette` (pass ``color=`` or ``c=`` to override).

    Parameters
    ----------
    table : pandas.DataFrame
        One row per campaign, e.g. the output of :func:`cohortkit.ad_value`.
    x, y : str
        Columns for the axes.
    size : str or None
        Column for marker area, or None for equal markers.
    label : str
        Column used to label each point.
    ax : matplotlib Axes, optional
    **kwargs
        Passed to ``ax.scatter``.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"campaign": ["banner", "search"], "ctr": [0.045, 0.02],
    ...                   "ltv_roas": [0.9, 2.4], "spend": [100.0, 50.0]})
    >>> ax = value_quadrant(t)
    >>> [txt.get_text() for txt in ax.texts]
    ['banner', 'search']
    """
    _need(table, [x, y, size, label], "the output of cohortkit.ad_value")
    ax = _ax(ax)
    data = table.dropna(subset=[x, y])
    xs, ys = data[x].to_numpy(float), data[y].to_numpy(float)
    if size is not None:
        s = data[size].to_numpy(float)
        top = np.nanmax(s) if len(s) and np.nanmax(s) > 0 else 1.0
        sizes = 40 + 560 * np.nan_to_num(s) / top
    else:
        sizes = np.full(len(xs), 120.0)
    kwargs.setdefault("alpha", 0.7)
    if "c" not in kwargs and "color" not in kwargs:
        from ..style import campaign_palette

        colours = campaign_palette(data[label])  # the same colour per campaign in every plot
        kwargs["color"] = [colours[str(name)] for name in data[label]]
    ax.scatter(xs, ys, s=sizes, **kwargs)
    for xi, yi, name in zip(xs, ys, data[label].astype(str)):
        ax.annotate(name, (xi, yi), xytext=(5, 5), textcoords="offset points", fontsize=9)
    if len(xs):
        ax.axvline(float(np.median(xs)), color="grey", linestyle="--", linewidth=1)
        ax.axhline(float(np.median(ys)), color="grey", linestyle="--", linewidth=1)
    if "roas" in y:
        ax.axhline(1.0, color="black", linestyle=":", linewidth=1)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(f"{y} vs {x}")
    return ax


def rank_slope(table: pd.DataFrame, from_: str = "ctr", to: str = "ltv_roas", *, key: str = "campaign",
               ax=None, **kwargs):
    """Slope chart: each campaign's rank by ``from_`` (left) joined to its rank by ``to`` (right).

    Rank 1 is at the top. Lines that cross show the reversal. Uses :func:`cohortkit.rank_shift`
    for the ranks (so CPA and payback rank ascending). Each line has its campaign's colour from
    :func:`cohortkit.style.campaign_palette` (pass ``color=`` to override).

    Parameters
    ----------
    table : pandas.DataFrame
        One row per campaign (e.g. :func:`cohortkit.ad_value`).
    from_, to : str
        The two metrics.
    key : str
        Column naming the campaigns.
    ax : matplotlib Axes, optional
    **kwargs
        Passed to ``ax.plot``.

    Returns
    -------
    matplotlib.axes.Axes
        One line per ranked campaign with x data ``[0, 1]`` and y data ``[rank_from, rank_to]``.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"campaign": ["banner", "search"], "ctr": [0.045, 0.02], "ltv_roas": [0.9, 2.4]})
    >>> ax = rank_slope(t)
    >>> sorted([float(v) for v in line.get_ydata()] for line in ax.lines)
    [[1.0, 2.0], [2.0, 1.0]]
    """
    from ..value import rank_shift

    shift = rank_shift(table, from_, to, key=key)
    ax = _ax(ax)
    kwargs.setdefault("marker", "o")
    data = shift.dropna(subset=[f"rank_{from_}", f"rank_{to}"])
    from ..style import campaign_palette

    colours = campaign_palette(data[key])  # the same colour per campaign in every plot
    for _, row in data.iterrows():
        r0, r1 = int(row[f"rank_{from_}"]), int(row[f"rank_{to}"])
        options = kwargs if "color" in kwargs else {**kwargs, "color": colours[str(row[key])]}
        ax.plot([0, 1], [r0, r1], **options)
        ax.annotate(str(row[key]), (0, r0), xytext=(-6, 0), textcoords="offset points", ha="right",
                    va="center", fontsize=9)
        ax.annotate(str(row[key]), (1, r1), xytext=(6, 0), textcoords="offset points", ha="left",
                    va="center", fontsize=9)
    n = max(len(data), 1)
    ax.set_xlim(-0.6, 1.6)
    ax.set_ylim(n + 0.5, 0.5)
    ax.set_xticks([0, 1], [f"rank by {from_}", f"rank by {to}"])
    ax.set_yticks(range(1, n + 1))
    ax.set_ylabel("rank (1 = best)")
    return ax


def tornado(table: pd.DataFrame, *, roles=("KPI", "KSF"), top: int | None = None, ax=None, **kwargs):
    """Tornado chart of a :func:`cohortkit.kpi_tree`: the KGI when each node moves by ± change.

    One horizontal bar per node, from the KGI at ``value × (1 - change)`` to the KGI at
    ``value × (1 + change)``, widest at the top; a vertical line marks the current KGI.

    Parameters
    ----------
    table : pandas.DataFrame
        The output of :func:`cohortkit.kpi_tree`.
    roles : tuple of str
        Which nodes to show ("KPI", "KSF").
    top : int, optional
        Show only the ``top`` widest bars.
    ax : matplotlib Axes, optional
    **kwargs
        Passed to ``ax.barh``.

    Returns
    -------
    matplotlib.axes.Axes
        Bars (``ax.patches``) in plotting order bottom-up: left edge ``min(kgi_if_up, kgi_if_down)``,
        width ``abs(kgi_if_up - kgi_if_down)``; y tick labels are the node names.

    Examples
    --------
    >>> from cohortkit.value import kpi_tree
    >>> t = kpi_tree({"profit": "revenue - cost"}, {"revenue": 1000, "cost": 600})
    >>> ax = tornado(t)
    >>> [tick.get_text() for tick in ax.get_yticklabels()]
    ['cost', 'revenue']
    >>> [round(p.get_width()) for p in ax.patches]
    [120, 200]
    """
    _need(table, ["node", "role", "kgi_if_up", "kgi_if_down"], "the output of cohortkit.kpi_tree")
    data = table[table["role"].isin(roles)].copy()
    data["width"] = (data["kgi_if_up"] - data["kgi_if_down"]).abs()
    data = data.sort_values("width", ascending=False, kind="stable")
    if top is not None:
        data = data.head(int(top))
    data = data.iloc[::-1]  # widest on top
    ax = _ax(ax)
    base = table.attrs.get("kgi_value", float(table.loc[table["role"] == "KGI", "value"].iloc[0]))
    left = np.minimum(data["kgi_if_up"], data["kgi_if_down"]).to_numpy()
    y = np.arange(len(data))
    ax.barh(y, data["width"].to_numpy(), left=left, **kwargs)
    ax.set_yticks(y, data["node"].astype(str).tolist())
    ax.axvline(base, color="black", linewidth=1)
    change = table.attrs.get("change")
    kgi = table.attrs.get("kgi", "KGI")
    ax.set_xlabel(f"{kgi}" + (f" when the node moves ±{change:.0%}" if change else ""))
    return ax


def lead_funnel(table: pd.DataFrame, *, ax=None, **kwargs):
    """Horizontal funnel of a :func:`cohortkit.value.lead_funnel` table: leads per stage, conversion
    from the previous stage and the median time it took.

    Parameters
    ----------
    table : pandas.DataFrame
        The output of :func:`cohortkit.value.lead_funnel`.
    ax : matplotlib Axes, optional
    **kwargs
        Passed to ``ax.barh``.

    Returns
    -------
    matplotlib.axes.Axes
        One bar per stage (first stage on top) of width ``leads``; each stage after the first is
        annotated ``"<conversion>% · <median time> <unit>"``.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"stage": ["lead", "mql", "sql"], "leads": [100, 40, 10],
    ...                   "conversion": [1.0, 0.4, 0.25], "median_time": [float("nan"), 3.0, 10.5]})
    >>> ax = lead_funnel(f)
    >>> [float(p.get_width()) for p in ax.patches]
    [100.0, 40.0, 10.0]
    >>> [t.get_text() for t in ax.texts]
    ['40.0% · 3.0 D', '25.0% · 10.5 D']
    """
    _need(table, ["stage", "leads", "conversion", "median_time"], "the output of cohortkit.value.lead_funnel")
    ax = _ax(ax)
    n = len(table)
    y = np.arange(n)[::-1]
    ax.barh(y, table["leads"].to_numpy(float), **kwargs)
    ax.set_yticks(y, table["stage"].astype(str).tolist())
    unit = table.attrs.get("time_unit", "D")
    for i in range(1, n):
        row = table.iloc[i]
        conv = "n/a" if pd.isna(row["conversion"]) else f"{row['conversion']:.1%}"
        time = "" if pd.isna(row["median_time"]) else f" · {row['median_time']:.1f} {unit}"
        ax.annotate(conv + time, (float(row["leads"]), y[i]), xytext=(5, 0), textcoords="offset points",
                    va="center", fontsize=9)
    ax.set_xlabel("leads")
    return ax
