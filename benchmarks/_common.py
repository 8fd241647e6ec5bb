"""Timing helpers shared by the benchmarks: best-of-n wall time and peak RSS of a child process."""

from __future__ import annotations

import gc
import time


def best_of(fn, repeat: int = 3) -> float:
    """Best wall-clock seconds of ``repeat`` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def in_turn(fns: dict, rounds: int) -> dict[str, list]:
    """Call the functions in turn (A, B, C, A, B, C, ...) ``rounds`` times; every result per name.

    Timings on a shared 2-core machine drift by 20-40 % over minutes; interleaving gives every
    implementation the same slow and fast phases, so the *ratios* stay stable.
    """
    results: dict[str, list] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            results[name].append(fn())
    return results


def best_interleaved(fns: dict, rounds: int = 5) -> dict[str, float]:
    """Best wall-clock seconds per name, timing the functions :func:`in_turn` (one warm-up call each)."""
    for fn in fns.values():
        fn()

    def timed(fn):
        def run():
            gc.collect()
            start = time.perf_counter()
            fn()
            return time.perf_counter() - start

        return run

    times = in_turn({name: timed(fn) for name, fn in fns.items()}, rounds)
    return {name: min(values) for name, values in times.items()}


def markdown_table(rows: list[dict], columns: list[str]) -> str:
    """A Markdown table of ``rows`` (dicts) with the given columns, floats to 3 significant digits."""

    def fmt(value):
        if isinstance(value, float):
            return f"{value:.3g}"
        return str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines)
