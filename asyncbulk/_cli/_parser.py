"""The ``asyncbulk`` argument parser: one small function per command."""

from __future__ import annotations

import argparse
from typing import Any

from .._config import ChunkConfig
from ._options import AUTH_HELP, EXIT_CODES_HELP, Formatter, auth_parent, run_options, version

__all__ = ["build_parser"]


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
    _extract_command(sub, auth)
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
    load.add_argument(
        "file",
        metavar="FILE",
        nargs="?",
        help="the CSV file, with a header line of field names (or give --query instead)",
    )
    load.add_argument(
        "--query",
        metavar="SOQL",
        help="load the records this query finds instead of a file: they are extracted into --out "
        'first (resumable), e.g. load delete Contact --query "SELECT Id FROM Contact WHERE Email = null"',
    )
    load.add_argument(
        "--query-all",
        action="store_true",
        help="with --query: include deleted and archived records (queryAll)",
    )
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


def _extract_command(sub: Any, auth: argparse.ArgumentParser) -> None:
    """The ``extract`` command."""
    extract = sub.add_parser(
        "extract",
        parents=[auth],
        formatter_class=Formatter,
        help="run a Bulk API 2.0 query into one CSV file",
        description="Run a SOQL query as a Bulk API 2.0 query job and stream every result page to one "
        "CSV file (one header, the server's order), several pages at once where the org allows. "
        "Each page's rows are checked, and the total against the job's. The file appears only when "
        "complete; an interrupted extract continues with `asyncbulk resume FILE`.",
        epilog="examples:\n"
        '  asyncbulk extract "SELECT Id, Name, Account.Name FROM Contact" --out contacts.csv '
        "--target-org my-org\n"
        '  asyncbulk extract "SELECT Id FROM Contact WHERE IsDeleted = true" --all --out deleted.csv\n\n'
        + EXIT_CODES_HELP
        + "\n"
        + AUTH_HELP,
    )
    extract.add_argument("soql", metavar="SOQL", help='the query, e.g. "SELECT Id, Name FROM Account"')
    extract.add_argument("--out", metavar="FILE", required=True, help="the CSV file to write")
    extract.add_argument("--all", action="store_true", help="include deleted and archived records (queryAll)")
    extract.add_argument(
        "--delimiter", metavar="NAME", default="COMMA", help="the file's column delimiter (default: COMMA)"
    )
    extract.add_argument(
        "--line-ending", metavar="LF|CRLF", default="LF", help="the file's line ending (default: LF)"
    )
    extract.add_argument(
        "--max-records",
        metavar="N",
        type=int,
        help="rows per result page to ask for (default: Salesforce's); smaller pages lose less on a resume",
    )
    extract.add_argument(
        "--pages-at-once", metavar="N", type=int, default=4, help="pages downloaded at once (default: 4)"
    )
    extract.add_argument(
        "--keep-job", action="store_true", help="keep the query job when done (deleted by default)"
    )
    extract.add_argument(
        "--resume", action="store_true", help="continue the extract into --out where it stopped"
    )
    run_options(extract)


def _resume_command(sub: Any, auth: argparse.ArgumentParser) -> None:
    """The ``resume`` command."""
    resume = sub.add_parser(
        "resume",
        parents=[auth],
        formatter_class=Formatter,
        help="continue an interrupted load or extract",
        description="Continue a load or an extract that was interrupted (crash, Ctrl-C, lost network), "
        "with the input and options recorded in its journal. A load keeps the jobs already merged, "
        "re-attaches the jobs in flight and submits the rest: no record is loaded twice. An extract "
        "goes on at the first page not written: never from page 1, never a row twice.",
        epilog="examples:\n"
        "  asyncbulk resume asyncbulk-results/Contact-insert-20250101-120000 --target-org my-org\n"
        "  asyncbulk resume contacts.csv --target-org my-org      # an extract into contacts.csv\n\n"
        + EXIT_CODES_HELP
        + "\n"
        + AUTH_HELP,
    )
    resume.add_argument(
        "dir",
        metavar="DIR",
        help="the results folder of the load (its --out), or the output file of an extract",
    )
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
