"""Plot helpers: each takes ``ax=None`` (a new figure when missing), returns the Axes, and passes
``**kwargs`` to matplotlib. Styling is applied only by :func:`cohortkit.set_style`, never at import.

The helpers live in one private module per topic (``_funnel``, ``_cohort``, ``_lifecycle``, ``_clv``,
``_value``); this package re-exports each module's ``__all__``, importing them on first use.
"""

from __future__ import annotations

import importlib
import pkgutil

_TOPICS = ("_funnel", "_cohort", "_lifecycle", "_clv", "_value")


def _available():
    present = {m.name for m in pkgutil.iter_modules(__path__)}
    return [name for name in _TOPICS if name in present]


def _exports() -> dict[str, str]:
    names = {}
    for module_name in _available():
        module = importlib.import_module(f".{module_name}", __name__)
        for public in module.__all__:
            names[public] = module_name
    return names


def __getattr__(name: str):
    exports = _exports()
    if name == "__all__":
        return sorted(exports)
    if name in exports:
        value = getattr(importlib.import_module(f".{exports[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cohortkit.plot' has no attribute {name!r}")


def __dir__():
    return sorted(_exports())
