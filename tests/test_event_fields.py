"""Event.fields() gives every event's own fields in declaration order, ``advised`` first and only when set."""

from __future__ import annotations

import dataclasses

import pytest

from sessionmgr.events import Event, ResendRequested, _own_fields, event_types


@pytest.mark.parametrize("cls", [event_types()[kind] for kind in sorted(event_types())])
def test_field_names_follow_the_declaration(cls: type[Event]) -> None:
    """The cached names are the dataclass fields in order, without session, t, at (and advised unless set)."""
    declared = [f.name for f in dataclasses.fields(cls)]
    assert declared[:4] == ["session", "t", "at", "advised"]
    assert list(_own_fields(cls)) == declared[4:]


def test_advised_comes_first_and_tuples_become_lists() -> None:
    """As the old per-field walk wrote it: advised (when set) before the class's own fields."""
    event = ResendRequested(session="s", peer="p", message_id="m", advised=True)
    assert list(event.fields()) == ["advised", *[f.name for f in dataclasses.fields(ResendRequested)][4:]]
    assert "advised" not in ResendRequested(session="s", peer="p").fields()
