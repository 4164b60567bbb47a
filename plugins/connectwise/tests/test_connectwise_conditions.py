"""The conditions builder (client side) and the conditions parser (simulator side)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from idsync_connectwise import conditions as cw
from idsync_connectwise.simulator.query import (
    QueryError,
    order_by,
    parse_conditions,
    project,
)

# -- builder ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "text"), [
    ("Contoso Ltd", '"Contoso Ltd"'),
    ('The "Best" Co', "'The \"Best\" Co'"),
    ("""Joe's "Best" Co""", '"Joe\'s \\"Best\\" Co"'),
    (True, "True"), (False, "False"), (None, "null"),
    (250, "250"), (Decimal("4.80"), "4.80"),
    (date(2026, 1, 1), "[2026-01-01T00:00:00Z]"),
    (datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC), "[2026-03-04T05:06:07Z]"),
])
def test_literals_are_quoted_by_type(value: cw.Value, text: str) -> None:
    assert cw.literal(value) == text


def test_field_paths_cannot_smuggle_syntax() -> None:
    assert cw.eq("company/id", 5) == "company/id=5"
    with pytest.raises(ValueError, match="not a ConnectWise field path"):
        cw.eq("id=1 or id", 5)


def test_contains_escapes_a_literal_bracket_for_like() -> None:
    assert cw.contains("name", "[idsync:k]") == 'name contains "[[]idsync:k]"'


def test_combinators_parenthesize_and_skip_missing_parts() -> None:
    assert cw.all_of("a=1", None, "b=2 or c=3") == "(a=1) and (b=2 or c=3)"
    assert cw.any_of(None, "a=1") == "a=1"
    assert cw.all_of(None) is None


def test_split_in_list_respects_the_budget_and_covers_every_value() -> None:
    chunks = list(cw.split_in_list("id", range(1, 200), lambda c: len(c) <= 120,
                                   also="inactiveFlag=False"))
    assert len(chunks) > 1 and all(len(c) <= 120 for c in chunks)
    ids = [int(i) for c in chunks for i in c.split("in (")[1].rstrip(")").split(",")]
    assert ids == list(range(1, 200))
    with pytest.raises(ValueError, match="alone makes the URL too long"):
        list(cw.split_in_list("id", [123456], lambda c: len(c) < 10))


# -- parser -------------------------------------------------------------------------------------

RECORDS: list[dict[str, Any]] = [
    {"id": 1, "name": "Contoso Ltd", "deletedFlag": False, "company": {"id": 250},
     "parentAgreement": None, "lastUpdated": "2026-01-02T00:00:00Z", "price": Decimal("4.80"),
     "customFields": [{"caption": "Tier", "value": "Gold"}]},
    {"id": 2, "name": 'The "Best" Co', "deletedFlag": True, "company": {"id": 251},
     "parentAgreement": {"id": 1}, "lastUpdated": "2025-06-01T00:00:00Z", "price": Decimal("26.40"),
     "customFields": [{"caption": "Tier", "value": "Silver"}]},
    {"id": 3, "name": "Fabrikam [EU] 50% off", "deletedFlag": False, "company": {"id": 250},
     "parentAgreement": None, "lastUpdated": None, "price": None, "customFields": []},
]


def ids(conditions: str) -> list[int]:
    predicate = parse_conditions(conditions)
    return [r["id"] for r in RECORDS if predicate(r)]


@pytest.mark.parametrize(("conditions", "expected"), [
    ("id=2", [2]),
    ("id != 2", [1, 3]),
    ("id <> 2", [1, 3]),
    ("id >= 2 and id < 3", [2]),
    ("price > 5", [2]),
    ("NAME = \"contoso ltd\"", [1]),                # fields and strings ignore case
    ("name = 'The \"Best\" Co'", [2]),              # single quotes
    ('name = "The \\"Best\\" Co"', [2]),            # an escaped double quote
    ("deletedFlag = false", [1, 3]),
    ("deletedFlag=True", [2]),
    ("company/id = 250", [1, 3]),                   # slash path
    ("Company/Id=251", [2]),
    ("parentAgreementId = null", [1, 3]),           # alias of parentAgreement/id
    ("parentAgreement/id != null", [2]),
    ("lastUpdated > [2026-01-01T00:00:00Z]", [1]),
    ("lastUpdated = null", [3]),
    ("name contains \"ltd\"", [1]),
    ("name not contains \"ltd\"", [2, 3]),
    ("name contains \"[[]EU]\"", [3]),               # a literal bracket, as the builder sends it
    ("name like \"Fab%\"", [3]),
    ("name like \"c*d\"", [1]),
    ("name like \"Contoso Lt_\"", [1]),
    ("id in (1, 3)", [1, 3]),
    ("id not in (1,3)", [2]),
    ("name in (\"contoso ltd\", 'Nope')", [1]),
    ("not (id = 1 or id = 2)", [3]),
    ("id = 1 or id = 2 and deletedFlag = false", [1]),  # and binds tighter
    ("(id = 1 or id = 2) and deletedFlag = false", [1]),
    ("customFields/value = \"Gold\"", [1]),         # a path through an array
    ("nosuchfield = null", [1, 2, 3]),
    ("nosuchfield != 1", []),                       # NULL compares as false, as in SQL
    ("", [1, 2, 3]),
])
def test_conditions_select_what_connectwise_would(conditions: str, expected: list[int]) -> None:
    assert ids(conditions) == expected


@pytest.mark.parametrize("conditions", [
    "id =", "id = 1 and", "(id = 1", "id ~ 1", "id = [not a date]", "= 1",
    "name contains 5", "id in 1", 'name = "open',
])
def test_malformed_conditions_are_refused(conditions: str) -> None:
    with pytest.raises(QueryError):
        parse_conditions(conditions)


def test_order_by_sorts_nulls_first_and_supports_several_keys() -> None:
    assert [r["id"] for r in order_by(RECORDS, "price desc")] == [2, 1, 3]
    assert [r["id"] for r in order_by(RECORDS, "price asc")] == [3, 1, 2]
    assert [r["id"] for r in order_by(RECORDS, "company/id asc, id desc")] == [3, 1, 2]
    with pytest.raises(QueryError):
        order_by(RECORDS, "price sideways")


def test_fields_projection_keeps_nested_paths() -> None:
    assert project(RECORDS[0], "id,NAME,company/id") == {
        "id": 1, "name": "Contoso Ltd", "company": {"id": 250}}
    assert project(RECORDS[0], None) is RECORDS[0]
