"""The seed's alert rules, evaluated from the event stream; each fires once and resolves once."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from sessionmgr.bus import QuietRun
from sessionmgr.clock import Clock, to_ns
from sessionmgr.events import (
    AlertFired,
    AlertResolved,
    ConnectionChanged,
    DecryptError,
    DecryptOk,
    Event,
    HealthChecked,
    MessageOutcome,
    RegenerationFailed,
    RegenerationSucceeded,
    SessionCorrupted,
)
from sessionmgr.policy import Policy
from sessionmgr.recovery.publish import Emit
from sessionmgr.recovery.tasks import TaskSupervisor
from sessionmgr.window import CountWindow

__all__ = ["ALERT_RULES", "ActiveAlert", "AlertEvaluator"]

CORRUPTED_TOO_LONG: Final = "session_corrupted_too_long"
ERROR_RATE: Final = "crypto_error_rate_high"
REGENERATION_FAILED: Final = "regeneration_failed"
MASS_CORRUPTION: Final = "mass_corruption"
MESSAGES_LOST: Final = "messages_lost"
#: Every rule's name, as alerts and reports use them.
ALERT_RULES: Final = (CORRUPTED_TOO_LONG, ERROR_RATE, REGENERATION_FAILED, MASS_CORRUPTION, MESSAGES_LOST)
#: Outcomes that mean the user never got the message.
_UNDELIVERED: Final = frozenset({"lost", "expired"})


@dataclass(frozen=True, slots=True)
class ActiveAlert:
    rule: str
    session: str
    fired_at: float
    value: float
    message: str


class AlertEvaluator:
    """Keeps the state the alert rules need and publishes fire/resolve events.

    ``emit`` stamps and publishes an event; the clock and a timer from
    ``tasks`` let the corrupted-too-long rule fire on time without polling.
    Subscribe :meth:`handle` to the bus.
    """

    def __init__(self, policy: Policy, clock: Clock, emit: Emit, tasks: TaskSupervisor) -> None:
        self.policy = policy
        self._clock = clock
        self._emit = emit
        self._tasks = tasks
        self.active: dict[tuple[str, str], ActiveAlert] = {}
        self._corrupted: dict[str, float] = {}
        self._attempts: dict[str, CountWindow] = {}
        self._errors: dict[str, CountWindow] = {}
        self._lost: dict[str, CountWindow] = {}
        # The error-rate rule is judged at each sweep only for sessions whose counts can have
        # changed since the last: traffic since (dirty) or an entry due to leave the window
        # (_expiry). For the rest the verdict and its fire/resolve would repeat themselves.
        self._dirty: set[str] = set()
        self._expiry: list[tuple[int, str]] = []
        #: when each session's windows were made: the sweep judges in the order the dict kept
        self._order: dict[str, int] = {}
        self._made = 0

    def handle(self, event: Event) -> None:
        handler = self._HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event)

    def handle_batch(self, events: Sequence[Event]) -> None:
        """:meth:`handle` each of ``events``; a success (most of a trace) only adds to its attempt window."""
        attempts, dirty = self._attempts, self._dirty
        for event in events:
            if type(event) is not DecryptOk:
                self.handle(event)
                continue
            window = attempts.get(session := event.session)
            if window is None:
                window = self._new_attempts(session)
            window.add(round(event.t * 1_000_000_000))  # to_ns, inlined
            dirty.add(session)

    def handle_quiet(self, run: QuietRun) -> None:
        """:meth:`handle` each success of ``run``: each adds to its session's attempt window."""
        attempts = self._attempts
        for session, t in zip(run.sessions, run.ts, strict=True):
            window = attempts.get(session)
            if window is None:
                window = self._new_attempts(session)
            window.add(round(t * 1_000_000_000))  # to_ns, inlined
        self._dirty.update(run.sessions)

    # --- rules -------------------------------------------------------------------

    def _on_corrupted(self, event: Event) -> None:
        self.restore_corrupted(event.session, event.t)

    def restore_active(self, fired_at: dict[tuple[str, str], float]) -> None:
        """After a restart: alerts that fired (at these monotonic times) and never resolved."""
        for (rule, session), t in fired_at.items():
            self.active[(rule, session)] = ActiveAlert(rule, session, t, 0.0, "fired before a restart")

    def restore_corrupted(self, session: str, since: float) -> None:
        """Track a session corrupted since monotonic ``since`` (also after a restart)."""
        self._corrupted[session] = since
        if (CORRUPTED_TOO_LONG, session) not in self.active:
            self._tasks.timer(self._corrupted_timer(session, since))
        count = len(self._corrupted)
        if count >= self.policy.alert_mass_corruption:
            self._fire(MASS_CORRUPTION, "*", count, f"{count} sessions corrupted at once")

    async def _corrupted_timer(self, session: str, since: float) -> None:
        await self._clock.sleep(max(0.0, since + self.policy.alert_corrupted_after - self._clock.monotonic()))
        if self._corrupted.get(session) == since:
            minutes = self.policy.alert_corrupted_after / 60
            self._fire(
                CORRUPTED_TOO_LONG, session, self._clock.monotonic() - since, f"corrupted for {minutes:g} minutes"
            )

    def _on_connection(self, event: Event) -> None:
        assert isinstance(event, ConnectionChanged)
        if not event.open or event.session not in self._corrupted:
            return
        del self._corrupted[event.session]
        self._resolve(CORRUPTED_TOO_LONG, event.session)
        self._resolve(REGENERATION_FAILED, event.session)
        if len(self._corrupted) < self.policy.alert_mass_corruption:
            self._resolve(MASS_CORRUPTION, "*")

    def _on_regeneration_failed(self, event: Event) -> None:
        assert isinstance(event, RegenerationFailed)
        self._fire(
            REGENERATION_FAILED, event.session, event.attempts, f"regeneration failed after {event.attempts} attempts"
        )

    def _on_regeneration_succeeded(self, event: Event) -> None:
        self._resolve(REGENERATION_FAILED, event.session)

    def _on_attempt(self, event: Event) -> None:
        session = event.session
        window = self._attempts.get(session)
        if window is None:
            window = self._new_attempts(session)
        now = to_ns(event.t)
        window.add(now)
        self._dirty.add(session)
        # benign categories (weight 0: duplicates) are not failures of decryption
        if isinstance(event, DecryptError) and self.policy.weight(event.category) > 0:
            errors = self._errors.get(session)
            if errors is None:
                errors = self._errors[session] = CountWindow(to_ns(self.policy.window))
            errors.add(now)

    def _new_attempts(self, session: str) -> CountWindow:
        """A session's attempt window, made when first seen (the sweep judges in that order)."""
        window = self._attempts[session] = CountWindow(to_ns(self.policy.window))
        self._order[session] = self._made
        self._made += 1
        return window

    def _on_outcome(self, event: Event) -> None:
        # Messages ending lost or expired in the window; fires as soon as there are enough.
        assert isinstance(event, MessageOutcome)
        if event.outcome not in _UNDELIVERED:
            return
        window = self._lost.get(event.session)
        if window is None:
            window = self._lost[event.session] = CountWindow(to_ns(self.policy.alert_messages_lost_window))
        now = to_ns(event.t)
        window.add(now)
        count = window.count(now)
        if count >= self.policy.alert_messages_lost:
            minutes = self.policy.alert_messages_lost_window / 60
            self._fire(MESSAGES_LOST, event.session, count, f"{count} messages lost or expired in {minutes:g} minutes")

    def _on_health_checked(self, event: Event) -> None:
        # The rate is judged at each monitor tick, over the same window as health.
        now = to_ns(event.t)
        for session in self._due(now):
            attempts_window = self._attempts[session]
            attempts = attempts_window.count(now)
            errors_window = self._errors.get(session)
            errors = errors_window.count(now) if errors_window is not None else 0
            if (
                attempts >= self.policy.alert_error_rate_min_attempts
                and errors / attempts > self.policy.alert_error_rate
            ):
                self._fire(ERROR_RATE, session, errors / attempts, f"{errors}/{attempts} decrypt attempts failed")
            else:
                # back under the rate, or too few attempts left to judge: it clears
                self._resolve(ERROR_RATE, session)
            if attempts == 0:
                del self._attempts[session]
                self._errors.pop(session, None)
                del self._order[session]
            else:
                self._watch_expiry(session, attempts_window, errors_window)
        for session, lost in list(self._lost.items()):
            if lost.count(now) < self.policy.alert_messages_lost:
                self._resolve(MESSAGES_LOST, session)  # fewer lost in the window now: it clears
            if lost.count(now) == 0:
                del self._lost[session]

    def _due(self, now: int) -> list[str]:
        """The sessions to judge at ``now``, in the order their windows were made (as the dict iterates)."""
        expiry, dirty = self._expiry, self._dirty
        while expiry and expiry[0][0] <= now:
            dirty.add(heapq.heappop(expiry)[1])
        order = self._order
        due = sorted((s for s in dirty if s in order), key=order.__getitem__)
        dirty.clear()
        return due

    def _watch_expiry(self, session: str, attempts: CountWindow, errors: CountWindow | None) -> None:
        """Judge ``session`` again when its oldest entry leaves a window, even with no traffic meanwhile."""
        first = attempts.first
        if errors is not None and errors.first is not None and (first is None or errors.first < first):
            first = errors.first
        if first is not None:
            heapq.heappush(self._expiry, (first + attempts.span, session))

    _HANDLERS: Final[dict[type[Event], Callable[[AlertEvaluator, Event], None]]] = {
        SessionCorrupted: _on_corrupted,
        ConnectionChanged: _on_connection,
        RegenerationFailed: _on_regeneration_failed,
        RegenerationSucceeded: _on_regeneration_succeeded,
        DecryptOk: _on_attempt,
        DecryptError: _on_attempt,
        HealthChecked: _on_health_checked,
        MessageOutcome: _on_outcome,
    }

    def forget(self, session: str) -> None:
        """Another worker owns the session now: its alerts are that worker's to fire (and resolve)."""
        self._corrupted.pop(session, None)  # its timer finds nothing and stays quiet
        self._attempts.pop(session, None)
        self._errors.pop(session, None)
        self._order.pop(session, None)
        for key in [key for key in self.active if key[1] == session]:
            del self.active[key]

    def quiet(self) -> bool:
        """Whether a health tick would find nothing to judge here (no attempts or losses held)."""
        return not self._attempts and not self._lost

    def footprint(self) -> int:
        """Entries held in the error-rate windows."""
        windows = (*self._attempts.values(), *self._errors.values(), *self._lost.values())
        return sum(len(w) for w in windows)

    # --- fire once, resolve once ---------------------------------------------------

    def _fire(self, rule: str, session: str, value: float, message: str) -> None:
        if (rule, session) in self.active:
            return
        event = self._emit(AlertFired(session=session, rule=rule, value=value, message=message))
        self.active[(rule, session)] = ActiveAlert(rule, session, event.t, value, message)

    def _resolve(self, rule: str, session: str) -> None:
        if self.active.pop((rule, session), None) is not None:
            self._emit(AlertResolved(session=session, rule=rule))
