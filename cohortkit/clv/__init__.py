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

``lifetimes`` (the model engine) and ``scipy`` are imported on first use of a model, never by ``import cohortkit``
or by the RFM summaries.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ._summary import calibration_holdout, rfm_summary

#: public name -> the submodule defining it, imported on first access: the RFM summary and the
#: calibration/holdout split need no scipy, so a data-preparation job does not load it (~20 MB of
#: memory and ~0.5 s of import time)
_LAZY = {
    "backtest": "_backtest",
    "scorecard": "_backtest",
    "calibration_holdout_table": "_diagnostics",
    "p_alive_matrix": "_diagnostics",
    "period_transactions": "_diagnostics",
    "tracking_table": "_diagnostics",
    "CLVModel": "_model",
    "clv_interval": "_model",
    "per_period_rate": "_model",
}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


if TYPE_CHECKING:  # pragma: no cover
    from ._backtest import backtest, scorecard
    from ._diagnostics import calibration_holdout_table, p_alive_matrix, period_transactions, tracking_table
    from ._model import CLVModel, clv_interval, per_period_rate

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
