"""The command line: help, JSON to stdout, clear errors."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from sessionmgr.cli import main
from sessionmgr.store import AuditEntry, SessionRecord, WriteBatch, open_store

FAST = ["--sessions", "3", "--peers", "5", "--hours", "2"]


def test_help_lists_the_commands() -> None:
    """Top-level help names the simulation and shows how to start."""
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "simulate" in result.output and "sessionmgr simulate" in result.output


def test_simulate_json_to_stdout_is_pure_json() -> None:
    """--json - writes only the report to stdout; the summary goes to stderr."""
    result = CliRunner().invoke(main, ["simulate", *FAST, "--json", "-"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["schema"] == "sessionmgr.report/1"
    assert report["comparison"]["without_manager"]["sent"] == report["delivery"]["sent"]
    assert "vs no manager" in result.stderr


def test_simulate_writes_html(tmp_path: Path) -> None:
    """--html writes one self-contained page with its plots inline."""
    out = tmp_path / "r.html"
    result = CliRunner().invoke(main, ["simulate", *FAST, "--no-compare", "--html", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert page.startswith("<!doctype html>") and page.count("<svg") >= 2
    assert "http" not in page  # nothing fetched from elsewhere


def test_bad_policy_file_names_the_field(tmp_path: Path) -> None:
    """A bad policy value stops the run with the file and field named."""
    policy = tmp_path / "p.toml"
    policy.write_text("window = -5\n")
    result = CliRunner().invoke(main, ["simulate", *FAST, "--policy", str(policy)])
    assert result.exit_code == 2
    assert "'window'" in result.output and str(policy) in result.output


def test_classify_command() -> None:
    """classify prints each text's category."""
    result = CliRunner().invoke(main, ["classify", "Bad MAC", "ECONNRESET"])
    assert result.output.splitlines() == ["bad_mac\tBad MAC", "not_crypto\tECONNRESET"]


def test_status_reads_what_a_run_stored(tmp_path: Path) -> None:
    """A simulation with --store leaves records and decisions that status prints."""
    db = tmp_path / "run.db"
    result = CliRunner().invoke(main, ["simulate", *FAST, "--no-compare", "-q", "--store", str(db)])
    assert result.exit_code == 0, result.output
    shown = CliRunner().invoke(main, ["status", "--store", str(db), "--json"])
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.output)
    assert {s["session"] for s in data["sessions"]} <= {"bot-01", "bot-02", "bot-03"}
    assert data["audit"] and all(e["kind"] != "health_check" for e in data["audit"])
    table = CliRunner().invoke(main, ["status", "--store", f"sqlite:///{db}"])
    assert table.output.startswith("session  status")


def test_status_of_a_missing_store_is_a_clear_error(tmp_path: Path) -> None:
    """Pointing status at nothing says so instead of creating an empty database."""
    missing = tmp_path / "nope.db"
    result = CliRunner().invoke(main, ["status", "--store", str(missing)])
    assert result.exit_code == 2 and "no store at" in result.output
    assert not missing.exists()


def test_status_decisions_line_up_with_long_names(tmp_path: Path) -> None:
    """Latest decisions keep their columns aligned when a session name or an advised kind is long."""
    db = tmp_path / "s.db"
    at = datetime(2026, 1, 1, tzinfo=UTC)
    entries = [
        AuditEntry(at=at, session="bot-01", kind="peer_reset", detail={"peer": "p1"}),
        AuditEntry(at=at, session="customer-support-eu-7", kind="regeneration_succeeded",
                   detail={"attempts": 1, "advised": True}),
    ]  # fmt: skip

    async def fill() -> None:
        store = open_store(str(db))
        batch = WriteBatch(records=[SessionRecord(session="bot-01"), SessionRecord(session="customer-support-eu-7")],
                           audit=entries)  # fmt: skip
        await store.apply(batch)
        await store.close()

    asyncio.run(fill())
    result = CliRunner().invoke(main, ["status", "--store", str(db)])
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if line.startswith("  2026-")]
    assert len(rows) == 2
    assert rows[0].index("peer_reset") == rows[1].index("regeneration_succeeded (advised)")
    assert rows[0].index("peer=p1") == rows[1].index("attempts=1")
