"""What scenarios share: run a world with a plan, then ask the events questions."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from harness.faults import FaultPlan
from harness.simulate import SimConfig, SimResult, simulate
from sessionmgr import Category, DecryptError, Event, Policy
from sessionmgr.clock import to_ns

E = TypeVar("E", bound=Event)

#: A small, busy world: 4 bots with 10 peers each, a message per peer every 2 minutes.
BASE = SimConfig(seed=11, sessions=4, peers_per_session=10, hours=2, message_interval=120.0, faults=FaultPlan())


async def run(plan: FaultPlan, **changes: Any) -> SimResult:
    """Run :data:`BASE` with ``plan`` (and any config changes) on the running virtual loop."""
    config = dataclasses.replace(BASE, faults=plan, **changes)
    return await simulate(config, keep_events=True)


def of(events: Iterable[Event], kind: type[E], session: str | None = None) -> list[E]:
    return [e for e in events if isinstance(e, kind) and (session is None or e.session == session)]


def first_unhealthy_instant(events: Iterable[Event], session: str, policy: Policy) -> float | None:
    """The brute-force answer: the first error time at which the window (t - 300 s, t] weighs >= threshold."""
    errors = [e for e in of(events, DecryptError, session) if e.category is not Category.NOT_CRYPTO]
    span = to_ns(policy.window)
    for i, error in enumerate(errors):
        now = to_ns(error.t)
        weight = sum(policy.weight(e.category) for e in errors[: i + 1] if now - span < to_ns(e.t))
        if weight >= policy.unhealthy_threshold:
            return error.t
    return None


async def until(condition: Callable[[], object], what: str, timeout: float = 10.0) -> None:
    """Wait (in real time: real files, real threads) until ``condition()`` holds; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)  # poll, bounded by the deadline
