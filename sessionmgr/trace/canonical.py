"""Reader for the canonical trace (``sessionmgr.trace/1``): a header line, then one event per line."""

from __future__ import annotations

from collections.abc import Iterator

from sessionmgr.trace.codec import TRACE_SCHEMA, TraceError, decode_event, decode_offset
from sessionmgr.trace.lines import Located, NumberedLines, ReadContext
from sessionmgr.trace.typed import decode_line

__all__ = ["TraceLines", "read_trace"]


def read_trace(lines: NumberedLines, ctx: ReadContext) -> Iterator[Located]:
    """Events of a canonical trace; the first event line before any header is rejected (once), the rest are read."""
    general = TraceLines(ctx)
    for number, text in lines:
        if general.header_seen and text[:1] == "{":
            typed = decode_line(text)  # one pass in C; None for anything the generic path must judge
            if typed is not None:
                yield Located(typed[0], ctx.path, number, typed[1])
                continue
        located = general.read(number, text)
        if located is not None:
            yield located


class TraceLines:
    """The generic reading of a trace's lines, one at a time: the header, blank lines, rejections, every event.

    Typed decoding (:mod:`typed`) stands in for :meth:`read` only on an event line after the
    header, and only where it gives the same event; every other line comes here.
    """

    __slots__ = ("ctx", "header_seen")

    def __init__(self, ctx: ReadContext) -> None:
        self.ctx = ctx
        self.header_seen = False

    def read(self, number: int, text: str) -> Located | None:
        """The line's event, or ``None`` when the line is accounted for otherwise (ignored or rejected)."""
        ctx = self.ctx
        if not text or text.isspace():  # (not text.strip(), without a copy of every line)
            ctx.ignore("blank")
            return None
        record = ctx.json_object(number, text)
        if record is None:
            return None
        if "schema" in record:
            if record["schema"] != TRACE_SCHEMA:
                ctx.reject(number, f"schema: expected {TRACE_SCHEMA!r}, got {record['schema']!r}")
            else:
                self.header_seen = True
                ctx.ignore("header")
            return None
        if not self.header_seen:
            # reported once, and only once per line: a line is an event or a rejection, never both
            ctx.reject(number, f'event before the header line ({{"schema": "{TRACE_SCHEMA}"}})')
            self.header_seen = True
            return None
        try:
            event = decode_event(record)
            offset = decode_offset(record)
        except TraceError as exc:
            ctx.reject(number, str(exc))
            return None
        return Located(event, ctx.path, number, offset)
