"""Pareto/NBD and MBG/NBD with time-invariant covariates (issue 19, item 3).

Customers are simulated per group from the Pareto/NBD process itself (purchase rate
lambda ~ Gamma(r, alpha_g), dropout rate mu ~ Gamma(s, beta_g), an exponential lifetime, Poisson
purchases while alive) with the CLVTools links ``alpha_g = alpha_0 exp(-gamma_purchase)`` and
``beta_g = beta_0 exp(-gamma_dropout)``; the fit gives every coefficient back within three
standard errors, and the value of a new customer per group against the closed form at the true
parameters.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cohortkit.clv import CLVModel
from cohortkit.clv._paretonbd import ParetoNBD

R, ALPHA, S, BETA = 0.7, 8.0, 0.8, 30.0  # weeks
EFFECTS = {"a": (0.0, 0.0), "b": (0.5, -0.5), "c": (-0.4, 0.6)}  # group: (gamma_purchase, gamma_dropout)
T_OBS = 52.0


def simulate_pareto(n_per_group=15_000, seed=0):
    """RFM summary (weeks) of Pareto/NBD customers per group, observed for T_OBS weeks each."""
    rng = np.random.default_rng(seed)
    frames = []
    for group, (gp, gd) in EFFECTS.items():
        n = n_per_group
        lam = rng.gamma(R, 1.0 / (ALPHA * np.exp(-gp)), n)
        mu = rng.gamma(S, 1.0 / (BETA * np.exp(-gd)), n)
        alive_for = np.minimum(rng.exponential(1.0 / mu), T_OBS)
        x = rng.poisson(lam * alive_for)
        # the last of x uniform purchase times on (0, alive_for): alive_for * U**(1/x)
        tx = np.where(x > 0, alive_for * rng.random(n) ** (1.0 / np.maximum(x, 1)), 0.0)
        frames.append(pd.DataFrame({"customer_id": [f"{group}{i}" for i in range(n)], "frequency": x,
                                    "recency": tx, "T": T_OBS, "group": group}))
    summary = pd.concat(frames, ignore_index=True)
    summary.attrs["time_unit"] = "W"
    return summary


@pytest.fixture(scope="module")
def pareto_fit():
    summary = simulate_pareto()
    return summary, CLVModel("paretonbd", spend_model=None).fit(summary, covariates=["group"])


def test_pareto_covariate_effects_are_recovered_within_their_intervals(pareto_fit):
    _, model = pareto_fit
    coef = model.coefficients_.set_index(["process", "covariate"])
    truth = {("purchase", "group[b]"): 0.5, ("dropout", "group[b]"): -0.5,
             ("purchase", "group[c]"): -0.4, ("dropout", "group[c]"): 0.6}
    assert set(coef.index) == set(truth)
    z = {}
    for key, value in truth.items():
        est, se = coef.loc[key, ["estimate", "std_error"]]
        assert np.isfinite(se) and se > 0, key
        z[key] = (est - value) / se
        assert abs(z[key]) < 3, (key, est, se, value)
    assert set(model.coefficients_["parameter"]) == {"alpha", "beta"}
    base = model.params_["estimate"]
    for name, value, tol in (("r", R, 0.15), ("alpha", ALPHA, 0.2), ("s", S, 0.3), ("beta", BETA, 0.4)):
        assert base[name] == pytest.approx(value, rel=tol), name
    assert model.fit_info_["converged"].all()


def test_pareto_new_customer_purchases_match_the_true_parameters(pareto_fit):
    _, model = pareto_fit
    new = model.predict_purchases(10, summary=None)  # per-customer predictions work through the groups
    assert np.isfinite(new).all()
    for group, (gp, gd) in EFFECTS.items():
        truth = ParetoNBD().expected((R, ALPHA * np.exp(-gp), S, BETA * np.exp(-gd)), 104.0)
        params = model._purchase.group_params(model._pp(), model._design.matrix(pd.DataFrame({"group": [group]})))[0]
        assert ParetoNBD().expected(params, 104.0) == pytest.approx(truth, rel=0.1), group


@pytest.mark.parametrize("name", ["paretonbd", "mbgnbd"])
def test_the_covariate_likelihood_is_the_base_models_per_group(name):
    from cohortkit.clv._covariates import Design, covariate_purchase_model, group_codes
    from cohortkit.clv._registry import purchase_model

    rng = np.random.default_rng(1)
    n = 300
    x = rng.integers(0, 6, n).astype(float)
    T = rng.uniform(5, 40, n)
    tx = np.where(x > 0, rng.uniform(0, 1, n) * T, 0.0)
    frame = pd.DataFrame({"c": rng.choice(list("abc"), n), "v": rng.normal(size=n)})
    design = Design.from_frame(frame, ["c", "v"])
    zg, g = group_codes(design.matrix(frame))
    base = purchase_model(name)
    model = covariate_purchase_model(base, design, zg)
    theta = np.concatenate([[0.7, 8.0, 0.9, 12.0], rng.normal(size=len(model.params) - 4) * 0.3])
    table = model.group_params(theta, zg)
    brute = np.array([base.loglik(table[gi], x[i:i + 1], tx[i:i + 1], T[i:i + 1])[0] for i, gi in enumerate(g)])
    assert np.allclose(model.loglik(theta, x, tx, T, g), brute)
    # the natural parameters round-trip through the optimiser's point
    assert np.allclose(model.natural(model.optimiser_point(theta, 0.05), 0.05), theta)


def test_mbgnbd_with_covariates_fits(pareto_fit):
    summary, _ = pareto_fit
    model = CLVModel("mbgnbd", spend_model=None).fit(summary, covariates=["group"])
    assert set(model.coefficients_["process"]) == {"purchase", "dropout_a", "dropout_b"}
    assert model.fit_info_["converged"].all() and np.isfinite(model.coefficients_["std_error"]).all()
    # more purchases in group b, fewer in c (the simulated purchase effects' signs)
    coef = model.coefficients_.set_index(["process", "covariate"])["estimate"]
    assert coef[("purchase", "group[b]")] > 0 > coef[("purchase", "group[c]")]
