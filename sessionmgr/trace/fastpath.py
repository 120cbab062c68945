"""One fused loop for the lines a Baileys pino log is mostly made of, the general path for every other line.

A Baileys storm (WhiskeySockets/Baileys#2234) is tens of thousands of one-line pino
JSON records with libsignal-node's console lines between them. Read by the general
path (``logs.LogReader``), each line passes through some fifteen Python calls:
unwrapping, prefix stripping, indentation, kind dispatch, admission, the causes
queue. This loop does the same, inline, for two shapes of line, decided per line
by exact tests and never by a guess:

- a line starting ``{`` with no ANSI escape, that decodes to a JSON object that is
  neither zerolog's nor a logged message (``messageStubType``): a pino record. The
  general path sees no prefix on it (:func:`prefixes.strip_prefix` returns a ``{``
  line as it is), no indent, and hands it to ``_pino``, as done here;
- a line whose whole dispatch through the general path ends in libsignal's console
  (no prefix, not a header, Go, whatsmeow dump or logfmt line, a console text): what
  the general path decides is a function of the text alone, worked out once by
  :func:`console_plan` (the same helpers, in the same order) and remembered.

Everything else (a collector's prefix, ANSI colours, a line a terminal cut at its
width and the line after it, a record spread over lines and every line while it is
open, undecodable or non-object JSON, the first line, which may be a CSV header) goes
to the general path, line by line, as before; the general path is the reference and
tests/test_fastpath.py proves the two give the same events, rejections and line
accounting, yielded at the same lines. ``readers.Reader`` reads with it when every
kind it reads is admitted (auto, ``--format baileys`` or ``evolution``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any, Final

from sessionmgr.events import DecryptError
from sessionmgr.trace import safejson
from sessionmgr.trace.baileys import pino_event
from sessionmgr.trace.causes import CAUSE_HORIZON, Block
from sessionmgr.trace.codec import TraceError
from sessionmgr.trace.evolution import parse_evolution
from sessionmgr.trace.golang import parse_go_line, undecryptable_dump
from sessionmgr.trace.libsignal_console import console_line
from sessionmgr.trace.lines import Located, NumberedLines
from sessionmgr.trace.logfmt import logfmt_record
from sessionmgr.trace.logs import LogReader, _continues_wrap, _is_failure
from sessionmgr.trace.multiline import WRAP_WIDTHS
from sessionmgr.trace.prefixes import strip_prefix
from sessionmgr.trace.pretty import parse_header
from sessionmgr.trace.times import KNOWN, UNKNOWN, TimeQuality

try:  # records read into the fields read (msgspec, a dependency); without it, safejson's dicts
    from sessionmgr.trace import pinoline
except ImportError:  # pragma: no cover
    pinoline = None  # type: ignore[assignment]

__all__ = ["ConsolePlan", "console_plan", "fuses", "read_fused"]

#: What the general path does with a console line: (kind counted, cause named or None,
#: whether it starts a failure block, whether it stands at the margin and so is admitted as ``libsignal``).
ConsolePlan = tuple[str, str | None, bool, bool]
_BLOCK_START: Final = "Failed to decrypt message with any known session"
#: Distinct console lines remembered per input, and the longest one remembered (a storm repeats a handful).
PLAN_MEMO_SIZE: Final = 1024
PLAN_TEXT_LIMIT: Final = 512
#: remembered for a line that is not a plain console line: the general path reads it
_NOT_CONSOLE: Final = ("", None, False, False)
_NO_CAUSES: Final[list[str]] = []


def fuses(reader: LogReader) -> bool:
    """Whether the fused loop may read for this reader: it admits both kinds of line the loop reads."""
    return reader.allowed is None or ("baileys" in reader.allowed and "libsignal" in reader.allowed)


def console_plan(raw: str) -> ConsolePlan | None:
    """What the general path does with ``raw`` when no record is open, if it ends as a console line; else None.

    The same tests ``LogReader._physical_line`` and ``_line`` make, in their order, on a line
    that is not the input's first (the CSV header test) and not cut at a wrap width (``unwrap``).
    """
    if "\x1b" in raw:
        return None
    text, prefix_time, prefix = strip_prefix(raw)
    if prefix is not None or prefix_time is not None or text != raw or not text or text.isspace():
        return None
    first = text[:1]
    if first == "{" or (first.isspace() and text.lstrip()[:1] == "{"):  # a record, or an indented one (_unindent)
        return None
    if first == "[" and (parse_header(text) is not None or parse_evolution(text) is not None):
        return None
    if not first.isspace() and (parse_go_line(text) is not None or undecryptable_dump(text) is not None):
        return None
    if (first == "l" or first == "t") and logfmt_record(text) is not None:
        return None
    kind, cause = console_line(text)
    if kind is None:
        return None
    return kind, cause, _BLOCK_START in text, not first.isspace()


def read_fused(reader: LogReader, lines: NumberedLines) -> Iterator[Located]:
    """``reader.read(lines)`` (for a reader it :func:`fuses`): the same events, accounting and yields.

    Each inlined step names the general path's method it stands for.
    """
    ctx, out, days = reader.ctx, reader.out, reader.days
    stats = ctx.stats
    ignored, kinds, times = stats.ignored, stats.kinds, stats.times
    items = out.items
    path = ctx.path
    decode = safejson.FAST
    session = ctx.session
    #: records decoded into the fields read (pinoline), when msgspec reads lines and no field names the session
    typed = pinoline is not None and decode is not None and ctx.session_field is None
    decode_line = pinoline.decode_line if typed else None
    line_type: Any = pinoline.PinoLine if typed else _Untyped
    max_depth = safejson.MAX_DEPTH
    wrap_widths = WRAP_WIDTHS
    physical = reader._physical_line
    plans: dict[str, ConsolePlan] = {}
    held: tuple[int, str] | None = None
    for number, raw in lines:
        if held is None and reader.pending is None:
            if raw[:1] == "{":
                record = _record(raw, decode, max_depth, decode_line)
                if record is not None:
                    # LogReader._record from its admission on, then _pino with no time read elsewhere
                    kinds["baileys"] += 1
                    try:
                        if type(record) is line_type:
                            block = out.oldest_block("libsignal") if items and pinoline.is_failure(record) else None
                            event = pinoline.line_event(record, block.causes if block else _NO_CAUSES, session)
                        else:
                            assert isinstance(record, dict)
                            block = out.oldest_block("libsignal") if items and _is_failure(record) else None
                            event = pino_event(record, block.causes if block else _NO_CAUSES, ctx, None)
                    except TraceError as exc:
                        ctx.reject(number, str(exc))
                        event = None
                    else:
                        if event is None:
                            ignored["log line without a decrypt event"] += 1
                    if event is not None:
                        if block is not None and isinstance(event, DecryptError):
                            out.claim(block)
                        at = event.at
                        if days.dated:  # DayRoller.full on a dated clock, inline
                            days._last_full = at
                            quality: TimeQuality = KNOWN
                        else:
                            at, quality = days.full(at)
                            if at != event.at:
                                event = dataclasses.replace(event, at=at)
                        reader.last_at = at  # _saw_time
                        if not out.timed:
                            out.saw_time(at)
                        times[quality] += 1  # EventQueue.emit
                        located = Located(event, path, number, None, quality == UNKNOWN)
                        if not items:  # (timed now) appended, aged and drained at once: yielded as it is
                            yield located
                            continue
                        items.append(located)
                    if not out.timed or (items and (len(items) > 1 or not isinstance(items[0], Located))):
                        out.line_read()
                    if items and (out.timed or out.untimed_lines > CAUSE_HORIZON):  # drain
                        while items and isinstance(items[0], Located):
                            yield items.popleft()  # type: ignore[misc]
                    continue
            elif number != 1 and len(raw) not in wrap_widths:
                plan = plans.get(raw)
                if plan is None:
                    plan = console_plan(raw) or _NOT_CONSOLE
                    if len(plans) < PLAN_MEMO_SIZE and len(raw) <= PLAN_TEXT_LIMIT:
                        plans[raw] = plan
                if plan is not _NOT_CONSOLE:
                    # LogReader._console_line with no prefix time
                    kind, cause, starts, margin = plan
                    ignored[kind] += 1
                    if margin or starts or cause is not None:  # (a stack frame or a dump's line: none of these)
                        if margin:
                            kinds["libsignal"] += 1
                        block = None
                        if starts or (cause is not None and out.open_block("libsignal") is None):
                            block = Block(number, reader.last_at, UNKNOWN, "libsignal", kind)
                            out.hold(block)
                        if cause is not None:
                            block = block or out.open_block("libsignal")  # (the newest: the one just held, if any)
                            assert block is not None
                            block.causes.append(cause)
                            block.quiet = 0
                    # EventQueue.line_read, inline for the one block a storm has waiting while it is young
                    # (then nothing drains: the block is first in line)
                    waiting = items[0] if len(items) == 1 else None
                    if out.timed and isinstance(waiting, Block) and waiting.quiet < CAUSE_HORIZON:
                        waiting.quiet += 1
                        continue
                    if items or not out.timed:
                        out.line_read()
                    if items and (out.timed or out.untimed_lines > CAUSE_HORIZON):
                        while items and isinstance(items[0], Located):
                            yield items.popleft()  # type: ignore[misc]
                    continue
        # the general path, with multiline.unwrap's gluing of the lines a terminal cut at its width
        if held is not None:
            if _continues_wrap(raw):
                ignored["hard-wrapped line"] += 1
                held = (held[0], held[1] + raw)
                if len(raw) in wrap_widths:
                    continue
                physical(*held)
                held = None
                if items:
                    yield from out.drain()
                continue
            physical(*held)
            held = None
            if items:
                yield from out.drain()
        if len(raw) in wrap_widths and raw[:1] != "{":
            held = (number, raw)
            continue
        physical(number, raw)
        if items:
            yield from out.drain()
    if held is not None:
        physical(*held)
        if items:
            yield from out.drain()
    if reader.pending is not None:
        reader._close_pending()
    yield from out.finish()


class _Untyped:
    """No record is one of these: without msgspec every record is a dict."""


def _record(
    raw: str, decode: Callable[[str], Any] | None, max_depth: int, decode_line: Callable[[str], Any] | None
) -> Any:
    """The pino record a ``{`` line is, if the general path would read it as one; else None (it reads the line).

    The general path: no prefix or indent on a ``{`` line without ANSI escapes; ``safejson.loads``
    (msgspec under the depth guard; the standard library decides whatever msgspec refuses);
    a JSON object, not zerolog's, not a logged message. Decoded into a :class:`PinoLine` where
    that reads it, else into a dict.
    """
    if decode is None or "\x1b" in raw:
        return None
    brackets = raw.count("{")
    if "[" in raw:  # (a storm's records have none: one count, not two)
        brackets += raw.count("[")
    if brackets > max_depth:
        return None
    if decode_line is not None:
        line = decode_line(raw)
        if line is not None:
            return line
    try:
        record = decode(raw)
    except ValueError:
        return None
    if type(record) is not dict or "messageStubType" in record:
        return None
    if isinstance(record.get("level"), str) and "message" in record and "msg" not in record:
        return None  # zerolog's JSON
    return record
