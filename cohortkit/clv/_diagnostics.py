"""Tables behind the CLV diagnostics plots (model vs actual), in long form."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._args import renamed, unit_days
from .._errors import DataError
from ._model import CLVModel

__all__ = ["period_transactions", "calibration_holdout_table", "tracking_table", "p_alive_matrix"]


def _fitted(model, covariates_ok: bool = False):
    if not isinstance(model, CLVModel) or not hasattr(model, "params_"):
        raise DataError("model must be a fitted cohortkit.CLVModel; call CLVModel(...).fit(summary) first.")
    if getattr(model, "_design", None) is not None and not covariates_ok:
        raise DataError("this diagnostic does not support models fitted with covariates yet; fit one model "
                        "without covariates (or one per group) for it.")
    return model._pp()


def _check_max(max_frequency):
    if not (isinstance(max_frequency, (int, np.integer)) and max_frequency >= 1):
        raise DataError(f"max_frequency={max_frequency!r} must be a whole number >= 1, e.g. 7.")


def period_transactions(model: CLVModel, summary: pd.DataFrame | None = None, *, max_frequency: int = 7) -> pd.DataFrame:
    """Number of customers by repeat frequency: actual vs expected under the model.

    The expected count of customers with ``n`` repeat purchases is ``sum_i P(X(T_i) = n)`` over the
    customers' own ages ``T_i`` (closed form for BG/NBD and MBG/NBD, quadrature for Pareto/NBD),
    each customer with the parameters of their covariates for a model fitted with covariates; the
    last bin holds ``max_frequency`` or more.

    Returns
    -------
    pandas.DataFrame
        Columns ``frequency`` (0 … max_frequency), ``label`` ("7+" for the last), ``actual``,
        ``model``.

    Examples
    --------
    >>> import cohortkit as ck
    >>> cal = ck.rfm_summary(ck.datasets.load_cdnow(sample=True), observation_end="1997-09-30", time_unit="W")
    >>> table = period_transactions(ck.CLVModel("bgnbd", spend_model=None).fit(cal))
    >>> table.loc[0, ["actual", "model"]].round().tolist()
    [1411.0, 1408.0]
    """
    pp = _fitted(model, covariates_ok=True)
    _check_max(max_frequency)
    data = model._summary(summary)
    x = data["frequency"].to_numpy()
    bins = np.arange(max_frequency + 1)
    actual = np.array([(x == n).sum() for n in bins[:-1]] + [(x >= max_frequency).sum()], float)
    # with covariates: each group of customers with its own parameters, summed
    zg, parts = model._groups(data)
    table = model._purchase_table(pp, zg)
    T = data["T"].to_numpy()
    expected = np.zeros(max_frequency)
    for params, (idx, _, _) in zip(table, parts):
        Ts, counts = np.unique(T[idx], return_counts=True)
        expected += [(counts * model._pmodel().pmf(params, int(n), Ts)).sum() for n in bins[:-1]]
    expected = np.append(expected, len(x) - expected.sum())
    labels = [str(n) for n in bins[:-1]] + [f"{max_frequency}+"]
    return pd.DataFrame({"frequency": bins, "label": labels, "actual": actual, "model": expected})


def calibration_holdout_table(model: CLVModel, table: pd.DataFrame, *, max_frequency: int = 7) -> pd.DataFrame:
    """Mean holdout purchases by calibration frequency: actual vs the model's conditional expectation.

    ``table`` is the output of :func:`calibration_holdout` (the model fitted on its calibration
    columns). Returns columns ``frequency`` (calibration frequency, the last bin ``max_frequency``
    or more), ``n_customers``, ``actual``, ``model`` (means per customer) — FHL (2005) figure 4.

    Examples
    --------
    >>> import cohortkit as ck
    >>> tx = ck.datasets.load_cdnow(sample=True)
    >>> cal = ck.calibration_holdout(tx, calibration_end="1997-09-30", observation_end="1998-06-30",
    ...                              time_unit="W")
    >>> model = ck.CLVModel("bgnbd", spend_model=None).fit(cal)
    >>> table = calibration_holdout_table(model, cal)
    >>> table.loc[0, ["frequency", "n_customers"]].tolist()   # the 1,411 one-time buyers of FHL (2005)
    [0, 1411]
    """
    pp = _fitted(model, covariates_ok=True)
    _check_max(max_frequency)
    for col in ("frequency_holdout", "duration_holdout"):
        if col not in table.columns:
            raise DataError(
                f"table has no column {col!r}; pass the output of cohortkit.calibration_holdout(...)."
            )
    data = model._summary(table)
    durations = table["duration_holdout"].to_numpy(float)
    pred = np.empty(len(data))
    for d in np.unique(durations):
        sel = durations == d
        pred[sel] = model._expected_purchases(pp, data[sel], float(d))  # per covariate group, if any
    frame = pd.DataFrame({"frequency": np.minimum(data["frequency"].to_numpy(), max_frequency).astype(int),
                          "actual": table["frequency_holdout"].to_numpy(float), "model": pred})
    out = frame.groupby("frequency").agg(n_customers=("actual", "size"), actual=("actual", "mean"),
                                         model=("model", "mean")).reset_index()
    return out


@renamed(end="observation_end")
def tracking_table(model: CLVModel, transactions, *, customer_col: str = "customer_id", date_col: str = "date",
                   observation_end=None, calibration_end=None) -> pd.DataFrame:
    """Cumulative repeat transactions per period since the first purchase in the log: actual vs model.

    Same-day purchases are merged; each customer's first purchase day is time 0 and the model's
    unconditional ``E[X(t)]`` is summed over customers (FHL 2005, figure 3). Periods are the model's
    ``time_unit_`` counted from the first day in the log; period ``k`` ends on day
    ``start + k * unit - 1`` (inclusive). Purchases after ``observation_end`` (default: the last
    purchase) are ignored. (``observation_end`` was called ``end`` before; the old name still works
    for one release, with a FutureWarning.)

    Returns
    -------
    pandas.DataFrame
        Columns ``period`` (1, 2, …), ``end_date``, ``actual``, ``model`` (cumulative), and
        ``attrs["calibration_period"]`` (the period holding ``calibration_end``, if given).

    Examples
    --------
    >>> import cohortkit as ck
    >>> tx = ck.datasets.load_cdnow(sample=True)
    >>> cal = ck.calibration_holdout(tx, calibration_end="1997-09-30", observation_end="1998-06-30",
    ...                              time_unit="W")
    >>> model = ck.CLVModel("bgnbd", spend_model=None).fit(cal)
    >>> track = tracking_table(model, tx, observation_end="1998-06-30", calibration_end="1997-09-30")
    >>> int(track["period"].max()), int(track["actual"].iloc[-1])   # 78 weeks, cumulative repeats
    (78, 4339)
    """
    from ..io import parse_timestamp

    pp = _fitted(model)
    table, last = _first_and_repeat_days(transactions, customer_col, date_col, observation_end)
    start = pd.Timestamp(table["day"].min()).normalize()
    unit = float(unit_days(model.time_unit_))
    offset = ((pd.to_datetime(table["day"]) - start).dt.days).to_numpy()
    n_periods = int(np.floor(((last - start).days + 1) / unit))
    ends = np.arange(1, n_periods + 1) * unit - 1  # inclusive last day offset of each period
    firsts = table["is_first"].to_numpy(bool)
    cohort_day, cohort_n = offset[firsts], table["n"].to_numpy(float)[firsts]
    rep_day, rep_n = offset[~firsts], table["n"].to_numpy(float)[~firsts]
    actual = np.array([rep_n[rep_day <= e].sum() for e in ends])
    modelled = []
    for e in ends:
        live = cohort_day <= e
        exposure = (e - cohort_day[live]) / unit
        modelled.append(float((cohort_n[live] * model._purchase.expected(pp, exposure)).sum()))
    out = pd.DataFrame({
        "period": np.arange(1, n_periods + 1),
        "end_date": start + pd.to_timedelta(ends, unit="D"),
        "actual": actual,
        "model": np.array(modelled),
    })
    if calibration_end is not None:
        cal = (parse_timestamp(calibration_end, argument="calibration_end").normalize() - start).days
        out.attrs["calibration_period"] = cal / unit + 1.0 / unit
    return out


def _first_and_repeat_days(transactions, customer_col, date_col, observation_end):
    """Customers per purchase day, split into first purchases and repeats (one query), and the last day.

    Returns a DataFrame ``day, is_first, n`` ordered by day (first purchases first) and the
    normalised ``observation_end`` (default: the last purchase day).
    """
    import ibis

    from .._engine import execute
    from ._summary import end_timestamp, prepared_transactions, timestamp_literal

    t = prepared_transactions(transactions, customer_col, date_col, None)
    last = end_timestamp(t, observation_end, "observation_end").normalize()
    day = t.date.truncate("D")
    days = t.filter(day <= timestamp_literal(last)).select(customer_id=t.customer_id, day=day).distinct()
    first = days.day.min().over(group_by=days.customer_id)
    days = days.mutate(is_first=(days.day == first))
    per_day = days.group_by(["day", "is_first"]).aggregate(n=days.count())
    return execute(per_day.order_by(["day", ibis.desc("is_first")])), last


def p_alive_matrix(model: CLVModel, *, max_frequency: int | None = None, T: float | None = None,
                   step: float = 1.0, covariates=None) -> pd.DataFrame:
    """P(alive) on a grid of frequency x recency for customers of age ``T`` (long form).

    Recency runs from 0 to ``T`` in steps of ``step`` (model time units), frequency from 0 to
    ``max_frequency`` (default: the largest training frequency, at most 30). Returns columns
    ``frequency, recency, p_alive``; rows with frequency 0 use recency 0's value (recency is 0 then).

    For a model fitted with covariates, one grid per covariate profile, the profile's columns first:
    ``covariates`` is a DataFrame (or a dict of lists) with one row per profile and the covariate
    columns the model was fitted with; default: every distinct covariate row of the training
    customers (e.g. each campaign). Select one profile's rows to plot it with
    :func:`cohortkit.plot.plot_p_alive_matrix`.

    Examples
    --------
    >>> import cohortkit as ck
    >>> tx = ck.datasets.load_cdnow(sample=True)
    >>> cal = ck.calibration_holdout(tx, calibration_end="1997-09-30", observation_end="1998-06-30",
    ...                              time_unit="W")
    >>> model = ck.CLVModel("bgnbd", spend_model=None).fit(cal)
    >>> grid = p_alive_matrix(model, max_frequency=3)
    >>> list(grid.columns), bool(grid["p_alive"].between(0, 1).all())
    (['frequency', 'recency', 'p_alive'], True)
    """
    pp = _fitted(model, covariates_ok=True)
    if T is None:
        T = float(model._rows[:, 2].max())
    if max_frequency is None:
        max_frequency = int(min(model._rows[:, 0].max(), 30))
    _check_max(max_frequency)
    rec = np.arange(0.0, float(T) + 1e-9, float(step))
    f, r = np.meshgrid(np.arange(max_frequency + 1, dtype=float), rec, indexing="ij")
    r_eff = np.where(f == 0, 0.0, r)
    design = getattr(model, "_design", None)
    if design is None:  # one grid, no profile columns (as new_customer_value's single row)
        if covariates is not None:
            raise DataError("this model was fitted without covariates; call p_alive_matrix() without them.")
        columns, profiles, zg = [], pd.DataFrame(index=[0]), np.zeros((1, 0))
    else:
        columns = design.columns
        profiles = model._profiles if covariates is None else pd.DataFrame(covariates).reset_index(drop=True)
        zg = design.matrix(profiles)
        profiles = profiles[columns].reset_index(drop=True)
    frames = []
    for j, params in enumerate(model._purchase_table(pp, zg)):
        p = model._pmodel().p_alive(params, f.ravel(), r_eff.ravel(), np.full(f.size, float(T)))
        grid = pd.DataFrame({"frequency": f.ravel().astype(int), "recency": r.ravel(), "p_alive": p})
        for col in reversed(columns):
            grid.insert(0, col, profiles.loc[j, col])
        frames.append(grid)
    return pd.concat(frames, ignore_index=True)
