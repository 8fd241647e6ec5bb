"""Maximum-likelihood fits of any CLV sub-model on compressed (unique-row, weighted) data.

Two engines compute the same objective (lifetimes' weighted mean negative log-likelihood of the
log-parameters, times rescaled so that max T = 1 and amounts so that the mean spend row is 1, plus
cohortkit's ``penalizer * sum(log(scaled_params)**2)``, see :func:`._base.penalty`) and
hand it to the same optimiser (BFGS, start 0.1, tol 1e-7):

* ``"numpy"`` (default): the model's numpy/scipy.special objective with its analytic gradient
  (``model.gradient_objective``);
* ``"lifetimes"``: lifetimes' own ``_negative_log_likelihood`` differentiated by autograd
  (``model.lifetimes_objective``), the reference, kept as a fallback.

Each model starts from its own point and stops at its own tolerance (``model.start``,
``model.fit_tol``). Where the engine has no objective for a model (``engine="lifetimes"`` for
Pareto/NBD, whose lifetimes fitter uses Nelder-Mead), the model's log-likelihood is fitted with
finite-difference gradients.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .._errors import ConvergenceWarning
from ._base import Model, penalised_nll

__all__ = ["ENGINES", "FitResult", "fit", "log_hessian_se", "refit", "warn_fit"]

#: fitting engines (see the module docstring)
ENGINES = ("numpy", "lifetimes")

#: scaled parameters (times divided by max T) beyond exp(+-12) are "at the edge" of the space
_EDGE = 12.0

#: BFGS gradient tolerance of the bootstrap refits, whatever the model
_REFIT_TOL = 1e-7


@dataclass
class FitResult:
    params: np.ndarray  # natural parameters, in the model's time unit
    log_x: np.ndarray  # optimiser solution (log of scaled parameters), for warm starts
    converged: bool
    message: str
    iterations: int
    edge: list
    hess_inv: np.ndarray | None = None  # BFGS inverse-Hessian estimate, to warm-start refits


def _check_engine(engine):
    if engine not in ENGINES:
        raise ValueError(f"engine={engine!r}; pass one of {ENGINES}")


def _minimize(fun, x0, jac, tol, hess_inv0=None):
    from scipy.optimize import minimize

    options = {}
    if hess_inv0 is not None:
        hess_inv0 = (np.asarray(hess_inv0, float) + np.asarray(hess_inv0, float).T) / 2  # scipy wants it exact
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
    """BFGS succeeded, or stopped (precision loss) with a gradient below 1e-5 inside the space: a
    small gradient beyond exp(+-12) is the objective flattening toward an infinite parameter, not
    a maximum (BFGS walking off to r, alpha -> infinity on a handful of customers)."""
    grad = getattr(out, "jac", None)
    inside = np.all(np.abs(out.x) < _EDGE)
    small = grad is not None and np.all(np.isfinite(grad)) and np.max(np.abs(grad)) < 1e-5 and inside
    return bool(np.all(np.isfinite(out.x)) and (out.success or small))


def fit(model: Model, rows, w, penalizer=0.0, x0=None, hess_inv0=None, engine="numpy") -> FitResult:
    """Fit ``model`` on weighted unique ``rows`` (a tuple of columns) with lifetimes' objective and optimiser.

    Times are rescaled as the model says (purchase models: max(T) = 1, as lifetimes does, for
    better conditioning), the objective is the weighted mean negative log-likelihood plus
    ``penalizer * sum(log(scaled_params)**2)`` (money rescaled too, for a spend model), and the optimiser is the one lifetimes uses (BFGS, tol
    1e-7, start 0.1), so a weighted fit on unique rows gives the parameters of a plain lifetimes
    fit. ``engine`` picks the objective's code: the model's numpy one with an analytic gradient, or
    lifetimes' own with autograd; a model with neither uses finite differences.
    """
    _check_engine(engine)
    rows = tuple(np.asarray(c, float) for c in rows)
    w = np.asarray(w, float)
    scale = model.time_scale(rows)
    srows = model.scaled_rows(rows, scale)
    objective = _objective(model, srows, w, penalizer, engine)
    start = np.full(len(model.params), model.start) if x0 is None else np.asarray(x0, float)
    tol = model.fit_tol
    if objective is not None and engine == "numpy":
        warm = _coarse_start(model, srows, w, penalizer, start)
        if warm is not None:
            start, hess_inv0, tol = warm.x, warm.hess_inv, min(tol, _WARM_TOL)
    if objective is not None:
        out = _minimize_robust(objective, start, True, tol, hess_inv0)
    else:
        nll = penalised_nll(lambda p: model.loglik(p, *srows), w, penalizer)
        out = _minimize_robust(nll, start, None, model.fit_tol, hess_inv0)
    edge = [n for n, v in zip(model.params, out.x) if not abs(v) < _EDGE]
    return FitResult(model.natural(out.x, scale), out.x, _converged(out), str(out.message), int(out.nit), edge,
                     out.hess_inv)


#: purchase-model fits on more distinct rows than this start from the fit of a coarse version
_COARSE_MIN_ROWS = 20_000
#: grid of the coarse version: recency and T (scaled so that max T = 1) rounded to 1/_COARSE_GRID
_COARSE_GRID = 32
#: BFGS tolerance of a fit warm-started from the coarse fit (its gradient is then known accurately
#: enough to go below lifetimes' 1e-7 in a few steps)
_WARM_TOL = 1e-8


def _coarse_start(model: Model, srows, w, penalizer, start):
    """The solution and inverse Hessian of the same fit on a coarse version of the rows, or None.

    With many distinct rows (1M customers with day-level times: 100,000 rows) most of BFGS's ~30
    steps from lifetimes' start are spent learning the curvature. The same objective on the rows
    with recency and T rounded to a grid of 1/32 of the longest T has a few thousand rows and nearly
    the same solution; from there, with its inverse Hessian, the fit on the real rows takes ~5 steps
    to a tighter tolerance (:data:`_WARM_TOL`). Nothing of the coarse fit is kept but the start.
    """
    from ._base import PurchaseModel
    from ._rows import compress

    if not isinstance(model, PurchaseModel) or len(w) <= _COARSE_MIN_ROWS:
        return None
    x, tx, T, *rest = srows  # rest: the covariate group of a covariate model
    grid = float(_COARSE_GRID)
    T_c = np.maximum(np.round(T * grid), 1.0) / grid
    tx_c = np.minimum(np.round(tx * grid) / grid, T_c)
    rows, _, inverse = compress(x, tx_c, T_c, *rest)
    if len(rows) >= len(w) / 2:  # not much coarser: no gain
        return None
    coarse = model.gradient_objective(tuple(rows.T), np.bincount(inverse, weights=w, minlength=len(rows)), penalizer)
    out = _minimize(coarse, start, True, 1e-5)
    if not (_converged(out) and np.all(np.isfinite(out.hess_inv))):
        return None
    return out


def _objective(model: Model, srows, w, penalizer, engine):
    """The engine's objective with a gradient, or None (finite differences)."""
    if engine == "lifetimes":
        return model.lifetimes_objective(srows, w, penalizer)
    return model.gradient_objective(srows, w, penalizer)


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


def warn_fit(what: str, result: FitResult, stacklevel: int = 3) -> None:
    """ConvergenceWarnings when the fit of ``what`` did not converge or a parameter ran to the edge."""
    if not result.converged:
        warnings.warn(
            f"{what} fit did not converge ({result.message}); the estimates may be wrong. Try "
            "penalizer=0.001 or more, check the summary for outliers, or use more data.",
            ConvergenceWarning,
            stacklevel=stacklevel,
        )
    if result.edge:
        warnings.warn(
            f"{what} fit: parameter(s) {', '.join(result.edge)} ran to the edge of the parameter "
            "space (beyond exp(+-12) after scaling time so that max T = 1 and amounts so that their "
            "mean is 1); the model is not "
            "identified on this data. Try penalizer=0.001 or more, or a longer observation period.",
            ConvergenceWarning,
            stacklevel=stacklevel,
        )


def refit(model: Model, rows, w, start: FitResult, penalizer=0.0, engine="numpy") -> np.ndarray:
    """Fast warm-started refit with new weights (bootstrap): BFGS from the fitted solution with the
    fitted inverse Hessian. Returns natural parameters.

    ``rows`` is the fitted model's array of unique rows, times rescaled as in the original fit (max T
    of all rows), so the warm start stays valid. With ``engine="numpy"`` a model with an analytic
    gradient uses it on the rows drawn at least once; otherwise (and for Pareto/NBD) the model's
    log-likelihood with finite-difference gradients.
    """
    _check_engine(engine)
    w = np.asarray(w, float)
    columns = tuple(rows.T)
    scale = model.time_scale(columns)
    srows = model.scaled_rows(columns, scale)
    keep = w > 0  # rows drawn zero times do not change the objective
    objective = None
    if engine == "numpy":
        objective = model.gradient_objective(tuple(c[keep] for c in srows), w[keep], penalizer)
    if objective is not None:
        out = _minimize(objective, start.log_x, True, _REFIT_TOL, start.hess_inv)
    else:
        nll = penalised_nll(lambda p: model.loglik(p, *srows), w, penalizer)
        out = _minimize(nll, start.log_x, None, _REFIT_TOL, start.hess_inv)
    return model.natural(out.x, scale)
