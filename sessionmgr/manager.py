"""The session manager: observations in, decisions out, through the recovery ladder."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import random
import socket
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self, TypeVar

from sessionmgr.backend import Backend
from sessionmgr.bus import EventBus
from sessionmgr.categories import Category
from sessionmgr.classify import CiphertextStub, Classifiable, classify, classify_texts
from sessionmgr.clock import Clock, LoopClock, to_ns
from sessionmgr.events import (
    ADVISED_ACTIONS,
    UNSTAMPED,
    ActionFailed,
    ConnectionChanged,
    DecryptError,
    DecryptOk,
    Event,
    HealthChanged,
    HealthChecked,
    ManagerStarted,
    PeerSessionReset,
    RegenerationFailed,
    RegenerationStarted,
    RegenerationSucceeded,
    ResendRequested,
    RetryFinished,
    RetryScheduled,
    SessionCleaned,
    SessionCorrupted,
    SessionDisconnected,
)
from sessionmgr.policy import Policy
from sessionmgr.pseudonym import Pseudonymizer
from sessionmgr.recovery.alerts import AlertEvaluator
from sessionmgr.retry import RetriesExhausted, retry_crypto_operation
from sessionmgr.stats import SessionHealth, StatsCollector, StatsSnapshot
from sessionmgr.store import AuditEntry, MemoryStore, QuarantineEntry, SessionRecord, Status, Store, WriteBatch
from sessionmgr.window import HealthWindow

__all__ = ["SessionManager", "initialize_session_manager"]

T = TypeVar("T")
E = TypeVar("E", bound=Event)
_log = logging.getLogger("sessionmgr.manager")

Observation = DecryptOk | DecryptError | ConnectionChanged

# Statuses in which the session still talks to peers, so peer-level repair makes sense.
_CONNECTED = frozenset({Status.HEALTHY, Status.UNHEALTHY, Status.REGENERATING})


@dataclass(slots=True)
class _SessionState:
    """What the manager keeps in memory for one session."""

    record: SessionRecord
    window: HealthWindow
    #: Errors that are evidence against the last regeneration: what decides the next one.
    since_regeneration: HealthWindow
    peers: dict[str, HealthWindow] = field(default_factory=dict)
    #: Peers reset since the last regeneration: their failures now count against it.
    reset_since_regeneration: set[str] = field(default_factory=set)
    healthy: bool = True
    last_regeneration: float | None = None
    #: Regenerations that have not (yet) brought the session back to healthy.
    consecutive_regenerations: int = 0
    regeneration: asyncio.Task[None] | None = None
    watcher: asyncio.Task[None] | None = None
    corrupted_since_t: float | None = None
    #: the record as last handed to the store (records are immutable, so identity tells)
    persisted: SessionRecord | None = None
    # Per-error counters live here and fold into the (immutable) record when it is
    # written: evolving the record on every error was a copy per error.
    unsaved_errors: int = 0
    last_error: str | None = None
    last_error_at: datetime | None = None

    @property
    def status(self) -> Status:
        return self.record.status


class SessionManager:
    """Watches decryption failures per session and walks the recovery ladder.

    Use it as ``async with SessionManager(backend) as manager:``; the health
    monitor and cleanup run while the block is open. Feed it observations with
    :meth:`observe` (or :meth:`handle_crypto_error`, :meth:`decrypt_ok`,
    :meth:`connection_changed`). Everything it decides is published on
    :attr:`bus` and carried out on the backend, unless ``advisory`` is set, in
    which case decisions are published but the backend is never called.
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
    ) -> None:
        self.backend = backend
        self.policy = policy or Policy()
        self.clock: Clock = clock or LoopClock()
        self.store: Store = store or MemoryStore()
        self.bus = bus or EventBus()
        self.rng = rng or random.Random(0)
        self.pseudonymizer = pseudonymizer or Pseudonymizer()
        self.advisory = advisory
        self.stats = StatsCollector()
        self.bus.subscribe(self.stats.handle)
        self.alerts = AlertEvaluator(self.policy, self._emit, self.clock.monotonic, self.clock.sleep, self._spawn_timer)
        self.bus.subscribe(self.alerts.handle)
        self._sessions: dict[str, _SessionState] = {}
        self._window_ns = to_ns(self.policy.window)
        # Actions are awaited by drain(); timers (alert deadlines, recovery
        # watchers) are not, since they would carry virtual time forward.
        self._tasks: set[asyncio.Task[Any]] = set()
        self._timers: set[asyncio.Task[Any]] = set()
        self._periodic: list[asyncio.Task[None]] = []
        # Writes made in one step of the loop go to the store as one transaction:
        # a decision's status change and its audit entry land together or not at all.
        self._batch = WriteBatch()
        self._flush_scheduled = False
        self._writes: asyncio.Queue[WriteBatch] | None = None
        self._writer: asyncio.Task[None] | None = None
        #: who holds cleanup leases in a store shared by several processes
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{os.urandom(4).hex()}"
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
        self._writes = asyncio.Queue()
        self._writer = asyncio.create_task(self._write_loop(), name="sessionmgr-store-writer")
        restored = await self._restore()
        self._emit(ManagerStarted(session="*", restored_sessions=restored))
        self._periodic = [
            asyncio.create_task(
                self._every(self.policy.health_check_interval, self.check_health), name="sessionmgr-health"
            ),
            asyncio.create_task(
                self._every(self.policy.cleanup_interval, self.cleanup_corrupted_sessions), name="sessionmgr-cleanup"
            ),
        ]

    async def aclose(self) -> None:
        """Stop the timers, cancel actions still in flight, and flush the store."""
        if not self._running:
            return
        self._running = False
        for state in self._sessions.values():
            if state.unsaved_errors:
                self._persist(state)
        pending = [*self._periodic, *self._tasks, *self._timers]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        self._periodic.clear()
        if self._writes is not None and self._writer is not None:
            await self._commit()
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)

    async def drain(self) -> None:
        """Wait until every action in flight has finished and the store is written."""
        while self._tasks:
            await asyncio.gather(*tuple(self._tasks), return_exceptions=True)
        await self._commit()

    # --- observations -----------------------------------------------------------

    async def observe(self, event: Observation) -> None:
        """Take one observation; decisions follow as tasks on the running loop."""
        self.observe_nowait(event)

    def observe_nowait(self, event: Event) -> None:
        """:meth:`observe` for callers that cannot await (log followers, callbacks)."""
        if isinstance(event, DecryptError):
            self._on_error(event)
        elif isinstance(event, DecryptOk):
            self._emit(event)
        elif isinstance(event, ConnectionChanged):
            self._on_connection(event)
        else:
            raise TypeError(f"{type(event).__name__} is a decision, not an observation the manager can take")

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
        category = classify(error)
        text, error_type = _describe(error)
        if category.is_crypto:
            await self.observe(
                DecryptError(
                    session=session,
                    peer=peer,
                    error=text,
                    error_type=error_type,
                    message_type=message_type,
                    message_id=message_id,
                    category=category,
                )
            )
        return category

    async def decrypt_ok(self, session: str, peer: str | None = None, message_type: str | None = None) -> None:
        """A message decrypted fine: counts toward the error-rate denominator."""
        await self.observe(DecryptOk(session=session, peer=peer, message_type=message_type))

    async def connection_changed(self, session: str, *, open: bool) -> None:
        await self.observe(ConnectionChanged(session=session, open=open))

    # --- the ladder -------------------------------------------------------------

    def _on_error(self, event: DecryptError) -> None:
        if event.category is Category.DECRYPT_FAILED:
            # the default (or a generic wrapper): the texts, the error class and
            # the logged causes may say more
            event = dataclasses.replace(
                event,
                category=classify_texts([event.error, event.error_type or "", *event.causes], signal_layer=True),
            )
        event = self._emit(event)
        if not event.category.is_crypto:
            return
        state = self._state(event.session)
        now = to_ns(event.t)
        weight = self.policy.weight(event.category)
        state.unsaved_errors += 1
        state.last_error, state.last_error_at = event.category.value, event.at
        if state.persisted is None:
            self._persist(state)  # a session that failed at all is worth a row in the store
        state.window.add(now, weight)
        if _against_regeneration(state, event):
            state.since_regeneration.add(now, weight)
        if weight == 0:
            return  # benign (a duplicate frame): no health change, nothing to repair
        if state.healthy and state.window.weight(now) >= self.policy.unhealthy_threshold:
            self._turn_unhealthy(state, now)
        if state.status not in _CONNECTED:
            return
        if event.peer is not None:
            self._repair_peer(state, event, now, weight)
        self._maybe_regenerate(state, now)

    def _repair_peer(self, state: _SessionState, event: DecryptError, now: int, weight: float) -> None:
        assert event.peer is not None
        window = state.peers.get(event.peer)
        if window is None:
            window = state.peers[event.peer] = HealthWindow(self._window_ns)
        window.add(now, weight)
        if window.weight(now) >= self.policy.peer_reset_after:
            window.clear()  # the reset starts this peer's count afresh
            state.reset_since_regeneration.add(event.peer)
            self._spawn(self._reset_peer(event.session, event.peer, event.message_id))
        else:
            self._spawn(self._request_resend(event.session, event.peer, event.message_id))

    def _maybe_regenerate(self, state: _SessionState, now: int) -> None:
        if state.regeneration is not None:
            return  # single flight
        if state.since_regeneration.weight(now) < self.policy.unhealthy_threshold:
            return
        if state.last_regeneration is not None and (
            now - to_ns(state.last_regeneration) < to_ns(self.policy.regeneration_cooldown)
        ):
            return
        if state.consecutive_regenerations >= self.policy.max_regenerations:
            self._corrupt(state, f"still unhealthy after {state.consecutive_regenerations} regenerations")
            return
        state.regeneration = self._spawn(self._regenerate(state, "unhealthy"))

    def _turn_unhealthy(self, state: _SessionState, now: int) -> None:
        state.healthy = False
        if state.status is Status.HEALTHY:
            self._set_status(state, Status.UNHEALTHY)
        self._emit(HealthChanged(session=state.record.session, healthy=False, weight=state.window.weight(now)))
        if state.watcher is None or state.watcher.done():
            state.watcher = self._spawn_timer(self._watch_recovery(state))

    async def _watch_recovery(self, state: _SessionState) -> None:
        # Health recovers by itself as errors age out: sleep until the exact
        # instant the window drops below the threshold, re-checking on waking
        # because new errors may have pushed that instant later.
        threshold = self.policy.unhealthy_threshold
        instant = now = to_ns(self.clock.monotonic())
        while (when := state.window.drops_below(threshold, now)) is not None:
            await self.clock.sleep((when - now) / 1e9)
            instant, now = when, to_ns(self.clock.monotonic())
        state.healthy = True
        state.consecutive_regenerations = 0
        if state.status is Status.UNHEALTHY:
            self._set_status(state, Status.HEALTHY)
        # stamped with the exact crossing instant, not the (nanosecond-rounded) wake-up
        event = HealthChanged(session=state.record.session, healthy=True, weight=state.window.weight(now))
        self._emit(event, t=min(instant, now) / 1e9)

    async def _request_resend(self, session: str, peer: str, message_id: str | None) -> None:
        self._emit(ResendRequested(session=session, peer=peer, message_id=message_id))
        await self._act("request_resend", session, peer, lambda: self.backend.request_resend(session, peer, message_id))

    async def _reset_peer(self, session: str, peer: str, message_id: str | None) -> None:
        self._emit(PeerSessionReset(session=session, peer=peer))
        if await self._act("reset_peer_session", session, peer, lambda: self.backend.reset_peer_session(session, peer)):
            await self._request_resend(session, peer, message_id)

    async def _act(self, operation: str, session: str, peer: str | None, call: Callable[[], Awaitable[None]]) -> bool:
        if self.advisory:
            return True
        try:
            await self._retry(call, operation, session)
        except RetriesExhausted as exc:
            self._emit(
                ActionFailed(
                    session=session, operation=operation, attempts=exc.attempts, error=str(exc.last), peer=peer
                )
            )
            return False
        return True

    async def _regenerate(self, state: _SessionState, reason: str) -> None:
        session = state.record.session
        self._set_status(state, Status.REGENERATING)
        self._emit(RegenerationStarted(session=session, reason=reason))
        attempts = 0

        async def attempt() -> None:
            nonlocal attempts
            attempts += 1
            if not self.advisory:
                await self.backend.regenerate_keys(session)

        try:
            await self._retry(attempt, "regenerate_keys", session)
        except RetriesExhausted as exc:
            state.regeneration = None
            state.record = state.record.evolve(regeneration_failures=state.record.regeneration_failures + 1)
            self._emit(RegenerationFailed(session=session, attempts=exc.attempts, error=str(exc.last)))
            self._corrupt(state, "regeneration failed")
            return
        state.regeneration = None
        state.last_regeneration = self.clock.monotonic()
        state.consecutive_regenerations += 1
        state.since_regeneration.clear()
        state.reset_since_regeneration.clear()
        state.record = state.record.evolve(regenerations=state.record.regenerations + 1)
        self._set_status(state, Status.HEALTHY if state.healthy else Status.UNHEALTHY)
        self._emit(RegenerationSucceeded(session=session, attempts=attempts))

    def _corrupt(self, state: _SessionState, reason: str) -> None:
        if state.status in (Status.CORRUPTED, Status.DISCONNECTED):
            return
        state.corrupted_since_t = self.clock.monotonic()
        state.record = state.record.evolve(corrupted_since=self.clock.wall())
        self._set_status(state, Status.CORRUPTED)
        self._emit(SessionCorrupted(session=state.record.session, reason=reason))
        self._spawn(self._disconnect(state))

    async def _disconnect(self, state: _SessionState) -> None:
        session = state.record.session
        if await self._act("disconnect", session, None, lambda: self.backend.disconnect(session)):
            self._emit(SessionDisconnected(session=session))

    # --- seed API ------------------------------------------------------------

    async def regenerate_session_keys(self, session: str) -> bool:
        """Regenerate a session's keys now (single flight); ``True`` if it succeeded.

        A corrupted or disconnected session is not regenerated: its keys are
        quarantined or gone, and it comes back by re-pairing (a connection that opens).
        """
        state = self._state(session)
        if state.status in (Status.CORRUPTED, Status.DISCONNECTED):
            _log.warning("not regenerating %s: it is %s; re-pair it instead", session, state.status.value)
            return False
        if state.regeneration is None:
            state.regeneration = self._spawn(self._regenerate(state, "requested"))
        task = state.regeneration
        await asyncio.gather(task, return_exceptions=True)
        return state.status not in (Status.CORRUPTED, Status.DISCONNECTED)

    async def cleanup_corrupted_sessions(self) -> list[str]:
        """Quarantine and purge every corrupted session's keys; forget aged-out health data.

        Sessions another process marked corrupted in a shared store are cleaned
        too; a lease in the store keeps two processes off the same session.
        Returns the sessions cleaned.
        """
        await self._commit()  # the store must hold our own latest decisions before we read it back
        candidates = {
            s.record.session: s
            for s in self._sessions.values()
            if s.status is Status.CORRUPTED and not s.record.cleaned
        }
        for record in await self.store.records():
            if record.status is Status.CORRUPTED and not record.cleaned and record.session not in candidates:
                state = self._state(record.session)
                state.record = record
                candidates[record.session] = state
        cleaned = [session for session, state in sorted(candidates.items()) if await self._clean(state)]
        self._forget_aged_out()
        return cleaned

    async def _clean(self, state: _SessionState) -> bool:
        session = state.record.session
        now = self.clock.wall()
        if not await self.store.claim(session, self.owner, now, now + timedelta(seconds=self.policy.cleanup_interval)):
            return False  # another process is cleaning it
        stored = await self.store.load(session)
        if stored is not None and (stored.cleaned or stored.status is not Status.CORRUPTED):
            state.record = stored  # cleaned (or reconnected) elsewhere meanwhile
            return False
        material = b""
        if not self.advisory:
            since = state.record.corrupted_since
            kept = [q for q in await self.store.quarantined(session) if since is None or q.at >= since]
            try:
                if kept:
                    material = kept[-1].material  # an earlier attempt quarantined them: do not export twice
                else:
                    material = await self._retry(lambda: self.backend.export_keys(session), "export_keys", session)
                    self._batch.quarantine.append(
                        QuarantineEntry(at=self.clock.wall(), session=session, material=material)
                    )
                    await self._commit()  # durable before the purge: a crash between must not lose the keys
                await self._retry(lambda: self.backend.purge_keys(session), "purge_keys", session)
            except RetriesExhausted as exc:
                self._emit(
                    ActionFailed(session=session, operation=exc.operation, attempts=exc.attempts, error=str(exc.last))
                )
                return False
        state.record = state.record.evolve(cleaned=True)
        self._set_status(state, Status.DISCONNECTED)
        self._emit(SessionCleaned(session=session, quarantined_bytes=len(material)))
        await self._commit()
        return True

    def _forget_aged_out(self) -> None:
        now = to_ns(self.clock.monotonic())
        for session, state in list(self._sessions.items()):
            for peer, window in list(state.peers.items()):
                if window.weight(now) == 0:
                    del state.peers[peer]
            idle = (
                state.status is Status.HEALTHY
                and state.healthy
                and state.regeneration is None
                and not state.peers
                and state.window.weight(now) == 0
                and state.since_regeneration.weight(now) == 0
                and (
                    state.last_regeneration is None
                    or now - to_ns(state.last_regeneration) >= to_ns(self.policy.regeneration_cooldown)
                )
            )
            if idle:
                if state.unsaved_errors:
                    self._persist(state)  # its counters must not go with it
                del self._sessions[session]

    async def check_health(self) -> HealthChecked:
        """Report every session's health (the periodic monitor calls this).

        Counters that changed without a status change are written now, so the
        store lags the manager by at most one health interval.
        """
        now = to_ns(self.clock.monotonic())
        for state in self._sessions.values():
            if state.unsaved_errors or state.persisted is not state.record:
                self._persist(state)
        unhealthy = sum(1 for s in self._sessions.values() if s.window.weight(now) >= self.policy.unhealthy_threshold)
        corrupted = sum(1 for s in self._sessions.values() if s.status in (Status.CORRUPTED, Status.DISCONNECTED))
        event = HealthChecked(session="*", sessions=len(self._sessions), unhealthy=unhealthy, corrupted=corrupted)
        return self._emit(event)

    def get_session_health(self, session: str) -> SessionHealth:
        """The session's health now: a pure function of its error window and status."""
        state = self._sessions.get(session)
        now = to_ns(self.clock.monotonic())
        if state is None:
            return SessionHealth(
                session=session,
                status=Status.HEALTHY,
                healthy=True,
                weighted_errors=0.0,
                errors_in_window=0,
                threshold=self.policy.unhealthy_threshold,
                corrupted_since=None,
                last_error=None,
                last_error_at=None,
            )
        weight = state.window.weight(now)
        return SessionHealth(
            session=session,
            status=state.status,
            healthy=weight < self.policy.unhealthy_threshold,
            weighted_errors=weight,
            errors_in_window=state.window.count(now),
            threshold=self.policy.unhealthy_threshold,
            corrupted_since=state.record.corrupted_since,
            last_error=state.last_error or state.record.last_error,
            last_error_at=state.last_error_at or state.record.last_error_at,
        )

    def get_session_stats(self) -> StatsSnapshot:
        """Counters per session and overall, derived from the events."""
        return self.stats.snapshot()

    async def retry_crypto_operation(
        self, operation: Callable[[], Awaitable[T]], *, name: str | None = None, session: str = "*"
    ) -> T:
        """Run ``operation`` under this manager's retry policy, publishing each retry."""
        label = name or str(getattr(operation, "__name__", "operation"))
        return await self._retry(operation, label, session)

    def sessions(self) -> list[str]:
        """The sessions the manager currently tracks."""
        return sorted(self._sessions)

    def footprint(self) -> dict[str, int]:
        """How much the manager holds in memory now, counted in entries.

        Bounded by the errors inside the window and the peers failing in it,
        never by history; a long storm shows the same figures as its first minutes.
        """
        states = self._sessions.values()
        return {
            "sessions": len(self._sessions),
            "window_entries": sum(len(s.window) + len(s.since_regeneration) for s in states),
            "peer_windows": sum(len(s.peers) for s in states),
            "peer_window_entries": sum(len(w) for s in states for w in s.peers.values()),
            "reset_peers": sum(len(s.reset_since_regeneration) for s in states),
            "alert_window_entries": self.alerts.footprint(),
            "tasks": len(self._tasks) + len(self._timers),
        }

    # --- plumbing ------------------------------------------------------------

    def _on_connection(self, event: ConnectionChanged) -> None:
        event = self._emit(event)
        state = self._state(event.session)
        if event.open and state.status in (Status.CORRUPTED, Status.DISCONNECTED):
            # re-paired with fresh keys: the old incident is over
            state.window.clear()
            state.since_regeneration.clear()
            state.peers.clear()
            state.reset_since_regeneration.clear()
            state.healthy = True
            state.consecutive_regenerations = 0
            state.corrupted_since_t = None
            state.record = state.record.evolve(corrupted_since=None, cleaned=False)
            self._set_status(state, Status.HEALTHY)

    async def _retry(self, call: Callable[[], Awaitable[T]], operation: str, session: str) -> T:
        retried = 0

        def on_retry(attempt: int, delay: float, error: BaseException) -> None:
            nonlocal retried
            retried = attempt
            error_text = self.pseudonymizer.scrub(str(error))
            self._emit(
                RetryScheduled(session=session, operation=operation, attempt=attempt, delay=delay, error=error_text)
            )

        try:
            result = await retry_crypto_operation(
                call, policy=self.policy, clock=self.clock, rng=self.rng, name=operation, on_retry=on_retry
            )
        except RetriesExhausted as exc:
            if retried:
                self._emit(RetryFinished(session=session, operation=operation, attempts=exc.attempts, succeeded=False))
            raise
        if retried:
            self._emit(RetryFinished(session=session, operation=operation, attempts=retried + 1, succeeded=True))
        return result

    def _state(self, session: str) -> _SessionState:
        state = self._sessions.get(session)
        if state is None:
            state = self._sessions[session] = _SessionState(
                record=SessionRecord(session=session),
                window=HealthWindow(self._window_ns),
                since_regeneration=HealthWindow(self._window_ns),
            )
        return state

    def _set_status(self, state: _SessionState, status: Status) -> None:
        state.record = state.record.evolve(status=status, updated_at=self.clock.wall())
        self._persist(state)

    def _persist(self, state: _SessionState) -> None:
        if state.unsaved_errors:
            state.record = state.record.evolve(
                errors=state.record.errors + state.unsaved_errors,
                last_error=state.last_error,
                last_error_at=state.last_error_at,
            )
            state.unsaved_errors = 0
        state.persisted = state.record
        self._batch.records.append(state.record)
        self._schedule_flush()

    def _emit(self, event: E, *, t: float | None = None) -> E:
        now = self.clock.monotonic()
        at = self.clock.wall()
        if t is not None and t != now:
            at -= timedelta(seconds=now - t)
            now = t
        if event.at is UNSTAMPED:
            # built just to be handed to us and seen by no one yet: stamp it where it
            # is rather than copy it (the copy was a third of the cost of an error)
            object.__setattr__(event, "t", now)
            object.__setattr__(event, "at", at)
        else:
            event = dataclasses.replace(event, t=now, at=at)
        if self.advisory and isinstance(event, ADVISED_ACTIONS):
            object.__setattr__(event, "advised", True)  # decided, and (advisory) never carried out
        self.bus.publish(event)
        if event.decision and event.audited:
            self._batch.audit.append(
                AuditEntry(at=at, session=event.session, kind=event.kind, detail=self._audit_detail(event))
            )
            self._schedule_flush()
        return event

    def _audit_detail(self, event: Event) -> dict[str, object]:
        detail = event.fields()
        if isinstance(detail.get("peer"), str):
            detail["peer"] = self.pseudonymizer.peer(detail["peer"])
        for key in ("error", "reason", "message"):
            if isinstance(detail.get(key), str):
                detail[key] = self.pseudonymizer.scrub(detail[key])
        return detail

    def _schedule_flush(self) -> None:
        if self._writes is not None and not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if self._batch and self._writes is not None:
            self._writes.put_nowait(self._batch)
            self._batch = WriteBatch()

    async def _commit(self) -> None:
        """Make everything decided so far durable."""
        self._flush()
        if self._writes is not None:
            await self._writes.join()

    async def _write_loop(self) -> None:
        # One writer keeps batches in decision order without the manager awaiting them.
        assert self._writes is not None
        while True:
            batch = await self._writes.get()
            try:
                await self.store.apply(batch)
            except Exception:
                _log.exception(
                    "store write failed (%d records, %d audit entries lost)", len(batch.records), len(batch.audit)
                )
            finally:
                self._writes.task_done()

    def _spawn(self, coro: Coroutine[Any, Any, T], *, timer: bool = False) -> asyncio.Task[T]:
        """Run an action (awaited by :meth:`drain`) or, with ``timer``, a timer (not awaited)."""
        task = asyncio.get_running_loop().create_task(coro)
        (self._timers if timer else self._tasks).add(task)
        task.add_done_callback(self._task_done)
        return task

    def _spawn_timer(self, coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        return self._spawn(coro, timer=True)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        self._timers.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _log.error("manager task failed", exc_info=task.exception())

    async def _every(self, interval: float, job: Callable[[], Awaitable[object]]) -> None:
        while True:
            await self.clock.sleep(interval)
            try:
                await job()
            except Exception:
                _log.exception("periodic job %s failed", getattr(job, "__name__", job))

    async def _restore(self) -> int:
        now_t, now_wall = self.clock.monotonic(), self.clock.wall()
        records = await self.store.records()
        # alerts that fired and never resolved are still active: they must not fire again
        audit = await self.store.audit()
        active: dict[tuple[str, str], AuditEntry] = {}
        for entry in audit:
            key = (str(entry.detail.get("rule")), entry.session)
            if entry.kind == "alert_fired":
                active[key] = entry
            elif entry.kind == "alert_resolved":
                active.pop(key, None)
        self.alerts.restore_active(
            {key: (entry.at - now_wall).total_seconds() + now_t for key, entry in active.items()}
        )
        for record in records:
            state = self._state(record.session)
            state.record = state.persisted = record
            if record.corrupted_since is not None:
                # carry "corrupted since" across the restart on this process's clock
                since = record.corrupted_since
                state.corrupted_since_t = now_t - (now_wall - since).total_seconds()
                done = {e.kind for e in audit if e.session == record.session and e.at >= since}
                self.alerts.restore_corrupted(record.session, state.corrupted_since_t)
                if record.status is Status.CORRUPTED and "disconnected" not in done:
                    # decided before the crash but not yet carried out: do it now
                    self._spawn(self._disconnect(state))
            if record.status is Status.UNHEALTHY:
                # errors are not persisted: after a restart the window is empty, so healthy
                self._set_status(state, Status.HEALTHY)
            if record.status is Status.REGENERATING:
                # caught mid-regeneration: do it again rather than trust a half-done one
                state.regeneration = self._spawn(self._regenerate(state, "resumed after restart"))
        return len(records)


def _against_regeneration(state: _SessionState, event: DecryptError) -> bool:
    """Whether an error says the last regeneration did not help.

    Before any regeneration every error counts, so the first one comes when
    the session turns unhealthy. After it, a peer's msg-path failures on chain
    state older than the regeneration are the peer ladder's work (a reset fixes
    them; new prekeys cannot), so they count only once that peer has been reset
    and still fails. Session establishment (pkmsg) failures, which new keys
    should have fixed, always count, as do errors with no known peer.
    """
    return (
        state.last_regeneration is None
        or event.peer is None
        or event.message_type == "pkmsg"
        or event.category is Category.PREKEY
        or event.peer in state.reset_since_regeneration
    )


def _describe(error: Classifiable) -> tuple[str, str | None]:
    """The (text, error type) an observation records for an error in any accepted form."""
    if isinstance(error, str):
        return error, None
    if isinstance(error, BaseException):
        return str(error), getattr(error, "name", None) or type(error).__name__
    if isinstance(error, tuple):
        return error[1], error[0]
    params = error.parameters if isinstance(error, CiphertextStub) else error.get("messageStubParameters") or ()
    texts = [str(p) for p in params] if isinstance(params, list | tuple) else [str(params)]
    return "; ".join(texts) or "CIPHERTEXT", "CIPHERTEXT"


async def initialize_session_manager(backend: Backend, **options: Any) -> SessionManager:
    """Create and start a manager (the seed's entry point); ``await manager.aclose()`` when done."""
    manager = SessionManager(backend, **options)
    await manager.start()
    return manager
