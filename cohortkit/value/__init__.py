"""LTV-adjusted ad value, budget what-ifs, KPI trees and lead scoring.

Judge an ad by the customers it brings ("the ad that brought customers who stay is the good ad"):

* :func:`ad_value` — per campaign: spend, CTR, CVR, CPA, first-order ROAS, realised and predicted
  customer value, **LTV-ROAS**, **LTV:CAC**, payback period, allowable CPA and ranks.
* :func:`value_curve` — cumulative revenue / margin per acquired customer by time since acquisition
  (the curve behind the payback period).
* :func:`payback`, :func:`payback_curve` — when each campaign pays back: observed when the data shows
  it, projected by a fitted CLV model when it lies beyond the data, with intervals.
* :func:`customer_scores`, :func:`bidding_values` — a per-customer score table (P(alive), expected
  value, segment, campaign) and a conversion value per new customer for value-based bidding, each
  written to CSV/Parquet with ``path=``.
* :func:`rank_shift` — how each campaign's rank moves from one metric to another (CTR → LTV-ROAS).
* :func:`reallocate` — a fixed budget moved toward higher LTV-ROAS under constant or diminishing
  returns, within share bounds, with the expected change in customer value.
* :func:`kpi_tree` — a KGI / KSF / KPI tree with one-at-a-time sensitivities (tornado plot).
* :func:`lead_scores`, :func:`lead_funnel` — rule-based lead scoring, MQL flag, lead → MQL → SQL →
  deal funnel with conversion and time between stages.

Plots: :func:`cohortkit.plot.value_quadrant`, :func:`cohortkit.plot.rank_slope`,
:func:`cohortkit.plot.tornado`, :func:`cohortkit.plot.lead_funnel`.
"""

from __future__ import annotations

from ._ad_value import Economics, ad_value, value_curve
from ._kpi import kpi_tree
from ._payback import payback, payback_curve
from ._leads import DEFAULT_POINTS, lead_funnel, lead_scores
from ._reallocate import rank_shift, reallocate
from ._scores import SEGMENTS, bidding_values, customer_scores

__all__ = [
    "ad_value",
    "Economics",
    "value_curve",
    "payback",
    "payback_curve",
    "customer_scores",
    "bidding_values",
    "SEGMENTS",
    "rank_shift",
    "reallocate",
    "kpi_tree",
    "lead_scores",
    "lead_funnel",
    "DEFAULT_POINTS",
]
