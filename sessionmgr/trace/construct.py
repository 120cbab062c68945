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

__all__ = ["builder", "copier", "positional"]

E = TypeVar("E", bound=Event)


def _plain(cls: type) -> bool:
    """Whether ``cls(**fields)`` does nothing but set each slot (so setting them directly is the same)."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or not hasattr(cls, "__slots__") or hasattr(cls, "__post_init__"):
        return False
    return all(
        f.kw_only and f.init and f.default_factory is dataclasses.MISSING and f.name.isidentifier()
        for f in dataclasses.fields(cls)
    )


def builder(cls: type[E]) -> Callable[..., E]:
    """A function making ``cls(**fields)`` (same defaults, same result), or ``cls`` itself where that is not sure."""
    if not _plain(cls):
        return cls
    fields = dataclasses.fields(cls)
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


def copier(cls: type[E], carried: tuple[str, ...]) -> Callable[[Any, str, Any], E]:
    """A function making ``cls(session=session, at=at, **{name: source.name for name in carried})``.

    The fields not carried take their defaults; every required field must be carried.
    Where :func:`builder` could not stand in for the class, the class itself is called.
    """
    fields = dataclasses.fields(cls)
    missing = [f.name for f in fields if f.default is dataclasses.MISSING and f.name not in (*carried, "session", "at")]
    if missing:
        raise ValueError(f"{cls.__name__}: required fields not carried: {missing}")
    if not _plain(cls):
        return lambda source, session, at: cls(session=session, at=at, **{n: getattr(source, n) for n in carried})
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    lines = ["def copy(source, session, at):", "    event = _new(_cls)"]
    for f in fields:
        namespace[f"_set_{f.name}"] = getattr(cls, f.name).__set__
        if f.name in ("session", "at"):
            value = f.name
        elif f.name in carried:
            value = f"source.{f.name}"
        else:
            namespace[f"_default_{f.name}"] = f.default
            value = f"_default_{f.name}"
        lines.append(f"    _set_{f.name}(event, {value})")
    lines.append("    return event")
    exec("\n".join(lines), namespace)
    copy: Callable[[Any, str, Any], E] = namespace["copy"]
    copy.__qualname__ = f"{cls.__qualname__}.copy"
    return copy


def positional(cls: type[E], names: tuple[str, ...]) -> Callable[..., E]:
    """A function making ``cls(**dict(zip(names, args)))`` from positional ``args`` (the others default).

    A call with keywords costs a name match per argument; a reader making an event per line
    passes them in order. Where :func:`builder` could not stand in for the class, the class is called.
    """
    fields = dataclasses.fields(cls)
    missing = [f.name for f in fields if f.default is dataclasses.MISSING and f.name not in names]
    if missing or set(names) - {f.name for f in fields} or len(set(names)) != len(names):
        raise ValueError(f"{cls.__name__}: cannot build from {names} (required: {missing})")
    if not _plain(cls):
        return lambda *args: cls(**dict(zip(names, args, strict=True)))
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    lines = [f"def build({', '.join(names)}):", "    event = _new(_cls)"]
    for f in fields:
        namespace[f"_set_{f.name}"] = getattr(cls, f.name).__set__
        if f.name not in names:
            namespace[f"_default_{f.name}"] = f.default
        lines.append(f"    _set_{f.name}(event, {f.name if f.name in names else f'_default_{f.name}'})")
    lines.append("    return event")
    exec("\n".join(lines), namespace)
    build: Callable[..., E] = namespace["build"]
    build.__qualname__ = f"{cls.__qualname__}.build_positional"
    return build
