"""Name matching for onboarding: what is folded, and when a match is confident."""

from __future__ import annotations

import pytest

from idsync_core.engine.onboarding.names import NameIndex, normalize, same_words_up_to_typos


@pytest.mark.parametrize(("raw", "folded"), [
    ("Contoso, Ltd.", "contoso"),
    ("CONTOSO LIMITED", "contoso"),
    ("contoso   inc", "contoso"),
    ("Smith & Sons Pty Ltd", "smith and sons"),
    ("Smith and Sons", "smith and sons"),
    ("Société Générale S.A.", "societe generale"),
    ("Müller GmbH & Co. KG", "muller"),
    ("Fabrikam B.V.", "fabrikam"),
    ("The Phone Company PLC", "phone"),
    ("Contoso Pharmaceuticals Ltd.", "contoso pharmaceuticals"),
    ("Ltd", "ltd"),  # the last word always stays
])
def test_normalization_folds_case_punctuation_and_legal_suffixes(raw: str, folded: str) -> None:
    assert normalize(raw) == folded


def companies(*names: str) -> NameIndex[str]:
    return NameIndex(list(names), lambda name: name, what="PSA company")


def test_the_decoy_is_never_accepted_for_the_company_it_shares_words_with() -> None:
    match = companies("Contoso Ltd", "Fabrikam Inc").match("Contoso Pharmaceuticals Ltd.")
    assert not match.confident
    near = companies("Contoso Pharma", "Fabrikam Inc").match("Contoso Pharmacy")
    assert near.best == "Contoso Pharma" and near.score is not None and near.score > 0.9
    assert not near.confident and "differ by more than a typo" in near.reason


def test_equal_names_after_normalization_are_confident_unless_two_share_it() -> None:
    match = companies("Contoso Ltd", "Fabrikam Inc").match("CONTOSO LIMITED")
    assert (match.best, match.score, match.confident) == ("Contoso Ltd", 1.0, True)
    assert match.reason == "same name after normalization"
    twice = companies("Contoso Ltd", "Contoso Inc").match("Contoso")
    assert not twice.confident and twice.reason.startswith("2 candidates have this name")
    assert {c.item for c in twice.candidates} == {"Contoso Ltd", "Contoso Inc"}


def test_a_typo_is_accepted_only_clear_of_the_runner_up() -> None:
    alone = companies("Northwind Traders", "Fabrikam Inc").match("Nortwind Traders Ltd")
    assert alone.confident and alone.best == "Northwind Traders"
    assert alone.reason.startswith("fuzzy 0.9")
    close = companies("Northwind Traders", "Northwind Trader").match("Nortwind Traders")
    assert not close.confident and "ahead of the runner-up" in close.reason
    assert [c.item for c in close.candidates][:2] == ["Northwind Traders", "Northwind Trader"]


def test_numbers_and_short_words_must_be_equal() -> None:
    products = NameIndex(["Microsoft 365 E3", "Exchange Online (Plan 1)"], lambda n: n,
                         what="catalog item")
    assert not products.match("Microsoft 365 E5").confident
    assert not products.match("Exchange Online (Plan 2)").confident
    assert not same_words_up_to_typos("customer 00123", "customer 00124")
    assert same_words_up_to_typos("tailspin toys", "tialspin toys")


def test_nothing_similar_is_unmatched() -> None:
    match = companies("Contoso Ltd").match("Litware Inc")
    assert match.best is None and not match.confident and match.candidates == []
    assert companies().match("Contoso").reason == "no PSA company to compare with"
