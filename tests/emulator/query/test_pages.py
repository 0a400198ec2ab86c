"""Where a results page starts and ends, and its locators, cut out of stored chunks."""

from __future__ import annotations

from array import array

import pytest

from asyncbulk.emulator._ingest import ApiError
from asyncbulk.emulator._query._pages import decode_locator, encode_locator, page_span, render_chunk


def test_locators_are_opaque_url_safe_and_tied_to_their_job() -> None:
    locator = encode_locator(250000, "7505f000000000BAAQ")
    assert "=" not in locator and "/" not in locator and "+" not in locator
    assert decode_locator(locator, "7505f000000000BAAQ", 300000) == 250000
    for bad, job, total in (
        (locator, "7505f000000000CAAQ", 300000),
        (locator, "7505f000000000BAAQ", 10),
        ("%%", "x", 1),
    ):
        with pytest.raises(ApiError) as info:
            decode_locator(bad, job, total)
        assert (info.value.status, info.value.error_code) == (400, "INVALID_QUERY_LOCATOR")


def test_render_chunk_quotes_every_cell_and_records_row_ends() -> None:
    rows, data, ends = render_chunk([["a", 'b"c'], ["", "x;y"]], ";", "\r\n")
    assert rows == 2 and data == b'"a";""\r\n"b""c";"x;y"\r\n'
    assert list(array("Q", ends)) == [8, 22]


def test_page_span_crosses_chunks_and_honours_the_byte_budget() -> None:
    # 10 rows of 10 bytes in chunks of 4 rows: 4 + 4 + 2
    chunks = [array("Q", [10 * (i + 1) for i in range(n)]).tobytes() for n in (4, 4, 2)]

    def read(first: int, last: int) -> list[bytes]:
        return chunks[first : last + 1]

    assert page_span(0, 10, 10, 4, 10_000, read) == (10, ((0, 0, 40), (1, 0, 40), (2, 0, 20)))
    assert page_span(3, 3, 10, 4, 10_000, read) == (6, ((0, 30, 40), (1, 0, 20)))
    assert page_span(3, 100, 10, 4, 35, read) == (6, ((0, 30, 40), (1, 0, 20)))  # 3 rows fit in 35 bytes
    assert page_span(5, 100, 10, 4, 1, read) == (6, ((1, 10, 20),))  # always one row
    assert page_span(10, 5, 10, 4, 100, read) == (10, ())
