"""Maximum-likelihood fits on compressed (unique-row, weighted) data."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .._errors import ConvergenceWarning
from . import _models as M

__all__ = ["FitResult", "fit_purchase", "fit_spend", "compress", "log_hessian_se"]

#: scaled parameters (times divided by max T) beyond exp(+-12) are "at the edge" of the space
_EDGE = 12.0


@dataclass
class FitResult:
    params: np.ndarray  # natural parameters, in the model's time unit
    log_x: np.ndarray  # optimiser solution (log of scaled parameters), for warm starts
    converged: bool
    message: str
    iterations: int
    edge: list
    hess_inv: np.ndarray | None = None  # BFGS inverse-Hessian estimate, to warm-start refits


def compress(*columns):
    """Unique rows of the stacked columns, the counts, and the inverse index."""
    stacked = np.column_stack([np.asarray(c, float) for c in columns])
    rows, inverse, counts = np.unique(stacked, axis=0, return_inverse=True, return_counts=True)
    return rows, counts.astype(float), inverse.reshape(-1)


def _minimize(fun, x0, jac, tol, hess_inv0=None):
    from scipy.optimize import minimize

    options = {}
    if hess_inv0 is not None:
        try:
            np.linalg.cholesky(hess_inv0)
            options["hess_inv0"] = hess_inv0
        except np.linalg.LinAlgError:
            pass
    with warnings.catch_warnings():  # also contains lifetimes' simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        return minimize(fun, x0=x0, jac=jac, method="BFGS", tol=tol, options=options)


def _converged(out) -> bool:
    grad = getattr(out, "jac", None)
    small = grad is not None and np.all(np.isfinite(grad)) and np.max(np.abs(grad)) < 1e-5
    return bool(np.all(np.isfinite(out.x)) and (out.success or small))


def fit_purchase(model, x, tx, T, w, penalizer=0.0, x0=None, hess_inv0=None) -> FitResult:
    """Fit a purchase model; the objective is lifetimes' own for BG/NBD and MBG/NBD.

    Times are rescaled so that max(T) = 1 as lifetimes does (better conditioning), the objective is
    the weighted mean negative log-likelihood plus ``penalizer * sum(scaled_params**2)``, and the
    optimiser is the one lifetimes uses (BFGS with autograd gradients, tol 1e-7, start 0.1), so a
    weighted fit on unique rows gives the parameters of a plain lifetimes fit.
    """
    x = np.asarray(x, float)
    scale = 1.0 / float(np.max(T))
    stx, sT = np.asarray(tx, float) * scale, np.asarray(T, float) * scale
    w = np.asarray(w, float)
    start = 0.1 * np.ones(4) if x0 is None else np.asarray(x0, float)
    if model in ("bgnbd", "mbgnbd"):
        from autograd import value_and_grad

        lt = M.lifetimes_fitters()
        nll = {"bgnbd": lt.BetaGeoFitter, "mbgnbd": lt.ModifiedBetaGeoFitter}[model]._negative_log_likelihood
        args = (x.astype(int), stx, sT, w, penalizer)
        out = _minimize(lambda p: value_and_grad(nll)(p, *args), start, True, 1e-7, hess_inv0)
    else:
        total = w.sum()
        xi = x

        def nll(logp):
            p = np.exp(logp)
            with np.errstate(all="ignore"):
                ll = M.pareto_loglik(p, xi, stx, sT)
            value = -(w * ll).sum() / total + penalizer * np.sum(p**2)
            return value if np.isfinite(value) else 1e100

        if x0 is None:
            start = np.zeros(4)
        out = _minimize(nll, start, None, 1e-8, hess_inv0)
    params = np.exp(out.x)
    names = M.PURCHASE_PARAMS[model]
    for i, name in enumerate(names):
        if name in M.TIME_PARAMS:
            params[i] /= scale
    edge = [n for n, v in zip(names, out.x) if not abs(v) < _EDGE]
    return FitResult(params, out.x, _converged(out), str(out.message), int(out.nit), edge, out.hess_inv)


def fit_spend(x, m, w, penalizer=0.0, x0=None, hess_inv0=None) -> FitResult:
    """Gamma-Gamma fit with lifetimes' objective and optimiser (BFGS, autograd, tol 1e-7)."""
    from autograd import value_and_grad

    nll = M.lifetimes_fitters().GammaGammaFitter._negative_log_likelihood
    args = (np.asarray(x, float), np.asarray(m, float), np.asarray(w, float), penalizer)
    start = 0.1 * np.ones(3) if x0 is None else np.asarray(x0, float)
    out = _minimize(lambda p: value_and_grad(nll)(p, *args), start, True, 1e-7, hess_inv0)
    edge = [n for n, v in zip(M.SPEND_PARAMS["gamma_gamma"], out.x) if not abs(v) < _EDGE]
    return FitResult(np.exp(out.x), out.x, _converged(out), str(out.message), int(out.nit), edge, out.hess_inv)


def log_hessian_se(total_loglik, params, h=1e-4):
    """Standard errors by the delta method from a central-difference Hessian in log-parameters.

    ``total_loglik(params)`` is the (unpenalised, weighted) total log-likelihood. Returns the
    standard errors and the covariance of the log-parameters; NaN and None when the Hessian is
    not positive definite.
    """
    theta = np.log(np.asarray(params, float))
    k = len(theta)

    def f(t):
        return -total_loglik(np.exp(t))

    hess = np.empty((k, k))
    f0 = f(theta)
    for i in range(k):
        for j in range(i, k):
            if i == j:
                e = np.zeros(k)
                e[i] = h
                val = (f(theta + e) - 2 * f0 + f(theta - e)) / h**2
            else:
                ei, ej = np.zeros(k), np.zeros(k)
                ei[i], ej[j] = h, h
                val = (f(theta + ei + ej) - f(theta + ei - ej) - f(theta - ei + ej) + f(theta - ei - ej)) / (
                    4 * h**2
                )
            hess[i, j] = hess[j, i] = val
    try:
        np.linalg.cholesky(hess)
        cov = np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        return np.full(k, np.nan), None
    return np.exp(theta) * np.sqrt(np.diag(cov)), (cov + cov.T) / 2


def warn_fit(what: str, result: FitResult) -> None:
    if not result.converged:
        warnings.warn(
            f"{what} fit did not converge ({result.message}); the estimates may be wrong. Try "
            "penalizer=0.001 or more, check the summary for outliers, or use more data.",
            ConvergenceWarning,
            stacklevel=3,
        )
    if result.edge:
        warnings.warn(
            f"{what} fit: parameter(s) {', '.join(result.edge)} ran to the edge of the parameter "
            "space (beyond exp(+-12) after scaling time so that max T = 1); the model is not "
            "identified on this data. Try penalizer=0.001 or more, or a longer observation period.",
            ConvergenceWarning,
            stacklevel=3,
        )


def refit(kind, rows, w, start: FitResult, penalizer=0.0) -> np.ndarray:
    """Fast warm-started refit with new weights (bootstrap): numpy log-likelihood, BFGS from the
    fitted solution with the fitted inverse Hessian. Returns natural parameters.

    ``kind`` is a purchase model name or ``"gamma_gamma"``; ``rows`` the unique rows.
    """
    w = np.asarray(w, float)
    total = w.sum()
    if kind == "gamma_gamma":
        x, m = rows[:, 0], rows[:, 1]

        def ll(p):
            return M.gamma_gamma_loglik(p, x, m)

        def to_natural(p):
            return p
    else:
        x, tx, T = rows[:, 0], rows[:, 1], rows[:, 2]
        scale = 1.0 / float(np.max(T))
        stx, sT = tx * scale, T * scale
        time_mask = np.array([n in M.TIME_PARAMS for n in M.PURCHASE_PARAMS[kind]])

        def ll(p):
            return M.loglik(kind, p, x, stx, sT)

        def to_natural(p):
            return np.where(time_mask, p / scale, p)

    def nll(logp):
        p = np.exp(logp)
        with np.errstate(all="ignore"):
            value = -(w * ll(p)).sum() / total + penalizer * np.sum(p**2)
        return value if np.isfinite(value) else 1e100

    out = _minimize(nll, start.log_x, None, 1e-7, start.hess_inv)
    return to_natural(np.exp(out.x))
