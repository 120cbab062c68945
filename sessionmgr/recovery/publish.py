"""Stamping and publishing events: the one way a decision leaves the manager."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import timedelta
from typing import Protocol, TypeVar

from sessionmgr.bus import EventBus
from sessionmgr.clock import Clock
from sessionmgr.events import ADVISED_ACTIONS, UNSTAMPED, Event

__all__ = ["Emit", "Publisher"]

E = TypeVar("E", bound=Event)


class Emit(Protocol):
    """Stamp ``event`` (at monotonic ``t`` if given, else now), publish it, return what was published.

    ``in_place``: the caller handed ``event`` over (it keeps no reference): stamp it, do not copy it.
    """

    def __call__(self, event: E, *, t: float | None = None, in_place: bool = False) -> E: ...


class Publisher:
    """Stamps events with the clock and publishes them on the bus.

    An ``advisory`` manager never calls its backend: the actions it decides are
    published with ``advised=True``, so logs and status do not read them as done.
    """

    def __init__(self, clock: Clock, bus: EventBus, *, advisory: bool = False) -> None:
        self._clock = clock
        self._bus = bus
        self._advisory = advisory

    def __call__(self, event: E, *, t: float | None = None, in_place: bool = False) -> E:
        now = self._clock.monotonic()
        at = self._clock.wall()
        if t is not None and t != now:
            at -= timedelta(seconds=now - t)
            now = t
        if in_place or event.at is UNSTAMPED:
            # built just to be handed to us and seen by no one yet (or handed over by its
            # reader): stamp it where it is rather than copy it (the copy was a third of the
            # cost of an error)
            object.__setattr__(event, "t", now)
            object.__setattr__(event, "at", at)
        else:
            event = dataclasses.replace(event, t=now, at=at)
        if self._advisory and isinstance(event, ADVISED_ACTIONS):
            object.__setattr__(event, "advised", True)  # ours, not yet seen by anyone
        self._bus.publish(event)
        return event

    def stamp(self, event: Event) -> None:
        """Stamp a handed-over observation now, in place, to be published later by :meth:`publish_batch`."""
        object.__setattr__(event, "t", self._clock.monotonic())
        object.__setattr__(event, "at", self._clock.wall())

    def publish_batch(self, events: Sequence[Event]) -> None:
        """Publish stamped observations together (see :meth:`EventBus.publish_batch`)."""
        self._bus.publish_batch(events)
