"""Events made the way a reader makes them, many thousands a second: without a frozen dataclass's per-field cost.

A frozen dataclass's ``__init__`` sets every field through ``object.__setattr__`` looked
up afresh each time (``dataclasses._field_init``), about twice what setting the slots
directly costs; a reader makes one event per line. :func:`builder` writes, once per
class, a function taking the same keyword arguments with the same defaults that
fills the slots directly. It is the class's own ``__init__`` in effect, and stands in
for it only where that is exactly so: a frozen, slotted dataclass of keyword-only
fields with plain defaults and no ``__post_init__``; any other class is returned as
it is. A call it cannot take (a missing required field) goes to the class itself, so
the error and its text are the class's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

from sessionmgr.events import Event

__all__ = ["builder"]

E = TypeVar("E", bound=Event)


def builder(cls: type[E]) -> Callable[..., E]:
    """A function making ``cls(**fields)`` (same defaults, same result), or ``cls`` itself where that is not sure."""
    params = getattr(cls, "__dataclass_params__", None)
    fields = dataclasses.fields(cls)
    plain = all(
        f.kw_only and f.init and f.default_factory is dataclasses.MISSING and f.name.isidentifier() for f in fields
    )
    if params is None or not params.frozen or not hasattr(cls, "__slots__") or hasattr(cls, "__post_init__"):
        return cls
    if not plain:
        return cls
    names = [f.name for f in fields]
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls, "_MISSING": dataclasses.MISSING}
    args = []
    for f in fields:
        if f.default is dataclasses.MISSING:
            args.append(f"{f.name}=_MISSING")
        else:
            namespace[f"_default_{f.name}"] = f.default
            args.append(f"{f.name}=_default_{f.name}")
        namespace[f"_set_{f.name}"] = getattr(cls, f.name).__set__  # the slot's own setter
    required = [f.name for f in fields if f.default is dataclasses.MISSING]
    lines = [f"def build(*, {', '.join(args)}):"]
    if required:  # one missing: the class itself says so, in its own words
        lines.append(f"    if {' or '.join(f'{name} is _MISSING' for name in required)}:")
        pairs = ", ".join(f"({name!r}, {name})" for name in names)
        lines.append(f"        return _cls(**{{k: v for k, v in ({pairs}) if v is not _MISSING}})")
    lines.append("    event = _new(_cls)")
    lines += [f"    _set_{name}(event, {name})" for name in names]
    lines.append("    return event")
    exec("\n".join(lines), namespace)  # as dataclasses writes __init__ itself
    build: Callable[..., E] = namespace["build"]
    build.__qualname__ = f"{cls.__qualname__}.build"
    return build
