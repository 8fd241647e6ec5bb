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
    integer key (mixed radix, so the keys sort as the rows do). When the key space is small (a few
    times the number of rows: the usual day-level summary) the distinct keys are found by counting
    (``np.bincount``); otherwise by one more sorted factorize; and in the rare case that the key
    space overflows 64 bits, by re-ranking after each column (1M rows: 6 s with ``np.unique``, 0.03 s).
    """
    import pandas as pd

    # Series.to_numpy first: np.asarray(Series) probes attributes that pandas looks up in the index
    cols = [np.asarray(c.to_numpy() if hasattr(c, "to_numpy") else c, float).reshape(-1) for c in columns]
    n = len(cols[0]) if cols else 0
    ranked = [_rank(col) for col in cols]
    sizes = [max(len(uniq), 1) for _, uniq in ranked]
    space = 1
    for size in sizes:
        space *= size
    if space < 2**62:
        key = np.zeros(n, np.int64)
        for ranks, _ in ranked:
            key *= max(len(_), 1)
            key += ranks
        if space <= max(4 * n, 1 << 20):
            present = np.bincount(key, minlength=space)
            keys = np.flatnonzero(present)
            lookup = np.empty(space, np.intp)  # only the present keys are ever read
            lookup[keys] = np.arange(len(keys))
            codes, counts = lookup[key], present[keys]
        else:
            codes, keys = pd.factorize(key, sort=True)
            counts = np.bincount(codes, minlength=len(keys))
        rows = np.empty((len(keys), len(cols)))
        rest = np.asarray(keys, np.int64)
        for j in range(len(cols) - 1, -1, -1):
            rest, digit = np.divmod(rest, sizes[j])
            rows[:, j] = ranked[j][1][digit]
        return rows, counts.astype(float), codes.astype(np.intp)
    stacked = np.column_stack(cols)
    codes = np.zeros(n, np.int64)
    for ranks, uniq in ranked:
        codes, _ = pd.factorize(codes * len(uniq) + ranks, sort=True)
    counts = np.bincount(codes)
    rows = np.empty((len(counts), stacked.shape[1]))
    rows[codes] = stacked  # every duplicate writes the same values
    return rows, counts.astype(float), codes.astype(np.intp)


def _rank(col):
    """``(ranks, sorted distinct values)`` of a column, as ``pandas.factorize(sort=True)`` gives them
    (NaN its own, last, value); a column of small whole numbers (a frequency) by counting instead."""
    import pandas as pd

    if len(col) and 0.0 <= col.min() and col.max() < 1 << 20:  # NaN fails both comparisons
        whole = col.astype(np.int64)
        if np.array_equal(whole, col):
            present = np.bincount(whole)
            uniq = np.flatnonzero(present)
            lookup = np.empty(len(present), np.int64)
            lookup[uniq] = np.arange(len(uniq))
            return lookup[whole], uniq.astype(float)
    return pd.factorize(col, sort=True, use_na_sentinel=False)


def distinct(values):
    """Sorted distinct values of a column and the index of each value among them (as
    ``np.unique(values, return_inverse=True)``, by hashing or counting instead of sorting)."""
    values = np.asarray(values, float).reshape(-1)
    if np.isnan(values).any():  # np.unique's rules for NaN
        uniq, inverse = np.unique(values, return_inverse=True)
        return uniq, inverse.reshape(-1)
    ranks, uniq = _rank(values)
    return np.asarray(uniq, float), np.asarray(ranks, np.intp)


def dot(u, v):
    """Sum of products without BLAS (a threaded BLAS dot is ~100x slower on a busy machine)."""
    return np.einsum("i,i->", u, v)
