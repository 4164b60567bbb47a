"""The OAuth 2.0 client-credentials grant (RFC 6749 §4.4): a token for a server-to-server client.

``POST`` the token URL with ``grant_type=client_credentials``, the client's id and secret (and,
where the vendor wants them, an ``audience`` or a ``scope``); the answer is
``{"access_token": "...", "token_type": "Bearer", "expires_in": 3600}``. RFC 6749 sends the
fields form-encoded; some vendors (Pax8, Auth0-based endpoints) take the same fields as JSON,
hence ``body="form" | "json"``.

:meth:`ClientCredentials.issue` is the ``issue`` function of a
:class:`~idsync_core.http.tokens.BearerToken`, which keeps the token current. The request goes
through an :class:`~idsync_core.http.ApiClient` of its own, so it gets the core's retries and
error mapping: refused credentials (401/403, or a 400 with an OAuth error such as
``invalid_client``) become a :class:`~idsync_core.errors.ConfigurationError` naming the settings
to check. The secret is added to the body by an ``httpx.Auth`` at the last moment, so it never
passes through a parameter the client could log, and no message, ``repr`` or log line carries
it or the token.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from decimal import Decimal
from typing import Any, Literal

import httpx
from pydantic import SecretStr

from idsync_core.errors import ApiError, ConfigurationError, IdsyncError
from idsync_core.http.client import ApiClient
from idsync_core.http.tokens import IssuedToken
from idsync_core.http.wiring import REAL, Wiring

REFUSALS = frozenset({"invalid_client", "unauthorized_client", "invalid_grant", "access_denied",
                      "invalid_scope"})
"""OAuth error codes (RFC 6749 §5.2) that mean "these credentials will not do": a configuration
error, not a failure worth retrying."""

BodyFormat = Literal["form", "json"]


class _SecretInBody(httpx.Auth):
    """Client authentication in the request body (RFC 6749 §2.3.1), added as the request
    leaves: the request the client builds and logs carries no secret."""

    def __init__(self, fields: Callable[[], dict[str, str]], body: BodyFormat) -> None:
        self._fields = fields
        self._body = body

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        headers = [(k, v) for k, v in request.headers.multi_items()
                   if k.lower() not in ("content-length", "content-type")]
        fields = self._fields()
        yield httpx.Request(request.method, request.url, headers=headers,
                            extensions=request.extensions,
                            json=fields if self._body == "json" else None,
                            data=fields if self._body == "form" else None)


class _TokenEndpoint(ApiClient):
    """The token endpoint speaks OAuth's error format: ``{"error", "error_description"}``."""

    def error_message(self, response: httpx.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            return super().error_message(response)
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            description = body.get("error_description")
            return f"{body['error']}: {description}" if isinstance(description, str) else (
                body["error"])
        return super().error_message(response)

    def classify(self, response: httpx.Response) -> type[IdsyncError] | None:
        if response.status_code == 400 and self.error_message(response).split(":")[0] in REFUSALS:
            return ConfigurationError
        return super().classify(response)


class ClientCredentials:
    """Issues tokens by the client-credentials grant at ``token_url``.

    ``service`` and ``credentials_hint`` word the errors as for the API's own client (the hint
    names the settings to check, e.g. ``"[providers.pax8] client_id and client_secret"``);
    ``default_lifetime`` is used when an answer has no ``expires_in``. ``transport``, ``retry``
    and ``sleep`` are passed to the token endpoint's client (tests and simulators).
    """

    def __init__(
        self,
        token_url: str,
        *,
        client_id: str,
        client_secret: SecretStr,
        service: str,
        credentials_hint: str,
        audience: str | None = None,
        scope: str | None = None,
        body: BodyFormat = "form",
        default_lifetime: float = 3600.0,
        timeout: float = 30.0,
        wiring: Wiring = REAL,
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self._secret = client_secret
        self._extra = {key: value for key, value in (("audience", audience), ("scope", scope))
                       if value}
        self.default_lifetime = default_lifetime
        self._client = _TokenEndpoint(
            token_url, service=f"{service} token endpoint", credentials_hint=credentials_hint,
            auth=_SecretInBody(self._fields, body), headers={"Accept": "application/json"},
            timeout=timeout, retry=wiring.retry, transport=wiring.transport, sleep=wiring.sleep)

    def __repr__(self) -> str:
        return f"ClientCredentials({self.token_url!r}, client_id={self.client_id!r})"

    def _fields(self) -> dict[str, str]:
        return {"grant_type": "client_credentials", "client_id": self.client_id,
                "client_secret": self._secret.get_secret_value(), **self._extra}

    def issue(self) -> IssuedToken:
        """A new token. Asking for one changes nothing on the server, so the request is retried
        like a read."""
        response = self._client.request("POST", self.token_url, idempotent=True)
        answer = self._client.json_of(response)
        where = f"{self._client.service} POST {response.request.url.path}"
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise ApiError(f"{where} answered without an access_token", status=response.status_code,
                           hint="check the token URL setting")
        kind = answer.get("token_type")
        if isinstance(kind, str) and kind.lower() != "bearer":
            raise ApiError(f"{where} issued a {kind!r} token; only bearer tokens are supported",
                           status=response.status_code)
        return IssuedToken(token, _lifetime(answer.get("expires_in"), self.default_lifetime))

    def close(self) -> None:
        self._client.close()


def _lifetime(value: Any, default: float) -> float:
    """``expires_in`` in seconds (a number, or a numeric string as some servers send)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        return default
    try:
        seconds = float(value)
    except ValueError:
        return default
    return seconds if math.isfinite(seconds) and seconds > 0 else default
