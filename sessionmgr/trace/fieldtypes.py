"""Checks a trace record's fields against the event class's annotations, once, where lines become events.

A trace is input like any other: ``"causes": 5`` or ``"peer": [1]`` must be a
rejected line naming the field, not a ``TypeError`` deep in the manager later.
The annotations are read once per class; the check is a table over the few
shapes events use (text, numbers, flags, enums, tuples of text, optional ones).
"""

from __future__ import annotations

import math
import types
import typing
from enum import Enum
from functools import cache
from typing import Any, Final

__all__ = ["MAX_OFFSET", "field_problem", "finite_number"]

#: The farthest an event may sit from its trace's origin: ten years, in seconds.
MAX_OFFSET: Final = 10 * 365.25 * 86400


def finite_number(value: object) -> bool:
    """A JSON number that is neither a flag nor NaN nor infinite."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


_SIMPLE: Final[dict[object, tuple[str, typing.Callable[[object], bool]]]] = {
    str: ("text", lambda v: isinstance(v, str)),
    bool: ("true or false", lambda v: isinstance(v, bool)),
    int: ("a whole number", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    float: ("a finite number", finite_number),
    type(None): ("null", lambda v: v is None),
}


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _accepts(hint: Any, value: object) -> tuple[bool, str]:
    """Whether ``value`` fits ``hint``, and what was expected (for the reason)."""
    if hint in _SIMPLE:
        name, check = _SIMPLE[hint]
        return check(value), name
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        results = [_accepts(arg, value) for arg in args]
        return any(ok for ok, _ in results), " or ".join(name for _, name in results)
    if origin is tuple:  # tuple[str, ...]: a JSON list of them
        ok = isinstance(value, list | tuple) and all(_accepts(args[0], v)[0] for v in value)
        return ok, f"a list of {_accepts(args[0], None)[1]}"
    if origin is typing.Literal:
        return value in args, " or ".join(repr(a) for a in args)
    if isinstance(hint, type) and issubclass(hint, Enum):
        values = [m.value for m in hint]  # a list: a JSON list or object is not hashable
        return value in values or isinstance(value, hint), f"a {hint.__name__.lower()}"
    return True, "anything"  # a shape events do not use yet: let the constructor judge


def field_problem(cls: type, fields: dict[str, Any]) -> str | None:
    """The first field whose value does not fit ``cls``'s annotation, as ``field: expected ...``; else ``None``."""
    hints = _hints(cls)
    for name, value in fields.items():
        ok, expected = _accepts(hints.get(name, Any), value)
        if not ok:
            return f"{name}: expected {expected}, got {type(value).__name__}"
    return None
