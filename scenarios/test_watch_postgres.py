"""Two ``sessionmgr watch`` on the same logs and one PostgreSQL: every decision is recorded once."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from harness.postgres import HOW_TO_RUN, fresh_schema, server_url
from scenarios.test_watch import free_port, get
from sessionmgr.store.postgres import PostgresStore

pytestmark = pytest.mark.skipif(server_url() is None, reason=HOW_TO_RUN)

BAD_MAC = (
    '{{"level":50,"time":{ms},"key":{{"remoteJid":"55119{peer:08d}@s.whatsapp.net","id":"M{n}"}},'
    '"err":{{"type":"SessionError","message":"Bad MAC"}},"msg":"failed to decrypt message"}}'
)


def write_log(path: Path) -> None:
    """Enough Bad MACs from a few peers for resends, peer resets and a regeneration."""
    lines = ['{"level":30,"time":1700000000000,"msg":"opened connection to WA"}']
    now = int(time.time() * 1000)
    lines += [BAD_MAC.format(ms=now + n, peer=n % 3, n=n) for n in range(40)]
    path.write_text("\n".join(lines) + "\n")


def decisions(url: str) -> Counter[tuple[str, str]]:
    """(session, kind) of every decision about a session in the store's audit log."""

    async def read() -> Counter[tuple[str, str]]:
        store = PostgresStore(url)
        try:
            return Counter((e.session, e.kind) for e in await store.audit() if e.session != "*")
        finally:
            await store.close()

    return asyncio.run(read())


def run_watchers(log: Path, url: str, count: int) -> list[str]:
    """``count`` watchers on ``log`` until each has read it all (its /health shows 40 errors); their stderr."""
    ports = [free_port() for _ in range(count)]
    command = [sys.executable, "-m", "sessionmgr.cli", "watch", str(log), "--from-start", "--store", url]
    watchers = [
        subprocess.Popen([*command, "--listen", f"127.0.0.1:{port}"], stderr=subprocess.PIPE, text=True)
        for port in ports
    ]
    try:
        deadline = time.monotonic() + 30
        for port, watcher in zip(ports, watchers, strict=True):
            while True:
                try:
                    if 'sessionmgr_errors_total{category="bad_mac",session="bot"} 40.0' in get(port, "/metrics"):
                        break
                except OSError:
                    pass  # not listening yet
                assert time.monotonic() < deadline and watcher.poll() is None, "watcher did not read the log"
                time.sleep(0.05)
        time.sleep(0.5)  # real time: the write-behind journal commits within a loop step
        for watcher in watchers:
            watcher.send_signal(signal.SIGTERM)
        errs = [w.communicate(timeout=15)[1] for w in watchers]
        assert all(w.returncode == 0 for w in watchers), errs
        return errs
    finally:
        for watcher in watchers:
            if watcher.poll() is None:
                watcher.kill()
                watcher.wait()


def test_two_watchers_record_each_decision_once(tmp_path: Path) -> None:
    """Run twice on the same logs and database, the decisions are those one watcher alone records, once each;
    the watcher that lost the session says so."""
    server = server_url()
    assert server is not None
    log = tmp_path / "bot.log"
    write_log(log)
    alone = fresh_schema(server, "watch1")
    run_watchers(log, alone, 1)
    reference = decisions(alone)
    assert reference[("bot", "regeneration_started")] >= 1 and reference[("bot", "resend_requested")] >= 1
    shared = fresh_schema(server, "watch2")
    errs = run_watchers(log, shared, 2)
    assert decisions(shared) == reference
    assert sum("owned by another worker" in err for err in errs) == 1, errs
