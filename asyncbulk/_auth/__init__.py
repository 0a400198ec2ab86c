"""Ways to get an access token and the instance URL that goes with it.

Every auth method has ``refreshable`` and ``async token(post, *, force_refresh=False, stale=None)``:

- :class:`StaticToken`: a token you already have (``--access-token``); cannot be refreshed.
- :class:`JwtBearer`: a connected app's certificate signs a JWT for a pre-authorized user.
- :class:`ClientCredentials`: consumer key + secret, run as the app's "Run As" user (My Domain only).
- :class:`RefreshToken`: a refresh token from an earlier web-server flow.
- :class:`UsernamePassword`: the legacy username-password flow (Salesforce is retiring it).
- :class:`SfCli`: asks the Salesforce CLI for an org it already knows.

Tokens are cached: ``token()`` returns the cached credentials unless asked to refresh, and one lock
makes many concurrent refresh requests (every running job hitting 401 at once) cost one refresh.
"""

from ._base import Auth as Auth
from ._base import CachedAuth as CachedAuth
from ._base import Credentials as Credentials
from ._base import FormPost as FormPost
from ._base import StaticToken as StaticToken
from ._oauth import PRODUCTION_LOGIN_URL as PRODUCTION_LOGIN_URL
from ._oauth import SANDBOX_LOGIN_URL as SANDBOX_LOGIN_URL
from ._oauth import ClientCredentials as ClientCredentials
from ._oauth import JwtBearer as JwtBearer
from ._oauth import RefreshToken as RefreshToken
from ._oauth import UsernamePassword as UsernamePassword
from ._oauth import default_audience as default_audience
from ._sfcli import SfCli as SfCli
from ._sfcli import SfCliError as SfCliError

__all__ = [
    "PRODUCTION_LOGIN_URL",
    "SANDBOX_LOGIN_URL",
    "Auth",
    "CachedAuth",
    "ClientCredentials",
    "Credentials",
    "FormPost",
    "JwtBearer",
    "RefreshToken",
    "SfCli",
    "SfCliError",
    "StaticToken",
    "UsernamePassword",
    "default_audience",
]
