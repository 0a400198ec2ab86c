"""Ways to get an access token and the instance URL that goes with it.

Every auth object has ``refreshable`` and ``async token(session, *, force_refresh=False, stale=None)``:

- :class:`StaticToken`: a token you already have (``--access-token``); cannot be refreshed.
- :class:`JwtBearer`: a connected app's certificate signs a JWT for a pre-authorized user.
- :class:`ClientCredentials`: consumer key + secret, run as the app's "Run As" user (My Domain only).
- :class:`RefreshToken`: a refresh token from an earlier web-server flow.
- :class:`UsernamePassword`: the legacy username-password flow (Salesforce is retiring it).
- :class:`SfCli`: asks the Salesforce CLI (``sf org display --json``) for an org it already knows.

The OAuth flows all POST ``application/x-www-form-urlencoded`` to ``{login_url}/services/oauth2/token``
and map ``{"error", "error_description"}`` answers to :class:`~asyncbulk.AuthenticationError`.

Tokens are cached: ``token()`` returns the cached credentials unless asked to refresh, and one lock
makes many concurrent refresh requests (every running job hitting 401 at once) cost one refresh.
No secret (client secret, password, private key, refresh or access token) appears in a ``repr()``,
an exception message or a log line.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

import aiohttp

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import rsa

from ._exceptions import AuthenticationError, TransportError

__all__ = [
    "Auth",
    "ClientCredentials",
    "Credentials",
    "JwtBearer",
    "RefreshToken",
    "SfCli",
    "SfCliError",
    "StaticToken",
    "UsernamePassword",
    "auth_from_options",
]

logger = logging.getLogger("asyncbulk.auth")

PRODUCTION_LOGIN_URL = "https://login.salesforce.com"
SANDBOX_LOGIN_URL = "https://test.salesforce.com"
TOKEN_PATH = "/services/oauth2/token"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass(frozen=True, repr=False)
class Credentials:
    """An access token and the instance URL it is valid for.

    ``repr()`` and ``str()`` never show the token.
    """

    instance_url: str
    access_token: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Credentials(instance_url={self.instance_url!r}, access_token=<hidden>)"

    __str__ = __repr__


class Auth(Protocol):
    """What the HTTP client needs from an auth method."""

    #: Whether ``token(force_refresh=True)`` can produce a new token after a 401.
    refreshable: bool

    async def token(
        self,
        session: aiohttp.ClientSession,
        *,
        force_refresh: bool = False,
        stale: Credentials | None = None,
    ) -> Credentials:
        """Return valid credentials, from the cache unless a refresh is asked for.

        :param session: the session to reach the token endpoint with.
        :param force_refresh: get a new token even if one is cached (the cached one was refused),
            unless another caller refreshed while this one waited for the lock.
        :param stale: the credentials that were refused; implies ``force_refresh``, but refreshes
            only if the cached token is still that one (someone else may have refreshed already).
        """
        ...


def _normalise_url(option: str, url: str) -> str:
    """Strip a trailing slash and insist on an http(s) URL with a host; ValueError naming ``option``."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{option} must be an http(s) URL such as https://login.salesforce.com, got {url!r}")
    return url.strip().rstrip("/")


def _require(option: str, value: str | None) -> str:
    if value is None or not str(value).strip():
        raise ValueError(f"{option} is required and must not be empty")
    return value


def _mask(secret: str | None) -> str:
    return "None" if secret is None else "<hidden>"


class StaticToken:
    """A token obtained elsewhere (``--access-token`` / ``SF_ACCESS_TOKEN``).

    It cannot be refreshed: when Salesforce answers 401 the load stops with an
    :class:`~asyncbulk.AuthenticationError`.
    """

    refreshable: bool = False

    def __init__(self, instance_url: str, access_token: str) -> None:
        self._credentials = Credentials(
            _normalise_url("instance_url", instance_url), _require("access_token", access_token)
        )

    async def token(
        self,
        session: aiohttp.ClientSession,
        *,
        force_refresh: bool = False,
        stale: Credentials | None = None,
    ) -> Credentials:
        """Return the one token there is (a refresh request cannot change it)."""
        return self._credentials

    def __repr__(self) -> str:
        return f"StaticToken(instance_url={self._credentials.instance_url!r}, access_token=<hidden>)"


class _CachedAuth:
    """Caching and single-flight refresh shared by every refreshable method."""

    refreshable: bool = True

    def __init__(self) -> None:
        self._cached: Credentials | None = None
        # asyncio.Lock binds to a loop only on first contention, so creating it here is safe.
        self._lock = asyncio.Lock()
        self._attempts = 0
        # Counts finished fetches (success or failure). A caller that sees it move while it waits
        # for the lock knows a fetch ended after it asked: that token is newer than the one it
        # saw refused, so it takes it instead of fetching again.
        self._finished = 0
        self._last_error: Exception | None = None

    @property
    def fetch_count(self) -> int:
        """How many times a token was requested from the source (for tests and diagnostics)."""
        return self._attempts

    async def token(
        self,
        session: aiohttp.ClientSession,
        *,
        force_refresh: bool = False,
        stale: Credentials | None = None,
    ) -> Credentials:
        """Return cached credentials, or fetch new ones (once, however many callers ask at a time).

        See :meth:`Auth.token` for ``force_refresh`` and ``stale``.
        """
        wants_new = force_refresh or stale is not None
        cached = self._cached
        if cached is not None and (not wants_new or (stale is not None and cached != stale)):
            return cached
        seen = self._finished
        async with self._lock:
            cached = self._cached
            if self._finished != seen:
                # Another caller fetched while we waited: its result (or its error) is ours too,
                # which is what turns twenty simultaneous 401s into one token request.
                if cached is None and self._last_error is not None:
                    raise self._last_error
                if cached is not None:
                    return cached
            if cached is not None and (not wants_new or (stale is not None and cached != stale)):
                return cached
            self._attempts += 1
            try:
                credentials = await self._fetch(session)
            except Exception as exc:
                # Not BaseException: a cancelled fetch must not hand its CancelledError to the
                # waiters; they see no finished fetch and try themselves.
                self._last_error = exc
                self._cached = None
                self._finished += 1
                raise
            self._last_error = None
            self._cached = credentials
            self._finished += 1
            return credentials

    async def _fetch(self, session: aiohttp.ClientSession) -> Credentials:
        raise NotImplementedError


class _OAuthFlow(_CachedAuth):
    """A flow that POSTs a form to ``{login_url}/services/oauth2/token``."""

    _grant_name = "oauth"

    def __init__(self, login_url: str) -> None:
        super().__init__()
        self.login_url = _normalise_url("login_url", login_url)

    def _form(self) -> dict[str, str]:
        raise NotImplementedError

    def _headers(self) -> dict[str, str]:
        return {}

    async def _fetch(self, session: aiohttp.ClientSession) -> Credentials:
        payload = await _post_token_request(session, self.login_url, self._form(), self._headers())
        credentials = _credentials_from(payload, self.login_url)
        self._absorb(payload)
        logger.debug("got an access token for %s (%s flow)", credentials.instance_url, self._grant_name)
        return credentials

    def _absorb(self, payload: Mapping[str, Any]) -> None:
        """Let a flow keep extra fields of a token response (a rotated refresh token)."""


async def _post_token_request(
    session: aiohttp.ClientSession, login_url: str, form: Mapping[str, str], headers: Mapping[str, str]
) -> dict[str, Any]:
    """POST the form and return the JSON answer, or raise AuthenticationError / TransportError."""
    url = login_url + TOKEN_PATH
    try:
        async with session.post(
            url, data=dict(form), headers={"Accept": "application/json", **headers}
        ) as resp:
            status = resp.status
            body = await resp.read()
    except (aiohttp.ClientError, TimeoutError) as exc:
        # The exception text comes from aiohttp (URL and OS error), never from our form.
        raise TransportError(f"POST {url}: {type(exc).__name__}: {exc}") from None
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
        self.client_id = _require("client_id", client_id)
        self.username = _require("username", username)
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
        domain_url = _normalise_url("domain_url", domain_url)
        host = (urlsplit(domain_url).hostname or "").lower()
        if host in ("login.salesforce.com", "test.salesforce.com"):
            raise ValueError(
                "domain_url must be your org's My Domain URL (https://<domain>.my.salesforce.com): "
                f"Salesforce does not serve the client credentials flow on {host}"
            )
        super().__init__(domain_url)
        self.client_id = _require("client_id", client_id)
        self._client_secret = _require("client_secret", client_secret)

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
        self.client_id = _require("client_id", client_id)
        self._refresh_token = _require("refresh_token", refresh_token)
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
            f"client_secret={_mask(self._client_secret)}, login_url={self.login_url!r})"
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
        self.client_id = _require("client_id", client_id)
        self._client_secret = _require("client_secret", client_secret)
        self.username = _require("username", username)
        self._password = _require("password", password) + security_token

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


class SfCliError(AuthenticationError):
    """The Salesforce CLI could not give a token (not installed, unknown org, expired auth...).

    ``error_code`` is the CLI's error name (``NamedOrgNotFoundError``...), ``message`` its message.
    """

    def __init__(self, error_code: str | None, message: str, *, target_org: str) -> None:
        super().__init__(401, error_code, message, method="sf", path="org display")
        self.target_org = target_org
        code = f"{error_code}: " if error_code else ""
        # Replace ApiError's "HTTP 401 ..." text: no HTTP request was made.
        self.args = (f"sf org display --target-org {target_org}: {code}{message}",)

    def __str__(self) -> str:
        return str(self.args[0])


class SfCli(_CachedAuth):
    """Borrow an org the Salesforce CLI is logged in to: ``sf org display --target-org X --json``.

    A refresh runs the command again (``org display`` refreshes an expired token itself).
    Tokens the CLI stores are encrypted, so asking the CLI is the supported way to read them.

    :param target_org: an alias or username known to ``sf``.
    :param sf_binary: the CLI executable (name on ``PATH`` or path).
    :param timeout: seconds to wait for the CLI.
    """

    def __init__(self, target_org: str, sf_binary: str = "sf", *, timeout: float = 120.0) -> None:
        super().__init__()
        self.target_org = _require("target_org", target_org)
        self.sf_binary = _require("sf_binary", sf_binary)
        self.timeout = timeout

    async def _fetch(self, session: aiohttp.ClientSession) -> Credentials:
        argv = [self.sf_binary, "org", "display", "--target-org", self.target_org, "--json"]
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            raise SfCliError(
                "CliNotFound",
                f"cannot run the Salesforce CLI {self.sf_binary!r} ({exc.strerror}); install it "
                "(https://developer.salesforce.com/tools/salesforcecli) or pass --access-token",
                target_org=self.target_org,
            ) from None
        try:
            stdout, stderr = await asyncio.wait_for(proc.communicate(), self.timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise SfCliError(
                "Timeout",
                f"the Salesforce CLI did not answer within {self.timeout:g} s",
                target_org=self.target_org,
            ) from None
        return self._parse(stdout, stderr, proc.returncode)

    def _parse(self, stdout: bytes, stderr: bytes, returncode: int | None) -> Credentials:
        # stdout holds the token when all is well: it never goes into a message, only fields of it.
        text = stdout.decode("utf-8", "replace")
        start = text.find("{")  # some CLI versions print a warning line before the JSON
        try:
            envelope = json.loads(text[start:]) if start >= 0 else None
        except ValueError:
            envelope = None
        if not isinstance(envelope, dict):
            detail = stderr.decode("utf-8", "replace").strip()[:300] or "no JSON on stdout"
            raise SfCliError(
                "CliOutputError", f"exit code {returncode}: {detail}", target_org=self.target_org
            )
        if envelope.get("status") != 0:
            name = envelope.get("name")
            raise SfCliError(
                str(name) if name else None,
                str(envelope.get("message") or f"exit code {returncode}"),
                target_org=self.target_org,
            )
        result = envelope.get("result")
        result = result if isinstance(result, dict) else {}
        access_token = result.get("accessToken")
        instance_url = result.get("instanceUrl")
        if not isinstance(access_token, str) or not access_token or not isinstance(instance_url, str):
            raise SfCliError(
                "NoAccessToken",
                "sf org display returned no accessToken/instanceUrl; is the org connected? "
                f"Try: sf org login web --alias {self.target_org}",
                target_org=self.target_org,
            )
        logger.debug("got an access token for %s from the Salesforce CLI", instance_url)
        return Credentials(instance_url.rstrip("/"), access_token)

    def __repr__(self) -> str:
        return f"SfCli(target_org={self.target_org!r}, sf_binary={self.sf_binary!r})"


def auth_from_options(
    *,
    instance_url: str | None = None,
    access_token: str | None = None,
    target_org: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    username: str | None = None,
    password: str | None = None,
    jwt_key_file: str | os.PathLike[str] | None = None,
    login_url: str | None = None,
    refresh_token: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Auth:
    """Pick the auth method the command-line options ask for.

    Pass the options as given on the command line (``None`` when absent); the environment
    variables ``SF_INSTANCE_URL`` / ``SF_ACCESS_TOKEN`` are read here, and only fill in options that
    were not given, so an exported token never clashes with an explicit ``--target-org``.

    ===========================================  =============================================
    options                                      method
    ===========================================  =============================================
    ``--access-token`` + ``--instance-url``      :class:`StaticToken`
    ``--target-org``                             :class:`SfCli`
    ``--jwt-key-file --client-id --username``    :class:`JwtBearer`
    ``--refresh-token --client-id``              :class:`RefreshToken` (``--client-secret`` optional)
    ``--password --username --client-id``        :class:`UsernamePassword`
    + ``--client-secret``
    ``--client-id --client-secret``              :class:`ClientCredentials` (``--login-url`` or
                                                 ``--instance-url`` = My Domain URL)
    nothing                                      ``SF_ACCESS_TOKEN`` + ``SF_INSTANCE_URL``
    ===========================================  =============================================

    :param env: the environment to read (defaults to ``os.environ``).
    :raises ValueError: a missing, conflicting or unused option, named as on the command line.
    """
    env = os.environ if env is None else env
    given = {
        "--instance-url": instance_url,
        "--access-token": access_token,
        "--target-org": target_org,
        "--client-id": client_id,
        "--client-secret": client_secret,
        "--username": username,
        "--password": password,
        "--jwt-key-file": jwt_key_file,
        "--login-url": login_url,
        "--refresh-token": refresh_token,
    }
    present = {name for name, value in given.items() if value is not None and str(value) != ""}

    # Options that choose a method by themselves; more than one is a contradiction.
    selectors: list[str] = [
        name
        for name in ("--access-token", "--target-org", "--jwt-key-file", "--refresh-token", "--password")
        if name in present
    ]
    if not selectors and {"--client-id", "--client-secret"} <= present and "--username" not in present:
        selectors = ["--client-secret"]
    if len(selectors) > 1:
        raise ValueError(f"choose one way to log in: {' and '.join(selectors)} cannot be used together")

    def check_only(allowed: set[str], method: str) -> None:
        extra = sorted(present - allowed)
        if extra:
            raise ValueError(f"{extra[0]} is not used with {method}")

    def need(name: str, method: str) -> str:
        value = given[name]
        if value is None or str(value) == "":
            raise ValueError(f"{name} is required with {method}")
        return str(value)

    choice = selectors[0] if selectors else None
    if choice == "--access-token":
        check_only({"--access-token", "--instance-url"}, "--access-token")
        url = instance_url or env.get("SF_INSTANCE_URL")
        if not url:
            raise ValueError("--instance-url (or SF_INSTANCE_URL) is required with --access-token")
        return StaticToken(url, str(access_token))
    if choice == "--target-org":
        check_only({"--target-org"}, "--target-org")
        return SfCli(str(target_org))
    if choice == "--jwt-key-file":
        method = "--jwt-key-file (JWT bearer flow)"
        check_only({"--jwt-key-file", "--client-id", "--username", "--login-url"}, method)
        return JwtBearer(
            need("--client-id", method),
            need("--username", method),
            Path(str(jwt_key_file)),
            login_url=login_url or PRODUCTION_LOGIN_URL,
        )
    if choice == "--refresh-token":
        method = "--refresh-token (refresh token flow)"
        check_only({"--refresh-token", "--client-id", "--client-secret", "--login-url"}, method)
        return RefreshToken(
            need("--client-id", method),
            str(refresh_token),
            client_secret=client_secret or None,
            login_url=login_url or PRODUCTION_LOGIN_URL,
        )
    if choice == "--password":
        method = "--password (username-password flow)"
        check_only({"--password", "--username", "--client-id", "--client-secret", "--login-url"}, method)
        return UsernamePassword(
            need("--client-id", method),
            need("--client-secret", method),
            need("--username", method),
            str(password),
            login_url=login_url or PRODUCTION_LOGIN_URL,
        )
    if choice == "--client-secret":
        method = "--client-id/--client-secret (client credentials flow)"
        check_only({"--client-id", "--client-secret", "--login-url", "--instance-url"}, method)
        if login_url and instance_url and login_url.rstrip("/") != instance_url.rstrip("/"):
            raise ValueError(f"give either --login-url or --instance-url (the My Domain URL) with {method}")
        domain = login_url or instance_url
        if not domain:
            raise ValueError(f"--login-url (your My Domain URL) is required with {method}")
        return ClientCredentials(str(client_id), str(client_secret), domain)

    # No method chosen: half-given OAuth options are a mistake, not a cue to fall back to the env.
    if "--username" in present and "--client-id" in present:
        raise ValueError(
            "--username needs --jwt-key-file (JWT bearer flow) or --password (username-password flow)"
        )
    leftovers = sorted(present - {"--instance-url"})
    if leftovers:
        hints = {
            "--client-id": "--client-id needs --client-secret, --jwt-key-file, --refresh-token or --password",
            "--client-secret": "--client-secret needs --client-id",
            "--username": "--username needs --client-id with --jwt-key-file or --password",
            "--login-url": "--login-url needs an OAuth flow (--client-id with a secret, key or token)",
        }
        raise ValueError(hints.get(leftovers[0], f"{leftovers[0]} is incomplete"))
    env_token = env.get("SF_ACCESS_TOKEN")
    url = instance_url or env.get("SF_INSTANCE_URL")
    if env_token:
        if not url:
            raise ValueError("--instance-url (or SF_INSTANCE_URL) is required with SF_ACCESS_TOKEN")
        return StaticToken(url, env_token)
    raise ValueError(
        "no credentials: pass --target-org, --access-token with --instance-url (or set SF_ACCESS_TOKEN "
        "and SF_INSTANCE_URL), or a connected app's --client-id with --client-secret, --jwt-key-file, "
        "--refresh-token or --password"
    )


def _conforms(
    a: StaticToken, b: JwtBearer, c: ClientCredentials, d: RefreshToken, e: UsernamePassword, f: SfCli
) -> list[Auth]:
    """Never called: makes mypy prove that every method satisfies :class:`Auth`."""
    return [a, b, c, d, e, f]
