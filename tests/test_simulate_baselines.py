"""``sessionmgr simulate --baseline``: one recovery alone, or the four side by side."""

from __future__ import annotations

import json

from click.testing import CliRunner

from sessionmgr.cli import main
from sessionmgr.cli.simulate import baseline_table

FAST = ["--sessions", "3", "--peers", "5", "--hours", "2", "--seed", "5"]


def test_one_baseline_alone_says_who_recovered() -> None:
    """--baseline whatsmeow --no-compare runs only that recovery, and the report's source names it."""
    result = CliRunner().invoke(main, ["simulate", *FAST, "--baseline", "whatsmeow", "--no-compare", "--json", "-"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["source"]["recovery"] == "whatsmeow" and report["source"]["manager"] is False
    assert "comparison" not in report


def test_all_prints_the_four_rows_and_puts_them_in_the_report() -> None:
    """--baseline all prints one table row per recovery and hands the rows to the report's comparison section."""
    result = CliRunner().invoke(main, ["simulate", *FAST, "--baseline", "all", "--json", "-"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    rows = report["comparison"]["baselines"]
    assert [row["recovery"] for row in rows] == ["ours", "baileys", "whatsmeow", "none"]
    assert rows[0]["delivered"] == report["delivery"]["delivered"]  # the main run is ours, not run twice
    assert rows[-1]["lost"] == report["comparison"]["without_manager"]["lost"]
    table = [line.split() for line in result.stderr.splitlines() if line.split()[:1] in (["baileys"], ["none"])]
    assert [cells[0] for cells in table] == ["baileys", "none"]
    assert table[1][1:3] == [str(rows[-1]["delivered"]), str(rows[-1]["lost"])]


def test_unknown_baseline_is_refused_with_the_choices() -> None:
    """A misspelt baseline names the valid ones instead of running."""
    result = CliRunner().invoke(main, ["simulate", *FAST, "--baseline", "baileyz"])
    assert result.exit_code == 2
    assert "baileyz" in result.output and "whatsmeow" in result.output


def test_table_shows_a_dash_where_nothing_was_resolved() -> None:
    """A row with no recovered message prints '-' for its time to resolve, and columns line up."""
    row = {"recovery": "none", "delivered": 9, "lost": 1, "resolve_p50_s": None, "resolve_p90_s": None,
           "resets": 0, "regenerations": 0, "resends": 0, "phone_requests": 0, "delivered_by_phone": 0}  # fmt: skip
    lines = baseline_table([row, row | {"recovery": "whatsmeow", "resolve_p50_s": 2.0}]).splitlines()
    assert lines[2].split()[3:5] == ["-", "-"] and lines[3].split()[3] == "2.0"
    assert len({len(line) for line in lines[1:]}) == 1
