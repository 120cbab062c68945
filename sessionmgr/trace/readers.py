"""Streaming readers for captured logs: the canonical trace, Baileys' pino JSON, the seed's format.

Every line is accounted for: it becomes an event, is recognised as a line that
carries no event (a stack frame, libsignal's session dumps, other log lines),
or is rejected with its line number and why. A rejected line never stops the
rest, unless the reader is strict.
"""

from __future__ import annotations

import gzip
import heapq
import io
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final, Literal

from sessionmgr.classify import classify_texts
from sessionmgr.events import ConnectionChanged, DecryptError, DecryptOk, Event
from sessionmgr.trace.codec import TRACE_SCHEMA, TraceError, decode_event, parse_time

__all__ = ["FORMATS", "Format", "Located", "ReadError", "ReadStats", "Reader", "detect_format", "merge"]

Format = Literal["auto", "trace", "baileys", "seed"]
FORMATS: Final = ("auto", "trace", "baileys", "seed")
#: Rejected lines kept with their reasons; beyond this only the count grows.
MAX_REJECTED_KEPT: Final = 1000


class ReadError(ValueError):
    """A bad line in strict mode: names the file, the line and what is wrong."""

    def __init__(self, source: str, line: int, reason: str) -> None:
        self.source, self.line, self.reason = source, line, reason
        super().__init__(f"{source}:{line}: {reason}")


@dataclass(frozen=True, slots=True)
class Located:
    """An event and where it came from."""

    event: Event
    source: str
    line: int
    #: precise seconds since the trace's origin, when the trace carries them
    offset: float | None = None


@dataclass(slots=True)
class ReadStats:
    """How every line of one input was accounted for."""

    source: str
    format: str = "auto"
    lines: int = 0
    events: int = 0
    ignored: Counter[str] = field(default_factory=Counter)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    rejected_count: int = 0

    def reject(self, line: int, reason: str) -> None:
        self.rejected_count += 1
        if len(self.rejected) < MAX_REJECTED_KEPT:
            self.rejected.append({"file": self.source, "line": line, "reason": reason})

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.source,
            "format": self.format,
            "lines": self.lines,
            "events": self.events,
            "ignored": dict(sorted(self.ignored.items())),
            "rejected": self.rejected_count,
        }


def open_text(path: str | Path) -> IO[str]:
    """Open a log for reading, gunzipping ``.gz`` (by content, not only by name)."""
    raw = open(path, "rb")  # noqa: SIM115 - handed to the caller, who closes it
    magic = raw.peek(2)[:2] if isinstance(raw, io.BufferedReader) else b""
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.GzipFile(fileobj=raw), encoding="utf-8", errors="replace")
    return io.TextIOWrapper(raw, encoding="utf-8", errors="replace")


def detect_format(first_lines: Iterable[str]) -> Format:
    """Guess the format from the first lines; ``baileys`` for JSON logs, ``seed`` for the seed's."""
    for line in first_lines:
        text = line.strip()
        if not text:
            continue
        if text.startswith("{"):
            try:
                record = json.loads(text)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and str(record.get("schema", "")).startswith("sessionmgr.trace/"):
                return "trace"
            if isinstance(record, dict) and ("level" in record or "msg" in record):
                return "baileys"
        if "Erro de criptografia WhatsApp" in text or re.match(r"\[(ERROR|WARN|INFO|DEBUG)\]", text):
            return "seed"
    return "baileys"


class Reader:
    """Reads one file (or an iterable of lines) into :class:`Located` events, streaming.

    ``session`` names the session for formats that do not carry one (a Baileys
    log is one session: by default the file's name without extensions);
    ``session_field`` names a JSON field that carries it instead.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        format: Format = "auto",
        session: str | None = None,
        session_field: str | None = None,
        strict: bool = False,
        lines: Iterable[str] | None = None,
    ) -> None:
        self.path = str(path)
        self.requested: Format = format
        self.session = session or Path(self.path).name.split(".")[0]
        self.session_field = session_field
        self.strict = strict
        # a one-shot iterator (a followed file) is streamed; anything else is kept to re-read
        self._lines: Iterable[str] | None = lines if lines is None or isinstance(lines, Iterator) else list(lines)
        self.stats = ReadStats(self.path)
        self.bytes_read = 0

    def detect(self) -> Format:
        """The format this input is in (reading only its first lines)."""
        if self.requested != "auto":
            return self.requested
        if isinstance(self._lines, Iterator):
            return "baileys"  # a live stream cannot be peeked without consuming it
        if self._lines is not None:
            return detect_format(list(self._lines)[:20])
        with open_text(self.path) as handle:
            head = [line for _, line in zip(range(20), handle, strict=False)]
        return detect_format(head)

    def raw_lines(self) -> Iterator[str]:
        """The input's lines, unparsed and uncounted (for a quick second look)."""
        if self._lines is not None:
            yield from self._lines
            return
        with open_text(self.path) as handle:
            yield from handle

    def __iter__(self) -> Iterator[Located]:
        if self._lines is not None:
            yield from self._read(iter(self._lines))
            return
        with open_text(self.path) as handle:
            yield from self._read(handle)

    def _read(self, handle: Iterator[str]) -> Iterator[Located]:
        head: list[str] = []
        # only a guess needs the first lines up front; a live stream must not wait for them
        if self.requested == "auto":
            for line in handle:
                head.append(line)
                if len(head) >= 20:
                    break
        fmt = detect_format(head) if self.requested == "auto" else self.requested
        self.stats.format = fmt
        numbered = self._numbered(_chain(head, handle))
        parse = {"trace": self._trace, "baileys": self._baileys, "seed": self._seed}[fmt]
        for located in parse(numbered):
            self.stats.events += 1
            yield located

    def _numbered(self, lines: Iterator[str]) -> Iterator[tuple[int, str]]:
        for number, line in enumerate(lines, 1):
            self.stats.lines = number
            self.bytes_read += len(line)
            yield number, line.rstrip("\r\n")

    def _reject(self, line: int, reason: str) -> None:
        if self.strict:
            raise ReadError(self.path, line, reason)
        self.stats.reject(line, reason)

    def _ignore(self, kind: str) -> None:
        self.stats.ignored[kind] += 1

    def _json_object(self, number: int, text: str) -> dict[str, Any] | None:
        """The line as a JSON object, or ``None`` after rejecting it with the reason."""
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            self._reject(number, f"not valid JSON: {exc.msg} (column {exc.colno})")
            return None
        if not isinstance(record, dict):
            self._reject(number, "not a JSON object")
            return None
        return record

    # --- canonical trace --------------------------------------------------------------

    def _trace(self, lines: Iterator[tuple[int, str]]) -> Iterator[Located]:
        header_seen = False
        for number, text in lines:
            if not text.strip():
                self._ignore("blank")
                continue
            record = self._json_object(number, text)
            if record is None:
                continue
            if "schema" in record:
                if record["schema"] != TRACE_SCHEMA:
                    self._reject(number, f"schema: expected {TRACE_SCHEMA!r}, got {record['schema']!r}")
                else:
                    header_seen = True
                    self._ignore("header")
                continue
            if not header_seen:
                self._reject(number, f'event before the header line ({{"schema": "{TRACE_SCHEMA}"}})')
                header_seen = True  # report it once; read on
            try:
                event = decode_event(record)
            except TraceError as exc:
                self._reject(number, str(exc))
                continue
            offset = record.get("offset")
            yield Located(event, self.path, number, offset if isinstance(offset, int | float) else None)

    # --- Baileys: pino JSON with libsignal's console lines mixed in ---------------------

    def _baileys(self, lines: Iterator[tuple[int, str]]) -> Iterator[Located]:
        causes: list[str] = []
        since_cause = 0
        for number, text in lines:
            stripped = text.strip()
            if not stripped:
                self._ignore("blank")
                continue
            if stripped.startswith("{") and text.startswith("{"):
                record = self._json_object(number, stripped)
                if record is None:
                    continue
                try:
                    event = self._pino_event(record, causes)
                except TraceError as exc:
                    self._reject(number, str(exc))
                    continue
                if event is None:
                    self._ignore("log line without a decrypt event")
                    continue
                if isinstance(event, DecryptError):
                    causes, since_cause = [], 0
                yield Located(event, self.path, number)
                continue
            kind, cause = _console_line(text)
            if kind is None:
                self._reject(number, "neither a pino JSON line nor a known libsignal console line")
                continue
            self._ignore(kind)
            if cause is not None:
                causes.append(cause)
                since_cause = 0
            elif causes:
                since_cause += 1
                if since_cause > 200:  # causes belong to the error logged right after them
                    causes = []

    def _pino_event(self, record: dict[str, Any], causes: list[str]) -> Event | None:
        msg = str(record.get("msg", ""))
        err = record.get("err") or record.get("error")
        lowered = msg.lower()
        session = self._session_of(record)
        if "time" not in record:
            if err is None and "decrypt" not in lowered and "connection" not in lowered:
                return None
            raise TraceError("time: missing")
        at = parse_time(record["time"])
        key = record.get("key") if isinstance(record.get("key"), dict) else {}
        assert isinstance(key, dict)
        peer = key.get("participant") or key.get("remoteJid") or record.get("from") or record.get("jid")
        message_type = record.get("messageType") or record.get("type")
        message_type = message_type if message_type in ("msg", "pkmsg", "skmsg") else None
        if err is not None or "failed to decrypt" in lowered:
            error_text, error_type = _error_parts(err, msg)
            category = classify_texts([error_text, error_type or "", *causes], signal_layer="decrypt" in lowered)
            if not category.is_crypto:
                return None
            return DecryptError(
                session=session, at=at, peer=str(peer) if peer else None, error=error_text, error_type=error_type,
                message_type=message_type, message_id=str(key["id"]) if key.get("id") else None,
                causes=tuple(causes), category=category,
            )  # fmt: skip
        if re.search(r"\bdecrypted (message|msg)\b", lowered):
            return DecryptOk(session=session, at=at, peer=str(peer) if peer else None, message_type=message_type)
        for pattern, is_open in _CONNECTION_TEXTS:
            if pattern in lowered:
                return ConnectionChanged(session=session, at=at, open=is_open)
        return None

    def _session_of(self, record: dict[str, Any]) -> str:
        if self.session_field is not None:
            value = record.get(self.session_field)
            if value is None:
                raise TraceError(f"{self.session_field}: missing (named by --session-field)")
            return str(value)
        return self.session

    # --- the seed's own format ------------------------------------------------------------

    def _seed(self, lines: Iterator[tuple[int, str]]) -> Iterator[Located]:
        pending: list[str] = []
        start = 0
        depth = 0
        for number, text in lines:
            if pending:
                pending.append(text)
                depth += _brace_balance(text)
                if depth <= 0:
                    yield from self._seed_entry(start, "\n".join(pending))
                    pending = []
                continue
            if _SEED_ERROR in text:
                start, pending = number, [text]
                depth = _brace_balance(text)
                if depth <= 0:
                    yield from self._seed_entry(start, text)
                    pending = []
                continue
            if not text.strip():
                self._ignore("blank")
            elif re.match(r"\s*\[(ERROR|WARN|INFO|DEBUG|LOG)\]", text):
                self._ignore("seed log line without a crypto error")
            else:
                self._reject(number, "not a line of the seed's log format")
        if pending:
            self._reject(start, "entry never closed its braces before the end of the file")

    def _seed_entry(self, line: int, text: str) -> Iterator[Located]:
        fields = dict(_SEED_FIELD.findall(text))
        values = {k: _unquote(v) for k, v in fields.items()}
        for required in ("message", "sessionId", "timestamp"):
            if required not in values:
                self._reject(line, f"{required}: missing from the entry")
                return
        try:
            at = parse_time(values["timestamp"])
        except TraceError as exc:
            self._reject(line, f"timestamp: {exc}")
            return
        error = values["message"]
        peer = values.get("remoteJid") or values.get("jid") or values.get("peer")
        message_type = values.get("messageType")
        yield Located(
            DecryptError(
                session=values["sessionId"], at=at, peer=peer, error=error, error_type=values.get("name"),
                message_type=message_type if message_type in ("msg", "pkmsg", "skmsg") else None,
                category=classify_texts([error, values.get("name", "")], signal_layer=True),
            ),
            self.path,
            line,
        )  # fmt: skip


def merge(readers: Iterable[Reader]) -> Iterator[Located]:
    """Events of several inputs, merged by time (each input is read as a stream)."""
    return heapq.merge(*readers, key=lambda located: located.event.at)


# --- line-level helpers -------------------------------------------------------------------

_CONNECTION_TEXTS: Final = (
    ("opened connection to wa", True),
    ("connection open", True),
    ("connection closed", False),
    ("connection errored", False),
    ("stream errored out", False),
)
_SEED_ERROR: Final = "Erro de criptografia WhatsApp:"
_SEED_FIELD: Final = re.compile(r"(\w+)\s*:\s*(\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|[^,\s{}]+)")
_SESSION_ERROR: Final = re.compile(r"^Session error:\s*(?P<cause>.*)$")
# libsignal-node's console output that carries no event of its own
_LIBSIGNAL_TEXTS: Final = (
    "Failed to decrypt message with any known session",
    "Closing open session in favor of incoming prekey bundle",
    "Closing stale open session for new outgoing prekey bundle",
    "Closing session:",
    "Opening session:",
    "Removing old closed session:",
    "Decrypted message with closed session.",
    "Migrating session to:",
    "Session already closed",
    "Session already open",
    "SessionEntry {",
)


def _console_line(text: str) -> tuple[str | None, str | None]:
    """(kind of recognised line, or None) and the cause it names, if it is a ``Session error:`` line."""
    match = _SESSION_ERROR.match(text)
    if match:
        cause = match.group("cause")
        # Node prints "Session error:" + e, then e.stack, whose first line repeats e
        half = len(cause) // 2
        if len(cause) % 2 == 1 and cause[:half] == cause[half + 1 :]:
            cause = cause[:half]
        return "libsignal session error", cause.strip()
    if re.match(r"^\s+at\s", text):
        return "stack frame", None
    if any(marker in text for marker in _LIBSIGNAL_TEXTS):
        return "libsignal", None
    if text[:1] in (" ", "\t", "}") or text.startswith(("<Buffer", "[Object", "]")):
        return "libsignal session dump", None
    return None, None


def _error_parts(err: object, msg: str) -> tuple[str, str | None]:
    if isinstance(err, dict):
        message = err.get("message") or err.get("msg") or msg
        error_type = err.get("type") or err.get("name")
        return str(message), str(error_type) if error_type else None
    if isinstance(err, str):
        return err, None
    return msg, None


def _brace_balance(text: str) -> int:
    # quotes may hold braces; drop quoted spans before counting
    unquoted = re.sub(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'", "", text)
    return unquoted.count("{") - unquoted.count("}")


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _chain(head: list[str], rest: Iterator[str]) -> Iterator[str]:
    yield from head
    yield from rest
