"""Maximum-likelihood fits on compressed (unique-row, weighted) data.

Two engines compute the same objective (lifetimes': weighted mean negative log-likelihood of the
log-parameters, times rescaled so that max T = 1, plus ``penalizer * sum(scaled_params**2)``) and
hand it to the same optimiser (BFGS, start 0.1, tol 1e-7):

* ``"numpy"`` (default): cohortkit's numpy/scipy.special objective with its analytic gradient
  (:func:`cohortkit.clv._models.purchase_objective`, :func:`~cohortkit.clv._models.spend_objective`);
* ``"lifetimes"``: lifetimes' own ``_negative_log_likelihood`` differentiated by autograd, the
  reference, kept as a fallback.

Pareto/NBD always uses cohortkit's log-space likelihood with finite-difference gradients.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .._errors import ConvergenceWarning
from . import _models as M

__all__ = ["ENGINES", "FitResult", "fit_purchase", "fit_spend", "compress", "log_hessian_se", "refit"]

#: fitting engines (see the module docstring)
ENGINES = ("numpy", "lifetimes")

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
    """Unique rows of the stacked columns, the counts, and the inverse index.

    The same result as ``np.unique(np.column_stack(columns), axis=0, return_inverse=True,
    return_counts=True)`` (rows in lexicographic order), but by hashing: each column is replaced
    by the rank of its value (``pandas.factorize(sort=True)``) and the ranks are combined into one
    integer key, re-ranked after each column so it stays below n**2 (6 s -> 0.15 s on 1M rows).
    """
    import pandas as pd

    # Series.to_numpy first: np.asarray(Series) probes attributes that pandas looks up in the index
    cols = [np.asarray(c.to_numpy() if hasattr(c, "to_numpy") else c, float).reshape(-1) for c in columns]
    stacked = np.column_stack(cols)
    codes = np.zeros(len(stacked), np.int64)
    for col in cols:
        ranks, uniq = pd.factorize(col, sort=True, use_na_sentinel=False)  # NaN: its own (last) value
        codes, _ = pd.factorize(codes * len(uniq) + ranks, sort=True)
    counts = np.bincount(codes)
    rows = np.empty((len(counts), stacked.shape[1]))
    rows[codes] = stacked  # every duplicate writes the same values
    return rows, counts.astype(float), codes.astype(np.intp)


def _check_engine(engine):
    if engine not in ENGINES:
        raise ValueError(f"engine={engine!r}; pass one of {ENGINES}")


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


#: Further starting points (log of scaled parameters) tried when the first BFGS run fails.
_RESTARTS = (0.0, -1.0, 1.0, -2.0)


def _minimize_robust(fun, x0, jac, tol, hess_inv0=None):
    """BFGS from ``x0``; when it does not converge, more starting points and a derivative-free polish.

    lifetimes runs one BFGS from one start and reports failures on some data sets (its issues
    #258, #262 and #396). Here a failed run is retried from the starts in :data:`_RESTARTS`; if none
    converges, Nelder-Mead polishes the best point found and BFGS restarts from there. The best
    converged solution (lowest objective) wins; ``out.restarts`` says how many extra runs it took.
    """
    out = _minimize(fun, x0, jac, tol, hess_inv0)
    out.restarts = 0
    if _converged(out):
        return out

    def value(result) -> float:
        f = float(np.asarray(result.fun).ravel()[0]) if np.size(result.fun) else np.inf
        return f if np.isfinite(f) else np.inf

    runs = [out]
    for level in _RESTARTS:
        runs.append(_minimize(fun, np.full(len(x0), level), jac, tol))
        if _converged(runs[-1]):
            break
    converged = [r for r in runs if _converged(r)]
    if not converged:
        from scipy.optimize import minimize

        scalar = (lambda p: fun(p)[0]) if jac is True else fun
        best = min(runs, key=value)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            polished = minimize(scalar, best.x, method="Nelder-Mead",
                                options={"xatol": 1e-8, "fatol": 1e-12, "maxiter": 20_000})
        runs.append(_minimize(fun, polished.x, jac, tol))
        converged = [r for r in runs if _converged(r)]
    chosen = min(converged or runs, key=value)
    chosen.restarts = len(runs) - 1
    return chosen


def _converged(out) -> bool:
    grad = getattr(out, "jac", None)
    small = grad is not None and np.all(np.isfinite(grad)) and np.max(np.abs(grad)) < 1e-5
    return bool(np.all(np.isfinite(out.x)) and (out.success or small))


def fit_purchase(model, x, tx, T, w, penalizer=0.0, x0=None, hess_inv0=None, engine="numpy") -> FitResult:
    """Fit a purchase model on weighted rows with lifetimes' objective and optimiser.

    Times are rescaled so that max(T) = 1 as lifetimes does (better conditioning), the objective is
    the weighted mean negative log-likelihood plus ``penalizer * sum(scaled_params**2)``, and the
    optimiser is the one lifetimes uses (BFGS, tol 1e-7, start 0.1), so a weighted fit on unique
    rows gives the parameters of a plain lifetimes fit. ``engine`` picks the objective's code for
    BG/NBD and MBG/NBD: cohortkit's numpy one with an analytic gradient, or lifetimes' own with
    autograd.
    """
    _check_engine(engine)
    x = np.asarray(x, float)
    scale = 1.0 / float(np.max(T))
    stx, sT = np.asarray(tx, float) * scale, np.asarray(T, float) * scale
    w = np.asarray(w, float)
    start = 0.1 * np.ones(4) if x0 is None else np.asarray(x0, float)
    if model in ("bgnbd", "mbgnbd") and engine == "numpy":
        objective = M.purchase_objective(model, x, stx, sT, w, penalizer)
        out = _minimize_robust(objective, start, True, 1e-7, hess_inv0)
    elif model in ("bgnbd", "mbgnbd"):
        from autograd import value_and_grad

        lt = M.lifetimes_fitters()
        nll = {"bgnbd": lt.BetaGeoFitter, "mbgnbd": lt.ModifiedBetaGeoFitter}[model]._negative_log_likelihood
        args = (x.astype(int), stx, sT, w, penalizer)
        out = _minimize_robust(lambda p: value_and_grad(nll)(p, *args), start, True, 1e-7, hess_inv0)
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
        out = _minimize_robust(nll, start, None, 1e-8, hess_inv0)
    params = np.exp(out.x)
    names = M.PURCHASE_PARAMS[model]
    for i, name in enumerate(names):
        if name in M.TIME_PARAMS:
            params[i] /= scale
    edge = [n for n, v in zip(names, out.x) if not abs(v) < _EDGE]
    return FitResult(params, out.x, _converged(out), str(out.message), int(out.nit), edge, out.hess_inv)


def fit_spend(x, m, w, penalizer=0.0, x0=None, hess_inv0=None, engine="numpy") -> FitResult:
    """Gamma-Gamma fit with lifetimes' objective and optimiser (BFGS, tol 1e-7, start 0.1); the
    gradient is analytic (``engine="numpy"``) or autograd's (``engine="lifetimes"``)."""
    _check_engine(engine)
    x, m, w = (np.asarray(v, float) for v in (x, m, w))
    start = 0.1 * np.ones(3) if x0 is None else np.asarray(x0, float)
    if engine == "numpy":
        out = _minimize_robust(M.spend_objective(x, m, w, penalizer), start, True, 1e-7, hess_inv0)
    else:
        from autograd import value_and_grad

        nll = M.lifetimes_fitters().GammaGammaFitter._negative_log_likelihood
        args = (x, m, w, penalizer)
        out = _minimize_robust(lambda p: value_and_grad(nll)(p, *args), start, True, 1e-7, hess_inv0)
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


def refit(kind, rows, w, start: FitResult, penalizer=0.0, engine="numpy") -> np.ndarray:
    """Fast warm-started refit with new weights (bootstrap): BFGS from the fitted solution with the
    fitted inverse Hessian. Returns natural parameters.

    ``kind`` is a purchase model name or ``"gamma_gamma"``; ``rows`` the unique rows. With
    ``engine="numpy"`` BG/NBD, MBG/NBD and Gamma-Gamma use the analytic-gradient objective; otherwise
    (and for Pareto/NBD) the numpy log-likelihood with finite-difference gradients.
    """
    _check_engine(engine)
    w = np.asarray(w, float)
    total = w.sum()
    if kind == "gamma_gamma":
        x, m = rows[:, 0], rows[:, 1]
        keep = w > 0  # rows drawn zero times do not change the objective

        def ll(p):
            return M.gamma_gamma_loglik(p, x, m)

        def to_natural(p):
            return p

        if engine == "numpy":
            objective = M.spend_objective(x[keep], m[keep], w[keep], penalizer)
            return to_natural(np.exp(_minimize(objective, start.log_x, True, 1e-7, start.hess_inv).x))
    else:
        x, tx, T = rows[:, 0], rows[:, 1], rows[:, 2]
        # the time scale of the original fit (max T of all rows), so the warm start stays valid
        scale = 1.0 / float(np.max(T))
        stx, sT = tx * scale, T * scale
        time_mask = np.array([n in M.TIME_PARAMS for n in M.PURCHASE_PARAMS[kind]])

        def ll(p):
            return M.loglik(kind, p, x, stx, sT)

        def to_natural(p):
            return np.where(time_mask, p / scale, p)

        if engine == "numpy" and kind in ("bgnbd", "mbgnbd"):
            keep = w > 0
            objective = M.purchase_objective(kind, x[keep], stx[keep], sT[keep], w[keep], penalizer)
            return to_natural(np.exp(_minimize(objective, start.log_x, True, 1e-7, start.hess_inv).x))

    def nll(logp):
        p = np.exp(logp)
        with np.errstate(all="ignore"):
            value = -(w * ll(p)).sum() / total + penalizer * np.sum(p**2)
        return value if np.isfinite(value) else 1e100

    out = _minimize(nll, start.log_x, None, 1e-7, start.hess_inv)
    return to_natural(np.exp(out.x))
