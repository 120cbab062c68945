"""Checks a trace record's fields against the event class's annotations, once, where lines become events.

A trace is input like any other: ``"causes": 5`` or ``"peer": [1]`` must be a
rejected line naming the field, not a ``TypeError`` deep in the manager later.
The annotations are read once per class and compiled into one check per field
(a table over the few shapes events use: text, numbers, flags, enums, tuples of
text, optional ones), so a trace line costs a dict lookup and a call per field.
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Callable, Hashable
from enum import Enum
from functools import cache
from typing import Any, Final, TypeAlias

__all__ = ["MAX_OFFSET", "Check", "field_checks", "field_problem", "finite_number", "problem_of"]

#: The farthest an event may sit from its trace's origin: ten years, in seconds.
MAX_OFFSET: Final = 10 * 365.25 * 86400


def finite_number(value: object) -> bool:
    """A JSON number that is neither a flag nor NaN nor infinite (an integer of any size is finite)."""
    if isinstance(value, int):
        return not isinstance(value, bool)  # math.isfinite(10**400) would raise OverflowError
    return isinstance(value, float) and math.isfinite(value)


_SIMPLE: Final[dict[object, tuple[str, Callable[[object], bool]]]] = {
    str: ("text", lambda v: isinstance(v, str)),
    bool: ("true or false", lambda v: isinstance(v, bool)),
    int: ("a whole number", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    float: ("a finite number", finite_number),
    type(None): ("null", lambda v: v is None),
}


Check: TypeAlias = Callable[[object], bool]


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _compile(hint: Any) -> tuple[Check, str]:
    """A check for values of ``hint``, and what was expected (for the reason); built once per field."""
    if hint in _SIMPLE:
        name, check = _SIMPLE[hint]
        return check, name
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        parts = [_compile(arg) for arg in args]
        checks = tuple(check for check, _ in parts)
        if len(args) == 2 and type(None) in args:  # X | None, most fields: no loop over the alternatives
            other = checks[0] if args[1] is type(None) else checks[1]
            return (lambda v: v is None or other(v)), " or ".join(name for _, name in parts)
        return (lambda v: any(check(v) for check in checks)), " or ".join(name for _, name in parts)
    if origin is tuple:  # tuple[X, ...]: a JSON list of X (only the first argument is read, as a homogeneous tuple)
        item, item_name = _compile(args[0])
        return (lambda v: isinstance(v, list | tuple) and all(item(x) for x in v)), f"a list of {item_name}"
    if origin is typing.Literal:
        return (lambda v: v in args), " or ".join(repr(a) for a in args)
    if isinstance(hint, type) and issubclass(hint, Enum):
        enum: type[Enum] = hint
        values = frozenset(m.value for m in enum)
        # an unhashable value (a list, an object) is simply not one of them, never a TypeError
        is_member: Check = lambda v: isinstance(v, enum) or (isinstance(v, Hashable) and v in values)  # noqa: E731
        return is_member, f"a {hint.__name__.lower()}"
    return (lambda v: True), "anything"  # a shape events do not use yet: let the constructor judge


_COMPILED: Final[dict[type, dict[str, tuple[Check, str]]]] = {}


def field_checks(cls: type) -> dict[str, tuple[Check, str]]:
    """Every annotated field of ``cls``: its check and what it expects, compiled once for the class."""
    compiled = _COMPILED.get(cls)
    if compiled is None:
        compiled = _COMPILED[cls] = {name: _compile(hint) for name, hint in _hints(cls).items()}
    return compiled


def problem_of(name: str, expected: str, value: object) -> str:
    """The reason a field's value is refused: ``field: expected ..., got <type>``."""
    return f"{name}: expected {expected}, got {type(value).__name__}"


def field_problem(cls: type, fields: dict[str, Any]) -> str | None:
    """The first field whose value does not fit ``cls``'s annotation, as ``field: expected ...``; else ``None``."""
    checks = field_checks(cls)
    for name, value in fields.items():
        check, expected = checks.get(name, _ANYTHING)
        if not check(value):
            return problem_of(name, expected, value)
    return None


_ANYTHING: Final[tuple[Check, str]] = (lambda v: True, "anything")
