"""Typed decoding of canonical trace lines: msgspec checks a line against its event class in one pass, in C.

For each event class whose fields all have shapes msgspec reads exactly as
:mod:`fieldtypes` checks them (text, flags, whole numbers, numbers, categories, lists
of text, literals, optional ones), a msgspec Struct tagged by ``kind`` mirrors the
class. A line it decodes is a line the generic path accepts, and gives the same
event; anything else (an error of any kind, an unknown kind, a header, big doubt)
returns ``None`` and the generic path reads the line, rejecting it with its own
reason. Numbers stay as JSON wrote them: a ``float`` field is read as ``int | float``
(msgspec would make ``1`` into ``1.0``), and msgspec refuses NaN and infinities.
Without msgspec, :data:`DECODE` is ``None`` and every line takes the generic path.

A Struct knows the event's fields, the stamps and ``offset``, nothing else: a line
with any other key (a header's ``schema``, a field from elsewhere) is refused at
that key, unread, and goes to the generic path. So no line needs a depth guard
first: a value a Struct accepts is at most a list of text, and a deeper one is
refused at its second bracket, or, before the ``kind`` msgspec looks ahead for,
raises ``RecursionError`` past ~1,000 levels; the generic path's guard rejects it.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Final

from sessionmgr.categories import Category
from sessionmgr.events import DecryptError, Event, event_types
from sessionmgr.trace.codec import TraceError, check_offset, parse_time
from sessionmgr.trace.construct import copier

__all__ = ["DECODE", "MAKERS", "decode_line"]

_STAMPS: Final = frozenset({"t", "at", "session"})


def _shape(hint: Any) -> Any:
    """The msgspec type reading exactly what :func:`fieldtypes.field_checks` accepts for ``hint``; else ``None``."""
    if hint in (str, bool, int, type(None)):
        return hint
    if hint is float:
        return int | float  # not float: msgspec would make 1 into 1.0
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        parts = [_shape(arg) for arg in args]
        if any(part is None for part in parts):
            return None
        union: Any = parts[0]
        for part in parts[1:]:
            union = union | part
        return union
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis and args[0] is str:
        return tuple[str, ...]
    if origin is typing.Literal and all(isinstance(a, str) for a in args):
        return hint
    if hint is Category:  # a str-valued enum: read by value
        return hint
    return None


def _struct(kind: str, cls: type[Event], msgspec: Any) -> Any:
    """The Struct for one event class, or ``None`` when a field's shape is not one msgspec reads exactly."""
    hints = typing.get_type_hints(cls)
    fields: list[tuple[Any, ...]] = [
        ("session", Annotated[str, msgspec.Meta(min_length=1)]),
        ("t", str | int | float),
        ("offset", int | float | None, None),
    ]
    carried = []
    for f in dataclasses.fields(cls):
        if f.name in _STAMPS:
            continue
        shape = _shape(hints[f.name])
        if shape is None:
            return None
        fields.append((f.name, shape) if f.default is dataclasses.MISSING else (f.name, shape, f.default))
        carried.append(f.name)
    struct = msgspec.defstruct(
        f"_{cls.__name__}Line", fields, tag=kind, tag_field="kind", kw_only=True, forbid_unknown_fields=True
    )
    _COPY[struct] = copier(cls, tuple(carried))
    MAKERS[struct] = (_COPY[struct], issubclass(cls, DecryptError))
    return struct


#: Each Struct's maker of its event.
_COPY: Final[dict[type, Callable[[Any, str, datetime], Event]]] = {}
#: Each Struct's maker of its event, and whether the event is a decryption failure (a reader counts those).
MAKERS: Final[dict[type, tuple[Callable[[Any, str, datetime], Event], bool]]] = {}


def _decoder() -> Callable[[str], Any] | None:
    try:
        import msgspec
    except ImportError:
        return None
    structs = [s for kind, cls in sorted(event_types().items()) if (s := _struct(kind, cls, msgspec)) is not None]
    decode: Callable[[str], Any] = msgspec.json.Decoder(typing.Union[tuple(structs)]).decode  # noqa: UP007
    return decode


#: The typed decoder, or ``None`` without msgspec.
DECODE: Callable[[str], Any] | None = _decoder()


def decode_line(text: str) -> tuple[Event, float | None] | None:
    """The line's event and offset, or ``None`` if only the generic path may say what the line is."""
    if DECODE is None:
        return None
    try:
        line = DECODE(text)
    except (ValueError, RecursionError):  # msgspec's errors, UnicodeEncodeError, depth: the generic path decides
        return None
    try:
        at = parse_time(line.t)
        offset = check_offset(line.offset)
    except TraceError:
        return None
    return _COPY[type(line)](line, line.session, at), offset
