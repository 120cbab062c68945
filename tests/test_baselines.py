"""The client baselines act at the instants their source says (Baileys 78e7e4e2cf, whatsmeow 33cfac51)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from harness.baselines import (
    BAILEYS_COUNTER_TTL,
    BAILEYS_PREKEY_REFILL,
    WHATSMEOW_PREKEY_REFILL,
    BaileysDefaults,
    WhatsmeowDefaults,
)
from harness.world import ABSENT, SimWorld, WorldBackend
from sessionmgr import Category, DecryptError, DecryptOk

pytestmark = [pytest.mark.asyncio, pytest.mark.virtual_time]

Call = tuple[float, str, str | None, bool]


class Recording(WorldBackend):
    """The world's backend, noting (virtual time, method, message id, keys attached) of every call."""

    def __init__(self, world: SimWorld) -> None:
        super().__init__(world)
        self.log: list[Call] = []

    def note(self, method: str, message_id: str | None = None, keys: bool = False) -> None:
        self.log.append((round(asyncio.get_running_loop().time() - self.start, 3), method, message_id, keys))

    start = 0.0

    async def request_resend(self, session: str, peer: str, message_id: str | None, *, with_keys: bool = False) -> None:
        self.note("resend", message_id, with_keys)
        await super().request_resend(session, peer, message_id, with_keys=with_keys)

    async def request_from_phone(self, session: str, peer: str, message_id: str | None) -> None:
        self.note("phone", message_id)
        await super().request_from_phone(session, peer, message_id)

    async def reset_peer_session(self, session: str, peer: str) -> None:
        self.note("reset")
        await super().reset_peer_session(session, peer)


def setup(world_factory: Callable[..., SimWorld]) -> tuple[SimWorld, Recording, str]:
    world = world_factory(sessions=1, peers=1)
    jid = next(iter(world.peers))
    world.send(jid, b"hello")  # the bot has a session with the peer
    backend = Recording(world)
    backend.start = world.now()
    return world, backend, jid


def bad_mac(jid: str, message_id: str) -> DecryptError:
    return DecryptError(session="bot-01", peer=jid, error="Bad MAC", message_id=message_id, category=Category.BAD_MAC)


def rebuild(world: SimWorld, jid: str) -> None:
    """The peer starts a new session with the bot (a message from a fresh bundle), so the bot has one again."""
    world.peers[jid].sending = None
    assert world.send(jid, b"again").status == "delivered"


async def at(world: SimWorld, backend: Recording, t: float) -> None:
    """Sleep until ``t`` seconds after the backend's start."""
    await asyncio.sleep(backend.start + t - world.now())


async def test_baileys_five_receipts_keys_from_the_2nd_and_one_recreation_an_hour(
    world_factory: Callable[..., SimWorld],
) -> None:
    """Receipts for counts 1-5 (maxMsgRetryCount 5), keys from count 2, the peer session deleted at most once an hour."""
    world, backend, jid = setup(world_factory)
    driver = BaileysDefaults(world, backend)
    for k in range(6):
        await at(world, backend, 100.0 * k)
        driver.observe(bad_mac(jid, "A"))
        await asyncio.sleep(1)
        rebuild(world, jid)
    await at(world, backend, 1000)
    resends = [(t, keys) for t, m, _, keys in backend.log if m == "resend"]
    assert resends == [(0.0, False), (100.0, True), (200.0, True), (300.0, True), (400.0, True)]
    assert [t for t, m, _, _ in backend.log if m == "reset"] == [100.0]
    # phone: 3 s after counts 1 and 2, then 2 s in requestPlaceholderResend
    assert [t for t, m, _, _ in backend.log if m == "phone"] == [5.0, 105.0]
    # markRetryFailed deleted the counter at the 6th failure, so a 7th starts over at count 1 (no keys)
    driver.observe(bad_mac(jid, "A"))
    await asyncio.sleep(0)
    assert backend.log[-1][1:] == ("resend", "A", False)
    await at(world, backend, 3700)
    assert driver.actions.has_session("bot-01", jid)
    driver.observe(bad_mac(jid, "B"))
    driver.observe(bad_mac(jid, "B"))  # same instant: the retry mutex spaces them by 250 ms
    await at(world, backend, 3701)
    assert [(t, m) for t, m, _, _ in backend.log if t >= 3700 and m != "phone"] == [
        (3700.0, "resend"),
        (3700.25, "reset"),  # over an hour since the last recreation
        (3700.25, "resend"),
    ]
    await driver.aclose()


async def test_baileys_counter_expires_after_15_minutes_idle(world_factory: Callable[..., SimWorld]) -> None:
    """A message's count lives 15 min from its last use: after that its next failure is count 1 again (no keys)."""
    world, backend, jid = setup(world_factory)
    driver = BaileysDefaults(world, backend)
    driver.observe(bad_mac(jid, "A"))
    await at(world, backend, BAILEYS_COUNTER_TTL - 1)
    driver.observe(bad_mac(jid, "A"))  # count 2
    await at(world, backend, 2 * BAILEYS_COUNTER_TTL)
    driver.observe(bad_mac(jid, "A"))  # 15 min + 1 s idle: count 1
    await asyncio.sleep(0)
    assert [keys for _, m, _, keys in backend.log if m == "resend"] == [False, True, False]
    await driver.aclose()


async def test_baileys_decrypt_cancels_the_phone_request_and_unavailable_goes_to_the_phone(
    world_factory: Callable[..., SimWorld],
) -> None:
    """A decrypt before 3 s cancels the phone request; an unavailable message asks the phone 2 s later, no receipt."""
    world, backend, jid = setup(world_factory)
    driver = BaileysDefaults(world, backend)
    driver.observe(bad_mac(jid, "A"))
    await at(world, backend, 2.9)
    driver.observe(DecryptOk(session="bot-01", peer=jid, message_id="A"))
    driver.observe(DecryptError(session="bot-01", peer=jid, error="Key used already or never filled", message_id="C"))
    await at(world, backend, 10)
    driver.observe(
        DecryptError(session="bot-01", peer=jid, error=ABSENT, message_id="U", category=Category.UNAVAILABLE)
    )
    driver.observe(
        DecryptError(session="bot-01", peer=jid, error=ABSENT, message_id="U", category=Category.UNAVAILABLE)
    )
    await at(world, backend, 30)
    assert [(t, m, mid) for t, m, mid, _ in backend.log] == [(0.0, "resend", "A"), (12.0, "phone", "U")]
    assert world.prekey_server.refill_batch == BAILEYS_PREKEY_REFILL
    await driver.aclose()


async def test_whatsmeow_four_receipts_keys_from_the_2nd_no_reset_no_phone(
    world_factory: Callable[..., SimWorld],
) -> None:
    """Counts 1-4 get a receipt (none at 5), keys from count 2, never a session reset, no phone by default."""
    world, backend, jid = setup(world_factory)
    driver = WhatsmeowDefaults(world, backend)
    for k in range(6):
        await at(world, backend, 10.0 * k)
        driver.observe(bad_mac(jid, "A"))
    await at(world, backend, 100)
    assert [(t, m, keys) for t, m, _, keys in backend.log] == [
        (0.0, "resend", False),
        (10.0, "resend", True),
        (20.0, "resend", True),
        (30.0, "resend", True),
    ]
    assert world.prekey_server.refill_batch == WHATSMEOW_PREKEY_REFILL
    await driver.aclose()


async def test_whatsmeow_phone_rerequest_after_5s_cancelled_by_a_decrypt(
    world_factory: Callable[..., SimWorld],
) -> None:
    """With AutomaticMessageRerequestFromPhone the 1st retry asks the phone at 5 s unless the message decrypts first."""
    world, backend, jid = setup(world_factory)
    driver = WhatsmeowDefaults(world, backend, phone_rerequest=True)
    driver.observe(bad_mac(jid, "A"))
    driver.observe(bad_mac(jid, "B"))
    await at(world, backend, 4.9)
    driver.observe(DecryptOk(session="bot-01", peer=jid, message_id="B"))
    driver.observe(
        DecryptError(session="bot-01", peer=jid, error=ABSENT, message_id="U", category=Category.UNAVAILABLE)
    )
    await at(world, backend, 20)
    assert [(t, m, mid) for t, m, mid, _ in backend.log if m == "phone"] == [(4.9, "phone", "U"), (5.0, "phone", "A")]
    await driver.aclose()
