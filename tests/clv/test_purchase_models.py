"""What every purchase model (BG/NBD, MBG/NBD, Pareto/NBD) must satisfy: a proper pmf, P(alive) a
probability, recovery of simulated parameters, finite predictions for extreme customers.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import cohortkit as ck
from cohortkit.clv import CLVModel
from cohortkit.clv._registry import PURCHASE_MODELS


PARETO = (0.553, 10.58, 0.606, 11.67)


def purchase_model(name):
    return PURCHASE_MODELS[name]()


@pytest.mark.parametrize("model", ["bgnbd", "mbgnbd", "paretonbd"])
def test_pmf_sums_to_one_and_to_the_mean(model):
    params = PARETO if model == "paretonbd" else (0.24, 4.4, 0.79, 2.4)
    t = np.array([5.0, 39.0])
    probs = np.array([purchase_model(model).pmf(params, n, t) for n in range(400)])
    np.testing.assert_allclose(probs.sum(axis=0), 1.0, atol=1e-6)
    np.testing.assert_allclose((np.arange(400)[:, None] * probs).sum(axis=0), purchase_model(model).expected(params, t), rtol=1e-4)


@given(
    st.sampled_from(["bgnbd", "mbgnbd", "paretonbd"]),
    st.tuples(*[st.floats(0.05, 20.0) for _ in range(4)]),
    st.integers(0, 60),
    st.floats(0.0, 1.0),
    st.floats(0.01, 100.0),
)
def test_p_alive_is_a_probability(model, params, x, frac, T):
    tx = 0.0 if x == 0 else frac * T
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pa = purchase_model(model).p_alive(params, np.array([float(x)]), np.array([tx]), np.array([T]))
    assert np.all((pa >= 0) & (pa <= 1))


# --- simulated data: recovery ---------------------------------------------------------------------


def _simulate(model, params, n, rng):
    T = rng.uniform(30, 40, n)
    if model == "bgnbd":
        r, alpha, a, b = params
        lam, p = rng.gamma(r, 1 / alpha, n), rng.beta(a, b, n)
    else:
        r, alpha, s, beta = params
        lam, mu = rng.gamma(r, 1 / alpha, n), rng.gamma(s, 1 / beta, n)
        death = rng.exponential(1 / mu)
    x, tx = np.zeros(n), np.zeros(n)
    for i in range(n):
        t, k = 0.0, 0
        end = T[i] if model == "bgnbd" else min(T[i], death[i])
        while True:
            t += rng.exponential(1 / lam[i])
            if t > end:
                break
            k, last = k + 1, t
            if model == "bgnbd" and rng.random() < p[i]:
                break
        x[i], tx[i] = k, (last if k else 0.0)
    return pd.DataFrame({"customer_id": np.arange(n).astype(str), "frequency": x, "recency": tx, "T": T})


@pytest.mark.parametrize("model,truth", [("bgnbd", (0.5, 5.0, 0.8, 2.5)), ("paretonbd", (0.6, 8.0, 0.7, 10.0))])
def test_recovers_true_parameters_on_simulated_data(model, truth):
    rng = np.random.default_rng(7)
    data = _simulate(model, truth, 8000, rng)
    fit = CLVModel(model, spend_model=None).fit(data, time_unit="W")
    est, se = fit.params_["estimate"].to_numpy(), fit.params_["std_error"].to_numpy()
    z = np.abs(est - np.array(truth)) / se
    assert np.all(z < 3.5), (est, se)
    assert np.all(np.isfinite(se)) and np.all(se > 0)


# --- extreme customers ----------------------------------------------------------------------------

EXTREME = pd.DataFrame({
    "customer_id": ["heavy", "heavy-long-ago", "gone", "new", "typical"],
    "frequency": [300, 150, 40, 0, 2],
    "recency": [38.0, 2.0, 1.0, 0.0, 20.0],
    "T": [38.5, 300.0, 1_000.0, 0.5, 38.0],
    "monetary_value": [25.0, 40.0, 10.0, 0.0, 30.0],
})


@pytest.mark.parametrize("purchase", ["bgnbd", "mbgnbd", "paretonbd"])
def test_no_nan_for_extreme_customers(cal, purchase):
    model = ck.CLVModel(purchase, spend_model="gamma_gamma").fit(cal)
    summary = EXTREME.copy()
    summary.attrs["time_unit"] = "W"
    alive = model.p_alive(summary)
    assert np.isfinite(alive).all() and ((alive >= 0) & (alive <= 1)).all()
    bought = model.predict_purchases(52, summary=summary)
    assert np.isfinite(bought).all() and (bought >= 0).all()
    value = model.clv(52, time_unit="W", discount_rate=0.001, summary=summary)
    assert np.isfinite(value).all() and (value >= 0).all()
    # a heavy buyer who stopped long ago is almost surely gone; one buying until now is alive
    assert alive["heavy-long-ago"] < 0.01 < 0.5 < alive["heavy"]
