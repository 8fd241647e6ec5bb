"""The attendee / instructor notebook build (``make workshop``) and its command line."""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

from .._errors import DataError


def _tags(cell) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def attendee_version(nb):
    """Copy of notebook ``nb`` without ``solution`` cells and with every output cleared.

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook(cells=[
    ...     nbformat.v4.new_code_cell("answer = ...", metadata={"tags": ["exercise"]}),
    ...     nbformat.v4.new_code_cell("answer = 100 / 8000", metadata={"tags": ["solution"]})])
    >>> [c.source for c in attendee_version(nb).cells]
    ['answer = ...']
    """
    out = copy.deepcopy(nb)
    for index, cell in enumerate(out.cells):
        if {"solution", "exercise"} <= _tags(cell):
            raise DataError(
                f"cell {index} is tagged both 'solution' and 'exercise'; a solution would be removed "
                "with the exercise. Split it into an exercise cell and a solution cell."
            )
    out.cells = [cell for cell in out.cells if "solution" not in _tags(cell)]
    for cell in out.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        for key in ("execution", "papermill"):
            cell.metadata.pop(key, None)
    return out


def build_workshop(
    notebooks: str | Path = "notebooks", out: str | Path = "workshop", *, lang: str = "en"
) -> dict[str, list[Path]]:
    """Write the attendee and instructor versions of every notebook in ``notebooks``.

    ``out/attendee/NAME.ipynb`` has the cells tagged ``solution`` removed and all outputs cleared;
    ``out/instructor/NAME.ipynb`` keeps every cell. Returns the written paths per version.
    ``lang="ja"`` writes the Japanese edition: markdown from ``cohortkit/locale/ja/`` and
    ``lang = "ja"`` in the parameters cell (messages, tables, plots and checks in Japanese); a
    notebook with an untranslated markdown cell raises :class:`~cohortkit.DataError` naming it.

    Examples
    --------
    >>> import tempfile, nbformat
    >>> from pathlib import Path
    >>> tmp = Path(tempfile.mkdtemp())
    >>> nb = nbformat.v4.new_notebook(cells=[
    ...     nbformat.v4.new_markdown_cell("**Exercise.** What is the CTR of 30 clicks on 1,000 impressions?",
    ...                                   metadata={"tags": ["exercise"]}),
    ...     nbformat.v4.new_code_cell("ctr = 30 / 1000", metadata={"tags": ["solution"]})])
    >>> (tmp / "nb").mkdir(); nbformat.write(nb, tmp / "nb" / "01-ctr.ipynb")
    >>> written = build_workshop(tmp / "nb", tmp / "out")
    01-ctr.ipynb: 1 exercise cells, 1 solution cells removed for attendees
    >>> [len(nbformat.read(p, as_version=4).cells) for p in written["attendee"] + written["instructor"]]
    [1, 2]
    """
    import nbformat

    notebooks, out = Path(notebooks), Path(out)
    sources = sorted(notebooks.glob("*.ipynb"))
    if not sources:
        raise DataError(f"notebooks={str(notebooks)!r} holds no .ipynb files. Pass the notebooks folder.")
    written: dict[str, list[Path]] = {"attendee": [], "instructor": []}
    for kind in written:
        (out / kind).mkdir(parents=True, exist_ok=True)
    from ..i18n import translate_notebook

    for src in sources:
        nb = translate_notebook(nbformat.read(src, as_version=4), lang, src.stem)
        try:
            student = attendee_version(nb)
        except DataError as exc:
            raise DataError(f"{src.name}: {exc}") from None
        for kind, version in (("attendee", student), ("instructor", nb)):
            nbformat.validate(version)
            target = out / kind / src.name
            nbformat.write(version, target)
            written[kind].append(target)
        removed = len(nb.cells) - len(student.cells)
        n_exercises = sum("exercise" in _tags(c) for c in nb.cells)
        print(f"{src.name}: {n_exercises} exercise cells, {removed} solution cells removed for attendees")
    return written


def main(argv: list[str] | None = None) -> int:
    """``python -m cohortkit.workshop --notebooks notebooks --out workshop [--lang ja]``: 0 when built,
    1 on a DataError."""
    parser = argparse.ArgumentParser(description="Build attendee and instructor notebooks (make workshop).")
    parser.add_argument("--notebooks", default="notebooks")
    parser.add_argument("--out", default="workshop")
    parser.add_argument("--lang", default="en", choices=["en", "ja"])
    args = parser.parse_args(argv)
    try:
        written = build_workshop(args.notebooks, args.out, lang=args.lang)
    except DataError as exc:
        print(f"make workshop: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {len(written['attendee'])} attendee and {len(written['instructor'])} instructor "
          f"notebooks into {args.out}")
    return 0
