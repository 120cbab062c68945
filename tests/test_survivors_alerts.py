"""The alert rules' survivors: what an alert says (value, message), when it fires and clears, what it forgets.

Each test pins one behaviour that mutation testing (docs/mutation.md) found unpinned.
"""

from __future__ import annotations

import asyncio

import pytest

from sessionmgr import AlertFired, AlertResolved, Category, DecryptError, DecryptOk, Policy
from sessionmgr.events import (
    ConnectionChanged,
    HealthChecked,
    MessageOutcome,
    RegenerationFailed,
    SessionCorrupted,
)
from sessionmgr.recovery.alerts import (
    CORRUPTED_TOO_LONG,
    ERROR_RATE,
    MASS_CORRUPTION,
    MESSAGES_LOST,
    REGENERATION_FAILED,
)
from tests.test_alerts import Rig as AlertRig

pytestmark = [pytest.mark.asyncio, pytest.mark.virtual_time]


class Rig(AlertRig):
    """test_alerts' evaluator on a bus, with the views these tests read: fired, resolved, active, a check."""

    def fired(self) -> list[tuple[str, str, float, str, float]]:
        """(rule, session, value, message, t) of every AlertFired so far."""
        return [(e.rule, e.session, e.value, e.message, e.t) for e in self.out if isinstance(e, AlertFired)]

    def resolved(self) -> list[tuple[str, str, float]]:
        """(rule, session, t) of every AlertResolved so far."""
        return [(e.rule, e.session, e.t) for e in self.out if isinstance(e, AlertResolved)]

    def active(self) -> set[tuple[str, str, float, float, str]]:
        """The active alerts as the manager's ``active_alerts()`` hands them out."""
        return {(a.rule, a.session, a.fired_at, a.value, a.message) for a in self.alerts.active.values()}

    def check(self) -> None:
        """A periodic health check (when the rate and lost-message rules are judged)."""
        self.emit(HealthChecked(session="*", sessions=1, unhealthy=0, corrupted=0))


def bad_mac(session: str = "bot-1") -> DecryptError:
    return DecryptError(session=session, peer="p", error="Bad MAC", category=Category.BAD_MAC)


def lost(message_id: str, session: str = "bot-1") -> MessageOutcome:
    return MessageOutcome(session=session, peer="p", message_id=message_id, outcome="lost", waited=1.0)


async def test_error_rate_alert_carries_the_rate_and_the_counts() -> None:
    """The error-rate alert's value is errors/attempts and its message 'E/A decrypt attempts failed'; it is active so."""
    rig = Rig(Policy(alert_error_rate=0.10, alert_error_rate_min_attempts=20))
    for _ in range(16):
        rig.emit(DecryptOk(session="bot-1"))
    for _ in range(4):
        rig.emit(bad_mac())
    rig.check()
    assert rig.fired() == [(ERROR_RATE, "bot-1", 0.2, "4/20 decrypt attempts failed", 0.0)]
    assert rig.active() == {(ERROR_RATE, "bot-1", 0.0, 0.2, "4/20 decrypt attempts failed")}


async def test_error_rate_with_no_errors_at_all_never_fires() -> None:
    """A session with attempts and no crypto error has a rate of 0: even a 1 % threshold stays quiet."""
    rig = Rig(Policy(alert_error_rate=0.01, alert_error_rate_min_attempts=20))
    for _ in range(20):
        rig.emit(DecryptOk(session="bot-1"))
    rig.check()
    assert rig.fired() == []


async def test_error_rate_counts_every_attempt_in_the_window_across_checks() -> None:
    """Attempts before a health check still count at the next one while inside the window (a check drops nothing live)."""
    rig = Rig(Policy(alert_error_rate=0.10, alert_error_rate_min_attempts=20, window=300))
    rig.emit(bad_mac())  # 1 attempt at the first check
    rig.check()
    await asyncio.sleep(1)
    for _ in range(17):
        rig.emit(DecryptOk(session="bot-1"))
    for _ in range(2):
        rig.emit(bad_mac())
    rig.check()  # 20 attempts, 3 errors: 15 % > 10 %
    assert [f[:4] for f in rig.fired()] == [(ERROR_RATE, "bot-1", 0.15, "3/20 decrypt attempts failed")]


async def test_an_idle_session_with_only_good_decrypts_ages_out_quietly() -> None:
    """A session that only ever decrypted fine, then went quiet, is dropped at a check without an error."""
    rig = Rig(Policy(window=300))
    for _ in range(5):
        rig.emit(DecryptOk(session="bot-1"))
    await asyncio.sleep(301)
    rig.check()  # the autouse fixture fails the test if the evaluator raised here
    rig.check()
    assert rig.fired() == [] and rig.resolved() == [] and rig.alerts.footprint() == 0


async def test_corrupted_too_long_says_how_long_and_for_how_many_minutes() -> None:
    """The alert's value is the seconds corrupted (now - since) and its message 'corrupted for N minutes'."""
    rig = Rig(Policy(alert_corrupted_after=90))
    await asyncio.sleep(7)
    rig.emit(SessionCorrupted(session="bot-1", reason="test"))
    await asyncio.sleep(100)
    assert rig.fired() == [(CORRUPTED_TOO_LONG, "bot-1", 90.0, "corrupted for 1.5 minutes", 97.0)]
    assert rig.active() == {(CORRUPTED_TOO_LONG, "bot-1", 97.0, 90.0, "corrupted for 1.5 minutes")}
    await rig.tasks.cancel_all()


async def test_a_session_corrupted_long_before_a_restart_alerts_at_once() -> None:
    """Restored as corrupted since long ago, the session's alert fires right away, not a second later."""
    rig = Rig(Policy(alert_corrupted_after=600))
    await asyncio.sleep(2000)
    rig.alerts.restore_corrupted("bot-1", 100.0)
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert rig.fired() == [(CORRUPTED_TOO_LONG, "bot-1", 1900.0, "corrupted for 10 minutes", 2000.0)]
    await rig.tasks.cancel_all()


async def test_a_connection_closing_does_not_end_corruption() -> None:
    """A corrupted session whose connection closes (open=False) stays corrupted: its alerts stay and still fire."""
    rig = Rig(Policy(alert_corrupted_after=60, alert_mass_corruption=1))
    rig.emit(SessionCorrupted(session="bot-1", reason="test"))
    rig.emit(RegenerationFailed(session="bot-1", attempts=3, error="down"))
    rig.emit(ConnectionChanged(session="bot-1", open=False))
    await asyncio.sleep(61)
    assert rig.resolved() == []
    assert {f[0] for f in rig.fired()} == {MASS_CORRUPTION, REGENERATION_FAILED, CORRUPTED_TOO_LONG}
    await rig.tasks.cancel_all()


async def test_reconnecting_resolves_that_sessions_corruption_alerts_only() -> None:
    """Re-paired, a session's corrupted-too-long and regeneration-failed alerts resolve; another session's stay."""
    rig = Rig(Policy(alert_corrupted_after=60, alert_mass_corruption=10))
    for session in ("bot-1", "bot-2"):
        rig.emit(SessionCorrupted(session=session, reason="test"))
        rig.emit(RegenerationFailed(session=session, attempts=3, error="down"))
    await asyncio.sleep(61)
    rig.emit(ConnectionChanged(session="bot-1", open=True))
    assert set(rig.resolved()) == {(CORRUPTED_TOO_LONG, "bot-1", 61.0), (REGENERATION_FAILED, "bot-1", 61.0)}
    assert {(a[0], a[1]) for a in rig.active()} == {(CORRUPTED_TOO_LONG, "bot-2"), (REGENERATION_FAILED, "bot-2")}
    await rig.tasks.cancel_all()


async def test_mass_corruption_stays_while_the_threshold_is_still_met() -> None:
    """With 4 corrupted and a threshold of 3, one reconnecting leaves 3: the mass alert stays; a second clears it."""
    rig = Rig(Policy(alert_mass_corruption=3))
    for n in range(4):
        rig.emit(SessionCorrupted(session=f"bot-{n}", reason="test"))
    assert rig.fired() == [(MASS_CORRUPTION, "*", 3, "3 sessions corrupted at once", 0.0)]
    rig.emit(ConnectionChanged(session="bot-0", open=True))
    assert rig.resolved() == []
    rig.emit(ConnectionChanged(session="bot-1", open=True))
    assert rig.resolved() == [(MASS_CORRUPTION, "*", 0.0)]
    await rig.tasks.cancel_all()


async def test_regeneration_failed_says_after_how_many_attempts() -> None:
    """The regeneration-failed alert's value is the attempts and its message 'regeneration failed after N attempts'."""
    rig = Rig(Policy())
    rig.emit(RegenerationFailed(session="bot-1", attempts=4, error="down"))
    assert rig.fired() == [(REGENERATION_FAILED, "bot-1", 4, "regeneration failed after 4 attempts", 0.0)]
    assert rig.active() == {(REGENERATION_FAILED, "bot-1", 0.0, 4.0, "regeneration failed after 4 attempts")}


async def test_messages_lost_says_how_many_in_how_many_minutes() -> None:
    """The messages-lost alert's value is the count and its message 'N messages lost or expired in M minutes'."""
    rig = Rig(Policy(alert_messages_lost=2, alert_messages_lost_window=5400))
    rig.emit(lost("a"))
    rig.emit(lost("b"))
    assert rig.fired() == [(MESSAGES_LOST, "bot-1", 2, "2 messages lost or expired in 90 minutes", 0.0)]


async def test_messages_lost_stays_while_the_count_is_still_at_the_threshold() -> None:
    """A check while the lost count is still at the threshold does not resolve the alert."""
    rig = Rig(Policy(alert_messages_lost=3, alert_messages_lost_window=600))
    for mid in "abc":
        rig.emit(lost(mid))
    rig.check()
    assert rig.resolved() == [] and len(rig.fired()) == 1


async def test_lost_messages_are_counted_across_health_checks() -> None:
    """Lost messages before a health check still count toward the threshold after it (one lost, check, four more)."""
    rig = Rig(Policy(alert_messages_lost=5, alert_messages_lost_window=600))
    rig.emit(lost("a"))
    rig.check()
    for mid in "bcd":
        rig.emit(lost(mid))
    rig.check()
    rig.emit(lost("e"))
    assert [f[:3] for f in rig.fired()] == [(MESSAGES_LOST, "bot-1", 5)]


async def test_alerts_restored_after_a_restart_say_so() -> None:
    """An alert restored from the audit is active with value 0 and the message 'fired before a restart'."""
    rig = Rig(Policy())
    rig.alerts.restore_active({(ERROR_RATE, "bot-1"): -30.0})
    assert rig.active() == {(ERROR_RATE, "bot-1", -30.0, 0.0, "fired before a restart")}


async def test_forget_hands_a_session_over_without_firing_for_it() -> None:
    """After forget(session) its alerts are no longer active here, its corruption timer stays quiet, its windows go."""
    rig = Rig(Policy(alert_corrupted_after=60, alert_mass_corruption=10))
    for session in ("bot-1", "bot-2"):
        rig.emit(SessionCorrupted(session=session, reason="test"))
        rig.emit(RegenerationFailed(session=session, attempts=3, error="down"))
        rig.emit(bad_mac(session))
        rig.emit(DecryptOk(session=session))
    assert rig.alerts.footprint() == 6  # per session: 2 attempts, 1 error
    rig.alerts.forget("bot-1")
    assert {(a[0], a[1]) for a in rig.active()} == {(REGENERATION_FAILED, "bot-2")}
    assert rig.alerts.footprint() == 3
    await asyncio.sleep(61)
    assert [(f[0], f[1]) for f in rig.fired() if f[0] == CORRUPTED_TOO_LONG] == [(CORRUPTED_TOO_LONG, "bot-2")]
    await rig.tasks.cancel_all()


async def test_forgetting_a_session_never_seen_is_harmless() -> None:
    """forget() of a session this evaluator holds nothing for changes nothing and raises nothing."""
    rig = Rig(Policy())
    rig.emit(RegenerationFailed(session="bot-1", attempts=3, error="down"))
    rig.alerts.forget("bot-9")
    assert {(a[0], a[1]) for a in rig.active()} == {(REGENERATION_FAILED, "bot-1")}


async def test_quiet_until_there_is_traffic_or_a_loss_to_judge() -> None:
    """quiet() is true with nothing held, false while attempts or lost messages are in a window, true once they age out."""
    rig = Rig(Policy(window=300, alert_messages_lost_window=600))
    assert rig.alerts.quiet()
    rig.emit(DecryptOk(session="bot-1"))
    assert not rig.alerts.quiet()
    await asyncio.sleep(301)
    rig.check()
    assert rig.alerts.quiet()
    rig.emit(lost("a"))
    assert not rig.alerts.quiet()
    rig.emit(DecryptOk(session="bot-1"))
    assert not rig.alerts.quiet()
    await asyncio.sleep(601)
    rig.check()
    assert rig.alerts.quiet()


async def test_rate_alerts_of_several_sessions_fire_in_the_order_they_were_first_seen() -> None:
    """At one check, sessions over the rate fire in the order their first attempt arrived, not by name."""
    rig = Rig(Policy(alert_error_rate=0.10, alert_error_rate_min_attempts=20))
    first_seen = [f"bot-{n}" for n in (7, 2, 5, 0, 6, 1, 4, 3)]  # neither sorted nor a set's order
    for session in first_seen:
        rig.emit(bad_mac(session))
    for session in sorted(first_seen):
        for _ in range(19):
            rig.emit(bad_mac(session))
    rig.check()
    assert [f[1] for f in rig.fired()] == first_seen


async def test_a_check_at_the_instant_the_oldest_attempt_leaves_rejudges_without_traffic() -> None:
    """With no traffic since, the check at exactly oldest + window judges again: fewer attempts left, the alert clears."""
    rig = Rig(Policy(alert_error_rate=0.10, alert_error_rate_min_attempts=20, window=300))
    for _ in range(17):
        rig.emit(DecryptOk(session="bot-1"))  # t = 0
    await asyncio.sleep(100)
    for _ in range(3):
        rig.emit(bad_mac())  # t = 100: the errors are newer than the good decrypts
    rig.check()
    assert [f[:2] for f in rig.fired()] == [(ERROR_RATE, "bot-1")]
    await asyncio.sleep(199)
    rig.check()  # t = 299: all 20 attempts still in the window
    assert rig.resolved() == []
    await asyncio.sleep(1)
    rig.check()  # t = 300: the 17 good ones leave (t - 300, t]; 3 attempts are too few to judge
    assert rig.resolved() == [(ERROR_RATE, "bot-1", 300.0)]


async def test_errors_leaving_before_the_good_decrypts_are_judged_quietly() -> None:
    """An error older than every good decrypt leaves first; the check then finds 20 good attempts and no error."""
    rig = Rig(Policy(alert_error_rate=0.01, alert_error_rate_min_attempts=20, window=300))
    rig.emit(bad_mac())  # t = 0
    await asyncio.sleep(100)
    for _ in range(20):
        rig.emit(DecryptOk(session="bot-1"))  # t = 100
    rig.check()
    assert [f[:2] for f in rig.fired()] == [(ERROR_RATE, "bot-1")]
    await asyncio.sleep(200)
    rig.check()  # t = 300: the error left, its window is empty, the good decrypts remain
    await asyncio.sleep(50)
    rig.check()
    assert rig.resolved() == [(ERROR_RATE, "bot-1", 300.0)]


async def test_a_check_after_forgetting_a_session_with_traffic_is_quiet() -> None:
    """A session forgotten after traffic but before the check is not judged here: no alert, no error."""
    rig = Rig(Policy(alert_error_rate=0.10, alert_error_rate_min_attempts=1))
    rig.emit(bad_mac())
    rig.emit(bad_mac("bot-2"))
    rig.alerts.forget("bot-1")
    rig.check()  # the autouse fixture fails the test if the evaluator raised here
    assert [f[1] for f in rig.fired()] == ["bot-2"]
