"""Money sums are identical run to run (parallel float sums are not; cohortkit sums as DECIMAL)."""

from __future__ import annotations

import pandas as pd

import cohortkit as ck


def test_cohort_table_is_bit_identical_across_runs(cdnow):
    runs = [ck.cohort_table(cdnow, amount_col="amount", time_unit="M") for _ in range(3)]
    for other in runs[1:]:
        pd.testing.assert_frame_equal(runs[0], other, check_exact=True)
    # and the exact total: the log's sum of cents
    assert round(runs[0]["revenue"].sum(), 2) == 2_500_315.63


def test_rfm_and_holdout_are_bit_identical_across_runs(cdnow):
    kwargs = dict(calibration_end="1997-09-30", observation_end="1998-06-30", amount_col="amount", time_unit="W")
    runs = [ck.calibration_holdout(cdnow, **kwargs) for _ in range(3)]
    for other in runs[1:]:
        pd.testing.assert_frame_equal(runs[0], other, check_exact=True)
