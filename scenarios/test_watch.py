"""sessionmgr watch, as an operator runs it: follow a Baileys log, serve metrics, stop on SIGTERM."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

FAILED_LINE = (
    '{{"level":50,"time":{ms},"key":{{"remoteJid":"55119{n:08d}@s.whatsapp.net","id":"M{n}"}},'
    '"err":{{"type":"SessionError","message":"No matching sessions found for message"}},"msg":"failed to decrypt message"}}'
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(port: int, path: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
        body: bytes = response.read()
        return body.decode()


def bad_mac_count(port: int) -> float:
    for line in get(port, "/metrics").splitlines():
        if line.startswith('sessionmgr_errors_total{category="bad_mac",session="bot-7"}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_appended_lines_move_metrics_and_health_within_a_second(tmp_path: Path) -> None:
    """Appending libsignal's Bad MAC lines and Baileys' 'failed to decrypt message' moves
    sessionmgr_errors_total{category="bad_mac"} and /health within a second; SIGTERM stops it."""
    log = tmp_path / "bot-7.log"
    log.write_text('{"level":30,"time":1700000000000,"msg":"opened connection to WA"}\n')
    port = free_port()
    watcher = subprocess.Popen(
        [sys.executable, "-m", "sessionmgr.cli", "watch", str(log), "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:  # wait for the endpoint
            try:
                get(port, "/health")
                break
            except OSError:
                assert time.monotonic() < deadline and watcher.poll() is None, (
                    watcher.stderr.read() if watcher.stderr else ""
                )
                time.sleep(0.05)
        assert bad_mac_count(port) == 0
        with log.open("a") as handle:
            for n in range(3):
                handle.write("Failed to decrypt message with any known session...\n")
                handle.write("Session error:Error: Bad MAC Error: Bad MAC\n")
                handle.write("    at Object.verifyMAC (/app/node_modules/libsignal/src/crypto.js:87:15)\n")
                handle.write(FAILED_LINE.format(ms=int(time.time() * 1000), n=n) + "\n")
        appended = time.monotonic()
        while bad_mac_count(port) < 3:
            assert time.monotonic() - appended < 1.0, "metrics did not move within a second"
            time.sleep(0.02)
        health = json.loads(get(port, "/health"))
        assert time.monotonic() - appended < 1.0
        assert health["sessions"]["bot-7"]["errors_by_category"] == {"bad_mac": 3}
        assert health["advisory"] is True
        watcher.send_signal(signal.SIGTERM)
        _, err = watcher.communicate(timeout=10)
        assert watcher.returncode == 0, err
        assert "stopped" in err and "resend_requested" in err  # decisions logged, not carried out
    finally:
        if watcher.poll() is None:
            watcher.kill()
