"""Read and cut the input: its layout, one structural pass, chunks of whole records (no network).

Typical use (what the loader does)::

    layout = inspect_layout(path, delimiter=ColumnDelimiter.COMMA, line_ending=None)
    plan = plan_chunks(path, layout, max_records=50_000, max_bytes=50_000_000)  # validates, one pass
    for chunk in plan.chunks:
        data = read_chunk(path, layout, chunk)
"""

from ._chunks import DEFAULT_BLOCK_SIZE as DEFAULT_BLOCK_SIZE
from ._chunks import Chunk as Chunk
from ._chunks import ChunkPlan as ChunkPlan
from ._chunks import ValidationReport as ValidationReport
from ._chunks import iter_chunks as iter_chunks
from ._chunks import plan_chunks as plan_chunks
from ._chunks import read_chunk as read_chunk
from ._chunks import validate as validate
from ._chunks import verify_chunk as verify_chunk
from ._layout import CsvLayout as CsvLayout
from ._layout import inspect_layout as inspect_layout
from ._records import first_record_end as first_record_end
from ._records import last_record_end as last_record_end
from ._salvage import BadRecord as BadRecord
from ._salvage import separate_bad_records as separate_bad_records
from ._source import csv_writer as csv_writer
from ._source import rows_to_csv as rows_to_csv
from ._source import rows_to_csv_sync as rows_to_csv_sync
from ._source import transcode_to_utf8 as transcode_to_utf8

__all__ = [
    "DEFAULT_BLOCK_SIZE",
    "BadRecord",
    "Chunk",
    "ChunkPlan",
    "CsvLayout",
    "ValidationReport",
    "csv_writer",
    "first_record_end",
    "inspect_layout",
    "iter_chunks",
    "last_record_end",
    "plan_chunks",
    "read_chunk",
    "rows_to_csv",
    "rows_to_csv_sync",
    "separate_bad_records",
    "transcode_to_utf8",
    "validate",
    "verify_chunk",
]
