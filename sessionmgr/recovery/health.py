"""Health: when a session turns unhealthy, the exact instant it recovers, and the periodic check."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sessionmgr.clock import Clock, to_ns
from sessionmgr.events import HealthChanged, HealthChecked
from sessionmgr.policy import Policy
from sessionmgr.recovery.alerts import AlertEvaluator
from sessionmgr.recovery.publish import Emit
from sessionmgr.recovery.state import SessionState, SessionTable
from sessionmgr.recovery.tasks import TaskSupervisor
from sessionmgr.stats import SessionHealth
from sessionmgr.store import Status, Store
from sessionmgr.store.fencing import OwnedStore

__all__ = ["Health"]


class Health:
    """A session is unhealthy while its weighted errors in the window reach the threshold."""

    def __init__(
        self,
        policy: Policy,
        clock: Clock,
        emit: Emit,
        tasks: TaskSupervisor,
        sessions: SessionTable,
        alerts: AlertEvaluator,
        store: Store,
    ) -> None:
        self._policy = policy
        self._clock = clock
        self._emit = emit
        self._tasks = tasks
        self._sessions = sessions
        self._alerts = alerts
        # a shared store's leases are reported at every tick (for the metrics): never quiet then
        self._shared = isinstance(store, OwnedStore)
        #: (sessions, unhealthy, corrupted) as the last check reported them
        self._last: tuple[int, int, int] | None = None

    def turn_unhealthy(self, state: SessionState, now: int) -> None:
        state.healthy = False
        if state.status is Status.HEALTHY:
            self._sessions.set_status(state, Status.UNHEALTHY)
        self._emit(HealthChanged(session=state.session, healthy=False, weight=state.window.weight(now)))
        if state.watcher is None or state.watcher.done():
            state.watcher = self._tasks.timer(self._watch_recovery(state))

    async def _watch_recovery(self, state: SessionState) -> None:
        # Health recovers by itself as errors age out: sleep until the exact
        # instant the window drops below the threshold, re-checking on waking
        # because new errors may have pushed that instant later.
        threshold = self._policy.unhealthy_threshold
        instant = now = to_ns(self._clock.monotonic())
        while (when := state.window.drops_below(threshold, now)) is not None:
            await self._clock.sleep((when - now) / 1e9)
            instant, now = when, to_ns(self._clock.monotonic())
        state.healthy = True
        state.consecutive_regenerations = 0
        if state.status is Status.UNHEALTHY:
            self._sessions.set_status(state, Status.HEALTHY)
        # stamped with the exact crossing instant, not the (nanosecond-rounded) wake-up
        event = HealthChanged(session=state.session, healthy=True, weight=state.window.weight(now))
        self._emit(event, t=min(instant, now) / 1e9)

    def check(self) -> HealthChecked:
        """Count unhealthy and down sessions; write counters that changed without a status change.

        So the store lags the manager by at most one health interval.
        """
        now = to_ns(self._clock.monotonic())
        self._sessions.persist_changed()
        threshold = self._policy.unhealthy_threshold
        unhealthy = sum(1 for s in self._sessions if s.window.weight(now) >= threshold)
        corrupted = sum(1 for s in self._sessions if s.status.is_down)
        self._last = (len(self._sessions), unhealthy, corrupted)
        event = HealthChecked(session="*", sessions=len(self._sessions), unhealthy=unhealthy, corrupted=corrupted)
        return self._emit(event)

    def monitor(self, check: Callable[[], Awaitable[object]]) -> None:
        """Run ``check`` at every health interval, skipping the ticks at which it would only repeat itself.

        Ticks go on for one window after the last activity whatever happens (a
        replay's report ends at the last one, a window after its last event).
        """
        policy = self._policy
        self._tasks.every(
            policy.health_check_interval, check, name="sessionmgr-health", idle=self.quiet, linger=policy.window
        )

    def quiet(self) -> bool:
        """Whether a check now would only repeat the last one, and would until something happens.

        True when nothing is left to write, no session has errors in its window
        (so none can turn unhealthy or healthy by time alone), the alert rules
        hold no attempts to judge, the store is not shared and the counts are the
        ones last reported: the periodic monitor may then skip its ticks.
        """
        if self._last is None or self._shared or not self._alerts.quiet():
            return False
        now = to_ns(self._clock.monotonic())
        corrupted = 0
        for state in self._sessions:
            if state.window.weight(now) > 0 or state.unsaved_errors or state.persisted is not state.record:
                return False
            corrupted += state.status.is_down
        return self._last == (len(self._sessions), 0, corrupted)

    def of(self, session: str) -> SessionHealth:
        """The session's health now: a pure function of its error window and status."""
        state = self._sessions.get(session)
        threshold = self._policy.unhealthy_threshold
        if state is None:
            return SessionHealth(
                session=session,
                status=Status.HEALTHY,
                healthy=True,
                weighted_errors=0.0,
                errors_in_window=0,
                threshold=threshold,
                corrupted_since=None,
                last_error=None,
                last_error_at=None,
            )
        now = to_ns(self._clock.monotonic())
        weight = state.window.weight(now)
        return SessionHealth(
            session=session,
            status=state.status,
            healthy=weight < threshold,
            weighted_errors=weight,
            errors_in_window=state.window.count(now),
            threshold=threshold,
            corrupted_since=state.record.corrupted_since,
            last_error=state.last_error or state.record.last_error,
            last_error_at=state.last_error_at or state.record.last_error_at,
        )
