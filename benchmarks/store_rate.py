"""How fast the emulator's data layer inserts simple Contact rows (target: >= 100,000 records/s).

Run: ``python -m benchmarks.store_rate [rows] [rounds]``. Prints the best rate of several rounds of
one 10,000-row batch (one Bulk API internal batch) into an in-memory org, given column-wise as the
emulator's ingest layer hands batches over.
"""

from __future__ import annotations

import sys
import time

from asyncbulk.emulator import JobSpec, Operation, Org

HEADER = ["FirstName", "LastName", "Email", "Phone", "MailingCity", "Title", "Birthdate"]


def main(rows: int = 10_000, rounds: int = 5) -> float:
    """Insert ``rounds`` batches of ``rows`` Contacts; print and return the best records/s."""
    org = Org()
    spec = JobSpec("Contact", Operation.INSERT)
    data = [
        [
            f"First{i}",
            f"Last{i}",
            f"user{i}@example.com",
            "+1 415 555 0100",
            "San Francisco",
            "Engineer",
            "1980-02-29",
        ]
        for i in range(rows)
    ]
    columns = tuple(zip(*data, strict=True))
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        results = org.apply(spec, HEADER, columns)
        best = min(best, time.perf_counter() - start)
        assert results.failed == 0
    rate = rows / best
    print(f"store insert: {rows} Contact rows in {best * 1000:.1f} ms -> {rate:,.0f} records/s")
    return rate


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
