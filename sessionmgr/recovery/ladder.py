"""The session's rungs of the ladder: regenerate, corrupt, disconnect (peers are in :mod:`.peers`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from sessionmgr.backend import Backend
from sessionmgr.clock import Clock, to_ns
from sessionmgr.events import (
    RegenerationFailed,
    RegenerationStarted,
    RegenerationSucceeded,
    SessionCorrupted,
    SessionDisconnected,
)
from sessionmgr.policy import Policy
from sessionmgr.recovery.actions import Actions
from sessionmgr.recovery.messages import MessageLedger
from sessionmgr.recovery.publish import Emit
from sessionmgr.recovery.state import SessionState, SessionTable
from sessionmgr.recovery.tasks import TaskSupervisor
from sessionmgr.retry import RetriesExhausted
from sessionmgr.store import Status

__all__ = ["Ladder"]

_log = logging.getLogger("sessionmgr.manager")  # the request came through the manager


class Ladder:
    """Decides and carries out each rung; every decision is published before it is acted on."""

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
        confirm: Callable[[str], Awaitable[bool]] | None = None,
    ) -> None:
        self._policy = policy
        #: before a heavy action: whether this worker owns the session (a store shared by workers)
        self._confirm = confirm
        self._clock = clock
        self._emit = emit
        self._tasks = tasks
        self._backend = backend
        self._sessions = sessions
        self._actions = actions
        self._ledger = ledger

    # --- the session's keys -------------------------------------------------------------

    def maybe_regenerate(self, state: SessionState, now: int) -> None:
        """Regenerate (single flight, after the cooldown) or, past the limit, corrupt."""
        if state.regeneration is not None:
            return  # single flight
        if state.since_regeneration.weight(now) < self._policy.unhealthy_threshold:
            return
        if state.last_regeneration is not None and (
            now - to_ns(state.last_regeneration) < to_ns(self._policy.regeneration_cooldown)
        ):
            return
        if state.consecutive_regenerations >= self._policy.max_regenerations:
            self.corrupt(state, f"still unhealthy after {state.consecutive_regenerations} regenerations")
            return
        self.start_regeneration(state, "unhealthy")

    def start_regeneration(self, state: SessionState, reason: str) -> None:
        state.regeneration = self._tasks.action(self._regenerate(state, reason))

    async def regenerate_now(self, state: SessionState) -> bool:
        """Regenerate on request (single flight); ``True`` if it succeeded.

        A corrupted or disconnected session is not regenerated: its keys are
        quarantined or gone, and it comes back by re-pairing.
        """
        if state.status.is_down:
            _log.warning("not regenerating %s: it is %s; re-pair it instead", state.session, state.status.value)
            return False
        if state.regeneration is None:
            self.start_regeneration(state, "requested")
        task = state.regeneration
        assert task is not None
        await asyncio.gather(task, return_exceptions=True)
        return not state.status.is_down

    async def _regenerate(self, state: SessionState, reason: str) -> None:
        session = state.session
        self._sessions.set_status(state, Status.REGENERATING)
        self._emit(RegenerationStarted(session=session, reason=reason))
        if self._confirm is not None and not await self._confirm(session):
            return  # another worker owns it: single flight across workers
        attempts = 0

        async def attempt() -> None:
            nonlocal attempts
            attempts += 1
            if not self._actions.advisory:
                await self._backend.regenerate_keys(session)

        try:
            await self._actions.retry(attempt, "regenerate_keys", session)
        except RetriesExhausted as exc:
            state.regeneration = None
            state.record = state.record.evolve(regeneration_failures=state.record.regeneration_failures + 1)
            self._emit(RegenerationFailed(session=session, attempts=exc.attempts, error=str(exc.last)))
            self.corrupt(state, "regeneration failed")
            return
        state.regeneration = None
        state.last_regeneration = self._clock.monotonic()
        state.consecutive_regenerations += 1
        state.since_regeneration.clear()
        state.reset_since_regeneration.clear()
        state.record = state.record.evolve(regenerations=state.record.regenerations + 1)
        self._sessions.set_status(state, Status.HEALTHY if state.healthy else Status.UNHEALTHY)
        self._emit(RegenerationSucceeded(session=session, attempts=attempts))

    def corrupt(self, state: SessionState, reason: str) -> None:
        """Mark the session corrupted and disconnect it; it comes back by re-pairing."""
        if state.status.is_down:
            return
        state.corrupted_since_t = self._clock.monotonic()
        state.record = state.record.evolve(corrupted_since=self._clock.wall())
        self._sessions.set_status(state, Status.CORRUPTED)
        self._emit(SessionCorrupted(session=state.session, reason=reason))
        self.start_disconnect(state)

    def start_disconnect(self, state: SessionState) -> None:
        self._tasks.action(self._disconnect(state))

    async def _disconnect(self, state: SessionState) -> None:
        session = state.session
        if self._confirm is not None and not await self._confirm(session):
            return
        backend = self._backend
        if await self._actions.act("disconnect", session, None, lambda: backend.disconnect(session)):
            self._emit(SessionDisconnected(session=session))
            self._ledger.close_session(session, "lost")
