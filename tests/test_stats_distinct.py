"""Distinct peers with errors: exact in stats and report up to EXACT_LIMIT, marked as an estimate past it."""

from __future__ import annotations

from sessionmgr import Category, DecryptError
from sessionmgr.distinct import EXACT_LIMIT, RELATIVE_ERROR
from sessionmgr.report.builder import ReportParts, build_report
from sessionmgr.report.recorder import ReportRecorder


def _recorder(peers_by_session: dict[str, int]) -> ReportRecorder:
    recorder = ReportRecorder()
    for session, peers in peers_by_session.items():
        for i in range(peers):
            for _ in range(2):  # each peer twice: repeats are not new peers
                recorder(DecryptError(session=session, peer=f"peer-{i}", error="Bad MAC", category=Category.BAD_MAC))
    return recorder


def test_exact_count_carries_no_estimate_mark() -> None:
    """At EXACT_LIMIT distinct peers the report and the stats give the exact count and no estimate key."""
    recorder = _recorder({"bot": EXACT_LIMIT})
    row = build_report(ReportParts(recorder, source={}))["sessions"]["bot"]
    assert row["peers_with_errors"] == EXACT_LIMIT
    assert "peers_with_errors_estimated" not in row
    stats = recorder.stats.snapshot().to_dict()
    assert stats["sessions"]["bot"]["peers_with_errors"] == EXACT_LIMIT
    assert "peers_with_errors_estimated" not in stats["sessions"]["bot"]


def test_estimate_is_marked_in_report_and_stats() -> None:
    """Past EXACT_LIMIT the session's count is an estimate within 4 standard errors, and says so."""
    n = 3 * EXACT_LIMIT
    recorder = _recorder({"big": n, "small": 3})
    sessions = build_report(ReportParts(recorder, source={}))["sessions"]
    assert sessions["big"]["peers_with_errors_estimated"] is True
    assert abs(sessions["big"]["peers_with_errors"] - n) <= 4 * RELATIVE_ERROR * n
    assert sessions["small"]["peers_with_errors"] == 3
    assert "peers_with_errors_estimated" not in sessions["small"]
    assert recorder.stats.snapshot().to_dict()["sessions"]["big"]["peers_with_errors_estimated"] is True


def test_overall_is_the_union_of_sessions() -> None:
    """The overall row counts peers shared by sessions once, exactly while the union is small."""
    recorder = _recorder({"a": 10, "b": 20})  # peer-0..9 in both
    overall = recorder.stats.snapshot().to_dict()["overall"]
    assert overall["peers_with_errors"] == 20
    assert "peers_with_errors_estimated" not in overall
