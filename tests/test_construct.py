"""Events built by a reader's builder are the events their class's own constructor makes."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sessionmgr.events import DecryptError, Event, event_types
from sessionmgr.trace.construct import builder, positional
from tests.test_trace_decode_fast import _fitting

_CLASSES = [cls for _, cls in sorted(event_types().items())]


def _kwargs(cls: type[Event]) -> st.SearchStrategy[dict[str, Any]]:
    hints = typing.get_type_hints(cls)
    fields = {f.name: _fitting(hints[f.name]) for f in dataclasses.fields(cls) if f.name not in ("at", "t")}
    fields["at"] = st.datetimes(timezones=st.just(UTC))
    return st.fixed_dictionaries({}, optional=fields).map(lambda kw: {k: _tuples(v) for k, v in kw.items()})


def _tuples(value: object) -> object:
    """Lists as the tuples event fields hold (a trace's lists are made tuples before an event is built)."""
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def made(make: Callable[..., object], kwargs: dict[str, Any]) -> tuple[str, object]:
    """The object (its type, repr and fields) or the constructor's error, in its words."""
    try:
        obj = make(**kwargs)
    except TypeError as exc:
        return "error", str(exc)
    return "made", (type(obj), repr(obj), obj, hash(obj))


_KWARGS = {cls: _kwargs(cls) for cls in _CLASSES}


@pytest.mark.parametrize("cls", _CLASSES, ids=lambda c: c.kind)
@settings(max_examples=30)  # 26 classes, each a handful of fields
@given(data=st.data())
def test_builder_makes_what_the_class_makes(cls: type[Event], data: st.DataObject) -> None:
    """Any subset of fields (required ones missing too): an equal event, same repr and hash, or the class's error."""
    kwargs = data.draw(_KWARGS[cls])
    assert made(builder(cls), kwargs) == made(cls, kwargs)


@pytest.mark.parametrize("cls", _CLASSES, ids=lambda c: c.kind)
def test_every_event_class_gets_a_builder_and_stays_frozen(cls: type[Event]) -> None:
    """The fast path is taken for every event class, and what it builds is as frozen as the class's own."""
    build = builder(cls)
    assert build is not cls
    required = {f.name: _SAMPLE[f.type] for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING}
    event = build(**required)
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.session = "other"  # type: ignore[misc]


_SAMPLE: dict[object, object] = {"str": "s", "bool": True, "int": 1, "float": 1.0, "tuple[tuple[str, int], ...]": ()}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Checked(Event):
    kind: ClassVar[str] = "checked"
    value: int = 0

    def __post_init__(self) -> None:
        if self.value < 0:
            raise ValueError("value: negative")


@dataclasses.dataclass(slots=True, kw_only=True)
class _Unfrozen:
    value: int = 0


def test_a_class_it_cannot_stand_in_for_is_returned_as_is() -> None:
    """A class with a __post_init__, or not a frozen dataclass, is its own builder (its checks stay)."""
    assert builder(_Checked) is _Checked
    assert builder(_Unfrozen) is _Unfrozen  # type: ignore[type-var]
    with pytest.raises(ValueError, match="negative"):
        builder(_Checked)(session="s", value=-1)


def test_a_missing_required_field_is_the_class_s_own_error() -> None:
    """The builder hands a call missing a required field to the class, whose message the trace reader reports."""
    kinds = {
        cls: f.name
        for cls in _CLASSES
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.name != "session"
    }
    assert kinds, "some event class has a required field"
    for cls in kinds:
        with pytest.raises(TypeError) as own:
            cls(session="s", at=datetime(2026, 1, 1, tzinfo=UTC))
        with pytest.raises(TypeError, match=f"^{own.value}$".replace("(", r"\(").replace(")", r"\)")):
            builder(cls)(session="s", at=datetime(2026, 1, 1, tzinfo=UTC))
    assert builder(DecryptError)(session="s") == DecryptError(session="s")


_ERROR_FIELDS = ("session", "at", "peer", "error", "error_type", "message_type", "message_id", "causes", "category")


@given(_KWARGS[DecryptError], st.text(max_size=5))
def test_positional_builder_makes_what_the_class_makes(kwargs: dict[str, Any], session: str) -> None:
    """The fields passed in order, the rest defaulted: the event the class makes from them as keywords."""
    kwargs = {name: kwargs[name] for name in _ERROR_FIELDS if name in kwargs} | {"session": session}
    kwargs.setdefault("at", datetime(2026, 1, 2, tzinfo=UTC))
    args = [kwargs.get(name, _DEFAULTS[name]) for name in _ERROR_FIELDS]
    assert made(lambda **_: positional(DecryptError, _ERROR_FIELDS)(*args), {}) == made(
        DecryptError, dict(zip(_ERROR_FIELDS, args, strict=True))
    )


_DEFAULTS = {f.name: f.default for f in dataclasses.fields(DecryptError)}


def test_positional_builder_refuses_a_required_field_left_out() -> None:
    """Leaving out a required field (or naming one the class lacks) is refused when the builder is made."""
    with pytest.raises(ValueError, match="required"):
        positional(DecryptError, ("at", "peer"))
    with pytest.raises(ValueError, match="cannot build"):
        positional(DecryptError, ("session", "nope"))
