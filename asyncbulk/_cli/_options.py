"""What several commands share on the command line: help texts, the auth and run options."""

from __future__ import annotations

import argparse

from .._config import ConcurrencyConfig, PollConfig, RetryConfig

__all__ = [
    "AUTH_HELP",
    "EXIT_CODES_HELP",
    "Formatter",
    "auth_parent",
    "run_options",
    "version",
]

EXIT_CODES_HELP = """\
exit codes:
  0    every record succeeded (or the command did what it was asked)
  2    usage error: unknown option, missing argument
  3    the load finished but some records failed or were not processed (see failed.csv)
  4    error: bad option value, bad input file, unknown object, login refused, API or network error
  130  interrupted (Ctrl-C); a load can be continued with `asyncbulk resume DIR`
"""

AUTH_HELP = """\
authentication (any command that talks to an org):
  --target-org ALIAS                     an org the Salesforce CLI (sf) knows
  --instance-url URL --access-token TOK  a session you already have (or SF_INSTANCE_URL / SF_ACCESS_TOKEN)
  --client-id ID --jwt-key-file KEY --username USER                      JWT bearer flow
  --client-id ID --client-secret S --login-url https://my.my.salesforce.com  client credentials
  --client-id ID --refresh-token TOK [--client-secret S]                  refresh token flow
  --client-id ID --client-secret S --username USER --password PW         username-password flow
"""


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Keep the hand-written examples as they are, and show defaults."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32, width=110)


def auth_parent() -> argparse.ArgumentParser:
    """The authentication options every command that talks to an org shares."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group(
        "authentication (also SF_INSTANCE_URL, SF_ACCESS_TOKEN, SF_CLIENT_SECRET, SF_PASSWORD, "
        "SF_REFRESH_TOKEN from the environment)"
    )
    add = group.add_argument
    add(
        "--target-org",
        metavar="ALIAS",
        help="use an org the Salesforce CLI knows, e.g. --target-org my-sandbox",
    )
    add(
        "--instance-url",
        metavar="URL",
        help="the org's URL with --access-token, e.g. https://acme.my.salesforce.com (env SF_INSTANCE_URL)",
    )
    visible = "; the flag form is visible to other local users (process list), prefer"
    add(
        "--access-token",
        metavar="TOKEN",
        help=f"a session id / access token{visible} env SF_ACCESS_TOKEN or --access-token-file",
    )
    add("--access-token-file", metavar="FILE", help="read the access token from FILE (- for stdin)")
    add("--client-id", metavar="ID", help="a connected app's consumer key, e.g. --client-id 3MVG9...")
    add(
        "--client-secret",
        metavar="SECRET",
        help=f"the connected app's consumer secret{visible} env SF_CLIENT_SECRET or --client-secret-file",
    )
    add("--client-secret-file", metavar="FILE", help="read the consumer secret from FILE (- for stdin)")
    add("--username", metavar="USER", help="the user to log in as (JWT and password flows), e.g. me@acme.com")
    add(
        "--password",
        metavar="PASSWORD",
        help=f"the password flow's password (+ security token){visible} env SF_PASSWORD or --password-file",
    )
    add("--password-file", metavar="FILE", help="read the password from FILE (- for stdin)")
    add("--jwt-key-file", metavar="FILE", help="the private key (PEM) that signs the JWT, e.g. server.key")
    add(
        "--login-url",
        metavar="URL",
        help="the OAuth login host: https://login.salesforce.com (default), https://test.salesforce.com, "
        "or your My Domain URL",
    )
    add(
        "--refresh-token",
        metavar="TOKEN",
        help=f"a refresh token from an earlier OAuth web flow{visible} env SF_REFRESH_TOKEN or "
        "--refresh-token-file",
    )
    add("--refresh-token-file", metavar="FILE", help="read the refresh token from FILE (- for stdin)")
    add(
        "--api-version", metavar="VERSION", default="66.0", help="the REST API version (default: %(default)s)"
    )
    add(
        "--ca-file",
        metavar="FILE",
        help="trust the CA certificates in this PEM file, e.g. the local TLS emulator's certificate",
    )
    return parent


def run_options(parser: argparse.ArgumentParser) -> None:
    """The options ``load``, ``resume`` and ``demo`` share: how the work runs and how it reports."""
    parser.add_argument(
        "--concurrency",
        metavar="N",
        type=int,
        help=f"jobs in flight at once (default: {ConcurrencyConfig().max_concurrent_jobs}), "
        "e.g. --concurrency 5",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the summary as JSON on stdout (progress still goes to stderr)",
    )
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="do not show progress on stderr",
    )
    parser.add_argument(
        "--retry-budget",
        metavar="SECONDS",
        type=float,
        help=f"how long one request may keep trying while the org is unreachable or answers 503 "
        f"(default: {RetryConfig().budget:g}, waits capped at {RetryConfig().max_delay:g} s); "
        "the load then stops, resumable",
    )
    parser.add_argument(
        "--poll-interval",
        metavar="SECONDS",
        type=float,
        help=f"first wait between two job status checks (default: {PollConfig().initial}; later "
        f"waits follow the org's pace, up to {PollConfig().maximum:g}), e.g. --poll-interval 0.5",
    )


def version() -> str:
    """asyncbulk's version."""
    from .. import __version__

    return __version__
