"""``decode_event`` and ``parse_time`` as they were before issue 13 (sessionmgr b0d7ec6), kept to test against.

Copied as they were, with two crashes the fast path fixes marked where they would raise
(``TypeError`` for an unhashable enum value, ``OverflowError`` for a float field holding
an integer too big for a float): the properties skip those inputs and test the fixes apart.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from datetime import UTC, datetime
from enum import Enum
from functools import cache
from typing import Any, Final

from sessionmgr.categories import Category
from sessionmgr.events import DecryptError, Event, event_types
from sessionmgr.trace.codec import TraceError


def parse_time(value: object) -> datetime:
    if isinstance(value, bool):
        raise TraceError(f"time: expected ISO-8601 or epoch milliseconds, got {value!r}")
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 1e11 else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (ValueError, OverflowError, OSError):
            raise TraceError(f"time: not a time (epoch {value!r} is out of range)") from None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
            parsed.astimezone(UTC)
        except (ValueError, OverflowError):
            raise TraceError(f"time: not ISO-8601: {value!r}") from None
        return parsed
    raise TraceError(f"time: expected ISO-8601 or epoch milliseconds, got {value!r}")


def _finite_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)  # OverflowError


_SIMPLE: Final[dict[object, tuple[str, typing.Callable[[object], bool]]]] = {
    str: ("text", lambda v: isinstance(v, str)),
    bool: ("true or false", lambda v: isinstance(v, bool)),
    int: ("a whole number", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    float: ("a finite number", _finite_number),
    type(None): ("null", lambda v: v is None),
}


def _accepts(hint: Any, value: object) -> tuple[bool, str]:
    if hint in _SIMPLE:
        name, check = _SIMPLE[hint]
        return check(value), name
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        results = [_accepts(arg, value) for arg in args]
        return any(ok for ok, _ in results), " or ".join(name for _, name in results)
    if origin is tuple:
        ok = isinstance(value, list | tuple) and all(_accepts(args[0], v)[0] for v in value)
        return ok, f"a list of {_accepts(args[0], None)[1]}"
    if origin is typing.Literal:
        return value in args, " or ".join(repr(a) for a in args)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return value in {m.value for m in hint} or isinstance(value, hint), f"a {hint.__name__.lower()}"  # TypeError
    return True, "anything"


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _field_problem(cls: type, fields: dict[str, Any]) -> str | None:
    hints = _hints(cls)
    for name, value in fields.items():
        ok, expected = _accepts(hints.get(name, Any), value)
        if not ok:
            return f"{name}: expected {expected}, got {type(value).__name__}"
    return None


_EVENT_TYPES: Final = event_types()
_ALLOWED: Final = {
    kind: frozenset(f.name for f in dataclasses.fields(cls)) - {"t", "at", "session"}
    for kind, cls in _EVENT_TYPES.items()
}


def decode_event(record: dict[str, Any]) -> Event:
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
    allowed = _ALLOWED[kind]
    fields: dict[str, Any] = {k: v for k, v in record.items() if k in allowed}
    problem = _field_problem(cls, fields)
    if problem is not None:
        raise TraceError(problem)
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
        return cls(session=session, at=at, **fields)
    except TypeError as exc:
        raise TraceError(f"{kind}: {exc}") from None
