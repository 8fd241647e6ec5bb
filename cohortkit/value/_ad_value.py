"""LTV-adjusted ad value per campaign, and the cumulative value curve behind the payback period."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import ibis
import numpy as np
import pandas as pd
from scipy import stats

from .._args import check_number, unit_days, unit_name
from .._engine import exact_sum, execute
from ..io import Column, check_same_ids, prepare
from .._errors import DataError
from ._inputs import acquisition, customers_table, last_day, transactions_table
from ._reallocate import rank_values

__all__ = ["ad_value", "value_curve", "Economics"]



# --- argument checks --------------------------------------------------------------------------


@dataclass(frozen=True)
class Economics:
    """The business assumptions that turn customer value into ad value (for :func:`ad_value`).

    Parameters
    ----------
    margin : float in (0, 1], default 1.0
        Profit margin applied to customer value (not to first-order ROAS).
    target_ltv_cac : float, default 3.0
        Target LTV:CAC, for ``allowable_cpa``.
    cost_per_customer : float, default 0.0
        Acquisition cost per customer beyond media spend (coupon, onboarding, sales time).
    horizon : int, optional
        Only when ``clv`` is a ``CLVModel``: how many ``time_unit`` periods ahead to value customers.
    discount_rate : float, default 0.0
        Only when ``clv`` is a ``CLVModel``: the discount rate per ``time_unit`` period.

    Examples
    --------
    >>> Economics(margin=0.3, target_ltv_cac=3.0)
    Economics(margin=0.3, target_ltv_cac=3.0, cost_per_customer=0.0, horizon=None, discount_rate=0.0)
    >>> Economics(margin=30)
    Traceback (most recent call last):
    ...
    cohortkit._errors.DataError: margin=30 must be a number > 0 and <= 1, e.g. 0.3 for a 30 % margin.
    """

    margin: float = 1.0
    target_ltv_cac: float = 3.0
    cost_per_customer: float = 0.0
    horizon: int | None = None
    discount_rate: float = 0.0

    def __post_init__(self) -> None:
        check_number(self.margin, "margin", low=0, low_open=True, high=1, example=", e.g. 0.3 for a 30 % margin")
        check_number(self.target_ltv_cac, "target_ltv_cac", low=0, low_open=True, example=", e.g. 3.0")
        check_number(self.cost_per_customer, "cost_per_customer", low=0)
        check_number(self.discount_rate, "discount_rate", low=0)


_ECONOMICS_FIELDS = ("margin", "target_ltv_cac", "cost_per_customer", "horizon", "discount_rate")


def _economics(economics: Economics | None, legacy: dict[str, Any]) -> Economics:
    """``economics``, or one built from the keywords ``ad_value`` took before (with a FutureWarning)."""
    unknown = sorted(set(legacy) - set(_ECONOMICS_FIELDS))
    if unknown:
        raise TypeError(f"ad_value() got an unexpected keyword argument {unknown[0]!r}")
    if economics is not None and not isinstance(economics, Economics):
        raise DataError(
            f"economics must be a cohortkit.value.Economics, got {type(economics).__name__}. Pass "
            "economics=Economics(margin=0.3, target_ltv_cac=3.0)."
        )
    if not legacy:
        return economics or Economics()
    if economics is not None:
        raise TypeError(f"ad_value() got both economics= and {sorted(legacy)[0]}=; put it in Economics(...).")
    shown = ", ".join(f"{k}={v!r}" for k, v in legacy.items())
    warnings.warn(
        f"ad_value({shown}) is replaced by ad_value(economics=Economics({shown})); the separate keywords "
        "stop working in the next release.",
        FutureWarning,
        stacklevel=3,
    )
    return Economics(**legacy)


def _check_unit(time_unit: Any) -> float:
    return float(unit_days(time_unit))


def _quoted(values, limit: int = 5) -> str:
    values = list(values)
    text = ", ".join(repr(v) for v in values[:limit])
    return text + (f" and {len(values) - limit} more" if len(values) > limit else "")


def _curve(acq, tx, end_day: pd.Timestamp, unit_days: float, margin: float) -> pd.DataFrame:
    """Cumulative revenue per customer by whole time units since acquisition, per group."""
    end = ibis.literal(end_day.to_pydatetime(), type="timestamp")
    unit = int(unit_days)
    a = acq.filter(acq.acq_day.notnull() & (acq.acq_day <= end))
    a = a.mutate(n_complete=((end.delta(a.acq_day, unit="day") + 1) // unit).cast("int64"))
    j = tx.join(a, "customer_id")
    j = j.mutate(tx_day=j.date.truncate("D"))
    j = j.mutate(period_number=(j.tx_day.delta(j.acq_day, unit="day") // unit).cast("int64"))
    j = j.filter((j.tx_day >= j.acq_day) & (j.period_number < j.n_complete))
    revenue = execute(j.group_by(["group", "period_number"]).aggregate(revenue=exact_sum(j.amount)))
    sizes = execute(a.group_by(["group", "n_complete"]).aggregate(n=a.count()))
    frames = []
    for group, g in sizes.groupby("group", sort=True):
        n_max = int(g["n_complete"].max())
        if n_max <= 0:
            continue
        counts = np.zeros(n_max + 1)
        np.add.at(counts, g["n_complete"].clip(lower=0).astype(int).to_numpy(), g["n"].to_numpy())
        observed = counts[::-1].cumsum()[::-1][1:]  # customers with n_complete >= k + 1
        rev = revenue[revenue["group"] == group].set_index("period_number")["revenue"]
        frame = pd.DataFrame({"group": group, "period_number": np.arange(n_max, dtype="int64"),
                              "customers": observed.astype("int64")})
        frame["revenue"] = rev.reindex(frame["period_number"]).fillna(0.0).to_numpy(dtype="float64")
        frames.append(frame)
    if not frames:
        out = pd.DataFrame({"group": pd.Series(dtype="str"), "period_number": pd.Series(dtype="int64"),
                            "customers": pd.Series(dtype="int64"), "revenue": pd.Series(dtype="float64")})
    else:
        out = pd.concat(frames, ignore_index=True)
    out["revenue_per_customer"] = out["revenue"] / out["customers"]
    out["cumulative_revenue_per_customer"] = out.groupby("group")["revenue_per_customer"].cumsum()
    out["cumulative_margin_per_customer"] = out["cumulative_revenue_per_customer"] * margin
    return out


def value_curve(
    customers: Any,
    transactions: Any,
    *,
    by: str = "campaign",
    time_unit: str = "W",
    margin: float = 1.0,
    observation_end: Any = None,
    customer_col: str = "customer_id",
    acquired_col: str | None = "acquired_at",
    date_col: str = "date",
    amount_col: str = "amount",
) -> pd.DataFrame:
    """Cumulative revenue and margin per acquired customer by time since acquisition, per campaign.

    Period ``n`` (``period_number``) covers days ``[n·u, (n+1)·u)`` after the acquisition day, with
    ``u`` = 1 (``time_unit="D"``) or 7 (``"W"``); days are calendar days (timestamps truncated to
    the day before taking differences). A customer is *observed through* period ``n`` when the whole
    period lies on or before ``observation_end``. Per campaign and period::

        revenue_per_customer(n) = revenue in period n of the customers observed through n
                                  / number of customers observed through n
        cumulative_revenue_per_customer(n) = sum over k <= n of revenue_per_customer(k)

    so late-acquired customers count as long as they are observed (no censoring bias toward early
    cohorts), and with every customer observed it is simply their mean cumulative revenue.
    Transactions before the acquisition day are not counted (the campaign did not bring them).

    Parameters
    ----------
    customers : DataFrame, path or ibis.Table
        One row per customer: ``customer_col``, ``by`` and ``acquired_col``.
    transactions : DataFrame, path or ibis.Table
        The purchase log (``customer_col, date_col, amount_col``); the first purchase included.
    by : str, default "campaign"
        The acquisition campaign (or channel) column of ``customers``.
    time_unit : {"D", "W"}, default "W"
        Length of a period.
    margin : float, default 1.0
        Profit margin for ``cumulative_margin_per_customer``.
    observation_end : date-like, optional
        Last observed day (inclusive); default the day of the last transaction.
    customer_col, acquired_col, date_col, amount_col : str
        Column names. ``acquired_col=None`` takes each customer's first transaction as acquisition.

    Returns
    -------
    pandas.DataFrame
        ``<by>, period_number, customers, revenue, revenue_per_customer,
        cumulative_revenue_per_customer, cumulative_margin_per_customer``, sorted by ``by`` and
        period; ``attrs`` records ``time_unit``, ``observation_end`` and ``margin``.

    Examples
    --------
    >>> import pandas as pd
    >>> cust = pd.DataFrame({"customer_id": ["a", "b"], "campaign": ["x", "x"],
    ...                      "acquired_at": pd.to_datetime(["2024-01-01", "2024-01-08"])})
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...                    "date": pd.to_datetime(["2024-01-01", "2024-01-09", "2024-01-08"]),
    ...                    "amount": [100.0, 50.0, 80.0]})
    >>> c = value_curve(cust, tx, time_unit="W", observation_end="2024-01-14")
    >>> c[["campaign", "period_number", "customers", "revenue", "cumulative_revenue_per_customer"]]
      campaign  period_number  customers  revenue  cumulative_revenue_per_customer
    0        x              0          2    180.0                             90.0
    1        x              1          1     50.0                            140.0
    """
    unit_days = _check_unit(time_unit)
    margin = check_number(margin, "margin", low=0, low_open=True, high=1, example=", e.g. 0.3 for a 30 % margin")
    c = customers_table(customers, by=by, customer_col=customer_col, acquired_col=acquired_col)
    tx = transactions_table(transactions, customer_col=customer_col, date_col=date_col, amount_col=amount_col)
    end_day = last_day(tx, observation_end)
    out = _curve(acquisition(c, tx, acquired_col is not None), tx, end_day, unit_days, margin)
    out = out.rename(columns={"group": by})
    out.attrs.update(time_unit=time_unit, observation_end=end_day, margin=margin)
    return out


def _payback(curve: pd.DataFrame, cac: pd.Series, time_unit: str) -> tuple[pd.Series, pd.Series]:
    """Smallest n + 1 with cumulative margin per customer >= CAC, per group; NaN + reason otherwise."""
    period, note = {}, {}
    for group, value in cac.items():
        g = curve[curve["group"] == group]
        if not np.isfinite(value):
            period[group], note[group] = np.nan, "payback: CPA is NaN"
            continue
        hit = g.loc[g["cumulative_margin_per_customer"] >= value - 1e-9 * max(abs(value), 1.0), "period_number"]
        if len(hit):
            period[group], note[group] = float(hit.min() + 1), ""
        else:
            period[group] = np.nan
            note[group] = f"payback: not reached in {len(g)} observed {unit_name(time_unit)}s"
    return pd.Series(period, dtype="float64"), pd.Series(note, dtype="str")


# --- CLV input --------------------------------------------------------------------------------


def _clv_table(clv, *, customer_col, clv_col, horizon, time_unit, discount_rate, rfm):
    from ..clv import CLVModel

    if isinstance(clv, CLVModel):
        if horizon is None:
            raise DataError(
                "clv is a CLVModel, so ad_value needs horizon= (a whole number of time_unit periods, "
                "e.g. horizon=52 with time_unit='W') to predict each customer's residual value."
            )
        frame = clv.summary(rfm, horizon=horizon, time_unit=time_unit, discount_rate=discount_rate, margin=1.0)
        id_col = "customer_id" if "customer_id" in frame.columns else frame.columns[0]
        frame = pd.DataFrame({"customer_id": frame[id_col], "clv": frame["clv"].astype("float64")})
        return prepare(frame, [Column("customer_col", "customer_id", "customer_id", "id"),
                               Column("clv_col", "clv", "clv", "numeric")], what="clv")
    if isinstance(clv, pd.Series):
        name = clv.index.name or customer_col
        clv = pd.DataFrame({name: clv.index.to_numpy(), clv_col: clv.to_numpy()})
        customer_col = name
    return prepare(
        clv,
        [
            Column("customer_col", customer_col, "customer_id", "id", "the customer id"),
            Column("clv_col", clv_col, "clv", "numeric", "each customer's predicted residual value",
                   missing="allow"),
        ],
        what="clv",
    )


# --- ad_value ---------------------------------------------------------------------------------


def ad_value(
    campaigns: Any,
    customers: Any,
    clv: Any,
    *,
    transactions: Any = None,
    economics: Economics | None = None,
    by: str = "campaign",
    time_unit: str = "W",
    observation_end: Any = None,
    rfm: pd.DataFrame | None = None,
    ci: float = 0.95,
    missing_clv: str = "raise",
    incrementality: Any = None,
    customer_col: str = "customer_id",
    acquired_col: str | None = "acquired_at",
    date_col: str = "date",
    amount_col: str = "amount",
    impressions_col: str = "impressions",
    clicks_col: str = "clicks",
    spend_col: str = "spend",
    clv_col: str = "clv",
    **legacy: Any,
) -> pd.DataFrame:
    """Judge each campaign by the customers it brought: LTV-ROAS, LTV:CAC, payback and ranks.

    **Inputs.** ``campaigns``: ad-platform rows (one per campaign and day, or any split) with
    ``by, impressions, clicks, spend``, summed per campaign. ``customers``: one row per acquired
    customer with ``customer_id``, the acquiring ``by`` value and ``acquired_at``.
    ``transactions``: the purchase log (``customer_id, date, amount``), first purchase included.
    ``clv``: each customer's **predicted residual** value — expected (discounted) revenue *after*
    ``observation_end``, at margin 1 — as

    * a DataFrame with ``customer_id`` and ``clv`` (e.g. ``model.summary(horizon=52, time_unit="W")``
      or your own predictions),
    * a Series indexed by customer id (``CLVModel.clv(...)``), or
    * a fitted :class:`cohortkit.CLVModel` with ``horizon`` (and ``discount_rate``, ``rfm`` — the
      RFM summary of the customers to value; default the model's training customers), valued with
      ``time_unit`` periods.

    or, instead of a value per customer, **the value of a new customer per campaign**: the table of
    ``model.new_customer_value(horizon=..., time_unit=..., ci=...)`` of a model fitted with the
    campaign as its covariate (``fit(rfm, covariates=customers[["customer_id", "campaign"]])``:
    one row per ``by`` value, ``clv, clv_lower, clv_upper``). Then ``customer_value`` *is* that
    value — what a customer acquired by the campaign is expected to bring from acquisition over the
    table's horizon, **the first order included** (so realised value is not added to it, and the
    first order is not counted twice) — and its interval is the model's (posterior) interval of
    that mean, at the table's ``ci``. A campaign with a handful of customers gets a value and an
    interval from what the model learnt from all campaigns' customers, where the per-customer mean
    has none. ``predicted_clv`` is then the value after the first order (``clv`` minus the expected
    first order, ``expected_spend``), ``realised_value`` stays the observed revenue to date (for
    reference only). Make the table with ``margin=1`` (revenue): ``economics.margin`` is applied here.

    Fit the model on the transactions up to the same ``observation_end``, so that realised +
    residual value neither skips nor double-counts purchases.

    **Economics.** The business assumptions are one :class:`Economics` object: ``margin``,
    ``target_ltv_cac``, ``cost_per_customer`` and, for a ``CLVModel``, ``horizon`` and
    ``discount_rate``. (Passing them as separate keywords still works for one release, with a
    ``FutureWarning``.)

    **Definitions**, per campaign with ``n`` acquired customers (all money in the unit of spend):

    * ``ctr = clicks / impressions`` (Wilson interval), ``cvr = customers / clicks``,
      ``cpa = spend / customers``, ``cac = cpa + cost_per_customer``;
    * ``first_order_roas`` = revenue of the customers' first orders (their earliest transaction on or
      after the acquisition day; rows with that same timestamp summed) / spend — revenue, no margin,
      like the ad platform's ROAS;
    * ``realised_value`` = mean revenue per customer from the acquisition day to
      ``observation_end`` (0 for customers without transactions); ``predicted_clv`` = mean residual
      CLV; ``customer_value = realised_value + predicted_clv`` — the **total expected customer
      value**. Intervals (``_lower``, ``_upper``) are normal ``ci`` intervals of the mean over the
      campaign's customers (mean ± z·sd/√n): the spread of customers, not model-parameter
      uncertainty (use :func:`cohortkit.clv_interval` for that, or the new-customer table above);
    * ``ltv_roas = n · customer_value · margin / spend`` (its interval scales the customer-value
      interval); ``ltv_cac = customer_value · margin / cac`` — equal to ``ltv_roas`` when
      ``cost_per_customer`` is 0, since then ``cac = spend / n``;
    * ``allowable_cpa = customer_value · margin / target_ltv_cac - cost_per_customer``: the CPA at
      which LTV:CAC would meet the target;
    * ``payback_period``: the number of ``time_unit`` periods after acquisition by whose end the
      campaign's cumulative margin per customer (:func:`value_curve`, realised purchases only) first
      reaches ``cac``; 1 means within the first period.
    * ``rank_ctr, rank_cpa, rank_ltv_roas``: 1 is best (highest CTR, lowest CPA, highest LTV-ROAS).

    **Zero denominators** give NaN and a reason in ``note``, never ``inf``: no customers →
    ``cpa``, the per-customer means, ``ltv_cac``, ``allowable_cpa`` and ``payback_period`` are NaN
    while ``ltv_roas`` is 0 (money spent, no value); zero spend → the ROAS columns are NaN.

    Parameters
    ----------
    campaigns, customers, clv : see above
        DataFrames, CSV/Parquet paths or Ibis tables (``clv`` also a Series or a ``CLVModel``).
    transactions : DataFrame, path or ibis.Table, optional
        Without it, realised value is 0 and first-order ROAS and payback are NaN.
    economics : Economics, optional
        Margin, target LTV:CAC, extra cost per customer, and the horizon and discount rate for a
        ``CLVModel``. Default ``Economics()``: margin 1, target 3, no extra cost.
    by : str, default "campaign"
        The campaign column, in both ``campaigns`` and ``customers`` (or e.g. ``"channel"``).
    time_unit : {"D", "W"}, default "W"
        Unit of ``payback_period`` (and of ``horizon`` for a ``CLVModel``).
    observation_end : date-like, optional
        Last observed day (inclusive); default the day of the last transaction.
    rfm : DataFrame, optional
        Only when ``clv`` is a ``CLVModel``: the RFM summary of the customers to value (default the
        model's training customers).
    ci : float, default 0.95
        Level of the CTR and customer-value intervals.
    missing_clv : {"raise", "zero"}, default "raise"
        What to do with acquired customers absent from ``clv``: raise, or count their residual as 0.
    incrementality : dict or DataFrame, optional
        A measured lift per campaign (from a holdout, geo or conversion-lift test): the share of the
        campaign's attributed customers who would **not** have bought without it, between 0 and 1.
        ``{"retargeting": 0.35, "banner": (0.6, 0.9)}`` — a number, or a ``(low, high)`` range (its
        midpoint is the estimate) — or a DataFrame with ``by``, ``incrementality`` and optionally
        ``incrementality_lower``, ``incrementality_upper``. Adds the incremental columns below;
        campaigns without a measurement get NaN there and a note. Attributed LTV-ROAS credits a
        campaign with every customer it touched, including those who would have bought anyway
        (retargeting and brand search reach many of them); the incremental columns do not.
    customer_col, acquired_col, date_col, amount_col, impressions_col, clicks_col, spend_col, clv_col : str
        Column names (``customer_col`` is used in ``customers``, ``transactions`` and ``clv``).
        ``acquired_col=None`` takes each customer's first transaction as the acquisition time.

    Returns
    -------
    pandas.DataFrame
        One row per campaign (sorted by ``by``): ``<by>, spend, impressions, clicks, ctr, ctr_lower,
        ctr_upper, customers, cvr, cpa, cac, first_order_revenue, first_order_roas,
        realised_value, predicted_clv, predicted_clv_lower, predicted_clv_upper, customer_value,
        customer_value_lower, customer_value_upper, ltv_roas, ltv_roas_lower, ltv_roas_upper,
        ltv_cac, allowable_cpa, payback_period, rank_ctr, rank_cpa, rank_ltv_roas, note``; with
        ``incrementality`` also ``incrementality, incrementality_lower, incrementality_upper,
        incremental_customers, incremental_cpa, incremental_ltv_roas, incremental_ltv_roas_lower,
        incremental_ltv_roas_upper, rank_incremental_ltv_roas`` (incremental LTV-ROAS = LTV-ROAS ×
        incrementality; its interval multiplies the ends of the LTV-ROAS interval by the ends of the
        incrementality range, so it covers both uncertainties).
        ``attrs`` records ``margin, target_ltv_cac, time_unit, observation_end, ci`` and ``curve``
        is available from :func:`value_curve`.

    Raises
    ------
    DataError
        Missing columns; negative spend, impressions or clicks; customers whose campaign is not in
        ``campaigns``; duplicate customers; customers missing from ``clv`` (with
        ``missing_clv="raise"``); bad ``economics``/``time_unit``/``ci``.

    Examples
    --------
    >>> import pandas as pd
    >>> campaigns = pd.DataFrame({"campaign": ["banner", "search"], "impressions": [10000, 4000],
    ...                           "clicks": [400, 80], "spend": [40000.0, 16000.0]})
    >>> customers = pd.DataFrame({"customer_id": ["a", "b", "c", "d"],
    ...                           "campaign": ["banner", "banner", "search", "search"],
    ...                           "acquired_at": pd.to_datetime(["2024-01-01"] * 4)})
    >>> tx = pd.DataFrame({"customer_id": ["a", "b", "c", "c", "d"],
    ...                    "date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-01",
    ...                                            "2024-01-20", "2024-01-01"]),
    ...                    "amount": [9000.0, 7000.0, 8000.0, 14000.0, 10000.0]})
    >>> clv = pd.DataFrame({"customer_id": ["a", "b", "c", "d"],
    ...                     "clv": [1000.0, 3000.0, 30000.0, 18000.0]})
    >>> v = ad_value(campaigns, customers, clv, transactions=tx, economics=Economics(margin=0.5),
    ...              observation_end="2024-03-31")
    >>> v[["campaign", "ctr", "cpa", "customer_value", "ltv_roas", "payback_period"]]
      campaign   ctr      cpa  customer_value  ltv_roas  payback_period
    0   banner  0.04  20000.0         10000.0      0.25             NaN
    1   search  0.02   8000.0         40000.0      2.50             3.0
    >>> v[["campaign", "rank_ctr", "rank_cpa", "rank_ltv_roas", "allowable_cpa"]].round(1)
      campaign  rank_ctr  rank_cpa  rank_ltv_roas  allowable_cpa
    0   banner         1         2              2         1666.7
    1   search         2         1              1         6666.7
    >>> v.loc[0, "note"]
    'payback: not reached in 13 observed weeks'
    """
    econ = _economics(economics, legacy)
    unit = _check_unit(time_unit)
    ci = check_number(ci, "ci", low=0, low_open=True, high=0.999999, example=", e.g. 0.95")
    if missing_clv not in ("raise", "zero"):
        raise DataError(f"missing_clv={missing_clv!r} must be 'raise' or 'zero'.")

    sums = _campaign_sums(campaigns, by=by, impressions_col=impressions_col, clicks_col=clicks_col,
                          spend_col=spend_col)
    c = _acquired_customers(customers, known=sums["group"].tolist(), by=by, customer_col=customer_col,
                            acquired_col=acquired_col)
    new_value = _new_customer_table(clv, by=by, known=sums["group"].tolist())
    if new_value is None:
        v = _residual_values(clv, c, customer_col=customer_col, clv_col=clv_col, econ=econ,
                             time_unit=time_unit, rfm=rfm)
    else:  # value per campaign: nothing per customer to add to the realised value
        v = c.select("customer_id", clv=ibis.literal(0.0))
    per, end_day, curve = _per_customer(
        c, v, transactions, observation_end, customer_col=customer_col, date_col=date_col,
        amount_col=amount_col, acquired=acquired_col is not None, unit_days=unit, margin=econ.margin,
    )
    agg = _customer_value_sums(per, missing_clv)
    out = _campaign_table(sums, agg, econ=econ, ci=ci, curve=curve, time_unit=time_unit,
                          has_transactions=transactions is not None, new_value=new_value)
    if incrementality is not None:
        out = _incremental(out, _lift_table(incrementality, by=by, known=out["group"].tolist()))
    out = out.rename(columns={"group": by})
    out.attrs.update(margin=econ.margin, target_ltv_cac=econ.target_ltv_cac,
                     cost_per_customer=econ.cost_per_customer, time_unit=time_unit,
                     observation_end=end_day, ci=ci)
    if new_value is not None:
        out.attrs.update(value="new_customer", value_ci=new_value.attrs.get("ci"),
                         value_horizon=new_value.attrs.get("horizon"), value_time_unit=new_value.attrs.get("time_unit"))
    return out


# --- ad_value, step by step -------------------------------------------------------------------


def _lift_table(incrementality: Any, *, by: str, known: list) -> pd.DataFrame:
    """``group, incrementality, incrementality_lower, incrementality_upper`` from a dict or a DataFrame."""
    if isinstance(incrementality, pd.DataFrame):
        need = [by, "incrementality"]
        missing = [c for c in need if c not in incrementality.columns]
        if missing:
            raise DataError(
                f"incrementality is missing the column(s) {', '.join(missing)}; pass a DataFrame with "
                f"{by!r} and 'incrementality' (optionally 'incrementality_lower', 'incrementality_upper'), "
                "or a dict such as {'retargeting': 0.35}."
            )
        rows = {
            r[by]: (r["incrementality"], r.get("incrementality_lower", r["incrementality"]),
                    r.get("incrementality_upper", r["incrementality"]))
            for r in incrementality.to_dict("records")
        }
    elif isinstance(incrementality, dict):
        rows = {}
        for group, value in incrementality.items():
            if isinstance(value, (tuple, list)) and len(value) == 2:
                low, high = value
                rows[group] = ((float(low) + float(high)) / 2 if _is_share(low) and _is_share(high) else value, low, high)
            else:
                rows[group] = (value, value, value)
    else:
        raise DataError(
            f"incrementality has type {type(incrementality).__name__}; pass a dict of campaign -> share "
            "(e.g. {'retargeting': 0.35} or a (low, high) range) or a DataFrame."
        )
    unknown = [g for g in rows if g not in known]
    if unknown:
        raise DataError(f"incrementality names {unknown[0]!r}, which is not a campaign of campaigns; "
                        f"campaigns are {known}.")
    for group, values in rows.items():
        if not all(_is_share(v) for v in values) or not values[1] <= values[0] <= values[2]:
            raise DataError(
                f"incrementality for {group!r} must be a share between 0 and 1 (or a (low, high) range "
                f"with low <= high), got {incrementality[group] if isinstance(incrementality, dict) else values}."
            )
    return pd.DataFrame(
        [(g, *map(float, v)) for g, v in rows.items()],
        columns=["group", "incrementality", "incrementality_lower", "incrementality_upper"],
    )


def _is_share(value: Any) -> bool:
    return (not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))
            and 0.0 <= float(value) <= 1.0)


def _incremental(out: pd.DataFrame, lift: pd.DataFrame) -> pd.DataFrame:
    """The incremental columns: customers, CPA and LTV-ROAS counting only the customers the ads made."""
    out = out.merge(lift, on="group", how="left")
    measured = out["incrementality"].notna()
    n_incremental = out["customers"] * out["incrementality"]
    out["incremental_customers"] = n_incremental
    out["incremental_cpa"] = np.where(n_incremental > 0, out["spend"] / n_incremental.where(n_incremental > 0), np.nan)
    out["incremental_ltv_roas"] = out["ltv_roas"] * out["incrementality"]
    out["incremental_ltv_roas_lower"] = out["ltv_roas_lower"] * out["incrementality_lower"]
    out["incremental_ltv_roas_upper"] = out["ltv_roas_upper"] * out["incrementality_upper"]
    out["rank_incremental_ltv_roas"] = rank_values(out["incremental_ltv_roas"], ascending=False)
    extra = np.where(measured, "", "incrementality: not measured")
    out["note"] = pd.Series(
        ["; ".join(x for x in (a, b) if x) for a, b in zip(out["note"], extra)], dtype="str", index=out.index
    )
    columns = [c for c in out.columns if c != "note"] + ["note"]
    return out[columns]


def _campaign_sums(campaigns, *, by, impressions_col, clicks_col, spend_col) -> pd.DataFrame:
    """Impressions, clicks and spend per campaign, with the sign checks in the same query."""
    camp = prepare(
        campaigns,
        [
            Column("by", by, "group", "string", "the campaign name", missing="allow"),
            Column("impressions_col", impressions_col, "impressions", "numeric", "the impressions"),
            Column("clicks_col", clicks_col, "clicks", "numeric", "the clicks"),
            Column("spend_col", spend_col, "spend", "numeric", "the ad spend"),
        ],
        what="campaigns",
    )
    sums = execute(camp.group_by("group").aggregate(
        impressions=camp.impressions.sum(), clicks=camp.clicks.sum(), spend=camp.spend.sum(),
        **{f"neg_{k}": (camp[k] < 0).sum() for k in ("spend", "impressions", "clicks")},
        **{f"min_{k}": camp[k].min() for k in ("spend", "impressions", "clicks")},
    )).sort_values("group", na_position="first").reset_index(drop=True)
    if sums["group"].isna().any():
        raise DataError(f"column {by!r} (by) is missing in some rows of campaigns; name the campaign of every row.")
    for k, col in (("spend", spend_col), ("impressions", impressions_col), ("clicks", clicks_col)):
        bad = sums[sums[f"neg_{k}"] > 0]
        if len(bad):
            n = int(bad[f"neg_{k}"].sum())
            first = bad.iloc[0]
            raise DataError(
                f"column {col!r} ({k}_col) in campaigns has {n} negative value(s), e.g. "
                f"{float(first[f'min_{k}']):g} for {by} {first['group']!r}; {k} must be >= 0. Fix "
                "or drop those rows (refunds and credits belong in a separate adjustment)."
            )
    return sums[["group", "impressions", "clicks", "spend"]].astype(
        {"impressions": "float64", "clicks": "float64", "spend": "float64"})


def _acquired_customers(customers, *, known: list, by, customer_col, acquired_col):
    """The customers table (one row each), every acquiring campaign present in ``campaigns``."""
    c = customers_table(customers, by=by, customer_col=customer_col, acquired_col=acquired_col)
    orphans = c.filter(~c.group.isin(known))
    unknown = execute(orphans.group_by("group").aggregate(n=orphans.count()))
    if len(unknown):
        unknown = unknown.sort_values("group")
        raise DataError(
            f"customers has {int(unknown['n'].sum())} customer(s) acquired by {by} value(s) not in "
            f"campaigns: {_quoted(unknown['group'])}. Add their rows to campaigns (spend 0 if they "
            "cost nothing) or drop those customers."
        )
    return c


_NEW_VALUE_COLUMNS = ("clv", "clv_lower", "clv_upper")


def _new_customer_table(clv, *, by: str, known: list):
    """``clv`` as a per-campaign new-customer value table (``group, clv, clv_lower, clv_upper,
    expected_spend``), or None when ``clv`` is a value per customer."""
    if not (isinstance(clv, pd.DataFrame) and by in clv.columns and "expected_purchases" in clv.columns):
        return None
    missing = [c for c in _NEW_VALUE_COLUMNS if c not in clv.columns]
    if missing:
        raise DataError(
            f"clv looks like a new_customer_value table (it has {by!r} and expected_purchases) but has no "
            f"{', '.join(missing)}; make it with model.new_customer_value(horizon=..., time_unit=..., ci=0.95).")
    if clv[by].duplicated().any():
        raise DataError(f"clv has several rows for one {by} value; fit the model with {by!r} as its only "
                        "covariate, so that new_customer_value gives one row per campaign.")
    margin = clv.attrs.get("margin", 1.0)
    if margin != 1.0:
        raise DataError(f"clv was made with margin={margin}; make it with margin=1 (revenue): ad_value applies "
                        "economics.margin itself.")
    absent = sorted(set(known) - set(clv[by]))
    if absent:
        raise DataError(f"clv has no new-customer value for {by} {_quoted(absent)}; the model must be fitted "
                        "on customers of every campaign of campaigns.")
    out = clv[[by, *_NEW_VALUE_COLUMNS, "expected_spend"]].rename(columns={by: "group"})
    out.attrs.update(clv.attrs)
    return out


def _residual_values(clv, c, *, customer_col, clv_col, econ: Economics, time_unit, rfm):
    """Each customer's predicted residual value, one row per customer, no missing values."""
    v = _clv_table(clv, customer_col=customer_col, clv_col=clv_col, horizon=econ.horizon,
                   time_unit=time_unit, discount_rate=econ.discount_rate, rfm=rfm)
    check_same_ids(("customers", c), ("clv", v))
    vchk = execute(v.aggregate(n=v.count(), n_ids=v.customer_id.nunique(), n_null=v.clv.isnull().sum())).iloc[0]
    if int(vchk["n_ids"]) != int(vchk["n"]):
        raise DataError(f"clv has {int(vchk['n']) - int(vchk['n_ids'])} duplicate customer id(s); pass one "
                        "predicted value per customer.")
    if int(vchk["n_null"] or 0):
        raise DataError(f"column {clv_col!r} (clv_col) in clv has {int(vchk['n_null'])} missing value(s); "
                        "fill them (e.g. 0 for customers the model cannot value) or drop them.")
    return v


def _per_customer(c, v, transactions, observation_end, *, customer_col, date_col, amount_col, acquired: bool,
                  unit_days: float, margin: float):
    """Per customer: realised revenue to date, first order and residual CLV; the end day and value curve."""
    end_day = None
    curve = None
    per = c.select("customer_id", "group")
    if transactions is not None:
        tx = transactions_table(transactions, customer_col=customer_col, date_col=date_col, amount_col=amount_col)
        check_same_ids(("customers", c), ("transactions", tx))
        end_day = last_day(tx, observation_end)
        acq = acquisition(c, tx, acquired)
        per = per.left_join(_realised(tx, acq, end_day), "customer_id").select(
            "customer_id", "group",
            realised=ibis.coalesce(ibis._.realised, 0.0), first_order=ibis.coalesce(ibis._.first_order, 0.0))
        curve = _curve(acq, tx, end_day, unit_days, margin)
    else:
        if observation_end is not None:
            end_day = last_day(None, observation_end)
        per = per.mutate(realised=ibis.literal(0.0), first_order=ibis.literal(0.0))
    per = per.left_join(v, "customer_id")
    per = per.select("group", "realised", "first_order", clv_missing=per.clv.isnull().cast("int64"),
                     clv=ibis.coalesce(per.clv, 0.0))
    return per.mutate(value=per.realised + per.clv), end_day, curve


def _realised(tx, acq, end_day: pd.Timestamp):
    """Revenue from the acquisition day to the end day, and the first order's revenue, per customer."""
    end_next = ibis.literal((end_day + pd.Timedelta(days=1)).to_pydatetime(), type="timestamp")
    j = tx.join(acq.select("customer_id", "acq_day"), "customer_id")
    j = j.filter((j.date.truncate("D") >= j.acq_day) & (j.date < end_next))
    j = j.mutate(first=j.date.min().over(ibis.window(group_by="customer_id")))
    return j.group_by("customer_id").aggregate(
        realised=exact_sum(j.amount),
        first_order=ibis.cases((j.date == j.first, j.amount), else_=0.0).sum(),
    )


def _customer_value_sums(per, missing_clv: str) -> pd.DataFrame:
    """Per campaign: customers, realised and first-order sums, mean and sd of residual and total value."""
    agg = execute(per.group_by("group").aggregate(
        customers=per.count(), realised_sum=per.realised.sum(), first_order=per.first_order.sum(),
        clv_mean=per.clv.mean(), clv_sd=per.clv.std(how="sample"), value_mean=per.value.mean(),
        value_sd=per.value.std(how="sample"), clv_missing=per.clv_missing.sum(),
    ))
    if missing_clv == "raise" and int(agg["clv_missing"].sum()):
        raise DataError(
            f"clv has no value for {int(agg['clv_missing'].sum())} of {int(agg['customers'].sum())} "
            "acquired customers. Value every customer in customers (e.g. model.summary(horizon=..., "
            "time_unit=...) on all of them), or pass missing_clv='zero' to count their residual value as 0."
        )
    return agg


_COLUMNS = ["group", "spend", "impressions", "clicks", "ctr", "ctr_lower", "ctr_upper", "customers", "cvr",
            "cpa", "cac", "first_order_revenue", "first_order_roas", "realised_value", "predicted_clv",
            "predicted_clv_lower", "predicted_clv_upper", "customer_value", "customer_value_lower",
            "customer_value_upper", "ltv_roas", "ltv_roas_lower", "ltv_roas_upper", "ltv_cac",
            "allowable_cpa", "payback_period", "rank_ctr", "rank_cpa", "rank_ltv_roas", "note"]
_NOT_FLOAT = ("group", "customers", "rank_ctr", "rank_cpa", "rank_ltv_roas", "note")


class _Notes:
    """Reasons for NaN cells, collected per campaign row and joined with '; '."""

    def __init__(self, n_rows: int):
        self.rows: list[list[str]] = [[] for _ in range(n_rows)]

    def add(self, mask, text: str) -> None:
        for i in np.flatnonzero(np.asarray(mask)):
            self.rows[i].append(text)

    def column(self) -> pd.Series:
        return pd.Series(["; ".join(x) for x in self.rows], dtype="str")


def _campaign_table(sums, agg, *, econ: Economics, ci: float, curve, time_unit: str, has_transactions: bool,
                    new_value=None):
    """The metrics per campaign, in the documented column order and types."""
    out = sums.merge(agg, on="group", how="left")
    if new_value is not None:
        out = out.merge(new_value, on="group", how="left")
    out["customers"] = out["customers"].fillna(0).astype("int64")
    notes = _Notes(len(out))
    _funnel_rates(out, notes, ci)
    _acquisition_cost(out, notes, econ)
    _first_order_and_realised(out, notes, has_transactions)
    if new_value is None:
        _customer_value(out, notes, ci, econ)
    else:
        _new_customer_value(out, notes, econ)
    _payback_column(out, notes, curve, time_unit)
    out["rank_ctr"] = rank_values(out["ctr"], ascending=False)
    out["rank_cpa"] = rank_values(out["cpa"], ascending=True)
    out["rank_ltv_roas"] = rank_values(out["ltv_roas"], ascending=False)
    out["note"] = notes.column()
    out = out[_COLUMNS].reset_index(drop=True)
    floats = [col for col in _COLUMNS if col not in _NOT_FLOAT]
    out[floats] = out[floats].astype("float64")
    return out


def _funnel_rates(out: pd.DataFrame, notes: _Notes, ci: float) -> None:
    """CTR with a Wilson interval where it is defined, and CVR = customers / clicks."""
    clicks, imps, n = out["clicks"], out["impressions"], out["customers"]
    out["ctr"] = np.where(imps > 0, clicks / imps.where(imps > 0), np.nan)
    out["ctr_lower"] = np.nan
    out["ctr_upper"] = np.nan
    ok = (imps > 0) & (clicks <= imps)
    if ok.any():
        from ..metrics import rate

        r = rate(clicks[ok].to_numpy(), imps[ok].to_numpy(), ci=ci)
        out.loc[ok, "ctr_lower"] = r["lower"].to_numpy()
        out.loc[ok, "ctr_upper"] = r["upper"].to_numpy()
    notes.add(imps <= 0, "ctr: 0 impressions")
    notes.add((imps > 0) & (clicks > imps), "ctr: more clicks than impressions, no interval")
    out["cvr"] = np.where(clicks > 0, n / clicks.where(clicks > 0), np.nan)
    notes.add(clicks <= 0, "cvr: 0 clicks")


def _acquisition_cost(out: pd.DataFrame, notes: _Notes, econ: Economics) -> None:
    """CPA = spend / customers and CAC = CPA + cost per customer."""
    n = out["customers"]
    has_n = n > 0
    out["cpa"] = np.where(has_n, out["spend"] / n.where(has_n), np.nan)
    notes.add(~has_n, "cpa: 0 customers")
    out["cac"] = out["cpa"] + econ.cost_per_customer


def _first_order_and_realised(out: pd.DataFrame, notes: _Notes, has_transactions: bool) -> None:
    """First-order revenue and ROAS, and realised value per customer (0 without transactions)."""
    n, spend = out["customers"], out["spend"]
    has_n, has_spend = n > 0, spend > 0
    if has_transactions:
        out["first_order_revenue"] = out["first_order"].fillna(0.0)
        out["first_order_roas"] = np.where(has_spend, out["first_order_revenue"] / spend.where(has_spend), np.nan)
        out["realised_value"] = np.where(has_n, out["realised_sum"] / n.where(has_n), np.nan)
    else:
        out["first_order_revenue"] = np.nan
        out["first_order_roas"] = np.nan
        out["realised_value"] = np.where(has_n, 0.0, np.nan)
        notes.add(np.ones(len(out), bool), "no transactions: realised value 0, no first-order ROAS or payback")


def _customer_value(out: pd.DataFrame, notes: _Notes, ci: float, econ: Economics) -> None:
    """Predicted and total customer value with intervals, LTV-ROAS, LTV:CAC and allowable CPA."""
    n, spend = out["customers"], out["spend"]
    has_n, has_spend, se_ok = n > 0, spend > 0, n > 1
    z = float(stats.norm.ppf(0.5 + ci / 2))
    for name, mean, sd in (("predicted_clv", "clv_mean", "clv_sd"), ("customer_value", "value_mean", "value_sd")):
        m = out[mean].where(has_n)
        half = z * out[sd].where(se_ok) / np.sqrt(n.where(se_ok))
        out[name] = m
        out[f"{name}_lower"] = m - half
        out[f"{name}_upper"] = m + half
    notes.add(n == 1, "intervals: 1 customer")
    for suffix in ("", "_lower", "_upper"):
        total = n * out[f"customer_value{suffix}"].fillna(0.0) * econ.margin  # value of the whole campaign
        roas = np.where(has_spend, total / spend.where(has_spend), np.nan)
        if suffix:
            roas = np.where(has_n, roas, np.where(has_spend, 0.0, np.nan))
            roas = np.where(se_ok | ~has_n, roas, np.nan)
        out[f"ltv_roas{suffix}"] = roas
    notes.add(~has_spend, "roas: 0 spend")
    cac = out["cac"]
    good_cac = has_n & (cac > 0)
    out["ltv_cac"] = np.where(good_cac, out["customer_value"] * econ.margin / cac.where(good_cac), np.nan)
    notes.add(has_n & (cac <= 0), "ltv_cac: 0 acquisition cost")
    out["allowable_cpa"] = out["customer_value"] * econ.margin / econ.target_ltv_cac - econ.cost_per_customer


def _new_customer_value(out: pd.DataFrame, notes: _Notes, econ: Economics) -> None:
    """Customer value = the model's value of a new customer of the campaign (first order included),
    with the model's interval; LTV-ROAS, LTV:CAC and allowable CPA from it."""
    n, spend = out["customers"], out["spend"]
    has_spend = spend > 0
    for suffix in ("", "_lower", "_upper"):
        out[f"customer_value{suffix}"] = out[f"clv{suffix}"]
        out[f"predicted_clv{suffix}"] = out[f"clv{suffix}"] - out["expected_spend"]  # after the first order
        total = n * out[f"clv{suffix}"] * econ.margin
        out[f"ltv_roas{suffix}"] = np.where(has_spend, total / spend.where(has_spend), np.nan)
    notes.add(~has_spend, "roas: 0 spend")
    cac = out["cac"]
    good_cac = (n > 0) & (cac > 0)
    out["ltv_cac"] = np.where(good_cac, out["customer_value"] * econ.margin / cac.where(good_cac), np.nan)
    notes.add((n > 0) & (cac <= 0), "ltv_cac: 0 acquisition cost")
    out["allowable_cpa"] = out["customer_value"] * econ.margin / econ.target_ltv_cac - econ.cost_per_customer


def _payback_column(out: pd.DataFrame, notes: _Notes, curve, time_unit: str) -> None:
    """Periods until cumulative margin per customer reaches CAC (NaN without transactions)."""
    if curve is None:
        out["payback_period"] = np.nan
        return
    period, reason = _payback(curve, out.set_index("group")["cac"], time_unit)
    out["payback_period"] = period.reindex(out["group"]).to_numpy()
    has_n = (out["customers"] > 0).to_numpy()
    for i, text in enumerate(reason.reindex(out["group"]).fillna("").to_numpy()):
        if text and has_n[i]:
            notes.rows[i].append(text)
