"""Monthly cohort table: cohortkit vs vectorised pandas vs hand-written DuckDB SQL.

10,000,000 transactions (``--quick``: 200,000) by one customer in ten as many customers, generated with
numpy into Parquet under ``benchmarks/_work/`` (gitignored). cohortkit and the SQL read the Parquet
file; pandas gets the log already in memory (its read time is not counted). All three compute the same
dense table (observation end = the last purchase day, complete months only, zeros for empty cells);
the results are checked equal before timing.

    python benchmarks/run.py cohort [--quick]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import best_interleaved, markdown_table  # noqa: E402

WORK = HERE / "_work"
COLUMNS = ["cohort", "period_number", "cohort_size", "active_customers", "retention", "orders",
           "revenue", "revenue_per_customer", "cumulative_revenue_per_customer"]


def make_log(n_rows: int, seed: int = 20240101) -> Path:
    """A synthetic purchase log: customers acquired over three years, repeat purchases after."""
    path = WORK / f"cohort_tx_{n_rows}.parquet"
    if path.exists():
        return path
    WORK.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_customers = max(n_rows // 10, 1)
    ids = pa.array([f"C{i:08d}" for i in range(n_customers)])
    start = np.datetime64("2021-01-01T00:00:00", "s")
    acquired = rng.integers(0, 3 * 365, n_customers) * 86_400 + rng.integers(0, 86_400, n_customers)
    # every customer buys once at acquisition; the other rows are repeat purchases after it
    who = np.concatenate([np.arange(n_customers), rng.integers(0, n_customers, n_rows - n_customers)])
    offset = np.zeros(n_rows, dtype="int64")
    offset[n_customers:] = (rng.exponential(150.0, n_rows - n_customers) * 86_400).astype("int64") + 1
    seconds = np.minimum(acquired[who] + offset, 3 * 365 * 86_400 + 86_399)
    order = rng.permutation(n_rows)
    table = pa.table({
        "customer_id": ids.take(pa.array(who[order])),
        "date": pa.array(start + seconds[order].astype("timedelta64[s]"), type=pa.timestamp("us")),
        "amount": pa.array(np.round(rng.lognormal(3.5, 0.8, n_rows), 2)),
    })
    pq.write_table(table, path, row_group_size=1_000_000)
    return path


SQL = """
WITH src AS (SELECT customer_id, "date", amount FROM read_parquet('{path}')),
k AS (
    SELECT year(CAST(max("date") AS DATE) + 1) * 12 + month(CAST(max("date") AS DATE) + 1) - 2
           AS last_complete
    FROM src
),
tx AS (
    SELECT customer_id, year("date") * 12 + month("date") - 1 AS p, amount
    FROM src, k
    WHERE year("date") * 12 + month("date") - 1 <= k.last_complete
),
cp AS (SELECT customer_id, p, count(*) AS orders, {revenue} AS revenue FROM tx GROUP BY 1, 2),
firsts AS (SELECT customer_id, min(p) AS cohort FROM cp GROUP BY 1),
cells AS (
    SELECT cohort, p - cohort AS n, count(*) AS active, sum(orders) AS orders,
           CAST(sum(revenue) AS DOUBLE) AS revenue
    FROM cp JOIN firsts USING (customer_id) GROUP BY 1, 2
),
sizes AS (SELECT cohort, active AS cohort_size FROM cells WHERE n = 0),
grid AS (
    SELECT s.cohort, s.cohort_size, g.n
    FROM sizes s, k, LATERAL (SELECT range AS n FROM range(0, k.last_complete - s.cohort + 1)) g
)
SELECT grid.cohort, grid.n AS period_number, grid.cohort_size,
       coalesce(cells.active, 0) AS active_customers,
       coalesce(cells.active, 0) / grid.cohort_size AS retention,
       coalesce(cells.orders, 0) AS orders,
       coalesce(cells.revenue, 0) AS revenue,
       coalesce(cells.revenue, 0) / grid.cohort_size AS revenue_per_customer,
       sum(coalesce(cells.revenue, 0)) OVER (PARTITION BY grid.cohort ORDER BY grid.n)
           / grid.cohort_size AS cumulative_revenue_per_customer
FROM grid LEFT JOIN cells ON grid.cohort = cells.cohort AND grid.n = cells.n
ORDER BY 1, 2
"""


#: exact money sums, as cohortkit's (the same result to the last bit); FLOAT_SUM is the float version
EXACT_SUM = "sum(CAST(amount AS DECIMAL(38, 9)))"
FLOAT_SUM = "sum(amount)"


def cohort_sql(path: Path, revenue: str = EXACT_SUM) -> str:
    """The hand-written cohort table on the Parquet file at ``path``."""
    return SQL.format(path=path, revenue=revenue)


def duckdb_sql(path: Path) -> pd.DataFrame:
    from cohortkit._engine import get_backend

    return get_backend().con.sql(cohort_sql(path)).df()


def pandas_cohorts(df: pd.DataFrame) -> pd.DataFrame:
    """Vectorised pandas: the same definitions as cohortkit.cohort_table(period="M")."""
    after = df["date"].max().normalize() + pd.Timedelta(days=1)
    last_complete = after.year * 12 + after.month - 2
    p = df["date"].dt.year.astype("int64") * 12 + df["date"].dt.month.astype("int64") - 1
    keep = (p <= last_complete).to_numpy()
    frame = pd.DataFrame({"c": df["customer_id"].to_numpy()[keep], "p": p.to_numpy()[keep],
                          "a": df["amount"].to_numpy()[keep]})
    cp = frame.groupby(["c", "p"], sort=False).agg(orders=("a", "size"), revenue=("a", "sum"))
    cp = cp.reset_index()
    cp["cohort"] = cp.groupby("c", sort=False)["p"].transform("min")
    cp["n"] = cp["p"] - cp["cohort"]
    cells = cp.groupby(["cohort", "n"]).agg(active=("c", "size"), orders=("orders", "sum"),
                                             revenue=("revenue", "sum"))
    sizes = cells.xs(0, level="n")["active"]
    lengths = last_complete - sizes.index.to_numpy() + 1
    index = pd.MultiIndex.from_arrays(
        [np.repeat(sizes.index.to_numpy(), lengths), np.concatenate([np.arange(k) for k in lengths])],
        names=["cohort", "n"],
    )
    cells = cells.reindex(index, fill_value=0).reset_index()
    size = np.repeat(sizes.to_numpy(), lengths)
    out = pd.DataFrame({
        "cohort": cells["cohort"], "period_number": cells["n"], "cohort_size": size,
        "active_customers": cells["active"], "retention": cells["active"] / size,
        "orders": cells["orders"], "revenue": cells["revenue"],
        "revenue_per_customer": cells["revenue"] / size,
    })
    out["cumulative_revenue_per_customer"] = out.groupby("cohort")["revenue"].cumsum() / size
    return out


def _comparable(table: pd.DataFrame) -> pd.DataFrame:
    out = table[COLUMNS].copy()
    if isinstance(out["cohort"].dtype, pd.PeriodDtype):
        out["cohort"] = out["cohort"].dt.year * 12 + out["cohort"].dt.month - 1
    out = out.astype({"cohort": "int64", "period_number": "int64", "cohort_size": "int64",
                      "active_customers": "int64", "orders": "int64"})
    return out.sort_values(["cohort", "period_number"]).reset_index(drop=True)


def run(quick: bool = False) -> str:
    import cohortkit as ck

    n_rows = 200_000 if quick else 10_000_000
    t0 = time.perf_counter()
    path = make_log(n_rows)
    print(f"   data: {n_rows:,} rows in {path.name} ({time.perf_counter() - t0:.0f} s)", flush=True)
    df = pd.read_parquet(path)

    def cohortkit_run():
        return ck.cohort_table(str(path), amount_col="amount", period="M")

    def sql_run():
        return duckdb_sql(path)

    def pandas_run():
        return pandas_cohorts(df)

    results = {"cohortkit": cohortkit_run(), "DuckDB SQL": sql_run(), "pandas": pandas_run()}
    reference = _comparable(results["DuckDB SQL"])
    for name, table in results.items():
        pd.testing.assert_frame_equal(_comparable(table), reference, check_dtype=False, rtol=1e-9)
    rounds = 2 if quick else 5
    timings = best_interleaved({"cohortkit": cohortkit_run, "DuckDB SQL": sql_run, "pandas": pandas_run},
                               rounds=rounds)
    for name, secs in timings.items():
        print(f"   {name}: {secs:.2f} s", flush=True)
    rows = [
        {"implementation": "cohortkit.cohort_table (Ibis → DuckDB, Parquet path)",
         "seconds": timings["cohortkit"], "cohortkit / this": 1.0},
        {"implementation": "hand-written DuckDB SQL (Parquet path)", "seconds": timings["DuckDB SQL"],
         "cohortkit / this": timings["cohortkit"] / timings["DuckDB SQL"]},
        {"implementation": "vectorised pandas (DataFrame in memory)", "seconds": timings["pandas"],
         "cohortkit / this": timings["cohortkit"] / timings["pandas"]},
    ]
    ratio = timings["cohortkit"] / timings["DuckDB SQL"]
    verdict = "meets" if ratio <= 1.2 else "misses"
    return "\n".join([
        "## Monthly cohort table (`bench_cohort.py`)\n",
        f"{n_rows:,} transactions, {n_rows // 10:,} customers, {len(reference)} cells; all three "
        f"results checked equal. Best of {rounds} warm runs, taken in turn (cohortkit, SQL, pandas, "
        "cohortkit, ...).\n",
        markdown_table(rows, ["implementation", "seconds", "cohortkit / this"]),
        f"\ncohortkit / DuckDB SQL = {ratio:.2f} ({verdict} the 1.2× target).\n",
    ])


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv))
