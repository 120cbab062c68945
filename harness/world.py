"""A simulated WhatsApp world: bots and peers whose Signal state really breaks, and what the backend does to it.

The parts live next door: who is in it (:mod:`harness.parties`), the server's
prekey pool (:mod:`harness.prekeys`), delivery accounting (:mod:`harness.delivery`),
the manager's backend over it (:mod:`harness.world_backend`), and traffic
(:mod:`harness.traffic`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from harness.delivery import DeliveryLedger, Message
from harness.keyring import regenerate, trust_new_identity
from harness.parties import SENDER_RECREATE_INTERVAL, Bot, Peer, Phone
from harness.phone import PhoneLine
from harness.population import Population
from harness.prekeys import PREKEY_BATCH, PrekeyServer
from harness.protocol import (
    BadMac,
    BotKeys,
    Frame,
    SendingSession,
    SignalError,
    decrypt,
    encrypt,
    hmac_sha256,
    js_error_text,
    root_key,
)
from harness.world_backend import WorldBackend
from sessionmgr.categories import Category
from sessionmgr.classify import classify_texts
from sessionmgr.clock import LoopClock
from sessionmgr.events import ConnectionChanged, DecryptError, DecryptOk, Event, PhoneAnswered, PhoneStatus

__all__ = [
    "ABSENT",
    "SENDER_RECREATE_INTERVAL",
    "Bot",
    "Message",
    "Observer",
    "Peer",
    "Phone",
    "SimWorld",
    "WorldBackend",
    "WorldConfig",
]

Observer = Callable[[Event], None]

#: Baileys' text for a stanza with no encrypted payload (``src/Utils/decode-wa-message.ts`` L52).
ABSENT: Final = "Message absent from node"


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
    #: How long the bot's phone takes to answer a placeholder-resend request. Neither client
    #: states it; Baileys stops waiting after 8 s (``messages-recv.ts`` L220-L225), so a few seconds.
    phone_delay: float = 2.0
    #: Sessions whose phone is offline from the start (the rest start online).
    phones_offline: tuple[str, ...] = ()
    #: Publish ``PhoneStatus`` when a phone goes offline or comes back. Neither client can see
    #: its phone's presence, so off by default: only an operator's integration could know.
    phone_status_visible: bool = False


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
        self.ledger = DeliveryLedger()
        self.prekey_server = PrekeyServer(self._bytes, self.config.refill_delay)
        #: (backend method, session) -> virtual time until which that action fails
        self.failed_backend: dict[tuple[str, str], float] = {}
        for session in population.sessions:
            self.bots[session] = self._new_bot(session)
        for info in population.peers:
            self.peers[info.jid] = Peer(info, info.session, self._bytes())
        #: Accept a peer's new identity key, as both real clients do by default (the recovery
        #: drivers of harness.baselines turn it on); off, libsignal-node raises UntrustedIdentityKeyError.
        self.trust_on_first_use = False
        status = self._phone_status if self.config.phone_status_visible else None
        self.phone_line = PhoneLine(self.bots, self.config, self._phone_answers, status)

    @property
    def phones(self) -> dict[str, Phone]:
        """Each session's phone, online or not."""
        return self.phone_line.phones

    @property
    def messages(self) -> dict[str, Message]:
        """Every message sent so far, by id."""
        return self.ledger.messages

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
        self.prekey_server.upload(bot, PREKEY_BATCH * 2)
        return bot

    def fetch_bundle(self, session: str) -> tuple[int | None, int]:
        """The server hands out one one-time prekey id (and the signed prekey id)."""
        return self.prekey_server.fetch_bundle(self.bots[session])

    def _start_session(self, peer: Peer, bundle: tuple[int | None, int] | None = None) -> SendingSession:
        """A new sending session from ``bundle`` (a retry receipt's keys) or one the server hands out."""
        bot = self.bots[peer.session]
        prekey_id, signed_id = bundle or self.fetch_bundle(peer.session)
        prekey = bot.keys.prekeys.get(prekey_id) if prekey_id is not None else None
        # A sender only has the server's copy; a prekey id the bot lost still
        # "exists" on the server, so model its public part as a fresh secret.
        public = prekey if prekey is not None else (self._bytes() if prekey_id is not None else None)
        base = self._bytes()
        root = root_key(bot.keys.signed_prekeys[signed_id], public, base, peer.identity)
        session = SendingSession(base, hmac_sha256(root, b"chain"), pending_prekey=(prekey_id, signed_id))
        peer.sending = session
        return session

    # --- the wire ------------------------------------------------------------------------

    def send(self, jid: str, plaintext: bytes) -> Message:
        """``jid`` sends a new message to its bot."""
        peer = self.peers[jid]
        message = self.ledger.new(peer.session, jid, self.now(), plaintext)
        bot = self.bots[peer.session]
        if not bot.connected:
            self.ledger.lose(message, "session disconnected")
            return message
        if bot.absent_next > 0:
            bot.absent_next -= 1
            message.unavailable = True
        self._transmit(peer, message)
        return message

    def _transmit(self, peer: Peer, message: Message) -> None:
        if message.unavailable:
            self._absent(peer, message)
            return
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
        if self.trust_on_first_use and frame.type == "pkmsg":
            trust_new_identity(bot.keys, frame)
        try:
            plaintext, _ = decrypt(bot.keys, frame)
        except (SignalError, BadMac) as error:  # Bad MAC on the pkmsg path is a plain Error in Node
            self._failed(bot, peer, frame, message, error)
            return
        if frame.type == "pkmsg" and peer.sending is not None and peer.sending.base_key == frame.base_key:
            peer.sending.pending_prekey = None  # the bot's receipt tells the sender the session stands
        if plaintext != message.plaintext:
            raise AssertionError("decrypted to the wrong plaintext")  # the crypto itself is broken
        self.ledger.delivered(message, self.now())
        self._stamp(DecryptOk(session=bot.session, peer=peer.info.jid, message_type=frame.type, message_id=message.id))

    def _absent(self, peer: Peer, message: Message) -> None:
        """The stanza reaches the bot with no payload: the server has nothing to decrypt."""
        if not self.bots[peer.session].connected:
            return
        self.ledger.failed(message, Category.UNAVAILABLE.value)
        self._stamp(
            DecryptError(
                session=peer.session,
                peer=peer.info.jid,
                error=ABSENT,
                error_type="Error",
                message_id=message.id,
                category=classify_texts([ABSENT]),
            )
        )

    def _failed(self, bot: Bot, peer: Peer, frame: Frame, message: Message, error: Exception) -> None:
        causes = tuple(js_error_text(c) for c in getattr(error, "causes", ()))
        name = getattr(error, "name", type(error).__name__)
        category = classify_texts([str(error), name, *causes], signal_layer=True)
        self.ledger.failed(message, category.value)
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

    def finish(self) -> None:
        """End of the run: every message still pending is lost, with why."""
        self.ledger.finish()

    def delivery(self) -> dict[str, object]:
        """What became of every message sent: sent, delivered, lost (by reason), recovered, delays."""
        return self.ledger.report()

    # --- what the backend does ---------------------------------------------------------

    def resend(self, session: str, jid: str, message_id: str | None, *, with_keys: bool = False) -> None:
        """A retry receipt reaches the sender; it resends the same message id after the round trip.

        With keys attached the sender builds a new session from that bundle; without,
        it rebuilds only as :meth:`~harness.parties.Peer.rebuilds_for_receipt` says, else
        a broken session keeps failing. An unavailable message stays without payload.
        """
        peer = self.peers[jid]
        message = self.ledger.find(message_id, jid)
        if message is None or message.status != "pending" or message.sender_gave_up:
            return
        message.resends += 1
        count = message.resends
        if count > self.config.max_resends:
            message.sender_gave_up = f"sender gave up after {self.config.max_resends} retry receipts"
            return
        bot = self.bots[session]
        bundle = (self.prekey_server.generate_one(bot), bot.signed_id) if with_keys else None

        def resend_now() -> None:
            if message.status != "pending" or not self.bots[session].connected:
                return
            if bundle is not None:
                self._start_session(peer, bundle)
            elif peer.rebuilds_for_receipt(count, self.now()):
                peer.sending = None
            self._transmit(peer, message)

        self.loop.call_later(self.config.resend_latency, resend_now)

    def ask_phone(self, session: str, jid: str, message_id: str | None) -> None:
        """A placeholder-resend request reaches the bot's phone (see :class:`~harness.phone.PhoneLine`)."""
        if (message := self.ledger.find(message_id, jid)) is not None:
            self.phone_line.ask(session, message)

    def _phone_answers(self, session: str, message: Message) -> None:
        if not self.bots[session].connected or message.status != "pending":
            return
        self.ledger.delivered(message, self.now(), via="phone")
        self._stamp(PhoneAnswered(session=session, peer=message.peer, message_id=message.id))

    def _phone_status(self, session: str, online: bool) -> None:
        self._stamp(PhoneStatus(session=session, online=online))

    def top_up_prekeys(self, session: str, count: int) -> None:
        """Upload ``count`` more one-time prekeys to the server, keeping every existing key."""
        self.prekey_server.upload(self.bots[session], count)

    def regenerate(self, session: str) -> None:
        """New signed prekey and a fresh prekey pool (:func:`harness.keyring.regenerate`)."""
        regenerate(self.bots[session], self.prekey_server, self._bytes)

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

    def backend_should_fail(self, method: str, session: str) -> bool:
        until = self.failed_backend.get((method, session))
        return until is not None and self.now() < until
