"""Gamma-Gamma: the mean spend per purchase, gamma-distributed around a customer's gamma-distributed mean.

Fitted on the repeat customers only (rows ``(x, m)``: repeat frequency, mean repeat spend > 0),
with lifetimes' objective and an analytic gradient.

References: Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves for customer base
analysis", *JMR* 42(4); Fader & Hardie (2013), "The Gamma-Gamma model of monetary value" (note 025).
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln

from ._base import Objective, SpendModel
from ._rows import dot

__all__ = ["GammaGamma"]


class GammaGamma(SpendModel):
    """Gamma-Gamma (note 025), parameters ``p, q, v``."""

    name = "gamma_gamma"
    params = ("p", "q", "v")
    lifetimes_fitter = "GammaGammaFitter"

    def loglik(self, params, x, m):
        p, q, v = params
        x = np.asarray(x, float)
        return (gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(v) + (p * x - 1) * np.log(m)
                + p * x * np.log(x) - (p * x + q) * np.log(x * m + v))

    def gradient_objective(self, rows, w, penalizer):
        return GammaGammaObjective(*rows, w, penalizer)

    def expected_spend(self, params, x, m):
        """E[mean spend | x, m] (note 025, eq. 5); the population mean p v / (q - 1) when x = 0."""
        p, q, v = params
        x = np.asarray(x, float)
        m = np.where(x > 0, np.asarray(m, float), 0.0)
        return (p * v + p * x * m) / (p * x + q - 1.0)

    def check_fit(self, params) -> str | None:
        q = params[1]
        if q <= 1:
            return (f"gamma_gamma fit: q = {q:.3g} <= 1, so the expected spend p*v/(q-1) is "
                    "undefined; spend predictions will be NaN. Check monetary_value for outliers.")
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
                return -dot(w, ll) / self.total + self.penalizer * np.sum(params**2), None
            d_pxq = digamma(px + q)
            grad = np.array([
                dot(wx, d_pxq - digamma(px) + self.lm + self.lx - lxmv),
                dot(w, d_pxq - lxmv) + self.total * (np.log(v) - digamma(q)),
                self.total * q / v - dot(w, (px + q) / (self.xm + v)),
            ])
            value = -dot(w, ll) / self.total + self.penalizer * np.sum(params**2)
            gradient = -grad * params / self.total + 2.0 * self.penalizer * params**2
        return value, gradient
