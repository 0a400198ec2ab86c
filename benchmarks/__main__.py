"""``python -m benchmarks``: see ``benchmarks/README.md``."""

from benchmarks._harness import main

raise SystemExit(main())
