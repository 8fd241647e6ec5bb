"""Likelihoods and closed-form predictions of the purchase and spend models (numpy/scipy).

Times are in the model's time unit. ``x`` is the repeat frequency, ``tx`` the recency, ``T`` the
age. BG/NBD and MBG/NBD predictions delegate to ``lifetimes`` (imported lazily); the Pareto/NBD
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
           "expected", "pmf", "expected_spend"]

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
    x, tx, T = (np.asarray(v, float) for v in (x, tx, T))
    fitter = _lifetimes_fitter(model, params)
    with np.errstate(all="ignore"):
        return np.asarray(fitter.conditional_expected_number_of_purchases_up_to_time(t, x, tx, T), float)


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
