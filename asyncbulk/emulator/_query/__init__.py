"""The query layer: Bulk API 2.0 query jobs, their runs in the background, their result pages."""

from ._job import QueryJob
from ._manager import CHUNK_ROWS, QueryJobManager
from ._pages import Page

__all__ = ["CHUNK_ROWS", "Page", "QueryJob", "QueryJobManager"]
