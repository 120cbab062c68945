"""The one report builder: sections are given to it, never patched in; the recorder counts message outcomes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from harness.replay import run_replay
from sessionmgr.events import MessageOutcome
from sessionmgr.report.builder import REPORT_SCHEMA, ReportParts, build_report
from sessionmgr.report.compare import comparison, what_if_row
from sessionmgr.report.recorder import ReportRecorder
from sessionmgr.trace.readers import Reader

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_sections_are_given_and_placed_in_order() -> None:
    """Input, delivery, comparison and what-if come from the caller, in the report's fixed key order."""
    parts = ReportParts(ReportRecorder(), source={"kind": "test"}, input={"events": 0, "rejected": []},
                        delivery={"sent": 10, "delivered": 9, "lost": 1, "delivered_ratio": 0.9})  # fmt: skip
    without = {"sent": 10, "delivered": 6, "lost": 4, "delivered_ratio": 0.6}
    report = build_report(parts, comparison=comparison(parts.delivery or {}, without), what_if=[])
    assert report["schema"] == REPORT_SCHEMA
    assert list(report) == ["schema", "source", "input", "period", "errors", "sessions", "actions", "alerts",
                            "delivery", "timeline", "comparison", "what_if"]  # fmt: skip
    assert report["comparison"] == {"without_manager": without, "messages_saved": 3}


def test_building_again_gives_the_same_report() -> None:
    """A caller that learns more builds the report again from the same parts; the rest is unchanged."""
    result = run_replay([Reader(EXAMPLES / "simulation.trace.jsonl")])
    again = build_report(result.parts, what_if=[what_if_row("default", result.report)])
    assert json.dumps({k: v for k, v in again.items() if k != "what_if"}) == json.dumps(result.report)
    assert again["what_if"][0]["regeneration_failures"] == 1
    assert result.report["input"]["files"][0]["lines"] == 407  # the accounting was given, not patched in


def test_message_outcomes_are_counted_when_there_are_any() -> None:
    """MessageOutcome events become a messages section with counts per outcome and the time waited."""
    recorder = ReportRecorder()
    assert build_report(ReportParts(recorder, source={})).get("messages") is None
    for i, (outcome, waited) in enumerate([("resolved_sender", 2.0), ("resolved_sender", 4.0), ("lost", 900.0)]):
        recorder(MessageOutcome(session="bot-01", t=float(i), at=T0 + timedelta(seconds=i), peer="p",
                                message_id=f"m{i}", outcome=outcome, waited=waited))  # fmt: skip
    messages = build_report(ReportParts(recorder, source={}))["messages"]
    assert messages["outcomes"] == {"resolved_sender": 2, "resolved_phone": 0, "expired": 0, "lost": 1}
    assert messages["waited_s"]["resolved_sender"] == {"mean": 3.0, "max": 4.0}
