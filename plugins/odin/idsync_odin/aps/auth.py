"""How the APS bus authenticates a caller: OAuth 1.0a (brand endpoint) or an ``APS-Token``.

From outside the provider's network the APS bus is reached through a brand endpoint with
OAuth 1.0a: a staff member's *consumer key and secret* (provider panel, "APS Bus Access"),
two-legged (no access token), HMAC-SHA1, the parameters in the ``Authorization`` header
(RFC 5849). Inside the network the controller on port 6308 takes an ``APS-Token`` header
instead (research notes §2c).

The signature covers the method, the URL without its query, and the query's parameters. An RQL
query has no ``name=value`` pairs: per RFC 5849 §3.4.1.3 the whole query is then one parameter
name with an empty value. UNCONFIRMED that the platform normalizes RQL queries the same way;
the simulator verifies signatures by these rules.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Generator, Mapping
from urllib.parse import quote, unquote, unquote_plus

import httpx
from pydantic import SecretStr


def percent_encode(text: str) -> str:
    """RFC 5849 §3.6: everything but ``A-Z a-z 0-9 - . _ ~`` becomes ``%XX`` (UTF-8)."""
    return quote(text, safe="~")


def base_string_uri(url: httpx.URL) -> str:
    """RFC 5849 §3.4.1.2: scheme and host in lower case, the port only when not the default,
    the path as sent, no query."""
    scheme, host = url.scheme.lower(), (url.host or "").lower()
    default_port = {"http": 80, "https": 443}.get(scheme)
    port = f":{url.port}" if url.port is not None and url.port != default_port else ""
    path = url.raw_path.split(b"?", 1)[0].decode("ascii") or "/"
    return f"{scheme}://{host}{port}{path}"


def query_parameters(query: bytes) -> list[tuple[str, str]]:
    """The query's parameters, decoded as ``application/x-www-form-urlencoded`` (§3.4.1.3.1);
    a part without ``=`` is a name with an empty value."""
    pairs = []
    for part in query.decode("ascii").split("&"):
        if part:
            name, _, val = part.partition("=")
            pairs.append((unquote_plus(name), unquote_plus(val)))
    return pairs


def signature_base_string(method: str, url: httpx.URL, oauth: Mapping[str, str]) -> str:
    """RFC 5849 §3.4.1: ``METHOD&uri&parameters``, each part percent-encoded."""
    pairs = [*query_parameters(url.query), *oauth.items()]
    normalized = "&".join(f"{n}={v}" for n, v in sorted(
        (percent_encode(n), percent_encode(v)) for n, v in pairs))
    return "&".join((method.upper(), percent_encode(base_string_uri(url)),
                     percent_encode(normalized)))


def hmac_sha1(base_string: str, consumer_secret: str) -> str:
    """RFC 5849 §3.4.2, two-legged: the key is the encoded secret and an empty token secret."""
    key = f"{percent_encode(consumer_secret)}&".encode()
    return base64.b64encode(hmac.new(key, base_string.encode(), hashlib.sha1).digest()).decode()


def parse_authorization(header: str) -> dict[str, str] | None:
    """The parameters of an ``OAuth k="v", ...`` header (for the simulator), or None."""
    scheme, _, rest = header.partition(" ")
    if scheme != "OAuth":
        return None
    params = {}
    for item in rest.split(","):
        name, sep, quoted = item.strip().partition("=")
        if not sep or len(quoted) < 2 or quoted[0] != '"' or quoted[-1] != '"':
            return None
        params[unquote(name)] = unquote(quoted[1:-1])
    return params


class OAuth1(httpx.Auth):
    """Signs every request with a fresh nonce and timestamp (so a retried request is signed
    anew, as the server refuses a nonce it has seen)."""

    def __init__(self, consumer_key: str, consumer_secret: SecretStr, *,
                 clock: Callable[[], float] = time.time,
                 nonce: Callable[[], str] = lambda: secrets.token_hex(16)) -> None:
        self._key = consumer_key
        self._secret = consumer_secret
        self._clock = clock
        self._nonce = nonce

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        oauth = {
            "oauth_consumer_key": self._key,
            "oauth_nonce": self._nonce(),
            "oauth_signature_method": "HMAC-SHA1",
            "oauth_timestamp": str(int(self._clock())),
            "oauth_version": "1.0",
        }
        base = signature_base_string(request.method, request.url, oauth)
        oauth["oauth_signature"] = hmac_sha1(base, self._secret.get_secret_value())
        request.headers["Authorization"] = "OAuth " + ", ".join(
            f'{percent_encode(k)}="{percent_encode(v)}"' for k, v in oauth.items())
        yield request


class ApsToken(httpx.Auth):
    """Sends an ``APS-Token`` (obtained on the platform with ``pem.APS.getUserToken``)."""

    def __init__(self, token: SecretStr) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["APS-Token"] = self._token.get_secret_value()
        yield request
