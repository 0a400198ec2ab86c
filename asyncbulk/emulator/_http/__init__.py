"""The HTTP layer: Salesforce's REST surface for Bulk API 2.0 ingest, over the ingest layer."""

from ._app import build_app
from ._state import EmulatorState

__all__ = ["EmulatorState", "build_app"]
