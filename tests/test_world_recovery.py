"""What the new rungs need from the world: keys in receipts, the phone, unavailable messages, prekey counts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from harness.faults import FAULTS, FaultPlan, PhoneOffline, schedule
from harness.prekeys import PREKEY_LOW
from harness.world import ABSENT, SENDER_RECREATE_INTERVAL, SimWorld, WorldBackend, WorldConfig
from sessionmgr import Category, DecryptError, DecryptOk, Event
from sessionmgr.events import PhoneAnswered, PhoneStatus

pytestmark = [pytest.mark.asyncio, pytest.mark.virtual_time]


def broken(world_factory: Callable[..., SimWorld], **config: object) -> tuple[SimWorld, list[Event], str]:
    """One peer whose bot-side chain key is corrupt after one good message."""
    events: list[Event] = []
    world = world_factory(sessions=1, peers=1, observer=events.append, config=WorldConfig(**config))  # type: ignore[arg-type]
    jid = next(iter(world.peers))
    world.send(jid, b"first")
    assert FAULTS["corrupt_chain_key"](world, "bot-01", world.rng)
    events.clear()
    return world, events, jid


def oks(events: list[Event]) -> list[DecryptOk]:
    return [e for e in events if isinstance(e, DecryptOk)]


async def test_receipt_with_keys_rebuilds_the_senders_session_at_once(world_factory: Callable[..., SimWorld]) -> None:
    """The first receipt, with keys, makes the sender build a session from the attached bundle: delivered in one trip."""
    world, events, jid = broken(world_factory)
    message = world.send(jid, b"second")
    assert message.status == "pending"
    server_before = world.prekey_server.count(world.bots["bot-01"])
    await WorldBackend(world).request_resend("bot-01", jid, message.id, with_keys=True)
    await asyncio.sleep(world.config.resend_latency)
    assert message.status == "delivered"  # type: ignore[comparison-overlap]  # changed by the awaited resend
    frame = world.peers[jid].last_frame
    assert frame is not None and frame.type == "pkmsg"
    # the bundle's prekey came with the receipt, not from the server's pool
    assert world.prekey_server.count(world.bots["bot-01"]) == server_before
    [ok] = oks(events)
    assert ok.message_id == message.id  # a resend carries the same message id


async def test_without_keys_a_sender_that_recreated_within_the_hour_keeps_failing(
    world_factory: Callable[..., SimWorld],
) -> None:
    """Within an hour of its last rebuild the sender re-encrypts on its broken session, however often it is asked."""
    world, events, jid = broken(world_factory)
    world.peers[jid].recreated_at = world.now()  # it rebuilt for another message just now
    message = world.send(jid, b"second")
    backend = WorldBackend(world)
    for _ in range(3):
        await backend.request_resend("bot-01", jid, message.id)
        await asyncio.sleep(world.config.resend_latency)
    assert message.status == "pending" and message.failures == 4
    assert {e.message_id for e in events if isinstance(e, DecryptError)} == {message.id}


async def test_without_keys_the_sender_rebuilds_from_the_2nd_receipt_once_the_hour_is_over(
    world_factory: Callable[..., SimWorld],
) -> None:
    """The 1st receipt re-encrypts; the 2nd, more than an hour after the last rebuild, fetches a server bundle."""
    world, _, jid = broken(world_factory)
    world.peers[jid].recreated_at = world.now() - SENDER_RECREATE_INTERVAL - 1
    message = world.send(jid, b"second")
    backend = WorldBackend(world)
    await backend.request_resend("bot-01", jid, message.id)
    await asyncio.sleep(world.config.resend_latency)
    assert message.status == "pending"
    await backend.request_resend("bot-01", jid, message.id)
    await asyncio.sleep(world.config.resend_latency)
    assert message.status == "delivered"  # type: ignore[comparison-overlap]  # changed by the awaited resend
    assert world.peers[jid].recreated_at == world.now()


async def test_phone_answers_after_its_delay_with_the_message_id(world_factory: Callable[..., SimWorld]) -> None:
    """An online phone re-delivers the message exactly phone_delay seconds after the request."""
    world, events, jid = broken(world_factory, phone_delay=4.0)
    message = world.send(jid, b"second")
    start = world.now()
    await WorldBackend(world).request_from_phone("bot-01", jid, message.id)
    await asyncio.sleep(3.999)
    assert message.status == "pending"
    await asyncio.sleep(0.001)
    assert message.status == "delivered"  # type: ignore[comparison-overlap]  # changed by the phone
    assert (message.via, message.delivered_at) == ("phone", start + 4.0)
    [answer] = [e for e in events if isinstance(e, PhoneAnswered)]
    assert (answer.peer, answer.message_id, answer.t) == (jid, message.id, start + 4.0)
    assert oks(events) == []  # the phone's answer is not a decrypt of the sender's frame
    assert world.delivery()["delivered_by_phone"] == 1


async def test_offline_phone_never_answers(world_factory: Callable[..., SimWorld]) -> None:
    """A request to a phone that is offline is accepted by the server but never answered."""
    world, events, jid = broken(world_factory, phones_offline=("bot-01",))
    message = world.send(jid, b"second")
    await WorldBackend(world).request_from_phone("bot-01", jid, message.id)
    await asyncio.sleep(3600)
    assert message.status == "pending" and world.phones["bot-01"].requests == 0
    assert oks(events) == []


async def test_phone_going_offline_before_its_answer_drops_it(world_factory: Callable[..., SimWorld]) -> None:
    """A phone offline spell that starts between request and answer loses the answer; after it the phone answers."""
    world, _, jid = broken(world_factory, phone_delay=2.0)
    message = world.send(jid, b"second")
    schedule(FaultPlan((PhoneOffline("bot-01", at=1.0, duration=100.0),)), world, world.rng, 200.0)
    backend = WorldBackend(world)
    await backend.request_from_phone("bot-01", jid, message.id)
    await asyncio.sleep(50)
    assert message.status == "pending" and not world.phones["bot-01"].online
    await asyncio.sleep(51)
    assert world.phones["bot-01"].online
    await backend.request_from_phone("bot-01", jid, message.id)
    await asyncio.sleep(2)
    assert message.status == "delivered"


async def test_unavailable_message_fails_every_resend_and_only_the_phone_delivers_it(
    world_factory: Callable[..., SimWorld],
) -> None:
    """The server has no payload: "Message absent from node" (UNAVAILABLE) on arrival and on every resend."""
    events: list[Event] = []
    world = world_factory(sessions=1, peers=1, observer=events.append)
    jid = next(iter(world.peers))
    assert FAULTS["unavailable_message"](world, "bot-01", world.rng)
    message = world.send(jid, b"lost payload")
    after = world.send(jid, b"next one")  # only the next message loses its payload
    assert after.status == "delivered" and message.unavailable
    backend = WorldBackend(world)
    await backend.request_resend("bot-01", jid, message.id, with_keys=True)
    await asyncio.sleep(world.config.resend_latency)
    errors = [e for e in events if isinstance(e, DecryptError)]
    assert [(e.error, e.category, e.message_id) for e in errors] == [(ABSENT, Category.UNAVAILABLE, message.id)] * 2
    await backend.request_from_phone("bot-01", jid, message.id)
    await asyncio.sleep(world.config.phone_delay)
    assert message.status == "delivered" and message.via == "phone"


async def test_upload_prekeys_tops_up_the_servers_count(world_factory: Callable[..., SimWorld]) -> None:
    """The server's count falls with every new sender session and rises by exactly what the bot uploads."""
    world = world_factory(sessions=1, peers=3)
    bot = world.bots["bot-01"]
    start = world.prekey_server.count(bot)
    for jid in sorted(world.peers):
        world.send(jid, b"hello")
    assert world.prekey_server.count(bot) == start - 3
    await WorldBackend(world).upload_prekeys("bot-01", 7)
    assert world.prekey_server.count(bot) == start + 4


async def test_prekey_drain_refills_with_the_clients_batch_after_the_notice(
    world_factory: Callable[..., SimWorld],
) -> None:
    """A drained pool is refilled refill_delay seconds later with the batch the bot's client uploads."""
    world = world_factory(sessions=1, peers=1, config=WorldConfig(refill_delay=60.0))
    world.prekey_server.refill_batch = 5
    bot = world.bots["bot-01"]
    assert FAULTS["drain_prekeys"](world, "bot-01", world.rng)
    assert world.prekey_server.count(bot) == 0
    await asyncio.sleep(59.9)
    assert world.prekey_server.count(bot) == 0
    await asyncio.sleep(0.1)
    assert world.prekey_server.count(bot) == 5 == PREKEY_LOW


async def test_identity_change_is_trusted_on_first_use_when_the_client_does(
    world_factory: Callable[..., SimWorld],
) -> None:
    """With trust on first use (both clients' default) a reinstalled peer's next message decrypts; without, it fails."""
    for trust, expected in ((False, "pending"), (True, "delivered")):
        world = world_factory(sessions=1, peers=1)
        world.trust_on_first_use = trust
        jid = next(iter(world.peers))
        world.send(jid, b"first")
        assert FAULTS["change_identity"](world, "bot-01", world.rng)
        assert world.send(jid, b"after reinstall").status == expected


async def test_phone_status_is_published_only_when_the_world_makes_it_visible(
    world_factory: Callable[..., SimWorld],
) -> None:
    """An offline spell publishes PhoneStatus at its start and end only with phone_status_visible."""
    for visible in (False, True):
        events: list[Event] = []
        config = WorldConfig(phone_status_visible=visible)
        world = world_factory(sessions=1, peers=1, observer=events.append, config=config)
        start = world.now()
        schedule(FaultPlan((PhoneOffline("bot-01", at=10.0, duration=20.0),)), world, world.rng, 100.0)
        await asyncio.sleep(40)
        statuses = [(e.t - start, e.online) for e in events if isinstance(e, PhoneStatus)]
        assert statuses == ([(10.0, False), (30.0, True)] if visible else [])
