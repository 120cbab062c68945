"""A stateful machine over the manager and the world: send, break, wait, restart; invariants hold."""

from __future__ import annotations

import asyncio
import logging
import random
import re
from collections.abc import Callable, Coroutine
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from harness.faults import FAULTS
from harness.loop import VirtualLoop
from harness.population import make_population
from harness.world import SimWorld, WorldBackend
from sessionmgr import (
    DecryptError,
    Event,
    EventBus,
    MemoryStore,
    Policy,
    Pseudonymizer,
    SessionManager,
)
from sessionmgr.monitoring import JsonFormatter, LoggingSink

SESSIONS = ("bot-01", "bot-02")
WAITS = [0.5, 1.0, 2.0, 3.0, 60.0, 299.999, 300.0, 300.001, 900.0]


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(JsonFormatter().format(record))


class ManagerAndWorld(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = VirtualLoop()
        asyncio.set_event_loop(self.loop)
        population = make_population(7, len(SESSIONS), 4, texts=10)
        self.world = SimWorld(population, random.Random(7))
        self.store = MemoryStore()
        self.bus = EventBus()
        self.events: list[Event] = []
        self.bus.subscribe(self.events.append)
        self.capture = _Capture()
        self.logger = logging.getLogger("sessionmgr.stateful")
        self.logger.addHandler(self.capture)
        self.logger.setLevel(logging.DEBUG)
        self.logger.propagate = False
        self.bus.subscribe(LoggingSink(self.logger, Pseudonymizer(b"stateful"), include_ok=True))
        self.manager: SessionManager | None = None
        self.since = 0  # index into events where the current manager started
        self._start_manager()

    def _run(self, coro: Coroutine[Any, Any, object]) -> None:
        self.loop.run_until_complete(coro)

    def _inside(self, action: Callable[[], object]) -> None:
        """Do a world action from inside the loop, where its clock is."""

        async def act() -> None:
            action()

        self._run(act())

    def _start_manager(self) -> None:
        self.manager = SessionManager(WorldBackend(self.world), store=self.store, bus=self.bus, policy=Policy())
        self.world.observer = self.manager.observe_nowait
        self.since = len(self.events)
        self._run(self.manager.start())

    @rule(peer=st.integers(0, 7))
    def send(self, peer: int) -> None:
        jid = sorted(self.world.peers)[peer]
        text = random.Random(peer).choice([b"oi", b"tudo bem?", b"segue o pedido"])
        self._inside(lambda: self.world.send(jid, text))

    @rule(fault=st.sampled_from(sorted(FAULTS)), session=st.sampled_from(SESSIONS), seed=st.integers(0, 2**16))
    def break_state(self, fault: str, session: str, seed: int) -> None:
        self._inside(lambda: FAULTS[fault](self.world, session, random.Random(seed)))

    @rule(session=st.sampled_from(SESSIONS), seconds=st.sampled_from([5.0, 600.0]))
    def backend_outage(self, session: str, seconds: float) -> None:
        self.world.failed_backend[("regenerate_keys", session)] = self.loop.time() + seconds

    @rule(seconds=st.sampled_from(WAITS))
    def wait(self, seconds: float) -> None:
        self._run(asyncio.sleep(seconds))

    @rule()
    def restart_manager(self) -> None:
        assert self.manager is not None
        self._run(self.manager.aclose())
        self._start_manager()

    @invariant()
    def one_regeneration_in_flight_per_session(self) -> None:
        in_flight: dict[str, int] = {}
        for event in self.events[self.since :]:
            if event.kind == "regeneration_started":
                in_flight[event.session] = in_flight.get(event.session, 0) + 1
                assert in_flight[event.session] == 1, f"two regenerations of {event.session} at once"
            elif event.kind in ("regeneration_succeeded", "regeneration_failed"):
                in_flight[event.session] = 0

    @invariant()
    def stats_agree_with_events(self) -> None:
        assert self.manager is not None
        mine = [e for e in self.events[self.since :] if isinstance(e, DecryptError) and e.category.is_crypto]
        overall = self.manager.get_session_stats().overall
        assert overall.errors == len(mine)
        assert sum(overall.by_category.values()) == len(mine)

    @invariant()
    def no_plaintext_and_no_raw_number_in_logs(self) -> None:
        text = "\n".join(self.capture.lines[-200:])
        for jid in self.world.peers:
            assert jid.split("@")[0] not in text
        for word in ("tudo bem", "segue o pedido", '"oi"'):
            assert word not in text
        # digits after a decimal point are a float (299.99900000000001), not a phone number
        assert not re.search(r"(?<![\d.])\d{10,}", re.sub(r"(peer|session)-[0-9a-f]{12}", "", text))

    def teardown(self) -> None:
        try:
            if self.manager is not None:
                self._run(self.manager.aclose())
            self._run(asyncio.sleep(3600))  # resends and re-pairs in flight land
            self.world.finish()
            for message in self.world.messages.values():
                assert message.status in ("delivered", "lost")
                assert message.status == "delivered" or message.reason
        finally:
            self.logger.removeHandler(self.capture)
            asyncio.set_event_loop(None)
            self.loop.close()


ManagerAndWorld.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
TestManagerAndWorld = ManagerAndWorld.TestCase
