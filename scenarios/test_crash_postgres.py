"""Two workers on one PostgreSQL: SIGKILL either at every kill point, or pause one while the other takes over.

Nothing lost, nothing done twice (the SQLite checks of ``test_crash``), the
survivor takes over within the lease time, and a worker that was fenced off
writes nothing more about the sessions taken from it.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from harness.postgres import HOW_TO_RUN, fresh_schema, server_url
from scenarios.test_crash import check_store, child, read_store

pytestmark = [pytest.mark.crash, pytest.mark.skipif(server_url() is None, reason=HOW_TO_RUN)]

#: PostgresStore's default lease
LEASE = timedelta(seconds=30)
#: an alert that came due while the session's owner was dead fires when a survivor takes the session over:
#: at worst one cleanup claim (a cleanup interval, 300 s) and a lease after it was due
TAKEOVER = timedelta(seconds=300) + LEASE + timedelta(seconds=15)


@pytest.fixture
def url() -> str:
    """A fresh schema on the test server for one shared database."""
    server = server_url()
    assert server is not None
    return fresh_schema(server, "crash")


def worker(url: str, clock: Path, owner: str, *args: str) -> subprocess.CompletedProcess[str]:
    return child(url, "--clock-file", str(clock), "--owner", owner, *args)


def leases(url: str) -> dict[str, tuple[str, int]]:
    import psycopg

    with psycopg.connect(url) as db:
        return {s: (o, int(e)) for s, o, e in db.execute("SELECT session, owner, epoch FROM leases").fetchall()}


def last_time(url: str, clock: Path) -> datetime:
    """The latest time the store (or the dead worker's clock file) holds."""
    stored, entries, kept = read_store(url)
    times = [e.at for e in entries] + [q.at for q in kept] + [r.updated_at for r in stored if r.updated_at]
    if clock.exists():
        times.append(datetime.fromisoformat(clock.read_text()))
    return max(times)


def pending(url: str) -> set[str]:
    """Sessions with work outstanding in the store: mid-regeneration, unhealthy, or corrupted and not yet disconnected."""
    stored, entries, _ = read_store(url)
    out = set()
    for r in stored:
        disconnected = any(e.session == r.session and e.kind == "disconnected" for e in entries)
        if r.status in ("regenerating", "unhealthy") or (r.status == "corrupted" and not disconnected):
            out.add(r.session)
    return out


def check_failover(url: str, before: datetime, held: dict[str, tuple[str, int]], waiting: set[str]) -> int:
    """The dead worker's sessions with work outstanding were taken over (a new epoch) within the lease time:
    one lease after its last write, plus the restart (1 s), the time for the session to fail again (10 s)
    and a step. Returns how many were taken over."""
    stored, entries, _ = read_store(url)
    written = {r.session: r.updated_at for r in stored if r.updated_at is not None and r.updated_at > before}
    taken = 0
    for session, (owner, epoch) in leases(url).items():
        if session not in waiting or session not in held:
            continue
        assert owner != held[session][0] and epoch > held[session][1], (session, held[session], (owner, epoch))
        after = [e.at for e in entries if e.session == session and e.at > before]
        first_after = min([*after, written[session]] if session in written else after)
        assert first_after - before <= LEASE + timedelta(seconds=15), (session, first_after - before)
        taken += 1
    return taken


def test_either_worker_sigkilled_at_every_point(url: str, tmp_path: Path, measured: list[dict[str, Any]]) -> None:
    """A is killed at each kill point; B, started right after, takes over its sessions once their leases run
    out (sometimes killed in turn, and A restarted); the store is right and the takeover on time."""
    clock = tmp_path / "count.clock"
    points = json.loads(worker(url, clock, "A").stdout)["points"]
    assert points > 30
    rng = random.Random(2234)
    server = server_url()
    assert server is not None
    takeovers = 0
    # Until a run ends before its kill point: how many points a run passes varies by a few (what a
    # broken session's repeated errors find in the write-behind store depends on real query timing).
    for kill_at in itertools.count(1):
        db, clock = fresh_schema(server, "crash"), tmp_path / f"kill-{kill_at}.clock"
        first = worker(db, clock, "A", "--kill-at", str(kill_at))
        if first.returncode == 0 and kill_at > points * 0.8:
            break
        assert first.returncode == -signal.SIGKILL, (kill_at, first.stderr)
        before, held, waiting = last_time(db, clock), leases(db), pending(db)
        last = "B"
        if kill_at % 3 == 0:  # the survivor dies too, while taking over; A comes back
            second = worker(db, clock, "B", "--kill-at", str(rng.randint(1, 12)))
            assert second.returncode in (0, -signal.SIGKILL), second.stderr
            last = "A"
        final = worker(db, clock, last, "--until", "2400")
        assert final.returncode == 0, (kill_at, final.stderr)
        check_store(db, TAKEOVER)
        if kill_at % 3 != 0:
            takeovers += check_failover(db, before, held, waiting)
    assert takeovers > 0
    measured.append({"postgres_kill_points": kill_at - 1, "postgres_takeovers": takeovers})


def test_a_paused_worker_is_fenced_off(url: str, tmp_path: Path) -> None:
    """A is frozen (SIGSTOP) mid-incident, B takes over, A resumes: A's writes about B's sessions under B's
    epoch are refused (A may only take a session back, with a new epoch, once B's lease has run out)."""
    server = server_url()
    assert server is not None
    refused = 0
    for stop_at in range(4, 50, 5):
        db, clock = fresh_schema(server, "pause"), tmp_path / f"stop-{stop_at}.clock"
        command = [sys.executable, "-m", "harness.crash_child", db, "--clock-file", str(clock), "--owner", "A"]
        frozen = subprocess.Popen(
            [*command, "--stop-at", str(stop_at)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            _, status = os.waitpid(frozen.pid, os.WUNTRACED)
            if not os.WIFSTOPPED(status):  # the run ended before that kill point
                frozen.returncode = os.waitstatus_to_exitcode(status)
                continue
            survivor = worker(db, clock, "B", "--until", "2400")
            assert survivor.returncode == 0, survivor.stderr
            check_store(db, TAKEOVER)
            taken = {s: epoch for s, (owner, epoch) in leases(db).items() if owner == "B"}
            before = read_store(db)
            frozen.send_signal(signal.SIGCONT)
            out, err = frozen.communicate(timeout=60)
            assert frozen.returncode == 0, err
        finally:
            if frozen.poll() is None:
                frozen.kill()
                frozen.wait()
        after, now_held = read_store(db), leases(db)
        for s, epoch in taken.items():
            # Nothing from A about B's sessions under B's epoch. A may take a session over once B's lease has
            # run out on A's clock (B is gone): then its writes come with a newer epoch of its own.
            changed = any(
                [x for x in after[i] if x.session == s] != [x for x in before[i] if x.session == s] for i in range(3)
            )
            assert not changed or (now_held[s][0] == "A" and now_held[s][1] > epoch), (s, epoch, now_held[s])
        check_store(db, TAKEOVER)
        refused += len(set(json.loads(out)["fenced"]) & set(taken))
    assert refused > 0  # A did try, and was refused
