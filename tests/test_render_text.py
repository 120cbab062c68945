"""The terminal summary: aligned columns, human durations, correct plurals, what to do, progress bars."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from rich.console import Console

from harness.replay import run_replay
from sessionmgr.cli import main
from sessionmgr.cli.progress import EventCounter, fraction_bar
from sessionmgr.report.text import render_text
from sessionmgr.trace.readers import Reader

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return run_replay([Reader(EXAMPLES / "simulation.trace.jsonl")]).report


def test_durations_read_as_minutes_and_seconds(report: dict[str, Any]) -> None:
    """Recovery times print as '5 min 4 s', never as seconds with three decimals."""
    text = render_text(report)
    assert "median 5 min 4 s" in text
    assert not re.search(r"\d+\.\d{3} s", text)


def test_one_spell_is_singular(report: dict[str, Any]) -> None:
    """'1 unhealthy spell', not '1 unhealthy spells'."""
    one = {
        **report,
        "actions": {**report["actions"], "time_to_recover_s": {"count": 1, "p50": 465.155, "max": 465.155}},
    }
    text = render_text(one)
    assert "1 unhealthy spell," in text and "7 min 45 s" in text


def test_alert_columns_line_up(report: dict[str, Any]) -> None:
    """Every alert row starts its session, time and duration in the same column."""
    lines = render_text(report).splitlines()
    start = lines.index(next(line for line in lines if line.startswith("alerts (")))
    rows = lines[start + 1 : start + 5]
    assert rows[0].split() == ["rule", "session", "fired", "lasted"]
    for column in ("session", "fired"):
        at = rows[0].index(column)
        assert all(row[at - 1] == " " and row[at] != " " for row in rows[1:]), rows


def test_summary_says_what_to_do(report: dict[str, Any]) -> None:
    """The summary ends with the steps for the operator."""
    text = render_text(report)
    assert "what to do now" in text and "Re-pair bot-02" in text


def test_headline_names_the_policy_when_several_are_compared() -> None:
    """With --sweep, the headline says which policy the summary above the what-if table is from."""
    trace = str(EXAMPLES / "simulation.trace.jsonl")
    result = CliRunner().invoke(main, ["replay", trace, "--sweep", "unhealthy_threshold=3,5"])
    assert result.exit_code == 0, result.output
    assert "policy unhealthy_threshold=3 (the first of 2" in result.output
    assert "what if: the same events under each policy" in result.output


def test_progress_bar_shows_rate_and_time_left() -> None:
    """On a terminal, a long run's bar shows events per second and the time left."""
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=120, color_system=None)
    counter = EventCounter()
    with fraction_bar("simulating", counter, console=console) as progress:
        assert progress is not None
        for _ in range(500):
            counter(object())
        progress(0.5)
    out = buffer.getvalue()
    assert "simulating" in out and "events/s" in out and "left" in out


def test_no_bar_off_a_terminal() -> None:
    """Piped or quiet, no bar is drawn and the run gets no progress callback."""
    console = Console(file=io.StringIO(), force_terminal=False)
    with fraction_bar("simulating", console=console) as progress:
        assert progress is None
    with fraction_bar(None) as progress:
        assert progress is None


def test_piped_summary_is_plain_and_unpadded() -> None:
    """Piped, the summary is plain text with no colour codes and no spaces padding lines out."""
    result = CliRunner().invoke(main, ["replay", str(EXAMPLES / "simulation.trace.jsonl")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "\x1b[" not in result.output
    assert [line for line in lines if line != line.rstrip()] == []


def test_each_input_file_is_accounted_for() -> None:
    """A replay of several files names each one with its lines, events, ignored and rejected."""
    report = run_replay([Reader(EXAMPLES / "simulation.trace.jsonl"), Reader(EXAMPLES / "bot-01.baileys.log")]).report
    text = render_text(report, width=160)
    assert "666 lines read" in text
    assert "simulation.trace.jsonl (trace): 407 lines, 406 events, 1 ignored, 0 rejected" in text
    assert "bot-01.baileys.log (baileys): 259 lines, 185 events, 74 ignored, 0 rejected" in text


def test_lines_out_of_order_are_counted_in_the_input_row() -> None:
    """A replayed file whose lines are not in time order says how many were out of order."""
    report = run_replay([Reader(EXAMPLES / "bot-07.pm2-compose.log")]).report
    assert "5 out of order" in render_text(report, width=160)
