"""``sessionmgr watch``: follow live logs, advise, and export metrics and health."""

from __future__ import annotations

import asyncio
import contextlib
import glob
import logging
import os
import signal
import stat
import threading
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from sessionmgr.backend import MockBackend
from sessionmgr.events import Event
from sessionmgr.manager import SessionManager
from sessionmgr.monitoring.followers import FollowedFile, RejectLog
from sessionmgr.monitoring.http import MonitoringServer, monitoring
from sessionmgr.monitoring.logsink import LoggingSink
from sessionmgr.policy import Policy
from sessionmgr.pseudonym import Pseudonymizer
from sessionmgr.store import Store
from sessionmgr.trace.detect import Format, detect_path
from sessionmgr.trace.follow import Follower
from sessionmgr.trace.readers import Reader

__all__ = ["is_pattern", "matching", "watch"]

_log = logging.getLogger("sessionmgr.watch")


def is_pattern(path: Path) -> bool:
    """Whether ``path`` is a glob pattern (``logs/bot-*.log``, quoted as systemd passes it)."""
    return any(c in str(path) for c in "*?[")


def matching(paths: list[Path]) -> list[Path]:
    """Each literal path as given (followed even before it exists); each pattern as the files it matches now."""
    out: list[Path] = []
    for path in paths:
        if is_pattern(path):
            out += [Path(m) for m in sorted(glob.glob(str(path))) if not Path(m).is_dir()]
        elif path not in out:
            out.append(path)
    return out


def _detect(path: Path, requested: Format) -> Format:
    """The format to follow ``path`` in; a file unreadable now is guessed ``baileys`` (its follower says why)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return "baileys" if requested == "auto" else requested  # opening a FIFO to peek would block
        return detect_path(path, requested)
    except (OSError, EOFError, zlib.error):  # unreadable, or a damaged .gz: /health reports the follower's error
        return "baileys" if requested == "auto" else requested


async def watch(
    paths: list[Path],
    *,
    format: Format = "auto",
    session: str | None = None,
    session_field: str | None = None,
    host: str = "127.0.0.1",
    port: int = 9464,
    token: str | None = None,
    store: Store | None = None,
    policy: Policy | None = None,
    from_start: bool = False,
    poll: float = 0.2,
    rescan: float = 1.0,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[MonitoringServer], None] | None = None,
    pseudonymizer: Pseudonymizer | None = None,
    subscribers: Sequence[Callable[[Event], None]] = (),
) -> SessionManager:
    """Follow ``paths`` until ``stop`` is set (or SIGTERM/SIGINT); returns the manager for inspection.

    A path may be a glob pattern: the files it matches are followed, and every
    ``rescan`` seconds files that have come to match it since are followed too
    (from their start: all they hold is new). The manager is advisory: its
    decisions are logged and exported, never carried out.
    """
    loop = asyncio.get_running_loop()
    stop = stop or asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        # not the main thread, or no signals on this platform: the caller stops us instead
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    manager = SessionManager(MockBackend(), policy=policy, store=store, advisory=True, pseudonymizer=pseudonymizer)
    manager.bus.subscribe(LoggingSink(logging.getLogger("sessionmgr.events"), manager.pseudonymizer))
    for subscriber in subscribers:  # alert sinks (a webhook), as the caller chose
        manager.bus.subscribe(subscriber)
    halt = threading.Event()
    files: list[FollowedFile] = []
    # called on reader threads too: the loop's time, not the manager's clock (which asks for the running loop)
    reject_log = RejectLog(loop.time, manager.pseudonymizer)

    def file_health() -> list[dict[str, Any]]:
        return [f.health() for f in list(files)]

    def observe(event: Event) -> None:
        loop.call_soon_threadsafe(manager.observe_nowait, event)

    async with (
        manager,
        monitoring(manager, host=host, port=port, token=token, followers=file_health) as server,
    ):
        if on_ready is not None:
            on_ready(server)
        followed: set[Path] = set()

        def on_reject(file: str, line: int, kind: str, count: int) -> None:
            server.metrics.rejected(file, kind, count)
            reject_log.add(file, line, kind, count)

        def follow_new(read_from_start: bool) -> None:
            for path in matching(paths):
                if path in followed:
                    continue
                followed.add(path)
                fmt = _detect(path, format)

                def make_reader(lines: Iterator[str], path: Path = path, fmt: Format = fmt) -> Reader:
                    return Reader(path, format=fmt, session=session, session_field=session_field, lines=lines,
                                  guessed=format == "auto")  # fmt: skip

                follower = Follower(path, from_start=read_from_start)
                file = FollowedFile(path, follower, make_reader, observe, on_reject, halt=halt, poll=poll,
                                    pseudonymizer=manager.pseudonymizer)  # fmt: skip
                files.append(file)
                file.start()
                _log.info("following %s as %s", manager.pseudonymizer.path(str(path)), fmt)

        follow_new(from_start)
        patterns = [p for p in paths if is_pattern(p)]
        for pattern in patterns:
            _log.info("following files that match %s (checked every %g s)", pattern, rescan)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=rescan)
            if not stop.is_set() and patterns:
                follow_new(True)
            reject_log.flush()
        halt.set()
        await asyncio.gather(*(asyncio.to_thread(f.thread.join, 5) for f in files if f.thread is not None))
        await asyncio.sleep(0)  # events handed over just before the stop are taken
    reject_log.flush(force=True)
    for file in files:
        totals = file.totals()
        if totals["rejected"]:
            _log.warning("%s: %d of %d lines could not be read", file.name,
                         totals["rejected"], totals["lines"])  # fmt: skip
    return manager
