"""``idsync link`` with no arguments, driven through a real terminal (pexpect)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pexpect
import pytest

from idsync_fakes.world import World

pytestmark = pytest.mark.e2e
FAKES = Path(__file__).parent / "fakes"


def spawn(world: World, *args: str) -> pexpect.spawn:
    env = {**os.environ, **world.env(), "PYTHONPATH": str(FAKES), "COLUMNS": "120",
           "TERM": "dumb"}
    return pexpect.spawn(sys.executable, ["-m", "idsync_core", *args], env=env,
                         encoding="utf-8", timeout=30, dimensions=(50, 120))


def answer(child: pexpect.spawn, prompt: str, text: str) -> None:
    child.expect(prompt)
    child.sendline(text)


def finish(child: pexpect.spawn) -> int:
    child.expect(pexpect.EOF)
    child.close()
    return int(child.exitstatus if child.exitstatus is not None else -1)


def links(world: World) -> int:
    """How many links of any level the store holds (active or not)."""
    import sqlite3

    path = world.db_url.removeprefix("sqlite:///")
    if not Path(path).exists():
        return 0
    with sqlite3.connect(path) as db:
        return sum(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                   for table in ("company_links", "subscription_links", "resource_links"))


def up_to_the_company(child: pexpect.spawn) -> None:
    answer(child, "Search provider customers", "contoso")
    answer(child, "Choose", "1")
    answer(child, "Search PSA companies", "")  # defaults to the customer's name
    child.expect("with unlinked agreements")
    answer(child, "Choose", "1")


def test_guided_link_walks_the_whole_flow(world: World) -> None:
    child = spawn(world, "link")
    up_to_the_company(child)
    child.expect("Subscriptions of Contoso Ltd")
    answer(child, "Choose", "1")
    child.expect("Agreements of Contoso Ltd")
    child.expect("show expired agreements")
    answer(child, "Choose", "e")  # the toggle shows the expired one too
    child.expect(r"Contoso - 2024 licences  \[870\] yearly  \(expired\)")
    answer(child, "Choose", "1")
    child.expect("not linked yet")
    answer(child, "Choose", "1")  # Exchange Online (Plan 1)
    child.expect(r"Exchange Online \(Plan 1\)  \[812\] CFQ7TTC0LH16, price 4.80, cost 4.00"
                 r"  ← suggested")  # matched by SKU
    answer(child, "Choose", "")
    child.expect("Price source")
    answer(child, "Choose", "")  # catalog
    child.expect(r"customer Contoso Ltd \[A-100\] → PSA company Contoso Ltd")
    child.expect(r"subscription Microsoft 365 \[S-1\] → agreement Contoso - Microsoft 365")
    assert links(world) == 0  # nothing is linked before the confirmation
    answer(child, "Set relation", "y")
    child.expect("Linked Contoso Ltd to PSA company Contoso Ltd")
    child.expect("addition of 8 units")
    assert finish(child) == 0
    assert world.quantity("871", "812") == "8"
    assert links(world) == 3


def test_recoverable_answers_are_asked_again(world: World) -> None:
    child = spawn(world, "link")
    answer(child, "Search provider customers", "no such customer")
    child.expect("no customer at ingram matches 'no such customer'; search again")
    answer(child, "Search provider customers", "contoso")
    answer(child, "Choose", "")  # an empty answer
    child.expect("please answer 1–1")
    answer(child, "Choose", "7")  # out of range
    child.expect("please answer 1–1")
    answer(child, "Choose", "1")
    answer(child, "Search PSA companies", "nothing like it")
    child.expect(r"\(nothing to choose from\)")
    answer(child, "Choose", "s")
    answer(child, "Search PSA companies", "contoso")
    answer(child, "Choose", "1")
    answer(child, "Choose", "1")  # the subscription
    answer(child, "Choose", "e")
    child.expect(r"2\. Contoso - 2024 licences  \[870\] yearly  \(expired\)")
    answer(child, "Choose", "2")  # the expired one: explained, asked again
    child.expect(r"agreement 870 \(Contoso - 2024 licences\) is expired or cancelled; postings "
                 r"to it would not be billed; pick another")
    answer(child, "Choose", "1")
    answer(child, "Choose", "1")  # the resource
    answer(child, "Choose", "")  # the suggested product
    answer(child, "Choose", "5")  # markup
    answer(child, "Markup percent", "twenty")
    child.expect("'twenty' is not a number")
    answer(child, "Markup percent", "20")
    child.expect("price source markup")
    answer(child, "Set relation", "y")
    child.expect(r"unit price 4.68, cost 3.90 \[markup 20%\]: posted")
    assert finish(child) == 0


def test_a_refusal_at_the_end_links_nothing(world: World) -> None:
    child = spawn(world, "link")
    for prompt, text in (("Search provider", "contoso"), ("Choose", "1"), ("Search PSA", ""),
                         ("Choose", "1"), ("Choose", "1"), ("Choose", "1"), ("Choose", "1"),
                         ("Choose", "")):
        answer(child, prompt, text)
    child.expect("Price source")
    answer(child, "Choose", "3")  # custom
    answer(child, "Unit price", "4.50")
    answer(child, "Unit cost", "2.00")
    answer(child, "Set relation", "y")
    child.expect(r"custom cost\s+2\.00\s+is\s+below\s+the\s+PSA\s+cost\s+4\.00")
    answer(child, "Continue", "n")
    assert finish(child) == 5
    assert world.psa()["postings"] == []
    assert links(world) == 0  # neither the company nor the subscription was linked


@pytest.mark.parametrize("when", ["the agreement", "the confirmation"])
def test_ctrl_c_cancels_and_changes_nothing(world: World, when: str) -> None:
    child = spawn(world, "link")
    up_to_the_company(child)
    answer(child, "Choose", "1")  # the subscription
    if when == "the confirmation":
        for text in ("1", "1", "", ""):  # agreement, resource, product, price source
            answer(child, "Choose", text)
        child.expect("Set relation")
    else:
        child.expect("Agreements of Contoso Ltd")
        child.expect("Choose")
    child.sendintr()
    child.expect("cancelled, nothing changed")
    assert finish(child) == 130
    assert links(world) == 0 and world.psa()["postings"] == []


def test_an_account_linked_already_goes_straight_to_its_subscriptions(world: World) -> None:
    from typer.testing import CliRunner

    from idsync_core.cli.main import app

    assert CliRunner().invoke(app, ["link", "company", "A-100", "250"]).exit_code == 0
    child = spawn(world, "link")
    answer(child, "Search provider customers", "contoso")
    answer(child, "Choose", "1")
    child.expect("Subscriptions of Contoso Ltd")
    for text in ("1", "1", "1", "", ""):
        answer(child, "Choose", text)
    child.expect(r"PSA company Contoso Ltd \(linked already\)")
    answer(child, "Set relation", "y")
    child.expect("addition of 8 units")
    assert finish(child) == 0
    assert links(world) == 3
