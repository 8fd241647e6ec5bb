"""Likelihoods and closed-form predictions of the purchase and spend models (numpy/scipy).

Times are in the model's time unit. ``x`` is the repeat frequency, ``tx`` the recency, ``T`` the
age. BG/NBD and MBG/NBD predictions delegate to ``lifetimes`` (imported lazily; the conditional
expectations repeat lifetimes' expressions with fewer 2F1 evaluations); the Pareto/NBD
expressions are computed here in log space, because lifetimes' versions return NaN when the two
hypergeometric terms of ``A_0`` cancel (e.g. a frequent buyer who bought at the very end, x=170,
t_x=T on the full CDNOW log) and when ``s == 1``.

References
----------
* Fader, Hardie & Lee (2005), "Counting your customers the easy way: an alternative to the
  Pareto/NBD model", *Marketing Science* 24(2), 275-284 (BG/NBD).
* Batislam, Denizel & Filiztekin (2007), *IJRM* 24(3), 201-209 (MBG/NBD).
* Schmittlein, Morrison & Colombo (1987), *Management Science* 33(1); Fader & Hardie (2005),
  "A note on deriving the Pareto/NBD model and related expressions" (brucehardie.com note 009).
* Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves for customer base analysis",
  *JMR* 42(4); Fader & Hardie (2013), "The Gamma-Gamma model of monetary value" (note 025).
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, gammaln, hyp2f1

__all__ = ["PURCHASE_PARAMS", "SPEND_PARAMS", "loglik", "p_alive", "conditional_expected",
           "expected", "pmf", "expected_spend", "purchase_objective", "spend_objective"]

PURCHASE_PARAMS = {
    "bgnbd": ("r", "alpha", "a", "b"),
    "mbgnbd": ("r", "alpha", "a", "b"),
    "paretonbd": ("r", "alpha", "s", "beta"),
}
SPEND_PARAMS = {"gamma_gamma": ("p", "q", "v")}
#: parameters measured in time units (divide by the scale when times are rescaled)
TIME_PARAMS = {"alpha", "beta"}


# --- Pareto/NBD --------------------------------------------------------------------------------


def _pareto_log_a0(r, alpha, s, beta, x, tx, T):
    """log A_0 with A_0 = (r+s+x) * integral_{tx}^{T} (alpha+u)^-(r+x) (beta+u)^-(s+1) du.

    Closed form (note 009, eqs 19-20) through 2F1(a, b; a+1; z) with 0 <= z < 1, each term in log
    space, the difference taken with log1p(-exp(.)): exact when tx == T (A_0 = 0, log = -inf).
    """
    x, tx, T = np.broadcast_arrays(np.asarray(x, float), np.asarray(tx, float), np.asarray(T, float))
    rsx = r + s + x
    if alpha >= beta:
        m, bb = alpha, s + 1.0
        z1, z2 = (alpha - beta) / (alpha + tx), (alpha - beta) / (alpha + T)
    else:
        m, bb = beta, r + x
        z1, z2 = (beta - alpha) / (beta + tx), (beta - alpha) / (beta + T)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log1 = np.log(hyp2f1(rsx, bb, rsx + 1.0, z1)) - rsx * np.log(m + tx)
        log2 = np.log(hyp2f1(rsx, bb, rsx + 1.0, z2)) - rsx * np.log(m + T)
        diff = np.minimum(log2 - log1, 0.0)  # F is decreasing: log2 <= log1 up to rounding
        out = log1 + np.log(-np.expm1(diff))
    return np.where(tx >= T, -np.inf, out)


def _pareto_parts(params, x, tx, T):
    r, alpha, s, beta = params
    x = np.asarray(x, float)
    log_common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    log_alive_term = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    log_dead_term = np.log(s) - np.log(r + s + x) + _pareto_log_a0(r, alpha, s, beta, x, tx, T)
    return log_common, log_alive_term, log_dead_term


def pareto_loglik(params, x, tx, T):
    c, alive, dead = _pareto_parts(params, x, tx, T)
    return c + np.logaddexp(alive, dead)


def pareto_p_alive(params, x, tx, T):
    _, alive, dead = _pareto_parts(params, x, tx, T)
    return np.exp(alive - np.logaddexp(alive, dead))


def _one_minus_pow_over(y, e):
    """(1 - y**e) / e, continuous at e == 0 (where it is -log y)."""
    ly = np.log(y)
    if abs(e) < 1e-12:
        return -ly
    return -np.expm1(e * ly) / e


def pareto_conditional_expected(params, t, x, tx, T):
    """E[X(T, T+t) | x, tx, T] (note 009, eq. 41), continuous at s == 1."""
    r, alpha, s, beta = params
    x = np.asarray(x, float)
    pa = pareto_p_alive(params, x, tx, T)
    y = (beta + T) / (beta + T + t)
    return pa * (r + x) * (beta + T) / (alpha + T) * _one_minus_pow_over(y, s - 1.0)


def pareto_expected(params, t):
    r, alpha, s, beta = params
    return r * beta / alpha * _one_minus_pow_over(beta / (beta + np.asarray(t, float)), s - 1.0)


_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(96)


def pareto_pmf(params, n, t):
    """P(X(t) = n) for a new customer, by Gauss-Legendre quadrature over the lifetime.

    Given the lifetime tau, X(t) is NBD with exposure min(tau, t); tau is Pareto(II) with
    survival (beta / (beta + u)) ** s.
    """
    r, alpha, s, beta = params
    t = np.asarray(t, float)[..., None]

    def nbd(u):
        return np.exp(gammaln(r + n) - gammaln(r) - gammaln(n + 1) + r * np.log(alpha / (alpha + u))
                      + (n * np.log(u / (alpha + u)) if n > 0 else 0.0))

    u = 0.5 * t * (_GL_NODES + 1.0)
    dens = s / beta * (beta / (beta + u)) ** (s + 1.0)
    integral = 0.5 * t[..., 0] * np.sum(_GL_WEIGHTS * nbd(u) * dens, axis=-1)
    return (beta / (beta + t[..., 0])) ** s * nbd(t[..., 0]) + integral


# --- BG/NBD and MBG/NBD -----------------------------------------------------------------------


def bgnbd_loglik(params, x, tx, T):
    r, alpha, a, b = params
    x = np.asarray(x, float)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore"):
        a4 = np.where(x > 0, np.log(a) - np.log(b + np.maximum(x, 1) - 1) - (r + x) * np.log(alpha + tx), -np.inf)
    return a1 + a2 + np.logaddexp(a3, a4)


def mbgnbd_loglik(params, x, tx, T):
    r, alpha, a, b = params
    x = np.asarray(x, float)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x + 1) - gammaln(b) - gammaln(a + b + x + 1)
    a3 = -(r + x) * np.log(alpha + T)
    a4 = np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
    return a1 + a2 + a3 + np.logaddexp(a4, 0.0)


class RowLoglik:
    """``loglik(model, params, x, tx, T)`` for fixed rows, bit for bit, but faster when called often.

    The transcendental terms that depend on one column only (``gammaln(r + x)``,
    ``log(alpha + T)``, ...) are evaluated on that column's distinct values and gathered; every
    other operation is the one :func:`bgnbd_loglik` / :func:`mbgnbd_loglik` perform, in the same
    order, so the result is identical. Used for the many evaluations of the Hessian.
    """

    def __init__(self, model, x, tx, T):
        self.model = model
        self.x, self.tx, self.T = (np.asarray(v, float) for v in (x, tx, T))
        if model in ("bgnbd", "mbgnbd"):
            self.ux, self.xi = _distinct(self.x)
            self.uT, self.Ti = _distinct(self.T)
            self.utx, self.txi = _distinct(self.tx)
            self.pos = self.x > 0

    def __call__(self, params):
        if self.model not in ("bgnbd", "mbgnbd"):
            return loglik(self.model, params, self.x, self.tx, self.T)
        r, alpha, a, b = params
        x, ux, xi = self.x, self.ux, self.xi
        log_aT = np.log(alpha + self.uT)[self.Ti]
        log_atx = np.log(alpha + self.utx)[self.txi]
        if self.model == "bgnbd":
            a1 = gammaln(r + ux)[xi] - gammaln(r) + r * np.log(alpha)
            a2 = gammaln(a + b) + gammaln(b + ux)[xi] - gammaln(b) - gammaln(a + b + ux)[xi]
            a3 = -(r + x) * log_aT
            with np.errstate(divide="ignore"):
                a4 = np.where(self.pos, np.log(a) - np.log(b + np.maximum(ux, 1) - 1)[xi] - (r + x) * log_atx,
                              -np.inf)
            return a1 + a2 + np.logaddexp(a3, a4)
        a1 = gammaln(r + ux)[xi] - gammaln(r) + r * np.log(alpha)
        a2 = gammaln(a + b) + gammaln(b + ux + 1)[xi] - gammaln(b) - gammaln(a + b + ux + 1)[xi]
        a3 = -(r + x) * log_aT
        a4 = np.log(a) - np.log(b + ux)[xi] + (r + x) * (log_aT - log_atx)
        return a1 + a2 + a3 + np.logaddexp(a4, 0.0)


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


def _hyp_by_distinct(fn, x, T, t):
    """``fn(x, T, t)`` (broadcast) evaluated once per distinct combination of the arguments.

    The common call has ``x, T`` per customer and ``t`` constant across customers (a scalar, or a
    column of horizons): then ``fn`` runs on the distinct (x, T) pairs only.
    """
    from ._fit import compress

    x, T = np.broadcast_arrays(np.asarray(x, float), np.asarray(T, float))
    t = np.asarray(t, float)
    trailing = t.shape[max(t.ndim - x.ndim, 0):]
    if all(d == 1 for d in trailing):
        lead = t.shape[: max(t.ndim - x.ndim, 0)]
        rows, _, inverse = compress(x.reshape(-1), T.reshape(-1))
        out = np.asarray(fn(rows[:, 0], rows[:, 1], t.reshape(lead + (1,))), float)[..., inverse]
        return out.reshape(lead + x.shape)
    arrays = np.broadcast_arrays(x, T, t)
    rows, _, inverse = compress(*(a.reshape(-1) for a in arrays))
    return np.asarray(fn(*rows.T), float)[inverse].reshape(arrays[0].shape)


def bgnbd_conditional_expected(params, t, x, tx, T):
    """E[X(T, T+t) | x, tx, T] for BG/NBD (FHL 2005, eq. 10), lifetimes' expression term by term.

    The same arithmetic as ``BetaGeoFitter.conditional_expected_number_of_purchases_up_to_time``
    (so the same numbers), but the Gaussian hypergeometric term, which depends on (x, T, t) only,
    is evaluated once per distinct (x, T, t), and its fallback (Euler's transformation) only where
    the direct series overflows, instead of twice everywhere.
    """
    r, alpha, a, b = (float(v) for v in params)
    x, tx, T, t = (np.asarray(v, float) for v in (x, tx, T, t))

    def ln_hyp(x, T, t):
        _a, _b, _c = r + x, b + x, a + b + x - 1
        _z = t / (alpha + T + t)
        with np.errstate(all="ignore"):
            out = np.log(hyp2f1(_a, _b, _c, _z))
            bad = np.isinf(out)
            if bad.any():
                _a, _b, _c, _z = (np.broadcast_to(v, out.shape)[bad] for v in (_a, _b, _c, _z))
                out[bad] = np.log(hyp2f1(_c - _a, _c - _b, _c, _z)) + (_c - _a - _b) * np.log(1 - _z)
        return out

    ln_hyp_term = _hyp_by_distinct(ln_hyp, x, T, t)
    with np.errstate(all="ignore"):
        first_term = (a + b + x - 1) / (a - 1)
        second_term = 1 - np.exp(ln_hyp_term + (r + x) * np.log((alpha + T) / (alpha + t + T)))
        numerator = first_term * second_term
        denominator = 1 + (x > 0) * (a / (b + x - 1)) * ((alpha + T) / (alpha + tx)) ** (r + x)
        return numerator / denominator


def mbgnbd_conditional_expected(params, t, x, tx, T):
    """E[X(T, T+t) | x, tx, T] for MBG/NBD, lifetimes' expression with the 2F1 term evaluated once
    per distinct (x, T, t)."""
    r, alpha, a, b = (float(v) for v in params)
    x, tx, T, t = (np.asarray(v, float) for v in (x, tx, T, t))
    hyp_term = _hyp_by_distinct(lambda x, T, t: hyp2f1(r + x, b + x + 1, a + b + x, t / (alpha + T + t)), x, T, t)
    with np.errstate(all="ignore"):
        first_term = (a + b + x) / (a - 1)
        second_term = 1 - hyp_term * ((alpha + T) / (alpha + t + T)) ** (r + x)
        numerator = first_term * second_term
        denominator = 1 + (a / (b + x)) * ((alpha + T) / (alpha + tx)) ** (r + x)
        return numerator / denominator


def _lifetimes_fitter(model, params):
    import pandas as pd

    lt = lifetimes_fitters()
    fitter = {"bgnbd": lt.BetaGeoFitter, "mbgnbd": lt.ModifiedBetaGeoFitter}[model]()
    fitter.params_ = pd.Series(dict(zip(PURCHASE_PARAMS[model], map(float, params))))
    return fitter


# --- dispatch ---------------------------------------------------------------------------------


def loglik(model, params, x, tx, T):
    """Per-customer log-likelihood (in the model's time unit)."""
    return {"bgnbd": bgnbd_loglik, "mbgnbd": mbgnbd_loglik, "paretonbd": pareto_loglik}[model](
        params, x, tx, T
    )


def p_alive(model, params, x, tx, T):
    if model == "paretonbd":
        return pareto_p_alive(params, x, tx, T)
    x, tx, T = (np.asarray(v, float) for v in (x, tx, T))
    out = _lifetimes_fitter(model, params).conditional_probability_alive(x, tx, T)
    return np.asarray(out, float).reshape(np.broadcast(x, tx, T).shape)


def conditional_expected(model, params, t, x, tx, T):
    """Expected number of repeat purchases in (T, T + t] given the history."""
    if model == "paretonbd":
        return pareto_conditional_expected(params, t, x, tx, T)
    # lifetimes' closed forms, re-expressed to evaluate 2F1 once per distinct (x, T, t)
    fn = bgnbd_conditional_expected if model == "bgnbd" else mbgnbd_conditional_expected
    return fn(params, t, x, tx, T)


def expected(model, params, t):
    """Expected number of repeat purchases in (0, t] for a new customer."""
    t = np.asarray(t, float)
    if model == "paretonbd":
        return pareto_expected(params, t)
    return np.asarray(_lifetimes_fitter(model, params).expected_number_of_purchases_up_to_time(t), float)


def pmf(model, params, n, t):
    """P(X(t) = n) for a new customer (vectorised over t)."""
    t = np.asarray(t, float)
    if model == "paretonbd":
        return pareto_pmf(params, n, t)
    r, alpha, a, b = params
    with np.errstate(divide="ignore"):
        log_nbd = lambda j: (gammaln(r + j) - gammaln(r) - gammaln(j + 1) + r * np.log(alpha / (alpha + t))  # noqa: E731
                             + j * np.log(t / (alpha + t)))
    if model == "bgnbd":
        # FHL (2005) eq. 8
        first = np.exp(betaln(a, b + n) - betaln(a, b) + log_nbd(n))
        if n == 0:
            return first
        cdf = sum(np.exp(log_nbd(j)) for j in range(n))
        return first + np.exp(betaln(a + 1, b + n - 1) - betaln(a, b)) * (1.0 - cdf)
    # MBG/NBD: dropout possible at time 0 as well (Batislam et al. 2007, eq. 8)
    first = np.exp(betaln(a, b + n + 1) - betaln(a, b) + log_nbd(n))
    cdf = sum(np.exp(log_nbd(j)) for j in range(n)) if n > 0 else 0.0
    return first + np.exp(betaln(a + 1, b + n) - betaln(a, b)) * (1.0 - cdf)


def gamma_gamma_loglik(params, x, m):
    p, q, v = params
    x = np.asarray(x, float)
    return (gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(v) + (p * x - 1) * np.log(m)
            + p * x * np.log(x) - (p * x + q) * np.log(x * m + v))


def expected_spend(params, x, m):
    """E[mean spend | x, m] (note 025, eq. 5); the population mean p v / (q - 1) when x = 0."""
    p, q, v = params
    x = np.asarray(x, float)
    m = np.where(x > 0, np.asarray(m, float), 0.0)
    return (p * v + p * x * m) / (p * x + q - 1.0)


# --- objectives with analytic gradients (the fast fitting engine) --------------------------------
#
# The objective is lifetimes' own: the weighted mean negative log-likelihood plus
# ``penalizer * sum(params**2)``, as a function of the log-parameters (times rescaled by the
# caller so that max T = 1). Every term that depends on the data only through the frequency (or
# only through T) is evaluated once per distinct value and summed with the aggregated weights, so
# the per-row work is a handful of array operations; the gradient is exact (chain rule by hand).


def _dot(u, v):
    """Sum of products without BLAS (a threaded BLAS dot is ~100x slower on a busy machine)."""
    return np.einsum("i,i->", u, v)


def _distinct(values):
    uniq, inverse = np.unique(np.asarray(values, float), return_inverse=True)
    return uniq, inverse.reshape(-1)


class _Objective:
    penalizer: float
    total: float

    def loglik(self, params):
        """Total (weighted, unpenalised) log-likelihood at natural ``params``."""
        penalizer, self.penalizer = self.penalizer, 0.0
        try:
            return -self(np.log(np.asarray(params, float)), gradient=False)[0] * self.total
        finally:
            self.penalizer = penalizer


class _PurchaseObjective(_Objective):
    """``f(log_params) -> (value, gradient)`` of the BG/NBD or MBG/NBD objective on weighted rows."""

    def __init__(self, model, x, tx, T, w, penalizer):
        if model not in ("bgnbd", "mbgnbd"):
            raise ValueError(f"no analytic objective for {model!r}")
        x, tx, T, w = (np.asarray(v, float).reshape(-1) for v in (x, tx, T, w))
        self.model, self.penalizer, self.total = model, float(penalizer), float(w.sum())
        self.ux, xi = _distinct(x)
        self.Wx = np.bincount(xi, weights=w, minlength=len(self.ux))  # weight per distinct frequency
        # BG/NBD: customers with x = 0 only contribute -(r) log(alpha + T): aggregate them by T
        rows = x > 0 if model == "bgnbd" else np.ones(len(x), bool)
        uT0, Ti0 = _distinct(T[~rows])
        self.uT0, self.WT0 = uT0, np.bincount(Ti0, weights=w[~rows], minlength=len(uT0))
        self.x, self.w = x[rows], w[rows]
        self.uT, self.Ti = _distinct(T[rows])
        self.utx, self.txi = _distinct(tx[rows])
        self.xi = np.searchsorted(self.ux, self.x)

    def __call__(self, log_params, gradient=True):
        from scipy.special import digamma, expit

        log_params = np.asarray(log_params, float)
        params = np.exp(log_params)
        r, alpha, a, b = params
        ux, Wx, w = self.ux, self.Wx, self.w
        bgnbd = self.model == "bgnbd"
        shift = 0.0 if bgnbd else 1.0  # MBG/NBD: b + x + 1 and a + b + x + 1
        with np.errstate(all="ignore"):
            # terms in the frequency only: A_1 + A_2
            g_rx, g_bx, g_abx = gammaln(r + ux), gammaln(b + ux + shift), gammaln(a + b + ux + shift)
            a12 = (g_rx - gammaln(r) + r * np.log(alpha) + gammaln(a + b) + g_bx - gammaln(b) - g_abx)
            total = _dot(Wx, a12)
            lT = np.log(alpha + self.uT)[self.Ti]
            ltx = np.log(alpha + self.utx)[self.txi]
            rx = r + self.x
            if not gradient:
                if len(self.uT0):
                    total -= r * _dot(self.WT0, np.log(alpha + self.uT0))
                if bgnbd:
                    c4 = (np.log(a) - np.log(b + ux - 1.0))[self.xi]
                    total += _dot(w, np.logaddexp(-rx * lT, c4 - rx * ltx))
                else:
                    c4 = (np.log(a) - np.log(b + ux))[self.xi]
                    total += _dot(w, np.logaddexp(c4 + rx * (lT - ltx), 0.0) - rx * lT)
                return -total / self.total + self.penalizer * np.sum(params**2), None
            d_rx, d_bx, d_abx = digamma(r + ux), digamma(b + ux + shift), digamma(a + b + ux + shift)
            d_ab = digamma(a + b)
            grad = np.array([
                _dot(Wx, d_rx - digamma(r) + np.log(alpha)),
                Wx.sum() * r / alpha,
                _dot(Wx, d_ab - d_abx),
                _dot(Wx, d_ab + d_bx - digamma(b) - d_abx),
            ])
            # BG/NBD customers without repeat purchases: A_3 = -r log(alpha + T)
            if len(self.uT0):
                total -= r * _dot(self.WT0, np.log(alpha + self.uT0))
                grad[0] -= _dot(self.WT0, np.log(alpha + self.uT0))
                grad[1] -= r * _dot(self.WT0, 1.0 / (alpha + self.uT0))
            # the rest, row by row
            iT = (1.0 / (alpha + self.uT))[self.Ti]
            itx = (1.0 / (alpha + self.utx))[self.txi]
            if bgnbd:
                # log(exp(A_3) + exp(A_4)); A_4 = log a - log(b + x - 1) - (r + x) log(alpha + t_x)
                c4 = (np.log(a) - np.log(b + ux - 1.0))[self.xi]
                a3 = -rx * lT
                a4 = c4 - rx * ltx
                wp4 = w * expit(a4 - a3)  # w * exp(A_4) / (exp(A_3) + exp(A_4))
                total += _dot(w, np.logaddexp(a3, a4))
                grad[0] += _dot(wp4, lT - ltx) - _dot(w, lT)
                grad[1] += _dot(wp4 * rx, iT - itx) - _dot(w * rx, iT)
                grad[2] += wp4.sum() / a
                grad[3] -= _dot(wp4, 1.0 / (b + self.x - 1.0))
            else:
                # A_3 + log(1 + exp(A_4)); A_4 = log a - log(b + x) + (r + x) (log(alpha + T) - log(alpha + t_x))
                c4 = (np.log(a) - np.log(b + ux))[self.xi]
                a4 = c4 + rx * (lT - ltx)
                wp4 = w * expit(a4)  # w * exp(A_4) / (1 + exp(A_4))
                total += _dot(w, np.logaddexp(a4, 0.0) - rx * lT)
                grad[0] += _dot(wp4, lT - ltx) - _dot(w, lT)
                grad[1] += _dot(wp4 * rx, iT - itx) - _dot(w * rx, iT)
                grad[2] += wp4.sum() / a
                grad[3] -= _dot(wp4, 1.0 / (b + self.x))
            value = -total / self.total + self.penalizer * np.sum(params**2)
            gradient = -grad * params / self.total + 2.0 * self.penalizer * params**2
        return value, gradient


class _GammaGammaObjective(_Objective):
    """``f(log_params) -> (value, gradient)`` of lifetimes' Gamma-Gamma objective on weighted rows."""

    def __init__(self, x, m, w, penalizer):
        x, m, w = (np.asarray(v, float).reshape(-1) for v in (x, m, w))
        self.x, self.m, self.w, self.penalizer, self.total = x, m, w, float(penalizer), float(w.sum())
        with np.errstate(all="ignore"):
            self.xm, self.lm, self.lx = x * m, np.log(m), np.log(x)
        self.wx = w * x

    def __call__(self, log_params, gradient=True):
        from scipy.special import digamma

        log_params = np.asarray(log_params, float)
        params = np.exp(log_params)
        p, q, v = params
        x, w, wx = self.x, self.w, self.wx
        with np.errstate(all="ignore"):
            px = p * x
            lxmv = np.log(self.xm + v)
            ll = (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(v) + (px - 1.0) * self.lm
                  + px * self.lx - (px + q) * lxmv)
            if not gradient:
                return -_dot(w, ll) / self.total + self.penalizer * np.sum(params**2), None
            d_pxq = digamma(px + q)
            grad = np.array([
                _dot(wx, d_pxq - digamma(px) + self.lm + self.lx - lxmv),
                _dot(w, d_pxq - lxmv) + self.total * (np.log(v) - digamma(q)),
                self.total * q / v - _dot(w, (px + q) / (self.xm + v)),
            ])
            value = -_dot(w, ll) / self.total + self.penalizer * np.sum(params**2)
            gradient = -grad * params / self.total + 2.0 * self.penalizer * params**2
        return value, gradient


def purchase_objective(model, x, tx, T, w, penalizer=0.0):
    """lifetimes' BG/NBD or MBG/NBD objective with its exact gradient, in log-parameters."""
    return _PurchaseObjective(model, x, tx, T, w, penalizer)


def spend_objective(x, m, w, penalizer=0.0):
    """lifetimes' Gamma-Gamma objective with its exact gradient, in log-parameters."""
    return _GammaGammaObjective(x, m, w, penalizer)
