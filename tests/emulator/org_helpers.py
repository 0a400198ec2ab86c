"""Helpers for the data-layer tests: a batch given as rows, applied through ``Org.apply``."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from asyncbulk.emulator import JobSpec, Org
from asyncbulk.emulator._data import BatchResults


def batch(
    org: Org,
    object_name: str,
    operation: str,
    external_id_field: str | None,
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    lock_fail: Callable[[int], bool] | None = None,
) -> BatchResults:
    """Apply ``rows`` as one batch: turned column-wise here, as the ingest layer hands batches over."""
    columns = tuple(zip(*rows, strict=True)) if rows else tuple(() for _ in header)
    return org.apply(JobSpec(object_name, operation, external_id_field), header, columns, lock_fail)  # type: ignore[arg-type]


def insert(org: Org, object_name: str, header: Sequence[str], *rows: Sequence[str]) -> BatchResults:
    """Insert ``rows`` into ``object_name``."""
    return batch(org, object_name, "insert", None, header, rows)
