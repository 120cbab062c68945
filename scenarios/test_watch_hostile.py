"""sessionmgr watch under a hostile log: bad lines counted as they come, a truncated-and-refilled file read whole,
and a path that can no longer be read shown on /health."""

from __future__ import annotations

import asyncio
import gzip
import os
import time
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from scenarios.helpers import until
from scenarios.test_watch import FAILED_LINE
from sessionmgr.monitoring.http import MonitoringServer, health_document
from sessionmgr.monitoring.watch import watch

pytestmark = pytest.mark.asyncio


def metric(server: MonitoringServer, prefix: str) -> float:
    for line in generate_latest(server.metrics.registry).decode().splitlines():
        if line.startswith(prefix):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_bad_lines_truncation_and_an_unreadable_path_under_watch(tmp_path: Path) -> None:
    """A bad line is counted at once; 80 lines written over a truncated file all arrive; a directory at the path degrades /health."""
    log = tmp_path / "bot-9.log"
    ms = int(time.time() * 1000)
    log.write_text("".join(FAILED_LINE.format(ms=ms, n=n) + "\n" for n in range(40)))  # skipped: there before
    stop = asyncio.Event()
    servers: list[MonitoringServer] = []
    task = asyncio.create_task(watch([log], port=0, poll=0.01, stop=stop, on_ready=servers.append))
    try:
        await until(lambda: servers, "the server to listen")
        server = servers[0]
        errors = 'sessionmgr_errors_total{category="session_mismatch",session="bot-9"}'
        with log.open("a") as handle:
            handle.write("{not json\n" + FAILED_LINE.format(ms=ms, n=100) + "\n")
        await until(lambda: metric(server, errors) == 1, "the failure after the bad line")
        rejected = 'sessionmgr_rejected_lines_total{file="' + str(log) + '",reason="not valid JSON"}'
        await until(lambda: metric(server, rejected) == 1, "the bad line counted")
        # truncated and refilled past its old size before the follower looks again
        log.write_text("".join(FAILED_LINE.format(ms=ms + 1, n=200 + n) + "\n" for n in range(80)))
        await until(lambda: metric(server, errors) == 81, "all 80 lines of the refilled file")
        document = health_document(server.manager, server.followers)
        assert document["followers"][0]["truncations"] == 1 and document["followers"][0]["reason"] is None
        log.rename(tmp_path / "bot-9.log.1")
        log.mkdir()

        def reasons() -> list[str]:
            return list(health_document(server.manager, server.followers)["reasons"])

        await until(lambda: any("cannot read" in r for r in reasons()), "/health to name the file")
        assert f"{log}: cannot read: OSError: not a regular file" in reasons()
        assert health_document(server.manager, server.followers)["followers"][0]["status"] == "degraded"
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def test_a_fifo_and_a_damaged_gz_among_the_matches_do_not_stop_the_others(tmp_path: Path) -> None:
    """A glob matching a FIFO and a cut-short .gz still follows the good file; /health names the FIFO."""
    (tmp_path / "bot-1.log").write_bytes(gzip.compress(FAILED_LINE.format(ms=1, n=1).encode() * 50)[:40])
    os.mkfifo(tmp_path / "bot-2.log")
    good = tmp_path / "bot-3.log"
    good.write_text("")
    stop = asyncio.Event()
    servers: list[MonitoringServer] = []
    task = asyncio.create_task(watch([tmp_path / "bot-*.log"], port=0, poll=0.01, stop=stop, on_ready=servers.append))
    try:
        await until(lambda: servers, "the server to listen")
        server = servers[0]
        with good.open("a") as handle:
            handle.write(FAILED_LINE.format(ms=int(time.time() * 1000), n=7) + "\n")
        await until(lambda: server.manager.sessions() == ["bot-3"], "the good file's line")
        reasons = health_document(server.manager, server.followers)["reasons"]
        assert f"{tmp_path / 'bot-2.log'}: cannot read: OSError: not a regular file" in reasons
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
