"""Entry point for ``python -m compiler``."""

from compiler.cli import entry

entry()
