"""One extract: a Bulk API 2.0 query job, its result pages downloaded (in parallel where the org
allows), written in order to one CSV file; journaled page by page, so a resume never starts over."""

from ._api import default_work_dir as default_work_dir
from ._api import extract_options as extract_options
from ._api import run_extract as run_extract
from ._journal import is_extract as is_extract
from ._journal import replay_extract as replay_extract

__all__ = ["default_work_dir", "extract_options", "is_extract", "replay_extract", "run_extract"]
