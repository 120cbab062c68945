"""The alert rules on their own: events in, fire and resolve out, on virtual time."""

from __future__ import annotations

import asyncio

import pytest

from sessionmgr import AlertFired, AlertResolved, Category, DecryptError, DecryptOk, Event, EventBus, Policy
from sessionmgr.clock import LoopClock
from sessionmgr.events import (
    ConnectionChanged,
    HealthChecked,
    MessageOutcome,
    RegenerationFailed,
    RegenerationSucceeded,
    SessionCorrupted,
)
from sessionmgr.recovery.alerts import (
    CORRUPTED_TOO_LONG,
    ERROR_RATE,
    MASS_CORRUPTION,
    MESSAGES_LOST,
    REGENERATION_FAILED,
    AlertEvaluator,
)
from sessionmgr.recovery.publish import Publisher
from sessionmgr.recovery.tasks import TaskSupervisor

pytestmark = [pytest.mark.asyncio, pytest.mark.virtual_time]


class Rig:
    """An evaluator wired to a bus on the running loop's clock, recording what it publishes."""

    def __init__(self, policy: Policy) -> None:
        self.clock = LoopClock()
        self.bus = EventBus()
        self.emit = Publisher(self.clock, self.bus)
        self.tasks = TaskSupervisor(self.clock)
        self.alerts = AlertEvaluator(policy, self.clock, self.emit, self.tasks)
        self.bus.subscribe(self.alerts.handle)
        self.out: list[Event] = []
        self.bus.subscribe(self.out.append)

    def transitions(self) -> list[tuple[str, str, str, float]]:
        """(fired|resolved, rule, session, t) for every alert event so far."""
        return [
            ("fired" if isinstance(e, AlertFired) else "resolved", e.rule, e.session, e.t)
            for e in self.out
            if isinstance(e, AlertFired | AlertResolved)
        ]


def error(session: str = "bot-1", category: Category = Category.BAD_MAC) -> DecryptError:
    return DecryptError(session=session, peer="p", error=category.value, category=category)


async def test_error_rate_fires_at_the_check_over_the_rate_and_resolves_when_it_falls() -> None:
    """3 errors in 20 attempts (15% > 10%) fire at the health check; once they age out it resolves."""
    rig = Rig(Policy(alert_error_rate=0.10, alert_error_rate_min_attempts=20, window=300))
    for _ in range(17):
        rig.emit(DecryptOk(session="bot-1"))
    for _ in range(3):
        rig.emit(error())
    assert rig.transitions() == []  # judged only at a health check
    await asyncio.sleep(10)
    rig.emit(HealthChecked(session="*", sessions=1, unhealthy=0, corrupted=0))
    assert rig.transitions() == [("fired", ERROR_RATE, "bot-1", 10.0)]
    fired = rig.out[-1]
    assert isinstance(fired, AlertFired) and fired.value == pytest.approx(0.15)
    rig.emit(HealthChecked(session="*", sessions=1, unhealthy=0, corrupted=0))
    assert len(rig.transitions()) == 1  # fires once
    await asyncio.sleep(300)  # every attempt is now 310 s old: out of the window
    rig.emit(HealthChecked(session="*", sessions=1, unhealthy=0, corrupted=0))
    assert rig.transitions()[1:] == [("resolved", ERROR_RATE, "bot-1", 310.0)]
    assert rig.alerts.footprint() == 0  # the idle session's windows are dropped


async def test_error_rate_needs_enough_attempts_and_ignores_benign_errors() -> None:
    """Below the minimum attempts, or with only weight-0 duplicates, the rate alert stays quiet."""
    rig = Rig(Policy(alert_error_rate=0.10, alert_error_rate_min_attempts=20))
    for _ in range(19):
        rig.emit(error())  # 100% errors, but only 19 attempts
    rig.emit(HealthChecked(session="*", sessions=1, unhealthy=0, corrupted=0))
    assert rig.transitions() == []
    for _ in range(30):
        rig.emit(error("bot-2", Category.DUPLICATE))
    rig.emit(HealthChecked(session="*", sessions=2, unhealthy=0, corrupted=0))
    assert [t for t in rig.transitions() if t[2] == "bot-2"] == []


async def test_error_rate_at_exactly_the_rate_does_not_fire() -> None:
    """The rule is "above the rate": 2 of 20 at 10% stays quiet."""
    rig = Rig(Policy(alert_error_rate=0.10, alert_error_rate_min_attempts=20))
    for _ in range(18):
        rig.emit(DecryptOk(session="bot-1"))
    for _ in range(2):
        rig.emit(error())
    rig.emit(HealthChecked(session="*", sessions=1, unhealthy=0, corrupted=0))
    assert rig.transitions() == []


async def test_corrupted_too_long_fires_at_the_exact_instant_unless_reconnected() -> None:
    """A session corrupted at t=5 alerts at 5 + alert_corrupted_after; one re-paired before never does."""
    rig = Rig(Policy(alert_corrupted_after=600))
    await asyncio.sleep(5)
    rig.emit(SessionCorrupted(session="bot-1", reason="test"))
    rig.emit(SessionCorrupted(session="bot-2", reason="test"))
    await asyncio.sleep(100)
    rig.emit(ConnectionChanged(session="bot-2", open=True))
    await asyncio.sleep(600)
    assert rig.transitions() == [("fired", CORRUPTED_TOO_LONG, "bot-1", 605.0)]
    await rig.tasks.cancel_all()


async def test_mass_corruption_fires_at_the_threshold_and_resolves_below_it() -> None:
    """The third corrupted session fires the mass alert; one reconnecting resolves it."""
    rig = Rig(Policy(alert_mass_corruption=3))
    for n in range(3):
        rig.emit(SessionCorrupted(session=f"bot-{n}", reason="test"))
    assert rig.transitions() == [("fired", MASS_CORRUPTION, "*", 0.0)]
    await asyncio.sleep(1)
    rig.emit(ConnectionChanged(session="bot-0", open=True))
    assert rig.transitions()[1:] == [("resolved", MASS_CORRUPTION, "*", 1.0)]
    await rig.tasks.cancel_all()


async def test_regeneration_failed_fires_once_and_resolves_on_success() -> None:
    """A failed regeneration fires; another failure does not fire again; a success resolves it."""
    rig = Rig(Policy())
    rig.emit(RegenerationFailed(session="bot-1", attempts=3, error="down"))
    rig.emit(RegenerationFailed(session="bot-1", attempts=3, error="down"))
    rig.emit(RegenerationSucceeded(session="bot-1", attempts=1))
    assert rig.transitions() == [
        ("fired", REGENERATION_FAILED, "bot-1", 0.0),
        ("resolved", REGENERATION_FAILED, "bot-1", 0.0),
    ]


async def test_restored_alerts_do_not_fire_again() -> None:
    """An alert active before a restart is known as active: its rule does not fire it a second time."""
    rig = Rig(Policy())
    rig.alerts.restore_active({(REGENERATION_FAILED, "bot-1"): -50.0})
    rig.emit(RegenerationFailed(session="bot-1", attempts=3, error="down"))
    assert rig.transitions() == []
    assert [(a.rule, a.session, a.fired_at) for a in rig.alerts.active.values()] == [
        (REGENERATION_FAILED, "bot-1", -50.0)
    ]


def outcome(message_id: str, result: str) -> MessageOutcome:
    return MessageOutcome(session="bot-1", peer="p", message_id=message_id, outcome=result, waited=1.0)


async def test_messages_lost_fires_at_the_threshold_and_resolves_once_they_age_out() -> None:
    """3 messages lost or expired within the window fire at the 3rd; resolved ones do not count; it clears later."""
    rig = Rig(Policy(alert_messages_lost=3, alert_messages_lost_window=600))
    rig.emit(outcome("a", "lost"))
    rig.emit(outcome("b", "resolved_sender"))
    await asyncio.sleep(10)
    rig.emit(outcome("c", "expired"))
    assert rig.transitions() == []
    await asyncio.sleep(10)
    rig.emit(outcome("d", "lost"))
    assert rig.transitions() == [("fired", MESSAGES_LOST, "bot-1", 20.0)]
    await asyncio.sleep(595)  # "a" (t=0) is out of the 600 s window at 615: 2 left
    rig.emit(HealthChecked(session="*", sessions=1, unhealthy=0, corrupted=0))
    assert rig.transitions()[1:] == [("resolved", MESSAGES_LOST, "bot-1", 615.0)]
