"""Time-invariant covariates: purchase and spend models whose parameters depend on what a customer is.

A covariate is any column of a customer table known at acquisition — the campaign, the channel, a
first-order value band, a number. Each customer ``i`` gets a row ``z_i`` of the *design matrix*
(categorical columns dummy coded against a reference level, numeric columns as they are) and their
own parameters (Fader & Hardie 2007, "Incorporating time-invariant covariates into the Pareto/NBD
and BG/NBD models", brucehardie.com note 019; the parameterisation of the R package CLVTools):

* purchases: ``alpha_i = alpha_0 * exp(-gamma_trans' z_i)`` (``r`` shared): a positive
  coefficient means more purchases (the mean rate ``r / alpha_i`` is ``exp(gamma_trans' z_i)``
  times the reference's);
* dropout: ``a_i = a_0 * exp(gamma_a' z_i)`` and ``b_i = b_0 * exp(gamma_b' z_i)``. CLVTools ties
  the two (one ``gamma_life`` for both), which keeps the mean dropout probability
  ``a / (a + b)`` the same for every customer and lets covariates move only its spread; note 019
  gives ``a`` and ``b`` their own coefficients, as here, so that a campaign can bring customers who
  drop out sooner (positive ``gamma_a`` or negative ``gamma_b``: more dropout);
* Pareto/NBD as in CLVTools: ``alpha_i = alpha_0 * exp(-gamma_purchase' z_i)`` and
  ``beta_i = beta_0 * exp(-gamma_dropout' z_i)`` (``r, s`` shared; a positive dropout coefficient
  means a higher mean dropout rate ``s / beta_i``); MBG/NBD with the links of BG/NBD. Both by
  :class:`CovariatePurchase`: the base model's likelihood group by group, gradients and Hessian by
  central differences (BG/NBD has its analytic gradient below);
* the shape of the purchase-rate distribution (``shape_covariates=True`` / ``"auto"`` /
  ``"pooled"``): ``r_i = r_0 * exp(gamma_shape' z_i)``, BG/NBD with an analytic gradient; with
  ``"pooled"`` the shape coefficients get the normal prior of :func:`pooling_precision` whose
  standard deviation ``tau`` has the posterior of :func:`tau_posterior`;
* spend (Gamma-Gamma): ``v_i = v_0 * exp(gamma_spend' z_i)`` (``p, q`` shared): the expected spend
  per purchase ``p v_i / (q - 1)`` is ``exp(gamma_spend' z_i)`` times the reference's. (CLVTools'
  Gamma-Gamma has no covariates; this is the same log-linear link on the scale of the spend.)

With only categorical covariates, customers fall into a few groups and the fit works on the unique
``(frequency, recency, T, group)`` rows with counts as weights (a million customers in seconds),
with an analytic gradient. Coefficients get standard errors from the Hessian (numerical derivative
of the analytic gradient) by the delta method.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._errors import DataError
from ._base import Objective, PurchaseModel, SpendModel, penalty
from ._rows import compress, dot

__all__ = ["Design", "CovariateBetaGeo", "CovariateGammaGamma", "CovariatePurchase", "NumericObjective",
           "covariate_frame", "group_codes", "hessian_se", "value_hessian", "covariate_purchase_model",
           "shape_test", "penalised_loglik", "SHAPE_TEST_LEVEL", "pooling_precision", "tau_posterior",
           "TAU_PRIOR_SCALE", "TAU_GRID"]


class Design:
    """How covariate columns become the design matrix: dummy coding with a reference level.

    A column is categorical when its dtype is not numeric (strings, categories) or it is boolean;
    its levels are the categories of a pandas Categorical (in their order) or else the sorted
    distinct values, and the **first level is the reference** (no column of its own). Numeric
    columns enter as they are (not centred: the base parameters are those of a customer with
    value 0); they are divided by their standard deviation while fitting, for conditioning only.

    Examples
    --------
    >>> frame = pd.DataFrame({"campaign": ["b", "a", "c", "a"], "value": [1.0, 2.0, 3.0, 4.0]})
    >>> d = Design.from_frame(frame, ["campaign", "value"])
    >>> d.names
    ['campaign[b]', 'campaign[c]', 'value']
    >>> d.reference
    {'campaign': 'a'}
    >>> d.matrix(frame).tolist()
    [[1.0, 0.0, 1.0], [0.0, 0.0, 2.0], [0.0, 1.0, 3.0], [0.0, 0.0, 4.0]]
    """

    def __init__(self, columns, levels, names, scale):
        self.columns = list(columns)
        self.levels = dict(levels)  # categorical column -> levels, reference first
        self.names = list(names)
        self.scale = np.asarray(scale, float)

    @property
    def reference(self) -> dict:
        """The reference level of each categorical column."""
        return {col: levels[0] for col, levels in self.levels.items()}

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, columns) -> "Design":
        levels, names = {}, []
        for col in columns:
            s = frame[col]
            if s.isna().any():
                raise DataError(f"covariate column {col!r} has {int(s.isna().sum())} missing values; fill or "
                                "drop them (or make 'missing' a level of its own).")
            if pd.api.types.is_datetime64_any_dtype(s) or pd.api.types.is_timedelta64_dtype(s):
                raise DataError(f"covariate column {col!r} holds times; pass a categorical or numeric column "
                                "(e.g. the acquisition month as a string).")
            if _is_numeric(s):
                names.append(col)
                continue
            if isinstance(s.dtype, pd.CategoricalDtype):
                lv = [v for v in s.cat.categories if (s == v).any()]
            else:
                lv = sorted(pd.unique(s.to_numpy()).tolist(), key=lambda v: (str(type(v)), v))
            if len(lv) < 2:
                raise DataError(f"covariate column {col!r} has a single level ({lv[0]!r}); it cannot explain "
                                "differences between customers. Leave it out.")
            levels[col] = lv
            names.extend(f"{col}[{v}]" for v in lv[1:])
        design = cls(columns, levels, names, np.ones(len(names)))
        z = design.matrix(frame)
        sd = z.std(axis=0)
        if (sd == 0).any():
            bad = [n for n, v in zip(names, sd) if v == 0]
            raise DataError(f"covariate(s) {bad} are constant over the customers; leave them out.")
        u = _unique_rows(z)
        if np.linalg.matrix_rank(np.column_stack([np.ones(len(u)), u])) < z.shape[1] + 1:
            raise DataError(f"covariates {list(columns)} are collinear (e.g. channel is implied by campaign); "
                            "pass fewer columns.")
        design.scale = np.where(np.isin(np.arange(len(names)), design._numeric_index()), sd, 1.0)
        return design

    def _numeric_index(self):
        out, i = [], 0
        for col in self.columns:
            if col in self.levels:
                i += len(self.levels[col]) - 1
            else:
                out.append(i)
                i += 1
        return out

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """The design matrix (rows of ``frame``, one column per name), unscaled."""
        parts = []
        for col in self.columns:
            if col not in frame.columns:
                raise DataError(f"covariate column {col!r} is missing; the model was fitted with covariates "
                                f"{self.columns}.")
            s = frame[col]
            if s.isna().any():
                raise DataError(f"covariate column {col!r} has missing values; fill them first.")
            if col in self.levels:
                lv = self.levels[col]
                codes = pd.Index(lv).get_indexer(pd.Index(s.to_numpy()))
                if (codes < 0).any():
                    unknown = sorted({str(v) for v in s[codes < 0].unique()})[:5]
                    raise DataError(f"covariate column {col!r} has level(s) {unknown} the model was not fitted "
                                    f"with; known levels: {lv}.")
                parts.append((codes[:, None] == np.arange(1, len(lv))[None, :]).astype(float))
            else:
                if not _is_numeric(s):
                    raise DataError(f"covariate column {col!r} was numeric when the model was fitted.")
                parts.append(s.to_numpy(float)[:, None])
        return np.hstack(parts) if parts else np.zeros((len(frame), 0))

    def profiles(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The distinct covariate rows of ``frame`` (the covariate columns only), in sorted order."""
        return frame[self.columns].drop_duplicates().sort_values(self.columns).reset_index(drop=True)

    def table(self) -> pd.DataFrame:
        """One row per design column: ``covariate, column, level, reference``."""
        rows = []
        for col in self.columns:
            if col in self.levels:
                for v in self.levels[col][1:]:
                    rows.append({"covariate": f"{col}[{v}]", "column": col, "level": v,
                                 "reference": self.levels[col][0]})
            else:
                rows.append({"covariate": col, "column": col, "level": None, "reference": 0})
        return pd.DataFrame(rows)


def _is_numeric(s) -> bool:
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def _unique_rows(z):
    if len(z) == 0:
        return z
    rows, _, _ = compress(*z.T)
    return rows


def covariate_frame(summary: pd.DataFrame, covariates, customer_col: str) -> tuple[pd.DataFrame, list]:
    """The covariate columns aligned to the rows of ``summary``, and their names.

    ``covariates`` is a customer table (``customer_col`` plus covariate columns; every other column
    is a covariate) or a list of column names of ``summary`` itself.
    """
    if isinstance(covariates, str):
        covariates = [covariates]
    if isinstance(covariates, (list, tuple)):
        missing = [c for c in covariates if c not in summary.columns]
        if missing:
            raise DataError(f"covariates {missing} are not columns of summary (it has "
                            f"{list(summary.columns)[:20]}); merge them in, or pass covariates= a customer "
                            "table with customer_col and the covariate columns.")
        return summary[list(covariates)].reset_index(drop=True), list(covariates)
    if not isinstance(covariates, pd.DataFrame):
        raise DataError(f"covariates has type {type(covariates).__name__}; pass a DataFrame with "
                        f"{customer_col!r} and covariate columns, or a list of columns of summary.")
    if customer_col not in covariates.columns:
        raise DataError(f"covariates has no column {customer_col!r} (columns: {list(covariates.columns)[:20]}); "
                        "pass customer_col= naming its customer id column.")
    columns = [c for c in covariates.columns if c != customer_col]
    if not columns:
        raise DataError("covariates has no column besides the customer id; add the covariate columns.")
    ids = covariates[customer_col]
    if ids.duplicated().any():
        raise DataError(f"covariates has {int(ids.duplicated().sum())} duplicated {customer_col!r} values; "
                        "pass one row per customer.")
    if "customer_id" in summary.columns:
        keys = summary["customer_id"]
    else:
        keys = pd.Series(summary.index, index=summary.index)
    table = covariates.set_index(customer_col)[columns]
    try:
        pos = table.index.get_indexer(pd.Index(keys.to_numpy()))
    except (TypeError, ValueError):  # id types differ (int vs str)
        pos = table.index.astype(str).get_indexer(pd.Index(keys.astype(str).to_numpy()))
    if (pos < 0).any():
        raise DataError(f"{int((pos < 0).sum())} customers of summary (e.g. {keys[pos < 0].iloc[0]!r}) have no "
                        f"row in covariates; give every customer a row (the id column is {customer_col!r}).")
    return table.iloc[pos].reset_index(drop=True), columns


def group_codes(z: np.ndarray):
    """``(unique rows of z, code of each row)``: customers with the same covariates share a group."""
    if z.shape[1] == 0:
        return np.zeros((1, 0)), np.zeros(len(z), np.intp)
    rows, _, inv = compress(*z.T)
    return rows, inv


def pooling_precision(design: Design) -> np.ndarray:
    """``P``: the prior ``exp(-gamma' P gamma / (2 tau**2))`` of partial pooling on one process's
    coefficients (optimiser scale: numeric columns per standard deviation).

    The levels of a categorical column get effects ``delta_l ~ N(0, tau**2)`` around a common value
    (given flat), so the coded coefficients ``gamma_l = delta_l - delta_ref`` have covariance
    ``tau**2 (I + 11')``, whose inverse is ``I - 11' / L`` (``L`` levels): the penalty is
    ``sum_l (delta_l - mean(delta))**2 / (2 tau**2)``, the same whichever level is the reference. A
    numeric column's coefficient gets ``N(0, tau**2)``.

    Examples
    --------
    >>> d = Design.from_frame(pd.DataFrame({"c": ["a", "b", "c"]}), ["c"])
    >>> (pooling_precision(d) * 3).round(6).tolist()
    [[2.0, -1.0], [-1.0, 2.0]]
    """
    k = len(design.names)
    out = np.zeros((k, k))
    i = 0
    for col in design.columns:
        if col in design.levels:
            m = len(design.levels[col]) - 1
            out[i:i + m, i:i + m] = np.eye(m) - 1.0 / (m + 1)
            i += m
        else:
            out[i, i] = 1.0
            i += 1
    return out


# ---- BG/NBD with covariates ------------------------------------------------------------------------


class CovariateBetaGeo(PurchaseModel):
    """BG/NBD with ``alpha_i = alpha_0 exp(-gamma_trans' z)``, ``a_i = a_0 exp(gamma_a' z)``,
    ``b_i = b_0 exp(gamma_b' z)`` and, with ``shape=True``, ``r_i = r_0 exp(gamma_shape' z)``; rows are
    ``(x, tx, T, group)``, ``zg`` the design row of each group.

    Natural parameters: ``r, alpha, a, b`` (a customer with z = 0) then the coefficients. ``pooling``
    (with ``shape``): the standard deviation ``tau`` of a normal prior on the shape coefficients
    (:func:`pooling_penalty`), added to the objective; None for none.
    """

    name = "bgnbd"
    time_params = frozenset({"alpha"})
    n_base = 4

    def __init__(self, design: Design, zg: np.ndarray, shape: bool = False, pooling: float | None = None):
        self.design, self.zg = design, np.asarray(zg, float)
        k = len(design.names)
        self.k, self.shape, self.pooling = k, bool(shape), pooling
        self.links = (("purchase", "alpha", -1), ("dropout_a", "a", 1), ("dropout_b", "b", 1),
                      *((("purchase_shape", "r", 1),) if shape else ()))
        self.params = ("r", "alpha", "a", "b", *(f"{proc}:{n}" for proc, _, _ in self.links for n in design.names))

    def scaled_rows(self, rows, scale):
        x, tx, T, g = rows
        return x, np.asarray(tx, float) * scale, np.asarray(T, float) * scale, g

    def natural(self, log_x, scale):
        out = np.array(log_x, float)
        out[:4] = np.exp(out[:4])
        out[1] /= scale
        k = self.k
        for j in range(len(self.links)):
            out[4 + j * k: 4 + (j + 1) * k] /= self.design.scale
        return out

    def optimiser_point(self, theta, scale):
        """The inverse of :meth:`natural`."""
        out = np.array(theta, float)
        out[1] *= scale
        out[:4] = np.log(out[:4])
        k = self.k
        for j in range(len(self.links)):
            out[4 + j * k: 4 + (j + 1) * k] *= self.design.scale
        return out

    def group_params(self, theta, z):
        """``(G, 4)`` BG/NBD parameters ``r, alpha, a, b`` of design rows ``z`` (raw) at natural ``theta``."""
        z = np.asarray(z, float).reshape(len(z), -1)
        k = z.shape[1]
        r, alpha, a, b = theta[:4]
        gt, ga, gb = theta[4:4 + k], theta[4 + k:4 + 2 * k], theta[4 + 2 * k:4 + 3 * k]
        with np.errstate(over="ignore"):
            rg = r * np.exp(z @ theta[4 + 3 * k:4 + 4 * k]) if self.shape else np.full(len(z), r)
            return np.column_stack([rg, alpha * np.exp(-z @ gt), a * np.exp(z @ ga), b * np.exp(z @ gb)])

    def loglik(self, params, x, tx, T, g):
        from ._bgnbd import BetaGeo

        p = self.group_params(params, self.zg)[np.asarray(g, np.intp)]
        return BetaGeo().loglik(p.T, x, tx, T)

    def prior_precision(self):
        """The precision matrix of the pooling prior on the (scaled) coefficients, times tau**2, over
        all the optimiser's parameters (zeros but the shape block), or None without pooling."""
        if not (self.shape and self.pooling is not None):
            return None
        d = len(self.params)
        out = np.zeros((d, d))
        start = 4 + 3 * self.k
        out[start:, start:] = pooling_precision(self.design)
        return out

    def gradient_objective(self, rows, w, penalizer):
        x, tx, T, g = rows
        zs = self.zg / self.design.scale
        prior = self.prior_precision()
        if prior is not None:
            prior = prior / float(self.pooling) ** 2 / float(np.sum(w))  # the objective is a mean
        return CovariateBetaGeoObjective(x, tx, T, np.asarray(g, np.intp), zs, w, penalizer, self.shape, prior)


class CovariateBetaGeoObjective(Objective):
    """Weighted mean negative BG/NBD log-likelihood with covariates and its exact gradient.

    Terms in (frequency, group) only are computed once per distinct pair; ``log(alpha_g + T)`` and
    ``log(alpha_g + t_x)`` once per distinct (time, group); the group sums of the row derivatives
    go to the coefficients through the (scaled) design rows ``zs``.
    """

    def __init__(self, x, tx, T, g, zs, w, penalizer, shape=False, prior=None):
        self.zs, self.G, self.k = zs, zs.shape[0], zs.shape[1]
        self.shape, self.prior = bool(shape), prior
        self.penalizer, self.total = float(penalizer), float(np.sum(w))
        self.x, self.g, self.w = np.asarray(x, float), g, np.asarray(w, float)
        pairs, _, self.xgi = compress(x, g)
        self.ux, self.uxg = pairs[:, 0], pairs[:, 1].astype(np.intp)
        self.Wxg = np.bincount(self.xgi, weights=self.w, minlength=len(pairs))
        tp, _, self.Ti = compress(T, g)
        self.uT, self.uTg = tp[:, 0], tp[:, 1].astype(np.intp)
        xp, _, self.txi = compress(tx, g)
        self.utx, self.utxg = xp[:, 0], xp[:, 1].astype(np.intp)
        self.pos = self.x > 0
        self.bx1 = np.maximum(self.x, 1.0) - 1.0

    def __call__(self, log_params, gradient=True):
        from scipy.special import digamma, expit, gammaln

        th = np.asarray(log_params, float)
        k = self.k
        zs = self.zs
        with np.errstate(all="ignore"):
            r = np.exp(th[0] + zs @ th[4 + 3 * k:4 + 4 * k]) if self.shape else np.exp(th[0])
            al = np.exp(th[1] - zs @ th[4:4 + k])
            a = np.exp(th[2] + zs @ th[4 + k:4 + 2 * k])
            b = np.exp(th[3] + zs @ th[4 + 2 * k:4 + 3 * k])
            ux, ug = self.ux, self.uxg
            ap, bp = a[ug], b[ug]
            rp = r[ug] if self.shape else r
            a12 = (gammaln(rp + ux) - gammaln(rp) + rp * np.log(al[ug]) + gammaln(ap + bp) + gammaln(bp + ux)
                   - gammaln(bp) - gammaln(ap + bp + ux))
            total = dot(self.Wxg, a12)
            lT = np.log(al[self.uTg] + self.uT)[self.Ti]
            ltx = np.log(al[self.utxg] + self.utx)[self.txi]
            gi = self.g
            rx = (r[gi] if self.shape else r) + self.x
            a3 = -rx * lT
            c4 = np.where(self.pos, np.log(a[gi]) - np.log(b[gi] + self.bx1), -np.inf)
            a4 = c4 - rx * ltx
            tail = np.where(self.pos, np.logaddexp(a3, a4), a3)
            total += dot(self.w, tail)
            pen_v, pen_g = penalty(th, self.penalizer)
            if self.prior is not None:
                pth = self.prior @ th
                pen_v, pen_g = pen_v + 0.5 * float(th @ pth), pen_g + pth
            value = -total / self.total + pen_v
            if not gradient:
                return value, None
            pi = np.where(self.pos, expit(a4 - a3), 0.0)
            w = self.w
            wp = w * pi
            # r
            G = self.G
            if self.shape:  # per group (times r_g)
                s_r = r * (np.bincount(ug, weights=self.Wxg * (digamma(rp + ux) - digamma(rp) + np.log(al[ug])),
                                       minlength=G)
                           - np.bincount(gi, weights=w * ((1 - pi) * lT + pi * ltx), minlength=G))
            else:
                dr = dot(self.Wxg, digamma(r + ux) - digamma(r) + np.log(al[ug])) - dot(w, (1 - pi) * lT + pi * ltx)
            # alpha per group (times alpha_g)
            s_al = np.bincount(ug, weights=self.Wxg, minlength=G) * r
            iT = (1.0 / (al[self.uTg] + self.uT))[self.Ti]
            itx = (1.0 / (al[self.utxg] + self.utx))[self.txi]
            s_al -= al * np.bincount(gi, weights=w * rx * ((1 - pi) * iT + pi * itx), minlength=G)
            d_ab = digamma(ap + bp) - digamma(ap + bp + ux)
            s_a = np.bincount(ug, weights=self.Wxg * d_ab, minlength=G) * a + np.bincount(gi, weights=wp, minlength=G)
            s_b = (np.bincount(ug, weights=self.Wxg * (d_ab + digamma(bp + ux) - digamma(bp)), minlength=G) * b
                   - b * np.bincount(gi, weights=np.where(self.pos, wp / (b[gi] + self.bx1), 0.0), minlength=G))
            if self.shape:
                grad = np.concatenate([[s_r.sum(), s_al.sum(), s_a.sum(), s_b.sum()], -zs.T @ s_al, zs.T @ s_a,
                                       zs.T @ s_b, zs.T @ s_r])
            else:
                grad = np.concatenate([[dr * r, s_al.sum(), s_a.sum(), s_b.sum()], -zs.T @ s_al, zs.T @ s_a,
                                       zs.T @ s_b])
            return value, -grad / self.total + pen_g


# ---- Gamma-Gamma with covariates -------------------------------------------------------------------


class CovariateGammaGamma(SpendModel):
    """Gamma-Gamma with ``v_i = v_0 exp(gamma_spend' z)``; rows ``(x, m, group)``."""

    name = "gamma_gamma"
    time_params = frozenset({"v"})
    n_base = 3
    links = (("spend", "v", 1),)

    def __init__(self, design: Design, zg: np.ndarray):
        self.design, self.zg, self.k = design, np.asarray(zg, float), len(design.names)
        self.params = ("p", "q", "v", *(f"spend:{n}" for n in design.names))

    def time_scale(self, rows):
        return 1.0 / float(np.mean(rows[1]))

    def scaled_rows(self, rows, scale):
        x, m, g = rows
        return x, np.asarray(m, float) * scale, g

    def natural(self, log_x, scale):
        out = np.array(log_x, float)
        out[:3] = np.exp(out[:3])
        out[2] /= scale
        out[3:] /= self.design.scale
        return out

    def optimiser_point(self, theta, scale):
        out = np.array(theta, float)
        out[2] *= scale
        out[:3] = np.log(out[:3])
        out[3:] *= self.design.scale
        return out

    @staticmethod
    def group_params(theta, z):
        z = np.asarray(z, float).reshape(len(z), -1)
        p, q, v = theta[:3]
        with np.errstate(over="ignore"):
            return np.column_stack([np.full(len(z), p), np.full(len(z), q), v * np.exp(z @ theta[3:3 + z.shape[1]])])

    def loglik(self, params, x, m, g):
        from ._gamma_gamma import GammaGamma

        p = self.group_params(params, self.zg)[np.asarray(g, np.intp)]
        return GammaGamma().loglik(p.T, x, m)

    def gradient_objective(self, rows, w, penalizer):
        x, m, g = rows
        return CovariateGammaGammaObjective(x, m, np.asarray(g, np.intp), self.zg / self.design.scale, w, penalizer)


class CovariateGammaGammaObjective(Objective):
    """Weighted mean negative Gamma-Gamma log-likelihood with covariates on ``v`` and its gradient."""

    def __init__(self, x, m, g, zs, w, penalizer):
        self.x, self.m, self.g, self.zs = np.asarray(x, float), np.asarray(m, float), g, zs
        self.w, self.penalizer, self.total = np.asarray(w, float), float(penalizer), float(np.sum(w))
        with np.errstate(all="ignore"):
            self.xm, self.lm, self.lx = self.x * self.m, np.log(self.m), np.log(self.x)

    def __call__(self, log_params, gradient=True):
        from scipy.special import digamma, gammaln

        th = np.asarray(log_params, float)
        p, q = np.exp(th[0]), np.exp(th[1])
        G = self.zs.shape[0]
        with np.errstate(all="ignore"):
            lv_g = th[2] + self.zs @ th[3:]
            v = np.exp(lv_g)[self.g]
            lv = lv_g[self.g]
            px = p * self.x
            lxmv = np.log(self.xm + v)
            ll = (gammaln(px + q) - gammaln(px) - gammaln(q) + q * lv + (px - 1.0) * self.lm + px * self.lx
                  - (px + q) * lxmv)
            pen_v, pen_g = penalty(th, self.penalizer)
            value = -dot(self.w, ll) / self.total + pen_v
            if not gradient:
                return value, None
            d_pxq = digamma(px + q)
            w = self.w
            dp = dot(w * px, d_pxq - digamma(px) + self.lm + self.lx - lxmv)
            dq = q * dot(w, d_pxq - digamma(q) + lv - lxmv)
            s_v = np.bincount(self.g, weights=w * (q - (px + q) * v / (self.xm + v)), minlength=G)
            grad = np.concatenate([[dp, dq, s_v.sum()], self.zs.T @ s_v])
            return value, -grad / self.total + pen_g


def hessian_se(objective, log_x, total, h=1e-5):
    """Covariance of the optimiser's parameters: the inverse of ``total`` times the Hessian of the
    (mean) objective, by central differences of its analytic gradient (of its values, step 1e-4,
    for a :class:`NumericObjective`). ``(cov, hess_inv)``; ``(None, None)`` when the Hessian is not
    positive definite."""
    log_x = np.asarray(log_x, float)
    k = len(log_x)
    H = np.empty((k, k))
    if isinstance(objective, NumericObjective):
        H = value_hessian(lambda t: objective(t, gradient=False)[0], log_x, 1e-4)
    else:
        for i in range(k):
            e = np.zeros(k)
            e[i] = h
            H[:, i] = (objective(log_x + e)[1] - objective(log_x - e)[1]) / (2 * h)
    H = (H + H.T) / 2
    try:
        np.linalg.cholesky(H)
    except np.linalg.LinAlgError:
        return None, None
    hess_inv = np.linalg.inv(H)
    hess_inv = (hess_inv + hess_inv.T) / 2
    return hess_inv / total, hess_inv


# ---- any purchase model with covariates (Pareto/NBD, MBG/NBD) -----------------------------------


class CovariatePurchase(PurchaseModel):
    """A purchase model whose parameters move with the covariates: ``theta_i = theta_0 exp(sign gamma' z)``.

    ``links`` is a tuple of ``(process, parameter, sign)``: the coefficients of ``process`` act on
    ``parameter`` of the base model with that sign. Pareto/NBD as in CLVTools:
    ``alpha_i = alpha_0 exp(-gamma_purchase' z)`` (a positive coefficient: more purchases) and
    ``beta_i = beta_0 exp(-gamma_dropout' z)`` (the mean dropout rate ``s / beta_i`` is
    ``exp(gamma_dropout' z)`` times the reference's: a positive coefficient, sooner dropout); ``r, s``
    shared. Rows are ``(x, tx, T, group)``. The likelihood is the base model's, group by group; the
    gradient is by central differences of the objective (no analytic gradient).
    """

    def __init__(self, base: PurchaseModel, design: Design, zg: np.ndarray, links):
        self.base, self.design, self.zg = base, design, np.asarray(zg, float)
        self.name, self.time_params = base.name, base.time_params
        self.k, self.links, self.n_base = len(design.names), tuple(links), len(base.params)
        self.params = (*base.params, *(f"{proc}:{n}" for proc, _, _ in self.links for n in design.names))
        self.start, self.fit_tol = base.start, base.fit_tol

    def scaled_rows(self, rows, scale):
        x, tx, T, g = rows
        return x, np.asarray(tx, float) * scale, np.asarray(T, float) * scale, g

    def natural(self, log_x, scale):
        out = np.array(log_x, float)
        nb = self.n_base
        out[:nb] = self.base.natural(out[:nb], scale)
        for j in range(len(self.links)):
            out[nb + j * self.k: nb + (j + 1) * self.k] /= self.design.scale
        return out

    def optimiser_point(self, theta, scale):
        out = np.array(theta, float)
        nb = self.n_base
        base = out[:nb].copy()
        for i, name in enumerate(self.base.params):
            if name in self.time_params:
                base[i] *= scale
        out[:nb] = np.log(base)
        for j in range(len(self.links)):
            out[nb + j * self.k: nb + (j + 1) * self.k] *= self.design.scale
        return out

    def group_params(self, theta, z):
        """``(G, n_base)`` base-model parameters of design rows ``z`` at natural ``theta``."""
        z = np.asarray(z, float).reshape(len(z), -1)
        nb, k = self.n_base, z.shape[1]
        table = np.tile(np.asarray(theta[:nb], float), (len(z), 1))
        with np.errstate(over="ignore"):
            for j, (_, par, sign) in enumerate(self.links):
                table[:, self.base.params.index(par)] *= np.exp(sign * (z @ theta[nb + j * k: nb + (j + 1) * k]))
        return table

    def loglik(self, params, x, tx, T, g, zg=None):
        table = self.group_params(params, self.zg if zg is None else zg)
        g = np.asarray(g, np.intp)
        x, tx, T = (np.asarray(v, float) for v in (x, tx, T))
        out = np.empty(len(x))
        for j in np.unique(g):
            sel = g == j
            out[sel] = self.base.loglik(table[j], x[sel], tx[sel], T[sel])
        return out

    def gradient_objective(self, rows, w, penalizer):
        x, tx, T, g = rows
        zs = self.zg / self.design.scale
        nb = self.n_base

        def value(th):
            theta = np.concatenate([np.exp(th[:nb]), th[nb:]])
            with np.errstate(all="ignore"):
                return self.loglik(theta, x, tx, T, g, zs)

        return NumericObjective(value, w, penalizer)


class NumericObjective(Objective):
    """Weighted mean negative log-likelihood (``loglik(log_params)`` per row) plus the penalty, with a
    central-difference gradient (step 1e-6); non-finite values become 1e100 so a line search steps back."""

    def __init__(self, loglik, w, penalizer, h=1e-6):
        self.row_loglik, self.w, self.h = loglik, np.asarray(w, float), h
        self.penalizer, self.total = float(penalizer), float(np.sum(w))

    def _value(self, th):
        v = -dot(self.w, self.row_loglik(th)) / self.total + penalty(th, self.penalizer)[0]
        return v if np.isfinite(v) else 1e100

    def __call__(self, log_params, gradient=True):
        th = np.asarray(log_params, float)
        value = self._value(th)
        if not gradient:
            return value, None
        grad = np.empty(len(th))
        for i in range(len(th)):
            e = np.zeros(len(th))
            e[i] = self.h
            grad[i] = (self._value(th + e) - self._value(th - e)) / (2 * self.h)
        return value, grad

    def loglik(self, params):  # natural parameters are not simply exp(log_params) here
        raise NotImplementedError


def value_hessian(f, x, h):
    """Hessian of a scalar ``f`` at ``x`` by central second differences of its values."""
    k = len(x)
    H = np.empty((k, k))
    f0 = f(x)
    E = np.eye(k) * h
    for i in range(k):
        H[i, i] = (f(x + E[i]) - 2 * f0 + f(x - E[i])) / h**2
        for j in range(i + 1, k):
            H[i, j] = H[j, i] = (f(x + E[i] + E[j]) - f(x + E[i] - E[j]) - f(x - E[i] + E[j])
                                 + f(x - E[i] - E[j])) / (4 * h**2)
    return H


#: the covariate links of each purchase model (process, parameter, sign): see the module docstring
LINKS = {
    "bgnbd": (("purchase", "alpha", -1), ("dropout_a", "a", 1), ("dropout_b", "b", 1)),
    "mbgnbd": (("purchase", "alpha", -1), ("dropout_a", "a", 1), ("dropout_b", "b", 1)),
    "paretonbd": (("purchase", "alpha", -1), ("dropout", "beta", -1)),
}


def covariate_purchase_model(base: PurchaseModel, design: Design, zg: np.ndarray, shape: bool = False,
                             pooling: float | None = None) -> PurchaseModel:
    """The covariate version of a registered purchase model (BG/NBD with its analytic gradient);
    ``shape``: the shape ``r`` of the purchase-rate distribution moves with the covariates too;
    ``pooling``: the prior standard deviation ``tau`` of the shape coefficients (BG/NBD only)."""
    if base.name == "bgnbd":
        return CovariateBetaGeo(design, zg, shape=shape, pooling=pooling if shape else None)
    if pooling is not None:
        raise DataError(f"shape_covariates='pooled' is supported with purchase_model='bgnbd' only, not "
                        f"{base.name!r}; pass True or 'auto'.")
    if base.name not in LINKS:
        raise DataError(f"covariates= is not supported with purchase_model={base.name!r}; use one of "
                        f"{sorted(LINKS)}.")
    links = LINKS[base.name] + ((("purchase_shape", "r", 1),) if shape else ())
    return CovariatePurchase(base, design, zg, links)


#: significance level of the likelihood-ratio test of ``shape_covariates="auto"``
SHAPE_TEST_LEVEL = 0.05


def penalised_loglik(model: PurchaseModel, rows, counts, log_x, penalizer) -> float:
    """The penalised log-likelihood a fit maximises, in total (``-n`` times its objective at ``log_x``),
    on the model's scaled rows. Two models of the same rows share the scaling, so differences are
    differences of log-likelihoods (the time scale adds a term in the data only)."""
    columns = tuple(np.asarray(rows, float).T)
    objective = model.gradient_objective(model.scaled_rows(columns, model.time_scale(columns)), counts, penalizer)
    return -float(np.sum(counts)) * float(objective(np.asarray(log_x, float), gradient=False)[0])


def shape_test(shared, shared_fit, shaped, shaped_fit, rows, counts, penalizer, level=SHAPE_TEST_LEVEL) -> dict:
    """Likelihood-ratio test of a shared ``r`` against ``r`` by covariates (``shape_covariates="auto"``).

    The shared model is the shaped one with its ``purchase_shape`` coefficients at 0, where their
    penalty is 0 too, so twice the difference of the *penalised* log-likelihoods (the quantities the
    two fits maximise) is >= 0 and, with the penalty small against n, nearly chi-squared with ``df`` =
    the number of extra coefficients under the shared model. The richer model is kept when its
    p-value is below ``level`` and its fit converged. Returns a dict: ``test, level, df,
    penalised_log_likelihood_shared / _shape, log_likelihood_shared / _shape`` (unpenalised, in the
    fit's time unit, as ``fit_info_``), ``statistic, p_value, shape_converged, chosen`` (``"shared"``
    or ``"shape"``).
    """
    from scipy.stats import chi2

    rows = np.asarray(rows, float)
    columns = tuple(rows.T)
    df = len(shaped.params) - len(shared.params)
    pll0 = penalised_loglik(shared, rows, counts, shared_fit.log_x, penalizer)
    pll1 = penalised_loglik(shaped, rows, counts, shaped_fit.log_x, penalizer)
    with np.errstate(all="ignore"):
        ll0 = float(np.sum(counts * shared.loglik(shared_fit.params, *columns)))
        ll1 = float(np.sum(counts * shaped.loglik(shaped_fit.params, *columns)))
    stat = max(2.0 * (pll1 - pll0), 0.0) if np.isfinite(pll1) else 0.0
    p = float(chi2.sf(stat, df))
    converged = bool(shaped_fit.converged)
    return {"test": "likelihood ratio", "level": float(level), "df": int(df),
            "penalised_log_likelihood_shared": pll0, "penalised_log_likelihood_shape": pll1,
            "log_likelihood_shared": ll0, "log_likelihood_shape": ll1,
            "statistic": float(stat), "p_value": p, "shape_converged": converged,
            "chosen": "shape" if (p < level and converged) else "shared"}


# ---- partial pooling of r (shape_covariates="pooled") ---------------------------------------------

#: scale of the half-Cauchy prior on tau, the standard deviation of the campaigns' log r around their
#: mean: 1 lets a level's r be e times another's without surprise and keeps the posterior of tau
#: proper with two levels (fixed before the shop's coverage was measured; see CLVModel.fit)
TAU_PRIOR_SCALE = 1.0


#: grid of tau over which the posterior is computed (the first cell reaches down to 0)
TAU_GRID = np.geomspace(1e-3, 10.0, 121)


def tau_posterior(gamma, V, P, prior_scale: float = TAU_PRIOR_SCALE, grid=TAU_GRID) -> dict:
    """Posterior of ``tau``, the prior standard deviation of the shape coefficients, from the fit with
    ``r`` free by covariates (``shape_covariates="pooled"``).

    ``gamma`` are that fit's shape coefficients and ``V`` their covariance (optimiser scale), ``P``
    the pooling precision (:func:`pooling_precision`). Near the free fit the likelihood is normal in
    ``gamma`` (``gamma_hat ~ N(gamma, V)``, the other parameters integrated out) and the prior is
    ``gamma ~ N(0, tau**2 P^-1)``, so the marginal likelihood of ``tau`` is that of
    ``gamma_hat ~ N(0, V + tau**2 P^-1)`` (the normal-normal model of a meta-analysis). With a
    half-Cauchy(0, ``prior_scale``) prior on ``tau``, the posterior on ``grid`` (cells from 0 to the
    midpoints). ``tau -> 0`` is the shared ``r``, ``tau -> inf`` the free fit.

    Returns a dict: ``grid``, ``weights`` (posterior mass of each cell), ``log_marginal`` (log marginal
    likelihood on the grid, up to a constant), ``eb`` (the grid value maximising it: empirical Bayes;
    the first grid value when the maximum is at tau = 0), ``mean``, ``quantile(q)`` (a function).

    Examples
    --------
    Shape coefficients far from 0 and well measured give a large tau; the same coefficients measured
    badly leave tau near 0 (empirical Bayes) but with a wide posterior:

    >>> P = np.eye(2) - 1 / 3
    >>> sharp = tau_posterior(np.array([1.0, -1.0]), np.eye(2) * 0.01, P)
    >>> bool(0.5 < sharp["quantile"](0.5) < 2.0), bool(sharp["quantile"](0.1) > 0.4)
    (True, True)
    >>> vague = tau_posterior(np.array([0.1, -0.1]), np.eye(2) * 0.25, P)
    >>> float(vague["eb"]) == float(TAU_GRID[0]), bool(vague["quantile"](0.9) > 0.3)
    (True, True)
    """
    gamma, V, P = np.asarray(gamma, float), np.asarray(V, float), np.asarray(P, float)
    grid = np.asarray(grid, float)
    Sp = np.linalg.inv(P)
    log_ml = np.empty(len(grid))
    for i, t in enumerate(grid):
        S = V + t * t * Sp
        sign, logdet = np.linalg.slogdet(S)
        log_ml[i] = -0.5 * logdet - 0.5 * float(gamma @ np.linalg.solve(S, gamma)) if sign > 0 else -np.inf
    edges = np.concatenate([[0.0], (grid[1:] + grid[:-1]) / 2, [grid[-1]]])
    log_w = log_ml + np.log(np.diff(edges)) - np.log1p((grid / prior_scale) ** 2)
    w = np.exp(log_w - np.max(log_w))
    w /= w.sum()
    cdf = np.cumsum(w)

    def quantile(q):
        return grid[min(int(np.searchsorted(cdf, q)), len(grid) - 1)]

    return {"grid": grid, "weights": w, "log_marginal": log_ml, "eb": float(grid[int(np.argmax(log_ml))]),
            "mean": float(w @ grid), "quantile": quantile}
