"""Simulating customers: cohortkit.simulate (the BG/NBD generator and the whole shop) vs lifetimes'.

``lifetimes.generate_data.beta_geometric_nbd_model`` loops over customers in Python (~20 s for
200,000 customers) and returns the per-customer BG/NBD summary only. cohortkit's ``bgnbd`` returns
the whole transaction log with Gamma-Gamma amounts and the latent truth; ``shop`` returns every table
of the simulated world (campaigns, customers, transactions, the web event log, NPS answers and the
truth). The target: the whole shop at 200,000 customers at least 3× as fast as lifetimes' generator
at the same number of customers (compared by customers per second: the shop's realised number of
customers differs from the requested one by sampling noise).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import best_of, markdown_table  # noqa: E402

PARAMS = {"r": 0.8, "alpha": 60.0, "a": 0.9, "b": 4.0}


def run(quick: bool = False) -> str:
    from lifetimes.generate_data import beta_geometric_nbd_model

    from cohortkit.simulate import bgnbd, shop

    n_ck = 100_000 if quick else 1_000_000
    n_lt = 20_000 if quick else 200_000
    T = 730.0

    def ours():
        return bgnbd(n_ck, **PARAMS, T=T, gamma_gamma=(4.0, 6.0, 9000.0), seed=1)

    def ours_no_spend():
        return bgnbd(n_ck, **PARAMS, T=T, seed=1)

    t_ck = best_of(ours, repeat=3)
    t_ck_ns = best_of(ours_no_spend, repeat=3)
    world = {}

    def whole_shop():
        world["shop"] = shop(n_customers=n_lt)

    t_shop = best_of(whole_shop, repeat=2)
    np.random.seed(1)
    start = time.perf_counter()
    beta_geometric_nbd_model(T, PARAMS["r"], PARAMS["alpha"], PARAMS["a"], PARAMS["b"], size=n_lt)
    t_lt = time.perf_counter() - start  # one run: it is slow and has no warm-up effects worth a repeat

    n_tx = len(ours().transactions)
    n_shop = len(world["shop"].customers)
    rate_lt = n_lt / t_lt
    shop_ratio = (n_shop / t_shop) / rate_lt
    rows = [
        {"generator": "cohortkit.simulate.shop (every table: campaigns, customers, transactions, events, NPS, truth)",
         "customers": f"{n_shop:,} ({len(world['shop'].events):,} events)", "seconds": t_shop,
         "customers / s": f"{n_shop / t_shop:,.0f}", "× lifetimes": shop_ratio},
        {"generator": "cohortkit.simulate.bgnbd (log + Gamma-Gamma amounts + truth)", "customers": f"{n_ck:,} ({n_tx:,} transactions)",
         "seconds": t_ck, "customers / s": f"{n_ck / t_ck:,.0f}", "× lifetimes": (n_ck / t_ck) / rate_lt},
        {"generator": "cohortkit.simulate.bgnbd (log + truth, no amounts)", "customers": f"{n_ck:,}",
         "seconds": t_ck_ns, "customers / s": f"{n_ck / t_ck_ns:,.0f}", "× lifetimes": (n_ck / t_ck_ns) / rate_lt},
        {"generator": "lifetimes.generate_data.beta_geometric_nbd_model (BG/NBD summary only)", "customers": f"{n_lt:,}",
         "seconds": t_lt, "customers / s": f"{rate_lt:,.0f}", "× lifetimes": 1.0},
    ]
    table = markdown_table(rows, ["generator", "customers", "seconds", "customers / s", "× lifetimes"])
    verdict = "meets" if shop_ratio >= 3 else "misses"
    return (
        "## Simulation: the shop and BG/NBD customers (`bench_simulate.py`)\n\n"
        f"BG/NBD with r={PARAMS['r']}, alpha={PARAMS['alpha']}/day, a={PARAMS['a']}, b={PARAMS['b']}, "
        f"every customer observed {T:.0f} days; the shop with its defaults (two years, six campaigns) and "
        f"{n_lt:,} customers requested. cohortkit best of 3 runs (the shop: 2), lifetimes one run of "
        f"{n_lt:,} customers (it loops in Python), compared by customers per second.\n\n" + table + "\n\n"
        f"The whole shop is {shop_ratio:.1f}× lifetimes' BG/NBD-only generator at {n_lt:,} customers "
        f"({verdict} the 3× target).\n"
    )


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv))
