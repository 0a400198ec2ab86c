"""The outcome of one batch: :class:`BatchResults`, a lazy sequence of :class:`RowResult`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, overload

__all__ = ["BatchResults", "RowResult"]


class RowResult(NamedTuple):
    """The outcome of one CSV row.

    ``values`` are, for a success, the row's values re-rendered from the stored types (header
    order); for a failure, the values as uploaded.
    """

    ok: bool
    sf_id: str
    created: bool
    error: str
    values: list[str]


class BatchResults(Sequence[RowResult]):
    """The outcome of a batch: a read-only sequence of :class:`RowResult`, one per row, in order.

    Kept column-wise (ids, errors, value columns) and built into ``RowResult`` objects only when
    indexed: a million-row load would otherwise create a million tuples and lists that nobody
    reads, as the ingest layer renders result files straight from the columns.
    """

    __slots__ = ("created", "errors", "ids", "n", "raw", "values")

    def __init__(
        self,
        n: int,
        ids: Sequence[str],
        created: Sequence[bool],
        errors: dict[int, str],
        values: Sequence[Sequence[str]],
        raw: Sequence[Sequence[str]],
    ) -> None:
        self.n = n
        #: ``sf_id`` of every row (successes and failures), "" where there is none.
        self.ids = ids
        #: ``created`` of every successful row (ignored for failures).
        self.created = created
        #: Row index -> ``sf__Error`` text, for the failed rows only.
        self.errors = errors
        #: Columns in header order: successful rows' re-rendered values.
        self.values = values
        #: Columns in header order: the values as uploaded (what failed rows echo).
        self.raw = raw

    def __len__(self) -> int:
        return self.n

    @overload
    def __getitem__(self, index: int) -> RowResult: ...

    @overload
    def __getitem__(self, index: slice) -> list[RowResult]: ...

    def __getitem__(self, index: int | slice) -> RowResult | list[RowResult]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self.n))]
        i = index + self.n if index < 0 else index
        if not 0 <= i < self.n:
            raise IndexError("result index out of range")
        err = self.errors.get(i)
        if err is None:
            return RowResult(True, self.ids[i], self.created[i], "", [c[i] for c in self.values])
        return RowResult(False, self.ids[i], False, err, [c[i] for c in self.raw])

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str | bytes):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"BatchResults({list(self)!r})"

    @property
    def failed(self) -> int:
        """How many rows failed."""
        return len(self.errors)
