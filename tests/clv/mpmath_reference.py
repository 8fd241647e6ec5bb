"""High-precision references (mpmath, 40 digits) for the CLV closed forms, independent of the code under test.

BG/NBD and MBG/NBD: FHL (2005) eq. 10 and its MBG/NBD analogue, ``P(alive) * G`` with
``G = c / (a - 1) * [1 - ((alpha + T) / (alpha + T + t))**s 2F1(s, beta; c; z)]`` (``s = r + x``,
``beta = b + x`` or ``b + x + 1``, ``c = a + beta - 1``, ``z = t / (alpha + T + t)``); at 40 digits
neither the cancellation nor a negative ``c`` matters. Where ``a = 1`` or ``c = 0`` exactly the
removable singularity is avoided with ``G = s k 3F2(1, s + 1, a; 2, a + beta; -k)``, ``k = t / (alpha + T)``.
:func:`bgnbd_by_quadrature` integrates the definition ``E_p[(1 - (1 + p k)**-s) / p]`` over the
posterior Beta(a, beta) instead, to check the reference itself.
"""

from __future__ import annotations

import mpmath as mp

DPS = 40


def _mpf(*values):
    return [mp.mpf(float(v)) for v in values]


def bgnbd_p_alive(params, x, tx, T, *, modified=False):
    with mp.workdps(DPS):
        r, alpha, a, b = _mpf(*params)
        x, tx, T = _mpf(x, tx, T)
        s = r + x
        if modified:
            return float(1 / (1 + a / (b + x) * ((alpha + T) / (alpha + tx)) ** s))
        if x == 0:
            return 1.0
        return float(1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + tx)) ** s))


def _g(params, t, x, T, modified):
    r, alpha, a, b = _mpf(*params)
    t, x, T = _mpf(t, x, T)
    s = r + x
    beta = b + x + (1 if modified else 0)
    c = a + beta - 1
    if a == 1 or c == 0:
        k = t / (alpha + T)
        return s * k * mp.hyp3f2(1, s + 1, a, 2, a + beta, -k)
    return c / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** s * mp.hyp2f1(s, beta, c, t / (alpha + T + t)))


def bgnbd_conditional_expected(params, t, x, tx, T, *, modified=False):
    """E[X(T, T + t) | x, tx, T] of BG/NBD (or MBG/NBD with ``modified=True``)."""
    with mp.workdps(DPS):
        return float(_g(params, t, x, T, modified) * bgnbd_p_alive(params, x, tx, T, modified=modified))


def bgnbd_by_quadrature(params, t, x, T, *, modified=False):
    """``G`` (the expectation of an alive customer) by integrating over the dropout probability p."""
    with mp.workdps(DPS):
        r, alpha, a, b = _mpf(*params)
        t, x, T = _mpf(t, x, T)
        s, beta, k = r + x, b + x + (1 if modified else 0), t / (alpha + T)
        half = mp.mpf(1) / 2

        def g(p):
            return -mp.expm1(-s * mp.log1p(p * k)) / p

        # p = u**(1/a) on (0, 1/2] and 1 - p = v**(1/beta) on [1/2, 1) take the endpoint singularities
        # p**(a - 1) and (1 - p)**(beta - 1) of the Beta density out of the integrands
        def low(u):
            p = u ** (1 / a)
            return g(p) * (1 - p) ** (beta - 1) / a

        def high(v):
            p = 1 - v ** (1 / beta)
            return g(p) * p ** (a - 1) / beta

        scale = 1 / (1 + k)  # g changes over p ~ 1 / k
        u_breaks = [0] + [min(scale * f, half) ** a for f in (mp.mpf(1) / 100, 1, 100)] + [half ** a]
        total = mp.quad(low, sorted(set(u_breaks))) + mp.quad(high, [0, half ** beta])
        return float(total / mp.beta(a, beta))


def paretonbd_p_alive_and_expected(params, t, x, tx, T):
    """Pareto/NBD P(alive) and E[X(T, T + t) | x, tx, T] (note 009, eqs. 11 and 41) by 40-digit quadrature."""
    with mp.workdps(DPS):
        r, alpha, s, beta = _mpf(*params)
        t, x, tx, T = _mpf(t, x, tx, T)
        alive = (alpha + T) ** -(r + x) * (beta + T) ** -s
        dead = s * mp.quad(lambda u: (alpha + u) ** -(r + x) * (beta + u) ** -(s + 1), [tx, T]) if T > tx else 0
        pa = alive / (alive + dead)
        y = (beta + T) / (beta + T + t)
        one_minus = -mp.log(y) if s == 1 else (1 - y ** (s - 1)) / (s - 1)
        return float(pa), float(pa * (r + x) * (beta + T) / (alpha + T) * one_minus)
