"""Exceptions and warnings raised by cohortkit."""

from __future__ import annotations

__all__ = ["DataError", "CohortkitWarning", "ConvergenceWarning"]


class DataError(ValueError):
    """Bad input data or arguments.

    The message always names the column or argument at fault, what was found, and how to fix it.
    It subclasses :class:`ValueError`, so ``except ValueError`` keeps working.
    """


class CohortkitWarning(UserWarning):
    """Base class for warnings issued by cohortkit."""


class ConvergenceWarning(CohortkitWarning):
    """A model fit is doubtful: the optimiser did not converge or a parameter sits on a bound."""
