"""`python -m osiris` is the `osiris` command."""

from osiris.cli.app import main

main()
