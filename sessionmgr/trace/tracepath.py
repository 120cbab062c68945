"""One fused loop for a canonical trace's lines: numbering, typed decoding, the event and its count, inline.

Read by the general path, a trace line passes through four generators (the file's
lines, their numbering, ``canonical.read_trace``, the reader's count) and, on the
typed path, ``typed.decode_line`` and ``codec.parse_time``: some ten Python calls
for a line msgspec decodes in one. This loop does the same, inline, for the line a
trace is made of: an event line after the header that typed decoding reads, whose
time is ISO-8601 in UTC (``…Z``, as every trace writes it) or any time ``parse_time``
reads, and whose offset is absent or a plain in-range number. Every other line (the
header, blank lines, bad JSON, a field of the wrong type, a header's key, a far
offset, anything typed decoding leaves to the generic decoder) goes to
:class:`canonical.TraceLines` as before, which accounts for it in its own words.

The general path is the reference: tests/test_tracepath.py proves the two give the
same events, offsets, line accounting, rejections and counts, yielded at the same
lines, on random and hostile lines. ``readers.Reader`` reads every trace with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Final, Protocol

from sessionmgr.events import DecryptError
from sessionmgr.trace import typed
from sessionmgr.trace.canonical import TraceLines
from sessionmgr.trace.codec import TraceError, check_offset, parse_time
from sessionmgr.trace.detect import DETECT_LINES
from sessionmgr.trace.fieldtypes import MAX_OFFSET
from sessionmgr.trace.lines import Located, ReadContext

__all__ = ["FUSED", "Tally", "read_counted"]

#: Whether ``Reader`` reads traces with this loop (tests turn it off to compare it with the general path).
FUSED = True

# Bound once, as in codec: a replay's frozen wall clock (freezegun) must not make the times FakeDatetimes.
_FROM_ISO: Final = datetime.fromisoformat
#: The longest time text parse_time reads (fromisoformat is quadratic in the length).
_MAX_TIME_CHARS: Final = 64


class Tally(Protocol):
    """Where the reader keeps the count of what it read (the progress bar reads it mid-file)."""

    bytes_read: int


def read_counted(lines: Iterator[str], ctx: ReadContext, head: list[str], tally: Tally) -> Iterator[Located]:
    """The trace's events from its raw lines (line endings on), counted as ``Reader`` counts them.

    Stands for ``Reader._numbered`` (numbering, ``head`` gets the first lines, ``stats.lines``
    and ``tally.bytes_read`` kept current), then ``canonical.read_trace``, then the reader's
    count of events and failures, for every line.
    """
    decode = typed.DECODE  # None without msgspec: every line is the generic path's
    general = TraceLines(ctx)
    stats, path = ctx.stats, ctx.path
    makers = typed.MAKERS
    number = 0
    for raw in lines:
        number += 1
        if number <= DETECT_LINES:
            head.append(raw)
        stats.lines = number  # kept current: a rejection, a follower or the progress bar may read it mid-file
        tally.bytes_read += len(raw)
        text = raw.rstrip("\r\n")
        if decode is not None and general.header_seen and text[:1] == "{":
            try:  # typed.decode_line, inline
                line = decode(text)
            except (ValueError, RecursionError):  # msgspec's errors, UnicodeEncodeError, depth: the generic path's
                line = None
            if line is not None:
                t = line.t
                if type(t) is str and t[-1:] == "Z" and len(t) <= _MAX_TIME_CHARS:  # _time's first case, inline
                    try:
                        at: datetime | None = _FROM_ISO(t)
                    except ValueError:
                        at = _time(t)
                else:
                    at = _time(t)
                offset = line.offset
                if at is not None and (
                    offset is None
                    or (type(offset) is float and -MAX_OFFSET <= offset <= MAX_OFFSET)  # (NaN is not)
                    or _offset_ok(offset)
                ):
                    make, failure = makers[type(line)]
                    stats.events += 1
                    if failure:
                        stats.failures += 1
                    yield Located(make(line, line.session, at), path, number, offset)
                    continue
        located = general.read(number, text)
        if located is not None:
            stats.events += 1
            if isinstance(located.event, DecryptError):
                stats.failures += 1
            yield located


def _time(value: str | float) -> datetime | None:
    """``parse_time(value)``, or ``None`` where it raises.

    A time ending in ``Z`` goes to ``fromisoformat`` as it is: where that reads it, it reads the
    ``Z`` (which must end the text, be the only one and follow a whole time) as UTC, exactly as
    ``parse_time`` reads it written ``+00:00``; where it does not, ``parse_time`` decides.
    """
    if type(value) is str and value[-1:] == "Z" and len(value) <= _MAX_TIME_CHARS:
        try:
            return _FROM_ISO(value)
        except ValueError:
            pass
    try:
        return parse_time(value)
    except TraceError:
        return None


def _offset_ok(offset: float) -> bool:
    try:
        check_offset(offset)
    except TraceError:
        return False
    return True
