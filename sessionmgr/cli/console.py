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
    if console.is_terminal:
        console.width = min(console.width, _MAX_WIDTH)
        console.print(renderable)
        return
    # Piped: plain text, without the spaces that pad table cells to the end of a line.
    plain = Console(width=_MAX_WIDTH, color_system=None, highlight=False, soft_wrap=False)
    with plain.capture() as captured:
        plain.print(renderable)
    stream.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))
