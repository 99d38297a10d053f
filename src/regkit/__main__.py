"""`python -m regkit` is the `regkit` command."""

from regkit.cli import main

raise SystemExit(main())
