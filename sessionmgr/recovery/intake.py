"""Intake: each observation, stamped and published, handed to the collaborator whose job it is."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Final

from sessionmgr.categories import Category
from sessionmgr.classify import classify_texts
from sessionmgr.clock import to_ns
from sessionmgr.events import ConnectionChanged, DecryptError, DecryptOk, Event, PhoneAnswered, PhoneStatus
from sessionmgr.policy import Policy
from sessionmgr.recovery.health import Health
from sessionmgr.recovery.ladder import Ladder
from sessionmgr.recovery.messages import MessageLedger
from sessionmgr.recovery.peers import PeerRepair
from sessionmgr.recovery.phone import PhoneRung
from sessionmgr.recovery.publish import Emit
from sessionmgr.recovery.state import SessionState, SessionTable
from sessionmgr.store import Status

__all__ = ["Intake"]

# Statuses in which the session still talks to peers, so peer-level repair makes sense.
_CONNECTED: Final = frozenset({Status.HEALTHY, Status.UNHEALTHY, Status.REGENERATING})


class Intake:
    """Routes observations; raises ``TypeError`` for anything that is not one."""

    def __init__(
        self,
        policy: Policy,
        emit: Emit,
        *,
        sessions: SessionTable,
        health: Health,
        peers: PeerRepair,
        ladder: Ladder,
        ledger: MessageLedger,
        phone: PhoneRung,
    ) -> None:
        self._policy = policy
        self._emit = emit
        self._sessions = sessions
        self._health = health
        self._peers = peers
        self._ladder = ladder
        self._ledger = ledger
        self._phone = phone

    def observe(self, event: Event, *, handed_over: bool = False) -> None:
        """Take ``event``; ``handed_over``: its maker keeps no reference, so it is stamped in place, not copied."""
        handler = self._HANDLERS.get(type(event))
        if handler is None:
            raise TypeError(f"{type(event).__name__} is a decision, not an observation the manager can take")
        handler(self, event, handed_over)

    def quiet(self, event: Event, session: str) -> bool:
        """Whether taking ``event`` (of ``session``, as named here) now would only move counters and windows.

        That is: decide nothing and start nothing.
        """
        rule = self._QUIET.get(type(event))
        return rule is not None and rule(self, event, session)

    def _ok_is_quiet(self, event: Event, session: str) -> bool:
        assert isinstance(event, DecryptOk)
        return event.message_id is None or not self._ledger.holds(session, event.peer, event.message_id)

    def _error(self, event: Event, own: bool) -> None:
        assert isinstance(event, DecryptError)
        if event.category is Category.DECRYPT_FAILED:
            # the default (or a generic wrapper): the texts, the error class and
            # the logged causes may say more
            category = classify_texts([event.error, event.error_type or "", *event.causes], signal_layer=True)
            if own:
                object.__setattr__(event, "category", category)
            else:
                event, own = dataclasses.replace(event, category=category), True  # a copy is ours
        event = self._emit(event, in_place=own)
        if not event.category.is_crypto:
            return
        state = self._sessions.state(event.session)
        now = to_ns(event.t)
        weight = self._policy.weight(event.category)
        state.count_error(event, now, weight)
        if state.persisted is None:
            self._sessions.persist(state)  # a session that failed at all is worth a row in the store
        if event.category is Category.UNAVAILABLE:
            self._unavailable(state, event)
            return
        if weight == 0:
            return  # benign (a duplicate frame): no health change, nothing to repair
        if state.healthy and state.window.weight(now) >= self._policy.unhealthy_threshold:
            self._health.turn_unhealthy(state, now)
        if state.status not in _CONNECTED:
            if event.peer is not None and event.message_id is not None:
                self._ledger.lost_now(event)  # nothing will recover it now
            return
        self._peers.on_error(state, event, now, weight)
        self._ladder.maybe_regenerate(state, now)

    def _unavailable(self, state: SessionState, event: DecryptError) -> None:
        # not a crypto failure: no health weight, no receipt, no reset; only the phone can help
        if state.status in _CONNECTED:
            self._peers.on_unavailable(event)
        elif event.peer is not None and event.message_id is not None:
            self._ledger.lost_now(event)

    def _ok(self, event: Event, own: bool) -> None:
        assert isinstance(event, DecryptOk)
        event = self._emit(event, in_place=own)
        if event.message_id is not None:
            self._ledger.resolve(event.session, event.peer, event.message_id, "resolved_sender")

    def _connection(self, event: Event, own: bool) -> None:
        assert isinstance(event, ConnectionChanged)
        event = self._emit(event, in_place=own)
        state = self._sessions.state(event.session)
        if event.open and state.status.is_down:
            # re-paired with fresh keys: the old incident is over
            state.forget_incident()
            state.record = state.record.evolve(corrupted_since=None, cleaned=False)
            self._sessions.set_status(state, Status.HEALTHY)

    def _phone_answered(self, event: Event, own: bool) -> None:
        assert isinstance(event, PhoneAnswered)
        event = self._emit(event, in_place=own)
        self._ledger.resolve(event.session, event.peer, event.message_id, "resolved_phone")

    def _phone_status(self, event: Event, own: bool) -> None:
        assert isinstance(event, PhoneStatus)
        event = self._emit(event, in_place=own)
        self._phone.status(event.session, online=event.online)

    _HANDLERS: Final[dict[type[Event], Callable[[Intake, Event, bool], None]]] = {
        DecryptError: _error,
        DecryptOk: _ok,
        ConnectionChanged: _connection,
        PhoneAnswered: _phone_answered,
        PhoneStatus: _phone_status,
    }
    # Every other observation can decide something (a failure, a connection, the phone).
    _QUIET: Final[dict[type[Event], Callable[[Intake, Event, str], bool]]] = {DecryptOk: _ok_is_quiet}
