"""The event bus: order, re-entrancy, and isolation from broken sinks."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from sessionmgr import DecryptOk, Event, EventBus
from sessionmgr.bus import QuietRun


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


@pytest.mark.parametrize("as_batch", [False, True], ids=["one event", "a batch"])
def test_events_published_by_a_handler_come_after(as_batch: bool) -> None:
    """Events published from inside a handler (one, or a batch) are delivered after the current one, to everyone."""
    bus = EventBus()
    first: list[str] = []
    second: list[str] = []

    def echo(event: Event) -> None:
        first.append(event.session)
        if event.session == "a":
            if as_batch:
                bus.publish_batch([DecryptOk(session="echo"), DecryptOk(session="echo 2")])
            else:
                bus.publish(DecryptOk(session="echo"))

    bus.subscribe(echo)
    bus.subscribe(lambda e: second.append(e.session))
    bus.publish(DecryptOk(session="a"))
    assert first == second == (["a", "echo", "echo 2"] if as_batch else ["a", "echo"])


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


def test_the_bus_gives_a_batch_to_batch_handlers_and_each_event_to_the_rest() -> None:
    """A batch handler gets the events at once; a plain handler gets them one by one, in order."""
    bus = EventBus()
    batches: list[list[str]] = []
    singles: list[str] = []
    bus.subscribe(
        lambda e: pytest.fail("the batch handler is used"), batch=lambda es: batches.append([e.session for e in es])
    )
    bus.subscribe(lambda e: singles.append(e.session))
    bus.publish_batch([DecryptOk(session="a"), DecryptOk(session="b")])
    assert batches == [["a", "b"]] and singles == ["a", "b"]


@pytest.mark.handler_errors_expected
def test_a_failing_batch_handler_is_logged_and_the_others_still_get_the_batch(caplog: pytest.LogCaptureFixture) -> None:
    """A broken sink never stops the others, in a batch as one by one."""
    bus = EventBus()
    seen: list[str] = []

    def broken(events: Sequence[Event]) -> None:
        raise RuntimeError("sink down")

    bus.subscribe(lambda e: None, batch=broken)
    stop = bus.subscribe(lambda e: seen.append(e.session))
    with caplog.at_level(logging.ERROR, "sessionmgr.bus"):
        bus.publish_batch([DecryptOk(session="a")])
    assert seen == ["a"] and "sink down" in caplog.text
    stop()
    bus.publish_batch([DecryptOk(session="b")])
    assert seen == ["a"]


def _run(*sessions: str) -> QuietRun:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    return QuietRun(list(sessions), [float(i) for i in range(len(sessions))], at, at)


def test_a_quiet_run_goes_to_every_subscriber_that_takes_runs() -> None:
    """Each subscriber gets the run itself, in subscription order; none gets an event."""
    bus = EventBus()
    seen: list[tuple[str, list[str]]] = []
    for name in ("first", "second"):
        bus.subscribe(
            lambda e: pytest.fail("a run is not an event"),
            quiet=lambda run, name=name: seen.append((name, run.sessions)),  # type: ignore[misc]
        )
    assert bus.takes_runs
    bus.publish_quiet(_run("a", "b"))
    assert seen == [("first", ["a", "b"]), ("second", ["a", "b"])]


def test_a_quiet_run_is_refused_while_a_subscriber_wants_events() -> None:
    """Its events would be lost to that subscriber: the bus says so rather than drop them."""
    bus = EventBus()
    bus.subscribe(lambda e: None, quiet=lambda run: None)
    stop = bus.subscribe(lambda e: None)
    assert not bus.takes_runs
    with pytest.raises(RuntimeError, match="takes no quiet runs"):
        bus.publish_quiet(_run("a"))
    stop()
    assert bus.takes_runs
    bus.publish_quiet(_run("a"))


@pytest.mark.handler_errors_expected
def test_a_failing_quiet_handler_is_logged_and_the_others_still_get_the_run(caplog: pytest.LogCaptureFixture) -> None:
    """A broken sink never stops the others, for a run as for events."""
    bus = EventBus()
    seen: list[int] = []

    def broken(run: QuietRun) -> None:
        raise RuntimeError("sink down")

    bus.subscribe(lambda e: None, quiet=broken)
    bus.subscribe(lambda e: None, quiet=lambda run: seen.append(len(run)))
    with caplog.at_level(logging.ERROR, "sessionmgr.bus"):
        bus.publish_quiet(_run("a", "b"))
    assert seen == [2] and "sink down" in caplog.text
