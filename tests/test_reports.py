"""``idsync report reconciliation`` and ``report renewals`` on the fake connectors: the values,
CSV parsed back, the HTML page opened."""

from __future__ import annotations

import csv
import io
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from idsync_fakes.world import World


def test_the_reconciliation_compares_every_linked_line(idsync: Any, linked: World) -> None:
    linked.set_provider_quantity("S-1:CFQ7TTC0LH16", "10")
    [row] = idsync("report", "reconciliation", "--json").json()
    assert (row["customer"], row["resource_id"], row["sku"], row["psa_company_id"],
            row["agreement_id"], row["product_id"]) == (
        "Contoso Ltd", "S-1:CFQ7TTC0LH16", "CFQ7TTC0LH16", "250", "871", "812")
    assert (row["provider_quantity"], row["psa_quantity"], row["difference"]) == ("10", "8", "2")
    assert (row["unit_price"], row["unit_cost"], row["unit_margin"], row["margin"]) == (
        "4.80", "4.00", "0.80", "6.40")
    assert row["price_source"] == "catalog"
    assert (row["last_posting"], row["last_posting_date"]) == ("8", "2026-11-25")
    earlier = idsync("report", "reconciliation", "--as-of", "2026-11-01", "--json").json()
    assert (earlier[0]["psa_quantity"], earlier[0]["as_of"]) == ("0", "2026-11-01")
    assert idsync("report", "reconciliation", "--as-of", "Monday").exit_code == 2


def test_the_reconciliation_csv_reads_back_as_its_json(idsync: Any, linked: World) -> None:
    as_json = idsync("report", "reconciliation", "--json").json()
    text = idsync("report", "reconciliation", "--csv").stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0].startswith("customer,account_id,subscription_id")
    assert rows == [{key: "" if value is None else str(value) for key, value in row.items()}
                    for row in as_json]


class Page(HTMLParser):
    """What a browser would load from the page, and the text of its table cells."""

    def __init__(self) -> None:
        super().__init__()
        self.fetches: list[str] = []
        self.cells: list[list[str]] = []
        self.classes: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name in ("src", "href"):
            if found.get(name):
                self.fetches.append(str(found[name]))
        if tag in ("script", "link", "img", "iframe"):
            self.fetches.append(tag)
        if tag == "tr" and self.cells is not None:
            self.cells.append([])
            self.classes.append(found.get("class") or "")

    def handle_data(self, data: str) -> None:
        if self.cells and data.strip():
            self.cells[-1].append(data.strip())


@pytest.fixture
def marked_up_name(world: World) -> World:
    """Contoso's PSA name holds markup, before it is linked (links keep the names)."""
    psa = world.psa()
    psa["companies"][0]["name"] = "Contoso <b>& Sons</b>"
    world.edit_psa(companies=psa["companies"])
    return world


def test_the_html_report_is_one_page_that_needs_nothing_else(
        idsync: Any, marked_up_name: World, linked: World, tmp_path: Path) -> None:
    linked.set_provider_quantity("S-1:CFQ7TTC0LH16", "10")
    page_file = tmp_path / "reconciliation.html"
    result = idsync("report", "reconciliation", "--html", str(page_file))
    assert result.exit_code == 0 and result.stdout == ""
    text = page_file.read_text(encoding="utf-8")
    page = Page()
    page.feed(text)
    assert page.fetches == []  # no script, stylesheet, image or font to fetch
    assert "@media print" in text and "<b>" not in text
    assert "Contoso &lt;b&gt;&amp; Sons&lt;/b&gt;" in text
    header, line, *_ = page.cells
    assert header[:3] == ["customer", "subscription", "resource"]
    assert line[:2] == ["Contoso Ltd · A-100", "Microsoft 365 · S-1"] and "4.80" in line
    assert "Contoso <b>& Sons</b> · 250" in line and "+8 from 2026-11-25" in line
    assert page.classes[1] == "differs"  # 10 at the provider, 8 on the PSA
    unwritable = idsync("report", "reconciliation", "--html", str(tmp_path / "no" / "r.html"))
    assert unwritable.exit_code == 2 and "cannot write" in unwritable.stderr


def test_renewals_within_the_window_with_seats_and_monthly_value(idsync: Any,
                                                                 linked: World) -> None:
    linked.edit_subscription("S-1", renewal_date="2026-12-10", commitment_term="1y",
                             billing_term="1y")
    linked.edit_subscription("S-2", renewal_date="2027-06-01")
    assert idsync("link", "company", "A-200", "251").exit_code == 0
    [row] = idsync("report", "renewals", "--json").json()  # 30 days by default
    assert (row["subscription_id"], row["renewal_date"], row["days_left"]) == (
        "S-1", "2026-12-10", 15)
    assert (row["commitment_term"], row["billing_term"], row["linked"]) == ("1y", "1y", True)
    assert row["seats"] == "11"  # 8 Exchange + 3 Business Premium; Azure has no seats
    assert row["monthly_value"] == "9.25"  # (8 × 4.50 + 3 × 25.00) / 12 months, to the cent
    later = idsync("report", "renewals", "--within", "400d", "--csv").stdout
    assert [r["subscription_id"] for r in csv.DictReader(io.StringIO(later))] == ["S-1", "S-2"]
    assert idsync("report", "renewals", "--within", "a month").exit_code == 2
