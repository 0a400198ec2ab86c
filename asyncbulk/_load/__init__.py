"""One load, as stages: prepare, submit, poll, collect (merge), retry rounds, finish."""

from ._api import Connection as Connection
from ._api import load as load
from ._finish import resumable as resumable
from ._prepare import stat_input as stat_input

__all__ = ["Connection", "load", "resumable", "stat_input"]
