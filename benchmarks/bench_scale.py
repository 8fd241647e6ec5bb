"""Scale: RFM summary against its peers at 1M and 10M rows, peak memory of Parquet-path runs, import time.

Each measurement runs in a fresh child process, so its peak RSS (``VmHWM``) is its own. Inputs are
Parquet files of synthetic transactions/events written once into ``benchmarks/_work/``.

Peers for the RFM summary (days, same-day purchases merged, observation end = last date):
* ``lifetimes.utils.summary_data_from_transaction_data`` (pandas, the library analysts use),
* a vectorised pandas implementation,
* hand-written DuckDB SQL on the Parquet file.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work"
sys.path.insert(0, str(HERE))
from _common import in_turn, markdown_table  # noqa: E402

END = "2024-12-31"


def _write_inputs(n_rows: int) -> tuple[Path, Path]:
    import numpy as np
    import pandas as pd

    WORK.mkdir(exist_ok=True)
    tx_path = WORK / f"scale_tx_{n_rows}.parquet"
    ev_path = WORK / f"scale_events_{n_rows}.parquet"
    rng = np.random.default_rng(1)
    if not tx_path.exists():
        n_customers = max(n_rows // 10, 1)
        customer = rng.integers(0, n_customers, n_rows)
        seconds = rng.integers(0, 730 * 86400, n_rows)
        frame = pd.DataFrame({
            "customer_id": pd.Series(customer).map(lambda i: f"C{i:08d}") if n_rows <= 2_000_000
            else ("C" + pd.Series(customer).astype("str").str.zfill(8)),
            "date": pd.Timestamp("2023-01-01") + pd.to_timedelta(seconds, unit="s"),
            "amount": rng.gamma(2.0, 20.0, n_rows).round(2),
        })
        frame.to_parquet(tx_path, coerce_timestamps="us", allow_truncated_timestamps=True)
    if not ev_path.exists():
        n_users = max(n_rows // 8, 1)
        frame = pd.DataFrame({
            "user_id": "U" + pd.Series(rng.integers(0, n_users, n_rows)).astype("str"),
            "timestamp": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 90 * 86400, n_rows), unit="s"),
            "event": rng.choice(["view", "cart", "buy", "other"], n_rows, p=[0.5, 0.25, 0.1, 0.15]),
        })
        frame.to_parquet(ev_path, coerce_timestamps="us", allow_truncated_timestamps=True)
    return tx_path, ev_path


SNIPPETS = {
    "cohortkit rfm_summary": """
        import cohortkit as ck
        import cohortkit.clv, ibis
        from cohortkit._engine import get_backend
        get_backend()  # connect (imports ibis' DuckDB backend), as the SQL peer connects before timing
        # --- timed
        out = ck.rfm_summary(PATH, customer_col="customer_id", date_col="date", amount_col="amount",
                             observation_end=END, time_unit="D")
        rows = len(out)
    """,
    "DuckDB SQL rfm": """
        import duckdb
        import pandas  # noqa: F401  (imports are not timed; .df() needs pandas)
        con = duckdb.connect()
        # --- timed
        # the fastest form we know: merge days, then one GROUP BY with arg_min (no join back)
        out = con.sql(f'''
            WITH days AS (
                SELECT customer_id, CAST(date AS DATE) AS day, SUM(amount) AS amount
                FROM read_parquet('{PATH}') WHERE CAST(date AS DATE) <= DATE '{END}'
                GROUP BY 1, 2)
            SELECT customer_id,
                   COUNT(*) - 1 AS frequency,
                   DATE_DIFF('day', MIN(day), MAX(day)) AS recency,
                   DATE_DIFF('day', MIN(day), DATE '{END}') AS T,
                   COALESCE((SUM(amount) - ARG_MIN(amount, day)) / NULLIF(COUNT(*) - 1, 0), 0)
                       AS monetary_value
            FROM days GROUP BY 1 ORDER BY 1''').df()
        rows = len(out)
    """,
    "DuckDB SQL rfm (join to first day)": """
        import duckdb
        import pandas  # noqa: F401  (imports are not timed; .df() needs pandas)
        con = duckdb.connect()
        # --- timed
        # the textbook form: each customer's first day joined back to the merged days
        out = con.sql(f'''
            WITH days AS (
                SELECT customer_id, CAST(date AS DATE) AS day, SUM(amount) AS amount
                FROM read_parquet('{PATH}') WHERE CAST(date AS DATE) <= DATE '{END}'
                GROUP BY 1, 2),
            firsts AS (SELECT customer_id, MIN(day) AS first_day FROM days GROUP BY 1)
            SELECT d.customer_id,
                   COUNT(*) - 1 AS frequency,
                   DATE_DIFF('day', f.first_day, MAX(d.day)) AS recency,
                   DATE_DIFF('day', f.first_day, DATE '{END}') AS T,
                   COALESCE(SUM(CASE WHEN d.day > f.first_day THEN d.amount END)
                            / NULLIF(COUNT(*) - 1, 0), 0) AS monetary_value
            FROM days d JOIN firsts f USING (customer_id)
            GROUP BY d.customer_id, f.first_day ORDER BY 1''').df()
        rows = len(out)
    """,
    "pandas rfm": """
        import pandas as pd
        import pyarrow.parquet  # noqa: F401  (imports are not timed)
        # --- timed
        tx = pd.read_parquet(PATH)
        tx["day"] = tx["date"].dt.floor("D")
        tx = tx[tx["day"] <= pd.Timestamp(END)]
        days = tx.groupby(["customer_id", "day"], as_index=False)["amount"].sum()
        first = days.groupby("customer_id")["day"].transform("min")
        g = days.assign(first=first, repeat=days["amount"].where(days["day"] > first)).groupby("customer_id")
        out = pd.DataFrame({"frequency": g.size() - 1,
                            "recency": (g["day"].max() - g["first"].min()).dt.days,
                            "T": (pd.Timestamp(END) - g["first"].min()).dt.days,
                            "monetary_value": g["repeat"].sum() / (g.size() - 1).where(lambda s: s > 0)}).fillna(0)
        rows = len(out)
    """,
    "lifetimes summary_data_from_transaction_data": """
        import warnings
        import pandas as pd
        import pyarrow.parquet  # noqa: F401  (imports are not timed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from lifetimes.utils import summary_data_from_transaction_data
        # --- timed
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tx = pd.read_parquet(PATH)
            out = summary_data_from_transaction_data(tx, "customer_id", "date", monetary_value_col="amount",
                                                     observation_period_end=END, freq="D")
        rows = len(out)
    """,
    "cohortkit cohort_table (M)": """
        import cohortkit as ck
        import cohortkit.cohort, ibis
        from cohortkit._engine import get_backend
        get_backend()  # connect (imports ibis' DuckDB backend), as the SQL peer connects before timing
        # --- timed
        out = ck.cohort_table(PATH, customer_col="customer_id", date_col="date", amount_col="amount",
                              period="M", observation_end=END)
        rows = len(out)
    """,
    "cohortkit funnel (3 steps, 7D)": """
        import cohortkit as ck
        import cohortkit.funnel, ibis
        from cohortkit._engine import get_backend
        get_backend()  # connect (imports ibis' DuckDB backend), as the SQL peer connects before timing
        # --- timed
        out = ck.funnel(EVENTS, ["view", "cart", "buy"], customer_col="user_id", date_col="timestamp",
                        event_col="event", window="7D")
        rows = len(out)
    """,
}


def _best(runs: list[dict]) -> dict:
    """Best time of a snippet's fresh-process runs; peak RSS is the largest of them."""
    ok = [r for r in runs if isinstance(r["rows"], int)]
    if not ok:
        return runs[0]
    best = min(ok, key=lambda r: r["seconds"])
    failed = len(runs) - len(ok)
    note = f"{best['rows']} ({failed} of {len(runs)} runs failed)" if failed else best["rows"]
    return dict(best, peak_mb=max(r["peak_mb"] for r in ok), rows=note)


def _run_once(snippet: str, path: Path, events: Path, timeout: int = 1800) -> dict:
    setup, work = textwrap.dedent(snippet).split("# --- timed\n")
    code = textwrap.dedent(
        f"""
        import json, time
        PATH, EVENTS, END = {str(path)!r}, {str(events)!r}, {END!r}

        def _check(out):
            cols = ["frequency", "recency", "T", "monetary_value"]
            if not all(c in out for c in cols):
                return ""
            return " / ".join(f"{{float(out[c].sum()):,.6g}}" for c in cols)
        """
    ) + setup + "start = time.perf_counter()\n" + work + textwrap.dedent(
        """
        seconds = time.perf_counter() - start
        check = _check(out)
        # VmHWM is this process's own high-water mark (ru_maxrss would include the parent's at fork)
        peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")) / 1024
        print(json.dumps({"seconds": seconds, "peak_mb": peak, "rows": rows, "check": check}))
        """
    )
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"seconds": float("nan"), "peak_mb": float("nan"), "rows": "timeout"}
    if out.returncode != 0:
        return {"seconds": float("nan"), "peak_mb": float("nan"), "rows": "error: " + out.stderr.strip().splitlines()[-1][:80]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _import_time() -> float:
    code = "import time; t = time.perf_counter(); import cohortkit; print(time.perf_counter() - t)"
    runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
            for _ in range(3)]
    return min(runs)


def run(quick: bool = False) -> str:
    sizes = [200_000] if quick else [1_000_000, 10_000_000]
    repeat = 1 if quick else 3
    rows = []
    for n in sizes:
        tx_path, ev_path = _write_inputs(n)
        runs = in_turn({name: functools.partial(_run_once, snippet, tx_path, ev_path)
                        for name, snippet in SNIPPETS.items()}, repeat)
        results = {name: _best(r) for name, r in runs.items()}
        base = results["cohortkit rfm_summary"]["seconds"]
        for name, res in results.items():
            peer = name.startswith(("DuckDB", "pandas", "lifetimes"))
            rows.append({
                "rows": f"{n:,}", "task": name, "seconds": res["seconds"], "peak RSS (MB)": res["peak_mb"],
                "output rows": res["rows"], "check": res.get("check", ""),
                "peer ÷ cohortkit": (res["seconds"] / base) if peer else "",
            })
    import_seconds = _import_time()
    text = [
        "## Scale: RFM summary vs peers, Parquet paths, memory, import time\n",
        f"Each row is the best of {repeat} fresh process(es), run in turn with the other rows, reading the "
        "same Parquet file (peak RSS: the largest, each process's own). The check column (sums of "
        "frequency, recency, T and monetary value, 6 digits) is a quick consistency check of the RFM "
        "implementations; tests/clv/test_summary.py compares full tables with lifetimes. "
        "`peer ÷ cohortkit` > 1 means cohortkit's rfm_summary is faster (targets: lifetimes ≥ 5 at 10M rows, "
        "DuckDB SQL ≥ 1/1.2 = 0.83).\n",
        markdown_table(rows, ["rows", "task", "seconds", "peak RSS (MB)", "output rows", "check", "peer ÷ cohortkit"]),
        f"\n`import cohortkit`: {import_seconds:.2f} s (best of 3 fresh processes; target < 1.5 s).\n",
    ]
    return "\n".join(text)


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv))
