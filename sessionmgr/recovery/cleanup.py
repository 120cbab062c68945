"""Cleanup: quarantine then purge corrupted sessions' keys under a lease; forget aged-out state."""

from __future__ import annotations

from collections.abc import Hashable
from datetime import timedelta

from sessionmgr.backend import Backend
from sessionmgr.clock import Clock, to_ns
from sessionmgr.events import ActionFailed, SessionCleaned
from sessionmgr.policy import Policy
from sessionmgr.recovery.actions import Actions
from sessionmgr.recovery.journal import Journal
from sessionmgr.recovery.messages import MessageLedger
from sessionmgr.recovery.publish import Emit
from sessionmgr.recovery.state import SessionState, SessionTable
from sessionmgr.recovery.tasks import TaskSupervisor
from sessionmgr.retry import RetriesExhausted
from sessionmgr.store import MemoryStore, QuarantineEntry, Status

__all__ = ["Cleanup"]


class Cleanup:
    """Takes corrupted sessions' keys out of service without ever losing them.

    Sessions another process marked corrupted in a shared store are cleaned
    too; a lease in the store keeps two processes off the same session.
    """

    def __init__(
        self,
        policy: Policy,
        clock: Clock,
        emit: Emit,
        journal: Journal,
        backend: Backend,
        *,
        sessions: SessionTable,
        actions: Actions,
        ledger: MessageLedger,
        owner: str,
    ) -> None:
        self._policy = policy
        self._clock = clock
        self._emit = emit
        self._journal = journal
        self._backend = backend
        self._sessions = sessions
        self._actions = actions
        self._ledger = ledger
        self.owner = owner
        #: the store's version at the last read of its records that left nothing behind
        self._seen: Hashable | None = None

    async def run(self) -> list[str]:
        """Clean every corrupted session not yet cleaned, then forget aged-out state; returns those cleaned.

        With nothing left to do here, a store whose version has not moved since
        the last look holds no new corrupted session: its records are not read.
        """
        await self._journal.commit()  # the store must hold our own latest decisions before we read it back
        store = self._journal.store
        settled = self._settled()
        version = await store.version()  # before the read, so a write after it shows at the next look
        if settled and version == self._seen:
            return []
        candidates = {s.session: s for s in self._sessions if s.status is Status.CORRUPTED and not s.record.cleaned}
        for record in await store.records():
            if record.status is Status.CORRUPTED and not record.cleaned and record.session not in candidates:
                state = self._sessions.state(record.session)
                state.record = record
                candidates[record.session] = state
        cleaned = [session for session, state in sorted(candidates.items()) if await self._clean(state)]
        # one left behind (a lease another process holds may simply expire, which writes nothing): look again
        self._seen = version if len(cleaned) == len(candidates) else None
        self._forget_aged_out()
        return cleaned

    def schedule(self, tasks: TaskSupervisor) -> None:
        """Run every cleanup interval, skipping the ticks at which a run could change nothing."""
        tasks.every(self._policy.cleanup_interval, self.run, name="sessionmgr-cleanup", idle=self.quiet)

    def quiet(self) -> bool:
        """Whether a run now could change nothing, and no later one either until something happens.

        Only with a store no other process writes (a :class:`MemoryStore`: it
        lives in this process); a shared one may gain a corrupted session at any
        time, so its ticks go on, each reading the store's records only if its
        :meth:`~sessionmgr.store.Store.version` moved (see :meth:`run`).
        """
        return isinstance(self._journal.store, MemoryStore) and self._settled()

    def _settled(self) -> bool:
        """No session here is left to clean, no peer window or reset to age out, and no healthy session
        waits to be forgotten (each would be by time alone). Sessions that are down stay until re-paired,
        which is activity."""
        return all(
            state.status.is_down
            and (state.status is not Status.CORRUPTED or state.record.cleaned)
            and not state.peers
            and not state.peer_resets
            for state in self._sessions
        )

    async def _clean(self, state: SessionState) -> bool:
        session = state.session
        store = self._journal.store
        now = self._clock.wall()
        if not await store.claim(session, self.owner, now, now + timedelta(seconds=self._policy.cleanup_interval)):
            return False  # another process is cleaning it
        stored = await store.load(session)
        if stored is not None and (stored.cleaned or stored.status is not Status.CORRUPTED):
            state.record = stored  # cleaned (or reconnected) elsewhere meanwhile
            return False
        material = b""
        if not self._actions.advisory:
            try:
                material = await self._quarantine_and_purge(state)
            except RetriesExhausted as exc:
                self._emit(
                    ActionFailed(session=session, operation=exc.operation, attempts=exc.attempts, error=str(exc.last))
                )
                return False
        state.record = state.record.evolve(cleaned=True)
        self._sessions.set_status(state, Status.DISCONNECTED)
        self._emit(SessionCleaned(session=session, quarantined_bytes=len(material)))
        self._ledger.close_session(session, "lost")
        await self._journal.commit()
        return True

    async def _quarantine_and_purge(self, state: SessionState) -> bytes:
        session = state.session
        since = state.record.corrupted_since
        kept = [q for q in await self._journal.store.quarantined(session) if since is None or q.at >= since]
        backend = self._backend
        if kept:
            material = kept[-1].material  # an earlier attempt quarantined them: do not export twice
        else:
            material = await self._actions.retry(lambda: backend.export_keys(session), "export_keys", session)
            self._journal.quarantine(QuarantineEntry(at=self._clock.wall(), session=session, material=material))
            await self._journal.commit()  # durable before the purge: a crash between must not lose the keys
        await self._actions.retry(lambda: backend.purge_keys(session), "purge_keys", session)
        return material

    def _forget_aged_out(self) -> None:
        now = to_ns(self._clock.monotonic())
        cooldown = to_ns(self._policy.regeneration_cooldown)
        throttle = to_ns(self._policy.peer_reset_min_interval)
        for state in list(self._sessions):
            for peer, window in list(state.peers.items()):
                if window.weight(now) == 0:
                    del state.peers[peer]
            for peer, reset_at in list(state.peer_resets.items()):
                if now - reset_at > throttle:
                    del state.peer_resets[peer]  # the throttle no longer holds it back
            idle = (
                state.status is Status.HEALTHY
                and state.healthy
                and state.regeneration is None
                and not state.peers
                and not state.peer_resets
                and state.window.weight(now) == 0
                and state.since_regeneration.weight(now) == 0
                and (state.last_regeneration is None or now - to_ns(state.last_regeneration) >= cooldown)
            )
            if idle:
                if state.unsaved_errors:
                    self._sessions.persist(state)  # its counters must not go with it
                self._sessions.forget(state.session)
