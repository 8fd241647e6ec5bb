"""Stable conditional expectation of the BG/NBD family (BG/NBD and MBG/NBD), for any valid input.

Both models predict ``E[X(T, T+t) | x, t_x, T] = P(alive) * G`` with

    G = (c / (a - 1)) * [1 - (1 + k)**-s * 2F1(s, beta; c; z)],
    s = r + x,  k = t / (alpha + T),  z = k / (1 + k),  c = a + beta - 1,

``beta = b + x`` (BG/NBD, FHL 2005 eq. 10) or ``b + x + 1`` (MBG/NBD). That closed form (lifetimes',
pymc-marketing's and CLVTools') breaks down in three places: ``c <= 0`` (a customer without repeat
purchases when ``a + b < 1``: the 2F1 is then negative and its logarithm NaN, which is what made
2,022 of 2,518 predictions NaN on three months of the bundled shop), ``a`` near 1 (0/0), and a short
horizon (``1 - (1 + k)**-s 2F1`` cancels). Where its estimated rounding error is above
:data:`CLOSED_FORM_RTOL`, ``G`` is summed instead from the probabilistic identity

    G = sum_{n >= 0} E[(1 - p)**n] * P(N >= n + 1) = sum_n (beta)_n / (a + beta)_n * I_z(n + 1, s),

(the (n+1)-th future purchase happens if the gamma-Poisson count over t reaches n + 1 and the customer
survived the n coin flips before it), a series of positive terms (no cancellation, no division by
``a - 1`` or ``c``) whose incomplete beta ``I_z`` is scipy's ``betaincc(s, n + 1, 1 - z)`` with
``1 - z = (alpha + T) / (alpha + T + t)`` computed directly. It needs about ``40 (1 + k)`` terms: when
that exceeds :data:`MAX_TERMS` (very long horizons, where the closed form is well conditioned except
for ``a`` within ~1e-8 of 1 or ``c`` within ~1e-8 of 0), the closed form is evaluated at ``a (1 +- h)``
and averaged (G is smooth in a).
"""

from __future__ import annotations

import numpy as np

__all__ = ["CLOSED_FORM_RTOL", "EPS", "MAX_TERMS", "closed_form_condition", "g_series", "g_nudged"]

#: the closed form is used where its estimated relative rounding error is below this
CLOSED_FORM_RTOL = 1e-11
#: at most this many terms of the positive series per value (then the nudged closed form)
MAX_TERMS = 200_000
EPS = np.finfo(float).eps
_CHUNK = 64


def closed_form_condition(ln_hyp, log_ratio, sign):
    """Relative rounding error (in units of eps) of ``1 - P``, ``P = sign * exp(ln_hyp + log_ratio)``.

    ``ln_hyp`` (the log of the 2F1) and ``log_ratio`` (``s log(1 - z)``) carry absolute errors of
    about eps times their size, and so ``P`` that relative error; ``1 - P`` amplifies an absolute
    error in ``P`` by ``|P| / |1 - P|``.
    """
    with np.errstate(all="ignore"):
        p = sign * np.exp(ln_hyp + log_ratio)
        return (4.0 + np.abs(ln_hyp) + np.abs(log_ratio)) * np.abs(p) / np.abs(1.0 - p)


def g_series(s, a, beta, z, w, max_terms=MAX_TERMS):
    """``G`` by the positive series, for 1-d arrays (broadcast) ``s, a, beta``, ``z`` and ``w = 1 - z``
    (both computed directly, so that the smaller one is accurate).

    Returns ``(G, converged)``; where not converged within ``max_terms`` the partial sum is returned.
    """
    from scipy.special import betaincc

    from scipy.special import betainc

    s, a, beta, z, w = (np.asarray(v, float).copy() for v in np.broadcast_arrays(s, a, beta, z, w))
    out = np.zeros(s.shape)
    done = np.zeros(s.shape, bool)
    log_surv = np.zeros(s.shape)  # log (beta)_n / (a + beta)_n at the start of the chunk
    inv_w = 1.0 / w  # (1 + k): the tail after term n is at most term_n * k (terms fall at ratio <= z)
    n0 = 0
    idx = np.arange(s.size)
    while n0 < max_terms and idx.size:
        n = n0 + np.arange(_CHUNK)[:, None]
        si, ai, bi, zi, wi = s[idx], a[idx], beta[idx], z[idx], w[idx]
        step = np.log((bi + n) / (ai + bi + n))  # log of (beta + n) / (a + beta + n)
        log_w = log_surv[idx] + np.vstack([np.zeros((1, idx.size)), np.cumsum(step[:-1], axis=0)])
        with np.errstate(all="ignore"):
            # I_z(n + 1, s) = 1 - I_w(s, n + 1): from whichever of z, w is the smaller (no cancellation)
            tail = np.where(zi < 0.5, betainc(n + 1.0, si, zi), betaincc(si, n + 1.0, wi))
            terms = np.exp(log_w) * tail
        terms = np.where(np.isfinite(terms), terms, 0.0)
        out[idx] += terms.sum(axis=0)
        log_surv[idx] = log_w[-1] + step[-1]
        last = terms[-1]
        finished = (last * inv_w[idx] <= 1e-17 * out[idx]) & (n0 + _CHUNK > si * (inv_w[idx] - 1.0))
        done[idx[finished]] = True
        idx = idx[~finished]
        n0 += _CHUNK
    return out, done


def g_nudged(closed_form, a, h=1e-6):
    """``G`` as the mean of the closed form at ``a (1 - h)`` and ``a (1 + h)`` (error ~ h**2 G'')."""
    return 0.5 * (closed_form(a * (1.0 - h)) + closed_form(a * (1.0 + h)))
