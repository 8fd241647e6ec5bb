"""When does a campaign pay back? Observed purchases first, then the fitted CLV model's projection."""

from __future__ import annotations

from typing import Any

import ibis
import numpy as np
import pandas as pd

from .._args import check_ci, unit_days
from .._engine import exact_sum, execute
from .._errors import DataError
from ..io import check_same_ids
from ._ad_value import Economics
from ._inputs import acquisition, customers_table, last_day, transactions_table

__all__ = ["payback_curve", "payback"]


def payback_curve(
    campaigns: Any,
    customers: Any,
    transactions: Any,
    model: Any,
    *,
    economics: Economics | None = None,
    by: str = "campaign",
    time_unit: str = "W",
    horizon: int = 104,
    observation_end: Any = None,
    ci: float = 0.95,
    n_boot: int = 200,
    seed: int = 0,
    customer_col: str = "customer_id",
    acquired_col: str | None = "acquired_at",
    date_col: str = "date",
    amount_col: str = "amount",
    spend_col: str = "spend",
) -> pd.DataFrame:
    """Cumulative margin per acquired customer by periods since acquisition, observed then projected.

    For each customer, periods that ended by ``observation_end`` hold what they actually bought; later
    periods add the model's expected purchases (``model.predict_purchases``, conditional on the
    customer's history) times their expected order value (``model.expected_spend``) to what they had
    bought by then. A campaign's curve is the mean over its customers, times ``economics.margin``.

    Two columns keep observed and projected apart:

    * ``observed_margin`` — :func:`value_curve`'s cumulative margin per customer (only purchases,
      period by period over the customers whose period has ended; NaN once no customer's period
      has), the curve behind :func:`ad_value`'s ``payback_period``;
    * ``expected_margin`` — every customer, observed where observed and projected after.

    Each has a ``ci`` interval (``_lower``, ``_upper``) from resampling the campaign's customers
    (``n_boot`` draws, seeded): the spread of customers, not the uncertainty of the model's parameters.

    ``observed_share`` is the share of the campaign's customers whose period has ended; ``kind`` is
    ``"observed"`` when it is 1, ``"projected"`` when it is 0 and ``"mixed"`` between.

    Parameters
    ----------
    campaigns, customers, transactions
        As in :func:`ad_value` (spend per campaign, one row per acquired customer, the purchase log).
    model : cohortkit.CLVModel
        Fitted with a spend model (Gamma-Gamma) on an RFM summary of ``transactions`` up to
        ``observation_end``, in any time unit.
    economics : Economics, optional
        Margin and extra cost per customer (for the CAC).
    by, time_unit, observation_end, customer_col, acquired_col, date_col, amount_col, spend_col
        As in :func:`ad_value`. ``time_unit`` is the unit of the periods.
    horizon : int, default 104
        Periods since acquisition to cover.
    ci, n_boot, seed
        The interval of ``expected_margin``.

    Returns
    -------
    pandas.DataFrame
        ``<by>, period_number, observed_share, kind, observed_margin, observed_margin_lower,
        observed_margin_upper, expected_margin, expected_margin_lower, expected_margin_upper, cac``; ``attrs`` has ``time_unit``,
        ``observation_end`` and ``margin``.

    Examples
    --------
    >>> import cohortkit as ck
    >>> shop = ck.datasets.load_shop()
    >>> rfm = ck.rfm_summary(shop.transactions, amount_col="amount", time_unit="W")
    >>> model = ck.CLVModel().fit(rfm)
    >>> curve = payback_curve(shop.campaigns, shop.customers, shop.transactions, model,
    ...                       economics=ck.Economics(margin=0.3), horizon=156, n_boot=50)
    >>> row = curve[(curve["campaign"] == "generic_search") & (curve["period_number"] == 150)]
    >>> row["kind"].item(), bool(row["expected_margin"].item() > row["cac"].item())
    ('projected', True)
    """
    econ = economics or Economics()
    days = unit_days(time_unit)
    ci = check_ci(ci)
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise DataError(f"horizon={horizon!r} must be a whole number of {time_unit} periods >= 1, e.g. 104.")
    c = customers_table(customers, by=by, customer_col=customer_col, acquired_col=acquired_col)
    tx = transactions_table(transactions, customer_col=customer_col, date_col=date_col, amount_col=amount_col)
    check_same_ids(("customers", c), ("transactions", tx))
    end = last_day(tx, observation_end)
    people = _people(acquisition(c, tx, acquired_col is not None), tx, end, days, horizon)
    expected = _projected(people, model, tx, end, days, horizon, customer_col)
    cac = _cac(campaigns, people, by=by, spend_col=spend_col, extra=econ.cost_per_customer)
    out = _campaign_curves(people, expected, cac, margin=econ.margin, ci=ci, n_boot=n_boot, seed=seed)
    out = out.rename(columns={"group": by})
    out.attrs.update(time_unit=time_unit, observation_end=end, margin=econ.margin)
    return out


def payback(
    campaigns: Any,
    customers: Any,
    transactions: Any,
    model: Any,
    *,
    economics: Economics | None = None,
    by: str = "campaign",
    time_unit: str = "W",
    horizon: int = 104,
    observation_end: Any = None,
    ci: float = 0.95,
    n_boot: int = 200,
    seed: int = 0,
    customer_col: str = "customer_id",
    acquired_col: str | None = "acquired_at",
    date_col: str = "date",
    amount_col: str = "amount",
    spend_col: str = "spend",
) -> pd.DataFrame:
    """Each campaign's payback period: observed when the data shows it, projected by the model when not.

    ``payback_period`` is the number of ``time_unit`` periods after acquisition by whose end the
    cumulative margin per customer first reaches the CAC (1 = within the first period), as in
    :func:`ad_value`. ``observed_payback`` reads it from the observed curve only (equal to
    :func:`ad_value`'s ``payback_period``); when the observed curve has not reached the CAC yet,
    ``payback_period`` comes from the model's expected curve and ``source`` says ``"projected"``.
    ``payback_lower`` / ``payback_upper`` are the periods at which the upper and the lower end of
    that curve's interval (:func:`payback_curve`) reach the CAC; NaN means "not within ``horizon``"
    (an upper end that never reaches it within ``horizon`` is NaN too), with a note.

    Parameters and examples: see :func:`payback_curve`.

    Returns
    -------
    pandas.DataFrame
        ``<by>, cac, observed_payback, payback_period, payback_lower, payback_upper, source, note``;
        ``attrs["curve"]`` is the :func:`payback_curve` it was read from (no need to compute it again).

    Examples
    --------
    >>> import cohortkit as ck
    >>> shop = ck.datasets.load_shop()
    >>> rfm = ck.rfm_summary(shop.transactions, amount_col="amount", time_unit="W")
    >>> model = ck.CLVModel().fit(rfm)
    >>> cut = "2023-06-30"   # six months in: some campaigns have not paid back yet
    >>> tx = shop.transactions[shop.transactions["date"] <= cut]
    >>> customers = shop.customers[shop.customers["acquired_at"] <= cut]
    >>> campaigns = shop.campaigns[shop.campaigns["date"] <= cut]
    >>> early = ck.CLVModel().fit(ck.rfm_summary(tx, amount_col="amount", time_unit="W", observation_end=cut))
    >>> p = payback(campaigns, customers, tx, early, economics=ck.Economics(margin=0.3), horizon=156,
    ...             observation_end=cut, n_boot=50).set_index("campaign")
    >>> p.loc["line_retargeting", "source"], float(p.loc["line_retargeting", "payback_period"])
    ('observed', 1.0)
    >>> p.loc["coupon_affiliate", "source"], bool(p.loc["coupon_affiliate", "payback_period"] > 26)
    ('projected', False)
    """
    curve = payback_curve(
        campaigns, customers, transactions, model, economics=economics, by=by, time_unit=time_unit,
        horizon=horizon, observation_end=observation_end, ci=ci, n_boot=n_boot, seed=seed,
        customer_col=customer_col, acquired_col=acquired_col, date_col=date_col, amount_col=amount_col,
        spend_col=spend_col,
    )
    rows = []
    for group, g in curve.groupby(by, sort=True):
        cac = float(g["cac"].iloc[0])
        observed = _first_reach(g, "observed_margin", cac)
        expected = _first_reach(g, "expected_margin", cac)
        source = "observed" if np.isfinite(observed) else ("projected" if np.isfinite(expected) else "")
        curve_name = "observed_margin" if source == "observed" else "expected_margin"
        lower = _first_reach(g, f"{curve_name}_upper", cac)  # the higher curve pays back first
        upper = _first_reach(g, f"{curve_name}_lower", cac)
        note = "" if source else f"payback: not reached within {len(g)} {time_unit} periods"
        rows.append((group, cac, observed, observed if source == "observed" else expected, lower, upper, source, note))
    out = pd.DataFrame(rows, columns=[by, "cac", "observed_payback", "payback_period", "payback_lower",
                                      "payback_upper", "source", "note"])
    out["source"] = out["source"].astype("str")
    out["note"] = out["note"].astype("str")
    out.attrs.update(curve.attrs, curve=curve)
    return out


# --- steps --------------------------------------------------------------------------------------


def _people(acq, tx, end: pd.Timestamp, days: int, horizon: int) -> pd.DataFrame:
    """Per customer: group, age at the end (days), revenue by period since acquisition (cumulative)."""
    end_lit = ibis.literal(end.to_pydatetime(), type="timestamp")
    a = acq.filter(acq.acq_day.notnull() & (acq.acq_day <= end_lit))
    a = a.mutate(age=(end_lit.delta(a.acq_day, unit="day") + 1).cast("int64"))
    j = tx.join(a.select("customer_id", "acq_day"), "customer_id")
    j = j.mutate(tx_day=j.date.truncate("D"))
    j = j.filter((j.tx_day >= j.acq_day) & (j.tx_day <= end_lit))
    j = j.mutate(period_number=(j.tx_day.delta(j.acq_day, unit="day") // days).cast("int64"))
    revenue = execute(j.group_by(["customer_id", "period_number"]).aggregate(revenue=exact_sum(j.amount)))
    people = execute(a.select("customer_id", "group", "age")).sort_values(["group", "customer_id"],
                                                                          kind="stable").reset_index(drop=True)
    rows = pd.Index(people["customer_id"]).get_indexer(revenue["customer_id"])
    matrix = np.zeros((len(people), horizon))
    keep = revenue["period_number"].to_numpy() < horizon
    np.add.at(matrix, (rows[keep], revenue["period_number"].to_numpy()[keep]), revenue["revenue"].to_numpy()[keep])
    people.attrs["revenue"] = matrix
    people.attrs["cumulative"] = matrix.cumsum(axis=1)
    people.attrs["days"] = days
    people.attrs["total"] = revenue.groupby("customer_id")["revenue"].sum().reindex(people["customer_id"]).fillna(0.0).to_numpy()
    return people


def _projected(people: pd.DataFrame, model, tx, end: pd.Timestamp, days: int, horizon: int,
               customer_col: str) -> np.ndarray:
    """customers × periods: observed cumulative revenue where the period has ended, projected after."""
    from ..clv import rfm_summary

    from ..clv import CLVModel

    if not isinstance(model, CLVModel) or not hasattr(model, "time_unit_"):
        raise DataError("model must be a fitted cohortkit.CLVModel; fit it first: "
                        "ck.CLVModel().fit(ck.rfm_summary(transactions, ..., time_unit='W')).")
    if model.spend_model is None:
        raise DataError("model has no spend model; fit CLVModel(spend_model='gamma_gamma') to project revenue.")
    unit = model.time_unit_
    model_days = unit_days(unit)
    rfm = rfm_summary(tx, amount_col="amount", time_unit=unit, observation_end=end)
    rfm = rfm.set_index("customer_id").reindex(people["customer_id"])
    if rfm["frequency"].isna().any():
        raise DataError("some acquired customers have no purchase up to observation_end; the model cannot "
                        "project them. Pass transactions that include each customer's first purchase.")
    summary = rfm.reset_index()
    spend = model.expected_spend(summary).to_numpy(dtype=float)
    ages = people["age"].to_numpy()  # days observed since acquisition, at the end
    ends = (np.arange(horizon) + 1) * days  # the day each period ends since acquisition
    ahead = ends[None, :] - ages[:, None]  # days after the observation end (<= 0: already observed)
    grid_days = np.arange(0, int(max(ahead.max(), 0)) + model_days + 1, model_days)
    grid = np.vstack([np.zeros(len(summary))] + [
        model.predict_purchases(t / model_days, summary=summary).to_numpy(dtype=float) for t in grid_days[1:]
    ]).T  # customers × grid points: expected purchases within t days after the end
    purchases = np.array([np.interp(np.clip(ahead[i], 0, None), grid_days, grid[i]) for i in range(len(ages))])
    observed = people.attrs["cumulative"]
    projected = people.attrs["total"][:, None] + purchases * spend[:, None]
    return np.where(ahead <= 0, observed, projected)


def _cac(campaigns, people: pd.DataFrame, *, by: str, spend_col: str, extra: float) -> pd.Series:
    from ..io import Column, prepare

    camp = prepare(campaigns, [Column("by", by, "group", "string", "the campaign name"),
                               Column("spend_col", spend_col, "spend", "numeric", "the ad spend")],
                   what="campaigns")
    spend = execute(camp.group_by("group").aggregate(spend=camp.spend.sum())).set_index("group")["spend"]
    n = people.groupby("group").size()
    return (spend.reindex(n.index).fillna(0.0) / n + extra).rename("cac")


def _campaign_curves(people, expected: np.ndarray, cac: pd.Series, *, margin: float, ci: float,
                     n_boot: int, seed: int) -> pd.DataFrame:
    """Per campaign and period: observed share, both curves with resampled intervals, and the CAC."""
    horizon = expected.shape[1]
    ends = (np.arange(horizon) + 1) * people.attrs["days"]
    rng = np.random.default_rng(seed)
    lo_q, hi_q = (1 - ci) / 2, 1 - (1 - ci) / 2
    frames = []
    for group, rows in people.groupby("group", sort=True).indices.items():
        seen = people["age"].to_numpy()[rows][:, None] >= ends[None, :]  # the customer's period has ended
        revenue, projected = people.attrs["revenue"][rows], expected[rows]
        picks = [rng.integers(0, len(rows), len(rows)) for _ in range(n_boot)]
        observed_draws = np.array([_observed_curve(revenue[i], seen[i]) for i in picks]) * margin
        expected_draws = np.array([projected[i].mean(axis=0) for i in picks]) * margin
        frame = pd.DataFrame({"group": group, "period_number": np.arange(horizon, dtype="int64"),
                              "observed_share": seen.mean(axis=0)})
        frame["kind"] = np.where(frame["observed_share"] >= 1, "observed",
                                 np.where(frame["observed_share"] <= 0, "projected", "mixed"))
        for name, point, draws in (("observed_margin", _observed_curve(revenue, seen) * margin, observed_draws),
                                   ("expected_margin", projected.mean(axis=0) * margin, expected_draws)):
            frame[name] = point
            with np.errstate(invalid="ignore"):
                frame[f"{name}_lower"] = np.quantile(draws, lo_q, axis=0)
                frame[f"{name}_upper"] = np.quantile(draws, hi_q, axis=0)
        frame["cac"] = float(cac[group])
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    out["kind"] = out["kind"].astype("str")
    return out


def _observed_curve(revenue: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """Σ over periods of (revenue of the customers whose period has ended / their number): value_curve's rule."""
    n = seen.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_period = np.where(n > 0, (revenue * seen).sum(axis=0) / np.where(n > 0, n, 1), np.nan)
    return np.cumsum(per_period)


def _first_reach(g: pd.DataFrame, column: str, cac: float) -> float:
    hit = g.loc[g[column] >= cac - 1e-9 * max(abs(cac), 1.0), "period_number"]
    return float(hit.min() + 1) if len(hit) else np.nan
