"""Issue 17 end to end on virtual time: each per-message rung pinned at its exact instant.

The timings are the clients' (Policy's defaults are Baileys': see sessionmgr/policy.py
for file:line); the backend is a MockBackend that records every call.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from sessionmgr import (
    AlertFired,
    BackendCall,
    BackendError,
    Category,
    DecryptError,
    DecryptOk,
    Event,
    MockBackend,
    Policy,
    SessionManager,
)
from sessionmgr.events import MessageOutcome, PhoneAnswered
from sessionmgr.pseudonym import Pseudonymizer

pytestmark = [pytest.mark.asyncio, pytest.mark.virtual_time]

PEER = "5511999990001@s.whatsapp.net"
#: health kept out of the way: these scenarios are about one message's ladder
QUIET = {"unhealthy_threshold": 1000.0}


class Run:
    """A started manager, the events it published and the backend's calls."""

    def __init__(self, manager: SessionManager, backend: MockBackend, events: list[Event]) -> None:
        self.manager, self.backend, self.events = manager, backend, events

    def fail(self, message_id: str, category: Category = Category.BAD_MAC, peer: str = PEER) -> None:
        self.manager.observe_nowait(
            DecryptError(session="bot-1", peer=peer, error=category.value, category=category, message_id=message_id)
        )

    def at(self, kind: str) -> list[float]:
        """When each event of ``kind`` was published."""
        return [e.t for e in self.events if e.kind == kind]

    def outcomes(self) -> list[tuple[str, str, float, float]]:
        """(message id, outcome, at, waited) for every message that ended."""
        return [(e.message_id, e.outcome, e.t, e.waited) for e in self.events if isinstance(e, MessageOutcome)]

    def calls(self, method: str) -> list[BackendCall]:
        return [c for c in self.backend.calls if c.method == method]


@pytest_asyncio.fixture
async def run() -> AsyncIterator[Run]:
    """A manager with Baileys' defaults on a recording backend, closed after the test whatever happens."""
    backend = MockBackend()
    manager = SessionManager(backend, policy=Policy(**QUIET), pseudonymizer=Pseudonymizer(b"t"))  # type: ignore[arg-type]
    events: list[Event] = []
    manager.bus.subscribe(events.append)
    await manager.start()
    yield Run(manager, backend, events)
    await manager.aclose()


async def until(t: float) -> None:
    await asyncio.sleep(t - asyncio.get_running_loop().time())


async def test_five_receipts_per_message_then_it_expires(run: Run) -> None:
    """Failures at 0,10,..,40 send 5 receipts (keys from the 2nd); the 6th failure at 50 ends it as expired."""
    for t in (0, 10, 20, 30, 40, 50):
        await until(t)
        run.fail("m1")
    await run.manager.drain()
    assert run.at("resend_requested") == [0, 10, 20, 30, 40]
    assert [c.detail for c in run.calls("request_resend")] == [None, True, True, True, True]
    assert run.outcomes() == [("m1", "expired", 50, 50)]


async def test_a_message_with_no_further_failure_expires_after_the_ttl(run: Run) -> None:
    """One failure at t=7 and nothing after: expired at exactly 7 + 900 s, having waited 900 s."""
    await until(7)
    run.fail("m1")
    await until(1000)
    assert run.outcomes() == [("m1", "expired", 907, 900)]


async def test_a_redelivery_while_the_receipt_is_in_flight_does_not_ask_again() -> None:
    """A receipt taking 5 s to go out: the same message failing at 1 s is a duplicate; at 6 s it is retry 2."""

    async def slow(call: BackendCall) -> None:
        if call.method == "request_resend":
            await asyncio.sleep(5)

    backend = MockBackend(slow)
    manager = SessionManager(backend, policy=Policy(**QUIET, phone_request_retries=0))  # type: ignore[arg-type]
    events: list[Event] = []
    manager.bus.subscribe(events.append)
    async with manager:
        r = Run(manager, backend, events)
        r.fail("m1")
        await until(1)
        r.fail("m1")
        await until(6)
        r.fail("m1")
        await manager.drain()
    assert r.at("resend_requested") == [0, 6]
    assert [c.detail for c in r.calls("request_resend")] == [None, True]


async def test_peer_reset_from_the_second_retry_at_most_hourly(run: Run) -> None:
    """m1's 2nd retry at 10 resets the peer; m2's at 110 and m3's at 3610 (exactly 1 h on) may not; m4's at 3612 may."""
    for t, mid in ((0, "m1"), (10, "m1"), (100, "m2"), (110, "m2"), (3600, "m3"), (3610, "m3"), (3611, "m4"),
                   (3612, "m4")):  # fmt: skip
        await until(t)
        run.fail(mid)
    await run.manager.drain()
    assert run.at("peer_reset") == [10, 3612]
    assert [c.message_id for c in run.calls("reset_peer_session")] == [None, None]
    # keys ride on every 2nd retry, reset or not
    assert [(c.message_id, c.detail) for c in run.calls("request_resend") if c.detail] == [
        ("m1", True), ("m2", True), ("m3", True), ("m4", True)
    ]  # fmt: skip


async def test_the_phone_is_asked_3_s_after_retries_1_and_2_and_its_answer_resolves(run: Run) -> None:
    """Failures at 0 and 5 ask the phone at 3 and 8; its answer at 9 ends the message as resolved_phone."""
    run.fail("m1")
    await until(5)
    run.fail("m1")
    await until(9)
    run.manager.observe_nowait(PhoneAnswered(session="bot-1", peer=PEER, message_id="m1"))
    await until(20)
    run.fail("m1")  # a late redelivery of a message that already ended: nothing happens
    await run.manager.drain()
    assert run.at("phone_requested") == [3, 8]
    assert [c.message_id for c in run.calls("request_from_phone")] == ["m1", "m1"]
    assert run.outcomes() == [("m1", "resolved_phone", 9, 9)]
    assert run.at("resend_requested") == [0, 5]


async def test_a_decrypt_of_the_message_cancels_the_phone_request(run: Run) -> None:
    """m1 fails at 0 and decrypts at 2 (the sender's resend): resolved_sender after 2 s, and no phone request."""
    run.fail("m1")
    await until(2)
    run.manager.observe_nowait(DecryptOk(session="bot-1", peer=PEER, message_id="m1"))
    await until(30)
    assert run.at("phone_requested") == []
    assert run.calls("request_from_phone") == []
    assert run.outcomes() == [("m1", "resolved_sender", 2, 2)]


async def test_the_phone_is_not_asked_while_it_is_offline(run: Run) -> None:
    """With the phone known offline the rung is skipped; back online, the next retry asks again."""
    await run.manager.phone_status("bot-1", online=False)
    run.fail("m1")
    await until(10)
    assert run.at("phone_requested") == []
    await run.manager.phone_status("bot-1", online=True)
    run.fail("m1")
    await until(20)
    assert run.at("phone_requested") == [13]
    assert run.at("resend_requested") == [0, 10]


async def test_an_unavailable_message_goes_straight_to_the_phone_and_expires_if_it_is_silent(run: Run) -> None:
    """'Message absent from node' at 4: the phone asked at 4, no receipt, no reset, no health weight; expired at 12."""
    await until(4)
    run.fail("u1", Category.UNAVAILABLE)
    run.fail("u1", Category.UNAVAILABLE)  # its redelivery while the phone is asked changes nothing
    await until(30)
    assert run.at("phone_requested") == [4]
    assert run.at("resend_requested") == [] and run.at("peer_reset") == []
    assert run.manager.get_session_health("bot-1").weighted_errors == 0
    assert run.outcomes() == [("u1", "expired", 12, 8)]


async def test_prekey_errors_top_up_prekeys_at_most_every_ten_minutes(run: Run) -> None:
    """Prekey errors at 0, 10 and 601 upload 5 prekeys at 0 and 601 (the 600 s guard) and never regenerate."""
    for t in (0, 10, 601):
        await until(t)
        run.fail(f"p{t}", Category.PREKEY)
    await run.manager.drain()
    assert run.at("prekeys_uploaded") == [0, 601]
    assert [c.detail for c in run.calls("upload_prekeys")] == [5, 5]
    assert run.calls("regenerate_keys") == []


async def test_messages_of_a_disconnected_session_are_lost_and_the_alert_fires() -> None:
    """Regeneration failing corrupts and disconnects the session at 0: its two open messages end lost, alerting."""

    def fail_regeneration(call: BackendCall) -> None:
        if call.method == "regenerate_keys":
            raise BackendError("down")

    backend = MockBackend(fail_regeneration)
    policy = Policy(unhealthy_threshold=2, max_attempts=1, alert_messages_lost=2, phone_request_retries=0)
    manager = SessionManager(backend, policy=policy)
    events: list[Event] = []
    manager.bus.subscribe(events.append)
    async with manager:
        r = Run(manager, backend, events)
        r.fail("m1")
        r.fail("m2", peer="5511999990002@s.whatsapp.net")
        await manager.drain()
        r.fail("m3")  # after the disconnect: lost at once
        await manager.drain()
    assert [(mid, outcome) for mid, outcome, _, _ in r.outcomes()] == [("m1", "lost"), ("m2", "lost"), ("m3", "lost")]
    assert [e.rule for e in events if isinstance(e, AlertFired)].count("messages_lost") == 1
    assert manager.stats_snapshot().overall.messages["lost"] == 3
