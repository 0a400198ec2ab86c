"""Prepare: the input as a UTF-8 file, its layout, one structural pass, and the pre-flight.

Everything here happens before any job exists: bad input, a missing column or a field the object
does not have costs the org nothing. The result is a :class:`PreparedInput`, which the later stages
read chunks from.
"""

from __future__ import annotations

import bisect
import errno
import os
from collections.abc import AsyncIterable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._bulk import BulkClient
from .._config import LineEnding
from .._csv import (
    BadRecord,
    Chunk,
    ChunkPlan,
    CsvLayout,
    inspect_layout,
    plan_chunks,
    rows_to_csv,
    separate_bad_records,
    transcode_to_utf8,
)
from .._exceptions import ApiError, InputError, NotFoundError, PreflightError
from .._journal import file_identity
from .._options import BadRows, LoadOptions
from ._files import FileWork, Folders
from ._preflight import Describe, check_header, check_key_columns
from ._shape import shape_chunks

__all__ = ["PreparedInput", "RecordNumbers", "Source", "describe_object", "prepare", "stat_input"]

Rows = Iterable[Mapping[str, Any]] | AsyncIterable[Mapping[str, Any]]
#: What :func:`asyncbulk.load` takes: a CSV file path, or dict rows.
Source = str | os.PathLike[str] | Rows


class RecordNumbers:
    """The input record numbers of a file's rows, when row *i* is not record *i*.

    :param explicit: the numbers of every row (a retry round's file), or ``None``;
    :param removed: sorted numbers of records left out of the file (skipped bad records): row *k*
        is then the *k*-th record not among them. Only the left-out numbers are kept in memory.
    """

    def __init__(self, *, explicit: Sequence[int] | None = None, removed: Sequence[int] = ()) -> None:
        self._explicit = explicit
        # removed[j] - (j + 1) good records come before the j-th removed one.
        self._before = [number - j - 1 for j, number in enumerate(removed)]

    def numbers(self, first_row: int, count: int) -> Sequence[int]:
        """The record numbers of rows ``first_row`` (1-based) to ``first_row + count - 1``."""
        if self._explicit is not None:
            return self._explicit[first_row - 1 : first_row - 1 + count]
        before = self._before
        return [row + bisect.bisect_left(before, row) for row in range(first_row, first_row + count)]


@dataclass(eq=False)
class PreparedInput:
    """A UTF-8 CSV file on disk, checked and cut into chunks, ready to be loaded.

    :param path: the file chunks are read from (the user's own, or a converted copy).
    :param name: the file to name in messages: always the user's own, when there is one.
    :param layout: its header line.
    :param chunks: its chunks.
    :param records: how many records it holds.
    :param round: 0 for the input; 1, 2... for retry rounds.
    :param numbering: record numbers of its rows, if row *i* is not record *i*.
    :param user_file: the user's own file when chunks are read from it directly (then it is
        checked for changes before each chunk is sent).
    :param identity: what identifies the input in the journal.
    :param field_types: lower-case field name -> describe type.
    :param skipped: bad records left out (``bad_rows="skip"``); never sent.
    """

    path: Path
    name: str
    layout: CsvLayout
    chunks: tuple[Chunk, ...]
    records: int
    round: int = 0
    numbering: RecordNumbers | None = None
    user_file: Path | None = None
    identity: dict[str, Any] = field(default_factory=dict)
    field_types: dict[str, str] = field(default_factory=dict)
    skipped: tuple[BadRecord, ...] = ()

    def record_numbers(self, chunk: Chunk) -> Sequence[int]:
        """The input record numbers of ``chunk``'s rows."""
        if self.numbering is None:
            return range(chunk.first_record, chunk.first_record + chunk.records)
        return self.numbering.numbers(chunk.first_record, chunk.records)


def stat_input(path: Path, name: str) -> os.stat_result:
    """``os.stat`` with a clear :class:`InputError` for the ways a path can fail to be a file."""
    try:
        result = path.stat()
    except OSError as exc:
        reasons = {
            errno.ENOENT: "no such file",
            errno.ELOOP: "symlink loop: too many levels of symbolic links (a link points back at itself)",
            errno.EACCES: "permission denied",
            errno.ENOTDIR: "a part of the path is not a folder",
            errno.ENAMETOOLONG: "the path is too long",
        }
        raise InputError(reasons.get(exc.errno or 0, exc.strerror or str(exc)), path=name) from None
    if not os.path.isfile(path):
        raise InputError("not a file (a folder or a device?)", path=name)
    return result


async def describe_object(client: BulkClient, name: str) -> Describe | None:
    """The object's describe; ``None`` if describe is refused (the load goes on unchecked).

    :raises OptionError: the org has no such object.
    """
    from .._config import OptionError

    try:
        return Describe.parse(await client.describe(name))
    except NotFoundError:
        raise OptionError(
            "object", f"{name!r} is not an sObject this org knows (describe said NOT_FOUND)"
        ) from None
    except ApiError:
        return None


async def prepare(
    source: Source,
    options: LoadOptions,
    folders: Folders,
    client: BulkClient | None,
    files: FileWork,
    notes: list[str],
) -> PreparedInput:
    """The input, checked, cut into chunks and held against the object; nothing is sent but describes.

    :param client: asks the org for describes; ``None`` skips the pre-flight.
    :param notes: where to say that describe was refused.
    :raises InputError: bad input, naming the user's file, the line, the record and the reason.
    :raises PreflightError: the header does not fit the object (every problem listed).
    """
    path, name, user_file = await _utf8_file(source, options, folders, files)
    identity_file = user_file
    layout = await files.run(
        lambda: inspect_layout(
            path, delimiter=options.column_delimiter, line_ending=options.line_ending, name=name
        )
    )
    problems = check_key_columns(layout.columns, options.operation, options.external_id_field)
    if problems:
        raise PreflightError(problems, path=name)
    limits = options.chunks

    def plan_of(path: Path, layout: CsvLayout) -> ChunkPlan:
        return plan_chunks(
            path, layout, max_records=limits.max_records, max_bytes=limits.max_bytes, name=name
        )

    skipped: tuple[BadRecord, ...] = ()
    numbering: RecordNumbers | None = None
    try:
        plan = await files.run(lambda: plan_of(path, layout))
    except InputError as exc:
        if options.bad_rows is not BadRows.SKIP or exc.record is None:
            raise
        # Bad records, and the user asked to skip them: the good ones are copied to a clean file
        # (the slow lenient pass runs only now), which is then checked and cut as usual.
        clean = folders.work / "input.clean.csv"
        source_path, source_layout = path, layout
        skipped = tuple(
            await files.run(lambda: separate_bad_records(source_path, source_layout, clean, name=name))
        )
        if not skipped:
            raise
        path, user_file = clean, None
        layout = await files.run(
            lambda: inspect_layout(
                clean,
                delimiter=source_layout.column_delimiter,
                line_ending=source_layout.line_ending,
                name=name,
            )
        )
        clean_layout = layout
        plan = await files.run(lambda: plan_of(clean, clean_layout))
        numbering = RecordNumbers(removed=[bad.record for bad in skipped])
    if plan.report.records == 0 and not skipped:
        raise InputError("the file has a header line but no records: nothing to load", path=name)
    planned, shaped_path = plan.chunks, path
    # Small jobs at both ends, so a paced org starts sooner and runs dry evenly (see _shape).
    chunks = await files.run(
        lambda: shape_chunks(shaped_path, planned, max_records=limits.max_records, name=name)
    )
    field_types: dict[str, str] = {}
    if client is not None:
        described = await describe_object(client, options.object)
        if described is None:
            notes.append(f"describe {options.object} was refused; the header was not checked against it")
        else:
            field_types = described.field_types

            async def describe_parent(object_name: str) -> Describe | None:
                try:
                    return await describe_object(client, object_name)
                except ValueError:
                    return None

            problems = await check_header(
                layout.columns, options.operation, options.external_id_field, described, describe_parent
            )
            if problems:
                raise PreflightError(problems, path=name)
    if identity_file is not None:
        identity = await files.run(lambda: file_identity(identity_file))
    else:
        # Rows serialised by asyncbulk: identified by their content, not the file's time.
        rows_file = folders.work / "input.csv"
        identity = await files.run(lambda: file_identity(rows_file, whole=True))
    return PreparedInput(
        path=path,
        name=name,
        layout=layout,
        chunks=chunks,
        records=plan.report.records,
        numbering=numbering,
        user_file=user_file if user_file == path else None,
        identity=identity,
        field_types=field_types,
        skipped=skipped,
    )


def _same(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


async def _utf8_file(
    source: Source, options: LoadOptions, folders: Folders, files: FileWork
) -> tuple[Path, str, Path | None]:
    """The UTF-8 file to read, the name to show, and the user's own file (if there is one)."""
    if isinstance(source, str | os.PathLike):
        user = Path(source)
        name = str(source)
        await files.run(lambda: stat_input(user, name))
        if _same(user, folders.work / "input.csv"):
            return user, name, None  # the rows a first run serialised (a resume)
        if options.utf8:
            return user, name, user
        dest = folders.work / "input.utf8.csv"
        await files.run(lambda: transcode_to_utf8(user, dest, options.encoding, name=name))
        return dest, name, user
    dest = folders.work / "input.csv"
    await rows_to_csv(
        source, dest, delimiter=options.column_delimiter, line_ending=options.line_ending or LineEnding.LF
    )
    return dest, str(dest), None
