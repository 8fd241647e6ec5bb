"""Editions of the notebook series in another language, from one source.

The English notebooks in ``notebooks/`` are the one source. A translation is a *catalogue* per
notebook and language, ``cohortkit/locale/<lang>/<notebook stem>.toml``, that a translator edits
without touching a notebook::

    [cells."nb04-00"]          # the id of a markdown cell of 04-ltv-adjusted-ad-value.ipynb
    en = '''
    # 04 — LTV-adjusted ad value
    '''
    ja = '''
    # 04 — LTVで広告を評価する
    '''

    [[message]]                # a sentence a code cell computes: its English template and translation
    en = "{n} campaigns have paid back in the data"
    ja = "データ上で投資を回収したキャンペーン：{n}件"

* **Markdown cells** are replaced whole by their translation. ``en`` keeps the English text that
  was translated: when the notebook's cell changes, :func:`status` reports the translation as
  *stale* and ``python -m cohortkit.i18n status`` shows what changed in the English (the test suite
  fails until a translator updates both).
* **Computed sentences** go through a translator made by :func:`messages`::

      T = ck.i18n.messages("04-ltv-adjusted-ad-value", lang)
      print(T("{n} campaigns have paid back in the data", n=fmt.count(n)))

  In English the template is the message (``str.format`` with the values); in another language it
  is looked up in the catalogue's ``[messages]`` table, so numbers are formatted once and the two
  editions show the same values.
* **Table column labels** are translated by :func:`cohortkit.style_table` from the shared
  ``cohortkit/locale/<lang>/columns.toml``; plot labels by each notebook's ``LABELS`` table.

``python -m cohortkit.i18n status --lang ja`` lists what is missing or stale;
``python -m cohortkit.i18n sync --lang ja`` appends an empty entry (with the English text as a
comment) for every cell that has none, ready for a translator.
"""

from __future__ import annotations

import argparse
import ast
import copy
import re
import sys
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from string import Formatter

from ._errors import DataError

__all__ = ["LANGUAGES", "Catalogue", "catalogue_path", "messages", "message_templates",
           "translate_notebook", "status", "sync", "column_labels"]

#: the editions: English (the source) and Japanese
LANGUAGES = ("en", "ja")
LOCALE = Path(__file__).with_name("locale")


def _check_lang(lang: str) -> str:
    if lang not in LANGUAGES:
        raise DataError(f"lang must be one of {LANGUAGES}; got {lang!r}. Use lang=\"ja\" for the Japanese edition.")
    return lang


def _normal(text: str) -> str:
    """Text as compared for staleness: lines without trailing spaces, no leading/trailing blank lines.

    >>> _normal("# Title  \\n\\nText.\\n") == _normal("# Title\\n\\nText.")
    True
    """
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines()).strip()


def catalogue_path(stem: str, lang: str) -> Path:
    """Where the ``lang`` catalogue of notebook ``stem`` (e.g. ``"04-ltv-adjusted-ad-value"``) lives."""
    return LOCALE / _check_lang(lang) / f"{stem}.toml"


@dataclass
class Catalogue:
    """The translation of one notebook: markdown cells by id and computed sentences by template."""

    stem: str
    lang: str
    cells: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (English, translation)
    messages: dict[str, str] = field(default_factory=dict)  # English template -> translation

    @classmethod
    def load(cls, stem: str, lang: str) -> "Catalogue":
        """Read ``catalogue_path(stem, lang)``; an absent file is an empty catalogue.

        Entries whose translation is empty count as missing.
        """
        path = catalogue_path(stem, lang)
        if not path.exists():
            return cls(stem, lang)
        return _load(str(path), path.stat().st_mtime_ns, stem, lang)


@lru_cache(maxsize=64)
def _load(path: str, _mtime: int, stem: str, lang: str) -> Catalogue:
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"the catalogue {path} is not valid TOML: {exc}. Fix the line it names.") from None
    cells = {}
    for cell_id, entry in raw.get("cells", {}).items():
        text = _normal(str(entry.get(lang, "")))
        if text:
            cells[cell_id] = (_normal(str(entry.get("en", ""))), text)
    found = {}
    for entry in raw.get("message", []):
        english, text = str(entry.get("en", "")), str(entry.get(lang, ""))
        if english in found:
            raise DataError(f"{path}: the message {english!r} is translated twice; keep one [[message]].")
        if text:
            found[english] = text
    return Catalogue(stem, lang, cells, found)


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(template) if name}


def messages(notebook: str, lang: str = "en"):
    """The translator of a notebook's computed sentences: ``T(template, **values) -> str``.

    ``notebook`` is the file's stem (``"04-ltv-adjusted-ad-value"``) or its number (``"04"``).
    ``lang="en"`` fills the English template; another language fills the catalogue's translation of
    it, and raises :class:`~cohortkit.DataError` naming the catalogue when there is none (so an
    edition never shows a sentence in the wrong language).

    >>> T = messages("00-overview", "en")
    >>> T("{n} customers", n="2,518")
    '2,518 customers'
    """
    lang = _check_lang(lang)
    stem = _stem(notebook)

    def translate(template: str, /, **values) -> str:
        if lang == "en":
            return template.format(**values)
        catalogue = Catalogue.load(stem, lang)
        if template not in catalogue.messages:
            raise DataError(
                f"no {lang} translation of the message {template!r} in {catalogue_path(stem, lang)}; "
                f"add it under [messages] (python -m cohortkit.i18n status --lang {lang} lists every gap).")
        return catalogue.messages[template].format(**values)

    return translate


def _stem(notebook: str) -> str:
    if re.fullmatch(r"\d\d", notebook):
        for folder in (LOCALE / "ja", Path("notebooks"), Path(__file__).parents[1] / "notebooks"):
            found = sorted(folder.glob(f"{notebook}-*.*")) if folder.exists() else []
            if found:
                return found[0].stem
        raise DataError(f"no notebook numbered {notebook}; pass the file's stem, e.g. '04-ltv-adjusted-ad-value'.")
    return Path(notebook).stem


def message_templates(nb) -> list[str]:
    """Every literal template passed to ``T(...)`` in the code cells of notebook ``nb`` (in order)."""
    found = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        source = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "T"
                    and node.args and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)):
                if node.args[0].value not in found:
                    found.append(node.args[0].value)
    return found


_PARAM_LANG = re.compile(r'^(lang\s*=\s*)["\'](\w+)["\']', re.M)


def translate_notebook(nb, lang: str, stem: str, *, strict: bool = True):
    """A copy of notebook ``nb`` (its file stem ``stem``) with its markdown cells in ``lang``.

    Sets ``lang = "<lang>"`` in the parameters cell, so the computed sentences, tables and plots follow.
    ``strict`` (the default) raises :class:`~cohortkit.DataError` listing every markdown cell with no
    translation; a *stale* translation (its English source changed since) is used, and reported by
    :func:`status`. ``lang="en"`` returns an unchanged copy.
    """
    lang = _check_lang(lang)
    out = copy.deepcopy(nb)
    if lang == "en":
        return out
    catalogue = Catalogue.load(stem, lang)
    missing = []
    for cell in out.cells:
        if cell.cell_type == "markdown":
            entry = catalogue.cells.get(cell.get("id", ""))
            if entry is None:
                missing.append(cell.get("id", "?"))
            else:
                cell.source = entry[1]
        elif "parameters" in cell.get("metadata", {}).get("tags", []):
            cell.source = _PARAM_LANG.sub(lambda m: f'{m.group(1)}"{lang}"', cell.source)
    if missing and strict:
        raise DataError(
            f"{stem}: {len(missing)} markdown cell(s) have no {lang} translation in "
            f"{catalogue_path(stem, lang)}: {missing}. Run python -m cohortkit.i18n sync --lang {lang} "
            "and fill in the new entries.")
    return out


def status(notebooks: str | Path = "notebooks", lang: str = "ja"):
    """Every markdown cell and computed message of the series and the state of its translation.

    Returns a DataFrame with ``notebook``, ``kind`` ("cell"/"message"), ``key`` (cell id or
    template), ``state``: ``"ok"``, ``"missing"``, ``"stale"`` (the English changed since it was
    translated), ``"fields"`` (the translation's ``{placeholders}`` differ from the template's) or
    ``"unused"`` (in the catalogue, no longer in the notebook).
    """
    import nbformat
    import pandas as pd

    lang = _check_lang(lang)
    rows = []
    for path in sorted(Path(notebooks).glob("[0-9][0-9]-*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        catalogue = Catalogue.load(path.stem, lang)
        ids = set()
        for cell in nb.cells:
            if cell.cell_type != "markdown":
                continue
            ids.add(cell.get("id"))
            entry = catalogue.cells.get(cell.get("id"))
            state = "missing" if entry is None else ("ok" if entry[0] == _normal(cell.source) else "stale")
            rows.append((path.stem, "cell", cell.get("id"), state))
        rows += [(path.stem, "cell", k, "unused") for k in catalogue.cells if k not in ids]
        templates = message_templates(nb)
        for template in templates:
            translated = catalogue.messages.get(template)
            state = ("missing" if translated is None else
                     "fields" if _fields(translated) != _fields(template) else "ok")
            rows.append((path.stem, "message", template, state))
        rows += [(path.stem, "message", k, "unused") for k in catalogue.messages if k not in templates]
    return pd.DataFrame(rows, columns=["notebook", "kind", "key", "state"])


def column_labels(lang: str) -> dict[str, str]:
    """Display labels of table columns in ``lang`` (``{}`` for English: the names stay as they are).

    >>> column_labels("ja")["ctr"]
    'CTR（クリック率）'
    """
    if _check_lang(lang) == "en":
        return {}
    path = LOCALE / lang / "columns.toml"
    if not path.exists():
        return {}
    return dict(_columns(str(path), path.stat().st_mtime_ns))


@lru_cache(maxsize=4)
def _columns(path: str, _mtime: int) -> tuple[tuple[str, str], ...]:
    raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    return tuple((str(k), str(v)) for k, v in raw.get("columns", {}).items())


def _toml_text(text: str) -> str:
    """A TOML multi-line literal string holding ``text`` (basic string when it contains \'\'\')."""
    if "'''" not in text:
        return "'''\n" + text.strip("\n") + "\n'''"
    return '"""\n' + text.strip("\n").replace("\\", "\\\\").replace('"', '\\"') + '\n"""'


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def sync(notebooks: str | Path = "notebooks", lang: str = "ja") -> list[Path]:
    """Append an entry with an empty translation for every cell and message that has none.

    Returns the catalogues changed. Stale entries are left as they are (:func:`status` lists them).
    """
    import nbformat

    lang = _check_lang(lang)
    changed = []
    for path in sorted(Path(notebooks).glob("[0-9][0-9]-*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        target = catalogue_path(path.stem, lang)
        existing = target.read_text(encoding="utf-8") if target.exists() else ""
        raw = tomllib.loads(existing) if existing else {}
        known_cells = raw.get("cells", {})
        known_messages = {m.get("en") for m in raw.get("message", [])}
        blocks = []
        for cell in nb.cells:
            if cell.cell_type == "markdown" and cell.get("id") not in known_cells:
                blocks.append(f"[cells.{_toml_string(cell.get('id'))}]\nen = {_toml_text(cell.source)}\n"
                              f"{lang} = '''\n'''\n")
        blocks += [f"[[message]]\nen = {_toml_string(t)}\n{lang} = \"\"\n"
                   for t in message_templates(nb) if t not in known_messages]
        if blocks:
            target.parent.mkdir(parents=True, exist_ok=True)
            head = existing.rstrip("\n") + "\n\n" if existing else (
                f"# {path.name}: the {lang} edition (see cohortkit/i18n.py). Fill in the empty {lang} texts.\n\n")
            target.write_text(head + "\n".join(blocks), encoding="utf-8")
            changed.append(target)
    return changed


def main(argv: list[str] | None = None) -> int:
    """``python -m cohortkit.i18n status|sync --lang ja [--notebooks notebooks]``."""
    parser = argparse.ArgumentParser(description="State of the translated editions of the notebooks.")
    parser.add_argument("command", choices=["status", "sync"])
    parser.add_argument("--lang", default="ja", choices=[x for x in LANGUAGES if x != "en"])
    parser.add_argument("--notebooks", default="notebooks")
    args = parser.parse_args(argv)
    if args.command == "sync":
        for path in sync(args.notebooks, args.lang):
            print(f"added empty entries to {path}")
    table = status(args.notebooks, args.lang)
    gaps = table[table["state"] != "ok"]
    print(f"{args.lang}: {(table['state'] == 'ok').sum()} of {len(table)} cells and messages translated and current")
    for row in gaps.itertuples():
        print(f"  {row.state:8} {row.notebook} {row.kind} {row.key[:70]!r}")
        if row.state == "stale":
            import difflib

            import nbformat

            nb = nbformat.read(Path(args.notebooks) / f"{row.notebook}.ipynb", as_version=4)
            now = next(c.source for c in nb.cells if c.get("id") == row.key)
            was = Catalogue.load(row.notebook, args.lang).cells[row.key][0]
            for line in difflib.unified_diff(was.splitlines(), _normal(now).splitlines(), "translated", "now",
                                             lineterm="", n=0):
                print("      " + line)
    return 0 if gaps.empty else 1


if __name__ == "__main__":
    sys.exit(main())
