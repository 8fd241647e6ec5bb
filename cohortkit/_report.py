"""Execute the notebook series and render a shareable HTML report (``make report``).

Usage::

    python -m cohortkit._report --notebooks notebooks --out reports [--data path/to/your.parquet]
        [--customer-col 会員ID --date-col 注文日 --amount-col 金額] [--campaign-col ...]
        [--customers customers.csv --campaigns ads.csv] [--lang ja] [--jobs 2]

Every ``notebooks/NN-*.ipynb`` is executed top to bottom with papermill (in its own folder, so
relative paths work; two at a time by default), with only the parameters it declares. The executed
notebooks are checked for personal data in their outputs, and only when all pass is each one
rendered to HTML with images embedded, next to an ``index.html`` that opens with an executive
summary computed from the same data (library calls, not numbers scraped from the notebooks). The
folder can be e-mailed or hosted as it is: it loads nothing from the network.

On the rendered pages code is hidden behind a "Show code" button; cells tagged ``hide-input`` show
only their output; cells tagged ``remove-cell``, the ``parameters`` cell (and papermill's injected
parameters), workshop exercises (cells tagged ``exercise`` / ``solution`` and the markdown under an
``Exercise`` or ``Workshop`` heading) and progress bars are left out. Links to sibling notebooks
point to their pages, and local file paths are replaced by file names.
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import contextlib
import datetime as _dt
import html
import io
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .i18n import LANGUAGES

__all__ = ["build_report", "executive_summary", "find_personal_data", "report_version", "ReportError", "Summary"]


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
    description: str = ""


def _title(nb, fallback: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return fallback


# One line per notebook of the bundled series for the index (a notebook's own
# metadata["cohortkit"]["description"] wins; other notebooks get the first sentence of their intro).
_DESCRIPTIONS = {
    "00-overview": "The journey impression → click → CV → retention → LTV, and why CTR alone misleads.",
    "01-ctr-and-the-funnel": "Ad metrics with honest intervals, two creatives compared, funnels from counts "
    "and from the event log, who dropped out and which paths the others took.",
    "02-from-conversion-to-retention": "Acquisition cohorts and retention, the repeat (F2) rate, NPS by "
    "campaign, lifecycle states and RFM segments.",
    "03-customer-lifetime-value": "Customer lifetime value with BG/NBD + Gamma-Gamma, checked on a holdout "
    "period and against the simulated shop's known truth.",
    "04-ltv-adjusted-ad-value": "Campaigns judged by the customers they bring: the ranking reversal, "
    "LTV-ROAS, allowable CPA, payback and a budget what-if.",
    "05-kpi-trees-and-lead-nurturing": "KGI / KSF / KPI trees and which driver moves the goal most; lead "
    "scoring and MQL → SQL → deal.",
}


_DESCRIPTIONS_JA = {
    "00-overview": "表示 → クリック → CV → 継続 → LTV という顧客の道のりと、CTRだけでは判断を誤る理由。",
    "01-ctr-and-the-funnel": "区間つきの広告指標、2つのクリエイティブの比較、集計値とイベントログから作るファネル、"
    "どこで離脱し、残った人はどの経路をたどったか。",
    "02-from-conversion-to-retention": "獲得コホートと継続率、リピート（F2）率、キャンペーン別のNPS、"
    "ライフサイクル状態とRFMセグメント。",
    "03-customer-lifetime-value": "BG/NBD + Gamma-Gammaによる顧客生涯価値。ホールドアウト期間と"
    "シミュレーションショップの真の値で検証します。",
    "04-ltv-adjusted-ad-value": "連れてきた顧客でキャンペーンを評価する：順位の逆転、LTV-ROAS、許容CPA、"
    "回収期間、予算配分のシミュレーション。",
    "05-kpi-trees-and-lead-nurturing": "KGI / KSF / KPIツリーと、ゴールを最も動かす要因。"
    "リードスコアリングとMQL → SQL → 商談。",
}


def _description(nb, stem: str, lang: str = "en") -> str:
    own = nb.metadata.get("cohortkit", {}).get("description")
    if isinstance(own, dict):
        own = own.get(lang) or own.get("en")
    if own:
        return str(own)
    table = _DESCRIPTIONS_JA if lang == "ja" else _DESCRIPTIONS
    if stem in table:
        return table[stem]
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for para in re.split(r"\n\s*\n", cell.source):
            para = para.strip()
            if para and not para.startswith(("#", "[", "|", "-", "*", ">")):
                text = re.sub(r"[*_`]", "", re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", " ".join(para.split())))
                first = re.split(r"(?<=[.!?。])\s", text)[0]
                return first if len(first) <= 200 else first[:197] + "…"
    return ""


def build_report(
    notebooks: str | Path = "notebooks",
    out: str | Path = "reports",
    *,
    data: str | None = None,
    work: str | Path = "build/executed",
    parameters: dict | None = None,
    kernel_name: str = "python3",
    customer_col: str | None = None,
    date_col: str | None = None,
    amount_col: str | None = None,
    campaign_col: str | None = None,
    customers: str | None = None,
    campaigns: str | None = None,
    lang: str | None = None,
    currency: str = "¥",
    jobs: int = 2,
    summary: bool = True,
) -> Path:
    """Execute every numbered notebook and write the HTML report; return the path of index.html.

    ``data`` (your transactions), ``customer_col`` / ``date_col`` / ``amount_col``, ``campaign_col``,
    ``customers`` / ``campaigns`` (paths of your customer and ad-cost tables) and ``lang`` go to every
    notebook that declares the matching papermill parameter (``data_path``, ``customer_col``, …,
    ``customers_path``, ``campaigns_path``, ``lang``); ``parameters`` adds any other ones. ``jobs``
    notebooks run at a time. The index opens with :func:`executive_summary` of the same data.

    Raises :class:`ReportError` (and writes nothing into ``out``) when a notebook fails or when an
    executed notebook's outputs contain e-mail addresses or phone numbers.
    """
    # fail before executing anything when the report's dependencies are missing
    from nbconvert import HTMLExporter  # noqa: F401
    import nbformat  # noqa: F401
    import papermill  # noqa: F401

    # absolute paths: papermill changes the process's working folder to each notebook's folder while it
    # runs, and notebooks run two at a time, so a relative output path would resolve in the wrong place
    notebooks, out, work = Path(notebooks).resolve(), Path(out).resolve(), Path(work).resolve()
    lang = lang or "en"
    if lang not in LANGUAGES:
        raise ReportError(f"lang={lang!r}: the report has the editions {LANGUAGES}; use lang='ja' for Japanese.")
    sources = _numbered_notebooks(notebooks)
    if lang != "en":
        # the edition's notebooks: the same source with its markdown from cohortkit/locale/<lang>/
        work = work / lang
        sources = _translated_sources(sources, work / "sources", lang)
    requested = {
        "data_path": str(Path(data).resolve()) if data else None,
        "customer_col": customer_col,
        "date_col": date_col,
        "amount_col": amount_col,
        "campaign_col": campaign_col,
        "customers_path": str(Path(customers).resolve()) if customers else None,
        "campaigns_path": str(Path(campaigns).resolve()) if campaigns else None,
        "lang": lang,
    }
    requested = {k: v for k, v in requested.items() if v is not None}
    if lang == "en" and "lang" not in (parameters or {}):
        requested.pop("lang")  # the notebooks' own default
    requested.update(parameters or {})
    secrets = _local_paths([data, customers, campaigns], notebooks)
    work.mkdir(parents=True, exist_ok=True)

    start = time.perf_counter()
    here = os.getcwd()  # papermill changes the working folder per notebook; two at a time can leave it changed
    try:
        executed, facts = _execute_with_summary(sources, work, requested, kernel_name, jobs, notebooks, lang,
                                                summary, customer_col, date_col, amount_col, campaign_col, currency)
    finally:
        os.chdir(here)
    wall = time.perf_counter() - start
    _refuse_personal_data(executed)
    out.mkdir(parents=True, exist_ok=True)
    rows = _render_pages(executed, out, secrets, lang=lang)
    if facts is not None:
        facts = _scrub_summary(facts, secrets)
    _write_glossary(out, lang)
    index = _write_index(out, rows, data, facts, wall=wall, jobs=jobs, lang=lang)
    _link_from_english_edition(out, lang)
    return index


def _link_from_english_edition(out: Path, lang: str) -> None:
    """After ``make report LANG=ja`` (into reports/ja), the English index in reports/ links to it too."""
    english = out.parent / "index.html"
    if lang == "en" or out.name != lang or not english.is_file():
        return
    page = english.read_text(encoding="utf-8")
    link = f'{lang}/index.html'
    if f'href="{link}"' in page or '<p class="more">' not in page:
        return
    text = _TEXT["en"]["other_edition"]
    page = re.sub(r'(<p class="more">.*?)(</p>)',
                  lambda m: f'{m.group(1)} · <a href="{link}" hreflang="{lang}">{text}</a>{m.group(2)}', page,
                  count=1, flags=re.S)
    english.write_text(embed_japanese_font(re.sub(r"<style>@font-face \{ font-family: ck-japanese;.*?</style>\n",
                                                  "", page, flags=re.S).replace("ck-japanese, ", "")),
                       encoding="utf-8")


def _execute_with_summary(sources, work, requested, kernel_name, jobs, notebooks, lang, summary,
                          customer_col, date_col, amount_col, campaign_col, currency):
    """Execute the notebooks while a child process computes the executive summary."""
    with _duckdb_limits(jobs), concurrent.futures.ThreadPoolExecutor(max_workers=1) as side:
        # started after the DuckDB limits are in the environment, which the child inherits
        pending = side.submit(
            _summary_in_child, requested.get("data_path"), customer_col=customer_col or "customer_id",
            date_col=date_col or "date", amount_col=amount_col or "amount",
            campaign_col=campaign_col or "campaign", customers=requested.get("customers_path"),
            campaigns=requested.get("campaigns_path"),
            lang=lang or "en", currency=currency,
        ) if summary else None
        executed = _execute_all(sources, work, requested, kernel_name, jobs, cwd=notebooks, lang=lang)
        facts = pending.result() if pending is not None else None
    return executed, facts


def _summary_in_child(data, **kwargs) -> Summary:
    """:func:`_summary_or_note` in a child process that exits once it has sent the summary back.

    The memory the summary's per-customer tables took then goes back to the system at once, instead
    of staying in this process's heap while the kernels run (0.7 GB after a 20-million-row summary).
    """
    import multiprocessing

    context = multiprocessing.get_context("spawn")  # no fork of a process running threads
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_send_summary, args=(send, data), kwargs=kwargs, daemon=True,
                            name="cohortkit-summary")
    child.start()
    send.close()
    try:
        return receive.recv()
    except EOFError:  # the child could not start or died before sending: compute it here, as before
        pass
    finally:
        receive.close()
        child.join()
    return _summary_or_note(data, **kwargs)


def _send_summary(connection, data, **kwargs) -> None:
    connection.send(_summary_or_note(data, **kwargs))
    connection.close()


# DuckDB's memory limit per process while the report runs (this process and ``jobs`` kernels): its default,
# 80 % of the machine's memory in *each* process, lets three processes together ask for more than twice
# the machine. A limit only changes when DuckDB spills to disk, never a number.
_DUCKDB_MEMORY_PER_PROCESS = "1GB"
# Allocator settings for the kernels and the summary process: Arrow's buffers through the C library's
# malloc (not a mimalloc pool that keeps what it freed), blocks of 1 MB and more mapped one by one (so a freed
# per-customer column goes back to the system at once) and two malloc arenas instead of eight per core.
# On the 20-million-row file the summary process peaked at 2.83 GB instead of 3.05 GB and ended its work
# holding 0.77 GB instead of 1.33 GB. They change where memory comes from, never a number.
_ALLOCATOR_SETTINGS = {"ARROW_DEFAULT_MEMORY_POOL": "system", "MALLOC_MMAP_THRESHOLD_": "1048576",
                       "MALLOC_ARENA_MAX": "2"}


@contextlib.contextmanager
def _duckdb_limits(jobs: int):
    """Set cohortkit's DuckDB limits and the allocator settings in the environment the kernels and the
    summary process inherit (a user's own setting wins)."""
    from ._engine import MEMORY_LIMIT_ENV, THREADS_ENV

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    wanted = {MEMORY_LIMIT_ENV: _DUCKDB_MEMORY_PER_PROCESS,
              THREADS_ENV: str(max(1, cores // max(1, int(jobs)))), **_ALLOCATOR_SETTINGS}
    before = {name: os.environ.get(name) for name in wanted}
    for name, value in wanted.items():
        if not before[name]:
            os.environ[name] = value
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _translated_sources(sources: list[Path], folder: Path, lang: str) -> list[Path]:
    """Write the ``lang`` edition of each notebook into ``folder``; raise listing untranslated cells."""
    import nbformat

    from ._errors import DataError
    from .i18n import translate_notebook

    folder.mkdir(parents=True, exist_ok=True)
    written, problems = [], []
    for src in sources:
        try:
            nb = translate_notebook(nbformat.read(src, as_version=4), lang, src.stem)
        except DataError as exc:
            problems.append(str(exc))
            continue
        target = folder / src.name
        nbformat.write(nb, target)
        written.append(target)
    if problems:
        raise ReportError("the {} edition is incomplete:\n  ".format(lang) + "\n  ".join(problems))
    return written


def _numbered_notebooks(folder: Path) -> list[Path]:
    sources = sorted(p for p in folder.glob("[0-9][0-9]-*.ipynb"))
    if not sources:
        raise ReportError(f"no notebooks named NN-*.ipynb in {folder.resolve()}")
    return sources


def _declared_parameters(src: Path) -> set[str]:
    import papermill

    return set(papermill.inspect_notebook(str(src)))


def _execute_all(sources: list[Path], work: Path, requested: dict, kernel_name: str,
                 jobs: int, cwd: Path | None = None, lang: str = "en") -> list[_Executed]:
    """Execute ``sources`` ``jobs`` at a time, longest first (by the last run's times in ``work``)."""
    timings_file = work / "timings.json"
    try:
        last = json.loads(timings_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        last = {}
    order = sorted(sources, key=lambda p: -float(last.get(p.name, 0.0)))

    def run(src: Path) -> _Executed:
        declared = _declared_parameters(src)
        params = {k: v for k, v in requested.items() if k in declared}
        return _execute(src, work / src.name, params, kernel_name, cwd=cwd, lang=lang)

    results: dict[Path, _Executed] = {}
    # progress bars (tqdm) are switched off in the kernels, which inherit this environment; they
    # change no number
    before = os.environ.get("TQDM_DISABLE")
    os.environ["TQDM_DISABLE"] = "1"
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, int(jobs))) as pool:
            futures = {pool.submit(run, src): src for src in order}
            try:
                for future in concurrent.futures.as_completed(futures):
                    results[futures[future]] = future.result()
            except BaseException:
                for f in futures:
                    f.cancel()
                raise
    finally:
        if before is None:
            os.environ.pop("TQDM_DISABLE", None)
        else:
            os.environ["TQDM_DISABLE"] = before
    timings = {**last, **{src.name: round(item.seconds, 2) for src, item in results.items()}}
    timings_file.write_text(json.dumps(timings, indent=1), encoding="utf-8")
    return [results[src] for src in sources]


def _execute(src: Path, target: Path, params: dict, kernel_name: str, cwd: Path | None = None,
             lang: str = "en") -> _Executed:
    """Run one notebook with papermill in ``cwd`` (default: its own folder) into ``target``; time it
    and read its title."""
    import nbformat
    import papermill

    start = time.perf_counter()
    print(f"executing {src.name} ...", flush=True)
    try:
        papermill.execute_notebook(
            str(src),
            str(target),
            parameters=params,
            cwd=str(cwd or src.parent),
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
    print(f"executed {src.name} in {seconds:.1f} s", flush=True)
    nb = nbformat.read(target, as_version=4)
    return _Executed(src, target, seconds, _title(nb, src.stem), _description(nb, src.stem, lang))


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


# --- what a reader sees: the report version of an executed notebook ------------------------------

_DROP_TAGS = {"remove-cell", "parameters", "injected-parameters", "exercise", "solution"}
_HEADING = re.compile(r"^(#{1,6})\s")
_EXERCISE_HEADING = re.compile(r"^#{1,6}\s*(?:(?:exercises?|workshop)\b|演習|ワークショップ)", re.IGNORECASE)
# tqdm-style progress bars: "desc:  93%|█████████▎| 28/30 [00:00<00:00, 278.71it/s]"
_PROGRESS = re.compile(r"\d+%\|.*\|\s*\d+/\d+|\d+(?:\.\d+)?\s*(?:it|s)/(?:s|it)\]|^\s*Executing:\s")


def _tags(cell) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def _is_progress(output) -> bool:
    if output.get("output_type") == "stream":
        text = str(output.get("text", ""))
        return output.get("name") == "stderr" and ("\r" in text or bool(_PROGRESS.search(text)))
    data = output.get("data", {})
    return "application/vnd.jupyter.widget-view+json" in data


def _without_exercise_text(source: str, dropping: int | None) -> tuple[str, int | None]:
    """Drop the lines under an Exercise / Workshop heading (to the next heading as high or higher)."""
    kept, fence = [], False
    for line in source.splitlines(keepends=True):
        if line.lstrip().startswith(("```", "~~~")):
            fence = not fence
        heading = None if fence else _HEADING.match(line)
        if heading:
            level = len(heading.group(1))
            if dropping is not None and level <= dropping:
                dropping = None
            if dropping is None and _EXERCISE_HEADING.match(line):
                dropping = level
        if dropping is None:
            kept.append(line)
    return "".join(kept), dropping


def report_version(nb, secrets: dict[str, str] | None = None):
    """Copy of executed notebook ``nb`` as the shared report shows it.

    Left out: cells tagged ``remove-cell``, the ``parameters`` cell and papermill's
    ``injected-parameters`` cell, workshop exercises (cells tagged ``exercise`` or ``solution`` and
    the markdown under an ``Exercise`` / ``Workshop`` heading, up to the next heading of the same or a
    higher level) and progress-bar outputs. ``secrets`` maps local paths to what replaces them in
    every output (longest first).

    Examples
    --------
    >>> import nbformat
    >>> md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    >>> nb = nbformat.v4.new_notebook(cells=[
    ...     md("# Title"), code("x = 1", metadata={"tags": ["parameters"]}),
    ...     md("## Step 1\\nText.\\n\\n### Exercise 1: CTR\\nCompute it."),
    ...     code("answer = ...", metadata={"tags": ["exercise"]}),
    ...     code("answer = 1 / 80", metadata={"tags": ["solution"]}),
    ...     md("## Step 2"), code("print(x)")])
    >>> [c.source for c in report_version(nb).cells]
    ['# Title', '## Step 1\\nText.\\n\\n', '## Step 2', 'print(x)']
    """
    import copy

    out = copy.deepcopy(nb)
    cells, dropping = [], None
    for cell in out.cells:
        if _tags(cell) & _DROP_TAGS:
            continue
        if cell.cell_type == "markdown":
            cell.source, dropping = _without_exercise_text(cell.source, dropping)
            if not cell.source.strip():
                continue
        elif dropping is not None:
            dropping = None  # an untagged code cell belongs to the main thread again
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.get("outputs", []) if not _is_progress(o)]
            if secrets:
                for output in cell.outputs:
                    _scrub_output(output, secrets)
        cells.append(cell)
    out.cells = cells
    return out


def _local_paths(paths: list[str | None], notebooks: Path) -> dict[str, str]:
    """Local paths that must not appear in the report, mapped to what replaces them."""
    secrets: dict[str, str] = {}
    for path in paths:
        if not path:
            continue
        for form in {str(path), str(Path(path).resolve()), str(Path(path).expanduser())}:
            secrets[form] = Path(path).name
        for folder in {Path(path).parent, Path(path).resolve().parent}:
            if str(folder) not in {".", "/"}:
                secrets[str(folder)] = "…"
    for folder in (notebooks.resolve().parent, Path(sys.prefix), Path.home()):
        if str(folder) not in {".", "/"}:
            secrets.setdefault(str(folder), "…")
    return dict(sorted(secrets.items(), key=lambda kv: -len(kv[0])))


# where a warning was raised in a kernel: "/tmp/ipykernel_1234/567.py:3: " (a local temporary file)
_KERNEL_FILE = re.compile(r"(?:[A-Za-z]:)?[^\s:]*ipykernel_\d+[/\\]\d+\.py:\d+: ")


def _scrub(text: str, secrets: dict[str, str]) -> str:
    for secret, replacement in secrets.items():
        if secret in text:
            text = text.replace(secret, replacement)
    return _KERNEL_FILE.sub("", text)


def _scrub_output(output, secrets: dict[str, str]) -> None:
    if "text" in output:
        output["text"] = _scrub(str(output["text"]), secrets)
    if "traceback" in output:
        output["traceback"] = [_scrub(line, secrets) for line in output["traceback"]]
    if "evalue" in output:
        output["evalue"] = _scrub(str(output["evalue"]), secrets)
    for mime, value in output.get("data", {}).items():
        if mime.startswith("text/") or mime == "application/json":
            joined = value if isinstance(value, str) else "".join(value)
            output["data"][mime] = _scrub(joined, secrets)


_PAGE_TEMPLATE = r"""
{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}
{%- if resources.ck_math -%}{{ super() }}{%- endif -%}
{%- endblock html_head_js_mathjax -%}
{% block extra_css %}
<style>
body:not(.ck-show-code) .jp-CodeCell .jp-Cell-inputWrapper { display: none; }
body:not(.ck-show-code) .jp-CodeCell.jp-mod-noOutputs { display: none; }
.ck-bar { position: sticky; top: 0; z-index: 10; display: flex; gap: 1rem; align-items: center;
  padding: 0.4rem 1rem; background: #fafafa; border-bottom: 1px solid #ddd; font-size: 14px;
  font-family: system-ui, sans-serif; }
.ck-bar button { font: inherit; padding: 0.15rem 0.7rem; cursor: pointer; }
</style>
{% endblock extra_css %}
{%- block body_header -%}
{{ super() }}
<nav class="ck-bar"><a href="index.html">{{ resources.ck_labels.index }}</a>
<button type="button" id="ck-code-toggle" aria-pressed="false">{{ resources.ck_labels.show }}</button></nav>
{%- endblock body_header -%}
{% block body_footer %}
<script>
(function () {
  var button = document.getElementById("ck-code-toggle");
  var labels = {{ resources.ck_labels | tojson }};
  button.addEventListener("click", function () {
    var shown = document.body.classList.toggle("ck-show-code");
    button.textContent = shown ? labels.hide : labels.show;
    button.setAttribute("aria-pressed", shown ? "true" : "false");
  });
})();
</script>
{{ super() }}
{% endblock body_footer %}
"""

_PAGE_LABELS = {
    "en": {"index": "← Report summary", "show": "Show code", "hide": "Hide code"},
    "ja": {"index": "← レポートの要約", "show": "コードを表示", "hide": "コードを隠す"},
}


def _html_exporter():
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    exporter = HTMLExporter(
        embed_images=True,
        extra_loaders=[DictLoader({"cohortkit_report.html.j2": _PAGE_TEMPLATE})],
        template_file="cohortkit_report.html.j2",
    )
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    # set-up boilerplate (imports, bilingual labels) is tagged "hide-input": its code is left out of
    # the shared page, its output kept; cells tagged "remove-cell" are left out entirely
    exporter.register_preprocessor(
        TagRemovePreprocessor(remove_input_tags={"hide-input"}, remove_cell_tags={"remove-cell"}),
        enabled=True,
    )
    return exporter


_MATH = re.compile(r"\$\$.+?\$\$|(?<![\\$\w])\$[^$\s][^$\n]*?(?<!\s)\$(?!\w)|\\\(|\\\[", re.S)


def _has_math(nb) -> bool:
    return any(cell.cell_type == "markdown" and _MATH.search(cell.source) for cell in nb.cells)


def _rewrite_links(body: str, pages: set[str]) -> str:
    """Point links to sibling notebooks (``NN-name.ipynb[#anchor]``) at their rendered pages."""

    def replace(match: re.Match) -> str:
        name, anchor = match.group(2), match.group(3) or ""
        if f"{name}.html" not in pages:
            return match.group(0)
        return f'{match.group(1)}{name}.html{anchor}"'

    return re.sub(r'(href=")(?:\./)?(\d\d-[^"/#?]+)\.ipynb(#[^"]*)?"', replace, body)


def _render_pages(executed: list[_Executed], out: Path, secrets: dict[str, str] | None = None,
                  lang: str = "en") -> list[tuple[str, str, float, str]]:
    """Write each executed notebook as ``out/NN-name.html``; return (page, title, seconds, text) rows."""
    import nbformat

    exporter = _html_exporter()
    pages = {item.source.with_suffix(".html").name for item in executed}
    rows = []
    for item in executed:
        nb = report_version(nbformat.read(item.executed, as_version=4), secrets)
        resources = {"metadata": {"name": item.title}, "ck_math": _has_math(nb),
                     "ck_labels": _PAGE_LABELS.get(lang, _PAGE_LABELS["en"])}
        body, _ = exporter.from_notebook_node(nb, resources=resources)
        page = item.source.with_suffix(".html").name
        (out / page).write_text(embed_japanese_font(_rewrite_links(body, pages)), encoding="utf-8")
        rows.append((page, item.title, item.seconds, item.description))
    return rows


# --- Japanese text on any machine: a subset of the plots' font embedded in each page ---------------------

# kana, CJK ideographs and punctuation, full-width forms: the characters a machine without Japanese fonts
# would show as empty boxes ("tofu")
_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]")
_FONT_FAMILY = "ck-japanese"
_FONT_DECLARATION = re.compile(
    r"((?:--jp-[\w-]*font-family[\w-]*|font-family)\s*:\s*)([^;{}]+?)(\s*(?:!important\s*)?[;}])")


@lru_cache(maxsize=32)
def _font_subset(characters: str) -> bytes:
    """WOFF bytes of IPAex Gothic (matplotlib-fontja's file, IPA Font License) cut to ``characters``."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    from .style import japanese_font_path

    font = TTFont(str(japanese_font_path()))
    options = subset.Options()
    options.flavor = "woff"
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=characters)
    subsetter.subset(font)
    buffer = io.BytesIO()
    font.flavor = "woff"
    font.save(buffer)
    return buffer.getvalue()


def embed_japanese_font(page: str) -> str:
    """``page`` (HTML) with the Japanese characters it uses embedded as a web font.

    The font is IPAex Gothic, the one the plots use, cut to the characters of this page (a few hundred
    kB for a notebook in Japanese) and put first in every ``font-family`` of the page's CSS. It has no
    Latin letters or digits, so those keep the page's fonts; Japanese renders the same on a machine with
    no Japanese font installed. (Put last, behind ``sans-serif``, Chromium painted empty boxes where the
    system had no Japanese font, though its layout used the embedded one.) A page without Japanese
    characters is returned unchanged.

    >>> embed_japanese_font("<html><head></head><body>CTR</body></html>")
    '<html><head></head><body>CTR</body></html>'
    >>> page = embed_japanese_font("<html><head><style>p { font-family: serif; }</style></head><body>顧客</body></html>")
    >>> "font-family: ck-japanese, serif;" in page and "data:font/woff;base64," in page
    True
    """
    characters = "".join(sorted(set(_CJK.findall(page))))
    if not characters or "</head>" not in page:
        return page

    def append(match: re.Match) -> str:
        families = match.group(2)
        if _FONT_FAMILY in families or families.strip().startswith(("inherit", "var(", "initial", "unset")):
            return match.group(0)
        return f"{match.group(1)}{_FONT_FAMILY}, {families}{match.group(3)}"

    head, rest = page.split("</head>", 1)
    head = _FONT_DECLARATION.sub(append, head)
    data = base64.b64encode(_font_subset(characters)).decode("ascii")
    style = (f'<style>@font-face {{ font-family: {_FONT_FAMILY}; src: url(data:font/woff;base64,{data}) '
             f'format("woff"); font-display: block; }}\n'
             f"body {{ font-family: {_FONT_FAMILY}, system-ui, sans-serif; }}</style>\n")
    return head + style + "</head>" + rest


# --- the glossary page ----------------------------------------------------------------------------------

_GLOSSARY_TEXT = {
    "en": {"title": "Glossary", "intro": "The terms of the series in English and Japanese, with their formulas.",
           "back": "← Report summary", "columns": ["term", "Japanese", "topic", "formula", "definition"]},
    "ja": {"title": "用語集", "intro": "シリーズで使う用語（英語・日本語）と計算式。",
           "back": "← レポートの要約", "columns": ["英語", "日本語", "分野", "計算式", "定義"]},
}


def _write_glossary(out: Path, lang: str) -> Path:
    """Write ``out/glossary.html``: the bilingual glossary (:func:`cohortkit.glossary`) as a page."""
    from .style import glossary

    text = _GLOSSARY_TEXT[lang]
    table = glossary(lang)[["term", "japanese", "topic", "formula", "definition"]]
    esc = html.escape
    rows = "\n".join("<tr>" + "".join(f"<td>{esc(str(v))}</td>" for v in row) + "</tr>"
                     for row in table.itertuples(index=False))
    head = "".join(f"<th>{esc(c)}</th>" for c in text["columns"])
    page = f"""<!DOCTYPE html>
<html lang="{esc(lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{esc(text["title"])} — cohortkit</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 72rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5; }}
table {{ border-collapse: collapse; font-size: 0.92rem; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 0.35rem 0.6rem; text-align: left; vertical-align: top; }}
th {{ background: #f4f4f4; }}
</style>
</head>
<body>
<p><a href="index.html">{esc(text["back"])}</a></p>
<h1 id="glossary">{esc(text["title"])}</h1>
<p>{esc(text["intro"])}</p>
<table>
<thead><tr>{head}</tr></thead>
<tbody>
{rows}
</tbody>
</table>
</body>
</html>
"""
    path = out / "glossary.html"
    path.write_text(embed_japanese_font(page), encoding="utf-8")
    return path


# --- the executive summary ----------------------------------------------------------------------------

# the assumptions of notebook 04's defaults, so that the summary and the notebook agree
_MARGIN, _TARGET_LTV_CAC, _HORIZON_WEEKS, _ANNUAL_DISCOUNT = 0.3, 3.0, 52, 0.10

_TEXT = {
    "en": {
        "title": "cohortkit report: beyond the conversion",
        "glance": "At a glance",
        "leaders": "CTR leader vs LTV-ROAS leader",
        "leaders_value": "{ctr} → {ltv}",
        "leaders_detail": "best CTR: {ctr} ({ctr_rate}), ranked {ctr_ltv_rank} of {n} by LTV-ROAS; "
        "best LTV-ROAS: {ltv}, ranked {ltv_ctr_rank} of {n} by CTR",
        "tau": "Ranking reversal (Kendall tau, CTR vs LTV-ROAS)",
        "tau_detail": "{moved} of {n} campaigns change rank; 1 = same order, −1 = reversed",
        "best": "LTV-ROAS of the best campaign",
        "best_detail": "{campaign}: customer margin (30 %) over the customers' lifetime per yen of ad "
        "spend; above 1 the ads pay for themselves",
        "retention": "Month-1 retention",
        "retention_detail": "{active:,} of {size:,} new customers bought again in the calendar month "
        "after their first purchase (all cohorts, 95 % interval)",
        "clv": "Mean predicted customer value, next 52 weeks",
        "clv_detail": "BG/NBD + Gamma-Gamma on {customers:,} customers, revenue discounted at 10 % a "
        "year; P(still active) {alive}",
        "slope": "Rank by CTR → rank by LTV-ROAS",
        "rank_ctr": "rank by CTR", "rank_ltv": "rank by LTV-ROAS", "rank": "rank (1 = best)",
        "heatmap": "Retention by monthly acquisition cohort",
        "cohort": "cohort (month of first purchase)",
        "since": "months since first purchase",
        "missing": "Not computed: {what} (your data has transactions only; pass CUSTOMERS= and "
        "CAMPAIGNS= with each customer's acquisition campaign and the ad costs).",
        "missing_what": "the CTR and LTV-ROAS leaders, the ranking reversal and the best LTV-ROAS",
        "failed": "Not computed: {what}: {error}",
        "notebooks": "The notebooks",
        "meta": "Rendered {today} with cohortkit {version} on {data}; {n} notebooks executed in "
        "{wall:.1f} s ({jobs} at a time; {total:.1f} s of notebook time).",
        "glossary": "Glossary (English–Japanese)",
        "other_edition": "日本語版",
        "bundled": "the bundled simulated shop",
        "yours": "your data ({name})",
    },
    "ja": {
        "title": "cohortkit レポート：CVの向こう側",
        "glance": "要点",
        "leaders": "CTR首位とLTV-ROAS首位",
        "leaders_value": "{ctr} → {ltv}",
        "leaders_detail": "CTR首位：{ctr}（{ctr_rate}）、LTV-ROASでは{n}件中{ctr_ltv_rank}位。"
        "LTV-ROAS首位：{ltv}、CTRでは{n}件中{ltv_ctr_rank}位",
        "tau": "順位の逆転（ケンドールのτ、CTR対LTV-ROAS）",
        "tau_detail": "{n}件中{moved}件の順位が変わる。1 = 同じ順、−1 = 逆順",
        "best": "最良キャンペーンのLTV-ROAS",
        "best_detail": "{campaign}：顧客の生涯粗利（粗利率30%）÷ 広告費。1を超えれば広告費を回収",
        "retention": "1か月後のリテンション",
        "retention_detail": "新規顧客{size:,}人のうち{active:,}人が初回購入の翌月にも購入（全コホート、95%区間）",
        "clv": "顧客1人あたりの予測価値（今後52週）",
        "clv_detail": "BG/NBD + Gamma-Gamma、顧客{customers:,}人、売上を年10%で割引。稼働確率 {alive}",
        "slope": "CTR順位 → LTV-ROAS順位",
        "rank_ctr": "CTRの順位", "rank_ltv": "LTV-ROASの順位", "rank": "順位（1 = 最良）",
        "heatmap": "月次獲得コホート別リテンション",
        "cohort": "コホート（初回購入月）",
        "since": "初回購入からの月数",
        "missing": "未計算：{what}（取引データのみのため。顧客ごとの獲得キャンペーンと広告費を "
        "CUSTOMERS= と CAMPAIGNS= で渡してください）。",
        "missing_what": "CTR首位とLTV-ROAS首位、順位の逆転、最良のLTV-ROAS",
        "failed": "未計算：{what}：{error}",
        "notebooks": "ノートブック",
        "meta": "{today} に cohortkit {version} で作成、データ：{data}。{n}本のノートブックを{wall:.1f}秒で実行"
        "（同時に{jobs}本、ノートブック時間の合計{total:.1f}秒）。",
        "glossary": "用語集（英語・日本語）",
        "other_edition": "English edition",
        "bundled": "同梱のシミュレーションショップ",
        "yours": "あなたのデータ（{name}）",
    },
}


@dataclass
class Summary:
    """What the executive summary shows: number tiles, plots (PNG bytes) and lines on what is missing."""

    tiles: list[tuple[str, str, str]] = field(default_factory=list)  # (label, value, detail)
    figures: list[tuple[str, bytes]] = field(default_factory=list)  # (alt text, PNG)
    missing: list[str] = field(default_factory=list)
    numbers: dict = field(default_factory=dict)  # the raw values, for tests and re-use


def _money(value: float, currency: str = "¥", lang: str = "en") -> str:
    """``¥1,234`` (whole units); ``1,234円`` in Japanese.

    >>> _money(5175.2), _money(5175.2, lang="ja"), _money(32.1, "$", lang="ja")
    ('¥5,175', '5,175円', '$32')
    """
    if currency == "¥":
        from .format import money

        return money(value, digits=0, lang=lang)
    return f"{currency}{value:,.0f}"


def _pct(value: float, lang: str = "en") -> str:
    """``12.3 %`` (``12.3%`` in Japanese)."""
    from .format import percent

    return percent(value, lang=lang)


def _pct_ci(value: float, lower: float, upper: float, lang: str = "en") -> str:
    """``12.3 % (11.8–12.9)``: a rate with its interval, in percent.

    >>> _pct_ci(0.15203, 0.14703, 0.15718), _pct_ci(0.15203, 0.14703, 0.15718, lang="ja")
    ('15.2 % (14.7–15.7)', '15.2% (14.7–15.7)')
    """
    from .format import interval

    return interval(value, lower, upper, lang=lang)


def _ratio_ci(value: float, lower: float, upper: float, lang: str = "en") -> str:
    """``2.41 (2.20–2.63)``.

    >>> _ratio_ci(2.4132, 2.2, 2.634)
    '2.41 (2.20–2.63)'
    """
    from .format import interval

    return interval(value, lower, upper, kind="number", lang=lang)


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


def executive_summary(
    data=None,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    campaign_col: str = "campaign",
    customers=None,
    campaigns=None,
    lang: str = "en",
    currency: str = "¥",
) -> Summary:
    """The five numbers and two plots a manager reads first, computed from the series' data.

    With no ``data``: the bundled shop. With ``data`` (transactions) alone: month-1 retention, the
    predicted customer value and the retention heatmap, plus a line saying what needs ``customers``
    and ``campaigns``. The CLV model and economics are notebook 04's defaults (BG/NBD + Gamma-Gamma
    in weeks, 52 weeks, 10 % a year, margin 30 %, target LTV:CAC 3).
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    import pandas as pd

    import cohortkit as ck

    ck.set_style(lang=lang)
    text = _TEXT.get(lang, _TEXT["en"])
    result = Summary()
    tx_names = {customer_col: "customer_id", date_col: "date", amount_col: "amount"}
    if data is None:
        shop = ck.datasets.load_shop()
        transactions, acquired, costs = shop.transactions, shop.customers, shop.campaigns
    else:
        acquired = costs = None
        if customers is not None and campaigns is not None:
            transactions = ck.io.read_frame(data, columns=tx_names)
            transactions["date"] = pd.to_datetime(transactions["date"])
            acquired = ck.io.read_frame(customers, columns={customer_col: "customer_id",
                                                            campaign_col: "campaign"})
            if "acquired_at" in acquired:
                acquired["acquired_at"] = pd.to_datetime(acquired["acquired_at"])
            costs = ck.io.read_frame(campaigns, columns={campaign_col: "campaign"})
        else:
            # transactions only: the file stays in DuckDB (of any size); only per-customer tables come back
            transactions = ck.read_table(data).rename({new: old for old, new in tx_names.items()})
    whole = ck.read_table(transactions)
    observation_end = pd.Timestamp(ck.to_pandas(whole.aggregate(last=whole.date.max()))["last"].iloc[0]).normalize()

    # customer value (notebook 04, step 1)
    rfm = ck.rfm_summary(transactions, amount_col="amount", time_unit="W", observation_end=observation_end)
    model = ck.CLVModel("bgnbd", spend_model="gamma_gamma").fit(rfm)
    residual = model.clv(_HORIZON_WEEKS, time_unit="W",
                         discount_rate=ck.clv.per_period_rate(_ANNUAL_DISCOUNT, "W"))
    result.numbers["mean_clv"] = float(residual.mean())
    result.numbers["p_alive"] = float(model.p_alive().mean())

    # campaigns judged by their customers (notebook 04, steps 2-3)
    value = None
    if acquired is not None and costs is not None:
        try:
            value = ck.ad_value(costs, acquired, residual, transactions=transactions,
                                economics=ck.Economics(margin=_MARGIN, target_ltv_cac=_TARGET_LTV_CAC),
                                time_unit="W", observation_end=observation_end)
        except (ck.DataError, KeyError) as exc:
            result.missing.append(text["failed"].format(what=text["missing_what"], error=exc))
    elif data is not None:
        result.missing.append(text["missing"].format(what=text["missing_what"]))
    if value is not None:
        ranked = value.set_index("campaign")
        n = len(ranked)
        ctr_best, ltv_best = ranked["ctr"].idxmax(), ranked["ltv_roas"].idxmax()
        shift = ck.rank_shift(value, "ctr", "ltv_roas")
        best = ranked.loc[ltv_best]
        result.numbers.update(ctr_leader=ctr_best, ltv_roas_leader=ltv_best,
                              kendall_tau=float(shift.attrs["kendall_tau"]),
                              best_ltv_roas=float(best["ltv_roas"]))
        ctr_row = ranked.loc[ctr_best]
        result.tiles.append((
            text["leaders"], text["leaders_value"].format(ctr=ctr_best, ltv=ltv_best),
            text["leaders_detail"].format(
                ctr=ctr_best, ltv=ltv_best, n=n,
                ctr_rate="CTR " + _pct_ci(ctr_row["ctr"], ctr_row["ctr_lower"], ctr_row["ctr_upper"], lang),
                ctr_ltv_rank=int(ctr_row["rank_ltv_roas"]), ltv_ctr_rank=int(best["rank_ctr"])),
        ))
        result.tiles.append((text["tau"], f"{shift.attrs['kendall_tau']:+.2f}".replace("-", "−"),
                             text["tau_detail"].format(moved=shift.attrs["n_moved"], n=n)))
        lower, upper = best.get("ltv_roas_lower"), best.get("ltv_roas_upper")
        shown = (_ratio_ci(best["ltv_roas"], lower, upper, lang) if pd.notna(lower) and pd.notna(upper)
                 else f"{best['ltv_roas']:.2f}")
        result.tiles.append((text["best"], shown, text["best_detail"].format(campaign=ltv_best)))

    # the per-customer tables are done with (millions of rows on a big file): free them before the cohorts
    n_customers = len(rfm)
    rfm = model = residual = None
    # month-1 retention over all monthly cohorts (in-progress months left out)
    cohorts = ck.cohort_table(transactions, time_unit="M")
    month1 = cohorts[cohorts["period_number"] == 1]
    active, size = int(month1["active_customers"].sum()), int(month1["cohort_size"].sum())
    if size:
        rate = ck.rate(active, size).iloc[0]
        result.numbers["month1_retention"] = float(rate["rate"])
        result.tiles.append((text["retention"], _pct_ci(rate["rate"], rate["lower"], rate["upper"], lang),
                             text["retention_detail"].format(active=active, size=size)))
    result.tiles.append((text["clv"], _money(result.numbers["mean_clv"], currency, lang),
                         text["clv_detail"].format(customers=n_customers, alive=_pct(result.numbers["p_alive"], lang))))

    # the two plots
    if value is not None:
        fig = Figure(figsize=(5.6, 4.2))
        ax = fig.subplots()
        ck.plot.rank_slope(value, "ctr", "ltv_roas", ax=ax)
        ax.set_xticks([0, 1], [text["rank_ctr"], text["rank_ltv"]])
        ax.set_ylabel(text["rank"])
        ax.set_title(text["slope"])
        fig.tight_layout()
        result.figures.append((text["slope"], _png(fig)))
    fig = Figure(figsize=(6.4 if value is not None else 9, 4.2))
    ax = fig.subplots()
    ck.plot.retention_heatmap(cohorts, annot=False, vmax=0.3, ax=ax)
    ax.grid(False)
    ax.set_title(text["heatmap"])
    ax.set_xlabel(text["since"])
    ax.set_ylabel(text["cohort"])
    fig.tight_layout()
    result.figures.append((text["heatmap"], _png(fig)))
    return result


def _summary_or_note(data, **kwargs) -> Summary:
    """:func:`executive_summary`, or a summary that says why it could not be computed."""
    from ._engine import release_backend

    try:
        return executive_summary(data, **kwargs)
    except Exception as exc:  # the notebooks report their own failures; the index says this one
        text = _TEXT.get(kwargs.get("lang", "en"), _TEXT["en"])
        return Summary(missing=[text["failed"].format(what=text["glance"], error=f"{type(exc).__name__}: {exc}")])
    finally:
        # the summary's per-customer tables and DuckDB's buffers: free while the kernels still run
        release_backend()


def _scrub_summary(facts: Summary, secrets: dict[str, str]) -> Summary:
    facts.tiles = [tuple(_scrub(str(x), secrets) for x in tile) for tile in facts.tiles]
    facts.missing = [_scrub(line, secrets) for line in facts.missing]
    return facts


def _write_index(out: Path, rows: list[tuple[str, str, float, str]], data: str | None,
                 facts: Summary | None = None, *, wall: float | None = None, jobs: int = 1,
                 lang: str = "en") -> Path:
    """Write ``out/index.html``: the executive summary, then every page with its run time."""
    from . import __version__

    text = _TEXT.get(lang, _TEXT["en"])
    total = sum(r[2] for r in rows)
    wall = total if wall is None else wall
    today = _dt.date.today().isoformat()
    esc = html.escape
    source = text["yours"].format(name=Path(data).name) if data else text["bundled"]
    items = "\n".join(
        f'    <li><a href="{esc(page)}">{esc(title)}</a> <span class="t">({seconds:.1f} s)</span>'
        + (f'<br><span class="d">{esc(description)}</span>' if description else "")
        + "</li>"
        for page, title, seconds, description in rows
    )
    # the other edition, when it has been built: reports/ holds English, reports/ja/ Japanese
    other = out / "ja" / "index.html" if lang == "en" else out.parent / "index.html"
    editions = (f' · <a href="{"ja/index.html" if lang == "en" else "../index.html"}" '
                f'hreflang="{"ja" if lang == "en" else "en"}">{esc(text["other_edition"])}</a>'
                if other.is_file() else "")
    glance = ""
    if facts is not None:
        tiles = "\n".join(
            f'  <div class="tile"><div class="label">{esc(label)}</div>'
            f'<div class="value{" names" if "→" in value else ""}">{esc(value)}</div>'
            f'<div class="detail">{esc(detail)}</div></div>'
            for label, value, detail in facts.tiles
        )
        figures = "\n".join(
            f'  <figure><img alt="{esc(alt)}" src="data:image/png;base64,'
            f'{base64.b64encode(png).decode("ascii")}"></figure>'
            for alt, png in facts.figures
        )
        missing = "\n".join(f'<p class="missing">{esc(line)}</p>' for line in facts.missing)
        glance = f"""<h2>{esc(text["glance"])}</h2>
<div class="tiles">
{tiles}
</div>
{missing}
<div class="figures">
{figures}
</div>
"""
    index = f"""<!DOCTYPE html>
<html lang="{esc(lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>cohortkit report</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 64rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5; }}
h1 {{ margin-bottom: 0.2rem; }} .meta, .t {{ color: #666; font-size: 0.9rem; }}
.tiles {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(11.5rem, 1fr)); gap: 0.8rem; }}
.tile {{ border: 1px solid #ddd; border-radius: 6px; padding: 0.7rem 0.8rem; background: #fafafa; }}
.tile .label {{ font-size: 0.85rem; color: #444; }}
.tile .value {{ font-size: 1.45rem; font-weight: 600; margin: 0.2rem 0; overflow-wrap: anywhere; }}
.tile .detail {{ font-size: 0.8rem; color: #666; }}
.missing {{ border-left: 4px solid #d08700; padding: 0.3rem 0.7rem; background: #fff8e6; }}
.tile .value.names {{ font-size: 1.05rem; }}
.figures {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(20rem, 1fr)); gap: 1rem;
  align-items: start; margin-top: 1rem; }}
.figures figure {{ margin: 0; }} .figures img {{ width: 100%; height: auto; }}
li {{ margin: 0.5rem 0; }} .d {{ color: #333; font-size: 0.92rem; }}
</style>
</head>
<body>
<h1>{esc(text["title"])}</h1>
<p class="meta">{esc(text["meta"].format(today=today, version=__version__, data=source, n=len(rows),
                                         wall=wall, jobs=jobs, total=total))}</p>
{glance}<h2>{esc(text["notebooks"])}</h2>
<ol>
{items}
</ol>
<p class="more"><a href="glossary.html">{esc(text["glossary"])}</a>{editions}</p>
</body>
</html>
"""
    index_path = out / "index.html"
    index_path.write_text(embed_japanese_font(index), encoding="utf-8")
    print(f"wrote {index_path} ({len(rows)} notebooks executed in {wall:.1f} s, {jobs} at a time)")
    return index_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", default="notebooks")
    parser.add_argument("--out", default="reports")
    parser.add_argument("--work", default="build/executed")
    parser.add_argument("--data", default=None, help="your transactions CSV/Parquet, passed as data_path")
    parser.add_argument("--customer-col", default=None)
    parser.add_argument("--date-col", default=None)
    parser.add_argument("--amount-col", default=None)
    parser.add_argument("--campaign-col", default=None)
    parser.add_argument("--customers", default=None, help="one row per customer with its campaign (customers_path)")
    parser.add_argument("--campaigns", default=None, help="ad-platform costs per campaign (campaigns_path)")
    parser.add_argument("--lang", default=None, choices=["en", "ja"])
    parser.add_argument("--currency", default="¥")
    parser.add_argument("--jobs", type=int, default=2, help="notebooks executed at a time")
    args = parser.parse_args(argv)
    try:
        build_report(args.notebooks, args.out, data=args.data, work=args.work,
                     customer_col=args.customer_col, date_col=args.date_col, amount_col=args.amount_col,
                     campaign_col=args.campaign_col, customers=args.customers, campaigns=args.campaigns,
                     lang=args.lang, currency=args.currency, jobs=args.jobs)
    except ReportError as exc:
        print(f"make report: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
