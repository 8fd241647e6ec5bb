"""cohortkit.format: exact strings in English and Japanese, rounding, missing values, negatives, and
the table Styler (formats by column kind, hides the index, the same HTML on every run)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import cohortkit as ck
from cohortkit import DataError
from cohortkit import format as fmt


@pytest.fixture(autouse=True)
def _english():
    lang = ck.style.current_lang()
    ck.style._STATE["lang"] = "en"
    yield
    ck.style._STATE["lang"] = lang


@pytest.mark.parametrize("value, en, ja", [
    (1234, "¥1,234", "1,234円"),
    (1234.5, "¥1,234", "1,234円"),  # half to even
    (1235.5, "¥1,236", "1,236円"),
    (4530472.0, "¥4,530,472", "4,530,472円"),
    (0, "¥0", "0円"),
    (-9707410.4, "-¥9,707,410", "-9,707,410円"),
    (-0.4, "¥0", "0円"),  # rounds to zero: no sign
    (np.int64(861), "¥861", "861円"),
    (float("nan"), "–", "–"),
    (None, "–", "–"),
    (pd.NA, "–", "–"),
])
def test_money(value, en, ja):
    assert fmt.money(value, lang="en") == en
    assert fmt.money(value, lang="ja") == ja


def test_money_options():
    assert fmt.money(21.5006, digits=2, lang="en") == "¥21.50"
    assert fmt.money(9_707_410, sign=True, lang="en") == "+¥9,707,410"
    assert fmt.money(9_707_410, sign=True, lang="ja") == "+9,707,410円"
    assert fmt.money(-5, sign=True, lang="en") == "-¥5"
    assert fmt.money(0, sign=True, lang="en") == "¥0"
    assert fmt.money(1234.5, currency="USD", lang="en") == "$1,234.50"
    assert fmt.money(-21.5, currency="USD", lang="ja") == "-$21.50"
    assert fmt.money(21.5, currency="USD", digits=0) == "$22"
    with pytest.raises(DataError, match=r"currency must be one of \['JPY', 'USD'\]; got 'EUR'"):
        fmt.money(1, currency="EUR")


@pytest.mark.parametrize("value, digits, en, ja", [
    (0.1234, 1, "12.3 %", "12.3%"),
    (0.0599, 1, "6.0 %", "6.0%"),
    (0.0599, 2, "5.99 %", "5.99%"),
    (0.0125, 2, "1.25 %", "1.25%"),
    (1.0, 0, "100 %", "100%"),
    (12.8513, 0, "1,285 %", "1,285%"),
    (-0.0325, 1, "-3.2 %", "-3.2%"),
    (-0.0004, 1, "0.0 %", "0.0%"),
    (float("nan"), 1, "–", "–"),
])
def test_percent(value, digits, en, ja):
    assert fmt.percent(value, digits=digits, lang="en") == en
    assert fmt.percent(value, digits=digits, lang="ja") == ja


def test_percent_sign_and_points():
    assert fmt.percent(0.015, sign=True, lang="en") == "+1.5 %"
    assert fmt.percent(-0.015, sign=True, lang="en") == "-1.5 %"
    assert fmt.points(0.00375, digits=3, lang="en") == "+0.375 points"
    assert fmt.points(-0.012, lang="ja") == "-1.2ポイント"


def test_count_and_number():
    assert fmt.count(20194) == "20,194"
    assert fmt.count(20194.0, lang="ja") == "20,194"
    assert fmt.count(-1500) == "-1,500"
    assert fmt.count(2.5) == "2"  # half to even
    assert fmt.count(float("nan")) == "–"
    assert fmt.number(9.70741e6, digits=0) == "9,707,410"  # never 9.70741e+06
    assert fmt.number(1e-7, digits=9) == "0.000000100"
    assert fmt.number(12.8513) == "12.85"
    assert fmt.number(-0.001) == "0.00"
    assert fmt.number(-1.005, digits=1) == "-1.0"
    assert "e" not in fmt.number(1e20, digits=0)


def test_interval():
    assert fmt.interval(0.1234, 0.1181, 0.1289, lang="en") == "12.3 % (11.8–12.9)"
    assert fmt.interval(0.1234, 0.1181, 0.1289, lang="ja") == "12.3% (11.8–12.9)"
    assert fmt.interval(0.00375, -0.00001, 0.0075, digits=2, lang="en") == "0.38 % (0.00–0.75)"
    assert fmt.interval(-0.02, -0.035, -0.005, lang="en") == "-2.0 % (-3.5 to -0.5)"
    assert fmt.interval(-0.02, -0.035, 0.005, lang="ja") == "-2.0% (-3.5〜0.5)"
    assert fmt.interval(2980.4, 2500, 3400.6, kind="money", lang="en") == "¥2,980 (2,500–3,401)"
    assert fmt.interval(2980.4, 2500, 3400.6, kind="money", lang="ja") == "2,980円 (2,500–3,401)"
    assert fmt.interval(-53.5, -60.25, -47.0, kind="number", digits=1, lang="en") == "-53.5 (-60.2 to -47.0)"
    assert fmt.interval(float("nan"), 0.1, 0.2, lang="en") == "– (10.0–20.0)"
    assert fmt.interval(0.5, float("nan"), 0.7, lang="en") == "50.0 % (––70.0)"  # a missing bound reads –
    assert fmt.interval(0.5, float("nan"), None, lang="en") == "50.0 %"
    with pytest.raises(DataError, match="kind must be one of"):
        fmt.interval(1, 0, 2, kind="yen")


def test_duration():
    assert fmt.duration(3.5) == "3.5 days"
    assert fmt.duration(1) == "1 day"
    assert fmt.duration(2.0) == "2 days"
    assert fmt.duration(1, "W") == "1 week"
    assert fmt.duration(12.04, "W", lang="ja") == "12週"
    assert fmt.duration(3.5, lang="ja") == "3.5日"
    assert fmt.duration(pd.Timedelta(minutes=7.5), None) == "7.5 minutes"
    assert fmt.duration(pd.Timedelta(hours=5), None) == "5 hours"
    assert fmt.duration(pd.Timedelta(hours=36), None, lang="ja") == "1.5日"
    assert fmt.duration(pd.Timedelta(days=14), "W") == "2 weeks"
    assert fmt.duration(pd.NaT) == "–"
    assert fmt.duration(-1) == "-1 day"
    with pytest.raises(DataError, match="time_unit must be one of"):
        fmt.duration(3, "M")


def test_language_follows_set_style_and_bad_input():
    ck.style._STATE["lang"] = "ja"
    assert fmt.money(1234) == "1,234円" and fmt.percent(0.5) == "50.0%"
    ck.style._STATE["lang"] = "en"
    assert fmt.money(1234) == "¥1,234" and fmt.percent(0.5) == "50.0 %"
    with pytest.raises(DataError, match=re.escape('lang must be "en" or "ja" or None; got \'fr\'')):
        fmt.money(1, lang="fr")
    with pytest.raises(DataError, match="value must be a number, got str '12'"):
        fmt.money("12")
    with pytest.raises(DataError, match="digits must be a whole number from 0 to 12"):
        fmt.percent(0.1, digits=1.5)


def test_column_kinds():
    kinds = {c: fmt.column_kind(c) for c in (
        "ctr", "ctr_lower", "cvr_upper", "repeat_rate", "share", "new_share", "share_of_revenue", "retention",
        "conversion_from_start", "incrementality", "margin", "spend", "cpa", "allowable_cpa", "cac",
        "revenue", "revenue_per_customer", "customer_value", "conversion_value", "predicted_clv",
        "cumulative_margin_per_customer", "impressions", "clicks", "conversions", "customers", "users",
        "cohort_size", "rank_ctr", "rank_ltv_roas", "impact_rank")}
    assert kinds == {
        **{c: "percent" for c in ("ctr", "ctr_lower", "cvr_upper", "repeat_rate", "share", "new_share",
                                  "share_of_revenue", "retention", "conversion_from_start", "incrementality",
                                  "margin")},
        **{c: "money" for c in ("spend", "cpa", "allowable_cpa", "cac", "revenue", "revenue_per_customer",
                                "customer_value", "conversion_value", "predicted_clv",
                                "cumulative_margin_per_customer")},
        **{c: "count" for c in ("impressions", "clicks", "conversions", "customers", "users", "cohort_size",
                                "rank_ctr", "rank_ltv_roas", "impact_rank")},
    }
    assert fmt.column_kind("ltv_roas", np.dtype("float64")) == "number"
    assert fmt.column_kind("period_number", np.dtype("int64")) == "count"
    assert fmt.column_kind("median_time", np.dtype("timedelta64[ns]")) == "duration"
    assert fmt.column_kind("campaign", np.dtype("O")) == "text"


AD = pd.DataFrame({
    "campaign": ["coupon_affiliate", "line_retargeting"],
    "impressions": [1_201_234, 95_000],
    "ctr": [0.0598752, np.nan],
    "spend": [4530472.0, -1250.4],
    "roas": [2.81094, 1e-7],
    "payback": [pd.Timedelta(days=3), pd.NaT],
})


def _cells(styler) -> list[list[str]]:
    """The displayed text of every cell, read back from the rendered HTML."""
    html = styler.to_html()
    rows = re.findall(r"<tr>(.*?)</tr>", html, flags=re.S)
    return [re.findall(r"<td[^>]*>(.*?)</td>", r, flags=re.S) for r in rows if "<td" in r]


def test_style_table_formats_by_kind_and_hides_the_index():
    s = fmt.style_table(AD, lang="en", uuid="ads")
    assert _cells(s) == [
        ["coupon_affiliate", "1,201,234", "6.0 %", "¥4,530,472", "2.81", "3 days"],
        ["line_retargeting", "95,000", "–", "-¥1,250", "0.00", "–"],
    ]
    html = s.to_html()
    assert 'id="T_ads' in html and "row_heading" not in html  # index hidden
    assert s.data.equals(AD)  # the numbers themselves are not changed
    ja = fmt.style_table(AD, lang="ja", uuid="ads", kinds={"roas": "percent"}, digits={"ctr": 2})
    assert _cells(ja)[0] == ["coupon_affiliate", "1,201,234", "5.99%", "4,530,472円", "281.1%", "3日"]
    usd = fmt.style_table(AD, lang="ja", uuid="ads", currency="USD", digits={"spend": 1})
    assert _cells(usd)[0][3] == "$4,530,472.0"


def test_style_table_fractional_counts_are_numbers():
    t = pd.DataFrame({"customers": [3.0, 4.0], "expected_purchases": [0.456, 2.0]})
    assert _cells(fmt.style_table(t, uuid="x")) == [["3", "0.46"], ["4", "2.00"]]
    assert _cells(fmt.style_table(t, uuid="x", kinds={"expected_purchases": "count"})) == [["3", "0"], ["4", "2"]]


def test_style_table_keeps_a_meaningful_index_as_columns():
    wide = AD.set_index("campaign")[["ctr", "spend"]]
    s = fmt.style_table(wide, lang="en", uuid="w")
    assert _cells(s)[0] == ["coupon_affiliate", "6.0 %", "¥4,530,472"]
    assert ">campaign<" in s.to_html()
    series = AD.set_index("campaign")["impressions"]
    assert _cells(fmt.style_table(series, uuid="s"))[1] == ["line_retargeting", "95,000"]
    callable_kind = fmt.style_table(AD[["campaign"]], kinds={"campaign": str.upper}, uuid="c")
    assert _cells(callable_kind)[0] == ["COUPON_AFFILIATE"]
    with pytest.raises(DataError, match=r"kinds/digits name column\(s\) \['cpa'\]"):
        fmt.style_table(AD, kinds={"cpa": "money"})
    with pytest.raises(DataError, match="must be one of 'percent'"):
        fmt.style_table(AD, kinds={"ctr": "fraction"})


def test_style_table_uuid_is_stable_and_content_dependent():
    a = fmt.style_table(AD).to_html()
    b = fmt.style_table(AD.copy()).to_html()
    assert a == b  # the same HTML on every run with the same data
    other = fmt.style_table(AD.assign(impressions=[1, 2])).to_html()
    assert re.search(r'id="(T_\w+?)_', a).group(1) != re.search(r'id="(T_\w+?)_', other).group(1)
    assert not re.search(r"\d\.\d+e[+-]\d", a)  # no scientific notation


def test_no_scientific_notation_anywhere():
    for x in (1e-9, 3.2e-5, 9.70741e6, 4.2e12):
        for f in (fmt.money, fmt.count, fmt.number):
            assert "e" not in f(x).replace("円", ""), (f, x)
        assert "e" not in fmt.percent(x)


def test_style_table_drops_row_numbers_and_shows_ratios_as_numbers():
    """A sorted or filtered table keeps no leftover row-number column; LTV:CAC is a ratio, not yen."""
    table = pd.DataFrame({"campaign": ["a", "b", "c"], "ltv_cac": [2.5, 3.0, 1.0], "p_value": [0.046, 0.5, 0.01]})
    styler = ck.style_table(table.sort_values("ltv_cac").head(2), uuid="rows", lang="en")
    html = styler.to_html()
    assert re.findall(r'class="col_heading[^"]*"[^>]*>(.*?)<', html) == ["campaign", "ltv_cac", "p_value"]
    assert re.findall(r"<td[^>]*>(.*?)</td>", html) == ["c", "1.00", "0.01", "a", "2.50", "0.05"]
    named = table.set_index("campaign")
    assert list(ck.style_table(named, uuid="n").data.columns) == ["campaign", "ltv_cac", "p_value"]
