"""Crash safety: SIGKILL the manager at every kill point of an incident, restart it, check the store."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from harness.crash_child import open_target
from sessionmgr.store import AuditEntry, QuarantineEntry, SessionRecord

pytestmark = pytest.mark.crash

FAILING = ("s0", "s1", "s2")
HEALTHY = ("s3", "s4", "s5")


def child(db: str | Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.crash_child", str(db), *args], capture_output=True, text=True, timeout=60
    )


def read_store(target: str | Path) -> tuple[list[SessionRecord], list[AuditEntry], list[QuarantineEntry]]:
    """Everything a store (SQLite path or PostgreSQL URL) holds, through the Store interface."""

    async def read() -> tuple[list[SessionRecord], list[AuditEntry], list[QuarantineEntry]]:
        store = open_target(str(target))
        try:
            return await store.records(), await store.audit(), await store.quarantined()
        finally:
            await store.close()

    return asyncio.run(read())


def check_store(db: str | Path, late_by: timedelta = timedelta(0)) -> None:
    """Consistent, nothing lost, nothing done twice, alerts on time (or, come due while their owner was
    down, at a restart or at most ``late_by`` later: when a survivor took the session over)."""
    stored, entries, kept = read_store(db)
    records = {r.session: r for r in stored}
    audit = [(e.session, e.kind, e.detail, e.at) for e in entries]
    quarantine = Counter(q.session for q in kept)
    kinds = {s: Counter(k for session, k, _, _ in audit if session == s) for s in (*FAILING, *HEALTHY)}
    for s in FAILING:
        status, since, cleaned = records[s].status, records[s].corrupted_since, records[s].cleaned
        assert (status, cleaned) == ("disconnected", True), s
        assert kinds[s]["corrupted"] == 1 and kinds[s]["cleaned"] == 1 and kinds[s]["disconnected"] == 1, (s, kinds[s])
        assert quarantine[s] == 1, s
        fired = [
            at
            for session, k, detail, at in audit
            if session == s and k == "alert_fired" and detail["rule"] == "session_corrupted_too_long"
        ]
        assert since is not None, s
        due = since + timedelta(seconds=600)
        restarts = [at for session, k, _, at in audit if k == "manager_started"]
        # exactly when due, or, if it came due while the manager was down, the moment it restarted
        on_time = fired and (
            fired[0] == due or (fired[0] > due and (fired[0] in restarts or fired[0] - due <= late_by))
        )
        assert len(fired) == 1 and on_time, (s, fired, due)
    mass = [at for _, k, detail, at in audit if k == "alert_fired" and detail["rule"] == "mass_corruption"]
    assert len(mass) == 1, mass  # fires once, restarts or not
    for s in HEALTHY:
        assert records[s].status == "healthy", s
        assert kinds[s]["regeneration_succeeded"] >= 1 and kinds[s]["corrupted"] == 0, s
    for s in (*FAILING, *HEALTHY):
        # every regeneration that started was seen through: none lost mid-way
        depth = 0
        for session, k, _, _ in audit:
            if session == s and k == "regeneration_started":
                depth += 1
            elif session == s and k in ("regeneration_succeeded", "regeneration_failed"):
                depth = 0
        assert depth == 0, s


def test_uninterrupted_run_is_consistent(tmp_path: Path) -> None:
    """The incident, run through without a kill, leaves the store as the checks expect."""
    db = tmp_path / "clean.db"
    result = child(db)
    assert result.returncode == 0, result.stderr
    check_store(db)


def test_sigkill_at_every_point(tmp_path: Path, measured: list[dict[str, Any]]) -> None:
    """Killed at each kill point (and again during some recoveries), restarted, the store is right."""
    points = json.loads(child(tmp_path / "count.db").stdout)["points"]
    assert points > 30
    rng = random.Random(2234)
    tried = 0
    for kill_at in range(1, points + 1):
        db = tmp_path / f"kill-{kill_at}.db"
        first = child(db, "--kill-at", str(kill_at))
        assert first.returncode == -signal.SIGKILL, (kill_at, first.stderr)
        tried += 1
        if kill_at % 3 == 0:  # die again while recovering
            second = child(db, "--kill-at", str(rng.randint(1, 12)))
            assert second.returncode in (0, -signal.SIGKILL), second.stderr
            tried += second.returncode == -signal.SIGKILL
        # long enough for a dead process's cleanup lease (one cleanup period) to run out
        final = child(db, "--until", "2400")
        assert final.returncode == 0, (kill_at, final.stderr)
        check_store(db)
    measured.append({"crash_kill_points_tried": tried, "kill_points_per_run": points})
    print(f"crash safety: {tried} SIGKILLs at {points} distinct kill points")


def test_two_processes_never_clean_the_same_session_twice(tmp_path: Path) -> None:
    """Two managers racing to clean one database each take different sessions, every one exactly once."""
    db = tmp_path / "shared.db"
    assert child(db, "--until", "60").returncode == 0  # three corrupted sessions, not yet cleaned
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM sessions WHERE status = 'corrupted' AND cleaned = 0").fetchone()[0] == 3
    conn.close()
    command = [sys.executable, "-m", "harness.crash_child", str(db), "--mode", "cleanup", "--real-delay", "0.05"]
    racers = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=60) for p in racers]
    assert all(p.returncode == 0 for p in racers), [o[1] for o in outputs]
    cleaned = [json.loads(out)["cleaned"] for out, _ in outputs]
    assert sorted(cleaned[0] + cleaned[1]) == list(FAILING)  # each session by exactly one of them
    conn = sqlite3.connect(db)
    assert dict(conn.execute("SELECT session, count(*) FROM quarantine GROUP BY session").fetchall()) == dict.fromkeys(
        FAILING, 1
    )
    assert dict(
        conn.execute("SELECT session, count(*) FROM audit WHERE kind = 'cleaned' GROUP BY session").fetchall()
    ) == dict.fromkeys(FAILING, 1)
    conn.close()
