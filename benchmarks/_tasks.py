"""The timed tasks of ``bench_scale.py``: each (task, implementation) as a setup that returns a call.

``make(task, impl, path)`` does the untimed setup (imports, connecting) and returns a function that
reads the Parquet file at ``path`` and returns the task's result as a pandas DataFrame. Nothing is
imported at module level, so a child process that runs the DuckDB SQL peer never carries cohortkit
(or Ibis) in its memory.

Tasks (every implementation reads the same Parquet file inside the timed call):

* ``rfm``: RFM summary, days, same-day purchases merged, observation end 2024-12-31. The SQL peer
  returns **the same pandas frame** as ``cohortkit.rfm_summary`` (same columns, dtypes and values to
  the last bit, checked): exact ``DECIMAL(38, 9)`` sums as cohortkit's ``exact_sum``, ``recency`` and
  ``T`` as float64, merge days with negative totals dropped. ``rfm_float_sql`` is the fastest SQL we
  know that skips those rules (float sums, integer days): not the same frame, shown for reference.
* ``cohort``: monthly cohort table, observation end the last purchase, complete months only.
* ``funnel``: 3-step 7-day ordered funnel on an event log (users per step, median / p90 times).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
END = "2024-12-31"
STEPS = ["view", "cart", "buy"]

RFM_SQL = """
WITH days AS (
    SELECT customer_id, CAST(date AS DATE) AS day, SUM(CAST(amount AS DECIMAL(38, 9))) AS amount
    FROM read_parquet('{path}')
    WHERE date < DATE '{end}' + 1
    GROUP BY 1, 2
    HAVING SUM(CAST(amount AS DECIMAL(38, 9))) >= 0)
SELECT customer_id,
       COUNT(*) - 1 AS frequency,
       CAST(DATE_DIFF('day', MIN(day), MAX(day)) AS DOUBLE) AS recency,
       CAST(DATE_DIFF('day', MIN(day), DATE '{end}') AS DOUBLE) AS T,
       CASE WHEN COUNT(*) > 1
            THEN CAST(SUM(amount) - ARG_MIN(amount, day) AS DOUBLE) / (COUNT(*) - 1)
            ELSE 0.0 END AS monetary_value
FROM days GROUP BY 1 ORDER BY 1
"""

RFM_FLOAT_SQL = """
WITH days AS (
    SELECT customer_id, CAST(date AS DATE) AS day, SUM(amount) AS amount
    FROM read_parquet('{path}') WHERE CAST(date AS DATE) <= DATE '{end}'
    GROUP BY 1, 2)
SELECT customer_id,
       COUNT(*) - 1 AS frequency,
       DATE_DIFF('day', MIN(day), MAX(day)) AS recency,
       DATE_DIFF('day', MIN(day), DATE '{end}') AS T,
       COALESCE((SUM(amount) - ARG_MIN(amount, day)) / NULLIF(COUNT(*) - 1, 0), 0) AS monetary_value
FROM days GROUP BY 1 ORDER BY 1
"""


def _duckdb():
    import duckdb
    import pandas  # noqa: F401  (.df() needs pandas; imported before timing)

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")  # as cohortkit's connection
    return con


def _cohortkit(module: str):
    """cohortkit with the module timed imported and the connection made, before timing (as duckdb is)."""
    import importlib

    import cohortkit as ck
    from cohortkit._engine import get_backend

    importlib.import_module(module)
    get_backend()  # connect (imports Ibis' DuckDB backend), as the SQL peer connects before timing
    return ck


# --- RFM -------------------------------------------------------------------------------------------


def rfm_cohortkit(path):
    ck = _cohortkit("cohortkit.clv")
    return lambda: ck.rfm_summary(str(path), customer_col="customer_id", date_col="date",
                                  amount_col="amount", observation_end=END, time_unit="D")


def rfm_sql(path):
    con = _duckdb()
    sql = RFM_SQL.format(path=path, end=END)
    return lambda: con.sql(sql).df()


def rfm_float_sql(path):
    con = _duckdb()
    sql = RFM_FLOAT_SQL.format(path=path, end=END)
    return lambda: con.sql(sql).df()


def rfm_pandas(path):
    import pandas as pd
    import pyarrow.parquet  # noqa: F401

    end = pd.Timestamp(END)

    def run():
        tx = pd.read_parquet(path)
        tx["day"] = tx["date"].dt.floor("D")
        tx = tx[tx["day"] <= end]
        days = tx.groupby(["customer_id", "day"], as_index=False)["amount"].sum()
        days = days[days["amount"] >= 0]
        first = days.groupby("customer_id")["day"].transform("min")
        g = days.assign(first=first, repeat=days["amount"].where(days["day"] > first)).groupby("customer_id")
        n = g.size() - 1
        out = pd.DataFrame({
            "frequency": n,
            "recency": (g["day"].max() - g["first"].min()).dt.days.astype("float64"),
            "T": (end - g["first"].min()).dt.days.astype("float64"),
            "monetary_value": (g["repeat"].sum() / n.where(n > 0)).fillna(0.0),
        })
        return out.reset_index()

    return run


def rfm_lifetimes(path):
    import warnings

    import pandas as pd
    import pyarrow.parquet  # noqa: F401

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lifetimes.utils import summary_data_from_transaction_data

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tx = pd.read_parquet(path)
            out = summary_data_from_transaction_data(tx, "customer_id", "date", monetary_value_col="amount",
                                                     observation_period_end=END, freq="D")
        return out.reset_index()

    return run


# --- cohort table ----------------------------------------------------------------------------------


def cohort_cohortkit(path):
    ck = _cohortkit("cohortkit.cohort")
    return lambda: ck.cohort_table(str(path), customer_col="customer_id", date_col="date",
                                   amount_col="amount", time_unit="M")


def cohort_sql(path, float_sums: bool = False):
    sys.path.insert(0, str(HERE))
    import bench_cohort

    con = _duckdb()
    sql = bench_cohort.cohort_sql(path, bench_cohort.FLOAT_SUM if float_sums else bench_cohort.EXACT_SUM)
    return lambda: con.sql(sql).df()


def cohort_float_sql(path):
    return cohort_sql(path, float_sums=True)


def cohort_pandas(path):
    import pandas as pd

    sys.path.insert(0, str(HERE))
    from bench_cohort import pandas_cohorts

    return lambda: pandas_cohorts(pd.read_parquet(path))


# --- funnel ----------------------------------------------------------------------------------------


def funnel_cohortkit(path):
    ck = _cohortkit("cohortkit.funnels")
    return lambda: ck.funnel(str(path), STEPS, customer_col="user_id", date_col="timestamp",
                             event_col="event", window="7D")


def funnel_sql(path):
    sys.path.insert(0, str(HERE))
    from bench_funnel import duckdb_sql, sql_table

    con = _duckdb()
    sql = duckdb_sql(path, STEPS)
    return lambda: sql_table(con.sql(sql).df())


def funnel_pandas(path):
    sys.path.insert(0, str(HERE))
    from bench_funnel import run_pandas

    return lambda: run_pandas(path, STEPS)


TASKS = {
    "rfm": {"cohortkit": rfm_cohortkit, "DuckDB SQL": rfm_sql, "DuckDB SQL, float sums": rfm_float_sql,
            "pandas": rfm_pandas, "lifetimes": rfm_lifetimes},
    "cohort": {"cohortkit": cohort_cohortkit, "DuckDB SQL": cohort_sql, "DuckDB SQL, float sums": cohort_float_sql,
               "pandas": cohort_pandas},
    "funnel": {"cohortkit": funnel_cohortkit, "DuckDB SQL": funnel_sql, "pandas": funnel_pandas},
}


def make(task: str, impl: str, path):
    return TASKS[task][impl](path)


# --- comparable forms (checked in the parent) ------------------------------------------------------


def comparable(task: str, impl: str, out):
    """The result in a form every implementation of ``task`` shares (for the equality check)."""
    import pandas as pd

    if task == "rfm":
        out = out.copy()
        out.attrs = {}
        if impl in ("pandas", "lifetimes", "DuckDB SQL, float sums"):
            out = out.astype({"frequency": "int64", "recency": "float64", "T": "float64",
                              "monetary_value": "float64"})
            out["customer_id"] = out["customer_id"].astype("str")
        return out.sort_values("customer_id").reset_index(drop=True)
    if task == "cohort":
        sys.path.insert(0, str(HERE))
        from bench_cohort import _comparable

        return _comparable(out)
    if task == "funnel":
        sys.path.insert(0, str(HERE))
        from bench_funnel import comparable_funnel

        return out if impl != "cohortkit" else comparable_funnel(out)
    raise ValueError(task)


def check_same(task: str, ref, got, exact: bool) -> None:
    """Raise AssertionError when ``got`` is not ``ref`` (exactly, or to 1e-9 relative / 1 µs)."""
    import numpy as np
    import pandas as pd

    if task == "funnel":
        assert got["users"].tolist() == ref["users"].tolist(), (got, ref)
        for col in ("median_us", "p90_us"):
            np.testing.assert_allclose(got[col], ref[col], rtol=0, atol=1.0, equal_nan=True)
        return
    if exact:
        pd.testing.assert_frame_equal(got, ref, check_exact=True)
    else:
        pd.testing.assert_frame_equal(got, ref, check_dtype=False, rtol=1e-9)
