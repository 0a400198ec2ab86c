"""Salesforce record ids: generation, the 18-character case-safe form, validation.

A Salesforce id is 15 case-sensitive characters: a 3-character key prefix naming the object
(``001`` Account, ``003`` Contact, ``750`` Bulk job...), 2 characters naming the instance/pod, a
reserved character, and a 9-character base-62 counter. The 18-character form appends a 3-character
checksum that makes the id safe for case-insensitive systems: for each 5-character block of the
15-character id, bit ``i`` is set when character ``i`` of the block is an upper-case ``A-Z``; the
5-bit value indexes ``"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"``.

The emulator always hands out (and stores) the 18-character form, as the Bulk API does in
``sf__Id`` and job ids.
"""

from __future__ import annotations

import re
import threading

__all__ = ["IdGenerator", "checksum", "counter_of", "is_valid_id", "to_18"]

_SUFFIX_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_B62_INDEX = {c: i for i, c in enumerate(BASE62)}
_ID_RE = re.compile(r"[0-9A-Za-z]{15}(?:[0-9A-Za-z]{3})?")

#: Instance ("pod") characters plus the reserved character, between key prefix and counter.
POD = "5f0"
_COUNTER_WIDTH = 9
_MAX_COUNTER = 62**_COUNTER_WIDTH - 1


def _block_bits(block: str) -> int:
    bits = 0
    for i, ch in enumerate(block):
        if "A" <= ch <= "Z":
            bits |= 1 << i
    return bits


def checksum(id15: str) -> str:
    """The 3-character case-safe suffix of a 15-character id."""
    return "".join(_SUFFIX_CHARS[_block_bits(id15[i : i + 5])] for i in (0, 5, 10))


def to_18(id15: str) -> str:
    """The 18-character form of an id (an 18-character id is returned re-checksummed).

    :raises ValueError: if ``id15`` is not 15 or 18 alphanumeric characters.
    """
    if not _ID_RE.fullmatch(id15):
        raise ValueError(f"not a Salesforce id: {id15!r}")
    base = id15[:15]
    return base + checksum(base)


def is_valid_id(value: str) -> bool:
    """Whether ``value`` is a well-formed 15- or 18-character id (with a correct checksum if 18)."""
    if not _ID_RE.fullmatch(value):
        return False
    return len(value) == 15 or checksum(value[:15]) == value[15:]


def counter_of(sf_id: str) -> int:
    """The base-62 counter inside an id this module generated (0 if it is not one of ours)."""
    if len(sf_id) < 15 or sf_id[3:6] != POD:
        return 0
    value = 0
    for ch in sf_id[6:15]:
        idx = _B62_INDEX.get(ch)
        if idx is None:
            return 0
        value = value * 62 + idx
    return value


def _b62(value: int, width: int) -> str:
    chars = []
    for _ in range(width):
        value, rem = divmod(value, 62)
        chars.append(BASE62[rem])
    return "".join(reversed(chars))


# The last two counter characters with their contribution to the third checksum block
# (they are characters 3 and 4 of the block that starts at position 10).
_LOW = [
    (a + b, (8 if "A" <= a <= "Z" else 0) | (16 if "A" <= b <= "Z" else 0)) for a in BASE62 for b in BASE62
]


class IdGenerator:
    """Thread-safe, monotonic generator of 18-character ids, one counter shared by all key prefixes.

    ``seed(n)`` moves the counter past ``n`` so that a reopened database never gets an id twice.
    """

    def __init__(self, start: int = 0) -> None:
        self._lock = threading.Lock()
        self._last = start

    def seed(self, used: int) -> None:
        """Make sure every future id's counter is greater than ``used``."""
        with self._lock:
            self._last = max(self._last, used)

    def next_id(self, prefix: str) -> str:
        """One new id for key prefix ``prefix`` (3 characters)."""
        return self.next_ids(prefix, 1)[0]

    def next_ids(self, prefix: str, count: int) -> list[str]:
        """``count`` new ids for key prefix ``prefix``, in increasing counter order."""
        if len(prefix) != 3:
            raise ValueError(f"key prefix must be 3 characters, got {prefix!r}")
        with self._lock:
            first = self._last + 1
            self._last += count
            if self._last > _MAX_COUNTER:
                raise OverflowError("Salesforce id counter exhausted")
        out: list[str] = []
        value = first
        end = first + count
        # Work in runs of 3,844 (62**2) ids that share everything but the last two characters,
        # so that the per-id cost is one table lookup and one string join: generating ids must
        # not dominate a 10,000-row insert.
        while value < end:
            high, low = divmod(value, 3844)
            run_end = min(end, (high + 1) * 3844)
            head = prefix + POD + _b62(high, _COUNTER_WIDTH - 2)
            c1 = _SUFFIX_CHARS[_block_bits(head[0:5])]
            c2 = _SUFFIX_CHARS[_block_bits(head[5:10])]
            bits3 = _block_bits(head[10:13])
            c12 = c1 + c2
            out.extend(
                head + pair + c12 + _SUFFIX_CHARS[bits3 | lowbits]
                for pair, lowbits in _LOW[low : low + (run_end - value)]
            )
            value = run_end
        return out
