"""Numbers for every valid input, on any scale (issue "Early-read CLV by acquisition campaign").

* The BG/NBD and MBG/NBD conditional expectation and P(alive) against 40-digit mpmath values
  (tests/clv/mpmath_reference.py) on a grid with a + b < 1 (c < 0 for one-time buyers), a + b = 1
  (c = 0), a just above and below 1, b tiny, huge r and tiny alpha, tiny r; one-time buyers with
  T up to 1e6; horizons 1e-3 to 1e5.
* Pareto/NBD against mpmath quadrature, and finite for extreme customers.
* Every prediction of CLVModel finite for every customer of the bundled shop after one, two and
  three months (where lifetimes' expression gave NaN for 2,022 of 2,518 customers).
* CLV scales exactly with the currency (x100, x1e8, x1e-2) without a warning; "D" and "W" give the
  same CLV for the same horizon in days.
* Each warning's advice, followed, improves the fit by a stated criterion.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest

import cohortkit as ck
from cohortkit import CohortkitWarning, ConvergenceWarning
from cohortkit.clv import CLVModel, per_period_rate
from cohortkit.clv._registry import PURCHASE_MODELS

from .mpmath_reference import (bgnbd_by_quadrature, bgnbd_conditional_expected, bgnbd_p_alive,
                               paretonbd_p_alive_and_expected)

pytest.importorskip("mpmath")

# --- the grid ---------------------------------------------------------------------------------------

BG_PARAMS = [
    (0.2426, 4.4136, 0.7929, 2.4259),  # CDNOW (FHL 2005)
    (0.4208, 8.5336, 0.1601, 0.4571),  # the shop after three months: a + b < 1
    (0.5101, 10.758, 1.2e-6, 3.1e-6),  # the shop after two months: a, b at the edge
    (0.4, 3.0, 0.3, 0.7),  # a + b == 1: c == 0 for a one-time buyer
    (0.5, 2.0, 3.5, 1.2),  # a > 1
    (0.3, 5.0, 1.0 + 1e-7, 2.0),  # a just above 1 (0/0 in the closed form)
    (0.3, 5.0, 1.0 - 1e-5, 2.0),  # a just below 1
    (1.0, 1.0, 0.5, 1e-4),  # b tiny
    (50.0, 0.01, 0.3, 0.05),  # huge r, tiny alpha
    (1e-3, 100.0, 2.0, 50.0),  # tiny r
]
# (x, t_x, T): new, one-time buyers up to a huge T, repeat buyers, heavy buyers, bought at the end
CUSTOMERS = [(0, 0.0, 0.0), (0, 0.0, 0.5), (0, 0.0, 39.0), (0, 0.0, 1e4), (0, 0.0, 1e6), (1, 2.0, 39.0),
             (5, 30.0, 39.0), (5, 1.0, 1e4), (100, 38.0, 39.0), (100, 1.0, 1e6), (3, 5.0, 5.0)]
HORIZONS = [1e-3, 1.0, 52.0, 1e3, 1e5]
#: relative error allowed against mpmath; for t = 1e5 (k = t / (alpha + T) up to 1e7) scipy's 2F1
#: near z = 1 limits the closed form to ~1e-7 where the series would need millions of terms
RTOL, RTOL_HUGE_T = 1e-9, 1e-6


def _grid():
    return list(itertools.product(BG_PARAMS, CUSTOMERS, HORIZONS))


@pytest.fixture(scope="module", params=["bgnbd", "mbgnbd"])
def bg_reference(request):
    modified = request.param == "mbgnbd"
    rows = [(params, x, tx, T, t, bgnbd_conditional_expected(params, t, x, tx, T, modified=modified),
             bgnbd_p_alive(params, x, tx, T, modified=modified)) for params, (x, tx, T), t in _grid()]
    return request.param, rows


def test_mpmath_reference_agrees_with_its_definition():
    # the reference's closed form (incl. its 3F2 at a = 1 / c = 0) against direct integration over p
    for params, (x, tx, T), t in [(BG_PARAMS[1], (0, 0.0, 6.0), 52.0), (BG_PARAMS[3], (0, 0.0, 39.0), 52.0),
                                  (BG_PARAMS[0], (5, 30.0, 39.0), 1.0), ((0.3, 5.0, 1.0, 2.0), (2, 3.0, 9.0), 20.0)]:
        for modified in (False, True):
            g = bgnbd_conditional_expected(params, t, x, tx, T, modified=modified) / bgnbd_p_alive(
                params, x, tx, T, modified=modified)
            assert g == pytest.approx(bgnbd_by_quadrature(params, t, x, T, modified=modified), rel=1e-12)


def test_bg_family_matches_mpmath_on_the_grid(bg_reference):
    name, rows = bg_reference
    model = PURCHASE_MODELS[name]()
    worst = {False: 0.0, True: 0.0}
    for params, x, tx, T, t, want, want_pa in rows:
        got = float(model.conditional_expected(params, t, x, tx, T))
        pa = float(model.p_alive(params, x, tx, T))
        assert np.isfinite(got) and np.isfinite(pa), (params, x, tx, T, t)
        assert pa == pytest.approx(want_pa, rel=1e-11, abs=1e-300), (params, x, tx, T)
        if want == 0.0:  # underflows in double precision (P(alive) ~ 1e-400): so must ours
            assert got < 1e-300
            continue
        err = abs(got - want) / want
        worst[t > 1e4] = max(worst[t > 1e4], err)
        assert err < (RTOL_HUGE_T if t > 1e4 else RTOL), (params, x, tx, T, t, got, want)
    print(f"{name}: worst relative error {worst[False]:.2e} (t <= 1e3), {worst[True]:.2e} (t = 1e5)")


def test_bg_family_vectorised_equals_scalar(bg_reference):
    # the shapes CLVModel uses (a column of horizons by customers) give the same numbers
    name, rows = bg_reference
    model = PURCHASE_MODELS[name]()
    params = BG_PARAMS[1]
    x, tx, T = (np.array([c[i] for c in CUSTOMERS], float) for i in range(3))
    t = np.array(HORIZONS)[:, None]
    table = model.conditional_expected(params, t, x, tx, T)
    want = {(r[1], r[2], r[3], r[4]): r[5] for r in rows if r[0] == params}
    for i, h in enumerate(HORIZONS):
        for j, c in enumerate(CUSTOMERS):
            assert table[i, j] == pytest.approx(want[(*c, h)], rel=RTOL_HUGE_T if h > 1e4 else RTOL)


PARETO_PARAMS = [(0.553, 10.58, 0.606, 11.67), (0.553, 10.58, 1.0, 11.67), (5.0, 0.5, 0.2, 100.0),
                 (1e-3, 1.0, 1e-3, 1.0)]


@pytest.mark.parametrize("params", PARETO_PARAMS)
def test_paretonbd_matches_mpmath(params):
    model = PURCHASE_MODELS["paretonbd"]()
    for (x, tx, T), t in itertools.product([(0, 0.0, 0.5), (0, 0.0, 39.0), (0, 0.0, 1e4), (1, 2.0, 39.0),
                                            (5, 30.0, 39.0), (3, 4.9, 5.0)], [1e-3, 1.0, 52.0, 1e3]):
        want_pa, want = paretonbd_p_alive_and_expected(params, t, x, tx, T)
        assert float(model.p_alive(params, x, tx, T)) == pytest.approx(want_pa, rel=1e-9)
        assert float(model.conditional_expected(params, t, x, tx, T)) == pytest.approx(want, rel=1e-9)


@pytest.mark.parametrize("model", ["bgnbd", "mbgnbd", "paretonbd"])
def test_extreme_customers_and_parameters_are_finite(model):
    m = PURCHASE_MODELS[model]()
    params = [(0.553, 10.58, 0.606, 11.67), (5.0, 0.5, 0.2, 100.0), (0.05, 50.0, 3.0, 0.1), (50.0, 0.01, 0.5, 0.05)]
    x = np.array([0, 0, 1, 100, 300, 300], float)
    tx = np.array([0, 0, 2.0, 1.0, 1.0, 1e6], float)
    T = np.array([0.5, 1e6, 39.0, 1e4, 1e6, 1e6], float)
    for p in (params if model == "paretonbd" else BG_PARAMS):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no RuntimeWarning either
            pa = m.p_alive(p, x, tx, T)
            e = m.conditional_expected(p, np.array([[1.0], [52.0], [1e4]]), x, tx, T)
        assert np.isfinite(pa).all() and ((pa >= 0) & (pa <= 1)).all(), p
        assert np.isfinite(e).all() and (e >= 0).all(), p


# --- the shop, early ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shop_tx():
    return ck.datasets.load_shop().transactions


def _early(tx, end, time_unit="W", factor=1.0):
    sub = tx[tx["date"] <= end]
    if factor != 1.0:
        sub = sub.assign(amount=sub["amount"] * factor)
    return ck.rfm_summary(sub, customer_col="customer_id", date_col="date", amount_col="amount",
                          time_unit=time_unit, observation_end=end)


@pytest.mark.parametrize("purchase", ["bgnbd", "mbgnbd", "paretonbd"])
@pytest.mark.parametrize("end", ["2023-01-31", "2023-02-28", "2023-03-31"])
def test_every_prediction_is_finite_for_every_shop_customer(shop_tx, purchase, end):
    rfm = _early(shop_tx, end)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # two months: a, b at the edge (tested below)
        model = CLVModel(purchase).fit(rfm)
    table = model.summary(horizon=52, time_unit="W", discount_rate=per_period_rate(0.1, "W"))
    for col in ("p_alive", "expected_purchases", "expected_spend", "clv"):
        assert np.isfinite(table[col]).all(), col
        assert (table[col] >= 0).all(), col
    if purchase != "paretonbd":  # (its bootstrap refits use finite differences: slow)
        ci = model.predict_purchases(13, ci=0.9, n_boot=5)
        assert np.isfinite(ci.to_numpy()).all()


def test_three_months_of_the_shop_as_reported(shop_tx):
    # the issue: 2,022 of 2,518 customers (all one-time buyers) had NaN expected purchases and CLV;
    # a + b < 1, so c = a + b - 1 < 0 and the 2F1 is negative for them
    rfm = _early(shop_tx, "2023-03-31")
    model = CLVModel("bgnbd").fit(rfm)
    a, b = model.params_.loc[["a", "b"], "estimate"]
    assert len(rfm) == 2518 and (rfm["frequency"] == 0).sum() == 2022 and a + b < 1
    table = model.summary(horizon=52, time_unit="W")
    one_time = table[table["frequency"] == 0]
    want = [bgnbd_conditional_expected(model._pp(), 52.0, 0, 0.0, T) for T in one_time["T"].iloc[:25]]
    np.testing.assert_allclose(one_time["expected_purchases"].iloc[:25], want, rtol=RTOL)


# --- scale ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("end", ["2023-03-31", None])
def test_clv_scales_exactly_with_the_currency(shop_tx, end):
    rfm = _early(shop_tx, end) if end else ck.rfm_summary(shop_tx, customer_col="customer_id", date_col="date",
                                                             amount_col="amount", time_unit="W")
    base = CLVModel("bgnbd").fit(rfm)
    clv = base.clv(52, time_unit="W", discount_rate=per_period_rate(0.1, "W"))
    for factor in (100.0, 1e8, 1e-2):  # won / rupiah, absurd, cents -> hundreds
        scaled = rfm.assign(monetary_value=rfm["monetary_value"] * factor)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no "not identified", no warning at all
            model = CLVModel("bgnbd").fit(scaled)
            got = model.clv(52, time_unit="W", discount_rate=per_period_rate(0.1, "W"))
        np.testing.assert_allclose(got / factor, clv, rtol=1e-9)
        assert got.sum() / factor == pytest.approx(clv.sum(), rel=1e-10)
        assert model.params_.loc["v", "estimate"] / factor == pytest.approx(base.params_.loc["v", "estimate"], rel=1e-9)
        np.testing.assert_allclose(model.params_.loc[["p", "q"], "estimate"], base.params_.loc[["p", "q"], "estimate"],
                                   rtol=1e-9)


def test_penalised_clv_scales_exactly_with_the_currency(shop_tx):
    rfm = _early(shop_tx, "2023-02-28")
    base = CLVModel("bgnbd", penalizer=0.001).fit(rfm)
    for factor in (100.0, 1e8, 1e-2):
        model = CLVModel("bgnbd", penalizer=0.001).fit(rfm.assign(monetary_value=rfm["monetary_value"] * factor))
        np.testing.assert_allclose(model.clv(52, time_unit="W", discount_rate=0.0) / factor,
                                   base.clv(52, time_unit="W", discount_rate=0.0), rtol=1e-9)


# BG/NBD and MBG/NBD (analytic gradients) agree to rounding; Pareto/NBD's fit uses finite-difference
# gradients, whose BFGS path the last bits of the data change: days and weeks agree to ~1e-5 there
@pytest.mark.parametrize("purchase,rtol", [("bgnbd", 1e-9), ("mbgnbd", 1e-9), ("paretonbd", 1e-4)])
def test_days_and_weeks_give_the_same_clv(shop_tx, purchase, rtol):
    fits = {u: CLVModel(purchase).fit(_early(shop_tx, "2023-03-31", time_unit=u)) for u in ("D", "W")}
    daily = {u: m.clv(364, time_unit="D", discount_rate=per_period_rate(0.1, "D")) for u, m in fits.items()}
    weekly = {u: m.clv(52, time_unit="W", discount_rate=per_period_rate(0.1, "W")) for u, m in fits.items()}
    np.testing.assert_allclose(daily["D"], daily["W"], rtol=rtol)
    np.testing.assert_allclose(weekly["D"], weekly["W"], rtol=rtol)
    np.testing.assert_allclose(fits["D"].p_alive(), fits["W"].p_alive(), rtol=rtol)
    assert fits["D"].params_.loc["alpha", "estimate"] == pytest.approx(7 * fits["W"].params_.loc["alpha", "estimate"],
                                                                      rel=rtol)


# --- each warning's advice, followed, improves the fit ---------------------------------------------


def test_edge_warning_advice_improves_the_holdout_prediction(shop_tx):
    # two months of the shop: a, b run to 0. Advice: penalizer=0.001. Criterion: no warning, a and b
    # inside the space, and the predicted repeat purchases of March-December 2023 closer to the
    # actual ones, in total (at most half the error) and per customer (smaller mean absolute error).
    ch = ck.calibration_holdout(shop_tx, customer_col="customer_id", date_col="date", calibration_end="2023-02-28",
                                observation_end="2023-12-31", time_unit="W")
    with pytest.warns(ConvergenceWarning, match=r"Try penalizer=0\.001 or more"):
        plain = CLVModel("bgnbd", spend_model=None).fit(ch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        advised = CLVModel("bgnbd", spend_model=None, penalizer=0.001).fit(ch)
    assert (np.abs(np.log(advised.params_["estimate"])) < 5).all()
    actual = ch.set_index("customer_id")["frequency_holdout"]
    horizon = float(ch["duration_holdout"].iloc[0])
    errors = {}
    for name, model in (("plain", plain), ("advised", advised)):
        pred = model.predict_purchases(horizon, summary=ch)
        errors[name] = (abs(pred.sum() - actual.sum()) / actual.sum(), float(np.mean(np.abs(pred - actual))))
    assert errors["advised"][0] < 0.5 * errors["plain"][0], errors
    assert errors["advised"][1] < errors["plain"][1], errors


def test_convergence_warning_advice_makes_the_fit_converge():
    # ten customers: BFGS fails from every start. Advice: penalizer=0.001. Criterion: converged, no
    # warning, finite standard errors.
    rng = np.random.default_rng(2)
    k = int(rng.integers(3, 12))
    x = rng.integers(0, 4, k)
    T = rng.uniform(1, 40, k)
    data = pd.DataFrame({"frequency": x, "recency": np.where(x > 0, rng.uniform(0, 1, k) * T, 0.0), "T": T})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        CLVModel("bgnbd", spend_model=None).fit(data, time_unit="W")
    messages = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert any(m.startswith("bgnbd fit did not converge") and "Try penalizer=0.001 or more" in m for m in messages)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        advised = CLVModel("bgnbd", spend_model=None, penalizer=0.001).fit(data, time_unit="W")
    assert bool(advised.fit_info_.loc["bgnbd", "converged"])
    assert np.isfinite(advised.params_["std_error"]).all()


def test_edge_warning_on_steady_buyers_is_cured_by_the_advice():
    # the existing edge example (tests/clv/test_model.py): steady buyers, no sign of dropout
    n = 400
    x = np.tile([1, 2, 3, 4, 5, 6, 7, 8], n // 8)
    data = pd.DataFrame({"frequency": x, "recency": 39.0 * np.ones(n), "T": 39.0 * np.ones(n)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        advised = CLVModel("bgnbd", spend_model=None, penalizer=0.001).fit(data, time_unit="W")
    assert advised.p_alive().min() > 0.9  # they all look alive, as they should


def test_heavy_tailed_spend_warns_and_uses_the_stated_fallback():
    # q <= 1: no finite population mean. The warning says what is used instead (the observed mean
    # spend of the repeat customers); nothing is NaN.
    rng = np.random.default_rng(1)
    n = 3000
    x = rng.integers(1, 6, n).astype(float)
    data = pd.DataFrame({"frequency": np.r_[x, np.zeros(n)], "recency": np.r_[10.0 + x, np.zeros(n)],
                         "T": 30.0, "monetary_value": np.r_[np.exp(rng.normal(8, 2.0, n)), np.zeros(n)]})
    with pytest.warns(CohortkitWarning, match=r"^gamma_gamma fit: q = .* <= 1.*observed mean spend of the repeat"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = CLVModel("bgnbd").fit(data, time_unit="W")
    assert model.params_.loc["q", "estimate"] <= 1
    spend = model.expected_spend()
    assert np.isfinite(spend).all()
    observed = data.loc[data["frequency"] > 0, "monetary_value"].mean()
    np.testing.assert_allclose(spend[data["frequency"].to_numpy() == 0], observed, rtol=1e-12)
    assert np.isfinite(model.clv(52, time_unit="W", discount_rate=0.0)).all()


def test_nonpositive_spend_warning_advice(cdnow):
    # advice: drop those customers. Criterion: no warning, and the same spend model (they were left
    # out of it already).
    rfm = ck.rfm_summary(cdnow, amount_col="amount", time_unit="W")
    with pytest.warns(CohortkitWarning, match="Drop or correct those customers"):
        before = CLVModel("bgnbd").fit(rfm)
    dropped = rfm[~((rfm["frequency"] > 0) & (rfm["monetary_value"] <= 0))]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        after = CLVModel("bgnbd").fit(dropped)
    np.testing.assert_allclose(after.params_.loc[["p", "q", "v"], "estimate"],
                               before.params_.loc[["p", "q", "v"], "estimate"], rtol=1e-9)


def test_discount_rate_warning_advice(bgnbd, cal):
    # advice: per_period_rate(0.1, 'W'). Criterion: no warning, and the CLV of a 10 % annual rate
    # (between the undiscounted value and the value at 10 % a week)
    sub = cal.iloc[:40]
    with pytest.warns(CohortkitWarning, match=r"discount_rate=cohortkit\.clv\.per_period_rate\(0\.1, 'W'\)"):
        weekly10 = bgnbd.clv(52, time_unit="W", discount_rate=0.1, summary=sub)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        advised = bgnbd.clv(52, time_unit="W", discount_rate=per_period_rate(0.1, "W"), summary=sub)
    undiscounted = bgnbd.clv(52, time_unit="W", discount_rate=0.0, summary=sub)
    assert ((weekly10 < advised) & (advised < undiscounted)).all()
    assert (advised / undiscounted).mean() > 0.9
