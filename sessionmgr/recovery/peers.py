"""Peer repair: retry receipts under a per-message budget, throttled peer resets, the phone, prekey top-ups.

Per message, as both clients do (Baileys src/Socket/messages-recv.ts:574-720
``sendRetryRequest``; whatsmeow retry.go:468-540 ``sendRetryReceipt``): each
failure of a message spends one retry of its budget and sends one receipt,
with fresh keys from ``keys_from_retry``; from ``peer_reset_from_retry`` the
peer's session is recreated first, but at most once per
``peer_reset_min_interval`` per peer (message-retry-manager.ts:170-181,
retry.go:160-177); on retries up to ``phone_request_retries`` the phone is
asked after ``phone_request_delay``. A failure without a message id falls back
to counting the peer's failures in the window (``peer_reset_after``), under the
same throttle.
"""

from __future__ import annotations

import asyncio

from sessionmgr.backend import Backend
from sessionmgr.categories import Category
from sessionmgr.clock import Clock, to_ns
from sessionmgr.events import DecryptError, PeerSessionReset, PrekeysUploaded, ResendRequested
from sessionmgr.policy import Policy
from sessionmgr.recovery.actions import Actions
from sessionmgr.recovery.eager import start_eagerly
from sessionmgr.recovery.messages import MessageLedger, OpenMessage
from sessionmgr.recovery.phone import PhoneRung
from sessionmgr.recovery.publish import Emit
from sessionmgr.recovery.state import SessionState, SessionTable
from sessionmgr.recovery.tasks import TaskSupervisor

__all__ = ["PeerRepair"]


class PeerRepair:
    """Decides, per failure from a known peer, which receipts, resets and requests go out."""

    def __init__(
        self,
        policy: Policy,
        clock: Clock,
        emit: Emit,
        tasks: TaskSupervisor,
        backend: Backend,
        *,
        sessions: SessionTable,
        actions: Actions,
        ledger: MessageLedger,
        phone: PhoneRung,
    ) -> None:
        self._policy = policy
        self._clock = clock
        self._emit = emit
        self._tasks = tasks
        self._backend = backend
        self._sessions = sessions
        self._actions = actions
        self._ledger = ledger
        self._phone = phone
        #: a receipt is being asked for eagerly, in the call that decided it (see _stop_asking)
        self._eager = False

    def on_error(self, state: SessionState, event: DecryptError, now: int, weight: float) -> None:
        """A failure that counts (weight > 0) on a connected session."""
        if event.category is Category.PREKEY:
            self._maybe_top_up(state, now)
        if event.peer is None:
            return
        if event.message_id is None:
            self._by_peer_window(state, event, now, weight)
            return
        entry = self._ledger.open(event)
        if entry is None:
            return  # a duplicate of a message already asked for, or one already ended
        retry = self._ledger.take_retry(entry)
        if retry is None:
            return  # budget spent: the ledger ended it as expired
        policy = self._policy
        reset = 0 < policy.peer_reset_from_retry <= retry and self._reset_allowed(state, event.peer, now)
        with_keys = reset or 0 < policy.keys_from_retry <= retry
        entry.asking = True
        # eagerly: a backend that answers at once costs no task (see recovery/eager.py)
        self._eager = True
        try:
            start_eagerly(
                self._ask_sender(state, event.peer, entry, reset=reset, with_keys=with_keys), self._tasks.action
            )
        finally:
            self._eager = False
        if retry <= policy.phone_request_retries:
            self._phone.schedule(entry, policy.phone_request_delay)

    def on_unavailable(self, event: DecryptError) -> None:
        """The server had no payload: only the phone can help (no receipt, no reset, no health weight)."""
        if event.peer is None or event.message_id is None:
            return
        entry = self._ledger.open(event, phone_only=True)
        if entry is not None:
            self._phone.schedule(entry, 0.0)

    # --- the sender -----------------------------------------------------------------

    def _by_peer_window(self, state: SessionState, event: DecryptError, now: int, weight: float) -> None:
        assert event.peer is not None
        window = self._sessions.peer_window(state, event.peer)
        window.add(now, weight)
        reset = window.weight(now) >= self._policy.peer_reset_after and self._reset_allowed(state, event.peer, now)
        if reset:
            window.clear()  # the reset starts this peer's count afresh
        start_eagerly(
            self._ask_sender(state, event.peer, None, reset=reset, with_keys=False, mid=event.message_id),
            self._tasks.action,
        )

    def _reset_allowed(self, state: SessionState, peer: str, now: int) -> bool:
        """Whether the throttle lets ``peer``'s session be recreated now; if so, it is counted as done."""
        # Either way the peer now counts as reset: its further failures are evidence against
        # the last regeneration (a reset was done, or was done too recently to do again).
        state.reset_since_regeneration.add(peer)
        last = state.peer_resets.get(peer)
        if last is not None and now - last <= to_ns(self._policy.peer_reset_min_interval):
            return False
        state.peer_resets[peer] = now
        return True

    async def _ask_sender(
        self,
        state: SessionState,
        peer: str,
        entry: OpenMessage | None,
        *,
        reset: bool,
        with_keys: bool,
        mid: str | None = None,
    ) -> None:
        session = state.session
        message_id = entry.record.message_id if entry is not None else mid
        backend = self._backend
        try:
            if reset:
                self._emit(PeerSessionReset(session=session, peer=peer))
                reset_done = await self._actions.act(
                    "reset_peer_session", session, peer, lambda: backend.reset_peer_session(session, peer)
                )
                if not reset_done:
                    return
            self._emit(ResendRequested(session=session, peer=peer, message_id=message_id))
            await self._actions.act(
                "request_resend",
                session,
                peer,
                lambda: backend.request_resend(session, peer, message_id, with_keys=with_keys),
            )
        finally:
            if entry is not None:
                self._stop_asking(entry)

    def _stop_asking(self, entry: OpenMessage) -> None:
        if self._eager:
            # Done where it was decided; as a task it would have finished on the next loop
            # iteration, and a redelivery until then is a duplicate of a receipt in flight.
            # call_soon here takes the place in the ready queue the task's step had.
            asyncio.get_running_loop().call_soon(_not_asking, entry)
        else:
            entry.asking = False

    # --- prekeys ---------------------------------------------------------------------

    def _maybe_top_up(self, state: SessionState, now: int) -> None:
        count = self._policy.prekey_top_up
        if count == 0:
            return
        last = state.last_prekey_top_up
        if last is not None and now - last < to_ns(self._policy.prekey_top_up_interval):
            return
        state.last_prekey_top_up = now
        self._tasks.action(self._top_up(state.session, count))

    async def _top_up(self, session: str, count: int) -> None:
        self._emit(PrekeysUploaded(session=session, count=count))
        backend = self._backend
        await self._actions.act("upload_prekeys", session, None, lambda: backend.upload_prekeys(session, count))


def _not_asking(entry: OpenMessage) -> None:
    entry.asking = False
