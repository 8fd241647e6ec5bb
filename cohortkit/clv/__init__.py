"""Customer lifetime value: RFM summaries, "buy till you die" models, Gamma-Gamma spend, intervals.

* :func:`rfm_summary`, :func:`calibration_holdout` — per-customer tables, one Ibis expression each.
* :class:`CLVModel` — BG/NBD, MBG/NBD or Pareto/NBD purchases plus Gamma-Gamma spend, fitted on the
  unique (frequency, recency, T) rows with counts as weights; predictions in explicit time units.
  Each model is a class in its own file (``_bgnbd``, ``_mbgnbd``, ``_paretonbd``, ``_gamma_gamma``,
  on the base classes of ``_base``), found by name in ``_registry``; ``_fit`` fits any of them.
* :func:`scorecard`, :func:`backtest` — how good an early read is: a holdout scorecard, and fits at
  several cut dates with the ranking of the campaigns at each (``_backtest``).
* :func:`clv_interval` — bootstrap interval of a group's mean CLV.
* :func:`tracking_table`, :func:`period_transactions`, :func:`calibration_holdout_table`,
  :func:`p_alive_matrix` — the tables behind the diagnostics plots in :mod:`cohortkit.plot`.

``lifetimes`` (the model engine) and ``scipy`` are imported on first use, never by ``import cohortkit``.
"""

from __future__ import annotations

from ._backtest import backtest, scorecard
from ._diagnostics import calibration_holdout_table, p_alive_matrix, period_transactions, tracking_table
from ._model import CLVModel, clv_interval, per_period_rate
from ._summary import calibration_holdout, rfm_summary

__all__ = [
    "rfm_summary",
    "calibration_holdout",
    "CLVModel",
    "clv_interval",
    "per_period_rate",
    "period_transactions",
    "calibration_holdout_table",
    "tracking_table",
    "p_alive_matrix",
    "scorecard",
    "backtest",
]
