"""Records spread over several lines: pretty-printed JSON, Node's util.inspect, lines a terminal hard-wrapped.

A pretty-printed record starts with a line that opens more braces than it closes
and ends with ``{``, ``[`` or ``,``; it ends when its braces balance. A
hard-wrapped record starts with a line exactly as long as a common terminal width
that is not valid JSON alone; its pieces are glued back until a shorter piece (or
the JSON parses). Both are bounded, and a new JSON line that stands on its own
ends a record that never closed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Literal

from sessionmgr.trace import safejson
from sessionmgr.trace.lines import NumberedLines, ReadContext

__all__ = ["MAX_RECORD_LINES", "WRAP_WIDTHS", "JsonRecord", "depth", "start_record", "unwrap"]

#: A multi-line record longer than this is rejected rather than read on.
MAX_RECORD_LINES: Final = 2000
#: Widths terminals and collectors hard-wrap at: a JSON line cut at one of them is continued.
WRAP_WIDTHS: Final = frozenset({80, 100, 120, 132, 150, 160, 200, 240, 256})

#: What a line did to a record: it is still open, it is complete, the line was not part of it
#: (the record never closed), or the record grew past the bound.
Step = Literal["more", "complete", "unclosed", "too long"]


@dataclass(slots=True)
class JsonRecord:
    """A JSON (or JS-literal) record being gathered."""

    line: int
    prefix_time: str | None
    lines: list[str]
    depth: int = 0
    wrap_width: int = 0  # the width its first line was cut at, when hard-wrapped
    ignored_as: str = field(default="multi-line record")

    def add(self, text: str, width: int) -> Step:
        if self.wrap_width:
            if text.startswith("{") and text.endswith("}") and _parses(text):
                return "unclosed"  # a record of its own: the cut line was not the start of one
            self.lines[-1] += text
            if width < self.wrap_width or (text.endswith("}") and _parses(self.lines[-1])):
                return "complete"
            return "too long" if len(self.lines[-1]) > MAX_RECORD_LINES * self.wrap_width else "more"
        if text.startswith("{") and depth(text) == 0:
            return "unclosed"
        self.lines.append(text)
        self.depth += depth(text)
        if self.depth <= 0:
            return "complete"
        return "too long" if len(self.lines) > MAX_RECORD_LINES else "more"

    def text(self) -> str:
        return "\n".join(self.lines)


def start_record(number: int, text: str, prefix_time: str | None, width: int) -> JsonRecord | None:
    """A record that continues on the next lines, for a ``{`` line that is not valid JSON alone; else ``None``."""
    if width in WRAP_WIDTHS:  # hard-wrapped by a terminal: the pieces are glued back
        return JsonRecord(number, prefix_time, [text], wrap_width=width, ignored_as="hard-wrapped line")
    opened = depth(text)
    if opened > 0 and text.rstrip().endswith(("{", "[", ",")):  # pretty-printed over lines
        return JsonRecord(number, prefix_time, [text], depth=opened)
    return None


def _parses(text: str) -> bool:
    try:
        safejson.loads(text)
    except json.JSONDecodeError:
        return False
    return True


def depth(text: str) -> int:
    """Braces and brackets opened minus closed, outside strings (a cheap count, good for a record's shape)."""
    if '"' not in text and "'" not in text:
        return text.count("{") + text.count("[") - text.count("}") - text.count("]")
    opened = 0
    quote = ""
    escaped = False
    for char in text:
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char in "{[":
            opened += 1
        elif char in "}]":
            opened -= 1
    return opened


def unwrap(lines: NumberedLines, ctx: ReadContext, continues: Callable[[str], bool]) -> NumberedLines:
    """Text lines a terminal cut at its width, glued back (JSON records are glued by :class:`JsonRecord`).

    A line exactly a wrap width long waits for the next; ``continues`` says whether
    that one is its rest (then counted as a ``hard-wrapped line``) or a line of its own.
    """
    held: tuple[int, str] | None = None
    for number, raw in lines:
        if held is not None:
            if continues(raw):
                ctx.ignore("hard-wrapped line")
                held = (held[0], held[1] + raw)
                if len(raw) in WRAP_WIDTHS:
                    continue
                yield held
                held = None
                continue
            yield held
            held = None
        if len(raw) in WRAP_WIDTHS and raw[:1] != "{":
            held = (number, raw)
            continue
        yield number, raw
    if held is not None:
        yield held
