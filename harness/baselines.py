"""Baselines: recovery as Baileys' and whatsmeow's defaults do it, driving the same world as our manager.

Each driver observes the world's ``DecryptError`` / ``DecryptOk`` events and
calls the same :class:`~harness.world_backend.WorldBackend` actions the real
client would, on the virtual clock. Every number is read from the client's
source (Baileys at commit 78e7e4e2cf, v7 release candidate; whatsmeow at
33cfac51); file and line are cited beside it.

Not modelled (they do not change what the world can show): Baileys' status
broadcasts (24 h expiry), view-once/bot fanout exclusions and the 14-day age
limit on placeholder requests (every simulated message is recent and 1:1);
whatsmeow's restore of the retry count from a redelivered message after a
restart (the drivers never restart); the identity-change and LID-migration
paths of both. Baileys' immediate recreation on MAC error codes 4 and 7
(``message-retry-manager.ts`` L156-L168) is left out because it never runs:
its receipts hard-code ``error: '0'`` (``messages-recv.ts`` L676).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, Protocol

from harness.world import SimWorld
from harness.world_backend import WorldBackend
from sessionmgr.backend import BackendError
from sessionmgr.categories import Category
from sessionmgr.events import DecryptError, DecryptOk, Event, PhoneAnswered

__all__ = ["BASELINES", "BaileysDefaults", "Driver", "WhatsmeowDefaults"]


class Driver(Protocol):
    """A recovery policy other than our manager, fed the world's events."""

    name: str

    def observe(self, event: Event) -> None:
        """React to one event the world published."""

    async def aclose(self) -> None:
        """Cancel timers and wait for actions in flight."""


class _Actions:
    """Backend calls as tasks, as both clients fire them from their event handlers.

    A failing action is counted and dropped: both clients log it and go on
    (Baileys ``messages-recv.ts`` L1725-L1727, whatsmeow ``retry.go`` L536-L539).
    """

    def __init__(self, world: SimWorld, backend: WorldBackend) -> None:
        world.trust_on_first_use = True  # both clients' default: see SimWorld._trust_new_identity
        self.world = world
        self.backend = backend
        self.failed = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._timers: set[asyncio.TimerHandle] = set()

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    def run(self, action: Callable[[], Awaitable[None]]) -> None:
        async def guarded() -> None:
            try:
                await action()
            except BackendError:
                self.failed += 1

        task = asyncio.get_running_loop().create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def later(self, delay: float, callback: Callable[[], None]) -> asyncio.TimerHandle:
        handle: asyncio.TimerHandle

        def fire() -> None:
            self._timers.discard(handle)
            callback()

        handle = asyncio.get_running_loop().call_later(delay, fire)
        self._timers.add(handle)
        return handle

    def cancel(self, handle: asyncio.TimerHandle | None) -> None:
        if handle is not None:
            handle.cancel()
            self._timers.discard(handle)

    def connected(self, session: str) -> bool:
        return self.world.bots[session].connected

    def has_session(self, session: str, peer: str) -> bool:
        record = self.world.bots[session].keys.records.get(peer)
        return record is not None and bool(record.sessions)

    async def aclose(self) -> None:
        for handle in list(self._timers):
            handle.cancel()
        self._timers.clear()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)


# --- Baileys ---------------------------------------------------------------------------------

#: ``maxMsgRetryCount`` (``src/Defaults/index.ts`` L72): a 6th failure gets no receipt
#: (``message-retry-manager.ts`` L234-L236, ``messages-recv.ts`` L581-L585).
BAILEYS_MAX_RETRIES: Final = 5
#: Retry counters live 15 min, refreshed on every read (``message-retry-manager.ts`` L83-L87).
BAILEYS_COUNTER_TTL: Final = 15 * 60.0
#: ``RECREATE_SESSION_TIMEOUT`` (``message-retry-manager.ts`` L11, used L170-L181).
BAILEYS_RECREATE_INTERVAL: Final = 3600.0
#: ``PHONE_REQUEST_DELAY`` (``message-retry-manager.ts`` L12; scheduled L262-L270 on retries 1-2,
#: ``messages-recv.ts`` L637-L656).
BAILEYS_PHONE_DELAY: Final = 3.0
#: ``requestPlaceholderResend`` waits 2 s before sending (``messages-recv.ts`` L204) and forgets the
#: request 8 s after sending it (L220-L225).
BAILEYS_PLACEHOLDER_WAIT: Final = 2.0
BAILEYS_PLACEHOLDER_FORGET: Final = 8.0
#: ``retryRequestDelayMs`` (``src/Defaults/index.ts`` L71): the global retry mutex holds this long
#: after each receipt (``messages-recv.ts`` L1713-L1724).
BAILEYS_RETRY_PAUSE: Final = 0.25
#: ``uploadPreKeys(count = MIN_PREKEY_COUNT)`` on the server's low notice (``src/Socket/socket.ts`` L485,
#: ``messages-recv.ts`` L773-L779; ``MIN_PREKEY_COUNT`` = 5, ``src/Defaults/index.ts`` L140).
BAILEYS_PREKEY_REFILL: Final = 5
#: Rejected without a retry (``src/Utils/decode-wa-message.ts`` L53, ``messages-recv.ts`` L1629-L1631).
BAILEYS_NO_RETRY: Final = "Key used already or never filled"


@dataclass(slots=True)
class _Counter:
    count: int
    expires: float


class BaileysDefaults:
    """``makeWASocket`` with its defaults (a ``MessageRetryManager``, auto session recreation on)."""

    name = "baileys"

    def __init__(self, world: SimWorld, backend: WorldBackend) -> None:
        self.actions = _Actions(world, backend)
        world.prekey_server.refill_batch = BAILEYS_PREKEY_REFILL
        self._counters: dict[str, _Counter] = {}
        self._recreated: dict[str, float] = {}
        self._phone_timers: dict[str, asyncio.TimerHandle] = {}
        self._placeholder: set[str] = set()
        self._mutex_free: dict[str, float] = {}
        self.phone_requests = 0
        self.receipts = 0

    def observe(self, event: Event) -> None:
        if isinstance(event, DecryptOk) and event.message_id is not None:
            self._cancel_phone(event.message_id)  # messages-recv.ts L1734-L1736
        elif isinstance(event, PhoneAnswered):
            # the answer clears the dedup entry (process-message.ts L478-L482); it arrives as a message of
            # its own id, so it does not cancel the original's 3 s timer
            self._placeholder.discard(event.message_id)
        elif isinstance(event, DecryptError) and event.peer is not None and event.message_id is not None:
            if event.category is Category.UNAVAILABLE:
                self._placeholder_resend(event.session, event.peer, event.message_id)  # L1634-L1695
            elif event.error != BAILEYS_NO_RETRY:
                self._queue_retry(event.session, event.peer, event.message_id)

    def _queue_retry(self, session: str, peer: str, message_id: str) -> None:
        now = self.actions.now()
        at = max(now, self._mutex_free.get(session, now))
        self._mutex_free[session] = at + BAILEYS_RETRY_PAUSE
        if at == now:
            self._send_retry(session, peer, message_id)
        else:
            self.actions.later(at - now, lambda: self._send_retry(session, peer, message_id))

    def _count(self, message_id: str) -> int:
        now = self.actions.now()
        counter = self._counters.get(message_id)
        if counter is None or counter.expires <= now:
            self._counters.pop(message_id, None)
            return 0
        counter.expires = now + BAILEYS_COUNTER_TTL  # updateAgeOnGet
        return counter.count

    def _send_retry(self, session: str, peer: str, message_id: str) -> None:
        """``sendRetryRequest`` (``messages-recv.ts`` L574-L721)."""
        if not self.actions.connected(session):  # L1715-L1718
            return
        if self._count(message_id) >= BAILEYS_MAX_RETRIES:
            # markRetryFailed deletes the counter: a later failure of this message starts over at count 1
            self._counters.pop(message_id, None)
            self._cancel_phone(message_id)
            return
        count = self._count(message_id) + 1
        self._counters[message_id] = _Counter(count, self.actions.now() + BAILEYS_COUNTER_TTL)
        recreate = count > 1 and self._should_recreate(session, peer)  # L617-L635
        if count <= 2:  # L637-L656
            self._cancel_phone(message_id)
            self._phone_timers[message_id] = self.actions.later(
                BAILEYS_PHONE_DELAY, lambda: self._scheduled_phone(session, peer, message_id)
            )
        with_keys = count > 1 or recreate  # L695
        backend = self.actions.backend
        self.receipts += 1

        async def receipt() -> None:
            if recreate:
                await backend.reset_peer_session(session, peer)  # L629
            await backend.request_resend(session, peer, message_id, with_keys=with_keys)

        self.actions.run(receipt)

    def _should_recreate(self, session: str, peer: str) -> bool:
        """``shouldRecreateSession`` (``message-retry-manager.ts`` L141-L184) without the dead MAC branch."""
        now = self.actions.now()
        previous = self._recreated.get(peer)
        if (
            not self.actions.has_session(session, peer)
            or previous is None
            or now - previous > BAILEYS_RECREATE_INTERVAL
        ):
            self._recreated[peer] = now
            return True
        return False

    def _scheduled_phone(self, session: str, peer: str, message_id: str) -> None:
        self._phone_timers.pop(message_id, None)
        self._placeholder_resend(session, peer, message_id)

    def _cancel_phone(self, message_id: str) -> None:
        self.actions.cancel(self._phone_timers.pop(message_id, None))

    def _placeholder_resend(self, session: str, peer: str, message_id: str) -> None:
        """``requestPlaceholderResend`` (``messages-recv.ts`` L187-L228)."""
        if message_id in self._placeholder:
            return
        self._placeholder.add(message_id)

        def send() -> None:
            if message_id not in self._placeholder:
                return  # answered meanwhile: 'RESOLVED'
            self.phone_requests += 1
            self.actions.run(lambda: self.actions.backend.request_from_phone(session, peer, message_id))
            self.actions.later(BAILEYS_PLACEHOLDER_FORGET, lambda: self._placeholder.discard(message_id))

        self.actions.later(BAILEYS_PLACEHOLDER_WAIT, send)

    async def aclose(self) -> None:
        await self.actions.aclose()


# --- whatsmeow -----------------------------------------------------------------------------------

#: ``sendRetryReceipt`` stops when the per-message count reaches 5 (``retry.go`` L476-L488):
#: at most 4 receipts. The count is in memory only, with no TTL.
WHATSMEOW_MAX_RETRIES: Final = 5
#: ``RequestFromPhoneDelay`` (``retry.go`` L419), on the 1st retry only (L489-L495), and only with
#: ``AutomaticMessageRerequestFromPhone`` (``client.go`` L98), a bool whose default is false.
WHATSMEOW_PHONE_DELAY: Final = 5.0
#: ``WantedPreKeyCount`` uploaded when the server reports fewer than ``MinPreKeyCount`` = 5
#: (``prekeys.go`` L25-L30, ``notification.go`` L37-L38).
WHATSMEOW_PREKEY_REFILL: Final = 50
#: ``signalerror.ErrOldCounter`` is ignored (``message.go`` L406-L408): libsignal-node's text for it.
WHATSMEOW_IGNORED: Final = "Key used already or never filled"


class WhatsmeowDefaults:
    """``whatsmeow.NewClient`` with its defaults; ``phone_rerequest`` turns on what mautrix-whatsapp enables."""

    name = "whatsmeow"

    def __init__(self, world: SimWorld, backend: WorldBackend, *, phone_rerequest: bool = False) -> None:
        self.actions = _Actions(world, backend)
        world.prekey_server.refill_batch = WHATSMEOW_PREKEY_REFILL
        self.phone_rerequest = phone_rerequest
        self._retries: dict[str, int] = {}
        self._pending_phone: dict[str, asyncio.TimerHandle] = {}
        self.phone_requests = 0
        self.receipts = 0

    def observe(self, event: Event) -> None:
        if isinstance(event, DecryptOk) and event.message_id is not None:
            self.actions.cancel(self._pending_phone.pop(event.message_id, None))  # message.go L435
        elif isinstance(event, DecryptError) and event.peer is not None and event.message_id is not None:
            if event.category is Category.UNAVAILABLE:
                self._ask_phone(event.session, event.peer, event.message_id)  # message.go L323-L332
            elif event.error != WHATSMEOW_IGNORED:
                self._send_retry_receipt(event.session, event.peer, event.message_id)  # message.go L409-L432

    def _send_retry_receipt(self, session: str, peer: str, message_id: str) -> None:
        """``sendRetryReceipt`` (``retry.go`` L468-L540)."""
        count = self._retries.get(message_id, 0) + 1
        self._retries[message_id] = count
        if count >= WHATSMEOW_MAX_RETRIES:
            return
        if count == 1 and self.phone_rerequest and message_id not in self._pending_phone:
            self._pending_phone[message_id] = self.actions.later(
                WHATSMEOW_PHONE_DELAY, lambda: self._delayed_phone(session, peer, message_id)
            )
        self.receipts += 1
        backend = self.actions.backend
        self.actions.run(lambda: backend.request_resend(session, peer, message_id, with_keys=count > 1))  # L517

    def _delayed_phone(self, session: str, peer: str, message_id: str) -> None:
        self._pending_phone.pop(message_id, None)
        self._ask_phone(session, peer, message_id)

    def _ask_phone(self, session: str, peer: str, message_id: str) -> None:
        """``immediateRequestMessageFromPhone`` (``retry.go`` L450-L457)."""
        self.phone_requests += 1
        self.actions.run(lambda: self.actions.backend.request_from_phone(session, peer, message_id))

    async def aclose(self) -> None:
        await self.actions.aclose()


#: The drivers by the name ``simulate --baseline`` takes; ``ours`` and ``none`` are not drivers.
BASELINES: Final[dict[str, Callable[[SimWorld, WorldBackend], Driver]]] = {
    "baileys": BaileysDefaults,
    "whatsmeow": WhatsmeowDefaults,
}
