"""The canonical trace: JSON Lines, a header, then one event per line."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import IO, Any, Final

from sessionmgr.categories import Category
from sessionmgr.clock import iso_z
from sessionmgr.events import DecryptError, Event, event_types
from sessionmgr.pseudonym import Pseudonymizer
from sessionmgr.trace.construct import builder
from sessionmgr.trace.fieldtypes import MAX_OFFSET, field_checks, finite_number, problem_of

__all__ = [
    "TRACE_SCHEMA", "TraceError", "TraceWriter", "check_offset", "decode_event", "decode_offset", "event_record",
    "parse_time",
]  # fmt: skip

TRACE_SCHEMA: Final = "sessionmgr.trace/1"


class TraceError(ValueError):
    """A trace line that cannot be turned into an event; the message says which field."""


#: An ISO-8601 time is at most ~40 characters (``2026-01-01T00:00:00.000000+00:00``).
_MAX_TIME_CHARS: Final = 64
# Bound once. While a replay freezes the wall clock, freezegun rebinds every module's name for the
# class ``datetime`` to its subclass, so times read then would be FakeDatetimes, whose arithmetic
# (the replay's and the time guard's, per event) runs in Python; these make plain datetimes always.
_FROM_ISO: Final = datetime.fromisoformat
_FROM_TIMESTAMP: Final = datetime.fromtimestamp


def parse_time(value: object) -> datetime:
    """ISO-8601 (``Z`` or offset) or epoch milliseconds/seconds, as an aware UTC datetime."""
    if isinstance(value, str):  # a trace's time, and most text logs': first
        if len(value) > _MAX_TIME_CHARS:  # fromisoformat is quadratic in the length (32 KB: 11 s)
            raise TraceError(f"time: not ISO-8601 ({len(value)} characters)")
        try:
            parsed = _FROM_ISO(value.replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            elif not 1 < parsed.year < 9999:  # 9999-12-31T23:00-01:00 parses, then overflows in UTC
                parsed.astimezone(UTC)
        except (ValueError, OverflowError):
            raise TraceError(f"time: not ISO-8601: {value!r}") from None
        return parsed
    if isinstance(value, bool):
        raise TraceError(f"time: expected ISO-8601 or epoch milliseconds, got {value!r}")
    if isinstance(value, int | float):
        try:  # NaN, times beyond the years 1..9999, and integers too big for a float are not times
            return _FROM_TIMESTAMP(value / 1000 if value > 1e11 else value, UTC)  # epoch ms (pino's) or s
        except (ValueError, OverflowError, OSError):
            raise TraceError(f"time: not a time (epoch {value!r} is out of range)") from None
    raise TraceError(f"time: expected ISO-8601 or epoch milliseconds, got {value!r}")


# Fields that may hold an identifier (pseudonymize) or free text from a library (scrub).
_ID_FIELDS = ("peer",)
_TEXT_FIELDS = ("error", "reason", "message", "causes")


def event_record(event: Event, pseudonymizer: Pseudonymizer) -> dict[str, Any]:
    """An event as plain, privacy-safe data: the shape of a trace line and a JSON log line."""
    record: dict[str, Any] = {
        "t": iso_z(event.at),
        "session": pseudonymizer.session(event.session),
        "kind": event.kind,
    }
    for key, value in event.fields().items():
        if value is None:
            continue
        if key in _ID_FIELDS and isinstance(value, str):
            value = pseudonymizer.pseudonym(value)
        elif key in _TEXT_FIELDS:
            value = (
                [pseudonymizer.scrub(v) for v in value] if isinstance(value, list) else pseudonymizer.scrub(str(value))
            )
        elif hasattr(value, "value"):  # enums
            value = value.value
        record[key] = value
    return record


class TraceWriter:
    """A bus subscriber that writes every event as a canonical trace line.

    Identifiers are pseudonymized as everywhere else; ``offset`` carries the
    event's monotonic time since the first event at full precision, so a
    replay reproduces decisions made a hair either side of a window edge.
    """

    def __init__(
        self,
        out: IO[str],
        pseudonymizer: Pseudonymizer,
        *,
        source: dict[str, Any] | None = None,
        observations_only: bool = False,
    ) -> None:
        self.out = out
        self.pseudonymizer = pseudonymizer
        self.source = source or {}
        self.observations_only = observations_only
        self.lines = 0
        self._origin: float | None = None

    def __call__(self, event: Event) -> None:
        if self.observations_only and event.decision:
            return
        if self._origin is None:
            self._origin = event.t
            header = {"schema": TRACE_SCHEMA, "origin": iso_z(event.at, "auto"), **self.source}
            self._write(header)
        record = event_record(event, self.pseudonymizer)
        record["offset"] = round(event.t - self._origin, 9)
        self._write(record)

    def _write(self, record: dict[str, Any]) -> None:
        self.out.write(json.dumps(record, separators=(",", ":"), default=str) + "\n")
        self.lines += 1


_EVENT_TYPES: Final = event_types()
# The fields a trace record may set on each event class (not the stamps), each with its compiled check.
_CHECKS: Final = {
    kind: {
        name: check
        for name, check in field_checks(cls).items()
        if name in {f.name for f in dataclasses.fields(cls)} - {"t", "at", "session"}
    }
    for kind, cls in _EVENT_TYPES.items()
}

_BUILD: Final = {kind: builder(cls) for kind, cls in _EVENT_TYPES.items()}


def decode_event(record: dict[str, Any]) -> Event:
    """One canonical trace record as an event (``t`` left at 0; ``at`` from the record).

    Fields the event class does not have are left out; the first field (in the record's
    order) whose value does not fit the class's annotation rejects the record.
    """
    kind = record.get("kind")
    if not isinstance(kind, str):
        raise TraceError("kind: missing")
    cls = _EVENT_TYPES.get(kind)
    if cls is None:
        raise TraceError(f"kind: unknown event kind {kind!r}")
    session = record.get("session")
    if not isinstance(session, str) or not session:
        raise TraceError("session: missing")
    if "t" not in record:
        raise TraceError("t: missing")
    at = parse_time(record["t"])
    checks = _CHECKS[kind]
    fields: dict[str, Any] = {}
    for key, value in record.items():
        known = checks.get(key)
        if known is not None:
            if not known[0](value):
                raise TraceError(problem_of(key, known[1], value))
            fields[key] = value
    if "causes" in fields:
        fields["causes"] = tuple(fields["causes"])
    if cls is DecryptError:
        if not isinstance(fields.get("error", ""), str):
            raise TraceError("error: expected text")
        try:
            fields["category"] = Category(fields.get("category", "decrypt_failed"))
        except ValueError:
            raise TraceError(f"category: unknown category {fields.get('category')!r}") from None
    try:
        return _BUILD[kind](session=session, at=at, **fields)
    except TypeError as exc:
        raise TraceError(f"{kind}: {exc}") from None


def decode_offset(record: dict[str, Any]) -> float | None:
    """A record's ``offset`` (precise seconds since the trace's origin): finite and within ten years, else rejected."""
    return check_offset(record.get("offset"))


def check_offset(offset: object) -> float | None:
    """An ``offset`` value as :func:`decode_offset` reads it: ``None``, or finite and within ten years."""
    if offset is None:
        return None
    if not finite_number(offset):
        raise TraceError(f"offset: expected a finite number of seconds, got {offset!r}")
    if abs(offset) > MAX_OFFSET:  # type: ignore[arg-type]
        raise TraceError(f"offset: {offset!r} s is more than ten years from the trace's origin")
    return offset  # type: ignore[return-value]
