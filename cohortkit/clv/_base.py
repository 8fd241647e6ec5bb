"""What every CLV sub-model provides: the base classes of the purchase and spend models.

A model is a small stateless class in its own file (:mod:`._bgnbd`, :mod:`._mbgnbd`,
:mod:`._paretonbd`, :mod:`._gamma_gamma`), registered by its public name in :mod:`._registry`.
:class:`~cohortkit.clv.CLVModel` looks the class up once and then only calls the methods below, and
:mod:`._fit` fits any model through the same few hooks (``loglik``, ``time_scale``,
``scaled_rows``, ``gradient_objective``, ``lifetimes_objective``), so adding a model means adding a
file and one line in the registry.

Rows are the model's data columns: ``(x, tx, T)`` (repeat frequency, recency, age) for a purchase
model, ``(x, m)`` (repeat frequency, mean repeat spend) for a spend model. Parameters are natural
(not logged), in the order of ``params``; time-valued parameters (``time_params``) are in the
unit of the rows.
"""

from __future__ import annotations

from typing import Callable, ClassVar

import numpy as np

__all__ = ["Model", "PurchaseModel", "SpendModel", "Objective", "penalised_nll", "penalty", "lifetimes_fitters"]


def lifetimes_fitters():
    """Import lifetimes' fitters without its import-time side effects leaking out.

    lifetimes 0.11.3 sets ``warnings.simplefilter("ignore", FutureWarning)`` for the whole process
    and a pandas option that pandas 3 deprecates (a Pandas4Warning); both are contained here.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import lifetimes

    return lifetimes


class Objective:
    """``f(log_params, gradient=True) -> (value, gradient)``: lifetimes' objective with an exact gradient.

    The objective is the weighted mean negative log-likelihood plus ``penalizer * sum(log_params**2)``,
    as a function of the log-parameters (times rescaled by the caller so that max T = 1, money so that
    the mean spend row is 1): see :func:`penalty`. Every term
    that depends on the data only through one column is evaluated once per distinct value of that
    column and summed with the aggregated weights; the gradient is the chain rule by hand.
    """

    penalizer: float
    total: float  # sum of the weights

    def __call__(self, log_params, gradient=True):
        raise NotImplementedError

    def loglik(self, params):
        """Total (weighted, unpenalised) log-likelihood at natural ``params``."""
        penalizer, self.penalizer = self.penalizer, 0.0
        try:
            return -self(np.log(np.asarray(params, float)), gradient=False)[0] * self.total
        finally:
            self.penalizer = penalizer


def penalty(log_params, penalizer: float):
    """``(value, gradient)`` of the penalty ``penalizer * sum(log_params**2)`` on the scaled log-parameters.

    The parameters are scaled (time so that max T = 1, money so that the mean spend row is 1), so the
    penalty is the same whatever the time unit or the currency; and it pulls each parameter toward 1
    from both sides, so it keeps a parameter from running to 0 as well as to infinity (lifetimes'
    ``penalizer * sum(params**2)`` only pulls toward 0, does nothing against a, b -> 0 and, on yen
    amounts, crushes the Gamma-Gamma scale v).
    """
    log_params = np.asarray(log_params, float)
    return penalizer * np.sum(log_params**2), 2.0 * penalizer * log_params


def penalised_nll(loglik: Callable, w, penalizer: float) -> Callable:
    """The same objective from a per-row ``loglik(params)``, without a gradient (finite differences).

    Non-finite values become 1e100 so that a line search steps back instead of stopping.
    """
    w = np.asarray(w, float)
    total = w.sum()

    def nll(log_params):
        p = np.exp(log_params)
        with np.errstate(all="ignore"):
            value = -(w * loglik(p)).sum() / total + penalty(log_params, penalizer)[0]
        return value if np.isfinite(value) else 1e100

    return nll


class Model:
    """A CLV sub-model: its name, its parameters and what the fitting code needs of it."""

    #: public name, the key of the registry and of ``CLVModel.params_["model"]``
    name: ClassVar[str]
    #: parameter names, in the order of every ``params`` argument
    params: ClassVar[tuple[str, ...]]
    #: the parameters measured in the unit that ``scaled_rows`` rescales (time for a purchase model,
    #: money for a spend model): divided by the scale when the rows are rescaled
    time_params: ClassVar[frozenset[str]] = frozenset()
    #: optimiser start, the log of every scaled parameter (lifetimes starts at 0.1)
    start: ClassVar[float] = 0.1
    #: BFGS gradient tolerance of the first fit (lifetimes' 1e-7)
    fit_tol: ClassVar[float] = 1e-7
    #: name of the lifetimes fitter whose ``_negative_log_likelihood`` is this model's objective
    #: (the ``engine="lifetimes"`` reference); None when lifetimes' objective is not used
    lifetimes_fitter: ClassVar[str | None] = None

    def loglik(self, params, *rows):
        """Per-row log-likelihood."""
        raise NotImplementedError

    def row_loglik(self, *rows) -> Callable:
        """``f(params) -> loglik(params, *rows)`` for fixed rows (models may precompute)."""
        return lambda params: self.loglik(params, *rows)

    # ---- fitting hooks -------------------------------------------------------------------------

    def time_scale(self, rows) -> float:
        """Factor applied to the times of ``rows`` before fitting (1: none)."""
        return 1.0

    def scaled_rows(self, rows, scale: float) -> tuple:
        """``rows`` with their times multiplied by ``scale``."""
        return tuple(rows)

    def natural(self, log_x, scale: float) -> np.ndarray:
        """Natural parameters, in the rows' time unit, from the optimiser's log of scaled parameters."""
        params = np.exp(log_x)
        for i, name in enumerate(self.params):
            if name in self.time_params:
                params[i] /= scale
        return params

    def gradient_objective(self, rows, w, penalizer: float) -> Objective | None:
        """The objective with an analytic gradient (``engine="numpy"``), or None: finite differences."""
        return None

    def lifetimes_objective(self, rows, w, penalizer: float) -> Callable | None:
        """lifetimes' own objective differentiated by autograd (``engine="lifetimes"``), or None."""
        if self.lifetimes_fitter is None:
            return None
        from autograd import value_and_grad

        nll = getattr(lifetimes_fitters(), self.lifetimes_fitter)._negative_log_likelihood
        args = (*self._lifetimes_rows(rows), w, 0.0)  # lifetimes' likelihood, cohortkit's penalty

        def objective(p):
            value, grad = value_and_grad(nll)(p, *args)
            pen, pen_grad = penalty(p, penalizer)
            return value + pen, grad + pen_grad

        return objective

    def _lifetimes_rows(self, rows) -> tuple:
        """``rows`` as lifetimes' objective takes them."""
        return tuple(rows)

    def check_fit(self, params) -> str | None:
        """A warning message when the fitted ``params`` make predictions meaningless, else None."""
        return None

    def __repr__(self):
        return f"{type(self).__name__}()"


class PurchaseModel(Model):
    """A "buy till you die" model of repeat purchases and dropout; rows are ``(x, tx, T)``."""

    def time_scale(self, rows) -> float:
        """lifetimes' conditioning: times are divided by max(T) so that max T = 1."""
        return 1.0 / float(np.max(rows[2]))

    def scaled_rows(self, rows, scale: float) -> tuple:
        x, tx, T = rows
        return x, np.asarray(tx, float) * scale, np.asarray(T, float) * scale

    def p_alive(self, params, x, tx, T):
        """P(still active at T | x, tx, T)."""
        raise NotImplementedError

    def conditional_expected(self, params, t, x, tx, T):
        """Expected number of repeat purchases in (T, T + t] given the history."""
        raise NotImplementedError

    def expected(self, params, t):
        """Expected number of repeat purchases in (0, t] for a new customer."""
        raise NotImplementedError

    def pmf(self, params, n, t):
        """P(X(t) = n) for a new customer (vectorised over t)."""
        raise NotImplementedError


class SpendModel(Model):
    """A model of the mean spend per purchase; rows are ``(x, m)`` of the repeat customers.

    Amounts are divided by the mean ``m`` of the distinct rows before fitting, so the optimiser, the
    penalty and the edge check see the same numbers in yen, won or dollars (the estimates scale
    exactly with the currency).
    """

    def time_scale(self, rows) -> float:
        """1 / the mean spend of the distinct rows: the money scale (a data statistic, so it scales
        with the currency and the scaled rows do not change)."""
        return 1.0 / float(np.mean(rows[1]))

    def scaled_rows(self, rows, scale: float) -> tuple:
        x, m = rows
        return x, np.asarray(m, float) * scale

    def expected_spend(self, params, x, m):
        """E[mean spend of future purchases | x, m]."""
        raise NotImplementedError
