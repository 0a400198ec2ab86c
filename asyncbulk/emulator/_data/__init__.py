"""The data layer: the org's records and stored jobs in SQLite, seen from above through :class:`Org`."""

from ._batch import Block, block_len
from ._checks import LockFail
from ._errors import HeaderError, QueryError
from ._extract import BulkQuery
from ._jobstore import JobWrite, UploadWriter
from ._org import Org
from ._plan import JobSpec
from ._records import RecordError
from ._results import BatchResults, RowResult
from ._schema import FieldDef, ObjectDef, Schema, SchemaError

__all__ = [
    "BatchResults",
    "Block",
    "BulkQuery",
    "FieldDef",
    "HeaderError",
    "JobSpec",
    "JobWrite",
    "LockFail",
    "ObjectDef",
    "Org",
    "QueryError",
    "RecordError",
    "RowResult",
    "Schema",
    "SchemaError",
    "UploadWriter",
    "block_len",
]
