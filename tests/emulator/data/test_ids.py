"""Salesforce id generation and the 18-character checksum."""

from __future__ import annotations

import threading

from asyncbulk.emulator._data._ids import IdGenerator, checksum, counter_of, is_valid_id, to_18


def test_checksum_matches_real_ids() -> None:
    # ids from Salesforce's own documentation / result examples
    assert to_18("0018c00002FInbo") == "0018c00002FInboAAD"
    # block 2 all upper case -> 31 -> "5"; block 3 "LEtG4" -> bits 0, 1, 3 -> 11 -> "L"
    assert checksum("0055fEXAMPLEtG4") == "A5L"


def test_is_valid_id() -> None:
    assert is_valid_id("0018c00002FInbo")
    assert is_valid_id("0018c00002FInboAAD")
    assert not is_valid_id("0018c00002FInboAAA")  # wrong checksum
    assert not is_valid_id("0018c00002FIn")  # too short
    assert not is_valid_id("0018c00002FInb-")
    assert not is_valid_id("")


def test_generated_ids_are_valid_unique_and_monotonic() -> None:
    gen = IdGenerator()
    ids = gen.next_ids("003", 10_000)  # crosses several 3,844-id runs
    assert len(set(ids)) == 10_000
    assert all(len(i) == 18 and i.startswith("003") and is_valid_id(i) for i in ids)
    counters = [counter_of(i) for i in ids]
    assert counters == list(range(1, 10_001))
    assert counter_of(gen.next_id("001")) == 10_001


def test_seed_moves_past_used_counters() -> None:
    gen = IdGenerator()
    gen.seed(500)
    assert counter_of(gen.next_id("001")) == 501
    gen.seed(10)  # never goes back
    assert counter_of(gen.next_id("001")) == 502


def test_thread_safe() -> None:
    gen = IdGenerator()
    out: list[str] = []
    lock = threading.Lock()

    def work() -> None:
        mine = [gen.next_id("001") for _ in range(500)]
        with lock:
            out.extend(mine)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(out)) == 2000
