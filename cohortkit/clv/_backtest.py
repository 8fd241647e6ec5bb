"""How good is an early read? A holdout scorecard of a fitted CLV model and a backtest over cut dates.

* :func:`scorecard` — a model fitted on the calibration window of a :func:`calibration_holdout`
  table, scored on what each customer did in the holdout: per-customer MAE and bias of the expected
  purchases, the P(alive) hit rate (P(alive) >= 0.5 against "bought in the holdout"), the Gini
  coefficient and the top-decile capture of holdout value, and predicted vs actual per group.
* :func:`backtest` — the scorecard and the value of a new customer per group at several cut dates
  measured from the start of the data ("2W", "4W", ...), so that one sees how soon the ranking of
  the campaigns settles.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .._args import parse_duration
from .._errors import DataError
from ._model import CLVModel
from ._summary import calibration_holdout

__all__ = ["scorecard", "backtest"]

_HOLDOUT = ("frequency_holdout", "duration_holdout")


def _gini_and_capture(predicted, actual):
    """Gini coefficient of the holdout value ordered by predicted value, and the top-decile capture.

    Customers are sorted by predicted value (descending; ties keep their order); the Gini is
    ``2 * (area under the cumulative share of actual value) - 1`` against the share of customers
    (0: the order says nothing, 1: all the value in the first customer), and the top-decile capture
    is the share of the actual value bought by the top 10 % by prediction.
    """
    total = actual.sum()
    n = len(actual)
    if n == 0 or total <= 0:
        return np.nan, np.nan
    order = np.argsort(-predicted, kind="stable")
    cum = np.cumsum(actual[order]) / total
    area = (cum.sum() - cum[-1] / 2) / n  # trapezoid from (0, 0)
    top = actual[order[: max(int(np.ceil(0.1 * n)), 1)]].sum() / total
    return 2 * area - 1, top


def scorecard(model: CLVModel, table: pd.DataFrame, *, by: str | None = None) -> pd.DataFrame:
    """Score a fitted model on the holdout period of a :func:`calibration_holdout` table.

    Each customer's prediction is for the holdout they had: ``expected_purchases`` over
    ``duration_holdout`` (and, with a spend model, ``expected_value`` = that times the expected spend);
    the actuals are ``frequency_holdout`` and ``frequency_holdout * monetary_value_holdout``.

    Parameters
    ----------
    model : CLVModel
        Fitted on the calibration columns of ``table`` (with its covariates, if any).
    table : pandas.DataFrame
        Output of :func:`calibration_holdout` (plus the covariate columns and ``by``, if any).
    by : str, optional
        A column of ``table`` (e.g. the acquisition campaign): one more row per group.

    Returns
    -------
    pandas.DataFrame
        One row for all customers then, with ``by``, one per group (the ``<by>`` column; ``"all"``
        on the first row): ``n_customers``,
        ``predicted_purchases``, ``actual_purchases`` (means per customer), ``mae`` and ``bias``
        (per-customer purchases, predicted - actual), ``p_alive_hit_rate``, and with a spend model
        ``predicted_value``, ``actual_value`` (means per customer), ``gini``, ``top_decile_capture``.

    Examples
    --------
    >>> import cohortkit as ck
    >>> tx = ck.datasets.load_cdnow(sample=True)
    >>> cal = ck.calibration_holdout(tx, calibration_end="1997-09-30", observation_end="1998-06-30",
    ...                              amount_col="amount", time_unit="W")
    >>> card = scorecard(ck.CLVModel().fit(cal), cal)
    >>> card[["n_customers", "predicted_purchases", "actual_purchases", "p_alive_hit_rate"]].round(3)
       n_customers  predicted_purchases  actual_purchases  p_alive_hit_rate
    0         2357                0.701             0.798             0.339
    """
    if not isinstance(table, pd.DataFrame) or any(c not in table.columns for c in _HOLDOUT):
        raise DataError("table must be the output of cohortkit.calibration_holdout(...) (with "
                        "frequency_holdout and duration_holdout).")
    if by is not None and by not in table.columns:
        raise DataError(f"by={by!r} is not a column of table; merge the customer table in first.")
    durations = table["duration_holdout"].to_numpy(float)
    if not np.allclose(durations, durations[0]):
        raise DataError("table has several holdout durations; score one calibration_holdout table at a time.")
    hold = float(durations[0])
    pred = model.predict_purchases(hold, summary=table).to_numpy()
    actual = table["frequency_holdout"].to_numpy(float)
    alive = model.p_alive(table).to_numpy()
    has_spend = model._spend is not None and "monetary_value_holdout" in table.columns
    if has_spend:
        pred_value = pred * model.expected_spend(table).to_numpy()
        actual_value = actual * table["monetary_value_holdout"].to_numpy(float)
    groups = [("all", np.arange(len(table)))]
    if by is not None:
        codes, labels = pd.factorize(table[by], sort=True)
        groups += [(label, np.flatnonzero(codes == i)) for i, label in enumerate(labels)]
    rows = []
    for label, idx in groups:
        row = {"group": label, "n_customers": len(idx), "predicted_purchases": pred[idx].mean(),
               "actual_purchases": actual[idx].mean(), "mae": np.abs(pred[idx] - actual[idx]).mean(),
               "bias": (pred[idx] - actual[idx]).mean(),
               "p_alive_hit_rate": ((alive[idx] >= 0.5) == (actual[idx] > 0)).mean()}
        if has_spend:
            gini, top = _gini_and_capture(pred_value[idx], actual_value[idx])
            row.update(predicted_value=pred_value[idx].mean(), actual_value=actual_value[idx].mean(), gini=gini,
                       top_decile_capture=top)
        rows.append(row)
    out = pd.DataFrame(rows)
    out = out.rename(columns={"group": by}) if by is not None else out.drop(columns="group")
    out.attrs.update(duration_holdout=hold, time_unit=model.time_unit_)
    return out


def backtest(transactions, *, customers=None, cuts, by: str | None = None, customer_col: str = "customer_id",
             date_col: str = "date", amount_col: str | None = "amount", observation_end=None,
             time_unit: str = "W", horizon: int = 52, penalizer: float = 0.0,
             shape_covariates: bool | str = False) -> pd.DataFrame:
    """Fit at several cut dates and score each fit on what happened after it.

    For every cut (a duration from the first purchase of the data, e.g. ``"4W"``), the customers
    acquired by then are summarised up to the cut (:func:`calibration_holdout` with
    ``calibration_end`` = first day + cut), a BG/NBD + Gamma-Gamma model is fitted (with ``by`` as a
    covariate when ``customers`` is given), scored on the rest of the data (:func:`scorecard`), and
    the value of a new customer per group is computed over ``horizon`` periods.

    Parameters
    ----------
    transactions : DataFrame, CSV/Parquet path or Ibis table
    customers : pandas.DataFrame, optional
        One row per customer with ``customer_col`` and the ``by`` column (e.g. ``campaign``).
    cuts : list of str or Timedelta
        Calibration lengths from the start of the data, e.g. ``["2W", "4W", "8W", "13W", "26W"]``.
    by : str, optional
        The column of ``customers`` to score and value by (needs ``customers``).
    observation_end : date-like, optional
        End of every holdout (default: the last purchase).
    time_unit, horizon, penalizer
        The model's unit, the horizon of the new-customer value, the penalty of the fit.
    shape_covariates : bool or {"auto", "pooled"}, default False
        Passed to :meth:`CLVModel.fit` with ``by`` as the covariate: ``"pooled"`` gives each group its
        own shape ``r``, partially pooled (see there). Ignored without ``by``.

    Returns
    -------
    pandas.DataFrame
        One row per cut and group (``"all"`` first): ``cut, calibration_end`` and the
        :func:`scorecard` columns, plus per group ``new_customer_value`` and ``rank`` (1 = the
        most valuable group at that cut).

    Examples
    --------
    >>> import cohortkit as ck
    >>> tx = ck.datasets.load_cdnow(sample=True)
    >>> bt = backtest(tx, cuts=["13W", "26W"], observation_end="1998-06-30")
    >>> bt[["cut", "calibration_end", "n_customers"]]
       cut calibration_end  n_customers
    0  13W      1997-04-01         2357
    1  26W      1997-07-01         2357
    """
    if by is not None and customers is None:
        raise DataError("by= needs customers= (a table with customer_col and the by column).")
    if not isinstance(cuts, (list, tuple)) or not cuts:
        raise DataError(f"cuts={cuts!r} must be a list of durations from the start of the data, e.g. ['4W', '13W'].")
    from .._engine import execute
    from ._summary import prepared_transactions

    t = prepared_transactions(transactions, customer_col, date_col, amount_col)

    start = pd.Timestamp(execute(t.aggregate(first=t.date.min())).iloc[0]["first"]).normalize()
    covariates = None
    if customers is not None and by is not None:
        if by not in customers.columns or customer_col not in customers.columns:
            raise DataError(f"customers needs the columns {customer_col!r} and {by!r}.")
        covariates = customers[[customer_col, by]].rename(columns={customer_col: "customer_id"})
    frames = []
    for cut in cuts:
        end = start + parse_duration(cut, argument="cuts") - pd.Timedelta(days=1)
        table = calibration_holdout(transactions, calibration_end=end, observation_end=observation_end,
                                    customer_col=customer_col, date_col=date_col, amount_col=amount_col,
                                    time_unit=time_unit)
        if covariates is not None:
            table = table.merge(covariates, on="customer_id", how="left")
        spend = "gamma_gamma" if amount_col is not None else None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = CLVModel("bgnbd", spend_model=spend, penalizer=penalizer).fit(
                table, time_unit=time_unit, covariates=None if covariates is None else [by],
                shape_covariates=False if covariates is None else shape_covariates)
        for warning in caught:  # said, with the cut it is about
            warnings.warn(f"backtest, cut {cut}: {warning.message}", warning.category, stacklevel=2)
        card = scorecard(model, table, by=by)
        if spend is not None:
            new = model.new_customer_value(horizon=horizon, time_unit=time_unit)
            if covariates is not None:
                values = dict(zip(new[by], new["clv"]))
                card["new_customer_value"] = [values.get(g, np.nan) if g != "all" else np.nan for g in card[by]]
                groups = card[by] != "all"
                card.loc[groups, "rank"] = card.loc[groups, "new_customer_value"].rank(ascending=False, method="min")
            else:
                card["new_customer_value"] = new["clv"].iloc[0]
        card.insert(0, "calibration_end", end)
        card.insert(0, "cut", str(cut))
        frames.append(card)
    out = pd.concat(frames, ignore_index=True)
    out.attrs.update(time_unit=time_unit, horizon=horizon, by=by)
    return out
