"""The rendered report, opened in headless Chromium: images decode, no cell shows an error.

A tiny notebook (markdown title, printed text, a matplotlib figure with a Japanese title after
``set_style("ja")``) goes through :func:`cohortkit._report.build_report`. Each page is copied with a
small script appended that records, once the page has loaded, how many images there are, how many
decoded (``naturalWidth > 0``), and which outputs went to stderr (nbconvert 7 renders both error
tracebacks and warnings as ``data-mime-type="application/vnd.jupyter.stderr"``). Chromium runs with
``--dump-dom`` and the network blocked; the result is read back from the dumped DOM. A negative
control (a broken image, an error output and a warning) shows the check can fail.

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
    text: document.body.innerText.slice(0, 5000)
  };
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
    html = html.replace("<head>", "<head>" + base, 1)
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
    assert result["links"] == ["01-browser-check.html", "02-without-japanese-font.html"]
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
