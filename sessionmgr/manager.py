"""The session manager: observations in, decisions out. It coordinates; sessionmgr.recovery does the work."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self, TypeVar

from sessionmgr.backend import Backend
from sessionmgr.bus import EventBus, ignore_quiet
from sessionmgr.categories import Category
from sessionmgr.classify import Classifiable, describe
from sessionmgr.clock import Clock, LoopClock
from sessionmgr.events import (
    ConnectionChanged,
    DecryptError,
    DecryptOk,
    Event,
    HealthChecked,
    ManagerStarted,
    PhoneAnswered,
    PhoneStatus,
)
from sessionmgr.policy import Policy
from sessionmgr.pseudonym import Pseudonymizer, RealIdBackend
from sessionmgr.recovery.actions import Actions
from sessionmgr.recovery.alerts import ActiveAlert, AlertEvaluator
from sessionmgr.recovery.cleanup import Cleanup
from sessionmgr.recovery.health import Health
from sessionmgr.recovery.intake import Intake
from sessionmgr.recovery.journal import Journal
from sessionmgr.recovery.ladder import Ladder
from sessionmgr.recovery.messages import MessageLedger
from sessionmgr.recovery.ownership import Ownership
from sessionmgr.recovery.peers import PeerRepair
from sessionmgr.recovery.phone import PhoneRung
from sessionmgr.recovery.publish import Publisher
from sessionmgr.recovery.quiet import Advance, QuietBatch
from sessionmgr.recovery.restore import restore, resume
from sessionmgr.recovery.state import SessionTable
from sessionmgr.recovery.tasks import TaskSupervisor
from sessionmgr.stats import SessionHealth, StatsCollector, StatsSnapshot
from sessionmgr.store import MemoryStore, Store

__all__ = ["SessionManager", "initialize_session_manager"]

T = TypeVar("T")
_log = logging.getLogger("sessionmgr.manager")

Observation = DecryptOk | DecryptError | ConnectionChanged | PhoneAnswered | PhoneStatus


class SessionManager:
    """Watches decryption failures per session and walks the recovery ladder.

    Use it as ``async with SessionManager(backend) as manager:``; the health monitor and cleanup
    run while the block is open. Feed it observations with :meth:`observe` (or
    :meth:`handle_crypto_error`, :meth:`decrypt_ok`, :meth:`connection_changed`). Everything it
    decides is published on :attr:`bus` and carried out on the backend, unless ``advisory`` is set,
    in which case decisions are published but the backend is never called. ``stats`` lets a caller
    share the collector the manager feeds (a report recorder, say) instead of counting every event
    twice. Session ids holding a phone number are pseudonymized; only the backend gets the real id.
    """

    def __init__(
        self,
        backend: Backend,
        *,
        policy: Policy | None = None,
        clock: Clock | None = None,
        store: Store | None = None,
        bus: EventBus | None = None,
        rng: random.Random | None = None,
        pseudonymizer: Pseudonymizer | None = None,
        advisory: bool = False,
        owner: str | None = None,
        stats: StatsCollector | None = None,
    ) -> None:
        self.backend = backend
        self.policy = policy or Policy()
        self.clock: Clock = clock or LoopClock()
        self._own_clock = clock is None  # bound to the loop we start on: see LoopClock.bind
        self.store: Store = store or MemoryStore()
        self.bus = bus or EventBus()
        self.pseudonymizer = pseudonymizer or Pseudonymizer()
        self._ids = backend = RealIdBackend(backend, self.pseudonymizer)  # names in, real ids out
        self.advisory = advisory
        #: who holds cleanup leases in a store shared by several processes
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{os.urandom(4).hex()}"
        policy, clock = self.policy, self.clock
        self._emit = emit = Publisher(clock, self.bus, advisory=advisory)
        self._tasks = tasks = TaskSupervisor(clock, self.bus)  # activity on the bus wakes idle periodic jobs
        # Writes made in one step of the loop go to the store as one transaction.
        self._journal = self.journal = journal = Journal(self.store, self.pseudonymizer, clock)  # journal: metrics
        self._unsubscribe_journal: Callable[[], None] | None = self.bus.subscribe(journal.audit, quiet=ignore_quiet)
        self._stats = stats if stats is not None else StatsCollector()
        self.bus.subscribe(self._stats.handle, batch=self._stats.handle_batch, quiet=self._stats.handle_quiet)
        self._alerts = AlertEvaluator(policy, clock, emit, tasks)
        self.bus.subscribe(self._alerts.handle, batch=self._alerts.handle_batch, quiet=self._alerts.handle_quiet)
        self._sessions = sessions = SessionTable(policy, clock, journal)
        self._actions = actions = Actions(
            policy, clock, emit, rng=rng or random.Random(0), pseudonymizer=self.pseudonymizer, advisory=advisory
        )
        self._health = Health(policy, clock, emit, tasks, sessions, self._alerts, self.store)
        self._ledger = ledger = MessageLedger(policy, clock, emit, tasks, journal, pseudonymizer=self.pseudonymizer)
        self._phone = phone = PhoneRung(policy, clock, emit, tasks, backend, actions=actions, ledger=ledger)
        self._peers = PeerRepair(
            policy, clock, emit, tasks, backend, sessions=sessions, actions=actions, ledger=ledger, phone=phone
        )
        # with a store shared by several workers, act only on the sessions whose lease we hold
        self._ownership = ownership = Ownership(
            self.store, self.owner, clock, emit, tasks, journal, sessions, self._alerts, adopt=self._adopt
        )
        journal.on_lease_lost = ownership.lost
        self._ladder = Ladder(
            policy, clock, emit, tasks, backend, sessions=sessions, actions=actions, ledger=ledger,
            confirm=ownership.confirm,
        )  # fmt: skip
        self._intake = Intake(
            policy, emit, sessions=sessions, health=self._health, peers=self._peers, ladder=self._ladder,
            ledger=ledger, phone=phone,
        )  # fmt: skip
        self._cleanup = Cleanup(
            policy, clock, emit, journal, backend, sessions=sessions, actions=actions, ledger=ledger, owner=self.owner
        )
        self._running = False

    # --- lifecycle ------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def start(self) -> None:
        """Load what the store remembers and start the health monitor and cleanup."""
        if self._running:
            return
        self._running = True
        if self._own_clock and isinstance(self.clock, LoopClock):
            self.clock.bind(asyncio.get_running_loop())
        if self._unsubscribe_journal is None:
            self._unsubscribe_journal = self.bus.subscribe(self._journal.audit, quiet=ignore_quiet)
        self._journal.start()
        restored = await restore(self.store, self.clock, self._sessions, self._alerts, self._ladder, self._ledger)
        self._emit(ManagerStarted(session="*", restored_sessions=restored))
        self._health.monitor(self.check_health)  # both skip the ticks at which they would do nothing
        self._cleanup.schedule(self._tasks)

    async def aclose(self) -> None:
        """Stop the timers, cancel actions still in flight, and flush the store."""
        if not self._running:
            return
        self._running = False
        self._sessions.persist_unsaved()
        await self._tasks.cancel_all()
        await self._journal.close()
        if self._unsubscribe_journal is not None:
            # a successor on the same bus keeps its own audit: ours would write it twice
            self._unsubscribe_journal()
            self._unsubscribe_journal = None

    async def drain(self) -> None:
        """Wait until every action in flight has finished and the store is written."""
        await self._tasks.drain()
        await self._journal.commit()

    # --- observations -----------------------------------------------------------

    async def observe(self, event: Observation) -> None:
        """Take one observation; decisions follow as tasks on the running loop."""
        self.observe_nowait(event)

    def observe_nowait(self, event: Event, *, handed_over: bool = False) -> None:
        """:meth:`observe` for callers that cannot await; ``handed_over``: nobody else holds ``event`` (stamp it)."""
        named = self._ids.named(event)  # the one place sessions come in (a copy if renamed: ours too)
        own, event = handed_over or named is not event, named
        if self._ownership.fenced(event.session):  # seen (and counted); another worker owns the session and acts
            self._emit(event, in_place=own)
            return
        self._intake.observe(event, handed_over=own)

    def quiet_batch(self, advance: Advance | None = None) -> QuietBatch:
        """Observations that decide nothing, taken many at once (a replay's bulk): see :class:`QuietBatch`."""
        ids = self._ids
        return QuietBatch(self._emit, self.bus, self._tasks, self.clock, named=ids.named, name=ids.name,
                          quiet=self._intake.quiet, advance=advance)  # fmt: skip

    async def handle_crypto_error(
        self,
        session: str,
        error: Classifiable,
        *,
        peer: str | None = None,
        message_type: str | None = None,
        message_id: str | None = None,
    ) -> Category:
        """Take a decryption failure in any form :func:`classify` accepts; returns its category.

        Non-crypto errors are returned as ``NOT_CRYPTO`` and otherwise ignored.
        """
        described = describe(error)
        if described.category.is_crypto:
            await self.observe(
                DecryptError(
                    session=session, peer=peer, error=described.text, error_type=described.error_type,
                    message_type=message_type, message_id=message_id, category=described.category,
                )
            )  # fmt: skip
        return described.category

    async def decrypt_ok(
        self, session: str, peer: str | None = None, message_type: str | None = None, message_id: str | None = None
    ) -> None:
        """A message decrypted fine: it counts toward the error rate and resolves that message if it had failed."""
        await self.observe(DecryptOk(session=session, peer=peer, message_type=message_type, message_id=message_id))

    async def connection_changed(self, session: str, *, open: bool) -> None:
        await self.observe(ConnectionChanged(session=session, open=open))

    async def phone_status(self, session: str, online: bool) -> None:
        """The session's own phone is online or offline (while offline, the phone rung is skipped)."""
        await self.observe(PhoneStatus(session=session, online=online))

    async def phone_answered(self, session: str, message_id: str, peer: str | None = None) -> None:
        """The phone sent a message we could not decrypt: it ends as ``resolved_phone``."""
        await self.observe(PhoneAnswered(session=session, peer=peer, message_id=message_id))

    # --- the seed's API -----------------------------------------------------------

    async def regenerate_session_keys(self, session: str) -> bool:
        """Regenerate a session's keys now (single flight); ``True`` if it succeeded.

        A corrupted or disconnected session is not regenerated: its keys are
        quarantined or gone, and it comes back by re-pairing (a connection that opens).
        """
        return await self._ladder.regenerate_now(self._sessions.state(self._ids.name(session)))

    async def cleanup_corrupted_sessions(self) -> list[str]:
        """Quarantine and purge every corrupted session's keys; forget aged-out health data.

        Sessions another process marked corrupted in a shared store are cleaned
        too; a lease in the store keeps two processes off the same session.
        Returns the sessions cleaned.
        """
        return await self._cleanup.run()

    async def check_health(self) -> HealthChecked:
        """Report every session's health (the periodic monitor calls this).

        Counters that changed without a status change are written now, so the
        store lags the manager by at most one health interval.
        """
        self._ownership.report()
        return self._health.check()

    async def _adopt(self, session: str) -> None:
        """Take a session back from the store (its owner may have gone quiet) and finish what it left undone."""
        record = await self.store.load(session)
        if record is not None:
            audit = await self.store.audit(session)
            resume(record, audit, self.clock, self._sessions, self._alerts, self._ladder, self._ledger)

    async def retry_crypto_operation(
        self, operation: Callable[[], Awaitable[T]], *, name: str | None = None, session: str = "*"
    ) -> T:
        """Run ``operation`` under this manager's retry policy, publishing each retry."""
        label = name or str(getattr(operation, "__name__", "operation"))
        return await self._actions.retry(operation, label, self._ids.name(session))

    # --- queries ------------------------------------------------------------------

    def get_session_health(self, session: str) -> SessionHealth:
        """The session's health now: a pure function of its error window and status."""
        return self._health.of(self._ids.name(session))

    def get_session_stats(self) -> StatsSnapshot:
        """Counters per session and overall, derived from the events."""
        return self._stats.snapshot()

    def stats_snapshot(self) -> StatsSnapshot:
        """The same as :meth:`get_session_stats` (the seed's name)."""
        return self._stats.snapshot()

    def active_alerts(self) -> list[ActiveAlert]:
        """Alerts fired and not yet resolved, in the order they fired."""
        return list(self._alerts.active.values())

    def sessions(self) -> list[str]:
        """The sessions the manager currently tracks (by the names it publishes: pseudonyms for numbers)."""
        return self._sessions.names()

    def footprint(self) -> dict[str, int]:
        """How much the manager holds in memory now, counted in entries.

        Bounded by the errors inside the window and the peers failing in it,
        never by history; a long storm shows the same figures as its first minutes.
        """
        return {
            **self._sessions.footprint(),
            **self._ledger.footprint(),
            "alert_window_entries": self._alerts.footprint(),
            "tasks": len(self._tasks),
        }


async def initialize_session_manager(backend: Backend, **options: Any) -> SessionManager:
    """Create and start a manager (the seed's entry point); ``await manager.aclose()`` when done."""
    manager = SessionManager(backend, **options)
    await manager.start()
    return manager
