"""Seeded, realistic Contact CSV files for the benchmarks.

The rows look like what people load: names with accents, addresses with quoted commas and
newlines, free text with doubled quotes, a few per cent of rows that Salesforce rejects
(no ``LastName``: ``REQUIRED_FIELD_MISSING``; a malformed ``Email``: ``INVALID_EMAIL_ADDRESS``).
Every row carries a unique ``External_Id__c`` so the upsert scenario can match on it, and so no
two rows are identical (identical rows cannot be told apart in the results by any client).

The same ``(records, seed)`` always gives the same bytes, so a file is generated once and reused
from the cache directory by every run and round.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path

__all__ = ["COLUMNS", "DataFile", "generate"]

COLUMNS = (
    "External_Id__c",
    "FirstName",
    "LastName",
    "Email",
    "Phone",
    "Title",
    "Department",
    "MailingStreet",
    "MailingCity",
    "MailingPostalCode",
    "MailingCountry",
    "Birthdate",
    "LeadSource",
    "Description",
)

_FIRST = (
    "Anaïs", "Zoë", "José", "François", "Björn", "Łukasz", "Søren", "Chloé", "Renée", "Maria",
    "John", "Aisha", "Wei", "Olga", "Ángel", "Mohamed", "Priya", "Jürgen", "Inês", "Kenji",
)  # fmt: skip
_LAST = (
    "Müller", "García", "O'Brien", "Nguyễn", "Søndergaard", "Dupont", "Smith", "Kowalczyk",
    "Rossi", "Ødegaard", "Fernández", "Tanaka", "Johnson", "Lefèvre", "Çelik", "Van der Berg",
)  # fmt: skip
_TITLES = ("CEO", "VP, Sales", "Engineer", "Directeur général", 'Head of "Growth"', "Buyer", "")
_DEPTS = ("Finance", "R&D", "Sales, EMEA", "Opérations", "IT", "")
_STREETS = ("Rue de l'Église", "Main Street", "Königstraße", "Calle Mayor", "Via Roma", "Høvej")
_CITIES = ("Paris", "München", "São Paulo", "Zürich", "Kraków", "Málaga", "Reykjavík", "Springfield")
_COUNTRIES = ("France", "Deutschland", "Brasil", "Schweiz", "Polska", "España", "Ísland", "USA")
_SOURCES = ("Web", "Phone Inquiry", "Other", "")
_NOTES = (
    "",
    "",
    'Met at the trade fair, interested in the "premium" plan.',
    "Prefers e-mail; do not call before 10:00, CET.",
    "Renewal due in Q3.\nAsked for a quote, then went silent.",
    "Référence client: ÉCO-42 — voir dossier.",
)

#: Share of rows that fail validation on the server: half without LastName, half with a bad email.
FAIL_RATE = 0.03


@dataclass(frozen=True)
class DataFile:
    """A generated file and what is in it."""

    path: Path
    records: int
    bytes: int
    bad_rows: int


def _row(rng: random.Random, i: int, seed: int) -> tuple[list[str], bool]:
    first = rng.choice(_FIRST)
    last = rng.choice(_LAST)
    email = f"{first.lower()}.{i}@example.com".encode("ascii", "ignore").decode()
    bad = rng.random() < FAIL_RATE
    if bad:
        if rng.random() < 0.5:
            last = ""
        else:
            email = f"{i}-at-nowhere"
    street = f"{rng.randint(1, 999)} {rng.choice(_STREETS)}"
    if rng.random() < 0.2:
        # A second address line: a newline inside a quoted field, and a comma.
        street += f"\nBât. {rng.choice('ABCD')}, étage {rng.randint(1, 9)}"
    birth = f"{rng.randint(1940, 2004)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    return [
        f"EXT-{seed}-{i:09d}",
        first,
        last,
        email,
        f"+{rng.randint(1, 99)} {rng.randint(100, 999)} {rng.randint(100000, 999999)}",
        rng.choice(_TITLES),
        rng.choice(_DEPTS),
        street,
        rng.choice(_CITIES),
        f"{rng.randint(1000, 99999)}",
        rng.choice(_COUNTRIES),
        birth if rng.random() < 0.7 else "",
        rng.choice(_SOURCES),
        rng.choice(_NOTES),
    ], bad


def generate(directory: Path, records: int, *, seed: int = 1) -> DataFile:
    """Write (or reuse) ``contacts-{records}-s{seed}.csv`` in ``directory``.

    The file is written under a temporary name and renamed when complete, so a run interrupted
    while generating never leaves a short file that a later run would take for the real one.
    """
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"contacts-{records}-s{seed}.csv"
    meta = path.with_suffix(".bad")
    if path.exists() and meta.exists():
        return DataFile(path, records, path.stat().st_size, int(meta.read_text()))
    rng = random.Random(seed)
    bad_rows = 0
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        batch: list[list[str]] = []
        for i in range(1, records + 1):
            row, bad = _row(rng, i, seed)
            bad_rows += bad
            batch.append(row)
            if len(batch) == 10_000:
                writer.writerows(batch)
                batch.clear()
        writer.writerows(batch)
    tmp.replace(path)
    meta.write_text(str(bad_rows))
    return DataFile(path, records, path.stat().st_size, bad_rows)
