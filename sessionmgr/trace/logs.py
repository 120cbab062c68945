"""The reader for operators' logs: every text format at once, recognised line by line.

A file may mix formats (pm2 and compose interleave processes; a Baileys bot prints
pino lines and libsignal-node's console lines). Each line loses its collector's
prefix (``prefixes``), then is recognised by its first character, cheapest test
first: ``{`` a JSON record (pino, zerolog, a logged message; continued over lines
when pretty-printed or hard-wrapped, ``multiline``), ``[`` a pino-pretty header,
Evolution API's or a Go logger's bracket, else libsignal-node's console,
whatsmeow's or zerolog's console lines. libsignal's failure blocks wait in the
``causes`` queue for the failure line that claims them.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections import deque
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Final

from sessionmgr.events import DecryptError
from sessionmgr.trace import safejson
from sessionmgr.trace.baileys import inspect_stub, pino_event, stub_event, stub_fields
from sessionmgr.trace.causes import Block, EventQueue
from sessionmgr.trace.codec import TraceError
from sessionmgr.trace.evolution import EvolutionLine, evolution_event, parse_evolution
from sessionmgr.trace.golang import (
    GoLine,
    dump_event,
    parse_go_line,
    parse_whatsmeow_failure,
    undecryptable_dump,
    whatsmeow_event,
)  # fmt: skip
from sessionmgr.trace.libsignal_console import console_line
from sessionmgr.trace.lines import Located, NumberedLines, ReadContext
from sessionmgr.trace.logfmt import logfmt_record
from sessionmgr.trace.multiline import JsonRecord, start_record, unwrap
from sessionmgr.trace.prefixes import strip_prefix
from sessionmgr.trace.pretty import PrettyHeader, block_fields, is_field_line, parse_header
from sessionmgr.trace.times import NOMINAL_DAY, UNKNOWN, DayRoller, TimeQuality, read_time

__all__ = ["FORMAT_KINDS", "LOG_FORMATS", "LogReader", "line_kind"]

#: The log formats ``--format`` names, and the kinds of line each admits.
FORMAT_KINDS: Final[dict[str, frozenset[str]]] = {
    "baileys": frozenset({"baileys", "libsignal"}),
    "pino-pretty": frozenset({"pino-pretty", "libsignal"}),
    "libsignal": frozenset({"libsignal"}),
    "whatsmeow": frozenset({"whatsmeow"}),
    "evolution": frozenset({"evolution", "baileys", "pino-pretty", "libsignal"}),
}
LOG_FORMATS: Final = tuple(FORMAT_KINDS)
_BLOCK_START: Final = "Failed to decrypt message with any known session"
_CSV_HEADER: Final = re.compile(r'^"?[A-Za-z_][\w .@-]*"?(?:,"?[A-Za-z_][\w .@-]*"?)+$')
_UNKNOWN_LINE: Final = "not a line of any known log format (pino JSON or pretty, libsignal, whatsmeow, Evolution API)"


def line_kind(text: str) -> str | None:
    """Which kind of line this is (for guessing a file's format), without reading it fully."""
    text, _, _ = strip_prefix(text)
    text = _unindent(text)
    first = text[:1]
    if first == "{":
        try:
            record = safejson.loads(text)
        except json.JSONDecodeError:
            return None
        if isinstance(record, dict) and isinstance(record.get("level"), str) and "message" in record:
            return "whatsmeow"
        return "baileys" if isinstance(record, dict) else None
    if first == "[" and parse_header(text) is not None:
        return "pino-pretty"
    if first == "[" and parse_evolution(text) is not None:
        return "evolution"
    if parse_go_line(text) is not None:
        return "whatsmeow"
    kind, _ = console_line(text)
    return "libsignal" if kind is not None and not text[:1].isspace() else None


@dataclasses.dataclass(slots=True)
class _PrettyBlock:
    """A pino-pretty header and the indented field lines after it."""

    line: int
    header: PrettyHeader
    prefix_time: str | None
    lines: list[str] = dataclasses.field(default_factory=list)


class LogReader:
    """Reads one input of operators' logs; a ``requested`` format limits the kinds of line it admits."""

    def __init__(self, ctx: ReadContext, requested: str | None = None) -> None:
        self.ctx = ctx
        self.requested = requested
        self.allowed = FORMAT_KINDS.get(requested) if requested else None
        self.days = DayRoller()
        self.last_at: datetime = NOMINAL_DAY
        self.pending: _PrettyBlock | JsonRecord | None = None
        self.out = EventQueue(ctx)
        self.recent_ids: deque[str] = deque(maxlen=64)

    def read(self, lines: NumberedLines) -> Iterator[Located]:
        out = self.out
        for number, raw in unwrap(lines, self.ctx, _continues_wrap):
            self._physical_line(number, raw)
            if out.items:  # (drain yields nothing from an empty queue: no generator made per line for nothing)
                yield from out.drain()
        if self.pending is not None:
            self._close_pending()
        yield from self.out.finish()

    def _physical_line(self, number: int, raw: str) -> None:
        text, prefix_time, prefix = strip_prefix(raw)
        if prefix is not None:
            self.ctx.stats.prefixes[prefix] += 1
        if self.pending is None or not self._continue(text, len(raw)):
            self._line(number, text, prefix_time, len(raw))
        self.out.line_read()

    # --- times and kinds --------------------------------------------------------------------

    def _time(self, *texts: str | None) -> tuple[datetime, TimeQuality]:
        for text in texts:
            if text:
                at, quality = read_time(text, self.days)
                if at is not None:
                    self._saw_time(at)
                    return at, quality
        return self.last_at, UNKNOWN

    def _saw_time(self, at: datetime) -> None:
        self.last_at = at
        self.out.saw_time(at)

    def _admit(self, number: int, kind: str) -> bool:
        self.ctx.stats.kinds[kind] += 1
        if self.allowed is None or kind in self.allowed:
            return True
        fit = next((name for name, kinds in FORMAT_KINDS.items() if kind in kinds), kind)
        self.ctx.reject(number, f"a {kind} line, not --format {self.requested}: --format {fit} (or auto) reads it")
        return False

    # --- one line ---------------------------------------------------------------------------

    def _line(self, number: int, text: str, prefix_time: str | None, width: int) -> None:
        text = _unindent(text)
        first = text[:1]
        if not text or text.isspace():
            self.ctx.ignore("blank")
        elif first == "{":
            self._json_line(number, text, prefix_time, width)
        elif first == "[" and (header := parse_header(text)) is not None:
            if self._admit(number, "pino-pretty"):
                self.pending = _PrettyBlock(number, header, prefix_time)
        elif first == "[" and (evolution := parse_evolution(text)) is not None:
            if self._admit(number, "evolution"):
                self._evolution(number, evolution)
        elif not first.isspace() and (go := parse_go_line(text)) is not None:
            if self._admit(number, "whatsmeow"):
                self._go_line(number, go, prefix_time)
        elif not first.isspace() and (dump := undecryptable_dump(text)) is not None:
            if self._admit(number, "whatsmeow"):
                self._dump(number, dump, prefix_time)
        elif number == 1 and _CSV_HEADER.match(text):
            self.ctx.ignore("csv header")
        elif first == "l" or first == "t":
            self._logfmt_line(number, text, prefix_time)
        else:
            self._console_line(number, text, prefix_time)

    def _logfmt_line(self, number: int, text: str, prefix_time: str | None) -> None:
        record = logfmt_record(text)
        if record is None:
            self._console_line(number, text, prefix_time)
        elif self._admit(number, "baileys"):
            self._pino(number, record, None, UNKNOWN)

    def _console_line(self, number: int, text: str, prefix_time: str | None) -> None:
        kind, cause = console_line(text)
        if kind is None:
            self.ctx.reject(number, _UNKNOWN_LINE)
            return
        if not text[:1].isspace() and not self._admit(number, "libsignal"):
            return
        self.ctx.ignore(kind)
        if _BLOCK_START in text or (cause is not None and self.out.open_block("libsignal") is None):
            at, quality = self._time(prefix_time)
            self.out.hold(Block(number, at, quality, "libsignal", kind))
        if cause is not None:
            block = self.out.open_block("libsignal")
            assert block is not None
            block.causes.append(cause)
            block.quiet = 0

    # --- JSON records ----------------------------------------------------------------------

    def _json_line(self, number: int, text: str, prefix_time: str | None, width: int) -> None:
        try:
            record = safejson.loads(text)
        except json.JSONDecodeError as exc:
            self.pending = start_record(number, text, prefix_time, width)
            if self.pending is None:
                self.ctx.reject(number, f"not valid JSON: {exc.msg} (column {exc.colno})")
            return
        if not isinstance(record, dict):
            self.ctx.reject(number, "not a JSON object")
            return
        self._record(number, record, prefix_time)

    def _record(self, number: int, record: dict[str, Any], prefix_time: str | None) -> None:
        if isinstance(record.get("level"), str) and "message" in record and "msg" not in record:
            # zerolog's JSON writer (mautrix bridges, WAHA GOWS): {"level":"warn","time":...,"message":...}
            if self._admit(number, "whatsmeow"):
                msg = str(record["message"])
                if isinstance(record.get("error"), str):
                    msg = f"{msg}: {record['error']}"
                time = record.get("time")
                go = GoLine("zerolog", str(time) if time is not None else None, str(record["level"]), msg)
                self._go_line(number, go, prefix_time)
            return
        if not self._admit(number, "baileys"):
            return
        if "messageStubType" in record:
            self._stub(number, *stub_fields(record), prefix_time)
            return
        self._pino(number, record, None, UNKNOWN)

    def _pino(self, number: int, record: dict[str, Any], at: datetime | None, quality: TimeQuality) -> None:
        block = self.out.oldest_block("libsignal") if self.out.items and _is_failure(record) else None
        try:
            event = pino_event(record, block.causes if block else [], self.ctx, at)
        except TraceError as exc:
            self.ctx.reject(number, str(exc))
            return
        if event is None:
            self.ctx.ignore("log line without a decrypt event")
            return
        if block is not None and isinstance(event, DecryptError):
            self.out.claim(block)
        if at is None:
            at, quality = self.days.full(event.at)
            if at != event.at:
                event = dataclasses.replace(event, at=at)
            self._saw_time(at)
        self.out.emit(number, event, quality)

    def _stub(self, number: int, stub: Any, params: list[str], peer: str | None, message_id: str | None,
              stamp: int | None, prefix_time: str | None) -> None:  # fmt: skip
        at, quality = self._time(str(stamp) if stamp is not None else None, prefix_time)
        event = stub_event(stub, params, self.ctx, at, peer, message_id)
        if event is None:
            self.ctx.ignore("logged message without a decrypt failure")
        else:
            self.out.emit(number, event, quality)

    # --- multi-line records ----------------------------------------------------------------

    def _continue(self, text: str, width: int) -> bool:
        """Whether the line continues the pending record (and was taken); else the record is closed."""
        pending = self.pending
        assert pending is not None
        if isinstance(pending, _PrettyBlock):
            if is_field_line(text):
                pending.lines.append(text)
                self.ctx.ignore("pino-pretty field line")
                return True
            self._close_pending()
            return False
        # a log line of a known kind at the margin starts anew: the record before it never closed
        step = "unclosed" if text[:1] not in " \t}]" and line_kind(text) is not None else pending.add(text, width)
        if step == "unclosed":
            self.ctx.reject(pending.line, "a JSON record that never closed its braces")
            self.pending = None
            return False
        self.ctx.ignore(pending.ignored_as)
        if step == "complete":
            self._close_pending()
        elif step == "too long":
            self.ctx.reject(pending.line, "a record over too many lines")
            self.pending = None
        return True

    def _close_pending(self) -> None:
        pending, self.pending = self.pending, None
        if isinstance(pending, _PrettyBlock):
            at, quality = self._time(pending.header.time, pending.prefix_time)
            record = {"msg": pending.header.msg, **pending.header.fields, **block_fields(pending.lines)}
            self._pino(pending.line, record, at, quality)
            return
        assert pending is not None
        text = pending.text()
        try:
            record = safejson.loads(text)
        except json.JSONDecodeError as exc:
            inspected = inspect_stub(text)
            if inspected is not None:
                if self._admit(pending.line, "baileys"):
                    self._stub(pending.line, *inspected, pending.prefix_time)
            elif text.lstrip("{ \n").split(":", 1)[0].isidentifier():
                self.ctx.ignore("node object dump without a decrypt failure")
            else:
                self.ctx.reject(pending.line, f"not valid JSON over lines: {exc.msg}")
            return
        if isinstance(record, dict):
            self._record(pending.line, record, pending.prefix_time)
        else:
            self.ctx.reject(pending.line, "not a JSON object")

    # --- Go loggers, Evolution API ----------------------------------------------------------

    def _go_line(self, number: int, go: GoLine, prefix_time: str | None) -> None:
        at, quality = self._time(go.time, prefix_time)
        if go.source == "go-libsignal":
            self.ctx.ignore("go-libsignal log line")
            if go.level == "ERROR":
                self.out.hold(Block(number, at, quality, "go-libsignal", "go-libsignal log line", [go.msg]))
            return
        failure = parse_whatsmeow_failure(go.msg)
        block = self.out.oldest_block("go-libsignal")
        event = whatsmeow_event(failure, block.causes if block else [], self.ctx.session, at) if failure else None
        if event is None:
            self.ctx.ignore("log line without a decrypt event")
            return
        if block is not None:
            self.out.claim(block)
        if event.message_id:
            self.recent_ids.append(event.message_id)
        self.out.emit(number, event, quality)

    def _dump(self, number: int, dump: tuple[str | None, str | None], prefix_time: str | None) -> None:
        message_id, sender = dump
        if message_id is not None and message_id in self.recent_ids:
            self.ctx.ignore("whatsmeow event for a failure already counted")
            return
        at, quality = self._time(prefix_time)
        self.out.emit(number, dump_event(message_id, sender, self.ctx.session, at), quality)

    def _evolution(self, number: int, line: EvolutionLine) -> None:
        at, quality = self.days.full(line.at)
        self._saw_time(at)
        block = self.out.oldest_block("libsignal")
        event = evolution_event(line, block.causes if block else [], self.ctx.session, at)
        if event is None:
            self.ctx.ignore("log line without a decrypt event")
            return
        if block is not None:
            self.out.claim(block)
        self.out.emit(number, event, quality)


def _continues_wrap(raw: str) -> bool:
    """Whether a line after a full-width one is its rest: not blank, not indented, not a line of its own.

    One leading space is a cut before a word; more is indentation (a stack frame, a pretty field).
    """
    indented = raw[:1].isspace() and (raw[:1] != " " or raw[1:2].isspace())
    if not raw.strip() or indented or strip_prefix(raw)[2] is not None:
        return False
    return line_kind(raw) is None and parse_whatsmeow_failure(raw) is None


def _unindent(text: str) -> str:
    """An indented line that is a whole JSON object, without its indent (it is that record, not a dump's line)."""
    if not text[:1].isspace():
        return text
    stripped = text.lstrip()
    if not stripped.startswith("{"):
        return text
    try:
        return stripped if isinstance(safejson.loads(stripped), dict) else text
    except json.JSONDecodeError:
        return text


def _is_failure(record: dict[str, Any]) -> bool:
    msg = str(record.get("msg", "")).lower()
    return "decrypt" in msg or record.get("err") is not None or record.get("error") is not None
