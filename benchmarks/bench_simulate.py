"""Simulating BG/NBD customers: cohortkit.simulate.bgnbd vs lifetimes' generator.

``lifetimes.generate_data.beta_geometric_nbd_model`` loops over customers in Python (about 15 s for
200,000 customers), so it runs on a smaller population and the comparison is per-customer throughput.
cohortkit returns more (the whole transaction log with Gamma-Gamma amounts and the latent truth);
lifetimes returns the per-customer summary only.
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
    n_lt = 2_000 if quick else 20_000
    T = 730.0

    def ours():
        return bgnbd(n_ck, **PARAMS, T=T, gamma_gamma=(4.0, 6.0, 9000.0), seed=1)

    def ours_no_spend():
        return bgnbd(n_ck, **PARAMS, T=T, seed=1)

    t_ck = best_of(ours, repeat=3)
    t_ck_ns = best_of(ours_no_spend, repeat=3)
    np.random.seed(1)
    start = time.perf_counter()
    beta_geometric_nbd_model(T, PARAMS["r"], PARAMS["alpha"], PARAMS["a"], PARAMS["b"], size=n_lt)
    t_lt = time.perf_counter() - start  # one run: it is slow and has no warm-up effects worth a repeat
    n_shop = 20_000
    t_shop = best_of(lambda: shop(n_customers=n_shop), repeat=1)

    n_tx = len(ours().transactions)
    rate_lt = n_lt / t_lt
    rows = [
        {"generator": "cohortkit.simulate.bgnbd (log + Gamma-Gamma amounts + truth)", "customers": f"{n_ck:,} ({n_tx:,} transactions)",
         "seconds": t_ck, "customers / s": f"{n_ck / t_ck:,.0f}", "× lifetimes": (n_ck / t_ck) / rate_lt},
        {"generator": "cohortkit.simulate.bgnbd (log + truth, no amounts)", "customers": f"{n_ck:,}",
         "seconds": t_ck_ns, "customers / s": f"{n_ck / t_ck_ns:,.0f}", "× lifetimes": (n_ck / t_ck_ns) / rate_lt},
        {"generator": "lifetimes.generate_data.beta_geometric_nbd_model (summary only)", "customers": f"{n_lt:,}",
         "seconds": t_lt, "customers / s": f"{rate_lt:,.0f}", "× lifetimes": 1.0},
        {"generator": "cohortkit.simulate.shop (all tables, 2 years)", "customers": f"{n_shop:,}",
         "seconds": t_shop, "customers / s": f"{n_shop / t_shop:,.0f}", "× lifetimes": ""},
    ]
    table = markdown_table(rows, ["generator", "customers", "seconds", "customers / s", "× lifetimes"])
    return (
        "## Simulation: BG/NBD customers\n\n"
        f"BG/NBD with r={PARAMS['r']}, alpha={PARAMS['alpha']}/day, a={PARAMS['a']}, b={PARAMS['b']}, "
        f"every customer observed {T:.0f} days. cohortkit best of 3 runs; lifetimes one run on a "
        "smaller population (it loops in Python), compared by customers per second.\n\n" + table + "\n"
    )


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv))
