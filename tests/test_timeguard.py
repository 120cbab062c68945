"""Replay's time guard: far-off lines are rejected by what follows them, pauses are kept, disorder is counted."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.replay import run_replay
from harness.timeguard import TimeGuard
from sessionmgr.cli import main
from sessionmgr.events import DecryptOk, HealthChecked
from sessionmgr.trace.lines import ReadError
from sessionmgr.trace.readers import Reader

START = datetime(2026, 1, 1, tzinfo=UTC)
HEADER = json.dumps({"schema": "sessionmgr.trace/1", "origin": "2026-01-01T00:00:00Z", "source": {"kind": "test"}})
DAY = timedelta(days=1)


def _line(at: datetime, n: int) -> str:
    t = at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return json.dumps({"t": t, "session": "bot", "kind": "decrypt_ok", "peer": f"peer-{n}", "message_type": "msg"})


def _reader(name: str, times: list[datetime], **options: bool) -> Reader:
    return Reader(name, lines=[HEADER, *(_line(at, n) for n, at in enumerate(times))], **options)  # type: ignore[arg-type]


def _minutes(count: int, start: datetime = START) -> list[datetime]:
    return [start + timedelta(minutes=n) for n in range(count)]


def _accounted(reader: Reader) -> bool:
    stats = reader.stats
    return stats.lines == stats.events + sum(stats.ignored.values()) + stats.rejected_count


def test_a_lone_line_a_century_off_between_agreeing_lines_is_rejected_by_file_line_and_reason() -> None:
    """A line dated a century after its neighbours, which agree, is rejected by file, line and reason; the rest replay."""
    reader = _reader("century.trace", [*_minutes(5), START + 36_500 * DAY, *_minutes(10)[5:]])
    report = run_replay([reader]).report
    rejected = report["input"]["rejected"]
    assert [(row["file"], row["line"]) for row in rejected] == [("century.trace", 7)]  # header is line 1
    assert "36,500.0 days after the line before it" in rejected[0]["reason"]
    assert "not replayed" in rejected[0]["reason"]
    assert reader.stats.events == 10 and _accounted(reader)
    assert report["period"]["to"].startswith("2026-01-01")


def test_a_lone_line_dated_1970_in_the_middle_is_rejected() -> None:
    """A line 56 years before its agreeing neighbours is rejected, not replayed at the current instant."""
    reader = _reader("epoch.trace", [*_minutes(5), datetime(1970, 1, 1, tzinfo=UTC), *_minutes(10)[5:]])
    report = run_replay([reader]).report
    assert [row["line"] for row in report["input"]["rejected"]] == [7]
    assert "days before the line before it" in report["input"]["rejected"][0]["reason"]
    assert "out_of_order" not in report["input"]


def test_a_far_last_line_that_nothing_follows_is_rejected() -> None:
    """Ten minutes of lines and one line nine months later that no line follows: that line is rejected."""
    reader = _reader("late.trace", [*_minutes(10), START + 270 * DAY])
    report = run_replay([reader]).report
    rejected = report["input"]["rejected"]
    assert [row["line"] for row in rejected] == [12]
    assert "no line follows it" in rejected[0]["reason"]
    assert reader.stats.events == 10 and _accounted(reader)


def test_a_genuine_long_pause_loses_nothing_and_costs_a_few_ticks() -> None:
    """A file that pauses 100 days and goes on is replayed whole, with health ticks only around its events."""
    later = START + 100 * DAY
    reader = _reader("pause.trace", [*_minutes(10), *_minutes(10, later)])
    result = run_replay([reader], keep_events=True)
    assert result.report["input"]["rejected_count"] == 0
    assert reader.stats.events == 20
    assert result.events is not None
    ticks = sum(isinstance(e, HealthChecked) for e in result.events)
    assert 0 < ticks <= 20  # ten minutes and a window on each side of the pause, not 72,000


def test_a_first_line_dated_far_too_early_is_rejected_and_the_rest_replays() -> None:
    """A first line a century before the rest is rejected rather than made the yardstick for every later line."""
    reader = _reader("early.trace", [START - 36_500 * DAY, *_minutes(10)])
    report = run_replay([reader]).report
    rejected = report["input"]["rejected"]
    assert [row["line"] for row in rejected] == [2]
    assert "the file's first lines" in rejected[0]["reason"]
    assert reader.stats.events == 10


def test_a_file_that_logs_every_two_months_is_replayed_whole() -> None:
    """Lines sixty days apart are the file's own pace, not outliers: none is rejected."""
    reader = _reader("sparse.trace", [START + 60 * n * DAY for n in range(12)])
    report = run_replay([reader]).report
    assert report["input"]["rejected_count"] == 0
    assert reader.stats.events == 12


def test_one_files_far_line_does_not_hold_the_rest_of_it_behind_another_file() -> None:
    """Files are judged before they are merged: the lines after one file's outlier replay at their own times."""
    a = _reader("a.trace", [*_minutes(5), START + 36_500 * DAY, *_minutes(10)[5:]])
    b = _reader("b.trace", [t + timedelta(seconds=30) for t in _minutes(10)])
    result = run_replay([a, b], keep_events=True)
    assert result.events is not None
    seen = [e for e in result.events if isinstance(e, DecryptOk)]
    assert len(seen) == 20
    assert max(e.at for e in seen) < START + timedelta(minutes=10)
    assert "out_of_order" not in result.report["input"]


def test_a_reversed_file_reports_its_out_of_order_lines() -> None:
    """Every line of a reversed file but the first is counted as out of order, per file and in total."""
    report = run_replay([_reader("reversed.trace", list(reversed(_minutes(8))))]).report
    assert report["input"]["out_of_order"] == 7
    assert report["input"]["files"][0]["out_of_order"] == 7
    assert report["input"]["rejected_count"] == 0


def test_a_file_named_after_a_phone_number_reports_its_out_of_order_lines_under_its_pseudonym() -> None:
    """The out-of-order count finds its file's row when the report shows that file's name as a pseudonym."""
    report = run_replay([_reader("5511987654321.trace", list(reversed(_minutes(8))))]).report
    (row,) = report["input"]["files"]
    assert "5511987654321" not in row["file"]
    assert row["out_of_order"] == report["input"]["out_of_order"] == 7


def test_an_ordered_file_with_repeated_times_reports_nothing_out_of_order() -> None:
    """Lines sharing their time with the line before them are not re-timed, so nothing is counted."""
    times = [t for t in _minutes(4) for _ in range(2)]
    report = run_replay([_reader("ordered.trace", times)]).report
    assert "out_of_order" not in report["input"]
    assert "out_of_order" not in report["input"]["files"][0]


def test_strict_reading_stops_at_the_far_line_with_its_file_and_line() -> None:
    """With ``strict`` the far-off line raises a ReadError naming its file and line."""
    reader = _reader("strict.trace", [*_minutes(5), START + 36_500 * DAY, *_minutes(10)[5:]], strict=True)
    with pytest.raises(ReadError) as caught:
        list(TimeGuard().judged(reader))
    assert (caught.value.source, caught.value.line) == ("strict.trace", 7)


def test_no_limit_replays_every_line() -> None:
    """``max_gap=None`` rejects nothing (the far line is replayed; the ticks skip the empty century)."""
    reader = _reader("nolimit.trace", [*_minutes(10), START + 36_500 * DAY])
    report = run_replay([reader], max_gap=None).report
    assert report["input"]["rejected_count"] == 0
    assert reader.stats.events == 11


@pytest.mark.parametrize(("option", "rejected"), [([], 1), (["--max-gap", "0"], 0), (["--max-gap", "40000"], 0)])
def test_replay_max_gap_option_sets_the_limit(tmp_path: Path, option: list[str], rejected: int) -> None:
    """``replay --max-gap DAYS`` sets how far off a lone line must be to be rejected; 0 rejects none."""
    path = tmp_path / "century.trace"
    times = [*_minutes(5), START + 36_500 * DAY, *_minutes(10)[5:]]
    path.write_text("\n".join([HEADER, *(_line(at, n) for n, at in enumerate(times))]) + "\n")
    result = CliRunner().invoke(main, ["replay", "-q", str(path), "--json", "-", *option])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["input"]["rejected_count"] == rejected
