"""Bundled data sets, loaded offline.

* :func:`load_cdnow` — the real CDNOW transaction log used throughout the customer-base literature.
* :func:`load_shop` — a simulated marketing "shop" with known truth (see :mod:`cohortkit.simulate`).

The files live in ``data/`` at the top of the repository (and inside the wheel as
``cohortkit/_data``); nothing is ever downloaded.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ._errors import DataError

__all__ = ["load_cdnow", "load_shop", "data_path"]


def data_path(*parts: str) -> Path:
    """Path to a bundled data file, e.g. ``data_path("cdnow", "cdnow_master.csv")``.

    Looks inside the installed package first (``cohortkit/_data``, present in wheels) and then in the
    repository's ``data/`` folder (editable installs).

    Examples
    --------
    >>> data_path("cdnow", "cdnow_master.csv").name
    'cdnow_master.csv'
    """
    here = Path(__file__).resolve().parent
    for root in (here / "_data", here.parent / "data"):
        candidate = root.joinpath(*parts)
        if candidate.exists():
            return candidate
    raise DataError(
        f"bundled data file {'/'.join(parts)!r} was not found in {here / '_data'} or "
        f"{here.parent / 'data'}. Reinstall cohortkit from a full checkout (pip install -e .)."
    )


def load_cdnow(sample: bool = False, *, pseudonymize: bool = False, salt: str | None = None) -> pd.DataFrame:
    """Load the CDNOW transaction log (real data, offline).

    The CDNOW data set follows the 23,570 customers who made their first purchase at the online music
    retailer CDNOW in the first quarter of 1997, and records every purchase they made until the end
    of June 1998. It is the standard benchmark of the "buy till you die" literature: Fader, Hardie &
    Lee (2005), "Counting your customers the easy way: an alternative to the Pareto/NBD model",
    *Marketing Science* 24(2); and "RFM and CLV: using iso-value curves for customer base analysis",
    *Journal of Marketing Research* 42(4). The files were distributed by Bruce Hardie and are also
    shipped in the MIT-licensed ``lifetimes`` package (``CDNOW_master.txt``, ``CDNOW_sample.txt``);
    cohortkit ships a CSV conversion in ``data/cdnow/`` (see its README for provenance and checksums).

    Parameters
    ----------
    sample : bool, default False
        ``False``: the full log, 69,659 transactions by 23,570 customers.
        ``True``: the 1/10 sample used in the BG/NBD and Gamma-Gamma papers, 6,919 transactions by
        2,357 customers (customer ids are the master-file ids).
    pseudonymize : bool, default False
        Replace ``customer_id`` with a salted hash (see :func:`cohortkit.pseudonymize`), for reports
        that will be shared.
    salt : str, optional
        The secret salt for ``pseudonymize`` (default ``$COHORTKIT_SALT`` or a per-session salt).

    Returns
    -------
    pandas.DataFrame
        One row per transaction record, sorted by customer and date:

        ============  ==============  ==========================================================
        column        dtype           meaning
        ============  ==============  ==========================================================
        customer_id   str             zero-padded 5-digit customer id (``"00001"`` … ``"23570"``)
        date          datetime64      day of the purchase, 1997-01-01 … 1998-06-30
        quantity      int64           number of CDs bought
        amount        float64         dollar value of the purchase
        ============  ==============  ==========================================================

        A customer can have several records on the same day; the papers merge them into one
        transaction (``cohortkit.rfm_summary`` does that by default).

    Examples
    --------
    >>> tx = load_cdnow()
    >>> len(tx), tx["customer_id"].nunique()
    (69659, 23570)
    >>> tx["date"].min().date(), tx["date"].max().date()
    (datetime.date(1997, 1, 1), datetime.date(1998, 6, 30))
    >>> round(tx["amount"].sum(), 2)
    np.float64(2500315.63)
    """
    name = "cdnow_sample.csv" if sample else "cdnow_master.csv"
    frame = pd.read_csv(
        data_path("cdnow", name),
        dtype={"customer_id": "str", "quantity": "int64", "amount": "float64"},
        parse_dates=["date"],
    )
    frame["date"] = frame["date"].astype("datetime64[ns]")
    if pseudonymize:
        from .privacy import pseudonymize as _pseudonymize

        frame = _pseudonymize(frame, "customer_id", salt=salt)
    return frame


def load_shop():
    """Load the bundled simulated shop (about 20,000 customers over two years, with known truth).

    See :func:`cohortkit.simulate.shop` for what each table holds; the bundled instance is regenerated
    byte-for-byte by ``make shop``.
    """
    from .simulate import read_shop

    return read_shop(data_path("shop"))
