"""The reader for operators' logs: every text format at once, recognised line by line.

A file may mix formats (pm2 and compose interleave processes; a Baileys bot prints
pino lines and libsignal-node's console lines). Each line loses its collector's
prefix (``prefixes``), then is recognised by its first character, cheapest test
first: ``{`` a JSON record (pino, zerolog, a logged message; continued over lines
when pretty-printed or hard-wrapped), ``[`` a pino-pretty header or a Go logger's
bracket, else libsignal-node's console, whatsmeow's or zerolog's console lines.

libsignal-node prints a block for a failed decrypt and throws; Baileys then logs
the failure. A block is held until the failure that follows claims it as its
cause; a block nobody claims (a console-only log, a logger turned off) is a
failure of its own once ``CAUSE_HORIZON`` other lines have passed or the input
ends. Events come out in line order either way.
"""

from __future__ import annotations

import dataclasses
import json
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from sessionmgr.classify import classify_texts
from sessionmgr.events import DecryptError, Event
from sessionmgr.trace.baileys import inspect_stub, pino_event, stub_event
from sessionmgr.trace.codec import TraceError
from sessionmgr.trace.evolution import EvolutionLine, parse_evolution
from sessionmgr.trace.golang import GoLine, parse_go_line, parse_whatsmeow_failure, undecryptable_dump
from sessionmgr.trace.libsignal_console import console_line
from sessionmgr.trace.lines import Located, NumberedLines, ReadContext
from sessionmgr.trace.prefixes import strip_prefix
from sessionmgr.trace.pretty import PrettyHeader, block_fields, is_field_line, parse_header
from sessionmgr.trace.times import NOMINAL_DAY, UNKNOWN, DayRoller, TimeQuality, read_time

__all__ = ["CAUSE_HORIZON", "FORMAT_KINDS", "LOG_FORMATS", "LogReader", "line_kind"]

#: Lines (other than causes) after which an unclaimed libsignal block counts as a failure of its own.
CAUSE_HORIZON: Final = 200
#: A multi-line record longer than this is rejected rather than read on.
MAX_RECORD_LINES: Final = 2000
#: Widths terminals and collectors hard-wrap at: a JSON line cut at one of them is continued.
WRAP_WIDTHS: Final = frozenset({80, 100, 120, 132, 150, 160, 200, 240, 256})
#: The log formats ``--format`` names, and the kinds of line each admits.
FORMAT_KINDS: Final[dict[str, frozenset[str]]] = {
    "baileys": frozenset({"baileys", "libsignal"}),
    "pino-pretty": frozenset({"pino-pretty", "libsignal"}),
    "libsignal": frozenset({"libsignal"}),
    "whatsmeow": frozenset({"whatsmeow"}),
    "evolution": frozenset({"evolution", "baileys", "pino-pretty", "libsignal"}),
}
LOG_FORMATS: Final = tuple(FORMAT_KINDS)
_WRAPPER: Final = "No matching sessions found for message"  # libsignal-node src/session_cipher.js:161
_BLOCK_START: Final = "Failed to decrypt message with any known session"


@dataclass(slots=True)
class _Block:
    """A libsignal failure block no failure line has claimed yet."""

    line: int
    at: datetime
    quality: TimeQuality
    source: str  # "libsignal" or "go-libsignal"
    first_kind: str  # what its first line was counted as
    causes: list[str] = field(default_factory=list)
    quiet: int = 0  # lines since its last cause


@dataclass(slots=True)
class _Pending:
    """A record spread over several lines, still being gathered."""

    kind: str  # "pretty" or "json"
    line: int
    lines: list[str]
    header: PrettyHeader | None = None
    prefix_time: str | None = None
    depth: int = 0
    wrap_width: int = 0  # the width its first line was cut at, when hard-wrapped


def line_kind(text: str) -> str | None:
    """Which kind of line this is (for guessing a file's format), without reading it fully."""
    text, _, _ = strip_prefix(text)
    first = text[:1]
    if first == "{":
        try:
            record = json.loads(text)
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


class LogReader:
    """Reads one input of operators' logs; ``allowed`` limits the kinds of line (``--format``)."""

    def __init__(self, ctx: ReadContext, requested: str | None = None) -> None:
        self.ctx = ctx
        self.requested = requested
        self.allowed = FORMAT_KINDS.get(requested) if requested else None
        self.days = DayRoller()
        self.last_at: datetime = NOMINAL_DAY
        self.last_quality: TimeQuality = UNKNOWN
        self.pending: _Pending | None = None
        self.queue: deque[Located | _Block] = deque()
        self.recent_ids: deque[str] = deque(maxlen=64)
        #: whether a line had a time yet, and how many lines were read before one did
        self.timed = False
        self.untimed_lines = 0

    def read(self, lines: NumberedLines) -> Iterator[Located]:
        for number, raw in lines:
            text, prefix_time, prefix = strip_prefix(raw)
            if prefix is not None:
                self.ctx.stats.prefixes[prefix] += 1
            if self.pending is not None and self._continue(number, text, len(raw)):
                yield from self._drain()
                continue
            self._line(number, text, prefix_time, len(raw))
            if not self.timed:
                self.untimed_lines += 1
            self._age_blocks()
            yield from self._drain()
        if self.pending is not None:
            self._flush_pending()
        for index, item in enumerate(self.queue):
            if isinstance(item, _Block):
                self.queue[index] = self._block_event(item)
        self.untimed_lines = CAUSE_HORIZON + 1  # the end: nothing is held any more
        yield from self._drain()

    # --- output in line order -----------------------------------------------------------

    def _emit(self, number: int, event: Event, quality: TimeQuality) -> None:
        self.ctx.stats.times[quality] += 1
        self.queue.append(Located(event, self.ctx.path, number))

    def _drain(self) -> Iterator[Located]:
        if not self.timed and self.untimed_lines <= CAUSE_HORIZON:
            return  # held: the first time the log prints is theirs too (a log without times lets go later)
        while self.queue and isinstance(self.queue[0], Located):
            item = self.queue.popleft()
            assert isinstance(item, Located)
            yield item

    def _oldest_block(self, source: str) -> _Block | None:
        """The oldest unclaimed block of ``source``: the cause of the failure logged next."""
        for item in self.queue:
            if isinstance(item, _Block) and item.source == source:
                return item
        return None

    def _age_blocks(self) -> None:
        if not self.queue:
            return
        for index, item in enumerate(self.queue):
            if isinstance(item, _Block):
                item.quiet += 1
                if item.quiet > CAUSE_HORIZON:
                    self.queue[index] = self._block_event(item)

    def _block_event(self, block: _Block) -> Located:
        # the block's first line becomes the event's line, no longer an ignored one
        self.ctx.stats.ignored[block.first_kind] -= 1
        self.ctx.stats.times[block.quality] += 1
        error_type = "SessionError" if block.source == "libsignal" else None
        error = _WRAPPER if block.source == "libsignal" else (block.causes[0] if block.causes else "go-libsignal error")
        event = DecryptError(
            session=self.ctx.session, at=block.at, error=error, error_type=error_type, causes=tuple(block.causes),
            category=classify_texts([error, *block.causes], signal_layer=True),
        )  # fmt: skip
        return Located(event, self.ctx.path, block.line)

    # --- times ------------------------------------------------------------------------------

    def _time(self, *texts: str | None) -> tuple[datetime, TimeQuality]:
        for text in texts:
            if text:
                at, quality = read_time(text, self.days)
                if at is not None:
                    self._saw_time(at, quality)
                    return at, quality
        return self.last_at, UNKNOWN

    def _saw_time(self, at: datetime, quality: TimeQuality) -> None:
        """A line had a time. The first one is also the time of the untimed events held before it."""
        self.last_at, self.last_quality = at, quality
        if self.timed:
            return
        self.timed = True
        for index, item in enumerate(self.queue):
            if isinstance(item, _Block):
                item.at = at
            elif item.event.at == NOMINAL_DAY:
                self.queue[index] = dataclasses.replace(item, event=dataclasses.replace(item.event, at=at))

    # --- one line ---------------------------------------------------------------------------

    def _admit(self, number: int, kind: str) -> bool:
        self.ctx.stats.kinds[kind] += 1
        if self.allowed is None or kind in self.allowed:
            return True
        fit = next((name for name, kinds in FORMAT_KINDS.items() if kind in kinds), kind)
        self.ctx.reject(number, f"a {kind} line, not --format {self.requested}: --format {fit} (or auto) reads it")
        return False

    def _line(self, number: int, text: str, prefix_time: str | None, width: int) -> None:
        first = text[:1]
        if not text.strip():
            self.ctx.ignore("blank")
            return
        if first == "{":
            self._json_line(number, text, prefix_time, width)
            return
        if first == "[":
            header = parse_header(text)
            if header is not None:
                if self._admit(number, "pino-pretty"):
                    self.pending = _Pending("pretty", number, [], header=header, prefix_time=prefix_time)
                return
            evolution = parse_evolution(text)
            if evolution is not None:
                if self._admit(number, "evolution"):
                    self._evolution(number, evolution)
                return
        if first != " " and first != "\t":
            go = parse_go_line(text)
            if go is not None:
                if self._admit(number, "whatsmeow"):
                    self._go_line(number, go, prefix_time)
                return
            dump = undecryptable_dump(text)
            if dump is not None:
                if self._admit(number, "whatsmeow"):
                    self._dump(number, dump, prefix_time)
                return
        kind, cause = console_line(text)
        if kind is None:
            self.ctx.reject(
                number, "not a line of any known log format (pino JSON or pretty, libsignal, whatsmeow, Evolution API)"
            )
            return
        if not first.isspace() and not self._admit(number, "libsignal"):
            return
        self.ctx.ignore(kind)
        if _BLOCK_START in text or (cause is not None and not self._open_block("libsignal")):
            at, quality = self._time(prefix_time)
            self.queue.append(_Block(number, at, quality, "libsignal", kind))
        if cause is not None:
            block = self._open_block("libsignal")
            assert block is not None
            block.causes.append(cause)
            block.quiet = 0

    def _open_block(self, source: str) -> _Block | None:
        for item in reversed(self.queue):
            if isinstance(item, _Block) and item.source == source:
                return item
        return None

    # --- JSON records ----------------------------------------------------------------------

    def _json_line(self, number: int, text: str, prefix_time: str | None, width: int) -> None:
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            if width in WRAP_WIDTHS:  # hard-wrapped by a terminal: the pieces are glued back
                self.pending = _Pending("json", number, [text], prefix_time=prefix_time, wrap_width=width)
                return
            depth = _depth(text)
            if depth > 0 and text.rstrip().endswith(("{", "[", ",")):  # pretty-printed over lines
                self.pending = _Pending("json", number, [text], prefix_time=prefix_time, depth=depth)
                return
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
            self._stub_record(number, record, prefix_time)
            return
        self._pino(number, record, None, UNKNOWN)

    def _pino(self, number: int, record: dict[str, Any], at: datetime | None, quality: TimeQuality) -> None:
        block = self._oldest_block("libsignal") if _is_failure(record) else None
        try:
            event = pino_event(record, block.causes if block else [], self.ctx, at)
        except TraceError as exc:
            self.ctx.reject(number, str(exc))
            return
        if event is None:
            self.ctx.ignore("log line without a decrypt event")
            return
        if block is not None and isinstance(event, DecryptError):
            self.queue.remove(block)  # the block was this failure's cause, not a failure of its own
        if at is None:
            at, quality = self.days.full(event.at)
            if at != event.at:
                event = dataclasses.replace(event, at=at)
            self._saw_time(at, quality)
        self._emit(number, event, quality)

    def _stub_record(self, number: int, record: dict[str, Any], prefix_time: str | None) -> None:
        key = record.get("key") if isinstance(record.get("key"), dict) else {}
        assert isinstance(key, dict)
        params = record.get("messageStubParameters") or []
        stamp = record.get("messageTimestamp")
        at, quality = self._time(str(stamp) if isinstance(stamp, int) else None, prefix_time)
        peer = key.get("participant") or key.get("remoteJid")
        event = stub_event(record["messageStubType"], [str(p) for p in params], self.ctx, at,
                           str(peer) if peer else None, str(key["id"]) if key.get("id") else None)  # fmt: skip
        if event is None:
            self.ctx.ignore("logged message without a decrypt failure")
            return
        self._emit(number, event, quality)

    # --- multi-line records ----------------------------------------------------------------

    def _continue(self, number: int, text: str, width: int) -> bool:
        """Whether the line continues the pending record (and was taken); else the record is closed."""
        pending = self.pending
        assert pending is not None
        if pending.kind == "pretty":
            if is_field_line(text):
                pending.lines.append(text)
                self.ctx.ignore("pino-pretty field line")
                return True
            self._flush_pending()
            return False
        if pending.wrap_width:
            pending.lines[-1] += text
            self.ctx.ignore("hard-wrapped line")
            if width < pending.wrap_width or (text.endswith("}") and _parses(pending.lines[-1])):
                self._flush_pending()
            elif len(pending.lines[-1]) > MAX_RECORD_LINES * pending.wrap_width:
                self.ctx.reject(pending.line, f"a wrapped record over more than {MAX_RECORD_LINES} lines")
                self.pending = None
            return True
        if text.startswith("{") and _depth(text) == 0:
            self.ctx.reject(pending.line, "a JSON record that never closed its braces")
            self.pending = None
            return False
        pending.lines.append(text)
        pending.depth += _depth(text)
        self.ctx.ignore("multi-line record")
        if pending.depth <= 0:
            self._flush_pending()
        elif len(pending.lines) > MAX_RECORD_LINES:
            self.ctx.reject(pending.line, f"a record over more than {MAX_RECORD_LINES} lines")
            self.pending = None
        return True

    def _flush_pending(self) -> None:
        pending, self.pending = self.pending, None
        assert pending is not None
        if pending.kind == "pretty":
            header = pending.header
            assert header is not None
            at, quality = self._time(header.time, pending.prefix_time)
            record = {"msg": header.msg, **header.fields, **block_fields(pending.lines)}
            self._pino(pending.line, record, at, quality)
            return
        text = "\n".join(pending.lines)
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            inspected = inspect_stub(text)
            if inspected is not None:
                self._inspected(pending.line, inspected, pending.prefix_time)
            elif text.lstrip("{ \n").split(":", 1)[0].isidentifier():
                self.ctx.ignore("node object dump without a decrypt failure")
            else:
                self.ctx.reject(pending.line, f"not valid JSON over lines: {exc.msg}")
            return
        if isinstance(record, dict):
            self._record(pending.line, record, pending.prefix_time)
        else:
            self.ctx.reject(pending.line, "not a JSON object")

    def _inspected(self, number: int, inspected: tuple[Any, list[str], str | None, str | None, int | None],
                   prefix_time: str | None) -> None:  # fmt: skip
        if not self._admit(number, "baileys"):
            return
        stub, params, peer, message_id, stamp = inspected
        at, quality = self._time(str(stamp) if stamp is not None else None, prefix_time)
        event = stub_event(stub, params, self.ctx, at, peer, message_id)
        if event is None:
            self.ctx.ignore("logged message without a decrypt failure")
            return
        self._emit(number, event, quality)

    # --- Go loggers ----------------------------------------------------------------------

    def _go_line(self, number: int, go: GoLine, prefix_time: str | None) -> None:
        if go.source == "go-libsignal":
            self.ctx.ignore("go-libsignal log line")
            if go.level == "ERROR":
                at, quality = self._time(go.time, prefix_time)
                self.queue.append(_Block(number, at, quality, "go-libsignal", "go-libsignal log line", [go.msg]))
            return
        failure = parse_whatsmeow_failure(go.msg)
        if failure is None:
            self._time(go.time, prefix_time)
            self.ctx.ignore("log line without a decrypt event")
            return
        block = self._oldest_block("go-libsignal")
        causes = block.causes if block else []
        category = classify_texts([failure.error, *causes], signal_layer=True)
        if not category.is_crypto:
            self.ctx.ignore("log line without a decrypt event")
            return
        if block is not None:
            self.queue.remove(block)
        at, quality = self._time(go.time, prefix_time)
        if failure.message_id:
            self.recent_ids.append(failure.message_id)
        event = DecryptError(
            session=self.ctx.session, at=at, peer=failure.sender, error=failure.error,
            message_type=failure.message_type, message_id=failure.message_id, causes=tuple(causes), category=category,
        )  # fmt: skip
        self._emit(number, event, quality)

    def _evolution(self, number: int, line: EvolutionLine) -> None:
        at, quality = self.days.full(line.at)
        self._saw_time(at, quality)
        lowered = line.value.lower()
        category = classify_texts([line.value], signal_layer="decrypt" in lowered)
        if line.level not in ("ERROR", "WARN") or not category.is_crypto:
            self.ctx.ignore("log line without a decrypt event")
            return
        block = self._oldest_block("libsignal")
        causes = block.causes if block else []
        if block is not None:
            self.queue.remove(block)
        event = DecryptError(
            session=self.ctx.session, at=at, error=line.value, causes=tuple(causes),
            category=classify_texts([line.value, *causes], signal_layer=True),
        )  # fmt: skip
        self._emit(number, event, quality)

    def _dump(self, number: int, dump: tuple[str | None, str | None], prefix_time: str | None) -> None:
        message_id, sender = dump
        if message_id is not None and message_id in self.recent_ids:
            self.ctx.ignore("whatsmeow event for a failure already counted")
            return
        at, quality = self._time(prefix_time)
        event = DecryptError(
            session=self.ctx.session, at=at, peer=sender, error="UndecryptableMessage", message_id=message_id,
            category=classify_texts(["UndecryptableMessage"], signal_layer=True),
        )  # fmt: skip
        self._emit(number, event, quality)


def _is_failure(record: dict[str, Any]) -> bool:
    msg = str(record.get("msg", "")).lower()
    return "decrypt" in msg or record.get("err") is not None or record.get("error") is not None


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True


def _depth(text: str) -> int:
    """Braces and brackets opened minus closed, outside strings (a cheap count, good for a record's shape)."""
    if '"' not in text and "'" not in text:
        return text.count("{") + text.count("[") - text.count("}") - text.count("]")
    depth = 0
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
            depth += 1
        elif char in "}]":
            depth -= 1
    return depth
