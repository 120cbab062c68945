"""One fused loop for a canonical trace's lines: numbering, typed decoding, the event and its count, inline.

Read by the general path, a trace line passes through three generators (the
numbering, ``canonical.read_trace``, the reader's count) and, on the typed path,
``typed.decode_line`` and ``codec.parse_time``: some ten Python calls for a line
msgspec decodes in one. This loop does the same, inline, for the line a
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
from sessionmgr.trace.lines import DAMAGE, Located, ReadContext

__all__ = ["FUSED", "Tally", "read_counted"]

#: Whether ``Reader`` reads traces with this loop (tests turn it off to compare it with the general path).
FUSED = True

# Bound once, as in codec: a replay's frozen wall clock (freezegun) must not make the times FakeDatetimes.
_FROM_ISO: Final = datetime.fromisoformat
#: The longest time text parse_time reads (fromisoformat is quadratic in the length).
_MAX_TIME_CHARS: Final = 64


class Tally(Protocol):
    """The reader's side of the loop: its running count, and what it does with damage and at the end."""

    #: characters read so far (the progress bar reads it mid-file)
    bytes_read: int

    def damaged_by(self, exc: BaseException) -> None:
        """A compressed input is cut short or corrupt here (``exc`` is one of :data:`lines.DAMAGE`)."""

    def finish(self) -> None:
        """The last line was read."""


def read_counted(lines: Iterator[str], ctx: ReadContext, head: list[str], tally: Tally) -> Iterator[Located]:
    """The trace's events from its raw lines (line endings on), counted as ``Reader`` counts them.

    Stands for ``Reader._numbered`` (the lines up to any damage,
    numbered; ``head`` gets the first lines, ``stats.lines`` and ``tally.bytes_read`` kept
    current), then ``canonical.read_trace``, then the reader's count of events and failures.
    """
    decode = typed.DECODE  # None without msgspec: every line is the generic path's
    general = TraceLines(ctx)
    stats, path = ctx.stats, ctx.path
    makers = typed.MAKERS
    new = object.__new__
    header_seen = False  # general.header_seen, as of the last line it read
    number = 0
    try:
        for raw in lines:
            number += 1
            if number <= DETECT_LINES:
                head.append(raw)
            stats.lines = number  # kept current: a rejection, a follower or the progress bar may read it mid-file
            tally.bytes_read += len(raw)
            text = raw.rstrip("\r\n")
            if header_seen and text and text[0] == "{" and decode is not None:
                try:  # typed.decode_line, inline
                    line = decode(text)
                except (ValueError, RecursionError):  # msgspec's errors, UnicodeEncodeError, depth: the generic path's
                    line = None
                if line is not None:
                    t = line.t
                    # _time's first case, inline: one "Z", at the end
                    if type(t) is str and t.find("Z") == len(t) - 1 and len(t) <= _MAX_TIME_CHARS:
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
                        # Located(event, path, number, offset), without a call to its __init__
                        located = new(Located)
                        located.event = make(line, line.session, at)
                        located.source = path
                        located.line = number
                        located.offset = offset
                        located.untimed = False
                        yield located
                        continue
            general_located = general.read(number, text)
            header_seen = general.header_seen
            if general_located is not None:
                stats.events += 1
                if isinstance(general_located.event, DecryptError):
                    stats.failures += 1
                yield general_located
    except DAMAGE as exc:  # (from the lines: the loop itself reads no file)
        tally.damaged_by(exc)
    tally.finish()


def _time(value: str | float) -> datetime | None:
    """``parse_time(value)``, or ``None`` where it raises.

    A time whose one ``Z`` ends it goes to ``fromisoformat`` as it is: where that reads it, it
    reads the ``Z`` as UTC, exactly as ``parse_time`` reads it written ``+00:00`` (a ``Z``
    elsewhere may be read as the date's separator, which ``parse_time`` refuses); where it
    does not, ``parse_time`` decides.
    """
    if type(value) is str and value.find("Z") == len(value) - 1 and len(value) <= _MAX_TIME_CHARS:
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
