"""The event bus: order, re-entrancy, and isolation from broken sinks."""

from __future__ import annotations

import logging

import pytest

from sessionmgr import DecryptOk, Event, EventBus


def test_every_subscriber_sees_every_event_in_order() -> None:
    """Events reach all subscribers in publication order; unsubscribe stops delivery."""
    bus = EventBus()
    seen: list[str] = []
    stop = bus.subscribe(lambda e: seen.append(e.session))
    bus.publish(DecryptOk(session="a"))
    bus.publish(DecryptOk(session="b"))
    stop()
    bus.publish(DecryptOk(session="c"))
    assert seen == ["a", "b"]


def test_events_published_by_a_handler_come_after() -> None:
    """An event published from inside a handler is delivered after the current one, to everyone."""
    bus = EventBus()
    first: list[str] = []
    second: list[str] = []

    def echo(event: Event) -> None:
        first.append(event.session)
        if event.session == "a":
            bus.publish(DecryptOk(session="echo"))

    bus.subscribe(echo)
    bus.subscribe(lambda e: second.append(e.session))
    bus.publish(DecryptOk(session="a"))
    assert first == second == ["a", "echo"]


@pytest.mark.handler_errors_expected
def test_a_failing_handler_is_logged_and_skipped(caplog: pytest.LogCaptureFixture) -> None:
    """A broken sink never stops the others."""
    bus = EventBus()
    seen: list[str] = []

    def broken(event: Event) -> None:
        raise RuntimeError("sink down")

    bus.subscribe(broken)
    bus.subscribe(lambda e: seen.append(e.session))
    with caplog.at_level(logging.ERROR, "sessionmgr.bus"):
        bus.publish(DecryptOk(session="a"))
    assert seen == ["a"]
    assert "sink down" in caplog.text
