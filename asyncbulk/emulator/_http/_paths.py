"""Request paths as Salesforce's front end reads them: repeated leading slashes are one.

The Salesforce CLI stores the instance URL of an ``sf org login access-token`` org with a trailing
slash and then asks for ``//services/data/...`` on every REST call (``@salesforce/core``'s
Connection joins ``instanceUrl + "/services/..."``). The CLI works against real orgs, so their
front end serves such a path as the single-slash one. A ``//`` inside the path is not merged: a
real org answered 404 to ``.../jobs/query//750.../results`` (debug log in
https://github.com/forcedotcom/cli/issues/2968).

Such a request is routed as its single-slash path, never redirected (a redirected POST, PUT or
PATCH would lose its body): :class:`LeadingSlashes` is a resource of the router that matches
``//anything`` by resolving ``/anything``. The handlers then see the route's ``match_info``;
:func:`api_path` is the path the front door reads.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from aiohttp import web
from aiohttp.web_urldispatcher import MatchInfoError
from yarl import URL

__all__ = ["LeadingSlashes", "api_path"]


def api_path(request: web.Request) -> str:
    """The request's path with repeated leading slashes merged into one."""
    path = request.path
    return "/" + path.lstrip("/") if path.startswith("//") else path


class LeadingSlashes(web.AbstractResource):
    """Routes ``//path`` (any number of leading slashes) as ``/path`` of the same router.

    Register it last: the router tries it only for paths no other resource matches, since its
    canonical path is ``/``.

    :param router: the application's router, which resolves the merged path.
    """

    def __init__(self, router: web.UrlDispatcher) -> None:
        super().__init__()
        self.router = router

    @property
    def canonical(self) -> str:
        """The router indexes resources by it; ``/`` is tried after every longer prefix."""
        return "/"

    def url_for(self, **kwargs: str) -> URL:
        """Not a resource that URLs are built for."""
        raise NotImplementedError("LeadingSlashes builds no URLs")

    async def resolve(self, request: web.Request) -> tuple[web.UrlMappingMatchInfo | None, set[str]]:
        """The match of the merged path, or ``(None, allowed methods)`` as other resources answer."""
        if not request.raw_path.startswith("//"):
            return None, set()
        path, _, query = request.raw_path.partition("?")
        url = URL.build(path="/" + path.lstrip("/"), query_string=query, encoded=True)
        match = await self.router.resolve(request.clone(rel_url=url))
        if isinstance(match, MatchInfoError):
            exc = match.http_exception
            allowed = exc.allowed_methods if isinstance(exc, web.HTTPMethodNotAllowed) else set()
            return None, set(allowed)
        return match, set()

    def add_prefix(self, prefix: str) -> None:
        """Sub-applications are not used."""
        raise NotImplementedError("LeadingSlashes cannot live in a sub-application")

    def get_info(self) -> Any:  # aiohttp's own type for it is private
        """What ``aiohttp`` shows for the resource."""
        return {"path": "//"}

    def raw_match(self, path: str) -> bool:
        """Whether ``path`` has a repeated leading slash."""
        return path.startswith("//")

    def __len__(self) -> int:
        return 0

    def __iter__(self) -> Iterator[web.AbstractRoute]:
        return iter(())
