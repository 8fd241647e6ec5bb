"""Pseudonymise identifiers before results are shared.

Rendered notebooks travel: by e-mail, on an intranet, in a workshop. Customer ids in a shared report
should be pseudonymous — stable within an analysis (so joins and counts still work) but not
reversible without the secret salt. :func:`pseudonymize` replaces id columns with a keyed hash
(HMAC-SHA-256) of each value.

The salt comes from, in order: the ``salt`` argument, the ``COHORTKIT_SALT`` environment variable, or a
random salt drawn once per Python process (ids are then stable within the session but cannot be linked
across sessions).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from typing import Iterable

import pandas as pd

from ._errors import DataError

__all__ = ["pseudonymize"]

_SESSION_SALT: str | None = None


def _salt(salt: str | None) -> bytes:
    global _SESSION_SALT
    if salt is None:
        salt = os.environ.get("COHORTKIT_SALT")
    if salt is None:
        if _SESSION_SALT is None:
            _SESSION_SALT = secrets.token_hex(16)
        salt = _SESSION_SALT
    if not isinstance(salt, str) or not salt:
        raise DataError(
            f"salt={salt!r} is not usable; pass a non-empty string (keep it secret), or set the "
            "COHORTKIT_SALT environment variable."
        )
    return salt.encode("utf-8")


def pseudonymize(
    frame: pd.DataFrame,
    columns: str | Iterable[str],
    *,
    salt: str | None = None,
    prefix: str = "p",
    length: int = 12,
) -> pd.DataFrame:
    """Return a copy of ``frame`` with id columns replaced by salted hashes.

    Equal ids map to equal pseudonyms (within one salt), so customer counts, joins between tables
    pseudonymised with the same salt, and every cohortkit computation give the same results.
    Ids are hashed in their text form, as cohortkit's engine reads ids: ``17`` and ``"17"`` are the
    same id (and get the same pseudonym). Missing values stay missing.

    Parameters
    ----------
    frame : pandas.DataFrame
    columns : str or list of str
        The id columns to replace (e.g. ``"customer_id"``, or ``["user_id", "email"]``).
    salt : str, optional
        Secret key of the hash. Default: ``$COHORTKIT_SALT``, else a random per-process salt.
    prefix : str, default "p"
        Prefix of every pseudonym, so they are recognisable as such.
    length : int, default 12
        Hex characters kept from the hash (12 → 48 bits; collisions are checked and refused).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"customer_id": ["taro@example.jp", "hanako@example.jp", "taro@example.jp"],
    ...                    "amount": [10, 20, 30]})
    >>> out = pseudonymize(df, "customer_id", salt="s3cret")
    >>> out["customer_id"].tolist()
    ['p_f513f8985f85', 'p_283626a8f159', 'p_f513f8985f85']
    >>> int(out["amount"].sum()) == int(df["amount"].sum())
    True
    """
    if not isinstance(frame, pd.DataFrame):
        raise DataError(
            f"frame has type {type(frame).__name__}; pass a pandas DataFrame (for a Series, "
            "series.to_frame())."
        )
    if isinstance(columns, str):
        columns = [columns]
    if not isinstance(columns, Iterable) or not all(isinstance(c, str) for c in columns):
        raise DataError(
            f"columns={columns!r} is not a column name or a list of column names; pass e.g. "
            "columns='customer_id' or columns=['user_id', 'email']."
        )
    columns = list(columns)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        found = ", ".join(repr(c) for c in frame.columns)
        raise DataError(
            f"column {missing[0]!r} (columns) not found; the data has columns {found}. Pass the "
            "names of the id columns to pseudonymise."
        )
    if isinstance(length, bool) or not isinstance(length, int) or not 8 <= length <= 64:
        raise DataError(f"length={length!r} must be between 8 and 64 hex characters.")
    key = _salt(salt)
    out = frame.copy()
    for column in columns:
        values = out[column]
        texts = values.map(str, na_action="ignore")
        uniques = pd.unique(texts.dropna())
        mapping = {
            value: f"{prefix}_"
            + hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:length]
            for value in uniques
        }
        if len(set(mapping.values())) != len(mapping):
            raise DataError(
                f"column {column!r}: {len(mapping):,} ids collide at length={length}; pass a larger "
                "length."
            )
        out[column] = texts.map(mapping).astype("str").where(values.notna())
    return out
