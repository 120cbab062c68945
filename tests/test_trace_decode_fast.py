"""The canonical trace's decoding with compiled field checks gives exactly what the per-value checks gave."""

from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
from collections.abc import Callable
from random import Random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sessionmgr.categories import Category
from sessionmgr.events import HealthChanged, event_types
from sessionmgr.trace.codec import TraceError, decode_event, parse_time
from sessionmgr.trace.readers import Reader
from tests.reference import trace_decode as reference

_KINDS = sorted(event_types())
_FIELDS = sorted({f.name for cls in event_types().values() for f in dataclasses.fields(cls)})
_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),  # NaN and infinities too: the stdlib reads them from a trace
    st.text(max_size=8),
    st.sampled_from([c.value for c in Category]),
    st.lists(st.text(max_size=4), max_size=3),
    st.lists(st.one_of(st.integers(), st.text(max_size=3), st.lists(st.text(max_size=2))), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
_times = st.one_of(
    st.datetimes(timezones=st.none() | st.timezones()).map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat() + "Z"),
    st.text(alphabet="0123456789-:TZ.+ ", max_size=26),
    st.integers(min_value=-(10**16), max_value=10**16),
    st.floats(),
    st.booleans(),
    st.none(),
)


def _fitting(hint: Any) -> st.SearchStrategy[Any]:
    """Values that fit an event field's annotation (mostly), so that records often become events."""
    simple: dict[object, st.SearchStrategy[Any]] = {
        str: st.text(max_size=8), bool: st.booleans(), int: st.integers(), type(None): st.none(),
        float: st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers()),
    }  # fmt: skip
    if hint in simple:
        return simple[hint]
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(_fitting(arg) for arg in args))
    if origin is tuple:
        return st.lists(_fitting(args[0]), max_size=3)
    if origin is typing.Literal:
        return st.sampled_from(args)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return st.sampled_from([m.value for m in hint])
    return _values


@functools.cache
def _record_of(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    """Well-formed records of one kind (its required fields present, the others or not), then perhaps one spoiled."""
    cls = event_types()[kind]
    hints = typing.get_type_hints(cls)
    own = [f for f in dataclasses.fields(cls) if f.name not in ("t", "at", "session")]
    required = {f.name: _fitting(hints[f.name]) for f in own if f.default is dataclasses.MISSING}
    optional = {f.name: _fitting(hints[f.name]) for f in own if f.default is not dataclasses.MISSING}
    base = st.fixed_dictionaries(
        {
            "kind": st.just(kind),
            "t": st.sampled_from(["2026-01-02T03:04:05.678Z", "2026-01-02T03:04:05+02:00", 1767323045678]),
            "session": st.just("s1"),
            **required,
        },
        optional={**optional, "stray": _values},  # "stray": a field no event has, left out
    )
    names = [f.name for f in own]
    spoil = st.one_of(
        st.none(),
        st.tuples(st.sampled_from(names), _values) if names else st.none(),  # this kind's own fields most often
        st.tuples(st.sampled_from([*sorted(hints), "t", "session", "kind"]), _values),
    )
    return st.tuples(base, spoil).map(lambda pair: pair[0] if pair[1] is None else {**pair[0], pair[1][0]: pair[1][1]})


# mostly well-formed records of every kind, some with an ill-typed field; and records of anything
_records = st.one_of(
    st.sampled_from(_KINDS).flatmap(_record_of),
    st.fixed_dictionaries(
        {},
        optional={
            "t": _times,
            "session": st.sampled_from(["s1", "", 5]),
            "kind": st.sampled_from([*_KINDS, "nonsense", 3]),
            **{name: _values for name in _FIELDS if name not in ("t", "session")},
        },
    ),
)


def outcome(decode: Callable[[dict[str, Any]], object], record: dict[str, Any]) -> tuple[str, str]:
    """The event's repr, or the rejection's reason."""
    try:
        return "event", repr(decode(record))
    except TraceError as exc:
        return "rejected", str(exc)


def _old_crashes(record: dict[str, Any]) -> bool:
    try:
        reference.decode_event(record)
    except (TypeError, OverflowError):
        return True
    except TraceError:
        pass
    return False


def _in_any_order(records: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.tuples(records, st.randoms(use_true_random=False)).map(_shuffled)


def _shuffled(pair: tuple[dict[str, Any], Random]) -> dict[str, Any]:
    items = list(pair[0].items())
    pair[1].shuffle(items)
    return dict(items)


def _same_as_reference(record: dict[str, Any]) -> None:
    if _old_crashes(record):  # the two crashes the fast path fixes: tested below
        with pytest.raises(TraceError):
            decode_event(record)
        return
    assert outcome(decode_event, record) == outcome(reference.decode_event, record)


_IN_ANY_ORDER = {kind: _in_any_order(_record_of(kind)) for kind in _KINDS}
#: one of each shape a JSON value takes, fitting some annotation or none
_SAMPLES: list[object] = [
    None, True, False, 0, -3, 2**70, 1.5, -0.0, float("nan"), float("inf"), "", "x", "bad_mac", "msg",
    [], ["a"], [1], [["a", 1]], {}, {"a": 1},
]  # fmt: skip


def test_every_field_of_every_kind_with_every_shape_of_value() -> None:
    """Each field of each event class set to each shape of value, alone: the same event or the same reason."""
    for kind, cls in sorted(event_types().items()):
        for f in dataclasses.fields(cls):
            for value in _SAMPLES:
                _same_as_reference({"kind": kind, "t": "2026-01-02T03:04:05Z", "session": "s1", f.name: value})


@pytest.mark.parametrize("kind", _KINDS)
@settings(max_examples=25)  # 26 kinds; single fields are covered exhaustively above
@given(data=st.data())
def test_decode_event_is_the_reference_for_each_kind(kind: str, data: st.DataObject) -> None:
    """Records of one kind, fields in any order, one perhaps spoiled: the same event or the same reason."""
    _same_as_reference(data.draw(_IN_ANY_ORDER[kind]))


@given(_in_any_order(_records))
def test_decode_event_is_the_reference(record: dict[str, Any]) -> None:
    """Any record at all: the same event or the same reason (the first ill-typed field in the record's order)."""
    _same_as_reference(record)


@given(_times)
def test_parse_time_is_the_reference(value: object) -> None:
    """Any time, text or number or neither, parses to the same datetime (and zone) or the same reason."""
    assert outcome(parse_time, value) == outcome(reference.parse_time, value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"category": [1]}, "category: expected a category, got list"),
        ({"category": {"a": 1}}, "category: expected a category, got dict"),
    ],
)
def test_an_unhashable_enum_value_is_rejected_not_raised(extra: dict[str, Any], reason: str) -> None:
    """A list where a category belongs rejects the line (it crashed the reader with a TypeError before)."""
    record = {"t": "2026-01-01T00:00:00Z", "session": "s1", "kind": "decrypt_error", **extra}
    with pytest.raises(TypeError):
        reference.decode_event(record)
    with pytest.raises(TraceError, match=f"^{reason}$"):
        decode_event(record)


def test_a_float_field_holding_a_huge_integer_is_a_finite_number() -> None:
    """An integer too big for a float is still a finite number (it crashed with an OverflowError before)."""
    record = {"t": "2026-01-01T00:00:00Z", "session": "s1", "kind": "health", "healthy": False, "weight": 10**400}
    with pytest.raises(OverflowError):
        reference.decode_event(record)
    event = decode_event(record)
    assert isinstance(event, HealthChanged)
    assert event.weight == 10**400


def test_a_trace_with_a_bad_category_keeps_reading() -> None:
    """The line is rejected with its number and the field named; the next line is read."""
    lines = [
        '{"schema":"sessionmgr.trace/1","origin":"2026-01-01T00:00:00Z"}',
        '{"t":"2026-01-01T00:00:00Z","session":"s1","kind":"decrypt_error","category":[1]}',
        '{"t":"2026-01-01T00:00:01Z","session":"s1","kind":"decrypt_error","category":"bad_mac"}',
    ]
    reader = Reader("x.trace.jsonl", lines=lines)
    assert [located.line for located in reader] == [3]
    assert reader.stats.rejected == [
        {"file": "x.trace.jsonl", "line": 2, "reason": "category: expected a category, got list"}
    ]
