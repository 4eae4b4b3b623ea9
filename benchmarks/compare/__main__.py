"""Entry point of `python -m benchmarks.compare`."""

from .cli import main

raise SystemExit(main())
