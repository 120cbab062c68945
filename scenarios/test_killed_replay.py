"""A replay killed half way: what it had decided is in the store, and status shows it."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.replay import generate

pytestmark = pytest.mark.crash


def test_status_shows_what_a_killed_replay_decided(tmp_path: Path) -> None:
    """SIGKILL a replay mid-way; its decisions so far are readable with sessionmgr status."""
    trace = tmp_path / "big.trace.jsonl"
    generate(trace, 150_000)
    db = tmp_path / "replay.db"
    replay = subprocess.Popen(
        [sys.executable, "-m", "sessionmgr.cli", "replay", str(trace), "--store", str(db), "-q"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    decided = 0
    while time.monotonic() < deadline and replay.poll() is None:
        if db.exists():
            try:
                with sqlite3.connect(db) as conn:
                    decided = conn.execute("SELECT count(*) FROM audit WHERE kind = 'resend_requested'").fetchone()[0]
            except sqlite3.OperationalError:
                decided = 0  # tables not created yet
        if decided >= 50:
            break
        time.sleep(0.02)
    assert replay.poll() is None, "the replay finished before it could be killed; generate a longer trace"
    replay.send_signal(signal.SIGKILL)
    replay.wait(timeout=10)
    assert replay.returncode == -signal.SIGKILL
    status = subprocess.run(
        [sys.executable, "-m", "sessionmgr.cli", "status", "--store", str(db), "--audit", "5"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert lines[0].startswith("session  status")
    assert any(line.startswith("bot-") for line in lines[1:])
    assert "latest decisions" in status.stdout
