"""One vocabulary and one room per concern (docs/ARCHITECTURE.md is the source of truth).

Walks every public signature and fails on an argument name outside the vocabulary; checks that every
retired name still works (with a FutureWarning) where the page says it does; checks the import graph
of the package: no cycle, and no module importing another module's private name.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import warnings
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "ARCHITECTURE.md"
PACKAGE = ROOT / "cohortkit"

PUBLIC_MODULES = ["metrics", "funnels", "cohort", "lifecycle", "format", "clv", "value", "plot", "io", "sources", "datasets",
                  "simulate", "privacy", "style", "workshop"]

#: Arguments that belong to one function each (the page's "other arguments"): adding one is a decision.
FUNCTION_SPECIFIC = {
    # rates and ad metrics
    "successes", "trials", "successes_a", "trials_a", "successes_b", "trials_b", "method",
    # funnels, cohorts
    "steps", "order", "mapping_or_frame", "retention", "values", "annot", "fmt", "exclude", "max_events",
    # CLV
    "merge", "penalizer", "engine", "n_boot", "max_frequency", "step", "t", "T", "r", "alpha", "a", "b",
    "p", "q", "v", "n", "frequency", "monetary_value", "path", "cuts", "shape_covariates",
    # value
    "clv", "rfm", "missing_clv", "cost_per_customer", "target_ltv_cac", "budget", "beta", "min_share",
    "max_share", "plan", "key", "from_", "to", "ascending", "tree", "kgi", "change", "points",
    "threshold", "stages", "scores", "roles", "top", "label", "size", "x", "y",
    "bands", "prior_customers", "currency",
    # formatting numbers for readers (cohortkit.format)
    "value", "digits", "sign", "lower", "upper", "kind", "kinds", "uuid", "dtype",
    # readers, sources, data sets, simulator
    "source", "columns", "report", "platform", "channel", "sources", "duplicate_every", "sample",
    "pseudonymize", "salt", "prefix", "length", "frame", "n_customers", "params", "truth", "nps",
    "folder", "parts", "sample_bytes", "gamma_gamma",
    # style and workshop
    "style", "context", "palette", "font_scale", "rc", "answer", "name", "inputs", "title", "title_ja",
    "hint", "hint_ja", "mistakes", "rtol", "atol", "percent", "nb", "notebooks", "out",
    # workshop exercise inputs (named after what the exercise gives the attendee)
    "impressions", "clicks", "conversions", "spend", "revenue", "cac", "ltv", "margin_per_period",
    "target_ratio", "annual_rate", "page_views", "view_points", "document_requests", "document_points",
    "seminars", "seminar_points", "previous", "reached", "cohort", "repeat_rate", "moved", "roas_from",
    "roas_to",
}


def _doc_table(heading: str) -> list[list[str]]:
    text = DOC.read_text()
    section = text.split(heading, 1)[1]
    rows = []
    for line in section.splitlines()[1:]:
        if line.startswith("#"):
            break
        if line.startswith("|") and not set(line) <= set("|- "):
            rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows[1:]  # without the header row


def _vocabulary() -> set[str]:
    names = set()
    for row in _doc_table("## Vocabulary: one name per concept"):
        names |= set(re.findall(r"`([a-z_A-Z]+)`", row[0]))
    return names


def _retired() -> list[tuple[str, str, str]]:
    out = []
    for old, new, where in _doc_table("### Retired names"):
        old_name = re.findall(r"`(\w+)`", old)[0]
        new_name = re.findall(r"`(\w+)`", new)[0]
        for place in re.findall(r"`([\w.]+)`", where):
            out.append((old_name, new_name, place))
    return out


def _public_callables():
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(f"cohortkit.{module_name}")
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if inspect.isclass(obj):
                yield f"{module_name}.{name}", obj.__init__
                for attr, value in vars(obj).items():
                    if inspect.isfunction(value) and not attr.startswith("_"):
                        yield f"{module_name}.{name}.{attr}", value
            elif callable(obj):
                yield f"{module_name}.{name}", obj


def _parameters() -> dict[str, set[str]]:
    seen: dict[str, set[str]] = defaultdict(set)
    for qualname, func in _public_callables():
        try:
            signature = inspect.signature(func)
        except (TypeError, ValueError):
            continue
        for p in signature.parameters.values():
            if p.name in ("self", "cls") or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            seen[p.name].add(qualname)
    return seen


def test_the_vocabulary_page_lists_the_core_names():
    vocab = _vocabulary()
    for core in ("customer_col", "date_col", "amount_col", "observation_end", "time_unit", "window", "by"):
        assert core in vocab
    assert not vocab & {"user_col", "lead_col", "time_col", "within", "within_days"}


def test_every_public_argument_is_in_the_vocabulary():
    allowed = _vocabulary() | FUNCTION_SPECIFIC
    outside = {name: sorted(where) for name, where in _parameters().items() if name not in allowed}
    assert not outside, (
        f"arguments outside the vocabulary (docs/ARCHITECTURE.md): {outside}. Reuse a name from the "
        "page, or add the new one there (or to FUNCTION_SPECIFIC if only one function has it)."
    )


def test_retired_names_are_gone_from_signatures_and_still_accepted_with_a_warning():
    params = _parameters()
    retired = _retired()
    assert len(retired) >= 10
    for old, new, place in retired:
        module_name, _, func_name = place.rpartition(".")
        module = importlib.import_module(f"cohortkit.{module_name}" if module_name else "cohortkit")
        func = getattr(module, func_name)
        qual = f"{module_name or 'cohortkit'}.{func_name}"
        signature = inspect.signature(func)
        assert new in signature.parameters, (qual, new)
        assert old not in signature.parameters, (qual, old)
        assert getattr(func, "__renamed__", {}).get(old) == new, f"{qual}({old}=) is not accepted any more"
    # no retired column-argument name survives anywhere in a public signature
    for old in ("user_col", "lead_col", "time_col", "within", "within_days"):
        assert old not in params, (old, params.get(old))


def test_an_old_name_gives_the_same_result_with_a_future_warning():
    import cohortkit as ck

    tx = ck.datasets.load_cdnow(sample=True)
    new = ck.repeat_rate(tx, window="90D")
    with pytest.warns(FutureWarning, match=r"repeat_rate\(within=\.\.\.\) is renamed to window=\.\.\."):
        old = ck.repeat_rate(tx, within="90D")
    assert old.equals(new)
    with pytest.raises(TypeError, match="got both within= .* and window="):
        ck.repeat_rate(tx, within="90D", window="90D")


def _imports() -> dict[str, list[tuple[str, list[str]]]]:
    """module -> [(imported module, names)] for every import inside the package."""
    graph: dict[str, list[tuple[str, list[str]]]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        module = ".".join(parts)
        package = parts if is_package else parts[:-1]
        edges = []
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package[: len(package) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if not target.startswith("cohortkit"):
                    continue
                names = [a.name for a in node.names]
                if node.module is None:  # from . import x: x are modules
                    for name in names:
                        edges.append((f"{target}.{name}", []))
                else:
                    edges.append((target, names))
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("cohortkit"):
                        edges.append((alias.name, []))
        graph[module] = edges
    return graph


def test_no_module_imports_another_modules_private_name():
    private = []
    for module, edges in _imports().items():
        for target, names in edges:
            for name in names:
                if name.startswith("_") and not name.startswith("__") and f"{target}.{name}" not in _imports():
                    private.append(f"{module} imports {target}.{name}")
    assert not private, private


def test_the_import_graph_has_no_cycle():
    graph = _imports()
    modules = set(graph)

    def resolve(target: str) -> str | None:
        while target and target not in modules:
            target = target.rpartition(".")[0]
        return target or None

    # only module-level imports make cycles at import time, but the rule here is stricter: none at all
    edges = {m: {t for t in (resolve(x) for x, _ in e) if t and t != m} for m, e in graph.items()}
    # a package importing its own submodules (lazy re-exports in __init__) is not a cycle of concerns
    for m in edges:
        edges[m] = {t for t in edges[m] if not t.startswith(m + ".")}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for t in sorted(edges.get(m, ())):
            if state.get(t) == 1:
                return stack[stack.index(t):] + [t]
            if t not in state:
                found = visit(t)
                if found:
                    return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(edges):
        if m not in state:
            cycle = visit(m)
            assert cycle is None, " -> ".join(cycle)


def test_the_page_names_every_module_of_the_package():
    text = DOC.read_text()
    for path in sorted(PACKAGE.glob("*.py")):
        if path.name == "__init__.py":
            continue
        assert f"{path.stem}" in text, f"docs/ARCHITECTURE.md does not place cohortkit/{path.name}"
    for path in sorted(p for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()):
        assert f"cohortkit/{path.name}/" in text, path.name


def test_old_names_are_silent_when_unused():
    import cohortkit as ck

    tx = ck.datasets.load_cdnow(sample=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        ck.cohort_table(tx, time_unit="M")
