"""`python -m netcds` runs the CLI."""

from netcds.cli import main

main()
