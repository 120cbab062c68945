"""Where the commands print summaries: rich consoles on stdout or stderr, in colour only on a terminal."""

from __future__ import annotations

import sys

from rich.console import Console, RenderableType

__all__ = ["show"]

_MAX_WIDTH = 120


def show(renderable: RenderableType, *, err: bool = False) -> None:
    """Print ``renderable`` on stdout (or stderr), no wider than the terminal or 120 columns."""
    stream = sys.stderr if err else sys.stdout
    console = Console(file=stream, highlight=False, soft_wrap=False)
    console.width = min(console.width, _MAX_WIDTH) if console.is_terminal else _MAX_WIDTH
    console.print(renderable)
