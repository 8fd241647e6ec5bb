"""The module path ``cohortkit.funnel``, kept for ``from cohortkit.funnel import funnel, funnel_from_counts``.

The funnel code lives in :mod:`cohortkit.funnels`. The *name* ``cohortkit.funnel`` is the function
:func:`cohortkit.funnels.funnel` (``ck.funnel(events, steps, ...)``); this module only re-exports the
two functions so that imports written against the old module keep working. It is not callable.

Python binds a submodule to its name in the parent package when the submodule is first loaded, which
would replace the function ``cohortkit.funnel`` with this module. ``cohortkit/__init__.py`` therefore
loads this module once, while the package itself is imported, and removes that binding; a later
``import cohortkit.funnel`` finds the module already loaded and binds nothing. To stay that cheap it
imports nothing itself: the two names are looked up in :mod:`cohortkit.funnels` on first use.

Examples
--------
>>> import cohortkit as ck
>>> from cohortkit.funnel import funnel, funnel_from_counts
>>> funnel is ck.funnel and funnel_from_counts is ck.funnel_from_counts
True
"""

from __future__ import annotations

__all__ = ["funnel", "funnel_from_counts"]


def __getattr__(name: str):
    if name in __all__:
        from . import funnels

        return getattr(funnels, name)
    raise AttributeError(f"module 'cohortkit.funnel' has no attribute {name!r}")


def __dir__():
    return __all__
