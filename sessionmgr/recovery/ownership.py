"""Ownership: with a store shared by several workers, act only on the sessions whose lease we hold.

The store does the fencing (:class:`~sessionmgr.store.fencing.OwnedStore`):
bound to this worker's owner name, every write takes or renews the lease of
each session it touches and is refused for a session another worker holds.
This module is the manager's side of it, and a no-op with any other store:

- a refused write (:class:`~sessionmgr.store.fencing.LeaseLost`) means another
  worker owns the session: this one logs it, publishes
  :class:`~sessionmgr.events.OwnershipLost`, forgets what it held about the
  session (cancelling a regeneration in flight, dropping its alerts: they are
  the owner's) and ignores it for one lease;
- after that lease it reads the session back from the store, so if the owner
  went quiet (died) this worker carries on from the owner's last decision;
- before a heavy action (regeneration, disconnect) the decision is committed
  first, so the action happens only if the store accepted it: single flight
  across workers.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sessionmgr.clock import Clock
from sessionmgr.events import LeasesHeld, OwnershipLost
from sessionmgr.recovery.alerts import AlertEvaluator
from sessionmgr.recovery.journal import Journal
from sessionmgr.recovery.publish import Emit
from sessionmgr.recovery.state import SessionTable
from sessionmgr.recovery.tasks import TaskSupervisor
from sessionmgr.store import Store
from sessionmgr.store.fencing import LeaseLost, OwnedStore

__all__ = ["Ownership"]

_log = logging.getLogger("sessionmgr.manager")
#: how long to leave a session alone when a store that does not say its lease length refused a write
_DEFAULT_LEASE = timedelta(seconds=30)


class Ownership:
    """Which sessions this worker may act on; every answer is yes unless the store is shared."""

    def __init__(
        self,
        store: Store,
        owner: str,
        clock: Clock,
        emit: Emit,
        tasks: TaskSupervisor,
        journal: Journal,
        sessions: SessionTable,
        alerts: AlertEvaluator,
        adopt: Callable[[str], Awaitable[None]],
    ) -> None:
        self.owner = owner
        self._shared = store
        self._store = store if isinstance(store, OwnedStore) else None
        if self._store is not None:
            self._store.bind_owner(owner)
        self._clock = clock
        self._emit = emit
        self._tasks = tasks
        self._journal = journal
        self._sessions = sessions
        self._alerts = alerts
        self._adopt = adopt
        self._fenced: set[str] = set()

    def fenced(self, session: str) -> bool:
        """Whether another worker owns the session, as far as this one knows: do not act on it."""
        return session in self._fenced

    def lost(self, error: LeaseLost) -> None:
        """The journal's hook: the store refused writes for these sessions."""
        retry_in = (self._store.lease if self._store is not None else _DEFAULT_LEASE).total_seconds()
        for session in sorted(error.sessions - self._fenced):
            self._fenced.add(session)
            _log.warning(
                "session %s is owned by another worker: %s stops acting on it (looks again in %.0f s)",
                session, self.owner, retry_in,
            )  # fmt: skip
            state = self._sessions.get(session)
            if state is not None:
                if state.regeneration is not None:
                    state.regeneration.cancel()
                self._sessions.forget(session)
            self._alerts.forget(session)
            self._emit(OwnershipLost(session=session, owner=self.owner, retry_in=retry_in))
            self._tasks.timer(self._look_again(session, retry_in))

    async def _look_again(self, session: str, delay: float) -> None:
        await self._clock.sleep(delay)
        self._fenced.discard(session)
        await self._adopt(session)  # read back what the owner decided; carry on if it went quiet

    async def confirm(self, session: str) -> bool:
        """Before a heavy action: whether this worker owns ``session`` (act only then).

        What was decided is committed first (a refused write fences us), then
        the lease is claimed: of two workers about to act, one gets it.
        """
        if self._store is None:
            return True
        await self._journal.commit()
        if self.fenced(session):
            return False
        now = self._clock.wall()
        if await self._shared.claim(session, self.owner, now, now + self._store.lease):
            return True
        self.lost(LeaseLost(frozenset({session}), self.owner))
        return False

    def report(self) -> LeasesHeld | None:
        """The leases held now, for the metrics (None when the store is not shared)."""
        if self._store is None:
            return None
        held = self._store.held()
        epochs = tuple(sorted((s, epoch) for s, (owner, epoch) in held.items() if owner == self.owner))
        return self._emit(LeasesHeld(session="*", owner=self.owner, epochs=epochs))
