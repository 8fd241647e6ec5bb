"""Run every benchmark and write benchmarks/RESULTS.md (``make bench``).

Each ``benchmarks/bench_*.py`` defines ``run(quick: bool = False) -> str`` returning a Markdown
section: a table of timings of cohortkit and its named peers measured in the same run, with the ratio
against each peer. Absolute seconds depend on the machine; the ratios are the targets.

    python benchmarks/run.py            # full sizes (1M, 5M and 10M rows): what `make bench` runs
    python benchmarks/run.py --quick    # small sizes, to check the scripts run
    python benchmarks/run.py scale      # only bench_scale.py

By default it runs every ``bench_*.py`` but ``ONLY_WHEN_NAMED``: ``bench_scale.py`` measures the RFM summary, the cohort table and
the funnel against their peers at every size, so ``bench_cohort.py`` and ``bench_funnel.py`` (the
same tasks at one size, in one process) run only when named.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: covered by bench_scale.py at every size, so run only when named
ONLY_WHEN_NAMED = {"cohort", "funnel"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("only", nargs="*", help="benchmark names (bench_NAME.py)")
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--out", default=str(HERE / "RESULTS.md"))
    args = parser.parse_args(argv)
    files = sorted(HERE.glob("bench_*.py"))
    if args.only:
        files = [f for f in files if f.stem.removeprefix("bench_") in args.only]
    else:
        files = [f for f in files if f.stem.removeprefix("bench_") not in ONLY_WHEN_NAMED]
    import cohortkit

    sections = [
        "# cohortkit benchmarks\n",
        f"Run {dt.datetime.now():%Y-%m-%d %H:%M} on {platform.machine()}, {platform.python_version()}, "
        f"cohortkit {cohortkit.__version__}{' (quick sizes)' if args.quick else ''}. "
        "Ratios are measured in the same run; absolute seconds depend on the machine.\n",
    ]
    started = time.perf_counter()
    for path in files:
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        print(f"== {path.name}", flush=True)
        start = time.perf_counter()
        sections.append(module.run(quick=args.quick))
        print(f"   done in {time.perf_counter() - start:.0f} s", flush=True)
    sections.append(f"`make bench` took {(time.perf_counter() - started) / 60:.1f} minutes.\n")
    Path(args.out).write_text("\n".join(sections) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
