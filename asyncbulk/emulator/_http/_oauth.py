"""Access tokens and the emulator's OAuth 2.0 token endpoint (``POST /services/oauth2/token``).

:class:`TokenRegistry` knows which bearer tokens are valid and for how long
(``EmulatorConfig.token_lifetime``, so a token can expire in the middle of a load).
:class:`TokenEndpoint` serves the four grants asyncbulk uses, answering as Salesforce does:

- ``urn:ietf:params:oauth:grant-type:jwt-bearer``: an RS256 JWT signed with the key whose public
  half (or X.509 certificate) is ``OAuthConfig.jwt_public_key_pem``;
- ``client_credentials``: consumer key and secret as form fields or HTTP Basic;
- ``refresh_token``: one of ``OAuthConfig.refresh_tokens``;
- ``password``: username and password (+ security token) with the consumer key and secret.

Errors are HTTP 400 with ``{"error": ..., "error_description": ...}`` and Salesforce's own texts.
Sources for those texts (no official list exists): ``invalid assertion`` (salesforce.stackexchange
"Authorization via JWT yields an invalid assertion error"), ``expired authorization code`` (SE
282513, an expired JWT), ``audience is invalid`` (omniphx/forrest #302, forcedotcom/cli #3325),
``user hasn't approved this consumer`` (restforce #674), ``client identifier invalid`` (forrest
#184), ``invalid client credentials`` (restforce #338), ``authentication failure``
(simple-salesforce #753), ``expired access/refresh token`` (salesforcedictionary.com
invalid-oauth-grant), ``grant type not supported`` (aaronhuggins/sf-jwt-token #1).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import secrets
import string
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, unquote

import jwt
from aiohttp import http_exceptions as aiohttp_exceptions
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .._config import EmulatorConfig, OAuthConfig

__all__ = [
    "INVALID_SESSION_BODY",
    "TokenEndpoint",
    "TokenRegistry",
    "bearer_token",
    "invalid_session_response",
    "oauth_routes",
]

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
#: The audiences a JWT may name besides the emulator's own URL (Salesforce help: "aud" is
#: https://login.salesforce.com, https://test.salesforce.com or the Experience Cloud site URL).
STANDARD_AUDIENCES = frozenset({"https://login.salesforce.com", "https://test.salesforce.com"})

#: The body Salesforce sends with a 401 for a missing, unknown or expired token (a recorded real
#: answer, as jsforce's tests replay it).
INVALID_SESSION_BODY: list[dict[str, str]] = [
    {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
]

# Salesforce session ids are "<15-char org id>!<opaque>", the opaque part from this alphabet.
_TOKEN_ALPHABET = string.ascii_letters + string.digits + "._"


class TokenRegistry:
    """The access tokens the emulator accepts, each valid for ``lifetime`` seconds.

    Thread-safe: the emulator may run in its own thread while a test expires tokens.

    :param lifetime: seconds a token stays valid after it is issued or added; ``None`` is forever.
    :param clock: a monotonic clock in seconds (tests pass a fake one).
    :param org_id: the org whose id prefixes every token, as in real session ids.
    """

    def __init__(
        self,
        *,
        lifetime: float | None,
        clock: Callable[[], float] = time.monotonic,
        org_id: str = "00DEM00000000012AA",
    ) -> None:
        if lifetime is not None and lifetime <= 0:
            raise ValueError(f"lifetime must be positive, got {lifetime!r}")
        self.lifetime = lifetime
        self._clock = clock
        self._prefix = org_id[:15]
        self._lock = threading.Lock()
        # token -> (expiry on the clock or None, user id)
        self._tokens: dict[str, tuple[float | None, str]] = {}
        self.issued = 0

    def _expiry(self) -> float | None:
        return None if self.lifetime is None else self._clock() + self.lifetime

    def issue(self, user_id: str) -> str:
        """Make, remember and return a new token for ``user_id``."""
        token = f"{self._prefix}!AQ" + "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(94))
        with self._lock:
            self._prune()
            self._tokens[token] = (self._expiry(), user_id)
            self.issued += 1
        return token

    def add(self, token: str, user_id: str = "") -> None:
        """Accept a preset token (``EmulatorConfig.access_token``), with the same lifetime as issued ones."""
        with self._lock:
            self._tokens[token] = (self._expiry(), user_id)

    def check(self, token: str) -> bool:
        """Whether ``token`` is known and not expired."""
        with self._lock:
            entry = self._tokens.get(token)
            if entry is None:
                return False
            expiry = entry[0]
            if expiry is not None and self._clock() >= expiry:
                del self._tokens[token]
                return False
            return True

    def user_of(self, token: str) -> str | None:
        """The user a valid token was issued to, else ``None``."""
        if not self.check(token):
            return None
        with self._lock:
            entry = self._tokens.get(token)
            return entry[1] if entry else None

    def expire_all(self) -> None:
        """Invalidate every token, preset ones included (as if all sessions timed out)."""
        with self._lock:
            self._tokens.clear()

    def __len__(self) -> int:
        with self._lock:
            self._prune()
            return len(self._tokens)

    def _prune(self) -> None:
        # Called with the lock held: forget expired tokens so a long run does not accumulate them.
        now = self._clock()
        dead = [t for t, (expiry, _) in self._tokens.items() if expiry is not None and now >= expiry]
        for token in dead:
            del self._tokens[token]

    def __repr__(self) -> str:
        return f"TokenRegistry(lifetime={self.lifetime!r}, tokens=<{len(self._tokens)} hidden>)"


def bearer_token(request: web.Request) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (Salesforce also takes ``OAuth``)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() in ("bearer", "oauth") and token.strip():
        return token.strip()
    return None


def invalid_session_response() -> web.Response:
    """The 401 Salesforce answers for a missing, unknown or expired token."""
    # Real orgs also send "WWW-Authenticate: Token" with this 401.
    return web.json_response(INVALID_SESSION_BODY, status=401, headers={"WWW-Authenticate": "Token"})


class _OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(error, description)
        self.error = error
        self.description = description
        self.status = status


_UNSUPPORTED = ("unsupported_grant_type", "grant type not supported")
_BAD_CLIENT_ID = ("invalid_client_id", "client identifier invalid")
_BAD_SECRET = ("invalid_client", "invalid client credentials")


def _load_public_key(pem: str | None) -> rsa.RSAPublicKey | None:
    """The RSA public key of a PEM public key or X.509 certificate; ValueError if it is neither."""
    if pem is None:
        return None
    data = pem.encode()
    key: Any
    if b"CERTIFICATE" in data:
        key = x509.load_pem_x509_certificate(data).public_key()
    else:
        key = serialization.load_pem_public_key(data)
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("jwt_public_key_pem must hold an RSA public key or certificate (JWTs are RS256)")
    return key


class TokenEndpoint:
    """``POST /services/oauth2/token``: checks a grant against ``OAuthConfig``, issues a token.

    :param registry: where issued tokens go.
    :param oauth: which app, user, key and refresh tokens are accepted.
    :param instance_url: the emulator's base URL once it is listening (token responses carry it, and
        a JWT may name it as its audience).
    :param user_id: the running user's id (every token is theirs; the ``id`` URL names it).
    :raises ValueError: if ``jwt_public_key_pem`` is not an RSA public key or certificate.
    """

    def __init__(
        self,
        registry: TokenRegistry,
        oauth: OAuthConfig,
        *,
        instance_url: Callable[[], str],
        user_id: str,
        body_timeout: float = 60.0,
    ) -> None:
        self.body_timeout = body_timeout
        self.registry = registry
        self.oauth = oauth
        self.instance_url = instance_url
        self.user_id = user_id
        self._public_key = _load_public_key(oauth.jwt_public_key_pem)
        self._refresh_tokens = frozenset(oauth.refresh_tokens)

    async def handle(self, request: web.Request) -> web.Response:
        """The token request: a token response, or 400 with ``error`` and ``error_description``."""
        form = await _read_form(request, self.body_timeout)
        grant = form.get("grant_type", "")
        try:
            if grant == JWT_BEARER_GRANT:
                self._jwt_bearer(form)
            elif grant == "client_credentials":
                self._client_credentials(request, form)
            elif grant == "refresh_token":
                self._refresh(form)
            elif grant == "password":
                self._password(form)
            else:
                raise _OAuthError(*_UNSUPPORTED)
        except _OAuthError as exc:
            return web.json_response(
                {"error": exc.error, "error_description": exc.description},
                status=exc.status,
                headers={"Cache-Control": "no-cache,no-store"},
            )
        # None of these grants return a refresh token on Salesforce (only the web-server and
        # user-agent flows do, and the refresh flow itself unless rotation is on).
        return web.json_response(self._token_response(), headers={"Cache-Control": "no-cache,no-store"})

    def _check_client(
        self, client_id: str | None, client_secret: str | None, *, secret_required: bool
    ) -> None:
        if client_id != self.oauth.client_id:
            raise _OAuthError(*_BAD_CLIENT_ID)
        if client_secret is None and not secret_required:
            return
        if client_secret is None or not hmac.compare_digest(
            client_secret.encode(), self.oauth.client_secret.encode()
        ):
            raise _OAuthError(*_BAD_SECRET)

    def _jwt_bearer(self, form: dict[str, str]) -> None:
        assertion = form.get("assertion", "")
        try:
            claims = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.InvalidTokenError:
            raise _OAuthError("invalid_grant", "invalid assertion") from None
        # The app is found by iss before its certificate can check the signature.
        if claims.get("iss") != self.oauth.client_id:
            raise _OAuthError(*_BAD_CLIENT_ID)
        if self._public_key is None:
            # No certificate uploaded to the app: no signature can be valid.
            raise _OAuthError("invalid_grant", "invalid assertion")
        try:
            # Only the signature here; the claims are checked below with Salesforce's messages.
            # exp is not checked by PyJWT because simple-salesforce sends it as a string.
            jwt.decode(
                assertion,
                self._public_key,
                algorithms=["RS256"],
                options={"verify_exp": False, "verify_aud": False, "verify_iat": False, "verify_nbf": False},
            )
        except jwt.InvalidTokenError:
            raise _OAuthError("invalid_grant", "invalid assertion") from None
        own = self.instance_url().rstrip("/")
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if not any(isinstance(a, str) and a.rstrip("/") in STANDARD_AUDIENCES | {own} for a in audiences):
            raise _OAuthError("invalid_grant", "audience is invalid")
        try:
            exp = float(claims["exp"])
        except (KeyError, TypeError, ValueError):
            raise _OAuthError("invalid_grant", "invalid assertion") from None
        # No upper bound on exp: the docs say "within 3 minutes", but sfdx-core signs
        # exp = Date.now() + 300 (milliseconds, centuries ahead) and `sf org login jwt` works.
        if exp <= time.time():
            raise _OAuthError("invalid_grant", "expired authorization code")
        if claims.get("sub") != self.oauth.username:
            # Salesforce answers the same for an unknown user and for one not pre-authorized.
            raise _OAuthError("invalid_grant", "user hasn't approved this consumer")

    def _client_credentials(self, request: web.Request, form: dict[str, str]) -> None:
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        basic = _basic_credentials(request)
        if basic is not None:
            client_id, client_secret = basic
        self._check_client(client_id, client_secret, secret_required=True)

    def _refresh(self, form: dict[str, str]) -> None:
        self._check_client(form.get("client_id"), form.get("client_secret"), secret_required=False)
        if form.get("refresh_token") not in self._refresh_tokens:
            raise _OAuthError("invalid_grant", "expired access/refresh token")

    def _password(self, form: dict[str, str]) -> None:
        self._check_client(form.get("client_id"), form.get("client_secret"), secret_required=True)
        if form.get("username") != self.oauth.username or not hmac.compare_digest(
            form.get("password", "").encode(), self.oauth.password.encode()
        ):
            raise _OAuthError("invalid_grant", "authentication failure")

    def _token_response(self) -> dict[str, str]:
        oauth = self.oauth
        base = self.instance_url().rstrip("/")
        identity = f"{base}/id/{oauth.org_id}/{self.user_id}"
        issued_at = str(int(time.time() * 1000))
        # Salesforce: "Base64-encoded HMAC-SHA256 signature signed with the client_secret containing
        # the concatenated ID and issued_at value", letting a client check the id URL is genuine.
        digest = hmac.new(
            oauth.client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256
        ).digest()
        return {
            "access_token": self.registry.issue(self.user_id),
            "instance_url": base,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
            "signature": base64.b64encode(digest).decode(),
            "scope": "api",
        }


def oauth_routes(
    registry: TokenRegistry, config: EmulatorConfig, *, instance_url: Callable[[], str], user_id: str
) -> list[web.RouteDef]:
    """The route of the token endpoint, ``POST /services/oauth2/token`` (see :class:`TokenEndpoint`).

    :raises ValueError: if ``config.oauth.jwt_public_key_pem`` is not an RSA public key or certificate.
    """
    endpoint = TokenEndpoint(
        registry, config.oauth, instance_url=instance_url, user_id=user_id, body_timeout=config.body_timeout
    )
    return [web.post("/services/oauth2/token", endpoint.handle)]


async def _read_form(request: web.Request, body_timeout: float) -> dict[str, str]:
    """The form fields of a token request, read with a cap; an unreadable body has none.

    aiohttp's ``request.post()`` would raise on an unknown charset or bytes that are not UTF-8
    (and answer an oversized body with a text page); a client's mistake must get the endpoint's
    own 400, not a 500.
    """
    if request.content_length is not None and request.content_length > 1 << 16:
        return {}
    if request.content_type != "application/x-www-form-urlencoded":
        return {}
    try:
        # read() keeps the body (a middleware may have read the form already); it is capped by
        # the application's client_max_size.
        async with asyncio.timeout(body_timeout):
            raw = await request.read()
        return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    except (
        UnicodeDecodeError,
        ValueError,
        TimeoutError,
        ConnectionError,
        web.HTTPException,
        web.RequestPayloadError,
        aiohttp_exceptions.HttpProcessingError,
    ):
        return {}


def _basic_credentials(request: web.Request) -> tuple[str, str] | None:
    """``(client_id, client_secret)`` from ``Authorization: Basic``, else ``None``."""
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return ("", "")
    client_id, _, client_secret = decoded.partition(":")
    # RFC 6749 2.3.1: both parts are form-urlencoded before they are joined.
    return unquote(client_id), unquote(client_secret)
