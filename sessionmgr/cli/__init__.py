"""The ``sessionmgr`` command: one module per command."""

from sessionmgr.cli.main import main

__all__ = ["main"]
