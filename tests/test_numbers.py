"""Numbers between IDSync and an API: reading JSON numbers, writing Decimals, integer ids."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest

from idsync_core.errors import NotFoundError, RejectedError
from idsync_core.http import ApiClient
from idsync_core.numbers import NotANumber, integer_id, json_body, json_number, to_decimal


@pytest.mark.parametrize(("raw", "text"), [
    (8, "8"), (Decimal("26.40"), "26.40"), (18.7, "18.7"), (0.1, "0.1"), ("4.80", "4.80"),
    (" 12 ", "12"), ("1E+2", "1E+2"), (-3, "-3"),
])
def test_a_json_number_or_decimal_text_reads_as_the_text_the_api_sent(raw: object,
                                                                      text: str) -> None:
    assert str(to_decimal(raw)) == text


@pytest.mark.parametrize(("raw", "message"), [
    (True, "is a boolean, not a number"), (None, "is not a number (NoneType)"),
    ({"amount": 1}, "is not a number (dict)"), ("n/a", "is not a number ('n/a')"),
    ("NaN", "is not a finite number ('NaN')"), (float("inf"), "is not a finite number (inf)"),
])
def test_what_is_no_finite_number_is_refused_saying_what_it_is(raw: object,
                                                               message: str) -> None:
    with pytest.raises(NotANumber) as refused:
        to_decimal(raw)
    assert str(refused.value) == message


@pytest.mark.parametrize(("value", "sent"), [
    (Decimal("8.00"), 8), (Decimal("1E+3"), 1000), (Decimal("-0.50"), -0.5),
    (Decimal("4.8"), 4.8), (Decimal("1234567890.12345"), 1234567890.12345),
    (Decimal("123456789012345678901234567890"), 123456789012345678901234567890),
    (Decimal("0.30000000000000004"), 0.30000000000000004),  # a double read back from an API
])
def test_a_decimal_is_written_as_a_json_number_that_reads_back_exactly(value: Decimal,
                                                                        sent: object) -> None:
    number = json_number(value)
    assert number == sent and type(number) is type(sent)
    assert Decimal(json.dumps(number)) == value


@pytest.mark.parametrize("value", ["0.1234567890123456789", "4.800000000000000001", "1E-400"])
def test_a_decimal_no_json_number_carries_exactly_is_refused(value: str) -> None:
    with pytest.raises(RejectedError, match=f"{value} has more significant digits than a "
                                            "JSON number carries exactly"):
        json_number(Decimal(value))


def test_a_body_has_its_decimals_converted_at_any_depth() -> None:
    body = {"quantity": Decimal("3"), "price": {"amount": Decimal("4.80")},
            "ops": [{"value": Decimal("1.5")}, "text", None, True], "n": 7}
    assert json_body(body) == {"quantity": 3, "price": {"amount": 4.8},
                               "ops": [{"value": 1.5}, "text", None, True], "n": 7}


def test_the_api_client_sends_decimal_bodies_and_refuses_inexact_ones_unsent() -> None:
    bodies: list[object] = []

    def answer(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(201, json={"id": 1})

    client = ApiClient("https://api.example.test", service="Example", credentials_hint="-",
                       transport=httpx.MockTransport(answer))
    client.request("POST", "/lines", json={"quantity": Decimal("12"),
                                           "unitPrice": Decimal("26.40")})
    assert bodies == [{"quantity": 12, "unitPrice": 26.4}]
    with pytest.raises(RejectedError, match="more significant digits"):
        client.request("POST", "/lines", json={"unitPrice": Decimal("0.12345678901234567")})
    assert len(bodies) == 1  # nothing was sent
    client.close()


def test_an_id_that_is_no_number_names_no_record() -> None:
    assert integer_id("812", "catalog item", "ConnectWise") == 812
    with pytest.raises(NotFoundError, match=r"^contract 'C-1' does not exist in Autotask \(its "
                                            r"ids are numbers\)$"):
        integer_id("C-1", "contract", "Autotask")
