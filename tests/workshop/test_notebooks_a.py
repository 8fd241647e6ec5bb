"""Workshop checks added for notebooks 01–03: discount rate per period and Gamma-Gamma expected spend.

Expected values are compared with independent computations: hand-worked numbers, the library's own
``cohortkit.clv.per_period_rate``, a brute-force discounting of a daily stream, and ``lifetimes``'
``GammaGammaFitter.conditional_expected_average_profit`` (a second implementation, used only here).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cohortkit import DataError
from cohortkit import workshop as w
from cohortkit.clv import per_period_rate


def test_registered():
    names = set(w.exercises()["name"])
    assert {"per_period_rate", "expected_spend"} <= names
    for name in ("check_per_period_rate", "check_expected_spend"):
        assert name in w.__all__
        assert callable(getattr(w, name))


def test_per_period_rate_hand_worked():
    # 10 % a year: (1.1) ** (7 / 365.25) - 1 = 0.0018282... per week, 0.000260979... per day
    assert w.check_per_period_rate.expected(annual_rate=0.10, time_unit="W") == pytest.approx(0.00182828, rel=1e-5)
    assert w.check_per_period_rate.expected(annual_rate=0.10, time_unit="D") == pytest.approx(0.000260979, rel=1e-5)


@given(annual=st.floats(0.0, 0.5), unit=st.sampled_from(["D", "W"]))
def test_per_period_rate_matches_library(annual, unit):
    assert w.check_per_period_rate.expected(annual_rate=annual, time_unit=unit) == pytest.approx(
        per_period_rate(annual, unit), rel=1e-12, abs=1e-15
    )


@given(annual=st.floats(0.01, 0.5))
def test_per_period_rate_compounds_to_the_annual_rate(annual):
    # 365.25 days of daily compounding (a brute-force product) give back the annual rate
    daily = w.check_per_period_rate.expected(annual_rate=annual, time_unit="D")
    assert np.exp(365.25 * np.log1p(daily)) - 1 == pytest.approx(annual, rel=1e-9)


def test_per_period_rate_messages(capsys):
    assert w.check_per_period_rate(0.0018283, annual_rate=0.10, time_unit="W", lang="en")
    assert capsys.readouterr().out == "✅ Correct! discount rate per period = 0.00182828 (0.1828 %).\n"
    assert not w.check_per_period_rate(0.10 / 52, annual_rate=0.10, time_unit="W", lang="en")
    assert capsys.readouterr().out == (
        "❌ Not quite (your answer: 0.00192308). Hint: close, but dividing the annual rate ignores "
        "compounding: use (1 + annual) ** (days / 365.25) − 1.\n"
    )
    assert not w.check_per_period_rate(1.1 ** (1 / 12) - 1, annual_rate=0.10, time_unit="W", lang="ja")
    assert capsys.readouterr().out == (
        "❌ 不正解です（あなたの答え: 0.00797414）。ヒント: それは月あたりの割引率です。"
        "ここでの期間は月ではなく日または週です。\n"
    )
    assert not w.check_per_period_rate(0.18283, annual_rate=0.10, time_unit="W", lang="en")
    assert capsys.readouterr().out == (
        "❌ Your answer looks like a percentage (0.18283). Give the rate as a fraction, e.g. 0.0125 for 1.25 %.\n"
    )


def test_per_period_rate_refuses_months():
    msg = (
        "time_unit='M' is not a supported unit; pass 'D' (days) or 'W' (weeks of 7 days). "
        "Months are refused because their length varies."
    )
    with pytest.raises(DataError, match="^" + re.escape(msg) + "$"):
        w.check_per_period_rate(0.008, annual_rate=0.10, time_unit="M", lang="en")


def test_expected_spend_hand_worked():
    # FHL (2005) CDNOW Gamma-Gamma estimates p=6.25, q=3.74, v=15.44; x=4 repeat purchases averaging $20:
    # 6.25 * (15.44 + 80) / (25 + 2.74) = 596.5 / 27.74 = 21.5032...
    value = w.check_expected_spend.expected(frequency=4, monetary_value=20.0, p=6.25, q=3.74, v=15.44)
    assert value == pytest.approx(596.5 / 27.74, rel=1e-12)
    # no repeat purchase: the population mean p v / (q - 1)
    assert w.check_expected_spend.expected(frequency=0, monetary_value=0.0, p=6.25, q=3.74, v=15.44) == pytest.approx(
        6.25 * 15.44 / 2.74
    )


@given(
    x=st.integers(1, 50), m=st.floats(1.0, 500.0), p=st.floats(0.5, 20.0), q=st.floats(1.5, 20.0),
    v=st.floats(1.0, 500.0),
)
@pytest.mark.filterwarnings("ignore:The 'mode.chained_assignment' option is deprecated")
def test_expected_spend_matches_lifetimes(x, m, p, q, v):
    from lifetimes import GammaGammaFitter

    fitter = GammaGammaFitter()
    fitter.params_ = pd.Series({"p": p, "q": q, "v": v})
    reference = float(np.asarray(fitter.conditional_expected_average_profit(pd.Series([x]), pd.Series([m])))[0])
    expected = w.check_expected_spend.expected(frequency=x, monetary_value=m, p=p, q=q, v=v)
    assert expected == pytest.approx(reference, rel=1e-9)


def test_expected_spend_messages(capsys):
    inputs = dict(frequency=4, monetary_value=20.0, p=6.25, q=3.74, v=15.44)
    assert w.check_expected_spend(21.5, **inputs, lang="en")
    assert capsys.readouterr().out == "✅ Correct! expected spend per purchase (Gamma-Gamma) = 21.5032.\n"
    assert not w.check_expected_spend(20.0, **inputs, lang="en")
    assert capsys.readouterr().out == (
        "❌ Not quite (your answer: 20). Hint: that is the customer's own average, which is noisy with few "
        "purchases; shrink it towards the population mean p · v / (q − 1).\n"
    )
    assert not w.check_expected_spend(6.25 * 15.44 / 2.74, **inputs, lang="en")
    assert capsys.readouterr().out.endswith(
        "Hint: that is the population mean; give the customer's own average weight p · x / (p · x + q − 1).\n"
    )
    assert not w.check_expected_spend(..., **inputs, lang="ja")
    assert capsys.readouterr().out == "✏️ ... をあなたの答えに置き換えて、もう一度セルを実行してください。\n"
