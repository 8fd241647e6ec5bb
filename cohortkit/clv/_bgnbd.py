"""BG/NBD: Poisson purchases while alive, a coin flip after each purchase decides dropout.

Times are in the model's time unit: ``x`` is the repeat frequency, ``tx`` the recency, ``T`` the
age. The likelihood and its analytic gradient are cohortkit's (numpy/scipy.special); P(alive) is
lifetimes' expression in log space; the conditional (and unconditional) expectation is lifetimes'
expression with fewer 2F1 evaluations and a signed 2F1 where it is accurate, and the positive series
of :mod:`._expectation` where it is not, so it is finite for every valid input.

Reference: Fader, Hardie & Lee (2005), "Counting your customers the easy way: an alternative to the
Pareto/NBD model", *Marketing Science* 24(2), 275-284.
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, expit, gammaln, hyp2f1

from ._base import Objective, PurchaseModel, penalty
from ._expectation import EPS, CLOSED_FORM_RTOL, closed_form_condition, g_nudged, g_series
from ._rows import compress, distinct, dot

__all__ = ["BetaGeo"]


class BetaGeo(PurchaseModel):
    """BG/NBD (Fader, Hardie & Lee 2005), parameters ``r, alpha, a, b``."""

    name = "bgnbd"
    params = ("r", "alpha", "a", "b")
    time_params = frozenset({"alpha"})
    lifetimes_fitter = "BetaGeoFitter"

    def loglik(self, params, x, tx, T):
        r, alpha, a, b = params
        x = np.asarray(x, float)
        a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
        a3 = -(r + x) * np.log(alpha + T)
        with np.errstate(divide="ignore"):
            a4 = np.where(x > 0, np.log(a) - np.log(b + np.maximum(x, 1) - 1) - (r + x) * np.log(alpha + tx), -np.inf)
        return a1 + a2 + log_add_exp(a3, a4)

    def row_loglik(self, x, tx, T):
        return BetaGeoRowLoglik(x, tx, T)

    def gradient_objective(self, rows, w, penalizer):
        return BetaGeoObjective(*rows, w, penalizer)

    def _lifetimes_rows(self, rows):
        x, tx, T = rows
        return x.astype(int), tx, T

    # ---- predictions ---------------------------------------------------------------------------

    def p_alive(self, params, x, tx, T):
        """P(alive at T | x, tx, T) (Hardie's note 021), in log space: 1 when x = 0."""
        r, alpha, a, b = (float(v) for v in params)
        x, tx, T = np.broadcast_arrays(*(np.asarray(v, float) for v in (x, tx, T)))
        with np.errstate(all="ignore"):
            log_div = (r + x) * np.log1p((T - tx) / (alpha + tx)) + np.log(a) - np.log(b + np.maximum(x, 1) - 1)
            return np.where(x == 0, 1.0, expit(-log_div))

    def _beta(self, b, x):
        """The second Beta parameter of the posterior dropout probability: ``b + x``."""
        return b + x

    def expected(self, params, t):
        """E[X(t)] for a new customer (FHL 2005, eq. 9): the conditional expectation at x = T = 0."""
        t = np.asarray(t, float)
        return self.conditional_expected(params, t, np.zeros(t.shape), np.zeros(t.shape), np.zeros(t.shape))

    def conditional_expected(self, params, t, x, tx, T):
        """E[X(T, T+t) | x, tx, T] (FHL 2005, eq. 10), finite for every valid input.

        Where it is accurate (estimated relative rounding error below 1e-11: the CDNOW fits, for
        instance) this is lifetimes' arithmetic, term by term, with the Gaussian hypergeometric term
        evaluated once per distinct (x, T, t) and signed (lifetimes takes the logarithm of a 2F1
        that is negative when a + b + x < 1, giving NaN); elsewhere P(alive) times the positive
        series of :mod:`._expectation` (see there).
        """
        x, tx, T, t = (np.asarray(v, float) for v in (x, tx, T, t))
        value, cond = self._closed_form(params, t, x, tx, T)
        bad = ~(np.isfinite(value) & (cond * EPS < CLOSED_FORM_RTOL))
        if bad.any():
            value = np.array(value, float)
            value[bad] = self._stable(params, *(np.broadcast_to(v, value.shape)[bad] for v in (t, x, tx, T)))
        return value

    def _closed_form(self, params, t, x, tx, T):
        """lifetimes' expression (signed 2F1) and its condition number (see :mod:`._expectation`)."""
        r, alpha, a, b = (float(v) for v in params)

        def ln_hyp(x, T, t):
            return signed_log_hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))

        ln_hyp_term, sign = by_distinct(ln_hyp, x, T, t)
        with np.errstate(all="ignore"):
            log_ratio = (r + x) * np.log((alpha + T) / (alpha + t + T))
            ln_p = ln_hyp_term + log_ratio
            first_term = (a + b + x - 1) / (a - 1)
            second_term = 1 - sign * np.exp(ln_p)
            numerator = first_term * second_term
            denominator = 1 + (x > 0) * (a / (b + x - 1)) * ((alpha + T) / (alpha + tx)) ** (r + x)
            value = numerator / denominator
            cond = closed_form_condition(ln_hyp_term, log_ratio, sign)
        return value, cond

    def _stable(self, params, t, x, tx, T):
        """P(alive) * G by the positive series, or the nudged closed form where it needs too many terms."""
        r, alpha, a, b = (float(v) for v in params)
        g, ok = g_series(r + x, a, self._beta(b, x), t / (alpha + T + t), (alpha + T) / (alpha + T + t))
        pa = self.p_alive(params, x, tx, T)
        value = pa * g
        if not ok.all():
            rest = ~ok

            def closed(a_):
                v, _ = self._closed_form((r, alpha, a_, b), t[rest], x[rest], tx[rest], T[rest])
                return v

            value[rest] = g_nudged(closed, a)
        return value

    def pmf(self, params, n, t):
        """FHL (2005), eq. 8."""
        t = np.asarray(t, float)
        r, alpha, a, b = params
        log_p = nbd_log_pmf(r, alpha, t)
        first = np.exp(betaln(a, b + n) - betaln(a, b) + log_p(n))
        if n == 0:
            return first
        cdf = sum(np.exp(log_p(j)) for j in range(n))
        return first + np.exp(betaln(a + 1, b + n - 1) - betaln(a, b)) * (1.0 - cdf)


def log_add_exp(x, y):
    """``log(exp(x) + exp(y))``, elementwise: ``max + log1p(exp(-|x - y|))`` in whole-array steps
    (numpy's ``logaddexp`` branches per element and takes ~1.5x as long); -inf where both are."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    m = np.maximum(x, y)
    with np.errstate(invalid="ignore"):
        d = np.abs(x - y)
    np.negative(d, out=d)
    np.exp(d, out=d)
    np.log1p(d, out=d)
    d += m
    both = m == -np.inf
    if both.any():
        d[both] = -np.inf
    return d


def signed_log_hyp2f1(A, B, C, z):
    """``(log |2F1(A, B; C; z)|, sign)``; where the direct value overflows (a heavy buyer over a long
    horizon), Euler's transformation ``(1 - z)**(C - A - B) 2F1(C - A, C - B; C; z)`` in log space,
    as lifetimes does (its logarithm of a negative 2F1 is NaN; here the sign is kept)."""
    with np.errstate(all="ignore"):
        f = hyp2f1(A, B, C, z)
        out = np.log(np.abs(f))
        sign = np.sign(f)
        bad = np.isinf(out)
        if bad.any():
            A, B, C, z = (np.broadcast_to(v, out.shape)[bad] for v in (A, B, C, z))
            f2 = hyp2f1(C - A, C - B, C, z)
            out[bad] = np.log(np.abs(f2)) + (C - A - B) * np.log(1 - z)
            sign[bad] = np.sign(f2)
    return out, sign


def nbd_log_pmf(r, alpha, t):
    """``j -> log P(NBD count over (0, t] = j)`` (gamma-mixed Poisson with shape r, rate alpha)."""
    return lambda j: (gammaln(r + j) - gammaln(r) - gammaln(j + 1) + r * np.log(alpha / (alpha + t))
                      + j * np.log(t / (alpha + t)))


def by_distinct(fn, x, T, t):
    """``fn(x, T, t)`` (broadcast) evaluated once per distinct combination of the arguments.

    The common call has ``x, T`` per customer and ``t`` constant across customers (a scalar, or a
    column of horizons): then ``fn`` runs on the distinct (x, T) pairs only. ``fn`` may return a
    tuple of arrays: then so does this.
    """
    x, T = np.broadcast_arrays(np.asarray(x, float), np.asarray(T, float))
    t = np.asarray(t, float)
    trailing = t.shape[max(t.ndim - x.ndim, 0):]
    if all(d == 1 for d in trailing):
        lead = t.shape[: max(t.ndim - x.ndim, 0)]
        rows, _, inverse = compress(x.reshape(-1), T.reshape(-1))
        out = fn(rows[:, 0], rows[:, 1], t.reshape(lead + (1,)))

        def gather(v):
            return np.broadcast_to(np.asarray(v, float), lead + (len(rows),))[..., inverse].reshape(lead + x.shape)
    else:
        arrays = np.broadcast_arrays(x, T, t)
        rows, _, inverse = compress(*(a.reshape(-1) for a in arrays))
        out = fn(*rows.T)

        def gather(v):
            return np.asarray(v, float)[inverse].reshape(arrays[0].shape)
    return tuple(gather(v) for v in out) if isinstance(out, tuple) else gather(out)


class BetaGeoRowLoglik:
    """``BetaGeo().loglik(params, x, tx, T)`` for fixed rows, bit for bit, but faster when called often.

    The transcendental terms that depend on one column only (``gammaln(r + x)``,
    ``log(alpha + T)``, ...) are evaluated on that column's distinct values and gathered; every
    other operation is the one ``loglik`` performs, in the same order, so the result is identical.
    Used for the many evaluations of the Hessian. ``A_3`` depends on (x, T) only and ``A_4`` on
    (x, t_x) only: each is computed on the distinct pairs (a few thousand for a million customers)
    and gathered, so a row costs three gathers, a :func:`log_add_exp` and an addition.
    """

    def __init__(self, x, tx, T):
        self.x, self.tx, self.T = (np.asarray(v, float) for v in (x, tx, T))
        self.ux, self.xi = distinct(self.x)
        self.uT, self.Ti = distinct(self.T)
        self.utx, self.txi = distinct(self.tx)
        self.pos = self.x > 0
        self._pairs = None

    def _pair_index(self):
        """(x, T) and (x, t_x) pairs: for each, the frequency and time indices and each row's pair."""
        if self._pairs is None:
            xT, _, xT_row = compress(self.xi, self.Ti)
            xtx, _, xtx_row = compress(self.xi, self.txi)
            self._pairs = (xT[:, 0].astype(np.intp), xT[:, 1].astype(np.intp), xT_row,
                           xtx[:, 0].astype(np.intp), xtx[:, 1].astype(np.intp), xtx_row)
        return self._pairs

    def __call__(self, params):
        # the operations of ``loglik`` on the same numbers (logs on distinct times, gathered), so the
        # same bits
        r, alpha, a, b = params
        ux = self.ux
        xT_x, xT_T, xT_row, xtx_x, xtx_tx, xtx_row = self._pair_index()
        a1 = gammaln(r + ux) - gammaln(r) + r * np.log(alpha)
        a2 = gammaln(a + b) + gammaln(b + ux) - gammaln(b) - gammaln(a + b + ux)
        a3 = -(r + ux)[xT_x] * np.log(alpha + self.uT)[xT_T]
        with np.errstate(divide="ignore"):
            c4 = (np.log(a) - np.log(b + np.maximum(ux, 1) - 1))[xtx_x]
            a4 = np.where(ux[xtx_x] > 0, c4 - (r + ux)[xtx_x] * np.log(alpha + self.utx)[xtx_tx], -np.inf)
        return (a1 + a2)[self.xi] + log_add_exp(a3[xT_row], a4[xtx_row])

    def _per_row(self, params):
        r, alpha, a, b = params
        log_aT = np.log(alpha + self.uT)[self.Ti]
        log_atx = np.log(alpha + self.utx)[self.txi]
        return self._terms(r, alpha, a, b, log_aT, log_atx)

    def _terms(self, r, alpha, a, b, log_aT, log_atx):
        # every elementwise step of ``loglik`` that involves the frequency only is taken on its
        # distinct values and gathered: the same operations on the same numbers, so the same bits
        ux, xi = self.ux, self.xi
        a1 = gammaln(r + ux) - gammaln(r) + r * np.log(alpha)
        a2 = gammaln(a + b) + gammaln(b + ux) - gammaln(b) - gammaln(a + b + ux)
        a12 = (a1 + a2)[xi]
        rx = (r + ux)[xi]
        a3 = -rx * log_aT
        with np.errstate(divide="ignore"):
            c4 = (np.log(a) - np.log(b + np.maximum(ux, 1) - 1))[xi]
            a4 = np.where(self.pos, c4 - rx * log_atx, -np.inf)
        return a12 + log_add_exp(a3, a4)


class BetaGeoObjective(Objective):
    """``f(log_params) -> (value, gradient)`` of lifetimes' BG/NBD objective on weighted rows.

    The log-likelihood is ``A_1 + A_2 + log(exp(A_3) + exp(A_4))`` (FHL 2005, eq. 6) with
    ``A_1 + A_2`` a function of the frequency only. A customer without repeat purchases has
    ``A_4 = -inf``, so contributes ``A_3 = -r log(alpha + T)``: those rows are aggregated by ``T``.
    Subclasses (MBG/NBD) change :attr:`shift`, :attr:`dropout_shift` and :meth:`_row_by_row`.

    The rows computed one by one contribute ``A_3 + log(1 + exp(A_4 - A_3))``: the weighted sum of
    ``A_3 = -(r + x) log(alpha + T)`` is taken per distinct T, and ``A_4 - A_3 = log a - log(b + x - 1)
    + (r + x) (log(alpha + T) - log(alpha + t_x))`` needs the difference of logarithms on the distinct
    (t_x, T) pairs only, so each row costs a few multiply-adds, one ``expit`` and one ``logaddexp``.
    """

    #: added to ``b + x`` and ``a + b + x`` in ``A_2`` (MBG/NBD: 1)
    shift = 0.0
    #: added to ``b + x`` in ``A_4`` (BG/NBD: ``log a - log(b + x - 1)``; MBG/NBD: 0)
    dropout_shift = -1.0

    def __init__(self, x, tx, T, w, penalizer):
        x, tx, T, w = (np.asarray(v, float).reshape(-1) for v in (x, tx, T, w))
        self.penalizer, self.total = float(penalizer), float(w.sum())
        self.ux, xi = distinct(x)
        self.Wx = np.bincount(xi, weights=w, minlength=len(self.ux))  # weight per distinct frequency
        rows = self._row_by_row(x)
        uT0, Ti0 = distinct(T[~rows])
        self.uT0, self.WT0 = uT0, np.bincount(Ti0, weights=w[~rows], minlength=len(uT0))
        self.x, self.w = x[rows], w[rows]
        self.uT, self.Ti = distinct(T[rows])
        self.utx, self.txi = distinct(tx[rows])
        self.xi = np.searchsorted(self.ux, self.x)
        # the row-by-row terms in aggregated form: weights per distinct T (and times x), and the
        # distinct (tx, T) pairs, on which the differences log(alpha + T) - log(alpha + tx) and
        # 1 / (alpha + T) - 1 / (alpha + tx) are taken once
        self.WT = np.bincount(self.Ti, weights=self.w, minlength=len(self.uT))
        self.WxT = np.bincount(self.Ti, weights=self.w * self.x, minlength=len(self.uT))
        pairs, _, self.pi = compress(self.txi, self.Ti)
        self.p_tx, self.p_T = pairs[:, 0].astype(np.intp), pairs[:, 1].astype(np.intp)

    def _row_by_row(self, x):
        """Rows whose last term is computed row by row; the others contribute ``-r log(alpha + T)``."""
        return x > 0

    def __call__(self, log_params, gradient=True):
        from scipy.special import digamma

        log_params = np.asarray(log_params, float)
        params = np.exp(log_params)
        r, alpha, a, b = params
        ux, Wx = self.ux, self.Wx
        shift = self.shift
        with np.errstate(all="ignore"):
            # terms in the frequency only: A_1 + A_2
            g_rx, g_bx, g_abx = gammaln(r + ux), gammaln(b + ux + shift), gammaln(a + b + ux + shift)
            a12 = (g_rx - gammaln(r) + r * np.log(alpha) + gammaln(a + b) + g_bx - gammaln(b) - g_abx)
            total = dot(Wx, a12)
            luT, lutx = np.log(alpha + self.uT), np.log(alpha + self.utx)
            if not gradient:
                if len(self.uT0):
                    total -= r * dot(self.WT0, np.log(alpha + self.uT0))
                total += self._tail_value(a, b, r, luT, lutx)
                return -total / self.total + penalty(log_params, self.penalizer)[0], None
            d_rx, d_bx, d_abx = digamma(r + ux), digamma(b + ux + shift), digamma(a + b + ux + shift)
            d_ab = digamma(a + b)
            grad = np.array([
                dot(Wx, d_rx - digamma(r) + np.log(alpha)),
                Wx.sum() * r / alpha,
                dot(Wx, d_ab - d_abx),
                dot(Wx, d_ab + d_bx - digamma(b) - d_abx),
            ])
            # customers without repeat purchases (BG/NBD): A_3 = -r log(alpha + T)
            if len(self.uT0):
                total -= r * dot(self.WT0, np.log(alpha + self.uT0))
                grad[0] -= dot(self.WT0, np.log(alpha + self.uT0))
                grad[1] -= r * dot(self.WT0, 1.0 / (alpha + self.uT0))
            # the rest, row by row
            tail, tail_grad = self._tail_value_and_gradient(a, b, r, alpha, luT, lutx)
            total += tail
            grad += tail_grad
            pen, pen_grad = penalty(log_params, self.penalizer)
            value = -total / self.total + pen
            gradient = -grad * params / self.total + pen_grad
        return value, gradient

    def _pair_differences(self, alpha, luT, lutx):
        """Per row: log(alpha + T) - log(alpha + tx) and 1 / (alpha + T) - 1 / (alpha + tx), taken on
        the distinct (tx, T) pairs and gathered."""
        d_log = (luT[self.p_T] - lutx[self.p_tx])[self.pi]
        d_inv = (1.0 / (alpha + self.uT[self.p_T]) - 1.0 / (alpha + self.utx[self.p_tx]))[self.pi]
        return d_log, d_inv

    def _a3(self, r, luT, alpha=None):
        """The weighted sum of A_3 = -(r + x) log(alpha + T) over the row-by-row rows, by distinct T
        (and its derivatives in r and alpha when ``alpha`` is given)."""
        value = -(r * dot(self.WT, luT) + dot(self.WxT, luT))
        if alpha is None:
            return value
        inv = 1.0 / (alpha + self.uT)
        return value, -dot(self.WT, luT), -(r * dot(self.WT, inv) + dot(self.WxT, inv))

    def _log_odds_offset(self, a, b):
        """``log a - log(b + x + dropout_shift)`` per distinct frequency (0 where it is not used)."""
        bx = b + self.ux + self.dropout_shift
        return np.log(a) - np.log(np.where(bx > 0, bx, 1.0)), np.divide(1.0, bx, out=np.zeros(len(bx)), where=bx > 0)

    def _tail_value(self, a, b, r, luT, lutx):
        """Weighted sum of log(exp(A_3) + exp(A_4)) = A_3 + log(1 + exp(A_4 - A_3)), with
        A_4 - A_3 = log a - log(b + x - 1) + (r + x) (log(alpha + T) - log(alpha + t_x))."""
        d_log = (luT[self.p_T] - lutx[self.p_tx])[self.pi]
        c4, _ = self._log_odds_offset(a, b)
        return self._a3(r, luT) + dot(self.w, np.logaddexp(c4[self.xi] + (r + self.ux)[self.xi] * d_log, 0.0))

    def _tail_value_and_gradient(self, a, b, r, alpha, luT, lutx):
        """:meth:`_tail_value` and its gradient in (r, alpha, a, b)."""
        from scipy.special import expit

        w = self.w
        d_log, d_inv = self._pair_differences(alpha, luT, lutx)
        rx = (r + self.ux)[self.xi]
        c4, inv_bx = self._log_odds_offset(a, b)
        d = c4[self.xi] + rx * d_log  # A_4 - A_3
        wp4 = w * expit(d)  # w * exp(A_4) / (exp(A_3) + exp(A_4))
        a3, a3_r, a3_alpha = self._a3(r, luT, alpha)
        value = a3 + dot(w, np.logaddexp(d, 0.0))
        wp4_x = np.bincount(self.xi, weights=wp4, minlength=len(self.ux))
        grad = np.array([
            a3_r + dot(wp4, d_log),
            a3_alpha + dot(wp4 * rx, d_inv),
            wp4_x.sum() / a,
            -dot(wp4_x, inv_bx),
        ])
        return value, grad
