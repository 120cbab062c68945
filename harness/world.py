"""A simulated WhatsApp world: bots, peers, a prekey server, traffic and delivery accounting."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Literal

from harness.population import PeerInfo, Population
from harness.protocol import (
    BadMac,
    BotKeys,
    Frame,
    SendingSession,
    SignalError,
    _hmac,
    _js,
    decrypt,
    encrypt,
    root_key,
)
from sessionmgr.backend import BackendError
from sessionmgr.classify import classify_texts
from sessionmgr.clock import LoopClock
from sessionmgr.events import ConnectionChanged, DecryptError, DecryptOk, Event

__all__ = ["Bot", "Message", "Observer", "Peer", "SimWorld", "WorldBackend", "WorldConfig"]

Observer = Callable[[Event], None]
Status = Literal["pending", "delivered", "lost"]

#: Baileys uploads this many one-time prekeys at a time, and refills below the low mark.
PREKEY_BATCH: Final = 30
PREKEY_LOW: Final = 5


@dataclass(frozen=True, slots=True)
class WorldConfig:
    """Knobs of the simulated world (not of the manager)."""

    #: How many retry receipts a sender honours for one message before giving up.
    max_resends: int = 5
    #: Round trip of a retry receipt and the resent frame, in seconds.
    resend_latency: float = 1.0
    #: How long after a disconnect an operator re-pairs the bot.
    repair_delay: float = 1800.0
    #: Delay between the server's "prekeys low" notice and the bot's upload.
    refill_delay: float = 60.0


@dataclass(slots=True)
class Bot:
    session: str
    keys: BotKeys
    server_prekeys: list[int]
    signed_id: int
    next_prekey_id: int
    last_resort: int | None = None
    connected: bool = True
    refill_pending: bool = False
    refill_lost: bool = False


@dataclass(slots=True)
class Peer:
    info: PeerInfo
    session: str
    identity: bytes
    sending: SendingSession | None = None
    last_frame: Frame | None = None


@dataclass(slots=True)
class Message:
    """One message a peer sent, from send to its end: delivered or lost with a reason."""

    id: str
    session: str
    peer: str
    sent_at: float
    plaintext: bytes = field(repr=False)
    status: Status = "pending"
    failures: int = 0
    resends: int = 0
    delivered_at: float | None = None
    reason: str | None = None
    last_error: str | None = None

    @property
    def recovered(self) -> bool:
        """Delivered only after at least one failed decryption."""
        return self.status == "delivered" and self.failures > 0


class SimWorld:
    """Bots and peers whose Signal state really breaks under faults.

    Observations (decrypt ok/error, connection changes) go to ``observer``;
    with a manager attached that is ``manager.observe_nowait``.
    """

    def __init__(
        self,
        population: Population,
        rng: random.Random,
        *,
        config: WorldConfig | None = None,
        observer: Observer | None = None,
    ) -> None:
        self.rng = rng
        self.config = config or WorldConfig()
        self.observer: Observer = observer or (lambda event: None)
        self.clock = LoopClock()
        self.bots: dict[str, Bot] = {}
        self.peers: dict[str, Peer] = {}
        self.messages: dict[str, Message] = {}
        self.failed_backend: dict[tuple[str, str], float] = {}
        self._message_seq = 0
        for session in population.sessions:
            self.bots[session] = self._new_bot(session)
        for info in population.peers:
            self.peers[info.jid] = Peer(info, info.session, self._bytes())

    # --- time ------------------------------------------------------------------------

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    def now(self) -> float:
        return self.loop.time()

    def _stamp(self, event: Event) -> None:
        self.observer(dataclasses.replace(event, t=self.clock.monotonic(), at=self.clock.wall()))

    # --- keys ------------------------------------------------------------------------

    def _bytes(self) -> bytes:
        return self.rng.randbytes(32)

    def _new_bot(self, session: str) -> Bot:
        keys = BotKeys(identity=self._bytes(), signed_prekeys={1: self._bytes()}, prekeys={})
        bot = Bot(session, keys, [], signed_id=1, next_prekey_id=1)
        self._upload_prekeys(bot, PREKEY_BATCH * 2)
        return bot

    def _upload_prekeys(self, bot: Bot, count: int) -> None:
        for _ in range(count):
            prekey_id = bot.next_prekey_id
            bot.next_prekey_id += 1
            bot.keys.prekeys[prekey_id] = self._bytes()
            bot.server_prekeys.append(prekey_id)

    def fetch_bundle(self, session: str) -> tuple[int | None, int]:
        """The server hands out one one-time prekey id (and the signed prekey id).

        When the pool is dry the server keeps handing out the last id it gave,
        a consumed key the bot no longer has: the sender gets ``Invalid PreKey ID``.
        """
        bot = self.bots[session]
        if bot.server_prekeys:
            bot.last_resort = bot.server_prekeys.pop(0)
        if len(bot.server_prekeys) < PREKEY_LOW and not bot.refill_pending and not bot.refill_lost:
            bot.refill_pending = True
            self.loop.call_later(self.config.refill_delay, self._refill, bot)
        return bot.last_resort, bot.signed_id

    def _refill(self, bot: Bot) -> None:
        bot.refill_pending = False
        if bot.connected and not bot.refill_lost:
            self._upload_prekeys(bot, PREKEY_BATCH)

    def _start_session(self, peer: Peer) -> SendingSession:
        bot = self.bots[peer.session]
        prekey_id, signed_id = self.fetch_bundle(peer.session)
        prekey = bot.keys.prekeys.get(prekey_id) if prekey_id is not None else None
        # A sender only has the server's copy; a prekey id the bot lost still
        # "exists" on the server, so model its public part as a fresh secret.
        public = prekey if prekey is not None else (self._bytes() if prekey_id is not None else None)
        base = self._bytes()
        root = root_key(bot.keys.signed_prekeys[signed_id], public, base, peer.identity)
        session = SendingSession(base, _hmac(root, b"chain"), pending_prekey=(prekey_id, signed_id))
        peer.sending = session
        return session

    # --- traffic -----------------------------------------------------------------------

    def send(self, jid: str, plaintext: bytes) -> Message:
        """``jid`` sends a new message to its bot."""
        peer = self.peers[jid]
        self._message_seq += 1
        message = Message(f"M{self._message_seq:08d}", peer.session, jid, self.now(), plaintext)
        self.messages[message.id] = message
        if not self.bots[peer.session].connected:
            self._lose(message, "session disconnected")
            return message
        self._transmit(peer, message)
        return message

    def _transmit(self, peer: Peer, message: Message) -> None:
        session = peer.sending or self._start_session(peer)
        frame = encrypt(session, peer.info.jid, message.id, peer.identity, message.plaintext)
        peer.last_frame = frame
        self.receive(frame)

    def receive(self, frame: Frame) -> None:
        """The bot receives a frame and tries to decrypt it."""
        peer = self.peers[frame.sender]
        bot = self.bots[peer.session]
        message = self.messages[frame.message_id]
        if not bot.connected:
            return
        bot.keys.console.clear()
        try:
            plaintext, _ = decrypt(bot.keys, frame)
        except (SignalError, BadMac) as error:  # Bad MAC on the pkmsg path is a plain Error in Node
            self._failed(bot, peer, frame, message, error)
            return
        if frame.type == "pkmsg" and peer.sending is not None and peer.sending.base_key == frame.base_key:
            peer.sending.pending_prekey = None  # the bot's receipt tells the sender the session stands
        if plaintext != message.plaintext:
            raise AssertionError("decrypted to the wrong plaintext")  # the crypto itself is broken
        if message.status == "pending":
            message.status = "delivered"
            message.delivered_at = self.now()
        self._stamp(DecryptOk(session=bot.session, peer=peer.info.jid, message_type=frame.type))

    def _failed(self, bot: Bot, peer: Peer, frame: Frame, message: Message, error: Exception) -> None:
        causes = tuple(_js(c) for c in getattr(error, "causes", ()))
        name = getattr(error, "name", type(error).__name__)
        category = classify_texts([str(error), name, *causes], signal_layer=True)
        if message.status == "pending":
            message.failures += 1
            message.last_error = category.value
        self._stamp(
            DecryptError(
                session=bot.session,
                peer=peer.info.jid,
                error=str(error) or name,
                error_type=name,
                message_type=frame.type,
                message_id=message.id,
                causes=causes,
                category=category,
            )
        )

    def _lose(self, message: Message, reason: str) -> None:
        if message.status == "pending":
            message.status = "lost"
            message.reason = reason

    def finish(self) -> None:
        """End of the run: every message still pending is lost, with why."""
        for message in self.messages.values():
            if message.status == "pending":
                reason = f"undecryptable ({message.last_error})" if message.last_error else "in flight at end of run"
                self._lose(message, reason)

    # --- what the backend does ---------------------------------------------------------

    def resend(self, session: str, jid: str, message_id: str | None) -> None:
        """A retry receipt reaches the sender; it resends after the round trip.

        From the second receipt for a message on, the sender starts a fresh
        session from a new prekey bundle, as WhatsApp clients do.
        """
        peer = self.peers[jid]
        message = self.messages.get(message_id) if message_id else self._last_pending(jid)
        if message is None or message.status != "pending":
            return
        message.resends += 1
        if message.resends > self.config.max_resends:
            self._lose(message, f"sender gave up after {self.config.max_resends} retry receipts")
            return
        fresh = message.resends >= 2

        def resend_now() -> None:
            if message.status != "pending" or not self.bots[session].connected:
                return
            if fresh:
                peer.sending = None
            self._transmit(peer, message)

        self.loop.call_later(self.config.resend_latency, resend_now)

    def _last_pending(self, jid: str) -> Message | None:
        for message in reversed(self.messages.values()):
            if message.peer == jid and message.status == "pending":
                return message
        return None

    def top_up_prekeys(self, session: str, count: int) -> None:
        """Upload ``count`` more one-time prekeys to the server, keeping every existing key."""
        self._upload_prekeys(self.bots[session], count)

    def reset_peer(self, session: str, jid: str) -> None:
        keys = self.bots[session].keys
        keys.records.pop(jid, None)
        keys.trusted.pop(jid, None)  # accept the peer's identity afresh

    def regenerate(self, session: str) -> None:
        """New signed prekey (the previous kept for messages in flight) and a fresh prekey pool."""
        bot = self.bots[session]
        bot.signed_id += 1
        bot.keys.signed_prekeys = {k: v for k, v in bot.keys.signed_prekeys.items() if k == bot.signed_id - 1} | {
            bot.signed_id: self._bytes()
        }
        bot.keys.prekeys.clear()
        bot.server_prekeys.clear()
        bot.last_resort = None
        bot.refill_lost = False
        self._upload_prekeys(bot, PREKEY_BATCH * 2)

    def disconnect(self, session: str) -> None:
        bot = self.bots[session]
        if bot.connected:
            bot.connected = False
            self._stamp(ConnectionChanged(session=session, open=False))
            self.loop.call_later(self.config.repair_delay, self.repair, session)

    def repair(self, session: str) -> None:
        """An operator re-pairs the bot: new identity and keys; every peer starts afresh."""
        bot = self._new_bot(session)
        self.bots[session] = bot
        for peer in self.peers.values():
            if peer.session == session:
                peer.sending = None
        self._stamp(ConnectionChanged(session=session, open=True))

    def export_keys(self, session: str) -> bytes:
        keys = self.bots[session].keys
        return json.dumps(
            {
                "identity": keys.identity.hex(),
                "signed_prekeys": {k: v.hex() for k, v in keys.signed_prekeys.items()},
                "prekeys": {k: v.hex() for k, v in keys.prekeys.items()},
                "sessions": {p: [s.chain_key.hex() for s in r.sessions] for p, r in keys.records.items()},
            },
            sort_keys=True,
        ).encode()

    def purge_keys(self, session: str) -> None:
        keys = self.bots[session].keys
        keys.records.clear()
        keys.prekeys.clear()
        keys.trusted.clear()

    # --- accounting ------------------------------------------------------------------------

    def delivery(self) -> dict[str, object]:
        """Sent, delivered, lost (by reason) and recovery delays, for the report."""
        sent = len(self.messages)
        delivered = [m for m in self.messages.values() if m.status == "delivered"]
        lost = [m for m in self.messages.values() if m.status == "lost"]
        reasons: dict[str, int] = {}
        for m in lost:
            reasons[m.reason or "unknown"] = reasons.get(m.reason or "unknown", 0) + 1
        recovered = sorted(m.delivered_at - m.sent_at for m in delivered if m.recovered and m.delivered_at is not None)
        return {
            "sent": sent,
            "delivered": len(delivered),
            "lost": len(lost),
            "delivered_ratio": round(len(delivered) / sent, 6) if sent else None,
            "lost_by_reason": dict(sorted(reasons.items())),
            "recovered": len(recovered),
            "recovery_delay_s": _quantiles(recovered),
        }

    def backend_should_fail(self, method: str, session: str) -> bool:
        until = self.failed_backend.get((method, session))
        return until is not None and self.now() < until


def _quantiles(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None

    def q(p: float) -> float:
        return round(values[min(len(values) - 1, int(p * len(values)))], 3)

    return {"p50": q(0.5), "p90": q(0.9), "p99": q(0.99), "max": round(values[-1], 3)}


class WorldBackend:
    """The manager's backend over a :class:`SimWorld`; each action can be made to fail."""

    def __init__(self, world: SimWorld) -> None:
        self.world = world

    def _check(self, method: str, session: str, *, needs_connection: bool = False) -> None:
        if self.world.backend_should_fail(method, session):
            raise BackendError(f"{method} failed (injected backend fault)")
        if needs_connection and not self.world.bots[session].connected:
            raise BackendError(f"cannot {method.replace('_', ' ')}: session disconnected")

    async def request_resend(self, session: str, peer: str, message_id: str | None, *, with_keys: bool = False) -> None:
        self._check("request_resend", session, needs_connection=True)
        self.world.resend(session, peer, message_id)

    async def request_from_phone(self, session: str, peer: str, message_id: str | None) -> None:
        self._check("request_from_phone", session, needs_connection=True)
        # The world models no phone yet: say so rather than report a resend that never happens.
        raise BackendError("the simulated world has no phone to ask")

    async def upload_prekeys(self, session: str, count: int) -> None:
        self._check("upload_prekeys", session, needs_connection=True)
        self.world.top_up_prekeys(session, count)

    async def reset_peer_session(self, session: str, peer: str) -> None:
        self._check("reset_peer_session", session)
        self.world.reset_peer(session, peer)

    async def regenerate_keys(self, session: str) -> None:
        self._check("regenerate_keys", session, needs_connection=True)
        self.world.regenerate(session)

    async def disconnect(self, session: str) -> None:
        self._check("disconnect", session)
        self.world.disconnect(session)

    async def export_keys(self, session: str) -> bytes:
        self._check("export_keys", session)
        return self.world.export_keys(session)

    async def purge_keys(self, session: str) -> None:
        self._check("purge_keys", session)
        self.world.purge_keys(session)
