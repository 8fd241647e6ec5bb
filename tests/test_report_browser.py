"""The rendered report, opened in headless Chromium: images decode, no cell shows an error.

A tiny notebook (markdown title, printed text, a matplotlib figure with a Japanese title after
``set_style("ja")``) goes through :func:`cohortkit._report.build_report`, and so does the real series
(``test_real_report``, slow: it executes every notebook). Each page is copied with two small scripts:
one first in ``<head>`` that records console errors and warnings, uncaught exceptions and resources
that fail to load; one appended that records, once the page has loaded, how many images there are,
how many decoded (``naturalWidth > 0``), which outputs went to stderr (nbconvert 7 renders both error
tracebacks and warnings as ``data-mime-type="application/vnd.jupyter.stderr"``), every link, whether
each same-page anchor exists, and how many code inputs are visible before and after the "Show code"
button is clicked. Chromium runs with ``--dump-dom`` and the network blocked; the result is read back
from the dumped DOM. Links to other files are resolved on disk (their anchors too). Negative controls
(a broken image, an error output, a warning, a script error, a dead link) show the checks can fail.
Playwright is not used: its pip package drives its own browser build, which cannot be downloaded here.

Chromium is the Debian ``chromium`` package; when it is missing the set-up installs it with apt-get
(as root) or skips with the reason.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.browser

RESULT_ID = "ck-browser-check"
# first in <head>: console errors / warnings, uncaught exceptions and failed resources (capture phase)
CONSOLE_SCRIPT = """
<script>
window.__ckConsole = [];
(function () {
  ["error", "warn"].forEach(function (level) {
    var original = console[level];
    console[level] = function () {
      window.__ckConsole.push(level + ": " + Array.prototype.join.call(arguments, " ").slice(0, 300));
      return original.apply(console, arguments);
    };
  });
  window.addEventListener("error", function (e) {
    var t = e.target;
    if (t && t !== window && (t.src || t.href)) {
      window.__ckConsole.push("failed to load " + (t.src || t.href).slice(0, 200));
    } else {
      window.__ckConsole.push("uncaught: " + e.message);
    }
  }, true);
  window.addEventListener("unhandledrejection", function (e) {
    window.__ckConsole.push("unhandled rejection: " + String(e.reason).slice(0, 300));
  });
})();
</script>
"""
CHECK_SCRIPT = """
<script>
window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images);
  var stderr = Array.prototype.slice.call(
    document.querySelectorAll('[data-mime-type="application/vnd.jupyter.stderr"]'));
  var result = {
    title: document.title,
    images: images.length,
    decoded: images.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length,
    widths: images.map(function (i) { return i.naturalWidth; }),
    stderr: stderr.map(function (e) { return e.textContent.trim().slice(0, 300); }),
    errors: stderr.filter(function (e) {
      return /Traceback|\\w+(Error|Exception)\\b/.test(e.textContent); }).length,
    links: Array.prototype.map.call(document.querySelectorAll("a[href]"),
      function (a) { return a.getAttribute("href"); }),
    headings: Array.prototype.map.call(document.querySelectorAll("h1"),
      function (h) { return h.textContent.replace(/\\u00b6/g, "").trim(); }),
    missing_anchors: Array.prototype.map.call(document.querySelectorAll('a[href^="#"]'),
      function (a) { return a.getAttribute("href"); }).filter(function (h) {
        // a browser tries the fragment as written, then percent-decoded (nbconvert writes ids encoded)
        return h.length > 1 && !document.getElementById(h.slice(1)) &&
          !document.getElementById(decodeURIComponent(h.slice(1))); }),
    console: window.__ckConsole || [],
    text: document.body.innerText.slice(0, 5000)
  };
  function visibleCode() {
    return Array.prototype.filter.call(
      document.querySelectorAll(".jp-CodeCell .jp-Cell-inputWrapper"),
      function (e) { return e.offsetParent !== null; }).length;
  }
  var toggle = document.getElementById("ck-code-toggle");
  result.code_inputs = document.querySelectorAll(".jp-CodeCell .jp-Cell-inputWrapper").length;
  result.code_visible = visibleCode();
  if (toggle) { toggle.click(); result.code_visible_after_toggle = visibleCode(); toggle.click(); }
  // the Japanese characters the page shows (screenshot_tofu checks that each one renders)
  result.japanese_chars = Array.from(new Set(document.body.innerText.match(
    /[\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]/g) || [])).join("");
  var pre = document.createElement("pre");
  pre.id = "%s";
  pre.textContent = JSON.stringify(result);
  document.body.appendChild(pre);
});
</script>
""" % RESULT_ID

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    # offline and deterministic: the nbconvert template's CDN scripts (require.js, MathJax) fail fast
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost",
    "--virtual-time-budget=5000",
]


@pytest.fixture(scope="session")
def chromium() -> str:
    found = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if found:
        return found
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("headless Chromium is not installed and the tests do not run as root; "
                    "install it with `sudo apt-get install -y chromium`")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1200)
        if done.returncode != 0:
            pytest.skip(f"could not install chromium ({' '.join(command)}): {done.stderr[-500:]}")
    found = shutil.which("chromium")
    if not found:
        pytest.skip("apt-get installed chromium but no `chromium` executable is on PATH")
    return found


def inspect_page(chromium: str, page: Path, scratch: Path, screenshot: Path | None = None) -> dict:
    """Open ``page`` in headless Chromium and return what the check script saw."""
    scratch.mkdir(parents=True, exist_ok=True)
    html = page.read_text(encoding="utf-8")
    base = f'<base href="{page.parent.resolve().as_uri()}/">'
    html = html.replace("<head>", "<head>" + base + CONSOLE_SCRIPT, 1)
    assert "</body>" in html, f"{page} has no </body>"
    checked = scratch / f"checked-{page.name}"
    checked.write_text(html.replace("</body>", CHECK_SCRIPT + "</body>", 1), encoding="utf-8")
    profile = scratch / "profile"
    command = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}"]
    done = subprocess.run(
        [*command, "--dump-dom", checked.as_uri()], capture_output=True, text=True, timeout=120
    )
    match = re.search(rf'<pre id="{RESULT_ID}">(.*?)</pre>', done.stdout, re.S)
    assert match, f"the check script did not run (exit {done.returncode}): {done.stderr[-1500:]}"
    import html as html_lib

    result = json.loads(html_lib.unescape(match.group(1)))
    if screenshot is not None:
        subprocess.run(
            [*command, "--hide-scrollbars", "--window-size=1200,1600", f"--screenshot={screenshot}",
             page.resolve().as_uri()],
            capture_output=True, text=True, timeout=120,
        )
    return result


def page_problems(result: dict) -> list[str]:
    """Human-readable problems in a page (empty list: the page is fine)."""
    problems = []
    if result["decoded"] != result["images"]:
        problems.append(f"{result['images'] - result['decoded']} of {result['images']} images did not decode")
    if result["errors"]:
        problems.append(f"{result['errors']} outputs show an error")
    if result["stderr"]:
        problems.append(f"{len(result['stderr'])} outputs went to stderr: {result['stderr']}")
    if result["console"]:
        problems.append(f"console: {result['console']}")
    if result["missing_anchors"]:
        problems.append(f"links to missing anchors: {result['missing_anchors']}")
    return problems


CELL = 48  # px: one character per cell in the probe page


def screenshot_tofu(chromium: str, page: Path, scratch: Path, characters: str | None = None) -> str:
    """The Japanese characters of ``page`` that a screenshot shows as the missing-glyph box ("tofu").

    A probe page with ``page``'s own ``<head>`` (its CSS, font stacks and embedded fonts) shows each
    character in a cell of the page's text style, after a private-use character that no font has; the
    probe is screenshotted and every cell that is pixel-identical to the private-use one is tofu."""
    import matplotlib.image as mpimg
    import numpy as np

    scratch.mkdir(parents=True, exist_ok=True)
    html = page.read_text(encoding="utf-8")
    head = re.search(r"<head>(.*?)</head>", html, re.S).group(1)
    chars = characters if characters is not None else "".join(sorted(set(_CJK_TEXT.findall(
        re.sub(r"<(script|style)[^>]*>.*?</\1>|<[^>]+>|data:[^\"')]+", " ", html, flags=re.S)))))
    chars = "\ue000" + chars
    per_row = 20
    cells = "".join(f'<span class="ck-probe">{c}</span>' for c in chars)
    probe = (f"<!DOCTYPE html><html><head>{head}<style>.ck-probe {{ display: block; margin: 0; padding: 0; "
             f"font-size: 34px; line-height: {CELL}px; text-align: center; overflow: hidden; color: #000; }} "
             f"#ck-grid {{ position: absolute; top: 0; left: 0; margin: 0; padding: 0; background: #fff; "
             f"display: grid; grid-template-columns: repeat({per_row}, {CELL}px); grid-auto-rows: {CELL}px; }}"
             "</style></head><body>"
             f'<div id="ck-grid" class="jp-RenderedHTMLCommon jp-RenderedMarkdown">{cells}</div></body></html>')
    target = scratch / f"probe-{page.stem}.html"
    target.write_text(probe, encoding="utf-8")
    shot = scratch / f"probe-{page.stem}.png"
    rows = -(-len(chars) // per_row)
    subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={scratch / 'profile'}", "--hide-scrollbars",
                    f"--window-size={per_row * CELL},{rows * CELL + 100}", f"--screenshot={shot}", target.as_uri()],
                   capture_output=True, text=True, timeout=120)
    pixels = mpimg.imread(shot)[..., :3]

    def cell(i: int):
        r, c = divmod(i, per_row)
        return pixels[r * CELL:(r + 1) * CELL, c * CELL:(c + 1) * CELL]

    box = cell(0)  # blank or a box, depending on the first font's missing glyph; a failed shot: all tofu
    return "".join(ch for i, ch in enumerate(chars) if i and np.array_equal(cell(i), box))


_CJK_TEXT = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]")


def link_problems(page: Path, links: list[str]) -> list[str]:
    """Links of ``page`` that do not resolve: a missing file, or a missing anchor in another page."""
    from urllib.parse import unquote, urlsplit

    problems = []
    for link in links:
        parts = urlsplit(link)
        if parts.scheme or parts.netloc:
            problems.append(f"{link}: points off the report folder")
            continue
        if not parts.path:
            continue  # same-page anchors are checked in the browser
        target = (page.parent / unquote(parts.path)).resolve()
        if not target.is_file():
            problems.append(f"{link}: no such file")
        elif parts.fragment and not any(
            re.search(rf"""id=["']{re.escape(f)}["']""", target.read_text(encoding="utf-8"))
            for f in (parts.fragment, unquote(parts.fragment))
        ):
            problems.append(f"{link}: no element with that id")
    return problems


DEMO_CELLS = [
    ("markdown", "# 01 — ブラウザ確認 / Browser check\n\nA tiny notebook for the rendered-report test."),
    ("code", "import cohortkit as ck\nimport matplotlib.pyplot as plt\nck.set_style('ja')"),
    ("code", "print('CTR = 100 / 8000 =', 100 / 8000)"),
    ("code", "fig, ax = plt.subplots(figsize=(5, 3))\n"
             "ax.bar(['クリック率', '顧客生涯価値', 'コンバージョン'], [1.25, 3.0, 2.0])\n"
             "ax.set_title('広告別の顧客生涯価値')\nax.set_ylabel('値')\nplt.show()"),
]


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    from cohortkit._report import build_report

    root = tmp_path_factory.mktemp("report")
    notebooks = root / "notebooks"
    notebooks.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell(src) if kind == "markdown" else nbformat.v4.new_code_cell(src)
        for kind, src in DEMO_CELLS
    ]
    nbformat.write(nb, notebooks / "01-browser-check.ipynb")
    # the same notebook without the Japanese font: its figure warns "Glyph ... missing" (a control)
    nb.cells[0].source = "# 02 — Without the Japanese font"
    nb.cells[1].source = nb.cells[1].source.replace("set_style('ja')", "set_style('en')")
    nbformat.write(nb, notebooks / "02-without-japanese-font.ipynb")
    return build_report(notebooks, root / "reports", work=root / "executed")


def test_index_page(chromium, report, tmp_path):
    result = inspect_page(chromium, report, tmp_path)
    assert result["title"] == "cohortkit report"
    assert result["headings"] == ["cohortkit report: beyond the conversion"]
    assert result["links"] == ["01-browser-check.html", "02-without-japanese-font.html", "glossary.html"]
    assert all((report.parent / link).is_file() for link in result["links"])
    assert "01 — ブラウザ確認 / Browser check" in result["text"]
    assert page_problems(result) == []


def test_notebook_page(chromium, report, tmp_path):
    screenshot = tmp_path / "page.png"
    result = inspect_page(chromium, report.parent / "01-browser-check.html", tmp_path, screenshot=screenshot)
    assert result["images"] == 1
    assert result["decoded"] == 1 and result["widths"][0] > 100
    assert page_problems(result) == []  # also: no "Glyph missing" warning from the Japanese figure
    assert "CTR = 100 / 8000 = 0.0125" in result["text"]
    assert result["headings"] == ["01 — ブラウザ確認 / Browser check"]
    # the images are embedded: the folder can be e-mailed as it is
    page = (report.parent / "01-browser-check.html").read_text(encoding="utf-8")
    assert 'src="data:image/png;base64,' in page

    # the screenshot is a real rendering, not a blank page
    import matplotlib.image as mpimg
    import numpy as np

    assert screenshot.stat().st_size > 10_000
    pixels = mpimg.imread(screenshot)
    assert pixels.shape[:2] == (1600, 1200)
    rgb = (pixels[..., :3] * 255).astype(np.uint32)
    colours = np.unique((rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2])
    assert len(colours) > 50


def test_screenshot_check_can_fail(chromium, tmp_path):
    """A blank page gives a screenshot with a single colour, which the check above would reject."""
    import matplotlib.image as mpimg
    import numpy as np

    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><html><head></head><body></body></html>", encoding="utf-8")
    shot = tmp_path / "blank.png"
    result = inspect_page(chromium, blank, tmp_path / "scratch", screenshot=shot)
    assert result["images"] == 0 and page_problems(result) == []
    pixels = (mpimg.imread(shot)[..., :3] * 255).astype(np.uint32)
    assert len(np.unique((pixels[..., 0] << 16) | (pixels[..., 1] << 8) | pixels[..., 2])) < 50


def test_control_page_without_japanese_font_is_reported(chromium, report, tmp_path):
    """Rendered without set_style("ja"), the figure's glyph warnings show on the page and are caught."""
    result = inspect_page(chromium, report.parent / "02-without-japanese-font.html", tmp_path)
    assert result["decoded"] == result["images"] == 1
    problems = page_problems(result)
    assert len(problems) == 1 and problems[0].startswith("1 outputs went to stderr")
    assert "missing from font(s) DejaVu Sans" in problems[0]


def test_negative_control_broken_image_and_error(chromium, tmp_path):
    """A page with a broken image, an error traceback and a warning is reported: the check can fail."""
    from nbconvert import HTMLExporter

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("1 / 0")
    cell.outputs = [
        nbformat.v4.new_output("display_data",
                               data={"image/png": "iVBORw0KGgoAAAAbroken", "text/plain": "<Figure>"}),
        nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="division by zero",
                               traceback=["Traceback (most recent call last)",
                                          "ZeroDivisionError: division by zero"]),
        nbformat.v4.new_output("stream", name="stderr",
                               text="UserWarning: Glyph 12463 missing from font(s) DejaVu Sans.\n"),
    ]
    nb.cells = [nbformat.v4.new_markdown_cell("# Broken"), cell]
    body, _ = HTMLExporter(embed_images=True).from_notebook_node(nb)
    page = tmp_path / "broken.html"
    page.write_text(body, encoding="utf-8")

    result = inspect_page(chromium, page, tmp_path / "scratch")
    assert result["images"] == 1 and result["decoded"] == 0
    assert result["errors"] == 1
    problems = page_problems(result)
    assert problems[:2] == ["1 of 1 images did not decode", "1 outputs show an error"]
    assert problems[2].startswith("2 outputs went to stderr") and "Glyph 12463 missing" in problems[2]


def test_code_is_hidden_behind_a_toggle(chromium, report, tmp_path):
    result = inspect_page(chromium, report.parent / "01-browser-check.html", tmp_path)
    assert result["code_inputs"] == 3  # the imports, the print and the figure
    assert result["code_visible"] == 0
    assert result["code_visible_after_toggle"] == 3
    assert "CTR = 100 / 8000 = 0.0125" in result["text"]
    assert "print('CTR" not in result["text"]


def test_negative_control_console_error_and_dead_links(chromium, tmp_path):
    """A script error, a failed resource, a dead link and a dead anchor are all reported."""
    page = tmp_path / "dead.html"
    page.write_text(
        "<!DOCTYPE html><html><head></head><body><h1 id='top'>Dead</h1>"
        "<a href='#top'>ok</a> <a href='#nowhere'>dead anchor</a> <a href='missing.ipynb'>dead</a>"
        " <a href='dead.html#top'>ok too</a> <a href='dead.html#gone'>dead anchor elsewhere</a>"
        "<script src='https://cdn.example.invalid/x.js'></script>"
        "<script>console.error('boom'); undefinedFunction();</script></body></html>",
        encoding="utf-8",
    )
    result = inspect_page(chromium, page, tmp_path / "scratch")
    problems = page_problems(result)
    console = " ".join(result["console"])
    assert "failed to load https://cdn.example.invalid/x.js" in console
    assert "error: boom" in console and "undefinedFunction" in console
    assert result["missing_anchors"] == ["#nowhere"]
    assert [p.split(":")[0] for p in problems] == ["console", "links to missing anchors"]
    assert link_problems(page, result["links"]) == [
        "missing.ipynb: no such file", "dead.html#gone: no element with that id"]


@pytest.fixture(scope="module")
def real_report(tmp_path_factory) -> Path:
    """The real series, executed and rendered as `make report` does (about 45 s on 2 cores)."""
    from cohortkit._report import build_report

    root = Path(__file__).resolve().parents[1]
    base = tmp_path_factory.mktemp("real")
    # relative paths, as `make report` passes them: notebooks run two at a time while papermill changes the
    # process's working folder, which once made a relative work folder resolve in the wrong place
    here = os.getcwd()
    os.chdir(base)
    try:
        index = build_report(Path(os.path.relpath(root / "notebooks", base)), Path("reports"),
                             work=Path("build/executed"))
    finally:
        os.chdir(here)
    return index


def check_real_report(chromium, folder: Path, tmp_path: Path, lang: str) -> None:
    """Every page of a real report edition: links resolve, images load, no console error, no error
    output, no exercise, no progress bar, no empty box for a Japanese character, code behind the
    toggle; screenshots of the index and notebook 04 are kept in reports/screenshots/."""
    import matplotlib.image as mpimg
    import numpy as np

    pages = sorted(p.name for p in folder.glob("*.html"))
    assert pages[-2:] == ["glossary.html", "index.html"] and len(pages) == 8
    shots = Path(__file__).resolve().parents[1] / "reports" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    prefix = "" if lang == "en" else f"{lang}-"
    for name in pages:
        page = folder / name
        shot = (shots / f"{prefix}{page.stem}.png"
                if name in {"index.html", "04-ltv-adjusted-ad-value.html"} else None)
        result = inspect_page(chromium, page, tmp_path / page.stem, screenshot=shot)
        assert page_problems(result) == [], name
        assert link_problems(page, result["links"]) == [], name
        body = page.read_text(encoding="utf-8")
        assert ".ipynb" not in " ".join(result["links"]), name
        assert "https://" not in " ".join(re.findall(r'<script[^>]*src="[^"]*"', body)), name
        if lang == "ja":
            assert len(result["japanese_chars"]) > 30, name
        if result["japanese_chars"]:
            assert screenshot_tofu(chromium, page, tmp_path / page.stem) == "", name
        if name == "glossary.html":
            assert "顧客生涯価値" in result["text"] and result["links"] == ["index.html"]
            continue
        assert result["images"] >= 2 and result["decoded"] == result["images"], name
        if name == "index.html":
            assert result["links"] == pages[:-1]
            text = result["text"]
            labels = {"en": ("CTR leader vs LTV-ROAS leader", "Kendall tau", "LTV-ROAS of the best campaign",
                             "Month-1 retention", "Mean predicted customer value"),
                      "ja": ("CTR首位とLTV-ROAS首位", "ケンドールのτ", "最良キャンペーンのLTV-ROAS",
                             "1か月後のリテンション", "顧客1人あたりの予測価値")}[lang]
            for label in labels:
                assert label in text
            assert "coupon_affiliate → line_retargeting" in text
            assert "−0.33" in text and "12.85 (" in text
            assert ("15.2 % (" in text and "¥5,175" in text) if lang == "en" else ("15.2%" in text)
            continue
        assert result["code_visible"] == 0 and result["code_visible_after_toggle"] > 0, name
        assert "Exercise" not in result["text"] and "演習" not in result["text"] and "✅" not in body, name
        assert "answer = ..." not in body and "celltag_solution" not in body, name
        assert "it/s]" not in body and "injected-parameters" not in body, name
    pixels = mpimg.imread(shots / f"{prefix}index.png")
    rgb = (pixels[..., :3] * 255).astype(np.uint32)
    assert len(np.unique((rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2])) > 50


@pytest.mark.slow
def test_real_report(chromium, real_report, tmp_path):
    check_real_report(chromium, real_report.parent, tmp_path, "en")


@pytest.fixture(scope="module")
def real_report_ja(tmp_path_factory) -> Path:
    """The Japanese edition of the real series, as `make report LANG=ja` builds it."""
    from cohortkit._report import build_report

    root = Path(__file__).resolve().parents[1]
    base = tmp_path_factory.mktemp("real-ja")
    return build_report(root / "notebooks", base / "reports" / "ja", work=base / "build" / "executed", lang="ja")


@pytest.mark.slow
def test_real_report_japanese_edition(chromium, real_report_ja, tmp_path):
    check_real_report(chromium, real_report_ja.parent, tmp_path, "ja")


def _has_japanese_system_font() -> bool:
    fc = shutil.which("fc-list")
    if not fc:
        return False
    return bool(subprocess.run([fc, ":lang=ja"], capture_output=True, text=True).stdout.strip())


def test_japanese_renders_without_japanese_system_fonts(chromium, report, tmp_path):
    """The page embeds the Japanese characters it uses; stripped of that font, a machine without
    Japanese fonts shows empty boxes (the check can fail)."""
    page = report.parent / "01-browser-check.html"
    result = inspect_page(chromium, page, tmp_path / "with")
    assert sorted(result["japanese_chars"]) == sorted(set("ブラウザ確認"))
    assert screenshot_tofu(chromium, page, tmp_path / "with") == ""
    glossary = inspect_page(chromium, report.parent / "glossary.html", tmp_path / "glossary")
    assert len(glossary["japanese_chars"]) > 100 and page_problems(glossary) == []
    assert screenshot_tofu(chromium, report.parent / "glossary.html", tmp_path / "glossary") == ""
    if _has_japanese_system_font():
        pytest.skip("this machine has a Japanese system font: the control without the embedded font "
                    "would render too")
    stripped = tmp_path / "stripped.html"
    stripped.write_text(re.sub(r"<style>@font-face \{ font-family: ck-japanese;.*?</style>", "",
                               page.read_text(encoding="utf-8"), flags=re.S), encoding="utf-8")
    assert len(screenshot_tofu(chromium, stripped, tmp_path / "without", "ブラウザ確認")) >= 4  # all but a few
    # and with the embedded font last in the font stacks, behind sans-serif, Chromium painted boxes too
    last = tmp_path / "last.html"
    last.write_text(page.read_text(encoding="utf-8").replace("ck-japanese, ", "").replace(
        "font-family: system-ui, sans-serif;", "font-family: system-ui, sans-serif, ck-japanese;"), encoding="utf-8")
    assert screenshot_tofu(chromium, last, tmp_path / "last", "ブラウザ確認") != ""


TWO_EDITIONS_CATALOGUE = """[cells."t-00"]
en = '''
# 01 — Two editions

One source.
'''
ja = '''
# 01 — 二つの版

一つの原稿から。
'''
"""


def test_editions_link_to_each_other(chromium, tmp_path, monkeypatch):
    """reports/ holds English and reports/ja/ Japanese: each index links to the other edition and to
    its glossary; the Japanese page has the translated markdown and the notebook runs with lang="ja"."""
    import cohortkit.i18n as i18n
    from cohortkit._report import build_report

    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# 01 — Two editions\n\nOne source.", id="t-00"),
                nbformat.v4.new_code_cell('lang = "en"', metadata={"tags": ["parameters"]}, id="t-01"),
                nbformat.v4.new_code_cell("print('language:', lang)", id="t-02")]
    nbformat.write(nb, notebooks / "01-two-editions.ipynb")
    (tmp_path / "locale" / "ja").mkdir(parents=True)
    (tmp_path / "locale" / "ja" / "01-two-editions.toml").write_text(TWO_EDITIONS_CATALOGUE, encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALE", tmp_path / "locale")
    here = os.getcwd()
    en = build_report(notebooks, tmp_path / "reports", work=tmp_path / "work", summary=False)
    assert os.getcwd() == here  # papermill's per-notebook folder changes are undone
    assert "ja/index.html" not in en.read_text(encoding="utf-8")
    ja = build_report(notebooks, tmp_path / "reports" / "ja", work=tmp_path / "work", lang="ja", summary=False)
    # the English index, built before, now links to the Japanese edition (and rebuilding it keeps the link)
    linked = en.read_text(encoding="utf-8")
    assert linked.count('href="ja/index.html"') == 1 and linked.count("@font-face") == 1
    en = build_report(notebooks, tmp_path / "reports", work=tmp_path / "work", summary=False)
    result_en = inspect_page(chromium, en, tmp_path / "en")
    result_ja = inspect_page(chromium, ja, tmp_path / "ja")
    assert result_en["links"] == ["01-two-editions.html", "glossary.html", "ja/index.html"]
    assert result_ja["links"] == ["01-two-editions.html", "glossary.html", "../index.html"]
    for page, result in ((en, result_en), (ja, result_ja)):
        assert link_problems(page, result["links"]) == [] and page_problems(result) == []
    page = inspect_page(chromium, ja.parent / "01-two-editions.html", tmp_path / "page")
    assert page["headings"] == ["01 — 二つの版"] and "language: ja" in page["text"]
    assert page_problems(page) == []
    assert screenshot_tofu(chromium, ja.parent / "01-two-editions.html", tmp_path / "page") == ""


_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
_ENGLISH_RUN = re.compile(r"\b[A-Za-z][a-z']+(?:[ \-][A-Za-z][a-z']+){4,}\b")


def _table_numbers(executed: Path) -> list[str]:
    """Every number in the number cells of the HTML tables the notebook displays (commas and leading
    zeros dropped; cells with words are left out)."""
    nb = nbformat.read(executed, as_version=4)
    numbers = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            table = output.get("data", {}).get("text/html", "")
            for td in re.findall(r"<td[^>]*>(.*?)</td>", table, re.S):
                if re.search(r"[A-Za-z\u3040-\u9fff]", td.replace("円", "")):
                    continue  # a label or a name, which the editions word differently ("5+ purchases")
                numbers += [n.replace(",", "").lstrip("0") or "0" for n in _NUMBER.findall(td)]
    return numbers


def _output_text(executed: Path) -> str:
    nb = nbformat.read(executed, as_version=4)
    texts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                texts.append(output.get("text", ""))
            elif "text/markdown" in output.get("data", {}):
                texts.append(output["data"]["text/markdown"])
    return "\n".join(texts)


@pytest.mark.slow
def test_editions_show_the_same_numbers_and_the_japanese_one_no_english(real_report, real_report_ja):
    """The two editions execute the same code on the same data: every table shows the same numbers
    (only the formatting differs: ¥1,234 / 1,234円), and the Japanese edition's printed sentences
    are Japanese."""
    en_folder = real_report.parent.parent / "build" / "executed"
    ja_folder = real_report_ja.parents[2] / "build" / "executed" / "ja"
    names = sorted(p.name for p in en_folder.glob("[0-9][0-9]-*.ipynb"))
    assert names == sorted(p.name for p in ja_folder.glob("[0-9][0-9]-*.ipynb")) and len(names) == 6
    for name in names:
        en, ja = _table_numbers(en_folder / name), _table_numbers(ja_folder / name)
        assert len(en) > 20 and en == ja, name
        left = [m.group(0) for m in _ENGLISH_RUN.finditer(re.sub(r"`[^`]*`", " ", _output_text(ja_folder / name)))]
        assert left == [], name
