"""Settings of an ``odin`` connection: each backend asks for its own credentials."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest

from idsync_odin.settings import OdinSettings

MARKETPLACE = {"base_url": "https://api.cloud.im/marketplace/us/", "marketplace": "us",
               "username": "api", "password": "pw-Sup3r", "subscription_key": "key-Sup3r"}
APS = {"backend": "aps", "base_url": "https://portal.provider.example",
       "consumer_key": "ck", "consumer_secret": "cs-Sup3r"}


def test_marketplace_is_the_default_backend() -> None:
    settings = OdinSettings.model_validate(MARKETPLACE)
    assert settings.backend == "marketplace"
    assert settings.base_url == "https://api.cloud.im/marketplace/us"
    assert (settings.page_size, settings.detail_concurrency) == (500, 4)
    assert settings.usage_mpns == frozenset({"DZH318Z0BQ3Q"})


def test_aps_takes_oauth_or_a_token() -> None:
    assert OdinSettings.model_validate(APS).consumer_key == "ck"
    token = {"backend": "aps", "base_url": "https://mn.provider.example:6308",
             "aps_token": "t-Sup3r"}
    assert OdinSettings.model_validate(token).aps_token is not None


@pytest.mark.parametrize(("values", "message"), [
    ({**MARKETPLACE, "password": None}, "backend 'marketplace' needs password"),
    ({"base_url": "https://x.example"},
     "needs marketplace, username, password, subscription_key"),
    ({**MARKETPLACE, "aps_token": "t"}, "aps_token only apply to the other backend"),
    ({**APS, "consumer_secret": None}, "backend 'aps' needs consumer_secret"),
    ({"backend": "aps", "base_url": "https://x.example"}, "needs consumer_key, consumer_secret"),
    ({**APS, "aps_token": "t"}, "not both"),
    ({**APS, "username": "u"}, "username only apply to the other backend"),
    ({**MARKETPLACE, "base_url": "http://api.cloud.im/marketplace/us"}, "https"),
    ({**MARKETPLACE, "page_size": 1000}, "less than or equal to 500"),
    ({**MARKETPLACE, "backend": "xmlrpc"}, "'marketplace' or 'aps'"),
    ({**MARKETPLACE, "pasword": "x"}, "Extra inputs are not permitted"),
])
def test_wrong_settings_are_explained(values: dict[str, Any], message: str) -> None:
    with pytest.raises(pydantic.ValidationError) as info:
        OdinSettings.model_validate({k: v for k, v in values.items() if v is not None})
    text = str(info.value)
    assert message in text
    assert "Sup3r" not in str(info.value.errors(include_input=False))


def test_usage_based_mpns_from_a_list_or_an_environment_string() -> None:
    as_list = OdinSettings.model_validate({**MARKETPLACE, "usage_based_mpns": ["A", "B"]})
    as_text = OdinSettings.model_validate({**MARKETPLACE, "usage_based_mpns": "A, B,"})
    assert as_list.usage_mpns == as_text.usage_mpns == frozenset({"A", "B"})
    assert OdinSettings.model_validate({**MARKETPLACE, "usage_based_mpns": []}).usage_mpns == (
        frozenset())
