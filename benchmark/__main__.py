"""`python -m benchmark`: the command line (see benchmark/cli.py)."""

from benchmark.cli import main

raise SystemExit(main())
