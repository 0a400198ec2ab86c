"""``asyncbulk emulator``: serve the emulator until SIGINT/SIGTERM.

Prints exactly one line once it is listening, e.g.
``asyncbulk emulator: instance_url=http://127.0.0.1:8000 access_token=00D... admin_token=emuadmin-...``
(plus ``ca_file=PATH`` with ``--tls``), so that scripts and :class:`EmulatorProcess` can read where
and how to connect; the admin token opens the control routes (``/__emulator/*``). What a person needs
besides (the user, the OAuth flows, the Salesforce CLI's login commands) goes to stderr; it never
shows a secret. Binding beyond loopback (``--host 0.0.0.0``) prints a warning to stderr first.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import sys

from aiohttp import http_exceptions

from ._config import EmulatorConfig, FaultConfig, OAuthConfig
from ._server import Emulator, exposure_warning
from ._vocab import (
    BATCH_RECORDS,
    DAILY_API_REQUESTS,
    DAILY_BATCHES,
    DAILY_QUERY_JOBS,
    DAILY_RECORDS,
    QUERY_PAGE_BYTES,
    QUERY_PAGE_RECORDS,
)

__all__ = ["build_parser", "config_from_args", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The command line options."""
    p = argparse.ArgumentParser(
        prog="asyncbulk emulator",
        description="Serve a local emulator of Salesforce's Bulk API 2.0 (ingest and query).",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    p.add_argument("--db", metavar="PATH", help="SQLite file: records and jobs survive a restart")
    p.add_argument("--schema", metavar="FILE", help="JSON file with custom objects")
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=BATCH_RECORDS)
    p.add_argument("--rate", type=float, help="records per second per worker (default: as fast as possible)")
    p.add_argument("--token-lifetime", type=float, metavar="S")
    p.add_argument("--access-token", help="accept (and print) this token instead of a generated one")
    p.add_argument("--api-request-limit", type=int, default=DAILY_API_REQUESTS)
    p.add_argument("--daily-batch-limit", type=int, default=DAILY_BATCHES)
    p.add_argument("--daily-record-limit", type=int, default=DAILY_RECORDS)
    p.add_argument("--tls", action="store_true", help="HTTPS with a self-signed certificate")
    p.add_argument(
        "--profile",
        choices=("fast", "realistic"),
        default="fast",
        help="realistic: jobs queue for seconds, progress in small steps, limits lag, other jobs listed",
    )
    p.add_argument("--header-timeout", type=float, default=30.0, metavar="S", help="for a request's headers")
    p.add_argument("--idle-timeout", type=float, default=75.0, metavar="S", help="for an idle connection")
    p.add_argument("--body-timeout", type=float, default=60.0, metavar="S", help="for a pause in a body")
    p.add_argument("--admin-token", help="the control routes' token (printed; generated if not given)")
    p.add_argument(
        "--query-page-records",
        type=int,
        default=QUERY_PAGE_RECORDS,
        metavar="N",
        help="rows of a query results page without maxRecords, and the most a page holds",
    )
    p.add_argument(
        "--query-page-bytes",
        type=int,
        default=QUERY_PAGE_BYTES,
        metavar="N",
        help="bytes a results page stays under",
    )
    p.add_argument(
        "--query-rate", type=float, metavar="R", help="rows per second a query job is processed at"
    )
    p.add_argument("--daily-query-job-limit", type=int, default=DAILY_QUERY_JOBS, metavar="N")
    oauth = OAuthConfig()
    g = p.add_argument_group("OAuth (POST /services/oauth2/token)")
    g.add_argument("--org-id", default=oauth.org_id, help="the org's 18-character id (00D...)")
    g.add_argument("--username", default=oauth.username, help="the running user (JWT sub, password flow)")
    g.add_argument("--password", default=oauth.password, help="the password flow's password")
    g.add_argument("--client-id", default=oauth.client_id, help="the connected app's consumer key")
    g.add_argument("--client-secret", default=oauth.client_secret, help="its consumer secret")
    g.add_argument(
        "--jwt-cert",
        metavar="FILE",
        help="PEM certificate (or public key) that JWT bearer assertions must be signed with; "
        "turns on the JWT bearer flow (sf org login jwt)",
    )
    g.add_argument(
        "--refresh-token",
        action="append",
        default=[],
        metavar="TOKEN",
        help="a refresh token the refresh flow accepts (repeatable)",
    )
    for flag, help_text in (
        ("--fault-500", "fraction of requests answered 500"),
        ("--fault-503", "fraction of requests answered 503"),
        ("--fault-limit", "fraction of requests answered 403 REQUEST_LIMIT_EXCEEDED"),
        ("--fault-drop-before", "fraction of connections closed before processing"),
        ("--fault-drop-after", "fraction of requests processed, then the connection closed"),
        ("--fault-slow", "fraction of requests delayed"),
        ("--fault-job-failed", "fraction of jobs that end Failed"),
        ("--fault-lock", "fraction of records failing UNABLE_TO_LOCK_ROW"),
        ("--fault-result-503", "fraction of query results pages answered 503 on their first download"),
        ("--fault-result-cut", "fraction of query results pages cut off mid-body on their first download"),
        ("--fault-result-token-expiry", "fraction of query results pages after which every token expires"),
    ):
        p.add_argument(flag, type=float, default=0.0, metavar="F", help=help_text)
    p.add_argument("--fault-slow-seconds", type=float, default=2.0)
    p.add_argument("--seed", type=int, default=0, help="makes queue waits, result order... repeatable")
    p.add_argument("--fault-seed", type=int, help="the faults' seed (default: --seed)")
    return p


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    """An :class:`EmulatorConfig` from parsed options (``ValueError`` for bad values)."""
    faults = FaultConfig(
        seed=args.seed if args.fault_seed is None else args.fault_seed,
        error_500=args.fault_500,
        error_503=args.fault_503,
        limit_exceeded=args.fault_limit,
        drop_before=args.fault_drop_before,
        drop_after=args.fault_drop_after,
        slow=args.fault_slow,
        slow_seconds=args.fault_slow_seconds,
        job_failed=args.fault_job_failed,
        lock_failure=args.fault_lock,
        result_503=args.fault_result_503,
        result_cut=args.fault_result_cut,
        result_token_expiry=args.fault_result_token_expiry,
    )
    jwt_pem = None
    if args.jwt_cert:
        try:
            with open(args.jwt_cert, encoding="ascii") as f:
                jwt_pem = f.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"--jwt-cert: cannot read {args.jwt_cert}: {exc}") from None
    oauth = OAuthConfig(
        org_id=args.org_id,
        client_id=args.client_id,
        client_secret=args.client_secret,
        username=args.username,
        password=args.password,
        jwt_public_key_pem=jwt_pem,
        refresh_tokens=tuple(args.refresh_token),
    )
    return EmulatorConfig(
        host=args.host,
        port=args.port,
        db_path=args.db,
        schema_path=args.schema,
        workers=args.workers,
        batch_size=args.batch_size,
        records_per_second=args.rate,
        api_request_limit=args.api_request_limit,
        daily_batch_limit=args.daily_batch_limit,
        daily_record_limit=args.daily_record_limit,
        token_lifetime=args.token_lifetime,
        access_token=args.access_token,
        tls=args.tls,
        query_page_records=args.query_page_records,
        query_page_bytes=args.query_page_bytes,
        query_rate=args.query_rate,
        daily_query_job_limit=args.daily_query_job_limit,
        faults=faults,
        oauth=oauth,
        profile=args.profile,
        seed=args.seed,
        header_timeout=args.header_timeout,
        idle_timeout=args.idle_timeout,
        body_timeout=args.body_timeout,
        admin_token=args.admin_token,
    )


class _QuietClientErrors(logging.Filter):
    """Drops aiohttp's tracebacks for requests it could not parse: a client's mistake, answered 400.

    A hostile or broken client would otherwise fill the log with one traceback per request; the
    emulator's own faults are still logged (by ``aiohttp.web``, as 500s).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, http_exceptions.HttpProcessingError)


async def serve(config: EmulatorConfig) -> None:
    """Run until SIGINT or SIGTERM; jobs in flight are saved and resume at the next start (``--db``)."""
    # Batches run in worker threads that hold the GIL for long stretches (SQLite, CSV); a short switch
    # interval lets the event loop thread in often enough to answer job-status requests in a few ms.
    sys.setswitchinterval(0.0005)
    logging.getLogger("aiohttp.server").addFilter(_QuietClientErrors())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    warning = exposure_warning(config.host)
    if warning is not None:
        print(warning, file=sys.stderr, flush=True)
    async with Emulator(config) as emu:
        # Everything loaded so far (modules, the app) lives as long as the process: out of the
        # collector's sight, full collections only walk what the load creates, and pause the
        # event loop less. (This process is ours; the in-process Emulator leaves gc alone.)
        gc.collect()
        gc.freeze()
        line = (
            f"asyncbulk emulator: instance_url={emu.instance_url} access_token={emu.access_token} "
            f"admin_token={emu.admin_token}"
        )
        if emu.ca_file:
            line += f" ca_file={emu.ca_file}"
        print(line, flush=True)
        print(
            guide(config, emu.instance_url, emu.org.admin_user_id, emu.ca_file), file=sys.stderr, flush=True
        )
        await stop.wait()


def guide(config: EmulatorConfig, instance_url: str, user_id: str, ca_file: str | None) -> str:
    """What a person needs to log in: the user, the OAuth flows, the Salesforce CLI's commands.

    No secret is shown (the access token is in the banner; the secrets are the ones given).
    """
    o = config.oauth
    flows = ["client_credentials", "password"]
    if o.refresh_tokens:
        flows.append(f"refresh_token ({len(o.refresh_tokens)} accepted)")
    if o.jwt_public_key_pem is not None:
        flows.append("JWT bearer")
    url = f"--instance-url {instance_url}"
    lines = [
        f"  org {o.org_id}, running user {o.username} ({user_id})",
        f"  OAuth: POST {instance_url}/services/oauth2/token, client id {o.client_id}: {', '.join(flows)}",
        "  Salesforce CLI:",
    ]
    if ca_file:
        lines.append(f"    export NODE_EXTRA_CA_CERTS={ca_file}")
    lines.append(f"    SF_ACCESS_TOKEN=<access_token> sf org login access-token {url} --no-prompt")
    if o.jwt_public_key_pem is not None:
        lines.append(
            f"    sf org login jwt --client-id {o.client_id} --username {o.username} "
            f"--jwt-key-file <the certificate's private key> {url}"
        )
    else:
        lines.append("    sf org login jwt: start the emulator with --jwt-cert FILE (the key's certificate)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``asyncbulk emulator`` and ``python -m asyncbulk.emulator``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        asyncio.run(serve(config))
    except OSError as exc:
        print(f"asyncbulk emulator: {exc}", file=sys.stderr)
        return 1
    return 0
