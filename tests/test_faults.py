"""Each fault family breaks real state and yields libsignal-node's own error text."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness.faults import FAULTS
from harness.world import SimWorld
from sessionmgr import Category, DecryptError, Event

pytestmark = [pytest.mark.asyncio, pytest.mark.virtual_time]


async def established(world_factory: Callable[..., SimWorld]) -> tuple[SimWorld, list[Event], str]:
    """A world where one peer has a working session with its bot (two messages delivered)."""
    events: list[Event] = []
    world = world_factory(sessions=1, peers=1, observer=events.append)
    jid = next(iter(world.peers))
    world.send(jid, b"first")
    world.send(jid, b"second")
    assert [m.status for m in world.messages.values()] == ["delivered", "delivered"]
    events.clear()
    return world, events, jid


def errors(events: list[Event]) -> list[DecryptError]:
    return [e for e in events if isinstance(e, DecryptError)]


async def test_corrupted_chain_key_fails_its_mac_wrapped_on_the_msg_path(
    world_factory: Callable[..., SimWorld],
) -> None:
    """A flipped chain-key byte fails the MAC; libsignal-node wraps it and logs the cause."""
    world, events, jid = await established(world_factory)
    assert FAULTS["corrupt_chain_key"](world, "bot-01", world.rng)
    world.send(jid, b"third")
    [error] = errors(events)
    assert (error.error_type, error.error) == ("SessionError", "No matching sessions found for message")
    assert error.causes == ("Error: Bad MAC",)
    assert error.category is Category.BAD_MAC
    console = world.bots["bot-01"].keys.console
    assert console == ["Failed to decrypt message with any known session...", "Session error:Error: Bad MAC"]


async def test_replayed_frame_fails_its_counter(world_factory: Callable[..., SimWorld]) -> None:
    """A frame delivered twice finds its message key used already."""
    world, events, _ = await established(world_factory)
    assert FAULTS["duplicate_frame"](world, "bot-01", world.rng)
    [error] = errors(events)
    assert error.causes == ("MessageCounterError: Key used already or never filled",)
    assert error.category is Category.DUPLICATE


async def test_2001_dropped_frames_are_too_far_in_the_future(world_factory: Callable[..., SimWorld]) -> None:
    """A jump of 2001 counters exceeds libsignal-node's limit of 2000."""
    world, events, jid = await established(world_factory)
    assert FAULTS["drop_frames"](world, "bot-01", world.rng)
    world.send(jid, b"after the gap")
    [error] = errors(events)
    assert error.causes == ("SessionError: Over 2000 messages into the future!",)
    assert error.category is Category.FUTURE


async def test_a_jump_of_exactly_2000_still_decrypts(world_factory: Callable[..., SimWorld]) -> None:
    """2000 skipped keys is within the limit: skipped message keys are derived and kept."""
    world, events, jid = await established(world_factory)
    sending = world.peers[jid].sending
    assert sending is not None
    sending.skip(2000)
    world.send(jid, b"just inside")
    assert errors(events) == []
    assert list(world.messages.values())[-1].status == "delivered"


async def test_deleted_record_is_missing(world_factory: Callable[..., SimWorld]) -> None:
    """A deleted session record fails before any session is tried."""
    world, events, jid = await established(world_factory)
    assert FAULTS["delete_session_record"](world, "bot-01", world.rng)
    world.send(jid, b"x")
    [error] = errors(events)
    assert (error.error_type, error.error, error.category) == ("SessionError", "No session record", Category.NO_SESSION)


async def test_changed_identity_is_untrusted(world_factory: Callable[..., SimWorld]) -> None:
    """A peer that reinstalls comes back with a new identity key the bot does not trust."""
    world, events, jid = await established(world_factory)
    assert FAULTS["change_identity"](world, "bot-01", world.rng)
    world.send(jid, b"x")
    [error] = errors(events)
    assert (error.error_type, error.message_type, error.category) == (
        "UntrustedIdentityKeyError",
        "pkmsg",
        Category.IDENTITY,
    )


async def test_lost_prekey_fails_as_invalid_prekey_id(world_factory: Callable[..., SimWorld]) -> None:
    """The bot lost prekeys the server still hands out: the next new session fails."""
    events: list[Event] = []
    world = world_factory(sessions=1, peers=2, observer=events.append)
    assert FAULTS["delete_prekeys"](world, "bot-01", world.rng)
    world.send(next(iter(world.peers)), b"hello")
    [error] = errors(events)
    assert (error.error_type, error.error, error.message_type) == ("PreKeyError", "Invalid PreKey ID", "pkmsg")


async def test_exhausted_pool_hands_out_a_consumed_prekey(world_factory: Callable[..., SimWorld]) -> None:
    """With the pool dry the server repeats the last id, already consumed: Invalid PreKey ID."""
    events: list[Event] = []
    world = world_factory(sessions=1, peers=2, observer=events.append)
    first, second = sorted(world.peers)
    world.send(first, b"takes a prekey")
    assert FAULTS["exhaust_prekeys"](world, "bot-01", world.rng)
    world.send(second, b"gets the same one")
    [error] = errors(events)
    assert error.error == "Invalid PreKey ID"
    world.regenerate("bot-01")  # a fresh pool fixes it for the next new session
    world.peers[second].sending = None
    world.send(second, b"now fine")
    assert list(world.messages.values())[-1].status == "delivered"


async def test_out_of_order_frames_use_skipped_keys(world_factory: Callable[..., SimWorld]) -> None:
    """A frame that arrives after a later one decrypts from the kept skipped key."""
    from harness.protocol import decrypt, encrypt

    world, _, jid = await established(world_factory)
    peer, bot = world.peers[jid], world.bots["bot-01"]
    assert peer.sending is not None
    early = encrypt(peer.sending, jid, "x1", peer.identity, b"early")
    late = encrypt(peer.sending, jid, "x2", peer.identity, b"late")
    assert decrypt(bot.keys, late)[0] == b"late"
    assert decrypt(bot.keys, early)[0] == b"early"


async def test_phone_offline_spell_naming_an_unknown_session_is_refused() -> None:
    """A plan's phone offline spell must name a session of the world."""
    from harness.faults import FaultPlan, PhoneOffline

    with pytest.raises(ValueError, match="'bot-09', which is not in the world"):
        FaultPlan((PhoneOffline("bot-09", at=0, duration=10),)).validate(("bot-01",))
