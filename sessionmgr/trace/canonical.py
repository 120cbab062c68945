"""Reader for the canonical trace (``sessionmgr.trace/1``): a header line, then one event per line."""

from __future__ import annotations

from collections.abc import Iterator

from sessionmgr.trace.codec import TRACE_SCHEMA, TraceError, decode_event, decode_offset
from sessionmgr.trace.lines import Located, NumberedLines, ReadContext
from sessionmgr.trace.typed import decode_line

__all__ = ["read_trace"]


def read_trace(lines: NumberedLines, ctx: ReadContext) -> Iterator[Located]:
    """Events of a canonical trace; the first event line before any header is rejected (once), the rest are read."""
    header_seen = False
    for number, text in lines:
        if header_seen and text[:1] == "{":
            typed = decode_line(text)  # one pass in C; None for anything the generic path must judge
            if typed is not None:
                yield Located(typed[0], ctx.path, number, typed[1])
                continue
        if not text or text.isspace():  # (not text.strip(), without a copy of every line)
            ctx.ignore("blank")
            continue
        record = ctx.json_object(number, text)
        if record is None:
            continue
        if "schema" in record:
            if record["schema"] != TRACE_SCHEMA:
                ctx.reject(number, f"schema: expected {TRACE_SCHEMA!r}, got {record['schema']!r}")
            else:
                header_seen = True
                ctx.ignore("header")
            continue
        if not header_seen:
            # reported once, and only once per line: a line is an event or a rejection, never both
            ctx.reject(number, f'event before the header line ({{"schema": "{TRACE_SCHEMA}"}})')
            header_seen = True
            continue
        try:
            event = decode_event(record)
            offset = decode_offset(record)
        except TraceError as exc:
            ctx.reject(number, str(exc))
            continue
        yield Located(event, ctx.path, number, offset)
