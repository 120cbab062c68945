"""watch's followed files: a reader failure never ends the following, rejections are logged and counted as they come."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from sessionmgr.events import Event
from sessionmgr.monitoring.followers import MAX_REASON_KINDS, FollowedFile, RejectLog, reason_kind
from sessionmgr.monitoring.metrics import MetricsSink
from sessionmgr.pseudonym import Pseudonymizer
from sessionmgr.trace.follow import Follower
from sessionmgr.trace.readers import Reader

PHONE = "5511987654321"


def pino(n: int) -> str:
    """A Baileys decrypt failure numbered ``n``."""
    return (
        '{"level":50,"time":' + str(1700000000000 + n * 1000) + ',"key":{"remoteJid":"peer-1","id":"M' + str(n) + '"},'
        '"err":{"type":"SessionError","message":"Bad MAC"},"msg":"failed to decrypt message"}'
    )


def exploding(lines: Iterator[str]) -> Iterator[str]:
    """Lines as they come, raising where one says BOOM: what a reader bug on that line looks like from outside."""
    for line in lines:
        if "BOOM" in line:
            raise ValueError(f"cannot read {PHONE} in {line}")
        yield line


def run_until(file: FollowedFile, halt: threading.Event) -> None:
    """Run the file's loop on a thread until ``halt`` (bounded, so a bug fails instead of hanging)."""
    thread = threading.Thread(target=file.run, daemon=True)
    file.thread = thread
    thread.start()
    thread.join(timeout=10)
    halt.set()
    assert not thread.is_alive()


@pytest.mark.parametrize("bad", ["BOOM", "BOOM partial"])
def test_a_reader_failure_restarts_the_reader_past_the_line_and_degrades_health(
    tmp_path: Path, bad: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Good lines after a line the reader fails on still arrive; /health names the failure; no raw content is logged."""
    path = tmp_path / f"{PHONE}.log"
    path.write_text("\n".join([pino(1), bad, pino(2), "{not json", pino(3)]) + "\n")
    halt = threading.Event()
    events: list[Event] = []
    rejected: list[tuple[str, int, str, int]] = []

    def on_event(event: Event) -> None:
        events.append(event)
        if len(events) == 3:
            halt.set()

    file = FollowedFile(
        path, Follower(path, from_start=True), lambda lines: Reader(path, format="baileys", lines=exploding(lines)),
        on_event, lambda *r: rejected.append(r), halt=halt, poll=0, pseudonymizer=Pseudonymizer(b"k"),
    )  # fmt: skip
    with caplog.at_level(logging.INFO, logger="sessionmgr"):
        run_until(file, halt)
    assert [e.message_id for e in events] == ["M1", "M2", "M3"]  # type: ignore[attr-defined]
    assert [(line, kind) for _, line, kind, _ in rejected] == [(2, "reader error"), (4, "not valid JSON")]
    health = file.health()
    assert health["status"] == "degraded" and "reader failed 1 time(s), last: ValueError" in health["reason"]
    assert health["lines"] == 5 and health["events"] == 3 and health["rejected"] == 2
    assert PHONE not in str(health) and all(PHONE not in r.getMessage() for r in caplog.records)


def test_rejections_are_logged_at_once_then_summed_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    """The first rejection of a kind is logged with its line; later ones are summed once per interval, without content."""
    now = [0.0]
    log = RejectLog(lambda: now[0], Pseudonymizer(b"k"), every=60)
    file = f"/logs/{PHONE}.log"
    with caplog.at_level(logging.WARNING, logger="sessionmgr.watch"):
        log.add(file, 3, reason_kind("time: not ISO-8601: '5511912345678'"))
        log.add(file, 4, "time")
        log.add(file, 9, "time", 2)
        assert len(caplog.records) == 1
        now[0] = 61
        log.add(file, 12, "not valid JSON")
    messages = [r.getMessage() for r in caplog.records]
    assert "line 3 rejected (time)" in messages[0]
    assert any("3 more lines rejected (time: 3)" in m for m in messages)
    assert any("line 12 rejected (not valid JSON)" in m for m in messages)
    assert all(PHONE not in m and "5511912345678" not in m for m in messages)


def test_rejected_lines_are_a_counter_per_file_and_reason() -> None:
    """sessionmgr_rejected_lines_total counts by file (pseudonymized) and reason kind."""
    sink = MetricsSink(CollectorRegistry(), Pseudonymizer(b"k"))
    sink.rejected(f"/logs/{PHONE}.log", "time", 2)
    sink.rejected(f"/logs/{PHONE}.log", "not valid JSON")
    samples = {
        (s.labels["file"], s.labels["reason"]): s.value
        for metric in sink.registry.collect()
        for s in metric.samples
        if s.name == "sessionmgr_rejected_lines_total"
    }
    assert sorted(samples.values()) == [1.0, 2.0]
    assert all(PHONE not in file for file, _ in samples)


def test_rejection_kinds_per_file_are_capped_for_the_metric_labels(tmp_path: Path) -> None:
    """Past MAX_REASON_KINDS distinct kinds, a file's further new kinds are counted as ``other``."""
    seen: list[str] = []
    path = tmp_path / "bot.log"
    file = FollowedFile(path, Follower(path), lambda lines: Reader(path, lines=lines), lambda e: None,
                        lambda _f, _l, kind, _c: seen.append(kind), halt=threading.Event())  # fmt: skip
    file._starts.append(0)  # as when a reader has started
    for n in range(MAX_REASON_KINDS + 5):
        file._rejected(n + 1, f"field{n}: bad value")
    file._rejected(99, "field0: again")
    assert seen[:MAX_REASON_KINDS] == [f"field{n}" for n in range(MAX_REASON_KINDS)]
    assert seen[MAX_REASON_KINDS:] == ["other"] * 5 + ["field0"]
