"""``python -m asyncbulk.emulator``: the same as ``asyncbulk emulator``."""

import sys

from ._main import main

sys.exit(main())
