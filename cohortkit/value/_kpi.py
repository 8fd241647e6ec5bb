"""KGI / KSF / KPI trees: evaluate a tree of formulas and rank the drivers by their leverage."""

from __future__ import annotations

import ast
import math
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .._errors import DataError

__all__ = ["kpi_tree"]

_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}


def _parse(node: str, formula: Any) -> ast.Expression:
    if not isinstance(formula, str) or not formula.strip():
        raise DataError(
            f"tree[{node!r}] must be a formula string such as 'sessions * cvr', got {formula!r}."
        )
    try:
        expr = ast.parse(formula.strip(), mode="eval")
    except SyntaxError:
        raise DataError(
            f"tree[{node!r}] = {formula!r} is not a valid formula. Use names, numbers, + - * / ** "
            "and parentheses, e.g. 'sessions * cvr * (1 + repeat_rate)'."
        ) from None
    for sub in ast.walk(expr):
        ok = isinstance(sub, (ast.Expression, ast.Name, ast.Load, ast.BinOp, ast.UnaryOp, ast.UAdd,
                              ast.USub, *_BINOPS))
        ok = ok or (isinstance(sub, ast.Constant) and isinstance(sub.value, (int, float))
                    and not isinstance(sub.value, bool))
        if not ok:
            raise DataError(
                f"tree[{node!r}] = {formula!r} uses {type(sub).__name__}; formulas may only use "
                "names, numbers, + - * / ** and parentheses."
            )
    return expr


def _names(expr: ast.Expression) -> list[str]:
    seen: list[str] = []
    for sub in ast.walk(expr):
        if isinstance(sub, ast.Name) and sub.id not in seen:
            seen.append(sub.id)
    return seen


def _eval(expr: ast.AST, env: Mapping[str, Any]):
    if isinstance(expr, ast.Expression):
        return _eval(expr.body, env)
    if isinstance(expr, ast.Constant):
        return expr.value
    if isinstance(expr, ast.Name):
        return env[expr.id]
    if isinstance(expr, ast.UnaryOp):
        value = _eval(expr.operand, env)
        return -value if isinstance(expr.op, ast.USub) else value
    left, right = _eval(expr.left, env), _eval(expr.right, env)
    op = type(expr.op)
    if op is ast.Add:
        return left + right
    if op is ast.Sub:
        return left - right
    if op is ast.Mult:
        return left * right
    if op is ast.Div:
        return left / right if right != 0 else float("nan")
    return left**right


class _Tree:
    """Parsed tree: formulas, evaluation order, root, parents."""

    def __init__(self, tree: Any, values: Any, kgi: str | None):
        if not isinstance(tree, Mapping) or not tree:
            raise DataError(
                "tree must be a non-empty dict of node -> formula, e.g. {'revenue': 'orders * "
                "order_value', 'orders': 'sessions * cvr'}."
            )
        if not isinstance(values, Mapping):
            raise DataError(
                "values must be a dict of leaf name -> number, e.g. {'sessions': 10000, 'cvr': 0.02}."
            )
        self.exprs = {str(k): _parse(str(k), v) for k, v in tree.items()}
        self.formulas = {str(k): str(v).strip() for k, v in tree.items()}
        self.inputs = {k: _names(e) for k, e in self.exprs.items()}
        used = {n for names in self.inputs.values() for n in names}
        leaves = [n for names in self.inputs.values() for n in names if n not in self.exprs]
        self.leaves = list(dict.fromkeys(leaves))
        both = [k for k in values if k in self.exprs]
        if both:
            raise DataError(
                f"values gives {both[0]!r}, which tree computes from a formula. Give values only "
                "for the leaves (the names that have no formula), or remove its formula."
            )
        unknown = [k for k in values if k not in self.leaves]
        if unknown:
            raise DataError(
                f"values gives {unknown[0]!r}, which no formula uses. The leaves of this tree are "
                f"{self.leaves}."
            )
        missing = [k for k in self.leaves if k not in values]
        if missing:
            raise DataError(
                f"values has no value for {missing[0]!r}; every leaf needs one (leaves: {self.leaves})."
            )
        self.values: dict[str, float] = {}
        for k in self.leaves:
            v = values[k]
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) \
                    or not math.isfinite(float(v)):
                raise DataError(f"values[{k!r}] must be a finite number, got {v!r}.")
            self.values[k] = float(v)
        roots = [k for k in self.exprs if k not in used]
        if kgi is not None:
            if kgi not in self.exprs:
                raise DataError(f"kgi={kgi!r} is not a node of tree; its nodes are {list(self.exprs)}.")
            self.root = kgi
        elif len(roots) == 1:
            self.root = roots[0]
        else:
            raise DataError(
                f"tree has {len(roots)} top-level nodes {roots}; pass kgi= the name of the goal node."
            )
        self.order = self._topological()
        self.parent: dict[str, str | None] = {self.root: None}
        self.depth: dict[str, int] = {self.root: 0}
        queue = [self.root]
        while queue:
            node = queue.pop(0)
            for child in self.inputs.get(node, []):
                if child not in self.depth:
                    self.depth[child] = self.depth[node] + 1
                    self.parent[child] = node
                    queue.append(child)

    def _topological(self) -> list[str]:
        order: list[str] = []
        state: dict[str, int] = {}

        def visit(node, path):
            if state.get(node) == 2 or node not in self.exprs:
                return
            if state.get(node) == 1:
                cycle = " -> ".join([*path[path.index(node):], node])
                raise DataError(f"tree has a cycle: {cycle}. A node cannot depend on itself.")
            state[node] = 1
            for child in self.inputs[node]:
                visit(child, [*path, node])
            state[node] = 2
            order.append(node)

        visit(self.root, [])
        return order

    def evaluate(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        env: dict[str, Any] = dict(self.values)
        overrides = dict(overrides or {})
        env.update({k: v for k, v in overrides.items() if k in env})
        for node in self.order:
            env[node] = overrides[node] if node in overrides else _eval(self.exprs[node], env)
        return env


def kpi_tree(tree: Mapping[str, str], values: Mapping[str, float], *, change: float = 0.10,
             kgi: str | None = None) -> pd.DataFrame:
    """Evaluate a KGI / KSF / KPI tree and rank its drivers by one-at-a-time sensitivity.

    The tree is a dict of formulas, one per computed node, written from the goal (KGI) down:
    ``{"revenue": "customers * order_value * (1 + repeat_rate)", "customers": "sessions * cvr *
    close_rate"}``. Names without a formula are the measured KPIs (leaves) and take their numbers
    from ``values``. The node used by no formula is the KGI; the other computed nodes are KSFs.

    Sensitivity is one-at-a-time: each node below the KGI is moved by ``±change`` (relative, e.g.
    +10 %) with every other leaf held fixed (for a KSF, its own inputs are overridden), and the KGI is
    re-evaluated. ``elasticity`` is the exact derivative ``dKGI/dx · x / KGI`` (complex-step
    differentiation of the formulas; the % change of the KGI per 1 % change of the node).

    Parameters
    ----------
    tree : dict of str -> str
        Node name -> formula using names, numbers, ``+ - * / **`` and parentheses. Names may be any
        Python identifier (``売上`` works).
    values : dict of str -> float
        A number for every leaf.
    change : float, default 0.10
        The relative move of each node (0.10 = ±10 %).
    kgi : str, optional
        The goal node, when more than one node is unused by the others.

    Returns
    -------
    pandas.DataFrame
        One row per node, KGI first, then breadth-first from the KGI down: ``node, role`` ("KGI",
        "KSF" or "KPI"), ``parent, depth, formula`` (empty for KPIs), ``value``, and for every node
        but the KGI: ``kgi_if_up, kgi_if_down`` (KGI with the node × (1 ± change)),
        ``kgi_change_up, kgi_change_down`` (relative change of the KGI), ``elasticity`` and
        ``impact_rank`` (1 = the node whose +change moves the KGI most, by absolute KGI change;
        KPIs and KSFs ranked together; impacts equal to 1e-9 of the KGI are ties, broken by node
        name in alphabetical order, so every node has its own rank and the order never depends on
        rounding noise). ``attrs`` holds ``kgi``, ``kgi_value`` and ``change``.

    Raises
    ------
    DataError
        A formula that does not parse or uses anything but arithmetic, a missing or unknown leaf
        value, a cycle, several candidate KGIs without ``kgi=``, a bad ``change``.

    Examples
    --------
    >>> t = kpi_tree(
    ...     {"revenue": "customers * order_value * (1 + repeat_rate)",
    ...      "customers": "sessions * cvr"},
    ...     {"sessions": 100_000, "cvr": 0.02, "order_value": 5000, "repeat_rate": 0.25})
    >>> t[["node", "role", "value"]]
              node role        value
    0      revenue  KGI  12500000.00
    1    customers  KSF      2000.00
    2  order_value  KPI      5000.00
    3  repeat_rate  KPI         0.25
    4     sessions  KPI    100000.00
    5          cvr  KPI         0.02
    >>> t.set_index("node").loc["repeat_rate", ["kgi_change_up", "elasticity"]].round(3).tolist()
    [0.02, 0.2]
    """
    if isinstance(change, bool) or not isinstance(change, (int, float)) or not 0 < change < 1:
        raise DataError(f"change={change!r} must be a relative move between 0 and 1, e.g. 0.1 for ±10 %.")
    t = _Tree(tree, values, kgi)
    base = t.evaluate()
    kgi_value = float(np.real(base[t.root]))
    nodes = sorted(t.depth, key=lambda n: (t.depth[n], 0))
    rows = []
    for node in nodes:
        is_leaf = node not in t.exprs
        role = "KGI" if node == t.root else ("KPI" if is_leaf else "KSF")
        row = {
            "node": node,
            "role": role,
            "parent": t.parent[node] if t.parent[node] is not None else "",
            "depth": t.depth[node],
            "formula": "" if is_leaf else t.formulas[node],
            "value": float(np.real(base[node])),
        }
        if node != t.root:
            x = float(np.real(base[node]))
            up = float(np.real(t.evaluate({node: x * (1 + change)})[t.root]))
            down = float(np.real(t.evaluate({node: x * (1 - change)})[t.root]))
            h = 1e-20 * max(abs(x), 1.0)
            deriv = float(np.imag(t.evaluate({node: complex(x, h)})[t.root])) / h
            row.update(
                kgi_if_up=up,
                kgi_if_down=down,
                kgi_change_up=up / kgi_value - 1 if kgi_value else np.nan,
                kgi_change_down=down / kgi_value - 1 if kgi_value else np.nan,
                elasticity=deriv * x / kgi_value if kgi_value else np.nan,
            )
        rows.append(row)
    out = pd.DataFrame(rows)
    for col in ("kgi_if_up", "kgi_if_down", "kgi_change_up", "kgi_change_down", "elasticity"):
        if col not in out:
            out[col] = np.nan
    # Ties are decided by a stated rule, never by float noise: impacts are rounded to 1e-9 of the
    # KGI's size (so x*1.1*y and x*y*1.1 tie), then equal impacts are ranked by node name.
    scale = max(abs(kgi_value), np.finfo(float).tiny)
    impact = ((out["kgi_if_up"] - kgi_value).abs() / scale).round(9)
    ranked = out.assign(_impact=impact).dropna(subset=["_impact"]).sort_values(
        ["_impact", "node"], ascending=[False, True], kind="stable")
    out["impact_rank"] = pd.Series(np.arange(1, len(ranked) + 1), index=ranked.index).reindex(out.index).astype("Int64")
    out.attrs.update(kgi=t.root, kgi_value=kgi_value, change=float(change))
    return out
