"""The marketplace bearer token: issued by ``POST {base}/token``, kept current by the core.

``POST /token`` takes Basic auth (the API user), the ``X-Subscription-Key`` header and
``{"marketplace": "<code>"}``, and answers ``{"token": "<JWT>", "expiresInSeconds": 1500}``.
Every other call sends ``Authorization: Bearer <token>``.

Keeping the token current is the core's :class:`~idsync_core.http.BearerToken` (cached, replaced
a margin before it expires, renewed once when the API answers 401 anyway). Only the grant is
Ingram's own: it is not the OAuth 2.0 client-credentials grant (a user name and password in
Basic auth plus a subscription key, a JSON body naming the marketplace, ``token`` and
``expiresInSeconds`` in the answer), so :class:`~idsync_core.http.ClientCredentials` does not
apply and :class:`TokenIssuer` below speaks it.
"""

from __future__ import annotations

from idsync_core.errors import ApiError
from idsync_core.http import ApiClient, IssuedToken

DEFAULT_LIFETIME = 1500.0
"""25 minutes: what the API documents, used when an answer omits ``expiresInSeconds``."""


class TokenIssuer:
    """Asks ``POST /token`` for a new token through an :class:`ApiClient` of its own (Basic
    auth instead of the bearer), so the request gets the core's retries and error mapping:
    refused credentials become a ``ConfigurationError`` naming the settings to check."""

    def __init__(self, client: ApiClient, marketplace: str) -> None:
        self._client = client
        self._marketplace = marketplace

    def issue(self) -> IssuedToken:
        # Asking for a token changes nothing on the server: safe to repeat after a failure.
        response = self._client.request("POST", "/token", json={"marketplace": self._marketplace},
                                        idempotent=True)
        body = self._client.json_of(response)
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise ApiError("Ingram Micro Marketplace API POST /token answered without a token",
                           status=response.status_code,
                           hint="check base_url: it must end with /marketplace/<region>")
        lifetime = body.get("expiresInSeconds")
        if isinstance(lifetime, bool) or not isinstance(lifetime, int | float) or lifetime <= 0:
            lifetime = DEFAULT_LIFETIME
        return IssuedToken(token, float(lifetime))

    def close(self) -> None:
        self._client.close()
