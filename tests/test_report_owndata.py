"""make report on a second data set: the real CDNOW log as a user's transactions file, with its own
column names, in a private folder, and no campaign, cost or event tables.

Every notebook must run on it; each one that needs a table it was not given says so in one line and
skips that part instead of showing the bundled shop; nothing the shop would print (its campaign names,
its counts, its CTRs, its dates) appears in what a reader sees; and the folder of the data appears in
no page.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = {"customer_id": "kunde", "date": "tag", "amount": "betrag"}
# the one line each notebook prints about what it skipped without campaign / cost / event tables
SKIP_LINES = {
    "00-overview.ipynb": "Campaign sections skipped:",
    "01-ctr-and-the-funnel.ipynb": "Sections skipped:",
    "02-from-conversion-to-retention.ipynb": "Campaign sections skipped:",
    "03-customer-lifetime-value.ipynb": "Campaign sections skipped:",
    "04-ltv-adjusted-ad-value.ipynb": "Campaign sections skipped:",
    "05-kpi-trees-and-lead-nurturing.ipynb": "Lead sections skipped:",
}


def shop_strings() -> dict[str, str]:
    """Strings the series prints for the bundled shop and that no other data set would print: its
    campaign names, its counts of customers, purchases, impressions, clicks and web events, each
    campaign's CTR (two decimals, as notebooks 00, 01 and 04 show it) and the first and last day of
    its data. Value: where it comes from."""
    import cohortkit as ck

    fmt = ck.format
    shop = ck.datasets.load_shop()
    found = {name: "shop campaign name" for name in shop.customers["campaign"].unique()}
    found[fmt.count(len(shop.customers))] = "shop customers"
    found[fmt.count(len(shop.transactions))] = "shop purchases"
    found[fmt.count(shop.transactions["customer_id"].nunique())] = "shop buyers"
    found[fmt.count(shop.campaigns["impressions"].sum())] = "shop impressions"
    found[fmt.count(shop.campaigns["clicks"].sum())] = "shop clicks"
    found[fmt.count(len(shop.events))] = "shop web events"
    for row in ck.ad_metrics(shop.campaigns).itertuples():
        found[fmt.percent(row.ctr, digits=2)] = f"CTR of {row.campaign}"
    first, last = shop.transactions["date"].min(), shop.transactions["date"].max()
    found[f"{first:%Y-%m-%d}"] = "first day of the shop"
    found[f"{last:%Y-%m-%d}"] = "last day of the shop"
    return found


def reader_text(executed: Path, secrets) -> str:
    """What a reader of the page sees: the prose and every output of the report version."""
    from cohortkit._report import report_version

    nb = report_version(nbformat.read(executed, as_version=4), secrets)
    parts = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            parts.append(cell.source)
        for out in cell.get("outputs", []):
            if "text" in out:
                parts.append(str(out["text"]))
            for mime in ("text/plain", "text/html", "text/markdown"):
                if mime in out.get("data", {}):
                    value = out["data"][mime]
                    parts.append(value if isinstance(value, str) else "".join(value))
    return "\n".join(parts)


def test_shop_strings_are_found_in_the_shop_report_text():
    # the check below is only as good as its list: these strings are what the shop's pages print
    found = shop_strings()
    assert "coupon_affiliate" in found and "clickbait_banner" in found
    assert sum(v == "shop campaign name" for v in found.values()) == 6
    assert sum(v.startswith("CTR of") for v in found.values()) == 6
    assert "2023-01-01" in found


@pytest.mark.slow
def test_report_on_cdnow_under_other_column_names(tmp_path):
    import papermill

    import cohortkit as ck
    from cohortkit._report import _local_paths, main

    folder = tmp_path / "private-folder-7f3a9c"
    folder.mkdir()
    data = folder / "umsatz.csv"
    ck.datasets.load_cdnow().rename(columns=COLUMNS)[list(COLUMNS.values())].to_csv(data, index=False)
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    for source in sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb")):
        (notebooks / source.name).write_bytes(source.read_bytes())
    out, work = tmp_path / "reports", tmp_path / "executed"

    # the entry point make report calls
    assert main(["--notebooks", str(notebooks), "--out", str(out), "--work", str(work), "--data", str(data),
                 "--customer-col", "kunde", "--date-col", "tag", "--amount-col", "betrag"]) == 0

    # every notebook ran, with exactly the parameters it declares, and raised nothing
    executed = sorted(work.glob("[0-9][0-9]-*.ipynb"))
    assert [p.name for p in executed] == sorted(SKIP_LINES)
    given_all = {"data_path": str(data), "customer_col": "kunde", "date_col": "tag", "amount_col": "betrag"}
    secrets = _local_paths([str(data)], notebooks)
    shop = shop_strings()
    for path in executed:
        nb = nbformat.read(path, as_version=4)
        declared = set(papermill.inspect_notebook(str(notebooks / path.name)))
        assert nb.metadata["papermill"]["parameters"] == {k: v for k, v in given_all.items() if k in declared}
        errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert errors == [], path.name
        text = reader_text(path, secrets)
        # one visible line says what was skipped for want of campaign, cost or event tables
        skip_lines = [line for line in text.splitlines() if re.search(r"\bskipped:", line)]
        assert len(skip_lines) == 1 and skip_lines[0].startswith(SKIP_LINES[path.name]), (path.name, skip_lines)
        # nothing of the shop: no campaign name, count, CTR or date of it in the prose or the outputs
        leaked = {s: why for s, why in shop.items() if s in text}
        assert leaked == {}, f"{path.name} shows the shop's numbers: {leaked}"

    # the pages: the index and the six notebooks, the skip lines on them, and no local path anywhere
    pages = sorted(out.glob("*.html"))
    assert {p.stem for p in pages} >= {"index", *(Path(name).stem for name in SKIP_LINES)}
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert folder.name not in html and str(tmp_path) not in html, page.name
        assert not re.search(r"/(?:home|root|work|tmp)/", re.sub(r"<[^>]+>", " ", html)), page.name
        if page.stem + ".ipynb" in SKIP_LINES:
            assert SKIP_LINES[page.stem + ".ipynb"] in html, page.name
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "your data (umsatz.csv)" in index
    assert "Not computed: the CTR and LTV-ROAS leaders" in index
    assert "Month-1 retention" in index and "Mean predicted customer value" in index
    assert "Kendall tau" not in index
    leaked = {s: why for s, why in shop.items() if s in re.sub(r"<[^>]+>", " ", index)}
    assert leaked == {}, f"index.html shows the shop's numbers: {leaked}"
