"""MBG/NBD: BG/NBD whose customers may also drop out at time 0, right after the first purchase.

The same parameters, fitting and lifetimes delegation as :mod:`._bgnbd`; the likelihood, its
gradient, the pmf and the conditional expectation differ by the extra dropout opportunity.

Reference: Batislam, Denizel & Filiztekin (2007), "Empirical validation and comparison of models for
customer base analysis", *IJRM* 24(3), 201-209.
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, expit, gammaln, hyp2f1

from ._bgnbd import (BetaGeo, BetaGeoObjective, BetaGeoRowLoglik, by_distinct, log_add_exp, nbd_log_pmf,
                     signed_log_hyp2f1)
from ._expectation import closed_form_condition

__all__ = ["ModifiedBetaGeo"]


class ModifiedBetaGeo(BetaGeo):
    """MBG/NBD (Batislam et al. 2007), parameters ``r, alpha, a, b``."""

    name = "mbgnbd"
    lifetimes_fitter = "ModifiedBetaGeoFitter"

    def loglik(self, params, x, tx, T):
        r, alpha, a, b = params
        x = np.asarray(x, float)
        a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        a2 = gammaln(a + b) + gammaln(b + x + 1) - gammaln(b) - gammaln(a + b + x + 1)
        a3 = -(r + x) * np.log(alpha + T)
        a4 = np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
        return a1 + a2 + a3 + log_add_exp(a4, 0.0)

    def row_loglik(self, x, tx, T):
        return ModifiedBetaGeoRowLoglik(x, tx, T)

    def gradient_objective(self, rows, w, penalizer):
        return ModifiedBetaGeoObjective(*rows, w, penalizer)

    def p_alive(self, params, x, tx, T):
        """P(alive at T | x, tx, T): ``1 / (1 + a / (b + x) ((alpha + T) / (alpha + tx))**(r + x))``, in log space."""
        r, alpha, a, b = (float(v) for v in params)
        x, tx, T = np.broadcast_arrays(*(np.asarray(v, float) for v in (x, tx, T)))
        with np.errstate(all="ignore"):
            return expit(-((r + x) * np.log1p((T - tx) / (alpha + tx)) + np.log(a) - np.log(b + x)))

    def _beta(self, b, x):
        """The second Beta parameter of the posterior dropout probability: ``b + x + 1``."""
        return b + x + 1

    def _closed_form(self, params, t, x, tx, T):
        """lifetimes' expression, the 2F1 term evaluated once per distinct (x, T, t), and its
        condition number (see :mod:`._expectation`)."""
        r, alpha, a, b = (float(v) for v in params)
        hyp_term = by_distinct(lambda x, T, t: hyp2f1(r + x, b + x + 1, a + b + x, t / (alpha + T + t)), x, T, t)
        with np.errstate(all="ignore"):
            log_ratio = (r + x) * np.log((alpha + T) / (alpha + t + T))
            first_term = (a + b + x) / (a - 1)
            second_term = 1 - hyp_term * ((alpha + T) / (alpha + t + T)) ** (r + x)
            ln_hyp, sign = np.log(np.abs(hyp_term)), np.sign(hyp_term)
            overflow = ~np.isfinite(second_term) | (hyp_term == 0)
            if np.any(overflow):  # the 2F1 overflows: Euler's form in log space
                ln_alt, sign_alt = by_distinct(
                    lambda x, T, t: signed_log_hyp2f1(r + x, b + x + 1, a + b + x, t / (alpha + T + t)), x, T, t)
                ln_hyp, sign = np.where(overflow, ln_alt, ln_hyp), np.where(overflow, sign_alt, sign)
                second_term = np.where(overflow, 1 - sign * np.exp(ln_hyp + log_ratio), second_term)
            numerator = first_term * second_term
            denominator = 1 + (a / (b + x)) * ((alpha + T) / (alpha + tx)) ** (r + x)
            value = numerator / denominator
            cond = closed_form_condition(ln_hyp, log_ratio, sign)
        return value, cond

    def pmf(self, params, n, t):
        """Batislam et al. (2007), eq. 8: dropout possible at time 0 as well."""
        t = np.asarray(t, float)
        r, alpha, a, b = params
        log_p = nbd_log_pmf(r, alpha, t)
        first = np.exp(betaln(a, b + n + 1) - betaln(a, b) + log_p(n))
        cdf = sum(np.exp(log_p(j)) for j in range(n)) if n > 0 else 0.0
        return first + np.exp(betaln(a + 1, b + n) - betaln(a, b)) * (1.0 - cdf)


class ModifiedBetaGeoRowLoglik(BetaGeoRowLoglik):
    """``ModifiedBetaGeo().loglik`` for fixed rows, bit for bit (see :class:`BetaGeoRowLoglik`; ``A_4``
    depends on the whole row here, so the terms are gathered per row)."""

    def __call__(self, params):
        return self._per_row(params)

    def _terms(self, r, alpha, a, b, log_aT, log_atx):
        # the steps in the frequency only on its distinct values, then gathered: the same bits
        ux, xi = self.ux, self.xi
        a1 = gammaln(r + ux) - gammaln(r) + r * np.log(alpha)
        a2 = gammaln(a + b) + gammaln(b + ux + 1) - gammaln(b) - gammaln(a + b + ux + 1)
        a12 = (a1 + a2)[xi]
        rx = (r + ux)[xi]
        a3 = -rx * log_aT
        a4 = (np.log(a) - np.log(b + ux))[xi] + rx * (log_aT - log_atx)
        return a12 + a3 + log_add_exp(a4, 0.0)


class ModifiedBetaGeoObjective(BetaGeoObjective):
    """lifetimes' MBG/NBD objective: ``A_1 + A_2 + A_3 + log(1 + exp(A_4))`` for every row (the
    BG/NBD code with :attr:`shift` and :attr:`dropout_shift`)."""

    shift = 1.0  # b + x + 1 and a + b + x + 1
    dropout_shift = 0.0  # A_4 = log a - log(b + x) + (r + x) (log(alpha + T) - log(alpha + t_x))

    def _row_by_row(self, x):
        return np.ones(len(x), bool)
