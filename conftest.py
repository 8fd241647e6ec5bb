"""Fixtures shared by the tests in ``tests/`` and the doctests in ``cohortkit/``.

The language chosen by :func:`cohortkit.set_style` is process-wide state; a test or doctest
that picks Japanese must not change what the next one prints, whatever order pytest runs them in.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _restore_language():
    from cohortkit import style

    before = style._STATE["lang"]
    yield
    style._STATE["lang"] = before
