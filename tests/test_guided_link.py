"""``idsync link`` with no arguments, driven through a real terminal (pexpect)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pexpect
import pytest

from idsync_fakes.world import World

FAKES = Path(__file__).parent / "fakes"


def spawn(world: World, *args: str) -> pexpect.spawn:
    env = {**os.environ, **world.env(), "PYTHONPATH": str(FAKES), "COLUMNS": "120",
           "TERM": "dumb"}
    return pexpect.spawn(sys.executable, ["-m", "idsync_core", *args], env=env,
                         encoding="utf-8", timeout=30, dimensions=(50, 120))


@pytest.mark.e2e
def test_guided_link_walks_the_whole_flow(world: World) -> None:
    child = spawn(world, "link")
    child.expect("Search provider customers")
    child.sendline("contoso")
    child.expect("Contoso Ltd")
    child.expect("Choose")
    child.sendline("1")
    child.expect("Search PSA companies")
    child.sendline("")  # defaults to the customer's name
    child.expect("with unlinked agreements")
    child.expect("Choose")
    child.sendline("1")
    child.expect("Linked Contoso Ltd to Contoso Ltd")
    child.expect("Subscriptions of Contoso Ltd")
    child.expect("Choose")
    child.sendline("1")
    child.expect("Agreements of Contoso Ltd")
    child.expect("show expired agreements")
    child.expect("Choose")
    child.sendline("e")  # the toggle shows the expired one too
    child.expect(r"Contoso - 2024 licences  \[870\] yearly  \(expired\)")
    child.expect("Choose")
    child.sendline("1")
    child.expect("Linked Microsoft 365 to Contoso - Microsoft 365")
    child.expect("not linked yet")
    child.expect("Choose")
    child.sendline("1")  # Exchange Online (Plan 1)
    child.expect(r"Exchange Online \(Plan 1\)  \[812\].*suggested")  # matched by SKU
    child.expect("Choose")
    child.sendline("")
    child.expect("Price source")
    child.expect("Choose")
    child.sendline("")  # catalog
    child.expect("Set relation")
    child.sendline("y")
    child.expect("addition of 8 units")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert world.quantity("871", "812") == "8"


@pytest.mark.e2e
def test_guided_link_custom_cost_below_psa_cost_asks_again(world: World) -> None:
    child = spawn(world, "link")
    for answer in ("contoso", "1", "", "1", "1", "1", "1", ""):
        child.expect(["Search", "Choose"])
        child.sendline(answer)
    child.expect("Price source")
    child.expect("Choose")
    child.sendline("3")  # custom
    child.expect("Unit price")
    child.sendline("4.50")
    child.expect("Unit cost")
    child.sendline("2.00")
    child.expect("Set relation")
    child.sendline("y")
    child.expect(r"custom cost\s+2\.00\s+is\s+below\s+the\s+PSA\s+cost\s+4\.00")
    child.expect("Continue")
    child.sendline("n")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 5
    assert world.psa()["postings"] == []
