"""The notebook series: structure, stripped outputs, clean top-to-bottom execution, reproducibility."""

from __future__ import annotations

import re
import time
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
NAMES = [p.name for p in NOTEBOOKS]


def _read(path):
    return nbformat.read(path, as_version=4)


def test_series_is_numbered_and_complete():
    numbers = [int(name[:2]) for name in NAMES]
    assert numbers == list(range(len(numbers))), NAMES
    assert len(NAMES) >= 1


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_outputs_are_stripped(path):
    nb = _read(path)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"cell {index} of {path.name} has outputs"
            assert cell.execution_count is None, f"cell {index} of {path.name} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_structure(path):
    nb = _read(path)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), "title first"
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert re.search(r"learning goals", text, re.IGNORECASE), "learning goals"
    last_md = [c for c in nb.cells if c.cell_type == "markdown"][-1]
    assert re.search(r"summary", last_md.source, re.IGNORECASE), "ends with a summary"
    # navigation line: previous / contents / next, linking real notebooks
    links = re.findall(r"\]\(([^)]+\.ipynb)\)", first.source)
    for link in links:
        assert (path.parent / link).exists(), f"{path.name} links to missing {link}"
    position = NAMES.index(path.name)
    if position > 0:
        assert NAMES[position - 1] in links, "link to the previous notebook"
    if position < len(NAMES) - 1:
        assert NAMES[position + 1] in links, "link to the next notebook"
    # a papermill parameters cell, and no downloads or installs
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "pip install" not in code and "!pip" not in code
    assert not re.search(r"https?://", code), "notebooks never download data"


def _execute(path):
    from nbclient import NotebookClient

    nb = _read(path)
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    start = time.perf_counter()
    client.execute()
    return nb, time.perf_counter() - start


def _texts(nb):
    """Each cell's printed text (stdout joined: the kernel may split one print into chunks) and
    displayed values."""
    out = []
    for cell in nb.cells:
        stdout = "".join(
            o.text for o in cell.get("outputs", []) if o.output_type == "stream" and o.name == "stdout"
        )
        if stdout:
            out.append(stdout)
        for output in cell.get("outputs", []):
            if output.output_type in {"execute_result", "display_data"}:
                for mime in ("text/plain", "text/html"):
                    if mime in output.get("data", {}):
                        out.append(output["data"][mime])
    # figure/object reprs carry memory addresses
    return [re.sub(r" at 0x[0-9a-f]+", " at 0x…", t) for t in out]


def _warnings(nb):
    found = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                found.append(f"cell {index}: {output.ename}: {output.evalue}")
            if output.output_type == "stream" and output.name == "stderr":
                for line in output.text.splitlines():
                    if re.search(r"Warning|Glyph .* missing", line):
                        found.append(f"cell {index}: {line.strip()}")
    return found


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_executes_cleanly_and_reproducibly(path):
    first, seconds = _execute(path)
    assert _warnings(first) == []
    second, _ = _execute(path)
    assert _texts(first) == _texts(second), "two executions printed different numbers"
    print(f"{path.name}: {seconds:.1f} s")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_papermill_sees_every_parameter(path):
    # papermill skips a parameter line it cannot parse (e.g. a second "=" in its comment), and
    # `make report DATA=...` would then not override it
    import ast

    import papermill

    cell = next(c for c in _read(path).cells if "parameters" in c.metadata.get("tags", []))
    assigned = {t.id for node in ast.parse(cell.source).body if isinstance(node, ast.Assign)
                for t in node.targets if isinstance(t, ast.Name)}
    assert "data_path" in assigned
    assert set(papermill.inspect_notebook(str(path))) == assigned
