"""Bundled data sets, loaded offline.

* :func:`load_cdnow` — the real CDNOW transaction log used throughout the customer-base literature.
* :func:`load_shop` — a simulated marketing "shop" with known truth (see :mod:`cohortkit.simulate`).

The files live in ``data/`` at the top of the repository (and inside the wheel as
``cohortkit/_data``); nothing is ever downloaded.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
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
    for argument, value in (("sample", sample), ("pseudonymize", pseudonymize)):
        if not isinstance(value, (bool, np.bool_)):
            raise DataError(f"{argument}={value!r} must be True or False.")
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
    """Load the bundled simulated shop: six ad campaigns, ~20,000 customers, two years, known truth.

    A made-up online shop (yen, 2023-01-01 … 2024-12-31) generated by
    :func:`cohortkit.simulate.shop` with its defaults (seed 2024): daily campaign statistics, a web
    event log in which every click is a session, the customers those sessions converted, all their
    repeat purchases (BG/NBD with Gamma-Gamma spend, campaign-specific parameters), NPS answers, and
    the truth that generated them. The coupon/affiliate campaign has the best CTR and CVR but the
    least valuable customers; generic search, with a middling CTR, brings customers worth about five
    times more. ``make shop`` (``python -m cohortkit.simulate --write data/shop``) regenerates the
    files byte for byte; ``data/shop/README.md`` is the data dictionary. Licence: MIT (simulated,
    no personal data). Size: 4.8 MB of gzip-compressed CSV.

    Returns
    -------
    cohortkit.simulate.Shop
        ==================  ==========================================================================
        attribute           columns (rows)
        ==================  ==========================================================================
        ``campaigns``       date, campaign, channel, impressions, clicks, spend, conversions, revenue
                            (4,386: one per campaign and day)
        ``customers``       customer_id, campaign, channel, acquired_at (20,194)
        ``transactions``    customer_id, date, amount (49,916; first purchases included)
        ``events``          user_id, timestamp, event, campaign (480,100); ``user_id`` is the
                            ``customer_id`` for converting sessions, ``"V…"`` for other visitors
        ``nps``             customer_id, answered_at, score 0–10 (4,985)
        ``truth``           ``.campaigns`` (generating parameters, true 2-year value per customer)
                            and ``.customers`` (each customer's lambda, p, dropout time)
        ==================  ==========================================================================

    Examples
    --------
    >>> shop = load_shop()
    >>> shop
    Shop(campaigns=4,386, customers=20,194, transactions=49,916, events=480,100, nps=4,985)
    >>> sorted(shop.customers["campaign"].unique())[:3]
    ['brand_search', 'clickbait_banner', 'coupon_affiliate']
    """
    from .simulate import read_shop

    return read_shop(data_path("shop"))
