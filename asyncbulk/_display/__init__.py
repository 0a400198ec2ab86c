"""What the command line shows while a load runs, and the summary it prints at the end.

Two renderings of the same :class:`~asyncbulk._progress.ProgressSnapshot`:

- on a terminal (or in Jupyter), a live block drawn by :class:`rich.live.Live`: a bar, the
  counters, the rate and the time left, and, while a request waits to be tried again, a line that
  says so and why. It is redrawn at most :attr:`ProgressDisplay.redraw_interval` apart, so a fast
  load does not spend its time drawing;
- anywhere else (a log file, CI), one plain line every :attr:`ProgressDisplay.line_interval`
  seconds, plus a line for each event worth keeping in a log (validated, a job that failed, a retry
  round, a wait, the end), with no escape codes.

:func:`render_summary` and :func:`render_plan` return the end-of-load table and the dry-run plan as
text (rich tables rendered to a string), so tests check them without a terminal.
"""

from ._live import ProgressDisplay, render_block
from ._tables import render_plan, render_summary, summary_dict
from ._text import format_count, format_duration, render_line

__all__ = [
    "ProgressDisplay",
    "format_count",
    "format_duration",
    "render_block",
    "render_line",
    "render_plan",
    "render_summary",
    "summary_dict",
]
