"""Test data: realistic Contact rows with the awkward parts real files have."""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path

FIRST = ["Astro", "Zoë", "José", "Renée", "Björn", "Amélie", "Łukasz", "Siobhán", "Ana", "Tomás"]
LAST = ["Nomical", "O'Brien", "Müller", "García", "Nguyễn", "Smith, Jr.", "Dubois", "Kowalski"]
CITY = ["San Francisco", "São Paulo", "Zürich", "Kraków", "Reykjavík", "Montréal"]

HEADER = ["FirstName", "LastName", "Email", "Phone", "MailingCity", "MailingStreet", "Title"]


def contact_rows(count: int, *, seed: int = 7, bad_every: int = 0) -> list[list[str]]:
    """``count`` Contact rows; every ``bad_every``-th row lacks its LastName (a failing row)."""
    rng = random.Random(seed)
    rows = []
    for i in range(1, count + 1):
        last = rng.choice(LAST)
        if bad_every and i % bad_every == 0:
            last = ""
        street = f"{rng.randint(1, 999)} Main St"
        if i % 7 == 0:
            street += '\nSuite 5, "Blue" door'  # a quoted newline, comma and quotes
        rows.append(
            [
                rng.choice(FIRST),
                last,
                f"user{i}@example.com",
                f"+1 415 555 {i % 10000:04d}",
                rng.choice(CITY),
                street,
                f"Title {i}",
            ]
        )
    return rows


def write_csv(
    path: Path,
    rows: list[list[str]],
    *,
    header: list[str] = HEADER,
    delimiter: str = ",",
    line_ending: str = "\n",
    encoding: str = "utf-8",
    bom: bool = False,
) -> Path:
    """Write ``rows`` the way a spreadsheet export would."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=line_ending)
    writer.writerow(header)
    writer.writerows(rows)
    data = buffer.getvalue().encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def read_result(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    """Rows of a merged result file as dicts."""
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter=delimiter))
