"""What to do now: the report's alerts and final statuses turned into steps for an operator.

Both renderers show this list; it is drawn from the report, so a replay
advises on what the manager would have seen.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Final

from sessionmgr.report.humanize import Clock, plural
from sessionmgr.store import Status

__all__ = ["Advice", "advise"]

# the report holds statuses as strings (it may come back from JSON)
_DOWN: Final = frozenset(s.value for s in Status if s.is_down)
# Alert rules that mean a session's keys are beyond the manager's help.
_BROKEN_RULES: Final = ("regeneration_failed", "session_corrupted_too_long")
_ERROR_RATE: Final = "crypto_error_rate_high"
_MASS: Final = "mass_corruption"
_ORDER: Final = {"now": 0, "check": 1, "watch": 2}
# What to do about the other rules' alerts.
_ACTIONS: Final = {
    "messages_lost": "Find out why {name} lost messages (its users' phones offline? senders gone?)",
}


@dataclass(frozen=True, slots=True)
class Advice:
    """One step: how urgent (``now``, ``check``, ``watch``), the session it is about, what to do, and why."""

    level: str
    session: str
    action: str
    why: str


def advise(report: dict[str, Any]) -> list[Advice]:
    """The steps the report calls for, most urgent first; empty when nothing needs doing."""
    clock = Clock(report["period"])
    alerts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for alert in report["alerts"]:
        alerts[alert["session"]].append(alert)
    marks: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for t, kind, session in report.get("timeline", {}).get("actions", []):
        marks[session][kind].append(t)
    out: list[Advice] = []
    if _MASS in {a["rule"] for a in alerts.get("*", [])}:
        first = min(alerts["*"], key=lambda a: a["fired_at"])
        level = "now" if first["resolved_at"] is None else "check"
        action = "Look for a common cause (a deploy, a key-store outage) before re-pairing sessions one by one"
        out.append(Advice(level, "*", action, f"{first['message']} at {_clock(clock, first['fired_at'])}"))
    for name, session in report["sessions"].items():
        out.extend(_for_session(name, session, alerts.get(name, []), marks.get(name, {}), report, clock))
    return sorted(_one_watch_line(out), key=lambda a: (_ORDER[a.level], a.session))


def _one_watch_line(steps: list[Advice]) -> list[Advice]:
    """Sessions that only need watching share one line: the list stays about what to do."""
    watch = [a for a in steps if a.level == "watch"]
    if len(watch) < 2:
        return steps
    names = ", ".join(a.session for a in watch)
    merged = Advice(
        "watch",
        names,
        f"Nothing to do for {names} unless their error bursts recur",
        "each had a short burst of errors above the alert level (see the alerts); the manager recovered them",
    )
    return [a for a in steps if a.level != "watch"] + [merged]


def _for_session(
    name: str,
    session: dict[str, Any],
    alerts: list[dict[str, Any]],
    marks: dict[str, list[float]],
    report: dict[str, Any],
    clock: Clock,
) -> list[Advice]:
    rules = {a["rule"] for a in alerts}
    broken = session["status"] in _DOWN or bool(rules & set(_BROKEN_RULES)) or "corrupted" in marks
    if broken:
        return [_re_pair(name, session, marks, report, clock)]
    others = [_other(name, a, clock) for a in alerts if a["rule"] not in (_ERROR_RATE, *_BROKEN_RULES)]
    return others + _error_rate(name, alerts, clock)


def _other(name: str, alert: dict[str, Any], clock: Clock) -> Advice:
    """Lost messages, and any rule this module does not know yet: look into it (now, if it still fires)."""
    level = "now" if alert["resolved_at"] is None else "check"
    action = _ACTIONS.get(alert["rule"], "Look into the {rule} alert on {name}").format(rule=alert["rule"], name=name)
    since = "firing since" if alert["resolved_at"] is None else "at"
    return Advice(level, name, action, f"{alert['message']}, {since} {_clock(clock, alert['fired_at'])}")


def _error_rate(name: str, alerts: list[dict[str, Any]], clock: Clock) -> list[Advice]:
    rate = [a for a in alerts if a["rule"] == _ERROR_RATE]
    if any(a["resolved_at"] is None for a in rate):
        still = next(a for a in rate if a["resolved_at"] is None)
        return [
            Advice(
                "now",
                name,
                f"Look at {name}'s client and network: its error rate is still high",
                f"{still['message']}, firing since {_clock(clock, still['fired_at'])}",
            )
        ]
    if rate:
        spans = ", ".join(f"{_clock(clock, a['fired_at'])}–{_clock(clock, a['resolved_at'])}" for a in rate)
        # one line per session; _one_watch_line merges several sessions' lines
        return [
            Advice(
                "watch",
                name,
                f"Nothing to do for {name} unless its error bursts recur",
                f"error rate above the alert level {spans}; the manager recovered it",
            )
        ]
    return []


def _re_pair(
    name: str, session: dict[str, Any], marks: dict[str, list[float]], report: dict[str, Any], clock: Clock
) -> Advice:
    steps: list[str] = []
    for kind, text in (
        ("regeneration_failed", "key regeneration failed"),
        ("corrupted", "marked corrupted"),
        ("cleaned", "its keys purged (kept in quarantine)"),
    ):
        times = marks.get(kind)
        if times:
            again = f" (and {plural(len(times) - 1, 'more time')})" if len(times) > 1 else ""
            steps.append(f"{text} at {clock.label(times[0])}{again}")
    down = report.get("timeline", {}).get("down", {}).get(name, [])
    if session["status"] in _DOWN:
        steps.append(f"it is still {session['status']}")
        return Advice("now", name, f"Re-pair {name} (scan the QR code again)", "; ".join(steps) or "it ended corrupted")
    back = [end for _, end in down if end is not None]
    if back:
        steps.append(f"it reconnected at {clock.label(back[-1])}")
    return Advice("check", name, f"Re-pair {name}, or confirm it was re-paired", "; ".join(steps) or "it was corrupted")


def _clock(clock: Clock, iso: str | None) -> str:
    if iso is None:
        return "now"
    offset = clock.offset(iso)
    return iso if offset is None else clock.label(offset)
