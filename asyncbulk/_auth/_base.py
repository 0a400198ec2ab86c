"""Credentials, the :class:`Auth` protocol, a static token, and the cache every refreshable method shares.

No secret (client secret, password, private key, refresh or access token) appears in a ``repr()``,
an exception message or a log line. Auth methods never open connections of their own: a token
request goes through the ``post`` function the HTTP client hands them (one session, one error
boundary, the same retries).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

__all__ = ["Auth", "CachedAuth", "Credentials", "FormPost", "StaticToken", "mask", "normalise_url", "require"]

#: Sends ``form`` to ``url`` with ``headers``; returns the HTTP status and the body.
FormPost = Callable[[str, Mapping[str, str], Mapping[str, str]], Awaitable[tuple[int, bytes]]]


def normalise_url(option: str, url: str) -> str:
    """Strip a trailing slash and insist on an http(s) URL with a host; ValueError naming ``option``."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{option} must be an http(s) URL such as https://login.salesforce.com, got {url!r}")
    return url.strip().rstrip("/")


def require(option: str, value: str | None) -> str:
    """``value``, or a ValueError naming ``option`` when it is missing or blank."""
    if value is None or not str(value).strip():
        raise ValueError(f"{option} is required and must not be empty")
    return value


def mask(secret: str | None) -> str:
    """How a secret shows in a ``repr()``: never its text."""
    return "None" if secret is None else "<hidden>"


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
        post: FormPost,
        *,
        force_refresh: bool = False,
        stale: Credentials | None = None,
    ) -> Credentials:
        """Return valid credentials, from the cache unless a refresh is asked for.

        :param post: sends a token request (the client's HTTP session does it).
        :param force_refresh: get a new token even if one is cached (the cached one was refused),
            unless another caller refreshed while this one waited for the lock.
        :param stale: the credentials that were refused; implies ``force_refresh``, but refreshes
            only if the cached token is still that one (someone else may have refreshed already).
        """
        ...


class StaticToken:
    """A token obtained elsewhere (``--access-token`` / ``SF_ACCESS_TOKEN``).

    It cannot be refreshed: when Salesforce answers 401 the load stops with an
    :class:`~asyncbulk.AuthenticationError`.
    """

    refreshable: bool = False

    def __init__(self, instance_url: str, access_token: str) -> None:
        self._credentials = Credentials(
            normalise_url("instance_url", instance_url), require("access_token", access_token)
        )

    async def token(
        self,
        post: FormPost,
        *,
        force_refresh: bool = False,
        stale: Credentials | None = None,
    ) -> Credentials:
        """Return the one token there is (a refresh request cannot change it)."""
        return self._credentials

    def __repr__(self) -> str:
        return f"StaticToken(instance_url={self._credentials.instance_url!r}, access_token=<hidden>)"


class CachedAuth:
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
        post: FormPost,
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
                credentials = await self._fetch(post)
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

    async def _fetch(self, post: FormPost) -> Credentials:
        """Get new credentials from the source (each method its own way)."""
        raise NotImplementedError
