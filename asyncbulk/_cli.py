"""The ``asyncbulk`` command line (placeholder until the CLI lands)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Run the command line."""
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "emulator":
        from .emulator._main import main as emulator_main

        return emulator_main(args[1:])
    print("usage: asyncbulk emulator ...", file=sys.stderr)
    return 2
