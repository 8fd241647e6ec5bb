"""CLV diagnostics plots: each draws a table from :mod:`cohortkit.clv` (model vs actual)."""

from __future__ import annotations

import numpy as np

from .._errors import DataError

__all__ = [
    "plot_period_transactions",
    "plot_calibration_holdout",
    "plot_tracking",
    "plot_p_alive_matrix",
    "backtest_ranks",
]


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    return ax


def plot_period_transactions(table, *, ax=None, **kwargs):
    """Grouped bars of customers by repeat frequency, actual vs model.

    ``table`` is :func:`cohortkit.clv.period_transactions`'s output. Bars are in two containers,
    ``ax.containers[0]`` (actual) and ``[1]`` (model), in the order of the table.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"frequency": [0, 1], "label": ["0", "1+"], "actual": [5.0, 3.0], "model": [4.5, 3.5]})
    >>> ax = plot_period_transactions(t)
    >>> [float(bar.get_height()) for bar in ax.containers[1]]
    [4.5, 3.5]
    """
    ax = _axes(ax)
    x = np.arange(len(table))
    width = 0.4
    ax.bar(x - width / 2, table["actual"], width, label="actual", **kwargs)
    ax.bar(x + width / 2, table["model"], width, label="model", **kwargs)
    ax.set_xticks(x, table["label"])
    ax.set_xlabel("repeat purchases in the calibration period")
    ax.set_ylabel("customers")
    ax.legend()
    return ax


def plot_calibration_holdout(table, *, ax=None, **kwargs):
    """Mean holdout purchases by calibration frequency: actual and model lines.

    ``table`` is :func:`cohortkit.clv.calibration_holdout_table`'s output; ``ax.lines[0]`` is actual,
    ``ax.lines[1]`` the model.

    Examples
    --------
    >>> import cohortkit as ck
    >>> tx = ck.datasets.load_cdnow(sample=True)
    >>> cal = ck.calibration_holdout(tx, calibration_end="1997-09-30", observation_end="1998-06-30",
    ...                              time_unit="W")
    >>> model = ck.CLVModel("bgnbd", spend_model=None).fit(cal)
    >>> from cohortkit.clv import calibration_holdout_table
    >>> ax = plot_calibration_holdout(calibration_holdout_table(model, cal))
    >>> len(ax.lines) >= 2
    True
    """
    import seaborn as sns

    ax = _axes(ax)
    sns.lineplot(x=table["frequency"].to_numpy(), y=table["actual"].to_numpy(), marker="o", label="actual", ax=ax, **kwargs)
    sns.lineplot(x=table["frequency"].to_numpy(), y=table["model"].to_numpy(), marker="s", linestyle="--",
                 label="model", ax=ax, **kwargs)
    ax.set_xlabel("repeat purchases in the calibration period (last bin: or more)")
    ax.set_ylabel("mean purchases in the holdout period")
    return ax


def plot_tracking(table, *, ax=None, **kwargs):
    """Cumulative repeat transactions per period, actual vs model, with the calibration end marked.

    ``table`` is :func:`cohortkit.clv.tracking_table`'s output; ``ax.lines[0]`` is actual,
    ``ax.lines[1]`` the model, ``ax.lines[2]`` (if any) the calibration end.

    Examples
    --------
    >>> import cohortkit as ck
    >>> tx = ck.datasets.load_cdnow(sample=True)
    >>> cal = ck.calibration_holdout(tx, calibration_end="1997-09-30", observation_end="1998-06-30",
    ...                              time_unit="W")
    >>> model = ck.CLVModel("bgnbd", spend_model=None).fit(cal)
    >>> from cohortkit.clv import tracking_table
    >>> ax = plot_tracking(tracking_table(model, tx, calibration_end="1997-09-30"))
    >>> len(ax.lines) >= 2
    True
    """
    ax = _axes(ax)
    ax.plot(table["period"], table["actual"], label="actual", **kwargs)
    ax.plot(table["period"], table["model"], linestyle="--", label="model", **kwargs)
    cal = table.attrs.get("calibration_period")
    if cal is not None:
        ax.axvline(cal, color="grey", linestyle=":", label="end of calibration")
    ax.set_xlabel("period since the first purchase in the log")
    ax.set_ylabel("cumulative repeat transactions")
    ax.legend()
    return ax


def plot_p_alive_matrix(table, *, ax=None, **kwargs):
    """Heatmap of P(alive) by frequency (columns) and recency (rows, most recent at the top).

    ``table`` is :func:`cohortkit.clv.p_alive_matrix`'s output; the image array
    (``ax.collections[0].get_array()``) holds the wide matrix row by row.

    Examples
    --------
    >>> import cohortkit as ck
    >>> tx = ck.datasets.load_cdnow(sample=True)
    >>> cal = ck.calibration_holdout(tx, calibration_end="1997-09-30", observation_end="1998-06-30",
    ...                              time_unit="W")
    >>> model = ck.CLVModel("bgnbd", spend_model=None).fit(cal)
    >>> from cohortkit.clv import p_alive_matrix
    >>> ax = plot_p_alive_matrix(p_alive_matrix(model, max_frequency=3))
    >>> ax.get_xlabel() != ""
    True
    """
    import seaborn as sns

    extra = [c for c in table.columns if c not in ("frequency", "recency", "p_alive")]
    if extra and len(table[extra].drop_duplicates()) > 1:
        first = table[extra].iloc[0].to_dict()
        raise DataError(
            f"table holds several covariate profiles (columns {extra}); plot one at a time, e.g. "
            f"table[table[{extra[0]!r}] == {first[extra[0]]!r}].")
    ax = _axes(ax)
    wide = table.pivot(index="recency", columns="frequency", values="p_alive").sort_index(ascending=False)
    kwargs.setdefault("cmap", "viridis")
    sns.heatmap(wide, vmin=0.0, vmax=1.0, ax=ax, cbar_kws={"label": "P(alive)"}, **kwargs)
    ax.set_xlabel("frequency (repeat purchases)")
    ax.set_ylabel("recency")
    return ax


def backtest_ranks(table, *, ax=None, **kwargs):
    """How the campaign ranking settles as the cut moves: one line of rank per group across the cuts.

    ``table`` is :func:`cohortkit.clv.backtest`'s output with ``by`` (the ``"all"`` rows are left
    out). Rank 1 (the most valuable new customer) is drawn at the top; ``ax.lines[i]`` is the i-th
    group in sorted order, its y data the ranks at each cut.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"cut": ["4W", "4W", "13W", "13W"], "campaign": ["a", "b", "a", "b"],
    ...                       "rank": [2.0, 1.0, 1.0, 2.0]})
    >>> table.attrs["by"] = "campaign"
    >>> ax = backtest_ranks(table)
    >>> ax.lines[0].get_ydata().tolist(), [t.get_text() for t in ax.get_xticklabels()]
    ([2.0, 1.0], ['4W', '13W'])
    """
    from ..style import campaign_palette

    by = table.attrs.get("by") or next((c for c in table.columns if c not in _BACKTEST_COLUMNS), None)
    if by is None or by not in table.columns or "rank" not in table.columns:
        raise DataError("table must be the output of cohortkit.clv.backtest(..., by=...) (with a rank per group).")
    ax = _axes(ax)
    rows = table[table[by] != "all"]
    cuts = list(dict.fromkeys(rows["cut"]))
    colours = campaign_palette(rows[by].unique())  # the same colour per campaign as every other plot
    for group, g in sorted(rows.groupby(by), key=lambda item: str(item[0])):
        g = g.set_index("cut").reindex(cuts)
        ax.plot(np.arange(len(cuts)), g["rank"].to_numpy(dtype=float), marker="o", label=str(group),
                color=colours[group], **kwargs)
    ax.set_xticks(np.arange(len(cuts)), cuts)
    n = rows[by].nunique()
    ax.set_ylim(n + 0.5, 0.5)
    ax.set_yticks(np.arange(1, n + 1))
    ax.set_xlabel("data since the first purchase (cut)")
    ax.set_ylabel("rank of a new customer's value (1 = best)")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    return ax


_BACKTEST_COLUMNS = {"cut", "calibration_end", "n_customers", "predicted_purchases", "actual_purchases", "mae",
                     "bias", "p_alive_hit_rate", "predicted_value", "actual_value", "gini", "top_decile_capture",
                     "new_customer_value", "rank"}

