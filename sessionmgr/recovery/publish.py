"""Stamping and publishing events: the one way a decision leaves the manager."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Protocol, TypeVar

from sessionmgr.bus import EventBus
from sessionmgr.clock import Clock
from sessionmgr.events import UNSTAMPED, Event

__all__ = ["Emit", "Publisher"]

E = TypeVar("E", bound=Event)


class Emit(Protocol):
    """Stamp ``event`` (at monotonic ``t`` if given, else now), publish it, return what was published."""

    def __call__(self, event: E, *, t: float | None = None) -> E: ...


class Publisher:
    """Stamps events with the clock and publishes them on the bus."""

    def __init__(self, clock: Clock, bus: EventBus) -> None:
        self._clock = clock
        self._bus = bus

    def __call__(self, event: E, *, t: float | None = None) -> E:
        now = self._clock.monotonic()
        at = self._clock.wall()
        if t is not None and t != now:
            at -= timedelta(seconds=now - t)
            now = t
        if event.at is UNSTAMPED:
            # built just to be handed to us and seen by no one yet: stamp it where it
            # is rather than copy it (the copy was a third of the cost of an error)
            object.__setattr__(event, "t", now)
            object.__setattr__(event, "at", at)
        else:
            event = dataclasses.replace(event, t=now, at=at)
        self._bus.publish(event)
        return event
