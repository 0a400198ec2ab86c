"""The load's folders and its file work: worker threads, and errors that name the file.

File work (reading chunks, merging results, the journal) runs in the load's own two worker threads:
every extra thread that allocates gets a malloc arena of its own, which showed as ~35 MB more peak
memory in a million-row load, and the event loop never waits on the disk.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import anyio
import anyio.to_thread

from .._journal import JOURNAL_NAME
from ._merge import MERGED_FILES
from ._naming import naming

__all__ = ["WORK_DIR", "FileWork", "Folders", "naming"]

T = TypeVar("T")

#: The load's own files (converted input, downloaded results, retry rounds) inside ``out_dir``.
WORK_DIR = ".asyncbulk"
SUMMARY_NAME = "summary.json"


class FileWork:
    """Blocking file work in at most ``threads`` worker threads.

    :param threads: how many threads at once.
    """

    def __init__(self, threads: int = 2) -> None:
        self.limiter = anyio.CapacityLimiter(threads)

    async def run(self, func: Callable[[], T]) -> T:
        """Run ``func`` in a worker thread."""
        return await anyio.to_thread.run_sync(func, limiter=self.limiter)


@dataclass(frozen=True)
class Folders:
    """Where a load writes: ``out_dir`` with its result files, summary, journal and work folder.

    :param out: the out folder.
    """

    out: Path

    @property
    def work(self) -> Path:
        """The load's own files."""
        return self.out / WORK_DIR

    @property
    def journal(self) -> Path:
        """``journal.jsonl``."""
        return self.out / JOURNAL_NAME

    @property
    def summary(self) -> Path:
        """``summary.json``."""
        return self.out / SUMMARY_NAME

    def written(self) -> list[Path]:
        """Every file the load writes at the top of ``out_dir``."""
        return [*(self.out / name for name in MERGED_FILES.values()), self.summary, self.journal]

    def check_input(self, input_path: Path) -> None:
        """Refuse an out folder whose files would overwrite the input.

        :raises OptionError: a result, summary or journal path is the input file, or the input lies
            in the load's work folder (which a load rewrites).
        """
        from .._config import OptionError

        try:
            target = input_path.resolve()
        except (OSError, RuntimeError):  # RuntimeError: a symlink loop (Python 3.11's pathlib)
            return  # the input's own checks will say what is wrong with it
        for path in self.written():
            with contextlib.suppress(OSError):
                if path.resolve() == target or (path.exists() and os.path.samefile(path, target)):
                    raise OptionError(
                        "out_dir",
                        f"{self.out} would overwrite the input {input_path} (the load writes "
                        f"{path.name} there); choose another out folder",
                    )
        with contextlib.suppress(OSError):
            if target.is_relative_to(self.work.resolve()):
                raise OptionError(
                    "out_dir",
                    f"the input {input_path} lies in {self.work}, the load's own work folder, which a "
                    "load rewrites; move the file or choose another out folder",
                )
