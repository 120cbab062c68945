"""Line accounting shared by every reader: where an event came from, and what became of each line.

Every line is accounted for: it becomes an event, is recognised as a line that
carries no event (a stack frame, libsignal's session dumps, other log lines),
or is rejected with its line number and why. A rejected line never stops the
rest, unless the reader is strict.
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final, TypeAlias

from sessionmgr.events import Event
from sessionmgr.pseudonym import redact_reason
from sessionmgr.trace import safejson
from sessionmgr.trace.codec import TraceError

__all__ = [
    "DAMAGE", "MAX_REJECTED_KEPT", "Located", "NumberedLines", "Parse", "ReadContext", "ReadError", "ReadStats",
    "open_text",
]  # fmt: skip

#: What reading a compressed input raises where it is cut short or corrupt: the lines before it were read.
DAMAGE: Final = (EOFError, zlib.error, gzip.BadGzipFile)
#: Rejected lines kept with their reasons; beyond this only the count grows.
MAX_REJECTED_KEPT: Final = 1000


class ReadError(ValueError):
    """A bad line in strict mode: names the file, the line and what is wrong."""

    def __init__(self, source: str, line: int, reason: str) -> None:
        self.source, self.line, self.reason = source, line, reason
        super().__init__(f"{source}:{line}: {reason}")


@dataclass(slots=True)
class Located:
    """An event and where it came from.

    Not frozen: one is made per event read, and a frozen dataclass sets each field
    through ``object.__setattr__`` (four times the cost). Nobody changes one after
    the reader yields it.
    """

    event: Event
    source: str
    line: int
    #: precise seconds since the trace's origin, when the trace carries them
    offset: float | None = None
    #: the line printed no time: ``event.at`` is borrowed from a later line (or a nominal day)
    untimed: bool = False


@dataclass(slots=True)
class ReadStats:
    """How every line of one input was accounted for."""

    source: str
    format: str = "auto"
    lines: int = 0
    events: int = 0
    #: of the events, decryption failures
    failures: int = 0
    ignored: Counter[str] = field(default_factory=Counter)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    rejected_count: int = 0
    #: records per kind of line (a file may mix them), collectors' prefixes taken off, events per time quality
    kinds: Counter[str] = field(default_factory=Counter)
    prefixes: Counter[str] = field(default_factory=Counter)
    times: Counter[str] = field(default_factory=Counter)
    #: the format that would fit, when the one asked for read nothing
    hint: str | None = None

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
            "failures": self.failures,
            "ignored": {kind: n for kind, n in sorted(self.ignored.items()) if n},
            "rejected": self.rejected_count,
            "formats": dict(sorted(self.kinds.items())),
            "prefixes": dict(sorted(self.prefixes.items())),
            "times": self.time_summary(),
            **({"hint": self.hint} if self.hint else {}),
        }

    def time_summary(self) -> str:
        """``known``, ``time of day``, ``unknown`` (no event had a time: they are in line order), or ``mixed``."""
        seen = [quality for quality, count in self.times.items() if count > 0]
        if not seen:
            return "known"
        return seen[0] if len(seen) == 1 else "mixed"


@dataclass(slots=True)
class ReadContext:
    """What a format's parser is given besides the lines: the input's names and its accounting."""

    path: str
    session: str
    stats: ReadStats
    session_field: str | None = None
    strict: bool = False

    def reject(self, line: int, reason: str) -> None:
        reason = redact_reason(reason)  # a bad line's values (a number, a body) stay out of reports and logs
        if self.strict:
            raise ReadError(self.path, line, reason)
        self.stats.reject(line, reason)

    def ignore(self, kind: str) -> None:
        self.stats.ignored[kind] += 1

    def json_object(self, number: int, text: str) -> dict[str, Any] | None:
        """The line as a JSON object, or ``None`` after rejecting it with the reason."""
        try:
            record = safejson.loads(text)
        except json.JSONDecodeError as exc:
            self.reject(number, f"not valid JSON: {exc.msg} (column {exc.colno})")
            return None
        if not isinstance(record, dict):
            self.reject(number, "not a JSON object")
            return None
        return record

    def session_of(self, record: dict[str, Any]) -> str:
        """The session a record belongs to: the named field's value, else the input's session."""
        if self.session_field is not None:
            value = record.get(self.session_field)
            if value is None:
                raise TraceError(f"{self.session_field}: missing (named by --session-field)")
            return str(value)
        return self.session


#: Lines with their 1-based numbers, line endings already removed.
NumberedLines: TypeAlias = Iterator[tuple[int, str]]
#: A format's parser: numbered lines in, located events out, every line accounted for in the context.
Parse: TypeAlias = Callable[[NumberedLines, ReadContext], Iterator[Located]]


def open_text(path: str | Path) -> IO[str]:
    """Open a log for reading, gunzipping ``.gz`` (by content, not only by name)."""
    raw = open(path, "rb")  # noqa: SIM115 - handed to the caller, who closes it
    magic = raw.peek(2)[:2] if isinstance(raw, io.BufferedReader) else b""
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.GzipFile(fileobj=raw), encoding="utf-8", errors="replace")
    return io.TextIOWrapper(raw, encoding="utf-8", errors="replace")
