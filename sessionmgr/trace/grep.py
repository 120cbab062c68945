"""The lines a pattern finds something in, searched a chunk of text at a time rather than a line at a time."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO, Final

__all__ = ["CHUNK", "grep"]

#: Characters read at a time.
CHUNK: Final = 1 << 20


def grep(handle: IO[str], pattern: re.Pattern[str], *, chunk: int = CHUNK) -> Iterator[str]:
    """The lines of ``handle`` (line endings on) in which ``pattern`` matches, in order.

    What ``[line for line in handle if pattern.search(line)]`` gives, for a pattern
    that matches no line ending, with one search over each chunk instead of one call
    per line: a replay's first look at a million-line trace for its few recorded
    failures. A line longer than a chunk is gathered from its pieces.
    """
    pieces: list[str] = []  # the start of a line that goes on in the next chunk
    while text := handle.read(chunk):
        end = text.rfind("\n") + 1
        if end == 0:
            pieces.append(text)
            continue
        whole = "".join([*pieces, text[:end]]) if pieces else text[:end]
        pieces = [text[end:]] if end < len(text) else []
        yield from _lines_matching(whole, pattern)
    if pieces:
        yield from _lines_matching("".join(pieces), pattern)


def _lines_matching(text: str, pattern: re.Pattern[str]) -> Iterator[str]:
    """The lines of ``text`` (whole lines, the last perhaps without its ending) with a match."""
    done = 0  # where the last line yielded ended: a second match in it is not a second line
    for match in pattern.finditer(text):
        start = text.rfind("\n", 0, match.start()) + 1
        if start < done:
            continue
        stop = text.find("\n", match.end()) + 1 or len(text)
        yield text[start:stop]
        done = stop
