"""Gamma-Gamma: the mean spend per purchase, gamma-distributed around a customer's gamma-distributed mean.

Fitted on the repeat customers only (rows ``(x, m)``: repeat frequency, mean repeat spend > 0),
with lifetimes' objective and an analytic gradient.

References: Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves for customer base
analysis", *JMR* 42(4); Fader & Hardie (2013), "The Gamma-Gamma model of monetary value" (note 025).
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln

from ._base import Objective, SpendModel, penalty
from ._rows import dot

__all__ = ["GammaGamma"]


class GammaGamma(SpendModel):
    """Gamma-Gamma (note 025), parameters ``p, q, v``."""

    name = "gamma_gamma"
    params = ("p", "q", "v")
    time_params = frozenset({"v"})  # v is in money units: fitted on amounts divided by their mean
    lifetimes_fitter = "GammaGammaFitter"

    def loglik(self, params, x, m):
        p, q, v = params
        x = np.asarray(x, float)
        return (gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(v) + (p * x - 1) * np.log(m)
                + p * x * np.log(x) - (p * x + q) * np.log(x * m + v))

    def gradient_objective(self, rows, w, penalizer):
        return GammaGammaObjective(*rows, w, penalizer)

    def expected_spend(self, params, x, m, fallback=np.nan):
        """E[mean spend | x, m] (note 025, eq. 5); the population mean p v / (q - 1) when x = 0.

        The posterior mean exists only where ``p x + q > 1``; elsewhere (q <= 1: a spend distribution
        without a finite mean) the value is ``fallback`` (CLVModel passes the observed mean spend of
        the repeat customers, and warns at fit time).
        """
        p, q, v = params
        x = np.asarray(x, float)
        m = np.where(x > 0, np.asarray(m, float), 0.0)
        den = p * x + q - 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(den > 0, (p * v + p * x * m) / den, fallback)

    def check_fit(self, params) -> str | None:
        q = params[1]
        if q <= 1:
            return (f"gamma_gamma fit: q = {q:.3g} <= 1, so the fitted spend distribution has no finite "
                    "mean and p*v/(q-1) is undefined: customers without repeat purchases (and any with "
                    "p*x + q <= 1) get the observed mean spend of the repeat customers instead. A few "
                    "extreme orders usually cause this: cap monetary_value (e.g. at its 99th "
                    "percentile) and refit.")
        return None


class GammaGammaObjective(Objective):
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
                return -dot(w, ll) / self.total + penalty(log_params, self.penalizer)[0], None
            d_pxq = digamma(px + q)
            grad = np.array([
                dot(wx, d_pxq - digamma(px) + self.lm + self.lx - lxmv),
                dot(w, d_pxq - lxmv) + self.total * (np.log(v) - digamma(q)),
                self.total * q / v - dot(w, (px + q) / (self.xm + v)),
            ])
            pen, pen_grad = penalty(log_params, self.penalizer)
            value = -dot(w, ll) / self.total + pen
            gradient = -grad * params / self.total + pen_grad
        return value, gradient
