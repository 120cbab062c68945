"""sessionmgr watch given a quoted glob (as systemd passes it): it follows the matching files,
and a file that comes to match later is picked up too."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from scenarios.helpers import until
from scenarios.test_watch import FAILED_LINE
from sessionmgr.monitoring.http import MonitoringServer
from sessionmgr.monitoring.watch import watch

pytestmark = pytest.mark.asyncio


async def test_a_glob_follows_existing_and_new_matching_files(tmp_path: Path) -> None:
    """Lines appended to bot-01.log (there at start) and to bot-02.log (created later) both reach the manager."""
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "bot-01.log").write_text("")
    stop = asyncio.Event()
    servers: list[MonitoringServer] = []
    task = asyncio.create_task(watch([logs / "bot-*.log"], port=0, poll=0.01, rescan=0.05, stop=stop,
                                     on_ready=servers.append))  # fmt: skip
    await until(lambda: servers, "the server to listen")
    manager = servers[0].manager
    ms = int(time.time() * 1000)
    with (logs / "bot-01.log").open("a") as log:
        log.write(FAILED_LINE.format(ms=ms, n=1) + "\n")
    await until(lambda: manager.sessions() == ["bot-01"], "bot-01's line")
    # unrelated.log exists before bot-02.log: the rescan that finds bot-02.log has seen it too
    (logs / "unrelated.log").write_text(FAILED_LINE.format(ms=ms, n=3) + "\n")
    (logs / "bot-02.log").write_text(FAILED_LINE.format(ms=ms, n=2) + "\n")
    await until(lambda: "bot-02" in manager.sessions(), "bot-02.log, created after the start")
    stop.set()
    assert await asyncio.wait_for(task, 10) is manager
    assert manager.sessions() == ["bot-01", "bot-02"]
