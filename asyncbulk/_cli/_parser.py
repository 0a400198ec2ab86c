"""The ``asyncbulk`` argument parser: one small function per command."""

from __future__ import annotations

import argparse
from typing import Any

from .._config import ChunkConfig, ConcurrencyConfig, PollConfig, RetryConfig

__all__ = [
    "AUTH_HELP",
    "EXIT_CODES_HELP",
    "Formatter",
    "auth_parent",
    "build_parser",
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


def build_parser() -> argparse.ArgumentParser:
    """The whole ``asyncbulk`` command line."""
    auth = auth_parent()
    parser = argparse.ArgumentParser(
        prog="asyncbulk",
        description="Load huge CSV files into Salesforce with the Bulk API 2.0: streaming, concurrent, "
        "resumable.",
        epilog="examples:\n"
        "  asyncbulk demo                                   # no setup: a local emulated org\n"
        "  asyncbulk load insert Contact contacts.csv --target-org my-org\n"
        "  asyncbulk jobs --target-org my-org\n\n"
        "Run `asyncbulk COMMAND --help` for a command's options.\n\n" + EXIT_CODES_HELP,
        formatter_class=Formatter,
    )
    parser.add_argument("--version", action="version", version=f"asyncbulk {version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _load_command(sub, auth)
    _resume_command(sub, auth)
    _jobs_command(sub, auth)
    _job_command(sub, auth)
    _abort_command(sub, auth)
    _results_command(sub, auth)
    _demo_command(sub)
    _emulator_command(sub)
    return parser


def _load_command(sub: Any, auth: argparse.ArgumentParser) -> None:
    """The ``load`` command."""
    load = sub.add_parser(
        "load",
        parents=[auth],
        formatter_class=Formatter,
        help="load a CSV file into an object",
        description="Load a CSV file into a Salesforce object with Bulk API 2.0 ingest jobs. The file is "
        "split into jobs, submitted concurrently, and the results merged into success.csv, failed.csv "
        "and unprocessed.csv (each row with its input record number), plus summary.json.",
        epilog="examples:\n"
        "  asyncbulk load insert Contact contacts.csv --target-org my-org\n"
        "  asyncbulk load upsert Account accounts.csv --external-id External_Id__c --out results/\n"
        "  asyncbulk load delete Lead ids.csv --instance-url https://acme.my.salesforce.com "
        "--access-token $TOKEN\n"
        "  asyncbulk load update Contact data.tsv --delimiter TAB --encoding cp1252 --json\n"
        "  asyncbulk load insert Contact contacts.csv --out results/ --resume   # after a crash\n"
        "  asyncbulk load insert Contact contacts.csv --dry-run       # check everything, create nothing\n"
        "  asyncbulk load insert Contact contacts.csv --bad-rows skip  # load the good records\n\n"
        + EXIT_CODES_HELP
        + "\n"
        + AUTH_HELP,
    )
    load.add_argument(
        "operation",
        metavar="OPERATION",
        help="insert, update, upsert, delete or hardDelete",
    )
    load.add_argument("object", metavar="OBJECT", help="the sObject's API name, e.g. Contact or Invoice__c")
    load.add_argument("file", metavar="FILE", help="the CSV file, with a header line of field names")
    load.add_argument(
        "--external-id",
        metavar="FIELD",
        help="upsert's matching field, e.g. --external-id External_Id__c (or Id)",
    )
    load.add_argument(
        "--out",
        metavar="DIR",
        help="where result files, summary.json and the journal go "
        "(default: asyncbulk-results/OBJECT-OPERATION-TIMESTAMP), e.g. --out results/",
    )
    load.add_argument(
        "--chunk-records",
        metavar="N",
        type=int,
        help=f"records per job at most (default: {ChunkConfig().max_records}), e.g. --chunk-records 100000",
    )
    load.add_argument(
        "--chunk-bytes",
        metavar="N",
        type=int,
        help=f"bytes of CSV per job at most (default: {ChunkConfig().max_bytes}), "
        "e.g. --chunk-bytes 20000000",
    )
    load.add_argument(
        "--delimiter",
        metavar="NAME",
        default="COMMA",
        help="the column delimiter: COMMA (default), TAB, PIPE, SEMICOLON, CARET or BACKQUOTE "
        "(or the character), e.g. --delimiter TAB",
    )
    load.add_argument(
        "--line-ending",
        metavar="LF|CRLF",
        help="the file's line ending (default: detected from the header line), e.g. --line-ending CRLF",
    )
    load.add_argument(
        "--encoding",
        metavar="NAME",
        default="utf-8",
        help="the file's encoding (default: utf-8; others are converted), e.g. --encoding cp1252",
    )
    load.add_argument(
        "--resume",
        action="store_true",
        help="continue the load journaled in --out after a crash, without loading a record twice",
    )
    load.add_argument(
        "--new",
        action="store_true",
        help="start a new load even though this file has an unfinished load into this org and "
        "object (its records are sent again); without it such a load is refused",
    )
    load.add_argument(
        "--dry-run",
        action="store_true",
        help="check the file and its header against the object, and print the plan (records, jobs, "
        "batches against the org's remaining allocation, API requests); create nothing",
    )
    load.add_argument(
        "--bad-rows",
        metavar="stop|skip",
        default="stop",
        help="a structurally bad record (broken quoting, wrong field count): stop before any job "
        "(default), or skip it: never sent, written to failed.csv with the reason",
    )
    run_options(load)


def _resume_command(sub: Any, auth: argparse.ArgumentParser) -> None:
    """The ``resume`` command."""
    resume = sub.add_parser(
        "resume",
        parents=[auth],
        formatter_class=Formatter,
        help="continue an interrupted load from its results directory",
        description="Continue a load that was interrupted (crash, Ctrl-C, lost network), with the file "
        "and options recorded in DIR/journal.jsonl. Jobs already merged are kept, jobs in flight are "
        "re-attached, the rest are submitted: no record is loaded twice.",
        epilog="example:\n"
        "  asyncbulk resume asyncbulk-results/Contact-insert-20250101-120000 --target-org my-org\n\n"
        + EXIT_CODES_HELP
        + "\n"
        + AUTH_HELP,
    )
    resume.add_argument("dir", metavar="DIR", help="the results directory of the load (its --out)")
    run_options(resume)


def _jobs_command(sub: Any, auth: argparse.ArgumentParser) -> None:
    """The ``jobs`` command."""
    jobs = sub.add_parser(
        "jobs",
        parents=[auth],
        formatter_class=Formatter,
        help="list the org's recent ingest jobs",
        description="List the org's Bulk API 2.0 ingest jobs, newest first.",
        epilog="examples:\n  asyncbulk jobs --target-org my-org\n  asyncbulk jobs --limit 5 --json\n\n"
        + EXIT_CODES_HELP,
    )
    jobs.add_argument(
        "--limit",
        metavar="N",
        type=int,
        default=50,
        help="show the N newest jobs (default: %(default)s; 0: all)",
    )
    jobs.add_argument("--json", action="store_true", help="print the jobs as a JSON array")


def _job_command(sub: Any, auth: argparse.ArgumentParser) -> None:
    """The ``job`` command."""
    job = sub.add_parser(
        "job",
        parents=[auth],
        formatter_class=Formatter,
        help="show one job",
        description="Show every field of one ingest job (state, records processed and failed, times...).",
        epilog="example:\n  asyncbulk job 750R0000000zlh9IAA --target-org my-org\n\n" + EXIT_CODES_HELP,
    )
    job.add_argument("job_id", metavar="ID", help="the job id (750...)")
    job.add_argument("--json", action="store_true", help="print the job as JSON")


def _abort_command(sub: Any, auth: argparse.ArgumentParser) -> None:
    """The ``abort`` command."""
    abort = sub.add_parser(
        "abort",
        parents=[auth],
        formatter_class=Formatter,
        help="abort a job",
        description="Abort an ingest job that is Open or UploadComplete; records already processed stay.",
        epilog="example:\n  asyncbulk abort 750R0000000zlh9IAA --target-org my-org\n\n" + EXIT_CODES_HELP,
    )
    abort.add_argument("job_id", metavar="ID", help="the job id (750...)")
    abort.add_argument("--json", action="store_true", help="print the job as JSON after the abort")


def _results_command(sub: Any, auth: argparse.ArgumentParser) -> None:
    """The ``results`` command."""
    results = sub.add_parser(
        "results",
        parents=[auth],
        formatter_class=Formatter,
        help="download a job's three result files",
        description="Download a job's successful, failed and unprocessed records as "
        "DIR/successful.csv, DIR/failed.csv and DIR/unprocessed.csv (as Salesforce returns them: "
        "sf__Id, sf__Created / sf__Error columns first).",
        epilog="examples:\n  asyncbulk results 750R0000000zlh9IAA --target-org my-org\n"
        "  asyncbulk results 750R0000000zlh9IAA --out job-results/\n\n" + EXIT_CODES_HELP,
    )
    results.add_argument("job_id", metavar="ID", help="the job id (750...)")
    results.add_argument("--out", metavar="DIR", help="where to write them (default: results-ID)")
    results.add_argument("--json", action="store_true", help="print the file paths and sizes as JSON")


def _demo_command(sub: Any) -> None:
    """The ``demo`` command."""
    demo = sub.add_parser(
        "demo",
        formatter_class=Formatter,
        help="load a generated Contact file into a local emulated org (no setup, no network)",
        description="Generate a realistic Contact CSV (quoted commas and line breaks, accents, and a few "
        "rows that fail on purpose: a missing LastName, a bad Email, a too-long Title), start the "
        "Bulk API 2.0 emulator in this process, load the file with live progress and print the "
        "summary and where the result files are.",
        epilog="examples:\n  asyncbulk demo\n  asyncbulk demo --records 200000 --out /tmp/demo\n"
        "  asyncbulk demo --records 10000 --records-per-second 0   # as fast as the machine goes\n\n"
        "exit codes: 0 when exactly the rows meant to fail failed, 3 otherwise, 4 on an error.",
    )
    demo.add_argument(
        "--records", metavar="N", type=int, default=50_000, help="rows to generate (default: %(default)s)"
    )
    demo.add_argument(
        "--out",
        metavar="DIR",
        default="asyncbulk-demo",
        help="where the generated file and the results go (default: %(default)s)",
    )
    demo.add_argument(
        "--records-per-second",
        metavar="N",
        type=float,
        help="the emulated org's speed per worker (4 workers); default: paced so the processing "
        "takes about 8 seconds; 0: as fast as possible",
    )
    demo.add_argument(
        "--chunk-records",
        metavar="N",
        type=int,
        default=10_000,
        help="records per job (default: %(default)s, so that several jobs run at once)",
    )
    demo.add_argument("--seed", metavar="N", type=int, default=1, help="the generator's seed (default: 1)")
    run_options(demo)


def _emulator_command(sub: Any) -> None:
    """The ``emulator`` command."""
    sub.add_parser(
        "emulator",
        add_help=False,
        help="run the local Bulk API 2.0 emulator (see `asyncbulk emulator --help`)",
    )


def version() -> str:
    """asyncbulk's version."""
    from .. import __version__

    return __version__
