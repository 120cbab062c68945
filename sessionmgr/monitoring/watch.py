"""``sessionmgr watch``: follow live logs, advise, and export metrics and health."""

from __future__ import annotations

import asyncio
import contextlib
import glob
import logging
import signal
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from sessionmgr.backend import MockBackend
from sessionmgr.events import Event
from sessionmgr.manager import SessionManager
from sessionmgr.monitoring.http import MonitoringServer, monitoring
from sessionmgr.monitoring.logsink import LoggingSink
from sessionmgr.policy import Policy
from sessionmgr.pseudonym import Pseudonymizer
from sessionmgr.store import Store
from sessionmgr.trace.detect import Format, detect_path
from sessionmgr.trace.follow import follow
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
    readers: list[Reader] = []

    def pump(reader: Reader) -> None:
        try:
            for located in reader:
                loop.call_soon_threadsafe(manager.observe_nowait, located.event)
        except Exception:  # a reader must not die silently
            _log.exception("stopped following %s", reader.path)

    async with manager, monitoring(manager, host=host, port=port, token=token) as server:
        if on_ready is not None:
            on_ready(server)
        threads: list[threading.Thread] = []
        followed: set[Path] = set()

        def follow_new(read_from_start: bool) -> None:
            for path in matching(paths):
                if path in followed:
                    continue
                followed.add(path)
                fmt = detect_path(path, format)
                lines = follow(path, halt, poll=poll, from_start=read_from_start)
                reader = Reader(path, format=fmt, session=session, session_field=session_field, lines=lines,
                                guessed=format == "auto")  # fmt: skip
                readers.append(reader)
                thread = threading.Thread(target=pump, args=(reader,), name=f"follow {path.name}", daemon=True)
                thread.start()
                threads.append(thread)
                _log.info("following %s as %s", manager.pseudonymizer.path(str(path)), fmt)

        follow_new(from_start)
        patterns = [p for p in paths if is_pattern(p)]
        for pattern in patterns:
            _log.info("following files that match %s (checked every %g s)", pattern, rescan)
        while not stop.is_set():
            if not patterns:
                await stop.wait()
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=rescan)
            if not stop.is_set():
                follow_new(True)
        halt.set()
        await asyncio.gather(*(asyncio.to_thread(t.join, 5) for t in threads))
        await asyncio.sleep(0)  # events handed over just before the stop are taken
    for reader in readers:
        if reader.stats.rejected_count:
            first = reader.stats.rejected[0]
            _log.warning("%s: %d lines could not be read, first: line %s: %s", manager.pseudonymizer.path(reader.path),
                         reader.stats.rejected_count, first["line"], first["reason"])  # fmt: skip
    return manager
