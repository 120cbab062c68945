"""`sessionmgr watch --webhook`: alerts reach a real HTTP receiver on loopback, with the token from the environment."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from sessionmgr.cli import main

PHONE = "5511987654321"  # a Baileys session named after its bot's number
FAILED_LINE = (
    '{{"level":50,"time":{ms},"key":{{"remoteJid":"55119{n:08d}@s.whatsapp.net","id":"M{n}"}},'
    '"err":{{"type":"SessionError","message":"Bad MAC"}},"msg":"failed to decrypt message"}}'
)


class _Receiver(ThreadingHTTPServer):
    """An HTTP server on loopback that keeps each POST's headers and JSON body."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.posts: list[tuple[dict[str, str], dict[str, object]]] = []
        self.received = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/sessionmgr?key=secret-in-query"


class _Handler(BaseHTTPRequestHandler):
    server: _Receiver

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.posts.append((dict(self.headers.items()), body))
        self.server.received.set()
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    server = _Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_watch_posts_a_firing_alert_to_the_webhook_with_the_token_from_the_environment(
    tmp_path: Path, receiver: _Receiver
) -> None:
    """watch --webhook POSTs the error-rate alert, pseudonymized, with the bearer token and idempotency key."""
    log = tmp_path / f"{PHONE}.log"
    now = int(time.time() * 1000)
    log.write_text("".join(FAILED_LINE.format(ms=now + n, n=n) + "\n" for n in range(3)))
    env = os.environ | {
        "SESSIONMGR_WEBHOOK_TOKEN": "s3cret",
        "SESSIONMGR_HEALTH_CHECK_INTERVAL": "0.1",  # the error rate is judged at each health tick
        "SESSIONMGR_ALERT_ERROR_RATE_MIN_ATTEMPTS": "1",
    }
    command = [sys.executable, "-m", "sessionmgr.cli", "watch", str(log), "--from-start", "--listen", "127.0.0.1:0",
               "--webhook", receiver.url]  # fmt: skip
    watcher = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert receiver.received.wait(timeout=60), "no alert reached the webhook"
        watcher.send_signal(signal.SIGTERM)
        _, err = watcher.communicate(timeout=30)
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()
    assert watcher.returncode == 0, err
    headers, body = receiver.posts[0]
    assert headers["Authorization"] == "Bearer s3cret"
    assert headers["Content-Type"] == "application/json"
    assert headers["Idempotency-Key"] == body["id"]
    assert body["rule"] == "crypto_error_rate_high" and body["status"] == "firing"
    assert isinstance(body["session"], str) and body["session"].startswith("session-")
    assert PHONE not in json.dumps(receiver.posts)
    assert "s3cret" not in err and "secret-in-query" not in err  # neither the token nor the URL's secret is logged


def test_a_webhook_that_is_not_http_is_a_usage_error(tmp_path: Path) -> None:
    """--webhook with another scheme (a file, a typo) is refused before watch starts, naming the option."""
    result = CliRunner().invoke(main, ["watch", str(tmp_path / "bot.log"), "--webhook", "file:///etc/passwd"])
    assert result.exit_code == 2
    assert "--webhook" in result.output and "http:// or https://" in result.output


def test_help_says_where_the_token_comes_from() -> None:
    """watch --help documents --webhook, its environment variables and --webhook-timeout."""
    result = CliRunner().invoke(main, ["watch", "--help"], terminal_width=200)
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for phrase in ("--webhook URL", "SESSIONMGR_WEBHOOK_URL", "SESSIONMGR_WEBHOOK_TOKEN", "--webhook-timeout SECONDS"):
        assert phrase in text
