"""``python -m asyncbulk``: the same command line as the ``asyncbulk`` script."""

from __future__ import annotations

from ._cli import main

raise SystemExit(main())
