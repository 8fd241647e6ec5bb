"""CLVModel: a purchase model (BG/NBD, MBG/NBD, Pareto/NBD) plus an optional Gamma-Gamma spend model.

The models themselves are classes in their own files, looked up by name in :mod:`._registry`;
:class:`CLVModel` holds the data, the fitted parameters and the predictions in explicit time units.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .._args import renamed, unit_days, unit_name
from .._errors import CohortkitWarning, DataError
from . import _covariates
from . import _fit as F
from ._covariates import (CovariateGammaGamma, Design, covariate_frame, covariate_purchase_model,
                          group_codes, hessian_se, pooling_precision, shape_test, tau_posterior)
from ._registry import purchase_model as _purchase_model
from ._registry import spend_model as _spend_model
from ._rows import compress

__all__ = ["CLVModel", "clv_interval", "per_period_rate"]


def per_period_rate(annual_rate: float, time_unit: str) -> float:
    """Convert an annual discount rate to the equivalent rate per day or week.

    Uses a year of 365.25 days, stated here rather than hidden: ``(1 + annual) ** (days / 365.25) - 1``.

    Examples
    --------
    >>> round(per_period_rate(0.10, "W"), 6)
    0.001828
    """
    days = unit_days(time_unit, "time_unit")
    return float((1.0 + annual_rate) ** (days / 365.25) - 1.0)


def _validated(summary, *, need_monetary: bool) -> pd.DataFrame:
    if not isinstance(summary, pd.DataFrame):
        raise DataError(
            f"summary has type {type(summary).__name__}; pass the DataFrame returned by "
            "cohortkit.rfm_summary(...) or cohortkit.calibration_holdout(...)."
        )
    needed = ["frequency", "recency", "T"] + (["monetary_value"] if need_monetary else [])
    for col in needed:
        if col not in summary.columns:
            found = ", ".join(repr(c) for c in summary.columns[:20])
            raise DataError(
                f"summary has no column {col!r}; it has columns {found}. Pass the output of "
                "cohortkit.rfm_summary(...) (with amount_col= for a spend model), or rename your "
                "columns to frequency, recency, T[, monetary_value]."
            )
    out = pd.DataFrame(index=summary.index)
    for col in needed:
        values = pd.to_numeric(summary[col], errors="coerce").astype("float64")
        bad = ~np.isfinite(values.to_numpy())
        if bad.any():
            raise DataError(
                f"summary column {col!r} has {int(bad.sum())} missing or non-numeric values; "
                "drop or fill those rows first."
            )
        out[col] = values
    x, tx, T = out["frequency"].to_numpy(), out["recency"].to_numpy(), out["T"].to_numpy()
    checks = [
        ((x < 0) | (x != np.round(x)), "frequency", "must be a non-negative whole number"),
        (tx < 0, "recency", "must be non-negative"),
        (tx > T, "recency", "must not exceed T"),
        ((x == 0) & (tx != 0), "recency", "must be 0 where frequency is 0"),
    ]
    for mask, col, rule in checks:
        if mask.any():
            raise DataError(
                f"summary column {col!r} {rule}, but {int(mask.sum())} rows break this; compute the "
                "summary with cohortkit.rfm_summary(...)."
            )
    if "customer_id" in summary.columns:
        ids = summary["customer_id"]
        # a str column stays Arrow-backed (to_numpy and back costs ~1 s per million ids)
        values = ids.array if isinstance(ids.dtype, pd.StringDtype) else ids.to_numpy()
        out.index = pd.Index(values, name="customer_id")
    elif out.index.name is None:
        out.index.name = "customer_id"
    return out


class CLVModel:
    """Customer lifetime value: a "buy till you die" purchase model and a Gamma-Gamma spend model.

    The purchase model is BG/NBD (Fader, Hardie & Lee 2005), MBG/NBD (Batislam et al. 2007) or
    Pareto/NBD (Schmittlein et al. 1987), estimated with ``lifetimes``' objective and optimiser
    (Pareto/NBD with cohortkit's log-space likelihood) on the *unique* (frequency, recency, T) rows
    weighted by their counts, which gives the same estimates as a customer-by-customer fit, much
    faster. Predictions are per customer and always in explicit time units.

    Parameters
    ----------
    purchase_model : {"bgnbd", "mbgnbd", "paretonbd"}
        The purchase (transaction and dropout) model. (Called ``purchase=`` before; the old name
        still works for one release, with a FutureWarning.)
    spend_model : {"gamma_gamma"} or None
        The model of the mean spend per purchase; ``None`` for purchase predictions only. (Called
        ``spend=`` before, like the old ``purchase=``.)
    penalizer : float
        L2 penalty on the log-parameters, ``penalizer * sum(log(theta)**2)``, with time scaled so that
        max T = 1 and amounts so that the mean spend is 1: it does not depend on the time unit or the
        currency, and pulls every parameter toward 1 from both sides (lifetimes penalises
        ``sum(theta**2)`` on unscaled amounts, which cannot stop a, b -> 0 and, on yen amounts,
        crushes the Gamma-Gamma scale). 0.001 steadies a fit that warns; 0 (default) is the MLE.
    engine : {"numpy", "lifetimes"}
        Code of the BG/NBD, MBG/NBD and Gamma-Gamma objective (both are lifetimes' objective, with
        its time scaling, penalty, start and BFGS tolerance, so both give the same estimates):
        ``"numpy"`` (default) is cohortkit's numpy/scipy version with an analytic gradient, several
        times faster; ``"lifetimes"`` differentiates lifetimes' own ``_negative_log_likelihood``
        with autograd (the reference). Pareto/NBD always uses cohortkit's log-space likelihood.

    Attributes
    ----------
    params_ : pandas.DataFrame
        Indexed by parameter (``r, alpha, a, b`` / ``r, alpha, s, beta``, then ``p, q, v``), columns
        ``model``, ``estimate``, ``std_error`` (delta method from the Hessian of the log-likelihood;
        ``alpha``, ``beta`` are in ``time_unit_``).
    fit_info_ : pandas.DataFrame
        One row per sub-model: ``n_customers``, ``n_rows`` (unique rows fitted), ``log_likelihood``
        (total, in ``time_unit_``), ``converged``, ``message``, ``iterations``.
    shape_selection_ : dict or None
        After ``fit(..., covariates=..., shape_covariates="auto")``: the likelihood-ratio test that
        chose between a shared ``r`` and ``r`` by covariates (``statistic``, ``df``, ``p_value``,
        ``level``, the log-likelihoods of both fits, ``chosen``: ``"shared"`` or ``"shape"``); else None.
    time_unit_ : str
        Unit of recency and T in the fitted summary ("D" or "W").

    Examples
    --------
    >>> import cohortkit as ck
    >>> tx = ck.datasets.load_cdnow(sample=True)
    >>> cal = ck.rfm_summary(tx, amount_col="amount", observation_end="1997-09-30", time_unit="W")
    >>> model = ck.CLVModel("bgnbd", spend_model="gamma_gamma").fit(cal)
    >>> model.params_["estimate"].round(4).tolist()
    [0.2426, 4.4136, 0.7929, 2.4259, 6.2496, 3.7442, 15.4435]
    >>> round(float(model.p_alive().mean()), 2)
    0.81
    >>> ten_pct_a_year = per_period_rate(0.10, "W")
    >>> round(float(model.clv(52, time_unit="W", discount_rate=ten_pct_a_year).mean()), 1)
    30.7
    """

    def __init__(self, purchase_model: str = "bgnbd", spend_model: str | None = "gamma_gamma",
                 penalizer: float = 0.0, *, engine: str = "numpy"):
        self.purchase_model = purchase_model
        self.spend_model = spend_model
        self.penalizer = penalizer
        self.engine = engine

    __init__.__name__ = "CLVModel"  # so that the FutureWarning reads "CLVModel(spend=...) is renamed ..."
    __init__ = renamed(purchase="purchase_model", spend="spend_model")(__init__)
    __renamed__ = __init__.__renamed__  # the class is what users call: its retired names, as on functions

    # ---- fitting -------------------------------------------------------------------------------

    def _models(self):
        """The registered purchase and spend models named by the hyper-parameters, which are checked."""
        purchase, spend = _purchase_model(self.purchase_model), _spend_model(self.spend_model)
        if not (isinstance(self.penalizer, (int, float)) and self.penalizer >= 0):
            raise DataError(f"penalizer={self.penalizer!r} must be a number >= 0, e.g. 0.0 or 0.001.")
        if self._engine() not in F.ENGINES:
            raise DataError(f"engine={self.engine!r} is not a fitting engine; pass 'numpy' (default) or 'lifetimes'.")
        return purchase, spend

    def _engine(self):
        return getattr(self, "engine", "numpy")

    def fit(self, summary: pd.DataFrame, *, time_unit: str | None = None, covariates=None,
            customer_col: str = "customer_id", shape_covariates: bool | str = False) -> "CLVModel":
        """Estimate the models from an RFM summary, optionally with time-invariant covariates.

        Parameters
        ----------
        summary : pandas.DataFrame
            Output of :func:`rfm_summary` or :func:`calibration_holdout` (columns ``frequency,
            recency, T`` and, with a spend model, ``monetary_value``).
        time_unit : {"D", "W"}, optional
            Unit of recency and T. Read from ``summary.attrs["time_unit"]`` (set by
            :func:`rfm_summary`) when not given.
        covariates : pandas.DataFrame or list of str, optional
            Time-invariant covariates of each customer (acquisition campaign, channel, first-order
            value band, any categorical or numeric column): a customer table with ``customer_col``
            and the covariate columns (every other column is used), or a list of columns of
            ``summary``. Categorical columns are dummy coded against their first level (sorted, or
            the first category of a pandas Categorical); numeric columns enter as they are. The
            purchase rate, both dropout parameters and (with a spend model) the spend scale depend
            on them (see :mod:`cohortkit.clv._covariates`; BG/NBD, MBG/NBD and Pareto/NBD, whose
            purchase rate and dropout rate move). The coefficients are in
            ``coefficients_``; ``params_`` keeps ``r, alpha, a, b, p, q, v`` of the reference
            customer (all covariates 0) and the coefficients below them.
        customer_col : str
            The customer id column of a ``covariates`` table (matched to ``summary["customer_id"]``).
        shape_covariates : bool, "auto" or "pooled"
            With ``covariates``: let the shape ``r`` of the purchase-rate distribution move with them
            too (``r_i = r_0 exp(gamma_shape' z_i)``, process ``"purchase_shape"``), so that a campaign
            can bring customers whose purchase rates are more or less alike, not only faster or slower
            buyers. CLVTools and Fader & Hardie's note 019 keep ``r`` shared (``False``, the default).
            ``True``: ``r`` by covariates, free. ``"auto"`` fits both and keeps ``r`` by covariates only
            when a likelihood-ratio test rejects the shared ``r`` at the 5 % level (twice the gain in
            penalised log-likelihood against chi-squared with as many degrees of freedom as extra
            coefficients); ``shape_selection_`` holds both log-likelihoods, the statistic, its p-value
            and the choice. ``"pooled"`` (BG/NBD): ``r`` by covariates, partially pooled -- the levels
            of a categorical covariate get ``log r`` effects ``delta_l ~ N(0, tau**2)`` around a common
            value (a numeric covariate's coefficient ``N(0, tau**2)`` per standard deviation), between
            the shared ``r`` (``tau = 0``) and the free one (``tau`` infinite). ``tau`` comes from the
            data: its posterior (half-Cauchy(0, 1) prior, the marginal likelihood of the normal-normal
            model at the free fit: :func:`cohortkit.clv._covariates.tau_posterior`); the model is fitted
            at its median, and ``new_customer_value``'s Laplace interval mixes over it (``tau`` drawn
            from its posterior, then the parameters from the normal approximation at that ``tau``), so
            it widens when the data cannot tell whether the ``r`` differ; ``shape_selection_`` holds
            ``tau``, its 90 % interval (``tau_lower``, ``tau_upper``), its mean and its empirical-Bayes
            value (the maximum of the marginal likelihood: 0.001 and 0.054 on the shop two and three
            months in, next to the shared ``r``, whose intervals miss at March -- which is why the whole
            posterior is used, not that point; its median there is 0.18). The ``"posterior"`` and
            ``"bootstrap"`` intervals hold ``tau`` at the median.

            On the simulated shop, whose campaigns differ in ``r`` (0.3-1.0), penalizer 0.0003, the
            two-year value of a new customer per campaign (``tests/clv/test_covariates.py``; Spearman
            correlation with the truth, then 90 % intervals covering it, of 6, seed 0):

            ==========  ================  ================  ================
            cut         shared ``r``      ``True``          ``"pooled"``
            ==========  ================  ================  ================
            2023-02-28  0.943, 6 (5*)     0.886, 5          0.943, 5
            2023-03-31  0.943, 3          0.943, 6          0.943, 6 (4-5*)
            2023-06-30  1.0, 3            0.943, 5          0.943, 5
            2023-12-31  1.0, 3            1.0, 5            1.0, 5
            ==========  ================  ================  ================

            (*) with seeds 1-9 the shared ``r`` covers 5 at February; ``"pooled"`` covers 6 at March with
            8 seeds of 10, 5 and 4 with the others (two lower bounds within 1.5 % of the truth). The
            shared ``r`` overestimates the three low-``r`` campaigns at every cut; the free ``r``
            follows two months' noise (LINE retargeting's r 0.39 against a true 0.9) and swaps two
            campaigns; ``"pooled"`` misses LINE retargeting at February (as every option does at most
            seeds: 26,292 against 27,685). ``"auto"`` keeps the shared ``r`` two and three months in
            (statistic 3.1 and 5.2 on 5 degrees of freedom, p 0.68 and 0.39) and picks ``r`` by
            campaign from six months on (statistic 33 at June, 179 at December). Time, 100,000
            customers in 6 groups (BG/NBD, no spend model): 0.4 s shared, 0.6 s ``True``, 1.1 s
            ``"auto"``, 1.4 s ``"pooled"``; a million: 2.2 s shared, 5.3 s ``"pooled"``
            (``benchmarks/bench_clv.py``).

        Returns
        -------
        CLVModel
            ``self``, fitted.

        Warns
        -----
        cohortkit.ConvergenceWarning
            When the optimiser did not converge or a parameter ran to the edge of the space.

        Examples
        --------
        The shop three months in, ``r`` by campaign partially pooled:

        >>> import cohortkit as ck
        >>> shop = ck.datasets.load_shop()
        >>> tx = shop.transactions[shop.transactions["date"] <= "2023-04-01"]
        >>> rfm = ck.rfm_summary(tx, amount_col="amount", observation_end="2023-03-31", time_unit="W")
        >>> model = ck.CLVModel(penalizer=0.0003).fit(rfm, covariates=shop.customers[["customer_id", "campaign"]],
        ...                                           shape_covariates="pooled")
        >>> sel = model.shape_selection_
        >>> sel["chosen"], round(sel["tau"], 2), round(sel["tau_empirical_bayes"], 3)
        ('pooled', 0.18, 0.054)
        >>> new = model.new_customer_value(horizon=730, time_unit="D", ci=0.9)
        >>> new.sort_values("clv", ascending=False)["campaign"].tolist()[:3]
        ['generic_search', 'brand_search', 'line_retargeting']
        """
        purchase, spend = self._models()
        time_unit = _summary_time_unit(summary, time_unit)
        data = _validated(summary, need_monetary=spend is not None)
        _check_estimable(data)
        self._purchase, self._spend = purchase, spend
        self._base_purchase, self._base_spend = purchase, spend
        self.time_unit_ = time_unit
        self._design = None
        self.shape_selection_ = None
        self.__dict__.pop("_boot_cache", None)
        self.__dict__.pop("_posterior_cache", None)
        self._pooling = None
        if covariates is not None:
            self._fit_covariates(summary, data, covariates, customer_col, _shape_mode(shape_covariates))
            return self
        self._data = data
        self._rows, self._counts, self._inv = compress(data["frequency"], data["recency"], data["T"])
        if spend is not None:
            self._srows, self._scounts, self._sinv = _spend_rows(data)
        else:
            self._srows = self._scounts = self._sinv = None
        self._fit_all()
        return self

    def _parts(self):
        """(sub-model, unique rows, counts) of the purchase model and, if any, the spend model."""
        parts = [(self._purchase, self._rows, self._counts)]
        if self._spend is not None:
            parts.append((self._spend, self._srows, self._scounts))
        return parts

    def _fit_all(self):
        """Fit each sub-model, then its standard errors: sets ``params_`` and ``fit_info_``."""
        results = []
        for model, rows, counts in self._parts():
            results.append(self._fit_part(model, rows, counts))
        self._p_fit = results[0]
        if self._spend is not None:
            self._s_fit = results[1]
        params, info = [], {}
        for (model, rows, counts), res in zip(self._parts(), results):
            part_params, info[model.name] = _standard_errors(model, rows, counts, res)
            params.extend(part_params)
        self.params_ = pd.DataFrame(params).set_index("parameter")
        self.fit_info_ = pd.DataFrame.from_dict(info, orient="index")

    def _fit_covariates(self, summary, data, covariates, customer_col, shape=False):
        """Fit BG/NBD (and Gamma-Gamma) with covariates: plain fits first, as the warm start."""
        if shape == "pooled" and self._base_purchase.name != "bgnbd":
            raise DataError(f"shape_covariates='pooled' is supported with purchase_model='bgnbd' only, not "
                            f"{self._base_purchase.name!r}; pass True or 'auto'.")
        frame, columns = covariate_frame(summary, covariates, customer_col)
        clash = [c for c in columns if c in ("frequency", "recency", "T", "monetary_value")]
        if clash:
            raise DataError(f"covariates {clash} are RFM columns, not customer attributes; leave them out.")
        design = Design.from_frame(frame, columns)
        z = design.matrix(frame)
        zg, g = group_codes(z)
        self._design, self._zg = design, zg
        self._profiles = design.profiles(frame)
        self._covariate_values = pd.DataFrame(z, index=data.index)
        data = data.copy()
        for j in range(z.shape[1]):
            data[_zcol(j)] = z[:, j]
        self._data = data
        # the plain models: their estimates are the start of the covariate fits
        prows, pcounts, _ = compress(data["frequency"], data["recency"], data["T"])
        plain = F.fit(self._purchase, prows.T, pcounts, self.penalizer, engine="numpy")
        k = z.shape[1]
        self._purchase = covariate_purchase_model(self._purchase, design, zg, shape=shape is True)
        self._rows, self._counts, self._inv = compress(data["frequency"], data["recency"], data["T"], g)
        starts = [np.concatenate([plain.log_x, np.zeros(len(self._purchase.links) * k)])]
        if self._spend is not None:
            srows, scounts, _ = _spend_rows(data)
            splain = F.fit(self._spend, srows.T, scounts, self.penalizer, engine="numpy")
            self._spend = CovariateGammaGamma(design, zg)
            with warnings.catch_warnings():  # the plain rows above already warned
                warnings.simplefilter("ignore", CohortkitWarning)
                self._srows, self._scounts, self._sinv = _spend_rows(data, g)
            starts.append(np.concatenate([splain.log_x, np.zeros(k)]))
        else:
            self._srows = self._scounts = self._sinv = None
        results, params, info = [], [], {}
        self.shape_selection_ = None
        for (model, rows, counts), x0 in zip(self._parts(), starts):
            result = F.fit(model, rows.T, counts, self.penalizer, x0=x0, engine="numpy")
            if shape == "auto" and model is self._purchase:
                model, result = self._select_shape(model, result, design, zg, rows, counts)
            elif shape == "pooled" and model is self._purchase:
                model, result = self._pool_shape(model, result, design, zg, rows, counts)
            F.warn_fit(model.name, result, stacklevel=5)
            results.append(result)
            part, info[model.name] = _covariate_standard_errors(model, rows, counts, result, self.penalizer)
            params.extend(part)
        self._p_fit = results[0]
        if self._spend is not None:
            self._s_fit = results[1]
            problem = self._base_spend.check_fit(results[1].params[:3])
            if problem:
                warnings.warn(problem, CohortkitWarning, stacklevel=4)
        self.params_ = pd.DataFrame(params).set_index("parameter")
        self.fit_info_ = pd.DataFrame.from_dict(info, orient="index")
        coef = self.params_[self.params_.index.str.contains(":")].copy()
        process, covariate = zip(*(name.split(":", 1) for name in coef.index))
        table = design.table().set_index("covariate")
        links = {proc: par for part, _, _ in self._parts() for proc, par, _ in part.links}
        self.coefficients_ = pd.DataFrame({
            "process": process,
            "parameter": [links[p] for p in process],
            "covariate": covariate,
            "reference": [table.loc[c, "reference"] for c in covariate],
            "estimate": coef["estimate"].to_numpy(),
            "std_error": coef["std_error"].to_numpy(),
        })
        self.coefficients_["multiplier"] = np.exp(self.coefficients_["estimate"])
        self.reference_ = design.reference

    def _select_shape(self, shared, shared_fit, design, zg, rows, counts):
        """``shape_covariates="auto"``: fit ``r`` by covariates too (from the shared fit, the new
        coefficients at 0) and keep it when the likelihood-ratio test rejects a shared ``r`` at the 5 %
        level (:func:`cohortkit.clv._covariates.shape_test`); sets ``shape_selection_``. Returns the
        chosen ``(model, fit)``."""
        shaped = covariate_purchase_model(self._base_purchase, design, zg, shape=True)
        x0 = np.concatenate([shared_fit.log_x, np.zeros(len(shaped.params) - len(shared.params))])
        with warnings.catch_warnings():  # a failed richer fit is reported in shape_selection_, not warned
            warnings.simplefilter("ignore")
            shaped_fit = F.fit(shaped, rows.T, counts, self.penalizer, x0=x0, engine="numpy")
        self.shape_selection_ = shape_test(shared, shared_fit, shaped, shaped_fit, rows, counts, self.penalizer)
        if self.shape_selection_["chosen"] == "shape":
            self._purchase = shaped
            return shaped, shaped_fit
        return shared, shared_fit

    def _pool_shape(self, shared, shared_fit, design, zg, rows, counts):
        """``shape_covariates="pooled"``: ``r`` by covariates with the shape coefficients partially
        pooled. Fits ``r`` free (from the shared fit), computes the posterior of the pooling standard
        deviation ``tau`` from that fit (:func:`cohortkit.clv._covariates.tau_posterior`), and fits the
        pooled model at its median (from the normal approximation's optimum at that ``tau``). Keeps the
        posterior of ``tau`` for the Laplace draws (``self._pooling``); sets ``shape_selection_``.
        Returns ``(model, fit)``."""
        free = covariate_purchase_model(self._base_purchase, design, zg, shape=True)
        x0 = np.concatenate([shared_fit.log_x, np.zeros(len(free.params) - len(shared.params))])
        n = float(np.sum(counts))
        columns = tuple(rows.T)
        srows = free.scaled_rows(columns, free.time_scale(columns))
        with warnings.catch_warnings():  # a failed free fit is reported in shape_selection_, not warned
            warnings.simplefilter("ignore")
            free_fit = F.fit(free, rows.T, counts, self.penalizer, x0=x0, engine="numpy")
        cov, _ = hessian_se(free.gradient_objective(srows, counts, self.penalizer), free_fit.log_x, n)
        if cov is None:
            raise DataError("shape_covariates='pooled': the fit with r by covariates has no positive definite "
                            "Hessian (r is not identified by covariate on this data); use shape_covariates=False.")
        shape = slice(len(shared.params), len(free.params))
        post = tau_posterior(free_fit.log_x[shape], cov[shape, shape], pooling_precision(design))
        tau = float(post["quantile"](0.5))
        model = covariate_purchase_model(self._base_purchase, design, zg, shape=True, pooling=tau)
        # the start: the optimum of the normal approximation at the free fit with the prior added
        prior = model.prior_precision() / tau**2
        start = np.linalg.solve(np.linalg.inv(cov) + prior, np.linalg.solve(cov, free_fit.log_x))
        fit = F.fit(model, rows.T, counts, self.penalizer, x0=start, engine="numpy")
        self._purchase = model
        self._pooling = {"grid": post["grid"].tolist(), "weights": post["weights"].tolist(), "tau": tau}
        self.shape_selection_ = {
            "method": "partial pooling", "prior": f"half-Cauchy(0, {_covariates.TAU_PRIOR_SCALE:g}) on tau",
            "tau": tau, "tau_lower": float(post["quantile"](0.05)), "tau_upper": float(post["quantile"](0.95)),
            "tau_mean": post["mean"], "tau_empirical_bayes": post["eb"], "free_converged": bool(free_fit.converged),
            "chosen": "pooled"}
        return model, fit

    def _pooled_components(self, model, fit, n, rng, n_draws):
        """Means and covariances (optimiser scale) of the Laplace draws of a pooled fit: ``tau`` drawn from
        its posterior, then the normal approximation of the posterior at that ``tau``. The likelihood's
        curvature is the fit's Hessian less the prior's at the fitted ``tau``, so the component at that
        ``tau`` is the fit's own normal approximation; at another ``tau`` the prior's precision changes
        and the mean moves with it (the normal-normal model). Returns ``[(mean, cov, count)]``."""
        pool = self._pooling
        grid, weights = np.asarray(pool["grid"]), np.asarray(pool["weights"])
        P = model.prior_precision() / n  # the mean objective's prior, times tau**2
        H = np.linalg.inv(fit.hess_inv)  # Hessian of the mean objective at the fit
        L = H - P / pool["tau"] ** 2  # the likelihood (and the penalizer's ridge) alone
        try:
            np.linalg.cholesky((L + L.T) / 2)
        except np.linalg.LinAlgError:  # not convex without the prior there: the fit's own approximation
            return [(fit.log_x, np.asarray(fit.hess_inv) / n, n_draws)]
        target = H @ fit.log_x  # the gradient of the likelihood at the fit is -(prior's): (L + Q_tau) mu = H fit
        counts = np.bincount(rng.choice(len(grid), size=n_draws, p=weights / weights.sum()), minlength=len(grid))
        out = []
        for t, c in zip(grid, counts):
            if c:
                Ht = L + P / t**2
                out.append((np.linalg.solve(Ht, target), np.linalg.inv(Ht) / n, int(c)))
        return out

    def _fit_part(self, model, rows, counts) -> F.FitResult:
        result = F.fit(model, rows.T, counts, self.penalizer, engine=self._engine())
        F.warn_fit(model.name, result, stacklevel=5)  # points at the caller of CLVModel.fit
        problem = model.check_fit(result.params)
        if problem:
            warnings.warn(problem, CohortkitWarning, stacklevel=4)
        return result

    # ---- fitted state ----------------------------------------------------------------------------

    def _check_fitted(self):
        if not hasattr(self, "params_"):
            raise DataError("this CLVModel is not fitted yet; call model.fit(summary) first.")

    def _pp(self):
        return self.params_.loc[list(self._purchase.params), "estimate"].to_numpy()

    def _sp(self):
        if self._spend is None:
            raise DataError(
                "this CLVModel has no spend model (spend_model=None); refit with "
                "CLVModel(..., spend_model='gamma_gamma') on a summary with monetary_value."
            )
        return self.params_.loc[list(self._spend.params), "estimate"].to_numpy()

    def _summary(self, summary, need_monetary=False):
        self._check_fitted()
        if summary is None:
            if getattr(self, "_data", None) is None:
                raise DataError(
                    "this model was loaded without its training data; pass summary= (the output of "
                    "cohortkit.rfm_summary) to predict for those customers."
                )
            data = self._data
            if need_monetary and "monetary_value" not in data:
                raise DataError("the training summary has no 'monetary_value'; pass summary= with it.")
            return data
        unit = summary.attrs.get("time_unit") if isinstance(summary, pd.DataFrame) else None
        if unit is not None and unit != self.time_unit_:
            raise DataError(
                f"summary is in time_unit={unit!r} but the model was fitted in {self.time_unit_!r}; "
                f"recompute the summary with time_unit={self.time_unit_!r}."
            )
        data = _validated(summary, need_monetary=need_monetary)
        if getattr(self, "_design", None) is not None:
            data = self._with_covariates(summary, data)
        return data

    def _with_covariates(self, summary, data):
        """``data`` plus the design columns: from the covariate columns of ``summary``, else looked up
        for the training customers by id."""
        design = self._design
        if all(c in summary.columns for c in design.columns):
            z = design.matrix(summary.reset_index(drop=True))
        else:
            known = self._covariate_values
            if known is None:
                raise DataError(f"this model was loaded from a file, which keeps no customer ids; merge the "
                                f"covariate columns {design.columns} into summary to predict for its customers.")
            pos = known.index.get_indexer(data.index)
            if (pos < 0).any():
                raise DataError(
                    f"summary has {int((pos < 0).sum())} customers the model was not fitted on and no covariate "
                    f"columns {design.columns}; merge those columns into summary to predict for them.")
            z = known.to_numpy()[pos]
        data = data.copy()
        for j in range(z.shape[1]):
            data[_zcol(j)] = z[:, j]
        return data

    def _to_model_units(self, t, time_unit):
        unit = self.time_unit_ if time_unit is None else time_unit
        return float(t) * unit_days(unit, "time_unit") / unit_days(self.time_unit_)

    # ---- predictions -------------------------------------------------------------------------

    def _groups(self, data):
        """``(design rows of the groups, [(customer positions, unique (x, tx, T) rows, inverse)])``.

        Without covariates there is one group (every customer); with covariates, one group per
        distinct covariate row.
        """
        x, tx, T = (data[c].to_numpy(float) for c in ("frequency", "recency", "T"))
        if getattr(self, "_design", None) is None:
            rows, _, inv = compress(x, tx, T)
            return np.zeros((1, 0)), [(slice(None), rows, inv)]
        zg, g = group_codes(data[[_zcol(j) for j in range(len(self._design.names))]].to_numpy(float))
        order = np.argsort(g, kind="stable")
        bounds = np.searchsorted(g[order], np.arange(len(zg) + 1))
        parts = []
        for j in range(len(zg)):
            idx = order[bounds[j]:bounds[j + 1]]
            rows, _, inv = compress(x[idx], tx[idx], T[idx])
            parts.append((idx, rows, inv))
        return zg, parts

    def _purchase_table(self, pp, zg):
        """BG/NBD-style parameters of each group (one row per design row of ``zg``)."""
        if getattr(self, "_design", None) is None:
            return np.asarray(pp, float)[None, :]
        return self._purchase.group_params(pp, zg)

    def _spend_table(self, sp, zg):
        if getattr(self, "_design", None) is None:
            return np.asarray(sp, float)[None, :]
        return self._spend.group_params(sp, zg)

    def _by_group(self, data, pp, fn, groups=None):
        """``fn(params, x, tx, T)`` on each group's unique rows with the group's parameters, per customer."""
        zg, parts = self._groups(data) if groups is None else groups
        table = self._purchase_table(pp, zg)
        out = np.empty(len(data))
        for j, (idx, rows, inv) in enumerate(parts):
            out[idx] = np.asarray(fn(table[j], *rows.T), float)[..., inv]
        return out

    def _pmodel(self):
        return getattr(self, "_base_purchase", self._purchase)

    def _smodel(self):
        return getattr(self, "_base_spend", self._spend)

    def p_alive(self, summary: pd.DataFrame | None = None) -> pd.Series:
        """Probability that each customer is still active at the end of their observation period.

        Returns a Series ``p_alive`` indexed by ``customer_id`` (the training customers when
        ``summary`` is None).
        """
        data = self._summary(summary)
        values = self._by_group(data, self._pp(), self._pmodel().p_alive)
        return pd.Series(values, index=data.index, name="p_alive")

    def _expected_purchases(self, params, data, t, groups=None):
        model = self._pmodel()
        return self._by_group(data, params, lambda p, x, tx, T: model.conditional_expected(p, t, x, tx, T), groups)

    def predict_purchases(self, t: float, *, summary=None, time_unit: str | None = None, ci: float | None = None,
                          n_boot: int = 200, seed: int = 0):
        """Expected number of repeat purchases of each customer in the next ``t`` time units.

        Parameters
        ----------
        t : float
            Length of the prediction period, in ``time_unit``.
        summary : pandas.DataFrame, optional
            Customers to predict for (default: the training customers).
        time_unit : {"D", "W"}, optional
            Unit of ``t``; default the model's ``time_unit_``.
        ci : float, optional
            With e.g. ``ci=0.9``, add ``lower`` and ``upper`` bounds from a seeded bootstrap of the
            parameter estimates (``n_boot`` refits on customers resampled with replacement).

        Returns
        -------
        pandas.Series or pandas.DataFrame
            ``expected_purchases`` indexed by ``customer_id``; with ``ci``, a DataFrame with
            ``expected_purchases, lower, upper``.
        """
        data = self._summary(summary)
        tm = self._to_model_units(t, time_unit)
        point = pd.Series(self._expected_purchases(self._pp(), data, tm), index=data.index, name="expected_purchases")
        if ci is None:
            return point
        lo, hi = _ci_bounds(ci)
        groups = self._groups(data)
        draws = np.array([self._expected_purchases(pp, data, tm, groups) for pp, _ in self._bootstrap(n_boot, seed)])
        return pd.DataFrame({"expected_purchases": point, "lower": np.quantile(draws, lo, axis=0),
                             "upper": np.quantile(draws, hi, axis=0)}, index=data.index)

    def expected_spend(self, summary: pd.DataFrame | None = None) -> pd.Series:
        """Expected mean spend per future purchase of each customer (Gamma-Gamma, note 025 eq. 5)."""
        data = self._summary(summary, need_monetary=True)
        values = self._spend_values(self._sp(), self._groups(data)[0], data)
        return pd.Series(values, index=data.index, name="expected_spend")

    def _spend_values(self, sp, zg, data, codes=None):
        """Expected spend per purchase of each customer of ``data`` (groups ``zg``)."""
        x, m = data["frequency"].to_numpy(float), data["monetary_value"].to_numpy(float)
        table = self._spend_table(sp, zg)
        if len(table) == 1:
            return np.asarray(self._smodel().expected_spend(table[0], x, m, self._fallback_spend()), float)
        if codes is None:
            _, codes = group_codes(data[[_zcol(j) for j in range(len(self._design.names))]].to_numpy(float))
        p, q, v = table[codes].T
        return np.asarray(self._smodel().expected_spend((p, q, v), x, m, self._fallback_spend()), float)

    def _fallback_spend(self) -> float:
        """The observed mean spend of the repeat customers fitted: the expected spend where the
        Gamma-Gamma posterior mean does not exist (q <= 1; the fit warns)."""
        return float(np.average(self._srows[:, 1], weights=self._scounts))

    def _clv_prepare(self, data):
        groups = self._groups(data)
        codes = None
        if len(groups[0]) > 1:
            codes = np.empty(len(data), np.intp)
            for j, (idx, _, _) in enumerate(groups[1]):
                codes[idx] = j
        return groups, codes, data

    def _clv_values(self, pp, sp, prepared, steps, step, rate, margin):
        groups, codes, data = prepared
        times = (np.arange(1, steps + 1) * step)[:, None]
        discount = (1.0 + rate) ** -np.arange(1, steps + 1)
        model = self._pmodel()

        def discounted(p, x, tx, T):
            cum = model.conditional_expected(p, times, x, tx, T)
            return discount @ np.diff(cum, axis=0, prepend=0.0)

        purchases = self._by_group(data, pp, discounted, groups)
        spend = self._spend_values(sp, groups[0], data, codes)
        return purchases * spend * margin

    def _clv_args(self, horizon, time_unit, discount_rate, margin):
        self._check_fitted()
        days = unit_days(time_unit, "time_unit")
        steps = int(round(float(horizon)))
        if not (np.isfinite(float(horizon)) and abs(float(horizon) - steps) < 1e-9 and steps >= 1):
            raise DataError(
                f"horizon={horizon!r} must be a whole number (>= 1) of time_unit={time_unit!r} periods, "
                "e.g. horizon=52, time_unit='W' for a year of weeks."
            )
        if not (np.isfinite(discount_rate) and discount_rate > -1):
            raise DataError(f"discount_rate={discount_rate!r} must be a rate per {unit_name(time_unit)} > -1, e.g. 0.002.")
        annual = (1.0 + discount_rate) ** (365.25 / days) - 1.0
        if annual > 1.0:
            warnings.warn(
                f"discount_rate={discount_rate} per {unit_name(time_unit)} is {annual:.3g} (x100 %) a "
                "year; if you meant an annual rate, pass discount_rate=cohortkit.clv.per_period_rate("
                f"{discount_rate}, {time_unit!r}).",
                CohortkitWarning,
                stacklevel=3,
            )
        return steps, self._to_model_units(1.0, time_unit), float(discount_rate), float(margin)

    def clv(self, horizon: int, *, time_unit: str, discount_rate: float, margin: float = 1.0,
            summary: pd.DataFrame | None = None) -> pd.Series:
        """Discounted expected value of each customer over the next ``horizon`` periods.

        ``sum_{k=1..horizon} E[purchases in period k] * E[spend] * margin / (1 + discount_rate)**k``,
        with periods of one ``time_unit`` (converted to the model's unit; no hidden 30-day month).

        Parameters
        ----------
        horizon : int
            Number of ``time_unit`` periods ahead (52 with ``time_unit="W"`` is a year of weeks).
        time_unit : {"D", "W"}
            The period length, of both ``horizon`` and ``discount_rate``.
        discount_rate : float
            Discount rate **per time_unit period** (0 for none). Convert an annual rate with
            :func:`cohortkit.clv.per_period_rate`. A rate above 100 % a year warns.
        margin : float
            Profit margin applied to the spend (1.0 = revenue).
        summary : pandas.DataFrame, optional
            Customers to value (default: the training customers); needs ``monetary_value``.

        Returns
        -------
        pandas.Series
            ``clv`` indexed by ``customer_id``.
        """
        steps, step, rate, margin = self._clv_args(horizon, time_unit, discount_rate, margin)
        data = self._summary(summary, need_monetary=True)
        values = self._clv_values(self._pp(), self._sp(), self._clv_prepare(data), steps, step, rate, margin)
        return pd.Series(values, index=data.index, name="clv")

    def summary(self, summary: pd.DataFrame | None = None, *, horizon: int | None = None,
                time_unit: str | None = None, discount_rate: float = 0.0, margin: float = 1.0) -> pd.DataFrame:
        """Per-customer table: the RFM columns, ``p_alive``, ``expected_spend`` (with a spend model) and,
        with ``horizon`` and ``time_unit``, ``expected_purchases`` and ``clv`` over that horizon."""
        self._check_fitted()
        need_m = self._spend is not None
        data = self._summary(summary, need_monetary=need_m)
        out = data[[c for c in data.columns if not str(c).startswith(_ZPREFIX)]].copy()
        out["p_alive"] = self.p_alive(summary).to_numpy()
        if horizon is not None:
            if time_unit is None:
                raise DataError("time_unit is required with horizon; pass time_unit='D' or 'W'.")
            out["expected_purchases"] = self.predict_purchases(horizon, summary=summary, time_unit=time_unit).to_numpy()
        if need_m:
            out["expected_spend"] = self.expected_spend(summary).to_numpy()
            if horizon is not None:
                out["clv"] = self.clv(horizon, time_unit=time_unit, discount_rate=discount_rate, margin=margin,
                                      summary=summary).to_numpy()
        return out.reset_index()

    # ---- a new customer ----------------------------------------------------------------------------

    def new_customer_value(self, covariates=None, *, horizon: int, time_unit: str, discount_rate: float = 0.0,
                           margin: float = 1.0, ci: float | None = None, method: str = "laplace",
                           n_boot: int = 200, seed: int = 0) -> pd.DataFrame:
        """Expected purchases, spend and value of a customer acquired today, per covariate value.

        A new customer makes their first purchase now (period 0, not discounted), then repeat
        purchases as the fitted model says for a customer with those covariates:
        ``expected_purchases`` = E[X(horizon)] repeat purchases (FHL 2005, eq. 9, with the
        customer's own ``r, alpha, a, b``), ``expected_spend`` = ``p v / (q - 1)`` per purchase
        (the observed mean spend of the repeat customers where q <= 1), and

        ``clv = margin * expected_spend * (1 + sum_k E[repeat purchases in period k] / (1 + discount_rate)**k)``

        (the first purchase included, as the shop's ``expected_value_730d``; subtract
        ``margin * expected_spend`` for the repeat value alone).

        Parameters
        ----------
        covariates : pandas.DataFrame or dict, optional
            One row per profile with the covariate columns the model was fitted with (a dict of
            lists works too). Default: every distinct covariate row of the training customers
            (e.g. each campaign). A model without covariates gives one row.
        horizon, time_unit, discount_rate, margin
            As in :meth:`clv`.
        ci : float, optional
            With e.g. ``ci=0.9``, ``*_lower`` and ``*_upper`` columns: the uncertainty of the mean value
            of a new customer of each profile (a parameter of the model, so only parameter
            uncertainty; the truth it estimates is the simulator's ``expected_value_730d`` with
            ``horizon=730, time_unit="D"``). See ``method``.
        method : {"laplace", "posterior", "bootstrap"}
            How the interval is made: quantiles over 1,000 parameter draws (the first two) or
            ``n_boot`` refits. ``"laplace"`` (default) and ``"posterior"`` read the penaliser as a
            Gaussian prior on the scaled log-parameters (``exp(-n * penalizer * sum(log_params**2))``)
            and draw from the posterior: ``"laplace"`` from its normal approximation (the fit, and
            the inverse Hessian of the penalised objective), fast at any size; ``"posterior"`` from
            the posterior itself by a seeded random-walk Metropolis chain per sub-model started at
            the fit (2,000 steps of burn-in, then every 10th of 10,000: about a second on 2,500
            customers, proportional to the number of distinct rows). ``"bootstrap"``: refits on
            customers resampled with replacement (within each covariate group: a campaign keeps its
            size). Where the data say little (dropout after a few weeks) the posterior draws spread
            as wide as the penaliser allows, while the bootstrap of the penalised fit stays nearer the
            penaliser's pull: on the simulated shop after two months the Laplace and posterior
            intervals cover the true two-year value of 5-6 campaigns of 6 (by seed), the bootstrap's
            5 of 6 (200 refits) with narrower intervals; after three months all three cover 3 (the
            low-value campaigns are overestimated: see tests/clv/test_covariates.py).
        n_boot : int
            Number of bootstrap refits (``method="bootstrap"``).
        seed : int
            Seed of the chain or of the resampling.

        Returns
        -------
        pandas.DataFrame
            The covariate columns, ``expected_purchases, expected_spend, clv`` (and their bounds).

        Examples
        --------
        >>> import cohortkit as ck
        >>> shop = ck.datasets.load_shop()
        >>> rfm = ck.rfm_summary(shop.transactions, amount_col="amount", observation_end="2023-06-30", time_unit="W")
        >>> model = ck.CLVModel(penalizer=0.001).fit(rfm, covariates=shop.customers[["customer_id", "campaign"]])
        >>> new = model.new_customer_value(horizon=52, time_unit="W")
        >>> new.sort_values("clv", ascending=False)["campaign"].tolist()[:2]
        ['generic_search', 'line_retargeting']
        """
        steps, step, rate, margin = self._clv_args(horizon, time_unit, discount_rate, margin)
        self._sp()
        design = getattr(self, "_design", None)
        if design is None:
            if covariates is not None:
                raise DataError("this model was fitted without covariates; call new_customer_value() without them.")
            profiles = pd.DataFrame(index=[0])
            zg = np.zeros((1, 0))
        else:
            profiles = self._profiles if covariates is None else pd.DataFrame(covariates).reset_index(drop=True)
            zg = design.matrix(profiles)
            profiles = profiles[design.columns]

        def values(pp, sp):
            table = self._purchase_table(pp, zg)
            times = np.arange(1, steps + 1) * step
            discount = (1.0 + rate) ** -np.arange(1, steps + 1)
            purchases, discounted = np.empty(len(zg)), np.empty(len(zg))
            for j, params in enumerate(table):
                if rate == 0.0:  # undiscounted: only the end of the horizon matters
                    purchases[j] = discounted[j] = float(np.asarray(self._pmodel().expected(params, times[-1:]))[-1])
                    continue
                cum = np.asarray(self._pmodel().expected(params, times), float)
                purchases[j] = cum[-1]
                discounted[j] = discount @ np.diff(cum, prepend=0.0)
            p, q, v = self._spend_table(sp, zg).T
            with np.errstate(divide="ignore", invalid="ignore"):
                spend = np.where(q > 1, p * v / (q - 1.0), self._fallback_spend())
            return purchases, spend, margin * spend * (1.0 + discounted)

        out = profiles.reset_index(drop=True).copy()
        names = ("expected_purchases", "expected_spend", "clv")
        for name, value in zip(names, values(self._pp(), self._sp())):
            out[name] = value
        if ci is not None:
            lo, hi = _ci_bounds(ci)
            if method == "posterior":
                samples = self._posterior(seed)
            elif method == "laplace":
                samples = self._laplace_draws(seed)
            elif method == "bootstrap":
                samples = self._bootstrap(n_boot, seed)
            else:
                raise DataError(f"method={method!r} is not an interval method; pass 'posterior', 'laplace' or 'bootstrap'.")
            draws = [values(pp, sp) for pp, sp in _progress(samples, "values of the draws")]
            for i, name in enumerate(names):
                d = np.array([dr[i] for dr in draws])
                d[~np.isfinite(d)] = np.nan  # a refit that ran off to the edge: left out, not NaN bounds
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    out[f"{name}_lower"] = np.nanquantile(d, lo, axis=0)
                    out[f"{name}_upper"] = np.nanquantile(d, hi, axis=0)
        out.attrs.update(horizon=steps, time_unit=time_unit, margin=margin, ci=ci, method=method if ci else None,
                         n_boot=int(n_boot) if ci and method == "bootstrap" else None)
        return out

    # ---- posterior -------------------------------------------------------------------------------

    def _posterior(self, seed, n_draws=1000, burn=2000, thin=10):
        """``n_draws`` (purchase, spend) parameter sets from the penalised likelihood's posterior
        (random-walk Metropolis per sub-model, started at the fit; cached per seed)."""
        self._check_fitted()
        cache = self.__dict__.setdefault("_posterior_cache", {})
        if seed in cache:
            return cache[seed]
        rng = np.random.default_rng(seed)
        chains = []
        for model, rows, counts, fit in self._fits():
            chains.append(_metropolis(model, rows, counts, fit, self.penalizer, rng, n_draws, burn, thin))
        if len(chains) == 1:
            chains.append([None] * n_draws)
        cache[seed] = list(zip(*chains))
        return cache[seed]

    def _laplace_draws(self, seed, n_draws=1000):
        """``n_draws`` (purchase, spend) parameter sets from the normal approximation of the posterior
        (mean the fit, covariance the inverse Hessian of the penalised objective, on the optimiser's
        scaled log-parameters)."""
        self._check_fitted()
        rng = np.random.default_rng(seed)
        chains = []
        for model, rows, counts, fit in self._fits():
            scale = model.time_scale(tuple(rows.T))
            z = rng.standard_normal((n_draws, len(fit.log_x)))
            if getattr(self, "_pooling", None) and model is self._purchase and fit.hess_inv is not None:
                # shape_covariates="pooled": tau from its posterior, then the normal approximation at it
                components = self._pooled_components(model, fit, float(np.sum(counts)), rng, n_draws)
            else:
                components = [(fit.log_x, _posterior_covariance(model, rows, counts, fit, self.penalizer), n_draws)]
            draws, used = [], 0
            for mean, cov, count in components:
                w, v = np.linalg.eigh((cov + cov.T) / 2)
                L = v * np.sqrt(np.clip(w, 0.0, None))
                draws.extend(model.natural(mean + L @ zi, scale) for zi in z[used:used + count])
                used += count
            chains.append(draws)
        if len(chains) == 1:
            chains.append([None] * n_draws)
        return list(zip(*chains))

    def _fits(self):
        """(sub-model, unique rows, counts, FitResult) of each fitted sub-model."""
        out = [(self._purchase, self._rows, self._counts, self._p_fit)]
        if self._spend is not None and self._srows is not None:
            out.append((self._spend, self._srows, self._scounts, self._s_fit))
        return out

    # ---- bootstrap -------------------------------------------------------------------------------

    def _bootstrap(self, n_boot, seed):
        """Parameter sets refitted on customers resampled with replacement (cached per n_boot, seed)."""
        self._check_fitted()
        cache = self.__dict__.setdefault("_boot_cache", {})
        key = (int(n_boot), int(seed))
        if key in cache:
            return cache[key]
        draw_weights = self._weight_sampler(np.random.default_rng(seed))
        out = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in _progress(range(int(n_boot)), "bootstrap refits"):
                w, sw = draw_weights()
                pp = F.refit(self._purchase, self._rows, w, self._p_fit, self.penalizer, engine=self._engine())
                sp = None
                if sw is not None:
                    sp = F.refit(self._spend, self._srows, sw, self._s_fit, self.penalizer, engine=self._engine())
                out.append((pp, sp))
        cache[key] = out
        return out

    def _weight_sampler(self, rng):
        """``draw() -> (purchase row weights, spend row weights or None)`` of one customer resample.

        A fitted model knows which purchase row and spend row each customer has: resampling
        customers is then a multinomial draw over the distinct (purchase row, spend row) pairs with
        their counts as probabilities, with no per-customer arrays. A loaded model has only the
        rows: purchase and spend rows are resampled separately. With covariates the customers are
        resampled within each covariate group (a campaign keeps its number of customers, as the
        campaign's size is not what is uncertain).
        """
        inv = getattr(self, "_inv", None)
        covariates = getattr(self, "_design", None) is not None
        if inv is None:
            p_groups = self._rows[:, 3] if covariates else np.zeros(len(self._counts))
            s_groups = None
            if self._srows is not None:
                s_groups = self._srows[:, 2] if covariates else np.zeros(len(self._scounts))

            def draw():
                w = _stratified(rng, self._counts, p_groups)
                sw = None if s_groups is None else _stratified(rng, self._scounts, s_groups)
                return w, sw

            return draw
        sinv = self._sinv if self._srows is not None else np.full(len(inv), -1)
        pairs, pair_counts, _ = compress(inv, sinv)
        p_idx, s_idx = pairs[:, 0].astype(np.intp), pairs[:, 1].astype(np.intp)
        has_spend = s_idx >= 0
        groups = self._rows[p_idx, 3] if covariates else np.zeros(len(p_idx))

        def draw():
            drawn = _stratified(rng, pair_counts, groups)
            w = np.bincount(p_idx, weights=drawn, minlength=len(self._counts))
            sw = None
            if self._srows is not None:
                sw = np.bincount(s_idx[has_spend], weights=drawn[has_spend], minlength=len(self._scounts))
            return w, sw

        return draw

    # ---- persistence -------------------------------------------------------------------------------

    def save(self, path) -> None:
        """Write the fitted model as JSON: hyper-parameters, parameters, fit information and the
        compressed training rows (unique frequency/recency/T with counts; no customer ids), so
        bootstrap intervals still work after :meth:`load`. No pickle. (The file keeps the keys
        ``"purchase"`` and ``"spend"`` for the model names: format version 1 is unchanged.)"""
        self._check_fitted()
        doc = {
            "format": "cohortkit.CLVModel",
            "version": 1,
            "purchase": self._purchase.name,
            "spend": None if self._spend is None else self._spend.name,
            "penalizer": self.penalizer,
            "engine": self._engine(),
            "time_unit": self.time_unit_,
            "params": self.params_.reset_index().to_dict(orient="records"),
            "fit_info": self.fit_info_.reset_index(names="model").to_dict(orient="records"),
            "purchase_fit": {"log_x": self._p_fit.log_x.tolist()},
            "purchase_rows": {"rows": self._rows.tolist(), "counts": self._counts.tolist()},
        }
        if self._srows is not None:
            doc["spend_fit"] = {"log_x": self._s_fit.log_x.tolist()}
            doc["spend_rows"] = {"rows": self._srows.tolist(), "counts": self._scounts.tolist()}
        if getattr(self, "_design", None) is not None:
            design = self._design
            doc["covariates"] = {
                "columns": [_plain(c) for c in design.columns],
                "levels": [[_plain(col), [_plain(v) for v in lv]] for col, lv in design.levels.items()],
                "names": list(design.names),
                "scale": design.scale.tolist(),
                "groups": self._zg.tolist(),
                "profiles": {col: [_plain(v) for v in self._profiles[col]] for col in design.columns},
                "coefficients": self.coefficients_.to_dict(orient="list"),
                "shape": any(proc == "purchase_shape" for proc, _, _ in self._purchase.links),
                "shape_selection": getattr(self, "shape_selection_", None),
            }
            if getattr(self, "_pooling", None):
                doc["covariates"]["pooling"] = self._pooling
            for key, fit in (("purchase_fit", self._p_fit), ("spend_fit", getattr(self, "_s_fit", None))):
                if key in doc and fit is not None and fit.hess_inv is not None:
                    doc[key]["hess_inv"] = np.asarray(fit.hess_inv).tolist()
        Path(path).write_text(json.dumps(doc, indent=1, default=_plain), encoding="utf-8")

    @classmethod
    def load(cls, path) -> "CLVModel":
        """Read a model written by :meth:`save`. Per-customer predictions then need ``summary=``."""
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        if doc.get("format") != "cohortkit.CLVModel":
            raise DataError(f"{str(path)!r} is not a cohortkit CLVModel JSON file (no format marker).")
        model = cls(doc["purchase"], doc["spend"], doc["penalizer"], engine=doc.get("engine", "numpy"))
        model._purchase, model._spend = model._models()
        model.time_unit_ = doc["time_unit"]
        model.params_ = pd.DataFrame(doc["params"]).set_index("parameter")
        model.fit_info_ = pd.DataFrame(doc["fit_info"]).set_index("model")
        model.fit_info_.index.name = None
        model._data = None
        model._design = None
        model.shape_selection_ = None
        model._inv = None
        model._rows = np.asarray(doc["purchase_rows"]["rows"], float)
        model._counts = np.asarray(doc["purchase_rows"]["counts"], float)
        model._base_purchase, model._base_spend = model._purchase, model._spend
        if "covariates" in doc:
            model._load_covariates(doc["covariates"])
        model._p_fit = F.FitResult(model._pp(), np.asarray(doc["purchase_fit"]["log_x"]), True, "", 0, [],
                                   _array(doc["purchase_fit"].get("hess_inv")))
        if "spend_rows" in doc:
            model._srows = np.asarray(doc["spend_rows"]["rows"], float)
            model._scounts = np.asarray(doc["spend_rows"]["counts"], float)
            model._s_fit = F.FitResult(model._sp(), np.asarray(doc["spend_fit"]["log_x"]), True, "", 0, [],
                                       _array(doc["spend_fit"].get("hess_inv")))
        else:
            model._srows = model._scounts = None
        return model

    def _load_covariates(self, cov):
        """The design, groups and covariate sub-models of a saved covariate model."""
        levels = {col: lv for col, lv in cov["levels"]}
        design = Design(cov["columns"], levels, cov["names"], cov["scale"])
        zg = np.asarray(cov["groups"], float).reshape(len(cov["groups"]), len(design.names))
        self._design, self._zg = design, zg
        self._profiles = pd.DataFrame(cov["profiles"])[design.columns]
        self._covariate_values = None  # no customer ids in the file
        self._pooling = cov.get("pooling")
        tau = None if not self._pooling else self._pooling["tau"]
        self._purchase = covariate_purchase_model(self._base_purchase, design, zg, shape=cov.get("shape", False),
                                                  pooling=tau)
        if self._spend is not None:
            self._spend = CovariateGammaGamma(design, zg)
        self.coefficients_ = pd.DataFrame(cov["coefficients"])
        self.reference_ = design.reference
        self.shape_selection_ = cov.get("shape_selection")

    def __repr__(self):
        engine = "" if self._engine() == "numpy" else f", engine={self._engine()!r}"
        return (f"CLVModel(purchase_model={self.purchase_model!r}, spend_model={self.spend_model!r}, "
                f"penalizer={self.penalizer!r}{engine})")


def _stratified(rng, counts, groups):
    """Counts of a resample with replacement of the units behind ``counts`` (units of a row are
    alike), drawn within each group of rows so that every group keeps its total."""
    counts = np.asarray(counts, float)
    out = np.zeros(len(counts))
    for g in np.unique(groups):
        sel = np.flatnonzero(groups == g)
        n = int(round(counts[sel].sum()))
        out[sel] = rng.multinomial(n, counts[sel] / counts[sel].sum())
    return out


def _progress(iterable, desc, total=None):
    """A tqdm progress bar on stderr, shown only when stderr is a terminal (tqdm's ``disable=None``):
    nothing in logs, CI or rendered notebooks. Plain tqdm: tqdm.auto needs ipywidgets in Jupyter."""
    from tqdm import tqdm

    return tqdm(iterable, desc=desc, total=total, leave=False, disable=None)


def _posterior_covariance(model, rows, counts, fit, penalizer, nll=None):
    """Covariance of the optimiser's parameters under the normal approximation of the posterior:
    the fit's inverse Hessian over n (a covariate fit's is the penalised objective's), else the
    inverse of a central-difference Hessian of the penalised objective."""
    n = float(np.sum(counts))
    cov = None if fit.hess_inv is None else np.asarray(fit.hess_inv, float) / n
    if cov is None or not np.all(np.isfinite(cov)):
        from ._base import penalised_nll
        from ._covariates import value_hessian

        if nll is None:
            columns = tuple(rows.T)
            srows = model.scaled_rows(columns, model.time_scale(columns))
            objective = model.gradient_objective(srows, counts, penalizer)
            nll = ((lambda t: objective(t, gradient=False)[0]) if objective is not None
                   else penalised_nll(lambda p: model.loglik(p, *srows), counts, penalizer))
        H = value_hessian(nll, np.asarray(fit.log_x, float), 1e-4) * n
        try:
            cov = np.linalg.inv((H + H.T) / 2)
        except np.linalg.LinAlgError:
            cov = np.eye(len(fit.log_x)) * 1e-4
    return (cov + cov.T) / 2


def _metropolis(model, rows, counts, fit, penalizer, rng, n_draws, burn, thin):
    """Natural parameters drawn from ``exp(-n * objective)`` (the weighted mean negative
    log-likelihood plus the penalty, on the optimiser's scaled log-parameters) by random-walk
    Metropolis from the fitted point, proposal ``2.38**2 / d`` times the inverse Hessian (Roberts,
    Gelman & Gilks 1997); the proposal is rescaled during burn-in toward an acceptance near 0.25."""
    columns = tuple(rows.T)
    scale = model.time_scale(columns)
    srows = model.scaled_rows(columns, scale)
    objective = model.gradient_objective(srows, counts, penalizer)
    if objective is None:
        from ._base import penalised_nll

        nll = penalised_nll(lambda p: model.loglik(p, *srows), counts, penalizer)
    else:
        def nll(t):
            v = objective(t, gradient=False)[0]
            return v if np.isfinite(v) else np.inf

    n = float(np.sum(counts))
    x = np.asarray(fit.log_x, float)
    d = len(x)
    cov = _posterior_covariance(model, rows, counts, fit, penalizer, nll)
    w, v = np.linalg.eigh(cov)
    L = v * np.sqrt(np.clip(w, 1e-12, None))
    step = 2.38 / np.sqrt(d)
    f = nll(x) * n
    out, accepted = [], 0
    total = burn + n_draws * thin
    for i in _progress(range(total), f"posterior draws ({model.name})"):
        y = x + step * (L @ rng.standard_normal(d))
        fy = nll(y) * n
        if np.log(rng.random()) < f - fy:
            x, f = y, fy
            accepted += 1
        if i < burn and (i + 1) % 200 == 0:  # adapt the step toward ~25 % acceptance
            rate = accepted / 200
            step *= np.exp(rate - 0.25) if rate > 0 else 0.5
            accepted = 0
        if i >= burn and (i - burn) % thin == thin - 1:
            out.append(model.natural(x, scale))
    return out


def _plain(value):
    """A JSON-ready Python scalar (numpy scalars become int/float/str/bool)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    raise TypeError(f"cannot save a covariate level of type {type(value).__name__}")


def _array(value):
    return None if value is None else np.asarray(value, float)


_ZPREFIX = "__covariate_"


def _zcol(j: int) -> str:
    """Name of the j-th design column carried in a validated summary."""
    return f"{_ZPREFIX}{j}"


def _covariate_standard_errors(model, rows, counts, result, penalizer):
    """``params_`` rows and the ``fit_info_`` row of a covariate sub-model (delta method)."""
    columns = tuple(rows.T)
    scale = model.time_scale(columns)
    objective = model.gradient_objective(model.scaled_rows(columns, scale), counts, penalizer)
    cov, hess_inv = hessian_se(objective, result.log_x, counts.sum())
    result.hess_inv = hess_inv
    n_base = model.n_base
    if cov is None:
        se = np.full(len(model.params), np.nan)
    else:
        sd = np.sqrt(np.maximum(np.diag(cov), 0.0))
        se = np.array(result.params, float) * sd  # log-parameters: se = value * se(log)
        coef_scale = np.tile(model.design.scale, (len(model.params) - n_base) // max(model.k, 1)) if model.k else []
        se[n_base:] = sd[n_base:] / coef_scale
        se[:n_base] = np.abs(se[:n_base])
    params = [{"parameter": par, "model": model.name, "estimate": float(est), "std_error": float(err)}
              for par, est, err in zip(model.params, result.params, se)]
    info = {
        "n_customers": int(counts.sum()),
        "n_rows": int(len(counts)),
        "log_likelihood": float((counts * model.loglik(result.params, *columns)).sum()),
        "converged": bool(result.converged),
        "message": result.message,
        "iterations": result.iterations,
    }
    return params, info


def _shape_mode(value):
    """``shape_covariates`` checked: True, False, "auto" or "pooled"."""
    if isinstance(value, str):
        if value in ("auto", "pooled"):
            return value
    elif isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise DataError(f"shape_covariates={value!r}; pass False (a shared r), True (r by covariates), 'auto' "
                    "(r by covariates when a likelihood-ratio test supports it) or 'pooled' (r by covariates, "
                    "shrunk toward a common r as far as the data say).")


def _summary_time_unit(summary, time_unit) -> str:
    """The unit of recency and T: ``time_unit``, else the one :func:`rfm_summary` recorded in the attrs."""
    if not isinstance(summary, pd.DataFrame):
        _validated(summary, need_monetary=False)  # raises the type error
    time_unit = time_unit if time_unit is not None else summary.attrs.get("time_unit")
    if time_unit is None:
        raise DataError(
            "time_unit is not known: summary.attrs has no 'time_unit' (the summary was not made by "
            "cohortkit.rfm_summary, or pandas dropped its attrs). Pass fit(summary, time_unit='D') "
            "or 'W', the unit of recency and T."
        )
    unit_days(time_unit, "time_unit")
    return time_unit


def _check_estimable(data) -> None:
    """Refuse a summary without repeat customers or without elapsed time: nothing to estimate."""
    n = len(data)
    if n == 0 or (data["frequency"] > 0).sum() == 0:
        raise DataError(
            f"summary has no repeat customers: frequency is 0 for all {n} customers, so the "
            "purchase model cannot be estimated. Use a longer observation period, or check that "
            "customer_col identifies customers (not orders)."
        )
    if data["T"].max() <= 0:
        raise DataError(f"summary column 'T' is 0 for all {n} customers; pass an observation_end after the purchases.")


def _spend_rows(data, groups=None):
    """Unique (frequency, monetary_value) rows of the repeat customers with a positive spend, their
    counts, and each customer's row (-1: not in the spend model).

    Repeat customers with ``monetary_value <= 0`` (free orders, refunds) are left out with a warning.
    """
    m = data["monetary_value"].to_numpy()
    repeat = (data["frequency"] > 0).to_numpy()
    nonpositive = repeat & (m <= 0)
    if nonpositive.any():
        warnings.warn(
            f"{int(nonpositive.sum())} repeat customers have monetary_value <= 0 (free orders or "
            "refunds); the Gamma-Gamma spend model is fitted without them, and their expected "
            "spend is their observed mean shrunk toward the population mean. Drop or correct "
            "those customers to silence this warning.",
            CohortkitWarning,
            stacklevel=3,  # the caller of CLVModel.fit
        )
        repeat = repeat & ~nonpositive
        if not repeat.any():
            raise DataError(
                "summary column 'monetary_value' is <= 0 for every repeat customer, so the "
                "Gamma-Gamma spend model cannot be estimated; check amount_col, or fit with "
                "spend_model=None."
            )
    columns = [data["frequency"].to_numpy()[repeat], m[repeat]]
    if groups is not None:
        columns.append(np.asarray(groups)[repeat])
    srows, scounts, sinv = compress(*columns)
    row_of_customer = np.full(len(data), -1)
    row_of_customer[repeat] = sinv
    return srows, scounts, row_of_customer


def _standard_errors(model, rows, counts, result: F.FitResult):
    """The parameter rows of ``params_`` and the ``fit_info_`` row of one fitted sub-model.

    Also stores in ``result.hess_inv`` the inverse Hessian that warm-starts the bootstrap refits.
    """
    row_ll = model.row_loglik(*rows.T)

    def loglik(params):
        return float((counts * row_ll(params)).sum())

    se, cov = F.log_hessian_se(loglik, result.params)
    # the optimiser minimises the mean NLL: its inverse Hessian is n * cov(log params)
    result.hess_inv = None if cov is None else cov * counts.sum()
    params = [{"parameter": par, "model": model.name, "estimate": float(est), "std_error": float(err)}
              for par, est, err in zip(model.params, result.params, se)]
    info = {
        "n_customers": int(counts.sum()),
        "n_rows": int(len(counts)),
        "log_likelihood": float(loglik(result.params)),
        "converged": bool(result.converged),
        "message": result.message,
        "iterations": result.iterations,
    }
    return params, info


def _ci_bounds(ci):
    if not (isinstance(ci, float) and 0 < ci < 1):
        raise DataError(f"ci={ci!r} must be a probability between 0 and 1, e.g. 0.9.")
    return (1 - ci) / 2, 1 - (1 - ci) / 2


def clv_interval(model: CLVModel, summary: pd.DataFrame | None = None, *, horizon: int, time_unit: str,
                 discount_rate: float, margin: float = 1.0, by: str | None = None, n_boot: int = 200,
                 ci: float = 0.9, seed: int = 0) -> pd.DataFrame:
    """Mean CLV of a group of customers with a bootstrap interval.

    Each of ``n_boot`` replicates refits the model on the training customers resampled with
    replacement (fast: a weighted refit on the unique rows, warm-started) and resamples the
    customers of each group; the interval is the percentile interval of the replicated means. So it
    carries both parameter uncertainty and the sampling noise of a finite group (a campaign).

    Parameters
    ----------
    model : CLVModel
        A fitted model with a spend model.
    summary : pandas.DataFrame, optional
        The customers to value (default: the training customers), with ``monetary_value``.
    horizon, time_unit, discount_rate, margin
        As in :meth:`CLVModel.clv`.
    by : str, optional
        A column of ``summary`` (e.g. the acquisition campaign) to get one row per group.
    n_boot : int
        Number of bootstrap replicates (a tqdm progress bar shows on a terminal or notebook).
    ci : float
        Coverage of the interval.
    seed : int
        Seed of the resampling.

    Returns
    -------
    pandas.DataFrame
        One row per group (or one row): ``[by,] n_customers, mean_clv, lower, upper``;
        ``attrs`` holds ``ci``, ``n_boot``, ``horizon``, ``time_unit``.

    Examples
    --------
    >>> import cohortkit as ck
    >>> tx = ck.datasets.load_cdnow(sample=True)
    >>> cal = ck.rfm_summary(tx, amount_col="amount", observation_end="1997-09-30", time_unit="W")
    >>> model = ck.CLVModel("bgnbd").fit(cal)
    >>> out = ck.clv_interval(model, horizon=52, time_unit="W", discount_rate=0.0, n_boot=20, seed=1)
    >>> bool(out["lower"].iloc[0] < out["mean_clv"].iloc[0] < out["upper"].iloc[0])
    True
    """
    if not isinstance(model, CLVModel):
        raise DataError(f"model has type {type(model).__name__}; pass a fitted cohortkit.CLVModel.")
    lo, hi = _ci_bounds(ci)
    steps, step, rate, margin = model._clv_args(horizon, time_unit, discount_rate, margin)
    data = model._summary(summary, need_monetary=True)
    if by is not None:
        if summary is None or by not in summary.columns:
            raise DataError(f"by={by!r} is not a column of summary; pass summary= with that column.")
        groups = pd.Series(summary[by].to_numpy(), index=data.index)
    else:
        groups = pd.Series("all", index=data.index)
    prepared = model._clv_prepare(data)
    point = model._clv_values(model._pp(), model._sp(), prepared, steps, step, rate, margin)
    codes, labels = pd.factorize(groups, sort=True)
    members = [np.flatnonzero(codes == g) for g in range(len(labels))]
    rng = np.random.default_rng(seed + 1)
    reps = np.empty((int(n_boot), len(labels)))
    for b, (pp, sp) in enumerate(model._bootstrap(n_boot, seed)):
        values = model._clv_values(pp, sp, prepared, steps, step, rate, margin)
        for g, idx in enumerate(members):
            reps[b, g] = values[idx[rng.integers(0, len(idx), len(idx))]].mean()
    out = pd.DataFrame({
        "n_customers": [len(i) for i in members],
        "mean_clv": [point[i].mean() for i in members],
        "lower": np.quantile(reps, lo, axis=0),
        "upper": np.quantile(reps, hi, axis=0),
    })
    if by is not None:
        out.insert(0, by, labels)
    out.attrs.update(ci=ci, n_boot=int(n_boot), horizon=steps, time_unit=time_unit)
    return out
