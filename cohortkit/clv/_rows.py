"""Unique rows with counts: every CLV fit and prediction works on distinct (frequency, recency, T) rows.

Customers with the same history have the same likelihood and the same predictions, so the models are
fitted on the unique rows weighted by their counts and predictions are computed once per unique row.
"""

from __future__ import annotations

import numpy as np

__all__ = ["compress", "distinct", "dot"]


def compress(*columns):
    """Unique rows of the stacked columns, the counts, and the inverse index.

    The same result as ``np.unique(np.column_stack(columns), axis=0, return_inverse=True,
    return_counts=True)`` (rows in lexicographic order), but by hashing: each column is replaced
    by the rank of its value (``pandas.factorize(sort=True)``) and the ranks are combined into one
    integer key, re-ranked after each column so it stays below n**2 (6 s -> 0.15 s on 1M rows).
    """
    import pandas as pd

    # Series.to_numpy first: np.asarray(Series) probes attributes that pandas looks up in the index
    cols = [np.asarray(c.to_numpy() if hasattr(c, "to_numpy") else c, float).reshape(-1) for c in columns]
    stacked = np.column_stack(cols)
    codes = np.zeros(len(stacked), np.int64)
    for col in cols:
        ranks, uniq = pd.factorize(col, sort=True, use_na_sentinel=False)  # NaN: its own (last) value
        codes, _ = pd.factorize(codes * len(uniq) + ranks, sort=True)
    counts = np.bincount(codes)
    rows = np.empty((len(counts), stacked.shape[1]))
    rows[codes] = stacked  # every duplicate writes the same values
    return rows, counts.astype(float), codes.astype(np.intp)


def distinct(values):
    """Sorted distinct values of a column and the index of each value among them."""
    uniq, inverse = np.unique(np.asarray(values, float), return_inverse=True)
    return uniq, inverse.reshape(-1)


def dot(u, v):
    """Sum of products without BLAS (a threaded BLAS dot is ~100x slower on a busy machine)."""
    return np.einsum("i,i->", u, v)
