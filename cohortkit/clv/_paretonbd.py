"""Pareto/NBD: Poisson purchases while alive, an exponential lifetime, both rates gamma-distributed.

Times are in the model's time unit (``x`` repeat frequency, ``tx`` recency, ``T`` age). Every
expression is computed here in log space, because lifetimes' versions return NaN when the two
hypergeometric terms of ``A_0`` cancel (e.g. a frequent buyer who bought at the very end, x=170,
t_x=T on the full CDNOW log) and when ``s == 1``. The fit uses finite-difference gradients.

References: Schmittlein, Morrison & Colombo (1987), *Management Science* 33(1); Fader & Hardie
(2005), "A note on deriving the Pareto/NBD model and related expressions" (brucehardie.com note 009).
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln, hyp2f1

from ._base import PurchaseModel

__all__ = ["ParetoNBD"]

_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(96)


class ParetoNBD(PurchaseModel):
    """Pareto/NBD (Schmittlein et al. 1987), parameters ``r, alpha, s, beta``."""

    name = "paretonbd"
    params = ("r", "alpha", "s", "beta")
    time_params = frozenset({"alpha", "beta"})
    start = 0.0
    fit_tol = 1e-8

    def loglik(self, params, x, tx, T):
        c, alive, dead = _parts(params, x, tx, T)
        return c + np.logaddexp(alive, dead)

    def p_alive(self, params, x, tx, T):
        _, alive, dead = _parts(params, x, tx, T)
        return np.exp(alive - np.logaddexp(alive, dead))

    def conditional_expected(self, params, t, x, tx, T):
        """E[X(T, T+t) | x, tx, T] (note 009, eq. 41), continuous at s == 1."""
        r, alpha, s, beta = params
        x = np.asarray(x, float)
        pa = self.p_alive(params, x, tx, T)
        y = (beta + T) / (beta + T + t)
        return pa * (r + x) * (beta + T) / (alpha + T) * _one_minus_pow_over(y, s - 1.0)

    def expected(self, params, t):
        r, alpha, s, beta = params
        t = np.asarray(t, float)
        return r * beta / alpha * _one_minus_pow_over(beta / (beta + np.asarray(t, float)), s - 1.0)

    def pmf(self, params, n, t):
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


def _log_a0(r, alpha, s, beta, x, tx, T):
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
    bad = ~np.isfinite(out) & (tx < T)
    if bad.any():  # a 2F1 overflowed or underflowed (a heavy buyer over a very long T): log-space quadrature
        out = np.array(out, float)
        out[bad] = _log_a0_quadrature(r, alpha, s, beta, x[bad], tx[bad], T[bad])
    return np.where(tx >= T, -np.inf, out)


def _log_a0_quadrature(r, alpha, s, beta, x, tx, T):
    """log A_0 by 64-point Gauss-Legendre in log space, for the rows where the closed form overflows.

    With ``y = log((m + u) / (m + tx))`` (``m = min(alpha, beta)``) the integrand decays about like
    ``exp(-(R - 1) y)``, ``R = r + s + x + 1``; the further substitution ``q = 1 - exp(-(R - 1) y)``
    makes it nearly constant, and the sum is taken with logsumexp, so nothing overflows.
    """
    from scipy.special import logsumexp

    R1 = r + x + s  # R - 1
    m = min(alpha, beta)
    q_max = -np.expm1(-R1 * np.log1p((T - tx) / (m + tx)))
    q = 0.5 * q_max[:, None] * (_GL_NODES + 1.0)
    y = -np.log1p(-q) / R1[:, None]
    mu = (m + tx)[:, None] * np.exp(y)  # m + u
    log_f = -(r + x)[:, None] * np.log(alpha + mu - m) - (s + 1.0) * np.log(beta + mu - m)
    log_terms = log_f + np.log(mu) + R1[:, None] * y - np.log(R1)[:, None] + np.log(_GL_WEIGHTS)
    return np.log(r + s + x) + logsumexp(log_terms, axis=-1) + np.log(0.5 * q_max)


def _parts(params, x, tx, T):
    """log of the common factor, of the "alive at T" term and of the "died in (tx, T]" term."""
    r, alpha, s, beta = params
    x = np.asarray(x, float)
    log_common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    log_alive_term = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    log_dead_term = np.log(s) - np.log(r + s + x) + _log_a0(r, alpha, s, beta, x, tx, T)
    return log_common, log_alive_term, log_dead_term


def _one_minus_pow_over(y, e):
    """(1 - y**e) / e, continuous at e == 0 (where it is -log y)."""
    ly = np.log(y)
    if abs(e) < 1e-12:
        return -ly
    return -np.expm1(e * ly) / e
