"""What to do now: drawn from the report's alerts and final statuses."""

from __future__ import annotations

from typing import Any

from sessionmgr.report.advice import advise

PERIOD = {"from": "2026-01-01T00:00:00.000Z", "to": "2026-01-01T02:00:00.000Z", "seconds": 7200.0}


def _report(sessions: dict[str, str], alerts: list[dict[str, Any]], actions: list[Any] | None = None) -> dict[str, Any]:
    return {
        "period": PERIOD,
        "sessions": {name: {"status": status} for name, status in sessions.items()},
        "alerts": alerts,
        "timeline": {"actions": actions or [], "down": {}},
    }


def _alert(rule: str, session: str, fired: str, resolved: str | None) -> dict[str, Any]:
    return {"rule": rule, "session": session, "fired_at": fired, "resolved_at": resolved, "message": "m"}


def test_a_session_left_corrupted_is_to_be_re_paired_now() -> None:
    """A session that ends corrupted after a failed regeneration is the first thing to do."""
    report = _report(
        {"bot-01": "healthy", "bot-02": "corrupted"},
        [_alert("regeneration_failed", "bot-02", "2026-01-01T00:15:53.595Z", None)],
        [[953.595, "regeneration_failed", "bot-02"], [953.595, "corrupted", "bot-02"]],
    )
    steps = advise(report)
    assert [(s.level, s.session) for s in steps] == [("now", "bot-02")]
    assert steps[0].action.startswith("Re-pair bot-02")
    assert "00:15:53" in steps[0].why and "still corrupted" in steps[0].why


def test_a_session_that_came_back_is_to_be_checked() -> None:
    """A session whose keys were purged but that reconnected asks for a check that it was re-paired."""
    report = _report({"bot-02": "healthy"}, [], [[953.6, "corrupted", "bot-02"], [1200.0, "cleaned", "bot-02"]])
    report["timeline"]["down"] = {"bot-02": [[953.6, 2753.6]]}
    (step,) = advise(report)
    assert step.level == "check" and "re-paired" in step.action and "reconnected at 00:45:53" in step.why


def test_error_bursts_share_one_watch_line_and_a_firing_one_comes_first() -> None:
    """Resolved error-rate alerts only ask to watch (one line for all); a firing one is urgent."""
    rate = "crypto_error_rate_high"
    report = _report(
        {"bot-01": "healthy", "bot-03": "healthy", "bot-04": "healthy"},
        [_alert(rate, "bot-01", "2026-01-01T00:24:00.000Z", "2026-01-01T00:28:00.000Z"),
         _alert(rate, "bot-03", "2026-01-01T01:00:00.000Z", "2026-01-01T01:02:00.000Z"),
         _alert(rate, "bot-04", "2026-01-01T01:30:00.000Z", None)],
    )  # fmt: skip
    steps = advise(report)
    assert [(s.level, s.session) for s in steps] == [("now", "bot-04"), ("watch", "bot-01, bot-03")]


def test_mass_corruption_asks_for_a_common_cause() -> None:
    """Several sessions corrupted at once point at one cause before one-by-one re-pairing."""
    report = _report({}, [_alert("mass_corruption", "*", "2026-01-01T00:10:00.000Z", None)])
    (step,) = advise(report)
    assert step.level == "now" and "common cause" in step.action


def test_nothing_to_do() -> None:
    """A quiet report advises nothing."""
    assert advise(_report({"bot-01": "healthy"}, [])) == []


def test_repeated_failures_are_counted_not_hidden() -> None:
    """A session that failed twice says so: the first time, and how many more."""
    report = _report({"bot-02": "corrupted"}, [], [[100.0, "corrupted", "bot-02"], [3000.0, "corrupted", "bot-02"]])
    (step,) = advise(report)
    assert "marked corrupted at 00:01:40 (and 1 more time)" in step.why


def test_lost_messages_and_unknown_rules_are_looked_into() -> None:
    """A messages_lost alert asks why; a rule the advice does not know still gets a line, urgent while it fires."""
    report = _report(
        {"bot-03": "healthy", "bot-04": "healthy"},
        [_alert("messages_lost", "bot-03", "2026-01-01T00:37:36.000Z", "2026-01-01T01:45:00.000Z"),
         _alert("brand_new_rule", "bot-04", "2026-01-01T01:00:00.000Z", None)],
    )  # fmt: skip
    steps = advise(report)
    assert [(s.level, s.session) for s in steps] == [("now", "bot-04"), ("check", "bot-03")]
    assert steps[0].action == "Look into the brand_new_rule alert on bot-04" and "firing since 01:00:00" in steps[0].why
    assert steps[1].action.startswith("Find out why bot-03 lost messages") and "at 00:37:36" in steps[1].why
