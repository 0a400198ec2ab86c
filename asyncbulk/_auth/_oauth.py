"""The OAuth 2.0 flows: JWT bearer, client credentials, refresh token, username-password.

They all POST ``application/x-www-form-urlencoded`` to ``{login_url}/services/oauth2/token`` and map
``{"error", "error_description"}`` answers to :class:`~asyncbulk.AuthenticationError` ("OAuth
Endpoints", https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_endpoints.htm).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import rsa

from .._exceptions import AuthenticationError
from ._base import CachedAuth, Credentials, FormPost, mask, normalise_url, require

__all__ = [
    "PRODUCTION_LOGIN_URL",
    "SANDBOX_LOGIN_URL",
    "ClientCredentials",
    "JwtBearer",
    "RefreshToken",
    "UsernamePassword",
    "default_audience",
]

logger = logging.getLogger("asyncbulk.auth")

PRODUCTION_LOGIN_URL = "https://login.salesforce.com"
SANDBOX_LOGIN_URL = "https://test.salesforce.com"
TOKEN_PATH = "/services/oauth2/token"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class _OAuthFlow(CachedAuth):
    """A flow that POSTs a form to ``{login_url}/services/oauth2/token``."""

    _grant_name = "oauth"

    def __init__(self, login_url: str) -> None:
        super().__init__()
        self.login_url = normalise_url("login_url", login_url)

    def _form(self) -> dict[str, str]:
        raise NotImplementedError

    def _headers(self) -> dict[str, str]:
        return {}

    async def _fetch(self, post: FormPost) -> Credentials:
        payload = await _post_token_request(post, self.login_url, self._form(), self._headers())
        credentials = _credentials_from(payload, self.login_url)
        self._absorb(payload)
        logger.debug("got an access token for %s (%s flow)", credentials.instance_url, self._grant_name)
        return credentials

    def _absorb(self, payload: Mapping[str, Any]) -> None:
        """Let a flow keep extra fields of a token response (a rotated refresh token)."""


async def _post_token_request(
    post: FormPost, login_url: str, form: Mapping[str, str], headers: Mapping[str, str]
) -> dict[str, Any]:
    """POST the form and return the JSON answer, or raise AuthenticationError / TransportError."""
    url = login_url + TOKEN_PATH
    status, body = await post(url, form, headers)
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if status >= 400 or not isinstance(payload, dict):
        error_code: str | None = None
        if isinstance(payload, dict):
            error_code = str(payload.get("error") or "") or None
            message = str(payload.get("error_description") or payload.get("error") or "no description")
        else:
            # Not the OAuth error shape (an HTML error page, a proxy...): describe it, do not echo it.
            message = f"the token endpoint answered HTTP {status} without an OAuth JSON body"
        raise AuthenticationError(status, error_code, message, method="POST", path=url)
    return payload


def _credentials_from(payload: Mapping[str, Any], login_url: str) -> Credentials:
    access_token = payload.get("access_token")
    instance_url = payload.get("instance_url")
    if not isinstance(access_token, str) or not access_token or not isinstance(instance_url, str):
        raise AuthenticationError(
            200,
            None,
            "the token response lacks access_token or instance_url",
            method="POST",
            path=login_url + TOKEN_PATH,
        )
    return Credentials(instance_url.rstrip("/"), access_token)


def default_audience(login_url: str) -> str:
    """The JWT ``aud`` Salesforce expects for a login URL.

    Sandboxes (``test.salesforce.com``, ``*.sandbox.my.salesforce.com``) want
    ``https://test.salesforce.com``; production and My Domain hosts under salesforce.com want
    ``https://login.salesforce.com`` (a My Domain URL as ``aud`` gets "audience is invalid");
    any other host (an Experience Cloud site, the emulator) is its own audience.
    Source: sfdx-core ``SfdcUrl.getJwtAudienceUrl``; restforce PR #886; omniphx/forrest #302.
    """
    host = (urlsplit(login_url).hostname or "").lower()
    if host == "test.salesforce.com" or host.endswith(".sandbox.my.salesforce.com"):
        return SANDBOX_LOGIN_URL
    if host == "salesforce.com" or host.endswith(".salesforce.com"):
        return PRODUCTION_LOGIN_URL
    return login_url.rstrip("/")


def _load_private_key(private_key: str | os.PathLike[str]) -> rsa.RSAPrivateKey:
    """Read an unencrypted RSA private key from PEM text or a file; ValueError without key material."""
    # Imported here: cryptography takes a noticeable share of every CLI start, and only the JWT
    # flow needs it.
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    if isinstance(private_key, str) and "-----BEGIN" in private_key:
        data = private_key.encode()
    else:
        path = Path(private_key)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ValueError(f"private_key: cannot read the key file {str(path)!r}: {exc.strerror}") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        # from None: the parser's own message is harmless, but keep key handling quiet on principle.
        raise ValueError("private_key is not an unencrypted PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("private_key must be an RSA key: Salesforce signs JWT bearer tokens with RS256")
    return key


class JwtBearer(_OAuthFlow):
    """OAuth 2.0 JWT bearer flow: a certificate-signed assertion, no secret, no browser.

    :param client_id: the connected app's consumer key (JWT ``iss``).
    :param username: the pre-authorized user to act as (JWT ``sub``).
    :param private_key: the PEM private key matching the app's certificate, as text or a file path.
    :param login_url: ``https://login.salesforce.com``, ``https://test.salesforce.com`` or a My Domain.
    :param audience: JWT ``aud``; by default derived from ``login_url`` (see :func:`default_audience`).
    :param lifetime: seconds until the assertion expires (JWT ``exp``); Salesforce's docs say
        "within 3 minutes".
    """

    _grant_name = "JWT bearer"

    def __init__(
        self,
        client_id: str,
        username: str,
        private_key: str | os.PathLike[str],
        login_url: str = PRODUCTION_LOGIN_URL,
        audience: str | None = None,
        lifetime: float = 180,
    ) -> None:
        super().__init__(login_url)
        self.client_id = require("client_id", client_id)
        self.username = require("username", username)
        if lifetime <= 0:
            raise ValueError(f"lifetime must be positive, got {lifetime!r}")
        self.lifetime = lifetime
        self.audience = audience.rstrip("/") if audience else default_audience(self.login_url)
        self._key = _load_private_key(private_key)

    def assertion(self) -> str:
        """A freshly signed JWT assertion (a new ``exp`` each time)."""
        claims = {
            "iss": self.client_id,
            "sub": self.username,
            "aud": self.audience,
            "exp": int(time.time() + self.lifetime),
        }
        import jwt  # only the JWT flow needs PyJWT (see _load_private_key)

        return jwt.encode(claims, self._key, algorithm="RS256")

    def _form(self) -> dict[str, str]:
        return {"grant_type": JWT_BEARER_GRANT, "assertion": self.assertion()}

    def __repr__(self) -> str:
        return (
            f"JwtBearer(client_id={self.client_id!r}, username={self.username!r}, private_key=<hidden>, "
            f"login_url={self.login_url!r}, audience={self.audience!r}, lifetime={self.lifetime!r})"
        )


class ClientCredentials(_OAuthFlow):
    """OAuth 2.0 client credentials flow: consumer key + secret, acting as the app's "Run As" user.

    :param domain_url: the org's My Domain URL (``https://acme.my.salesforce.com``). Salesforce
        refuses this flow on ``login.salesforce.com`` / ``test.salesforce.com`` ("request not
        supported on this domain"), so those are rejected here, as simple-salesforce does.
    """

    _grant_name = "client credentials"

    def __init__(self, client_id: str, client_secret: str, domain_url: str) -> None:
        domain_url = normalise_url("domain_url", domain_url)
        host = (urlsplit(domain_url).hostname or "").lower()
        if host in ("login.salesforce.com", "test.salesforce.com"):
            raise ValueError(
                "domain_url must be your org's My Domain URL (https://<domain>.my.salesforce.com): "
                f"Salesforce does not serve the client credentials flow on {host}"
            )
        super().__init__(domain_url)
        self.client_id = require("client_id", client_id)
        self._client_secret = require("client_secret", client_secret)

    def _form(self) -> dict[str, str]:
        # Form fields rather than HTTP Basic: both are accepted (aiosalesforce sends fields,
        # simple-salesforce sends Basic) and fields need no extra encoding rules.
        return {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._client_secret,
        }

    def __repr__(self) -> str:
        return (
            f"ClientCredentials(client_id={self.client_id!r}, client_secret=<hidden>, "
            f"domain_url={self.login_url!r})"
        )


class RefreshToken(_OAuthFlow):
    """OAuth 2.0 refresh token flow: trade a long-lived refresh token for access tokens.

    If the answer carries a new ``refresh_token`` (rotation), it replaces the old one.
    """

    _grant_name = "refresh token"

    def __init__(
        self,
        client_id: str,
        refresh_token: str,
        client_secret: str | None = None,
        login_url: str = PRODUCTION_LOGIN_URL,
    ) -> None:
        super().__init__(login_url)
        self.client_id = require("client_id", client_id)
        self._refresh_token = require("refresh_token", refresh_token)
        self._client_secret = client_secret

    def _form(self) -> dict[str, str]:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self._refresh_token,
            "client_id": self.client_id,
        }
        if self._client_secret:
            form["client_secret"] = self._client_secret
        return form

    def _absorb(self, payload: Mapping[str, Any]) -> None:
        rotated = payload.get("refresh_token")
        if isinstance(rotated, str) and rotated:
            self._refresh_token = rotated

    def __repr__(self) -> str:
        return (
            f"RefreshToken(client_id={self.client_id!r}, refresh_token=<hidden>, "
            f"client_secret={mask(self._client_secret)}, login_url={self.login_url!r})"
        )


class UsernamePassword(_OAuthFlow):
    """OAuth 2.0 username-password flow (legacy: Salesforce recommends blocking it).

    :param password: the user's password; ``security_token`` (if the org requires one and it is not
        already appended) is appended to it, as Salesforce expects.
    """

    _grant_name = "username-password"

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        username: str,
        password: str,
        login_url: str = PRODUCTION_LOGIN_URL,
        *,
        security_token: str = "",
    ) -> None:
        super().__init__(login_url)
        self.client_id = require("client_id", client_id)
        self._client_secret = require("client_secret", client_secret)
        self.username = require("username", username)
        self._password = require("password", password) + security_token

    def _form(self) -> dict[str, str]:
        return {
            "grant_type": "password",
            "client_id": self.client_id,
            "client_secret": self._client_secret,
            "username": self.username,
            "password": self._password,
        }

    def __repr__(self) -> str:
        return (
            f"UsernamePassword(client_id={self.client_id!r}, client_secret=<hidden>, "
            f"username={self.username!r}, password=<hidden>, login_url={self.login_url!r})"
        )
