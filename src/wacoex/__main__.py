"""`python -m wacoex` runs the CLI."""

from wacoex.cli import main

main()
