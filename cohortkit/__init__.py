"""cohortkit — post-conversion marketing analytics for notebooks.

Judge an ad by the customers it brings and keeps, not by its click-through rate: ad metrics with
intervals, funnels, acquisition cohorts and retention, customer lifetime value, and LTV-adjusted ad
value, computed on DuckDB (or any Ibis backend) and returned as pandas DataFrames.

Heavy modules (Ibis, lifetimes, matplotlib) are imported lazily, on first use of a name that needs
them, so ``import cohortkit`` stays fast.

Examples
--------
>>> import cohortkit as ck
>>> tx = ck.datasets.load_cdnow(sample=True)
>>> len(tx), tx["customer_id"].nunique()
(6919, 2357)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ._errors import CohortkitWarning, ConvergenceWarning, DataError

__version__ = "0.1.0"

# public name -> submodule that defines it (imported on first access)
_LAZY: dict[str, str] = {
    # metrics and funnels
    "rate": "metrics",
    "compare_rates": "metrics",
    "ad_metrics": "metrics",
    "nps": "metrics",
    "funnel_from_counts": "funnels",
    "funnel": "funnels",
    "funnel_dropoffs": "funnels",
    "funnel_paths": "funnels",
    # cohorts
    "cohort_table": "cohort",
    "cohort_matrix": "cohort",
    "repeat_rate": "cohort",
    "days_to_second_purchase": "cohort",
    # lifecycle states, growth accounting, RFM segments
    "lifecycle_table": "lifecycle",
    "growth_accounting": "lifecycle",
    "rfm_segments": "lifecycle",
    "rfm_segment_sizes": "lifecycle",
    # customer lifetime value
    "rfm_summary": "clv",
    "calibration_holdout": "clv",
    "CLVModel": "clv",
    "clv_interval": "clv",
    # ad value
    "ad_value": "value",
    "Economics": "value",
    "payback": "value",
    "payback_curve": "value",
    "rank_shift": "value",
    "reallocate": "value",
    "kpi_tree": "value",
    "lead_scores": "value",
    "value_curve": "value",
    # reading data
    "read_table": "io",
    "to_pandas": "_engine",
    # privacy
    "pseudonymize": "privacy",
    # style, glossary, one colour per campaign
    "set_style": "style",
    "glossary": "style",
    "campaign_palette": "style",
    # numbers for readers: ¥1,234 / 1,234円, 12.3 %, and displayed tables
    "style_table": "format",
}
_SUBMODULES = {
    "datasets",
    "simulate",
    "metrics",
    "funnels",
    "cohort",
    "lifecycle",
    "clv",
    "value",
    "plot",
    "style",
    "format",
    "workshop",
    "sources",
    "privacy",
    "io",
    "i18n",
}

__all__ = sorted(
    ["DataError", "CohortkitWarning", "ConvergenceWarning", "__version__", *_LAZY, *_SUBMODULES]
)


def __getattr__(name: str):
    if name in _SUBMODULES:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    if name in _LAZY:
        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cohortkit' has no attribute {name!r}")


def __dir__():
    return __all__


# `cohortkit.funnel` is the function (above); the old module path `cohortkit.funnel` is a thin alias
# module. Loading it here, once, and dropping the binding Python makes to it keeps a later
# `import cohortkit.funnel` from replacing the function with the module (see cohortkit/funnel.py).
importlib.import_module(".funnel", __name__)
del globals()["funnel"]


if TYPE_CHECKING:  # pragma: no cover - for static analysers only
    from . import clv, cohort, datasets, funnels, metrics, plot, simulate, style, value  # noqa: F401
