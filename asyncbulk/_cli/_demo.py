"""``asyncbulk demo``: a whole load against a local emulated org, with no setup and no network.

This is the one module that wires the loader and the emulator together: it generates a Contact
file with the awkward parts real exports have (quoted commas and line breaks, accents, a few rows
that fail on purpose), starts :class:`asyncbulk.emulator.Emulator` in the running event loop,
loads the file with the live progress display, and prints the summary and where the files are.
"""

from __future__ import annotations

import csv
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from .._config import ChunkConfig, PollConfig
from .._load import Connection
from ._session import Session, poll_config

__all__ = ["DemoFile", "run_demo", "write_contacts"]

HEADER = [
    "External_Id__c",
    "Salutation",
    "FirstName",
    "LastName",
    "Email",
    "Phone",
    "Title",
    "Department",
    "Birthdate",
    "MailingStreet",
    "MailingCity",
    "MailingPostalCode",
    "MailingCountry",
    "LeadSource",
    "HasOptedOutOfEmail",
    "Description",
]

_FIRST = ["Zoë", "José", "Renée", "Björn", "Amélie", "Łukasz", "Siobhán", "Ana", "Tomás", "Søren", "Chloé",
          "Dvořák", "Ingrid", "Aïsha", "Nuño", "Mei", "Olamide", "Priya", "Jean-Luc", "Astrid"]  # fmt: skip
_LAST = ["O'Brien", "Müller", "García", "Nguyễn", "Smith, Jr.", "Dubois", "Kowalski", "Ångström",
         "Ní Bhriain", "van der Berg", "Da Silva", "Lefèvre", "Østergaard", "Schröder", "Ibáñez"]  # fmt: skip
_CITIES = [
    ("San Francisco", "94105", "United States"),
    ("São Paulo", "01310-100", "Brazil"),
    ("Zürich", "8001", "Switzerland"),
    ("Kraków", "31-008", "Poland"),
    ("Reykjavík", "101", "Iceland"),
    ("Montréal", "H2X 1Y4", "Canada"),
    ("Malmö", "211 20", "Sweden"),
    ("Córdoba", "14001", "Spain"),
]
_TITLES = ["CEO", "VP, Sales", "Director of Operations", "Engineer", "Head of R&D", "Buyer", "Chef de projet"]
_DEPARTMENTS = ["Sales", "Marketing", "Finance", "R&D", "Operations", "Support"]
_SALUTATIONS = ["Mr.", "Ms.", "Mrs.", "Dr.", "Prof.", ""]
_SOURCES = ["Web", "Phone Inquiry", "Other", ""]

#: Every this-many rows, one kind of planted failure (co-prime, so they rarely coincide).
_MISSING_LAST_NAME_EVERY = 251
_BAD_EMAIL_EVERY = 397
_TOO_LONG_TITLE_EVERY = 499


@dataclass(frozen=True)
class DemoFile:
    """The generated file and how many of its rows are meant to fail, by reason."""

    path: Path
    records: int
    missing_last_name: int
    bad_email: int
    too_long_title: int

    @property
    def failures(self) -> int:
        """Rows that should end in failed.csv."""
        return self.missing_last_name + self.bad_email + self.too_long_title


def write_contacts(path: Path, records: int, *, seed: int = 1) -> DemoFile:
    """Write ``records`` Contact rows to ``path`` (UTF-8, LF) and count the planted failures.

    About one row in 250 lacks its LastName (``REQUIRED_FIELD_MISSING``), one in 400 has an email
    without a domain (``INVALID_EMAIL_ADDRESS``), one in 500 has a 200-character Title
    (``STRING_TOO_LONG``: Title holds 128). A row has at most one planted fault, so the count of
    failures is exact.
    """
    rng = random.Random(seed)
    missing = bad_email = too_long = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        for n in range(1, records + 1):
            first = rng.choice(_FIRST)
            last = rng.choice(_LAST)
            email = f"{_ascii(first)}.{_ascii(last)}.{n}@example.com"
            title = rng.choice(_TITLES)
            if n % _MISSING_LAST_NAME_EVERY == 0:
                last = ""
                missing += 1
            elif n % _BAD_EMAIL_EVERY == 0:
                email = f"{_ascii(first)}.{n}-at-example.com"
                bad_email += 1
            elif n % _TOO_LONG_TITLE_EVERY == 0:
                title = ("Senior Vice President, Strategic Partnerships & Global Alliances " * 4)[:200]
                too_long += 1
            city, postal, country = rng.choice(_CITIES)
            street = f"{rng.randint(1, 9999)} {rng.choice(['Main St', 'Rue de la Paix', 'Bahnhofstraße'])}"
            if n % 7 == 0:
                # A quoted line break, comma and quotes: a naive line splitter would cut here.
                street += f'\nSuite {rng.randint(1, 99)}, "Blue" door'
            description = ""
            if n % 5 == 0:
                description = (
                    f'Met at the "{rng.choice(_CITIES)[0]}" fair, 2024; wants a quote,\nthen a call.'
                )
            writer.writerow(
                [
                    f"DEMO-{seed}-{n:08d}",
                    rng.choice(_SALUTATIONS),
                    first,
                    last,
                    email,
                    f"+1 415 555 {n % 10000:04d}",
                    title,
                    rng.choice(_DEPARTMENTS),
                    f"{rng.randint(1950, 2004)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                    street,
                    city,
                    postal,
                    country,
                    rng.choice(_SOURCES),
                    rng.choice(["true", "false"]),
                    description,
                ]
            )
    return DemoFile(path, records, missing, bad_email, too_long)


def _ascii(name: str) -> str:
    """An email-safe version of a name (emails with accents are legal but rare)."""
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if c.isascii() and c.isalnum()).lower() or "x"


#: Emulator workers; each processes one 10,000-record batch at a time, like Salesforce's servers.
_WORKERS = 4
#: Without --records-per-second, pace the emulated org so processing takes about this long: long
#: enough to watch jobs move from queued to done, short enough not to bore...
_TARGET_SECONDS = 8.0
#: ... but a small demo takes no more than a second per this many records.
_RECORDS_PER_TARGET_SECOND = 6_000


def demo_pace(records: int, requested: float | None, *, chunk_records: int = 10_000) -> float | None:
    """Records per second per emulator worker (``None``: as fast as the machine goes)."""
    if requested is not None:
        return requested or None
    seconds = min(_TARGET_SECONDS, records / _RECORDS_PER_TARGET_SECOND)
    # Each job (of at most one 10,000-record batch here) goes to one worker: the jobs run in
    # rounds of _WORKERS, and the last round sets the end.
    per_job = min(chunk_records, records, 10_000)
    jobs = -(-records // min(chunk_records, records))
    rounds = -(-jobs // _WORKERS)
    return max(100.0, per_job * rounds / seconds)


def _absolute(path: Path) -> Path:
    return path.absolute()


async def run_demo(session: Session) -> int:
    """Run ``asyncbulk demo`` with parsed options; return the exit code."""
    # Imported here: the CLI's other commands need neither the emulator nor the loader's wiring.
    from ..emulator import Emulator, EmulatorConfig

    args = session.args
    out_dir = _absolute(Path(args.out))
    # An interrupted demo is not worth resuming (its org lives in this process): no resume hint.
    session.resume_dir = None
    source = out_dir / "contacts.csv"
    status = sys.stderr
    quiet = args.no_progress
    if not quiet:
        print(f"asyncbulk demo: writing {args.records:,} Contact rows to {source}", file=status)
    demo = await anyio.to_thread.run_sync(lambda: write_contacts(source, args.records, seed=args.seed))
    pace = demo_pace(args.records, args.records_per_second, chunk_records=args.chunk_records)
    config = EmulatorConfig(workers=_WORKERS, records_per_second=pace)
    async with Emulator(config) as emu:
        if not quiet:
            speed = f"{pace * _WORKERS:,.0f} records/s" if pace else "full speed"
            print(
                f"asyncbulk demo: emulated org at {emu.instance_url} ({_WORKERS} workers, {speed})",
                file=status,
            )
        connection = Connection(
            instance_url=emu.instance_url,
            access_token=emu.access_token,
            api_version=emu.api_version,
            concurrency=args.concurrency,
        )

        async def work(progress: Any) -> Any:
            async with connection:
                return await connection.load(
                    source,
                    object="Contact",
                    operation="insert",
                    out_dir=out_dir,
                    chunks=ChunkConfig(max_records=args.chunk_records),
                    # A local org answers in microseconds: poll often so the display moves smoothly.
                    poll=poll_config(args) or PollConfig(initial=0.2, minimum=0.1, maximum=1.0),
                    progress=progress,
                    # Each demo run loads the same generated file into a fresh org.
                    new=True,
                )

        result = await session.run_load("Contact insert (demo)", work)
    code = session.report(result, expected_failures=demo.failures)
    if not args.json:
        print(
            f"\n{demo.failures:,} rows were meant to fail: {demo.missing_last_name} without LastName, "
            f"{demo.bad_email} with a bad Email, {demo.too_long_title} with a Title over 128 characters; "
            f"see their sf__Error in {result.failed_file}.\n"
            f"The input is {source}. To load your own file into a real org:\n"
            f"  asyncbulk load insert Contact {source.name} --target-org YOUR-ORG"
        )
    return code
