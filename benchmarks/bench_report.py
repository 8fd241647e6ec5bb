"""make report on a big transactions file: end-to-end time and peak memory of the whole process tree.

    python benchmarks/bench_report.py                 # 20,000,000 rows; writes benchmarks/REPORT_RESULTS.md
    python benchmarks/bench_report.py --rows 2000000  # a smaller run
    python benchmarks/bench_report.py --quick         # 200,000 rows, to check the script runs

The input is a resampling of the bundled shop's purchase histories: whole customers are drawn with
replacement and each draw gets a new id (``C000123-00042``), until the file has ``--rows`` rows (about
2.5 purchases per customer over two years, as in the shop, so 20,000,000 rows are about 8 million
customers). It is written once, as Parquet, to ``--work`` (default ``/tmp/cohortkit-bench-report``).

The report is built with the command ``make report DATA=<file>`` runs (``python -m cohortkit._report
--notebooks notebooks --jobs 2 --data <file>``), with ``--out`` and ``--work`` in the work folder so
the repository's ``reports/`` is left alone. Peak memory is the largest sum of the resident set sizes
(RSS) of the report process and every process it started (the two Jupyter kernels and the summary process), sampled every
0.2 s with psutil; summing RSS counts shared library pages once per process, so it is an upper bound.
Targets: < 5 minutes and < 6 GB on a 2-core machine.

``make bench`` (benchmarks/run.py) calls :func:`run` like every ``bench_*.py`` (with ``--quick`` at
200,000 rows); the 20M-row figures are in ``benchmarks/REPORT_RESULTS.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = Path("/tmp/cohortkit-bench-report")
TARGET_SECONDS, TARGET_GB = 300, 6.0


def write_input(path: Path, n_rows: int, seed: int = 7) -> Path:
    """Write ``n_rows`` transactions resampled from the shop (whole customers, new ids) to ``path``."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    import cohortkit as ck

    if path.exists() and pq.ParquetFile(path).metadata.num_rows == n_rows:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tx = pd.read_csv(ck.datasets.data_path("shop", "transactions.csv.gz"), dtype={"customer_id": "str"},
                     parse_dates=["date"]).sort_values(["customer_id", "date"], ignore_index=True)
    codes, names = pd.factorize(tx["customer_id"], sort=True)
    starts = np.searchsorted(codes, np.arange(len(names)))
    sizes = np.diff(np.append(starts, len(tx)))
    rng = np.random.default_rng(seed)
    # enough draws for n_rows, then cut at exactly n_rows (the last customer may lose a purchase or two)
    draws = rng.integers(0, len(names), int(n_rows / sizes.mean() * 1.05) + 10)
    draws = draws[: np.searchsorted(np.cumsum(sizes[draws]), n_rows) + 1]
    draw_sizes = sizes[draws]
    rows = np.repeat(starts[draws], draw_sizes) + (
        np.arange(draw_sizes.sum()) - np.repeat(np.cumsum(draw_sizes) - draw_sizes, draw_sizes))
    rows = rows[:n_rows]
    draw_of_row = np.repeat(np.arange(len(draws)), draw_sizes)[:n_rows]
    ids = pc.binary_join_element_wise(
        pa.array(np.asarray(names, dtype=object)[codes[rows]], type=pa.string()),
        pc.utf8_lpad(pc.cast(pa.array(draw_of_row), pa.string()), 8, "0"), "-")
    table = pa.table({
        "customer_id": ids,
        "date": pa.array(tx["date"].to_numpy()[rows].astype("datetime64[us]")),
        "amount": pa.array(tx["amount"].to_numpy()[rows]),
    })
    tmp = path.with_suffix(".tmp")
    pq.write_table(table, tmp, row_group_size=1_000_000)
    tmp.replace(path)
    return path


_LABELS: dict[int, str] = {}


def _label(p) -> str:
    """``kernel PID`` for a Jupyter kernel, ``summary PID`` for the report's summary process."""
    import psutil

    if p.pid in _LABELS:
        return _LABELS[p.pid]
    try:
        command = " ".join(p.cmdline())
    except psutil.Error:
        command = ""
    # a kernel's first sample may come before it runs ipykernel: its label is fixed once it is known
    kind = "kernel" if "ipykernel" in command else "summary" if "multiprocessing" in command else "process"
    if kind != "process":
        _LABELS[p.pid] = f"{kind} {p.pid}"
    return f"{kind} {p.pid}"


def _tree_rss(proc, per_process: dict | None = None, now: float | None = None,
              traces: dict | None = None) -> int:
    """The summed RSS of ``proc`` and its descendants; ``per_process`` keeps each one's largest RSS and
    ``traces`` each one's samples (``{label: {"created": epoch seconds, "samples": [(t, rss), ...]}}``)."""
    import psutil

    total = 0
    try:
        members = [proc] + proc.children(recursive=True)
    except psutil.NoSuchProcess:
        return 0
    for p in members:
        try:
            rss = p.memory_info().rss
        except psutil.Error:
            continue
        total += rss
        label = "report" if p.pid == proc.pid else _label(p)
        if per_process is not None:
            per_process[label] = max(per_process.get(label, 0), rss)
        if traces is not None and now is not None:
            if label not in traces:
                try:
                    created = p.create_time()
                except psutil.Error:
                    created = None
                traces[label] = {"created": created, "samples": []}
            traces[label]["samples"].append((now, rss))
    return total


# --duckdb-memory-limit: an experiment, not cohortkit's behaviour. A sitecustomize module on PYTHONPATH
# (read by the report process and by both kernels) gives every DuckDB connection a memory limit, as an
# engine setting would; DuckDB's default is 80 % of the machine's memory in *each* process.
_SITECUSTOMIZE = """
import os
_limit = os.environ.get("COHORTKIT_BENCH_DUCKDB_MEMORY")
if _limit:
    import duckdb
    _connect = duckdb.connect

    def _limited(*args, **kwargs):
        con = _connect(*args, **kwargs)
        con.execute(f"SET memory_limit = '{_limit}'")
        return con

    duckdb.connect = _limited
"""


def run_report(data: Path, work: Path, jobs: int = 2, notebooks: Path = ROOT / "notebooks",
               duckdb_memory_limit: str | None = None) -> dict:
    """Build the report on ``data``; wall seconds, peak RSS of the process tree, per-notebook seconds."""
    import os

    import psutil

    env = dict(os.environ)
    if duckdb_memory_limit:
        site = work / "site"
        site.mkdir(parents=True, exist_ok=True)
        (site / "sitecustomize.py").write_text(_SITECUSTOMIZE, encoding="utf-8")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
        env["COHORTKIT_BENCH_DUCKDB_MEMORY"] = duckdb_memory_limit

    out, executed = work / "reports", work / "executed"
    command = [sys.executable, "-m", "cohortkit._report", "--notebooks", str(notebooks),
               "--out", str(out), "--work", str(executed), "--jobs", str(jobs), "--data", str(data)]
    timings = executed / "timings.json"
    if timings.exists():
        timings.unlink()  # the report orders notebooks by the last run's times: start from none
    peak, samples, per_process, traces = 0, [], {}, {}
    started_at = time.time()
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    ps = psutil.Process(proc.pid)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    while proc.poll() is None:
        rss = _tree_rss(ps, per_process, now=round(time.time(), 1), traces=traces)
        peak = max(peak, rss)
        samples.append((round(time.perf_counter() - start, 1), rss))
        time.sleep(0.2)
    seconds = time.perf_counter() - start
    reader.join(timeout=5)
    for label in [k for k in traces if k.startswith("process ")]:  # sampled before its label was known
        final = _LABELS.get(int(label.split()[1]))
        if final:
            early = traces.pop(label)
            if final in traces:
                traces[final]["samples"] = sorted(early["samples"] + traces[final]["samples"])
                traces[final]["created"] = early["created"] or traces[final]["created"]
            else:
                traces[final] = early
            per_process[final] = max(per_process.get(final, 0), per_process.pop(label, 0))
    # two notebooks print at a time, so one line may hold the end of one message and another message
    per_notebook = {name: float(secs) for name, secs in re.findall(r"executed (\S+\.ipynb) in ([\d.]+) s", "".join(lines))}
    return {"seconds": seconds, "peak_gb": peak / 1e9, "started_at": started_at, "returncode": proc.returncode, "per_notebook": per_notebook,
            "output": "".join(lines)[-4000:], "samples": samples,
            "peak_gb_by_process": {k: v / 1e9 for k, v in sorted(per_process.items(), key=lambda kv: -kv[1])},
            "traces": traces}


def section(n_rows: int, data: Path, result: dict, executed: Path | None = None) -> str:
    ok = result["returncode"] == 0
    verdict = (f"{'meets' if result['seconds'] < TARGET_SECONDS else 'misses'} the {TARGET_SECONDS // 60}-minute target, "
               f"{'meets' if result['peak_gb'] < TARGET_GB else 'misses'} the {TARGET_GB:g} GB target")
    lines = [
        "## make report on a big transactions file\n",
        f"`make report DATA=<{n_rows:,}-row Parquet>` (two notebooks at a time), on {platform.machine()} with "
        f"{_cores()} cores, Python {platform.python_version()}, {dt.datetime.now():%Y-%m-%d %H:%M}. Input: "
        f"{data.stat().st_size / 1e6:,.0f} MB of Parquet, whole shop customers resampled with new ids "
        "(see `benchmarks/bench_report.py`).\n",
        *([f"Experiment: every DuckDB connection of the run had `SET memory_limit = '{result['duckdb_memory_limit']}'` "
           "(a sitecustomize module, standing in for an engine setting cohortkit does not have yet).\n"]
          if result.get("duckdb_memory_limit") else []),
        "| rows | end to end (s) | peak RSS of the process tree (GB) | result |",
        "|---|---|---|---|",
        f"| {n_rows:,} | {result['seconds']:.0f} | {result['peak_gb']:.2f} | "
        f"{verdict if ok else 'failed: ' + result['output'].strip().splitlines()[-1][:200]} |",
        "",
        "Per notebook (seconds in its kernel, two running at a time):\n",
        "| notebook | seconds |",
        "|---|---|",
        *[f"| {name} | {secs:.1f} |" for name, secs in sorted(result["per_notebook"].items())],
        "",
    ]
    by_process = result.get("peak_gb_by_process") or {}
    if by_process:
        lines += ["Largest RSS of each process (at different moments, so they do not add up to the peak): "
                  + ", ".join(f"{name} {gb:.2f} GB" for name, gb in by_process.items() if gb >= 0.1) + ".\n"]
    cells = slowest_cells(executed) if executed is not None else []
    if cells:
        lines += ["The slowest cells (papermill's duration of each cell):\n",
                  "| notebook | cell | seconds | first line |", "|---|---|---|---|",
                  *[f"| {nb} | {cid} | {secs:.1f} | `{first}` |" for nb, cid, secs, first in cells], ""]
    kernels = kernel_peaks(executed, result) if executed is not None else []
    if kernels:
        lines += ["Each process's largest RSS and the cell it was running then (a notebook's kernel is the one "
                  "started when the notebook started; the summary process computes the index's executive summary):\n",
                  "| process | largest RSS (GB) | at (s from start) | cell running then | first line |",
                  "|---|---|---|---|---|",
                  *[f"| {name} | {gb:.2f} | {at:.0f} | {cid} | `{first}` |" for name, gb, at, cid, first in kernels], ""]
    heavy = memory_by_cell(executed, result) if executed is not None else []
    if heavy:
        lines += ["The cells running when the process tree's RSS was largest (two notebooks run at a time, so "
                  "a cell shares its moment with one of the other notebook's):\n",
                  "| notebook | cell | tree RSS (GB) | first line |", "|---|---|---|---|",
                  *[f"| {nb} | {cid} | {gb:.2f} | `{first}` |" for nb, cid, gb, first in heavy], ""]
    return "\n".join(lines)


def memory_by_cell(executed: Path, result: dict, top: int = 8) -> list[tuple[str, str, float, str]]:
    """The cells during which the process tree's RSS was largest: (notebook, cell id, GB, first line)."""
    import datetime as _dt

    import nbformat

    if "started_at" not in result or not result.get("samples"):
        return []
    samples = [(result["started_at"] + t, rss) for t, rss in result["samples"]]
    cells = []
    for path in sorted(executed.glob("[0-9][0-9]-*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("papermill", {})
            if cell.cell_type != "code" or not meta.get("start_time") or not meta.get("end_time"):
                continue
            begin = _dt.datetime.fromisoformat(meta["start_time"].replace("Z", "+00:00")).timestamp()
            end = _dt.datetime.fromisoformat(meta["end_time"].replace("Z", "+00:00")).timestamp()
            during = [rss for t, rss in samples if begin <= t <= end]
            if during:
                first = next((line for line in cell.source.splitlines() if line.strip() and not line.startswith("#")), "")
                cells.append((path.stem, cell.get("id", "?"), max(during) / 1e9, first.strip()[:70].replace("|", "\\|")))
    return sorted(cells, key=lambda c: -c[2])[:top]


def _cell_spans(path: Path) -> list[tuple[float, float, str, str]]:
    """(start, end, cell id, first line) of each executed code cell of a notebook, in epoch seconds."""
    import datetime as _dt

    import nbformat

    def epoch(text: str) -> float:
        return _dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()

    spans = []
    for cell in nbformat.read(path, as_version=4).cells:
        meta = cell.get("metadata", {}).get("papermill", {})
        if cell.cell_type == "code" and meta.get("start_time") and meta.get("end_time"):
            first = next((line for line in cell.source.splitlines() if line.strip() and not line.startswith("#")), "")
            spans.append((epoch(meta["start_time"]), epoch(meta["end_time"]), cell.get("id", "?"),
                          first.strip()[:60].replace("|", "\\|")))
    return spans


def kernel_peaks(executed: Path, result: dict) -> list[tuple[str, float, float, str, str]]:
    """Per process: (name, largest RSS in GB, seconds from the start, cell id then, its first line).

    A kernel belongs to the notebook whose papermill start and end times are closest to the kernel's
    creation and last sample (matched one to one, closest pairs first)."""
    import datetime as _dt

    import nbformat

    traces = result.get("traces") or {}
    if not traces:
        return []

    def epoch(text: str) -> float:
        return _dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()

    spans = {}
    for path in sorted(executed.glob("[0-9][0-9]-*.ipynb")):
        meta = nbformat.read(path, as_version=4).metadata.get("papermill", {})
        if meta.get("start_time") and meta.get("end_time"):
            spans[path] = (epoch(meta["start_time"]), epoch(meta["end_time"]))
    pairs = sorted(
        (abs(spans[path][0] - trace["created"]) + abs(spans[path][1] - trace["samples"][-1][0]), label, path)
        for label, trace in traces.items() if label.startswith("kernel") and trace.get("created") and trace["samples"]
        for path in spans)
    owner: dict[str, Path] = {}
    for score, label, path in pairs:
        if label not in owner and path not in owner.values() and score < 60:
            owner[label] = path
    rows = []
    for label, trace in traces.items():
        if not trace["samples"]:
            continue
        at, rss = max(trace["samples"], key=lambda s: s[1])
        name, cid, first = label, "", ""
        if label in owner:
            name = f"{owner[label].stem} ({label})"
            for begin, end, cell_id, line in _cell_spans(owner[label]):
                if begin <= at <= end + 0.5:
                    cid, first = cell_id, line
                    break
        rows.append((name, rss / 1e9, at - result.get("started_at", at), cid, first))
    return sorted((r for r in rows if r[1] >= 0.1), key=lambda r: -r[1])


def notebook_seconds(executed: Path, known: dict) -> dict:
    """Seconds per notebook from papermill's metadata, for those the report's output did not name."""
    import nbformat

    found = {}
    for path in sorted(executed.glob("[0-9][0-9]-*.ipynb")):
        if path.name not in known:
            seconds = nbformat.read(path, as_version=4).metadata.get("papermill", {}).get("duration")
            if seconds:
                found[path.name] = float(seconds)
    return found


def slowest_cells(executed: Path, top: int = 12) -> list[tuple[str, str, float, str]]:
    """The ``top`` slowest code cells of the executed notebooks: (notebook, cell id, seconds, first line)."""
    import nbformat

    cells = []
    for path in sorted(executed.glob("[0-9][0-9]-*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            seconds = cell.get("metadata", {}).get("papermill", {}).get("duration")
            if cell.cell_type == "code" and seconds:
                first = next((line for line in cell.source.splitlines() if line.strip() and not line.startswith("#")), "")
                cells.append((path.stem, cell.get("id", "?"), float(seconds), first.strip()[:70].replace("|", "\\|")))
    return sorted(cells, key=lambda c: -c[2])[:top]


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def run(quick: bool = False, rows: int | None = None, work: Path = WORK,
        notebooks: Path = ROOT / "notebooks", duckdb_memory_limit: str | None = None) -> str:
    """The Markdown section for benchmarks/run.py (``make bench``)."""
    n_rows = rows or (200_000 if quick else 20_000_000)
    data = write_input(work / f"transactions_{n_rows}.parquet", n_rows)
    result = run_report(data, work, notebooks=notebooks, duckdb_memory_limit=duckdb_memory_limit)
    result["duckdb_memory_limit"] = duckdb_memory_limit
    result["per_notebook"].update(notebook_seconds(work / "executed", result["per_notebook"]))
    (work / f"result_{n_rows}.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    return section(n_rows, data, result, work / "executed")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--quick", action="store_true", help="200,000 rows")
    parser.add_argument("--work", default=str(WORK))
    parser.add_argument("--out", default=str(HERE / "REPORT_RESULTS.md"))
    parser.add_argument("--notebooks", default=str(ROOT / "notebooks"), help="the notebook series to run")
    parser.add_argument("--duckdb-memory-limit", default=None,
                        help="experiment: SET memory_limit on every DuckDB connection of the run (e.g. 1GB)")
    args = parser.parse_args(argv)
    n_rows = 200_000 if args.quick else args.rows
    text = "# make report at scale\n\n" + run(rows=n_rows, work=Path(args.work), notebooks=Path(args.notebooks),
                                               duckdb_memory_limit=args.duckdb_memory_limit)
    print(text)
    Path(args.out).write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
