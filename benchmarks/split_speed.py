"""How fast the splitter scans: validation, chunking, and both in one pass.

Run: ``python -m benchmarks.split_speed [--mb 200] [--path /tmp/asyncbulk_split_bench.csv]``.
Generates a realistic Contact-like CSV once (kept in /tmp for later runs; about 15% of records have
quoted fields with commas, doubled quotes or line breaks, some text is non-ASCII), then times
``inspect_layout + validate``, ``iter_chunks`` without validation, and ``split`` (both in one pass).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import time

from asyncbulk._csv import DEFAULT_BLOCK_SIZE, inspect_layout, iter_chunks, plan_chunks, validate

_FIRST = ["Anna", "Bjørn", "Chloé", "David", "Emma", "François", "Grace", "Hiro", "Ines", "José"]
_LAST = ["Smith", "O'Brien", "Müller", "García", "Nakamura", "Dubois", "Kowalski", "Rossi", "Lee"]
_STREETS = ["1 Main St", "42 Rue de la Paix, Apt 3", "Hauptstraße 7", "10 Downing St", "5th Ave, Floor 12"]


def generate(path: str, megabytes: int, *, seed: int = 7) -> None:
    """Write a CSV of about ``megabytes`` MB to ``path``."""
    rng = random.Random(seed)
    target = megabytes * 1_000_000
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(
            [
                "FirstName",
                "LastName",
                "Email",
                "Phone",
                "MailingStreet",
                "Description",
                "Birthdate",
                "Score__c",
            ]
        )
        i = 0
        while f.tell() < target:
            rows = []
            for _ in range(10_000):
                i += 1
                first, last = rng.choice(_FIRST), rng.choice(_LAST)
                roll = rng.random()
                if roll < 0.05:
                    desc = f'Said "hello" on call #{i}.\nFollow up next week, maybe.'
                elif roll < 0.15:
                    desc = f"Prefers email, not phone; lead source {rng.randint(1, 99)}, region EMEA"
                else:
                    desc = "Imported contact " + "x" * rng.randint(0, 40)
                rows.append(
                    [
                        first,
                        last,
                        f"{first.lower()}.{last.lower()}{i}@example.com",
                        f"+1-555-{rng.randint(1000000, 9999999)}",
                        rng.choice(_STREETS),
                        desc,
                        f"19{rng.randint(50, 99)}-0{rng.randint(1, 9)}-{rng.randint(10, 28)}",
                        f"{rng.random() * 1000:.2f}",
                    ]
                )
            writer.writerows(rows)


def _rate(nbytes: int, seconds: float) -> str:
    return f"{nbytes / seconds / 1e6:7.0f} MB/s ({seconds:.2f} s)"


def main() -> None:
    """Generate the file if needed and print the timings."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--path", default="/tmp/asyncbulk_split_bench.csv")
    parser.add_argument("--max-records", type=int, default=100_000)
    parser.add_argument("--max-bytes", type=int, default=50_000_000)
    parser.add_argument("--block-size", type=int, default=DEFAULT_BLOCK_SIZE, help="bytes per scanner block")
    args = parser.parse_args()
    if not os.path.exists(args.path) or os.path.getsize(args.path) < args.mb * 1_000_000:
        started = time.perf_counter()
        generate(args.path, args.mb)
        print(f"generated {args.path} in {time.perf_counter() - started:.1f} s")
    size = os.path.getsize(args.path)
    # Warm the page cache so every timing below measures the scan, not the disk.
    with open(args.path, "rb") as f:
        while f.read(8 << 20):
            pass
    print(f"file: {size / 1e6:.0f} MB")

    started = time.perf_counter()
    layout = inspect_layout(args.path)
    report = validate(args.path, layout, block_size=args.block_size)
    print(f"inspect + validate      {_rate(size, time.perf_counter() - started)}  records={report.records}")

    started = time.perf_counter()
    limits = {"max_records": args.max_records, "max_bytes": args.max_bytes, "block_size": args.block_size}
    chunks = list(iter_chunks(args.path, layout, **limits))
    print(f"iter_chunks (no checks) {_rate(size, time.perf_counter() - started)}  chunks={len(chunks)}")

    started = time.perf_counter()
    result = plan_chunks(args.path, layout, **limits)
    print(
        f"split (validate+chunk)  {_rate(size, time.perf_counter() - started)}  chunks={len(result.chunks)}"
    )
    assert sum(c.records for c in result.chunks) == report.records == result.report.records


if __name__ == "__main__":
    main()
