"""Faults as composable plans. Each fault mutates real state; none raises an error itself."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Final

from harness.parties import Peer
from harness.world import SimWorld

__all__ = [
    "FAULTS",
    "At",
    "BackendOutage",
    "Burst",
    "FaultPlan",
    "PhoneOffline",
    "Rate",
    "Storm",
    "default_fault_mix",
    "schedule",
]

Fault = Callable[[SimWorld, str, random.Random], bool]
"""A fault applied to one session; returns whether it found state to break."""


def _pick(candidates: Iterable[str], rng: random.Random) -> str | None:
    ordered = sorted(candidates)  # sorted: the same seed picks the same peer
    return rng.choice(ordered) if ordered else None


def _peer_with_session(world: SimWorld, session: str, rng: random.Random) -> str | None:
    records = world.bots[session].keys.records
    return _pick((jid for jid, record in records.items() if record.sessions), rng)


def _peer_of(world: SimWorld, session: str, rng: random.Random, has: Callable[[Peer], bool]) -> Peer | None:
    jid = _pick((p.info.jid for p in world.peers.values() if p.session == session and has(p)), rng)
    return None if jid is None else world.peers[jid]


def corrupt_chain_key(world: SimWorld, session: str, rng: random.Random) -> bool:
    """Flip a byte of a stored receiving chain key: the peer's next message fails its MAC."""
    jid = _peer_with_session(world, session, rng)
    if jid is None:
        return False
    stored = world.bots[session].keys.records[jid].sessions[0]
    key = bytearray(stored.chain_key)
    key[rng.randrange(len(key))] ^= 0xFF
    stored.chain_key = bytes(key)
    return True


def delete_session_record(world: SimWorld, session: str, rng: random.Random) -> bool:
    """Delete a peer's session record: its next message finds no session."""
    jid = _peer_with_session(world, session, rng)
    if jid is None:
        return False
    del world.bots[session].keys.records[jid]
    return True


def drop_frames(world: SimWorld, session: str, rng: random.Random) -> bool:
    """A peer's next 2001 frames are lost in transit: the one after is too far in the future."""
    peer = _peer_of(world, session, rng, lambda p: p.sending is not None)
    if peer is None or peer.sending is None:
        return False
    peer.sending.skip(2001)
    return True


def duplicate_frame(world: SimWorld, session: str, rng: random.Random) -> bool:
    """Deliver a peer's last frame again: its counter was used already."""
    peer = _peer_of(world, session, rng, lambda p: p.last_frame is not None)
    if peer is None or peer.last_frame is None:
        return False
    world.receive(peer.last_frame)
    return True


def change_identity(world: SimWorld, session: str, rng: random.Random) -> bool:
    """A peer reinstalls WhatsApp: new identity key and a new session from a prekey bundle."""
    peer = _peer_of(world, session, rng, lambda p: True)
    if peer is None:
        return False
    peer.identity = rng.randbytes(32)
    peer.sending = None
    return True


def delete_prekeys(world: SimWorld, session: str, rng: random.Random) -> bool:
    """The bot loses the secrets of prekeys the server still hands out."""
    bot = world.bots[session]
    lost = bot.server_prekeys[:10]
    for prekey_id in lost:
        bot.keys.prekeys.pop(prekey_id, None)
    return bool(lost)


def exhaust_prekeys(world: SimWorld, session: str, rng: random.Random) -> bool:
    """Other clients drain the server's pool and the refill notice is lost."""
    bot = world.bots[session]
    bot.server_prekeys.clear()
    bot.refill_lost = True
    return True


def unavailable_message(world: SimWorld, session: str, rng: random.Random) -> bool:
    """The server loses the payload of the bot's next incoming message: "Message absent from node"."""
    world.bots[session].absent_next += 1
    return True


def drain_prekeys(world: SimWorld, session: str, rng: random.Random) -> bool:
    """Other clients fetch every one-time prekey; the server's "low" notice reaches the bot, which refills late."""
    bot = world.bots[session]
    bot.server_prekeys.clear()
    world.prekey_server.notify_low(bot)
    return True


#: Every fault by name, as plans and the CLI name them.
FAULTS: Final[dict[str, Fault]] = {
    "corrupt_chain_key": corrupt_chain_key,
    "delete_session_record": delete_session_record,
    "drop_frames": drop_frames,
    "duplicate_frame": duplicate_frame,
    "change_identity": change_identity,
    "delete_prekeys": delete_prekeys,
    "exhaust_prekeys": exhaust_prekeys,
    "unavailable_message": unavailable_message,
    "drain_prekeys": drain_prekeys,
}


# --- plans ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rate:
    """``fault`` strikes each session at random, ``per_hour`` times an hour on average."""

    fault: str
    per_hour: float


@dataclass(frozen=True, slots=True)
class Burst:
    """``count`` strikes of ``fault`` on one session, spread evenly over ``over`` seconds from ``at``."""

    fault: str
    session: str
    at: float
    count: int = 10
    over: float = 60.0


@dataclass(frozen=True, slots=True)
class Storm:
    """A fault storm: ``fault`` at ``per_second`` on one session for ``duration`` seconds."""

    fault: str
    session: str
    at: float
    duration: float
    per_second: float


@dataclass(frozen=True, slots=True)
class At:
    """One fault at one virtual time."""

    fault: str
    session: str
    at: float


@dataclass(frozen=True, slots=True)
class BackendOutage:
    """Backend ``method`` fails for ``session`` from ``at`` for ``duration`` seconds."""

    method: str
    session: str
    at: float
    duration: float


@dataclass(frozen=True, slots=True)
class PhoneOffline:
    """The bot's phone is offline for ``session`` from ``at`` for ``duration`` seconds."""

    session: str
    at: float
    duration: float


Item = Rate | Burst | Storm | At | BackendOutage | PhoneOffline


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """A composable set of fault items: ``plan_a + plan_b`` runs both."""

    items: tuple[Item, ...] = ()

    def __add__(self, other: FaultPlan) -> FaultPlan:
        return FaultPlan(self.items + other.items)

    def scaled(self, factor: float) -> FaultPlan:
        """The same plan with every random rate multiplied by ``factor``."""
        return FaultPlan(tuple(Rate(i.fault, i.per_hour * factor) if isinstance(i, Rate) else i for i in self.items))

    def validate(self, sessions: tuple[str, ...] | list[str]) -> None:
        for item in self.items:
            if isinstance(item, PhoneOffline):
                name = "phone_offline"
            else:
                name = item.method if isinstance(item, BackendOutage) else item.fault
            if isinstance(item, Rate | Burst | Storm | At) and name not in FAULTS:
                raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULTS)}")
            session = getattr(item, "session", None)
            if session is not None and session not in sessions:
                raise ValueError(f"fault {name!r} names session {session!r}, which is not in the world")


def default_fault_mix(sessions: tuple[str, ...] | list[str], hours: float) -> FaultPlan:
    """The default mix: a steady rain of every fault family, one Bad MAC storm,
    one session whose regeneration fails during its storm, and (with three
    sessions or more) a burst of unavailable messages while that session's
    phone is offline for two hours."""
    rain = FaultPlan(
        (
            Rate("corrupt_chain_key", 0.5),
            Rate("duplicate_frame", 1.0),
            Rate("delete_session_record", 0.1),
            Rate("drop_frames", 0.1),
            Rate("change_identity", 0.05),
            Rate("delete_prekeys", 0.03),
            Rate("exhaust_prekeys", 0.02),
            Rate("unavailable_message", 0.05),
            Rate("drain_prekeys", 0.02),
        )
    )
    if len(sessions) < 2 or hours < 1:
        return rain
    storm_at = hours * 3600 * 0.25
    broken_at = hours * 3600 * 0.5
    return (
        rain
        + FaultPlan(
            (
                Burst("corrupt_chain_key", sessions[0], storm_at, count=30, over=120),
                BackendOutage("regenerate_keys", sessions[1], broken_at, 3600),
                Burst("corrupt_chain_key", sessions[1], broken_at, count=30, over=120),
            )
        )
        + _phone_trouble(sessions, hours)
    )


def _phone_trouble(sessions: tuple[str, ...] | list[str], hours: float) -> FaultPlan:
    if len(sessions) < 3:
        return FaultPlan()
    offline_at = hours * 3600 * 0.6
    return FaultPlan(
        (
            PhoneOffline(sessions[2], offline_at, 7200),
            Burst("unavailable_message", sessions[2], offline_at + 600, count=20, over=600),
            Burst("unavailable_message", sessions[2], offline_at + 9000, count=20, over=600),
            Burst("drain_prekeys", sessions[2], hours * 3600 * 0.75, count=3, over=1800),
        )
    )


def _times(item: Item, sessions: tuple[str, ...], rng: random.Random, horizon: float) -> Iterator[tuple[float, str]]:
    if isinstance(item, Rate):
        if item.per_hour <= 0:
            return
        for session in sessions:
            t = rng.expovariate(item.per_hour / 3600)
            while t < horizon:
                yield t, session
                t += rng.expovariate(item.per_hour / 3600)
    elif isinstance(item, Burst):
        for k in range(item.count):
            yield item.at + item.over * k / max(1, item.count), item.session
    elif isinstance(item, Storm):
        n = int(item.duration * item.per_second)
        for k in range(n):
            yield item.at + k / item.per_second, item.session
    elif isinstance(item, At):
        yield item.at, item.session


def schedule(plan: FaultPlan, world: SimWorld, rng: random.Random, horizon: float) -> int:
    """Put every fault of ``plan`` on the running loop's timers; returns how many were set."""
    loop = asyncio.get_running_loop()
    sessions = tuple(world.bots)
    plan.validate(sessions)
    start = loop.time()
    count = 0
    for item in plan.items:
        if isinstance(item, PhoneOffline):
            loop.call_at(start + item.at, world.phone_line.set_online, item.session, False)
            loop.call_at(start + item.at + item.duration, world.phone_line.set_online, item.session, True)
            count += 1
            continue
        if isinstance(item, BackendOutage):
            key = (item.method, item.session)
            loop.call_at(start + item.at, world.failed_backend.__setitem__, key, start + item.at + item.duration)
            count += 1
            continue
        fault = FAULTS[item.fault]
        for t, session in _times(item, sessions, rng, horizon):
            # each strike draws from its own generator, so adding a plan item never
            # shifts the choices of the others
            strike_rng = random.Random(rng.getrandbits(64))
            loop.call_at(start + t, fault, world, session, strike_rng)
            count += 1
    return count
