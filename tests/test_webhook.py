"""The webhook sink against a real HTTP receiver on loopback: retries, timeouts, never blocking."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from sessionmgr import AlertFired, AlertResolved, Policy, Pseudonymizer
from sessionmgr.monitoring.alert_sinks import AlertCallback, WebhookSink

pytestmark = pytest.mark.asyncio


class Receiver:
    """A minimal HTTP server that records POST bodies and answers with scripted status codes."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.bodies: list[dict[str, object]] = []
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        headers = (await reader.readuntil(b"\r\n\r\n")).decode()
        length = int(next(h.split(":")[1] for h in headers.split("\r\n") if h.lower().startswith("content-length")))
        self.bodies.append(json.loads(await reader.readexactly(length)))
        status = self.statuses.pop(0) if self.statuses else 200
        writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        writer.close()

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


@pytest_asyncio.fixture
async def receiver(request: pytest.FixtureRequest) -> AsyncIterator[Receiver]:
    server = Receiver(list(getattr(request, "param", [])))
    await server.start()
    yield server
    await server.close()


def fired(session: str = "bot-1") -> AlertFired:
    return AlertFired(session=session, rule="regeneration_failed", value=3, message="regeneration failed")


FAST = Policy(max_attempts=3, base_delay=0.01, backoff_factor=2)


@pytest.mark.parametrize("receiver", [[500, 503]], indirect=True)
async def test_retries_until_the_receiver_accepts(receiver: Receiver) -> None:
    """Two server errors, then success: the alert arrives once accepted, as JSON, without raw ids."""
    async with WebhookSink(
        f"http://127.0.0.1:{receiver.port}/hook", policy=FAST, pseudonymizer=Pseudonymizer(b"k")
    ) as sink:
        sink(fired("5511987654321"))
        await sink.flush()
    assert len(receiver.bodies) == 3 and sink.sent == 1 and sink.failed == 0
    body = receiver.bodies[-1]
    assert body["rule"] == "regeneration_failed" and body["status"] == "firing"
    assert "5511987654321" not in json.dumps(body)


async def test_a_dead_webhook_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing listens: every try fails, the failure is logged, the caller never sees it."""
    async with WebhookSink("http://127.0.0.1:9/hook", policy=FAST, timeout=0.5) as sink:
        with caplog.at_level(logging.WARNING, "sessionmgr.alerts"):
            sink(fired())
            await sink.flush()
    assert sink.failed == 1 and "webhook http://127.0.0.1:9 failed" in caplog.text  # no path: it may hold a secret


async def test_publishing_never_waits_and_overflow_drops_oldest(caplog: pytest.LogCaptureFixture) -> None:
    """With a stuck webhook, publishing still returns at once; a full queue drops the oldest alert."""
    gate = asyncio.Event()

    async def stuck(url: str, body: bytes, timeout: float) -> int:
        await gate.wait()
        return 200

    async with WebhookSink("http://x", post=stuck, queue_size=3, timeout=60) as sink:
        sink(fired("bot-0"))
        for _ in range(3):
            await asyncio.sleep(0)  # the worker takes it and hangs on the stuck webhook
        with caplog.at_level(logging.WARNING, "sessionmgr.alerts"):
            for i in range(1, 10):
                sink(fired(f"bot-{i}"))  # returns immediately even though nothing is sent
        assert "webhook queue full" in caplog.text
        gate.set()
        await sink.flush()
    assert sink.sent == 4  # the one in flight and the three newest


async def test_callback_gets_fired_and_resolved() -> None:
    """The callback sink passes on alerts and nothing else."""
    seen: list[str] = []
    sink = AlertCallback(lambda e: seen.append(e.kind))
    sink(fired())
    sink(AlertResolved(session="bot-1", rule="regeneration_failed"))
    from sessionmgr import DecryptOk

    sink(DecryptOk(session="bot-1"))
    assert seen == ["alert_fired", "alert_resolved"]


@pytest.mark.virtual_time
async def test_shutdown_is_bounded_and_says_what_it_gave_up(caplog: pytest.LogCaptureFixture) -> None:
    """A hung receiver holds shutdown for at most shutdown_timeout (virtual) seconds; the rest are counted."""
    gate = asyncio.Event()

    async def hung(url: str, body: bytes, timeout: float) -> int:
        await gate.wait()
        return 200

    loop = asyncio.get_running_loop()
    with caplog.at_level(logging.WARNING, "sessionmgr.alerts"):
        async with WebhookSink("http://x", post=hung, timeout=3600, shutdown_timeout=10) as sink:
            for i in range(5):
                sink(fired(f"bot-{i}"))
            started = loop.time()
    assert loop.time() - started == pytest.approx(10.0)
    assert sink.dropped == 5 and sink.sent == 0
    assert "gave up on 5 alert(s)" in caplog.text


async def test_queue_overflow_warns_once_and_totals_at_shutdown(caplog: pytest.LogCaptureFixture) -> None:
    """A thousand dropped alerts make two warning lines, not a thousand."""
    gate = asyncio.Event()

    async def stuck(url: str, body: bytes, timeout: float) -> int:
        await gate.wait()
        return 200

    with caplog.at_level(logging.WARNING, "sessionmgr.alerts"):
        async with WebhookSink("http://x", post=stuck, queue_size=3, timeout=60) as sink:
            sink(fired("bot-0"))
            for _ in range(3):
                await asyncio.sleep(0)
            for i in range(1, 1001):
                sink(fired(f"bot-{i}"))
            gate.set()
    assert sink.dropped == 997
    lines = [r for r in caplog.records if r.name == "sessionmgr.alerts"]
    assert len(lines) == 2 and "997 alert(s) in all" in lines[1].getMessage()


async def test_every_post_of_one_alert_carries_the_same_id() -> None:
    """Retries of one alert share an id; another alert (or its resolution) has another."""
    bodies: list[dict[str, object]] = []
    answers = [503, 200, 200]

    async def flaky(url: str, body: bytes, timeout: float) -> int:
        bodies.append(json.loads(body))
        return answers.pop(0)

    async with WebhookSink("http://x", post=flaky, policy=Policy(max_attempts=3, base_delay=0.0)) as sink:
        sink(fired("bot-1"))
        sink(AlertResolved(session="bot-1", rule="regeneration_failed"))
    assert [b["status"] for b in bodies] == ["firing", "firing", "resolved"]
    assert bodies[0]["id"] == bodies[1]["id"] != bodies[2]["id"]
    assert isinstance(bodies[0]["id"], str) and len(bodies[0]["id"]) == 32


async def test_a_client_error_is_not_retried(caplog: pytest.LogCaptureFixture) -> None:
    """A 4xx answer is final: the same body would be refused again."""
    calls: list[bytes] = []

    async def refuses(url: str, body: bytes, timeout: float) -> int:
        calls.append(body)
        return 422

    with caplog.at_level(logging.WARNING, "sessionmgr.alerts"):
        async with WebhookSink("http://x", post=refuses, policy=Policy(max_attempts=4, base_delay=0.0)) as sink:
            sink(fired())
    assert len(calls) == 1 and sink.failed == 1
    assert "refused alert regeneration_failed: HTTP 422" in caplog.text
