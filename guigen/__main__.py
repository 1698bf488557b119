"""`python -m guigen` is the same as the `guigen` command."""

from guigen.cli import main

raise SystemExit(main())
