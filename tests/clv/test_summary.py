"""cohortkit.clv RFM summaries: rfm_summary and calibration_holdout vs lifetimes, brute force and the papers.

Published figures are from the CDNOW 1/10 sample (2,357 customers, weeks 1-39 calibration, 40-78
holdout): Fader, Hardie & Lee (2005), "Counting your customers the easy way: an alternative to the
Pareto/NBD model", Marketing Science 24(2).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from helpers import exact
from hypothesis import given
from hypothesis import strategies as st

from cohortkit import DataError
from cohortkit.clv import calibration_holdout, rfm_summary

CAL_END, HOLD_END = "1997-09-30", "1998-06-30"


def _lifetimes_summary(tx, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lifetimes.utils import summary_data_from_transaction_data

        return summary_data_from_transaction_data(tx, "customer_id", "date", **kwargs)


# --- rfm_summary ----------------------------------------------------------------------------------


def _compare(ours, ref, cols):
    ref = ref.reset_index()
    assert ours["customer_id"].tolist() == ref["customer_id"].tolist()
    for col in cols:
        if col == "monetary_value":
            np.testing.assert_allclose(ours[col], ref[col], rtol=1e-12, atol=1e-12)
        else:
            assert (ours[col].to_numpy(float) == ref[col].to_numpy(float)).all(), col


def test_rfm_summary_equals_lifetimes_in_days(cdnow_sample):
    ours = rfm_summary(cdnow_sample, amount_col="amount", observation_end=CAL_END, time_unit="D")
    ref = _lifetimes_summary(cdnow_sample, monetary_value_col="amount", observation_period_end=CAL_END, freq="D")
    _compare(ours, ref, ["frequency", "recency", "T", "monetary_value"])
    assert ours.attrs["time_unit"] == "D" and ours["frequency"].dtype == "int64"


def test_rfm_summary_in_weeks_is_days_over_7_like_the_papers(cdnow_sample):
    # merge same-day purchases, measure in weeks = days / 7: lifetimes' freq="D", freq_multiplier=7
    ours = rfm_summary(cdnow_sample, amount_col="amount", observation_end=CAL_END, time_unit="W")
    ref = _lifetimes_summary(cdnow_sample, monetary_value_col="amount", observation_period_end=CAL_END,
                             freq="D", freq_multiplier=7)
    _compare(ours, ref, ["frequency", "recency", "T", "monetary_value"])
    assert round(ours["T"].min(), 2) == 27.00 and round(ours["T"].max(), 2) == 38.86


def test_rfm_summary_full_cdnow_equals_lifetimes(cdnow):
    ours = rfm_summary(cdnow, amount_col="amount")
    ref = _lifetimes_summary(cdnow, monetary_value_col="amount", freq="D")
    _compare(ours, ref, ["frequency", "recency", "T", "monetary_value"])
    assert len(ours) == 23570


def test_weekly_merge_equals_lifetimes_freq_w(cdnow_sample):
    # 1998-06-28 is a Sunday, the end of an ISO week, so both sides see the same purchases
    ours = rfm_summary(cdnow_sample, observation_end="1998-06-28", time_unit="W", merge="W")
    ref = _lifetimes_summary(cdnow_sample, observation_period_end="1998-06-28", freq="W")
    _compare(ours, ref, ["frequency", "recency", "T"])


def _brute_force(tx, end, unit_days):
    tx = tx.assign(day=pd.to_datetime(tx["date"]).dt.normalize())
    tx = tx[tx["day"] <= pd.Timestamp(end)]
    rows = []
    for cust, g in tx.groupby("customer_id"):
        per_day = g.groupby("day")["amount"].sum().sort_index()
        days = list(per_day.index)
        rows.append({
            "customer_id": cust,
            "frequency": len(days) - 1,
            "recency": (days[-1] - days[0]).days / unit_days,
            "T": (pd.Timestamp(end) - days[0]).days / unit_days,
            "monetary_value": float(per_day.iloc[1:].mean()) if len(days) > 1 else 0.0,
        })
    return pd.DataFrame(rows).sort_values("customer_id").reset_index(drop=True)


@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 20 * 24 - 1), st.integers(1, 50)),
        min_size=1,
        max_size=25,
    ),
    st.sampled_from(["D", "W"]),
)
def test_rfm_summary_matches_brute_force(events, unit):
    # hourly timestamps: same-day merges, midnight crossings, purchases after observation_end
    start = pd.Timestamp("2024-03-01")
    tx = pd.DataFrame({
        "customer_id": [e[0] for e in events],
        "date": [start + pd.Timedelta(hours=e[1]) for e in events],
        "amount": [float(e[2]) for e in events],
    })
    end = "2024-03-15"
    expected = _brute_force(tx, end, {"D": 1, "W": 7}[unit])
    if expected.empty:
        return
    got = rfm_summary(tx, amount_col="amount", observation_end=end, time_unit=unit)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, check_exact=False, rtol=1e-12)


def test_rfm_summary_bad_unit():
    tx = pd.DataFrame({"customer_id": ["a"], "date": ["2024-01-01"]})
    msg = ("time_unit='M' is not a supported unit; pass 'D' (days) or 'W' (weeks of 7 days). "
           "Months are refused because their length varies.")
    with pytest.raises(DataError, match=exact(msg)):
        rfm_summary(tx, time_unit="M")


# --- calibration_holdout --------------------------------------------------------------------------


def test_calibration_holdout_reproduces_the_paper(cdnow_sample, cal):
    assert len(cal) == 2357
    assert int(cal["frequency_holdout"].sum()) == 1882  # FHL (2005): 1,882 repeat transactions, weeks 40-78
    assert int(cal["frequency"].sum()) == 2457
    assert (cal["frequency"] > 0).sum() == 946
    assert round(cal["T"].min(), 2) == 27.00 and round(cal["T"].max(), 2) == 38.86
    assert (cal["duration_holdout"] == 39.0).all()
    # the calibration columns are exactly rfm_summary at calibration_end
    alone = rfm_summary(cdnow_sample, amount_col="amount", observation_end=CAL_END, time_unit="W")
    pd.testing.assert_frame_equal(cal[alone.columns], alone)
    # holdout, brute force: distinct purchase days after calibration_end per customer
    days = cdnow_sample.assign(day=cdnow_sample["date"].dt.normalize())
    hold = days[(days["day"] > CAL_END) & (days["day"] <= HOLD_END)]
    per_day = hold.groupby(["customer_id", "day"])["amount"].sum()
    counts = per_day.groupby(level=0).size().reindex(cal["customer_id"], fill_value=0)
    assert (counts.to_numpy() == cal["frequency_holdout"].to_numpy()).all()
    means = per_day.groupby(level=0).mean().reindex(cal["customer_id"], fill_value=0.0)
    np.testing.assert_allclose(means.to_numpy(), cal["monetary_value_holdout"].to_numpy(), rtol=1e-12)


def test_weekly_merge_changes_the_figures(cdnow_sample):
    # shared/DOMAIN.md: merging by calendar week gives 1,788 holdout repeat transactions, not 1,882
    weekly = calibration_holdout(cdnow_sample, calibration_end=CAL_END, observation_end=HOLD_END,
                                 time_unit="W", merge="W")
    assert int(weekly["frequency_holdout"].sum()) == 1788


def test_lifetimes_calibration_and_holdout_fails_on_pandas3(cdnow_sample):
    # why cohortkit has its own: lifetimes 0.11.3's version breaks on pandas 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lifetimes.utils import calibration_and_holdout_data
    with pytest.raises(ValueError, match="No objects to concatenate"):
        calibration_and_holdout_data(cdnow_sample, "customer_id", "date", CAL_END, HOLD_END)


def test_calibration_holdout_refuses_empty_holdout(cdnow_sample):
    msg = ("observation_end (1997-09-30) must be after calibration_end (1997-09-30); the holdout "
           "period would be empty. Pass a later observation_end or an earlier calibration_end.")
    with pytest.raises(DataError, match=exact(msg)):
        calibration_holdout(cdnow_sample, calibration_end=CAL_END, observation_end=CAL_END)
