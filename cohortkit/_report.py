"""Execute the notebook series and render a shareable HTML report (``make report``).

Usage::

    python -m cohortkit._report --notebooks notebooks --out reports [--data path/to/your.parquet]

Every ``notebooks/NN-*.ipynb`` is executed top to bottom with papermill (in its own folder, so
relative paths work), checked for personal data in its outputs, and only when all pass is each one
rendered to HTML with images embedded, next to an ``index.html`` linking them. The folder can be
e-mailed or hosted as it is. Cells tagged ``hide-input`` show only their output; cells tagged
``remove-cell`` are left out.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import html
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["build_report", "find_personal_data", "ReportError"]


class ReportError(RuntimeError):
    """The report could not be built (a notebook failed, or its outputs hold personal data)."""


# E-mail addresses, and phone numbers written with separators (plain digit runs are ids or amounts).
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_PHONE = re.compile(
    r"(?<![\w.])(?:"
    r"\+\d{1,3}[ -]\(?\d{1,4}\)?[ -]\d{2,4}[ -]\d{3,4}"  # +81 3-1234-5678, +1 415 555 0100
    r"|\(\d{3}\) ?\d{3}-\d{4}"  # (415) 555-0100
    r"|0\d{1,4}-\d{1,4}-\d{4}"  # 03-1234-5678, 090-1234-5678
    r"|\d{3}-\d{3}-\d{4}"  # 415-555-0100
    r")(?![\w])"
)


def _output_texts(nb) -> list[tuple[int, str]]:
    texts = []
    for index, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if "text" in out:
                texts.append((index, str(out["text"])))
            for mime, value in out.get("data", {}).items():
                if mime.startswith("text/") or mime == "application/json":
                    texts.append((index, value if isinstance(value, str) else "".join(value)))
    return texts


def find_personal_data(nb) -> list[str]:
    """List e-mail addresses and phone numbers found in a notebook's outputs (``cell N: value``).

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook()
    >>> cell = nbformat.v4.new_code_cell("print('x')")
    >>> cell.outputs = [nbformat.v4.new_output("stream", text="contact: taro@example.co.jp 03-1234-5678")]
    >>> nb.cells.append(cell)
    >>> find_personal_data(nb)
    ['cell 0: e-mail taro@example.co.jp', 'cell 0: phone 03-1234-5678']
    """
    found = []
    for index, text in _output_texts(nb):
        found += [f"cell {index}: e-mail {m}" for m in _EMAIL.findall(text)]
        found += [f"cell {index}: phone {m.group(0)}" for m in _PHONE.finditer(text)]
    return found


@dataclass
class _Executed:
    source: Path
    executed: Path
    seconds: float
    title: str


def _title(nb, fallback: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return fallback


def build_report(
    notebooks: str | Path = "notebooks",
    out: str | Path = "reports",
    *,
    data: str | None = None,
    work: str | Path = "build/executed",
    parameters: dict | None = None,
    kernel_name: str = "python3",
) -> Path:
    """Execute every numbered notebook and write the HTML report; return the path of index.html.

    Raises :class:`ReportError` (and writes nothing into ``out``) when a notebook fails or when an
    executed notebook's outputs contain e-mail addresses or phone numbers.
    """
    # fail before executing anything when the report's dependencies are missing
    from nbconvert import HTMLExporter  # noqa: F401
    import nbformat  # noqa: F401
    import papermill  # noqa: F401

    notebooks, out, work = Path(notebooks), Path(out), Path(work)
    sources = _numbered_notebooks(notebooks)
    params = dict(parameters or {})
    if data:
        params["data_path"] = str(Path(data).resolve())
    work.mkdir(parents=True, exist_ok=True)
    executed = [_execute(src, work / src.name, params, kernel_name) for src in sources]
    _refuse_personal_data(executed)
    out.mkdir(parents=True, exist_ok=True)
    rows = _render_pages(executed, out)
    return _write_index(out, rows, data)


def _numbered_notebooks(folder: Path) -> list[Path]:
    sources = sorted(p for p in folder.glob("[0-9][0-9]-*.ipynb"))
    if not sources:
        raise ReportError(f"no notebooks named NN-*.ipynb in {folder.resolve()}")
    return sources


def _execute(src: Path, target: Path, params: dict, kernel_name: str) -> _Executed:
    """Run one notebook with papermill in its own folder into ``target``; time it and read its title."""
    import nbformat
    import papermill

    start = time.perf_counter()
    print(f"executing {src.name} ...", flush=True)
    try:
        papermill.execute_notebook(
            str(src),
            str(target),
            parameters=params,
            cwd=str(src.parent),
            kernel_name=kernel_name,
            progress_bar=False,
            report_mode=False,
        )
    except papermill.PapermillExecutionError as exc:
        raise ReportError(
            f"{src.name} failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}. "
            f"The executed copy with the traceback is {target}."
        ) from None
    seconds = time.perf_counter() - start
    nb = nbformat.read(target, as_version=4)
    return _Executed(src, target, seconds, _title(nb, src.stem))


def _refuse_personal_data(executed: list[_Executed]) -> None:
    """Raise :class:`ReportError` listing the personal data found in any executed notebook."""
    import nbformat

    problems = []
    for item in executed:
        nb = nbformat.read(item.executed, as_version=4)
        problems += [f"{item.source.name}, {p}" for p in find_personal_data(nb)]
    if problems:
        listing = "\n  ".join(problems[:20])
        raise ReportError(
            "refusing to publish: the executed notebooks' outputs contain personal data "
            f"(e-mail addresses or phone numbers):\n  {listing}\nPseudonymise the id columns "
            "(e.g. load with pseudonymize=True) or drop those columns before displaying; "
            "nothing was written to the report folder."
        )


def _html_exporter():
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    exporter = HTMLExporter(embed_images=True)
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    # set-up boilerplate (imports, bilingual labels) is tagged "hide-input": its code is left out of
    # the shared page, its output kept; cells tagged "remove-cell" are left out entirely
    exporter.register_preprocessor(
        TagRemovePreprocessor(remove_input_tags={"hide-input"}, remove_cell_tags={"remove-cell"}),
        enabled=True,
    )
    return exporter


def _render_pages(executed: list[_Executed], out: Path) -> list[tuple[str, str, float]]:
    """Write each executed notebook as ``out/NN-name.html``; return (page, title, seconds) rows."""
    import nbformat

    exporter = _html_exporter()
    rows = []
    for item in executed:
        nb = nbformat.read(item.executed, as_version=4)
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": item.title}})
        page = item.source.with_suffix(".html").name
        (out / page).write_text(body, encoding="utf-8")
        rows.append((page, item.title, item.seconds))
    return rows


def _write_index(out: Path, rows: list[tuple[str, str, float]], data: str | None) -> Path:
    """Write ``out/index.html`` linking every page, with its run time; return its path."""
    from . import __version__

    total = sum(r[2] for r in rows)
    today = _dt.date.today().isoformat()
    items = "\n".join(
        f'    <li><a href="{html.escape(page)}">{html.escape(title)}</a>'
        f' <span class="t">({seconds:.1f} s)</span></li>'
        for page, title, seconds in rows
    )
    index = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>cohortkit report</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 46rem; margin: 3rem auto; line-height: 1.5; }}
h1 {{ margin-bottom: 0.2rem; }} .meta, .t {{ color: #666; font-size: 0.9rem; }}
li {{ margin: 0.4rem 0; }}
</style>
</head>
<body>
<h1>cohortkit report: beyond the conversion</h1>
<p class="meta">Rendered {today} with cohortkit {html.escape(__version__)};
{len(rows)} notebooks executed in {total:.1f} s{html.escape(f" on {data}" if data else " on bundled data")}.</p>
<ol>
{items}
</ol>
</body>
</html>
"""
    index_path = out / "index.html"
    index_path.write_text(index, encoding="utf-8")
    print(f"wrote {index_path} ({len(rows)} notebooks, {total:.1f} s)")
    return index_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", default="notebooks")
    parser.add_argument("--out", default="reports")
    parser.add_argument("--work", default="build/executed")
    parser.add_argument("--data", default=None, help="your CSV/Parquet file, passed as data_path")
    args = parser.parse_args(argv)
    try:
        build_report(args.notebooks, args.out, data=args.data, work=args.work)
    except ReportError as exc:
        print(f"make report: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
