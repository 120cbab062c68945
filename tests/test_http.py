"""The monitoring endpoint with a real HTTP client on loopback."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request

import pytest

from sessionmgr import Category, DecryptError, MockBackend, SessionManager
from sessionmgr.monitoring.http import monitoring

pytestmark = pytest.mark.asyncio


async def get(port: int, path: str, token: str | None = None, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    def fetch() -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    return await asyncio.to_thread(fetch)


async def test_metrics_and_health_change_with_events() -> None:
    """/metrics and /health reflect what the manager has seen."""
    manager = SessionManager(MockBackend())
    async with manager, monitoring(manager, port=0) as server:
        status, headers, body = await get(server.port, "/health")
        assert status == 200 and headers["Content-Type"] == "application/json"
        assert json.loads(body)["status"] == "ok"
        for _ in range(5):
            manager.observe_nowait(DecryptError(session="bot-1", error="Invalid PreKey ID", category=Category.PREKEY))
        status, headers, body = await get(server.port, "/metrics")
        assert status == 200 and headers["Content-Type"].startswith("text/plain")
        assert b'sessionmgr_errors_total{category="prekey",session="bot-1"} 5.0' in body
        health = json.loads((await get(server.port, "/health"))[2])
        assert health["status"] == "degraded"
        assert health["sessions"]["bot-1"]["errors_by_category"] == {"prekey": 5}
        assert health["sessions"]["bot-1"]["healthy"] is False


async def test_bearer_token_and_unknown_paths() -> None:
    """With a token both endpoints want it; other paths and methods are refused plainly."""
    manager = SessionManager(MockBackend())
    async with manager, monitoring(manager, port=0, token="s3cret") as server:
        status, headers, _ = await get(server.port, "/metrics")
        assert status == 401 and "Bearer" in headers["WWW-Authenticate"]
        assert (await get(server.port, "/health", token="wrong"))[0] == 401
        assert (await get(server.port, "/health", token="s3cret"))[0] == 200
        assert (await get(server.port, "/nope", token="s3cret"))[0] == 404
        assert (await get(server.port, "/metrics", token="s3cret", method="POST"))[0] == 405
        head = await get(server.port, "/metrics", token="s3cret", method="HEAD")
        assert head[0] == 200 and head[2] == b""


async def test_listens_on_loopback_by_default() -> None:
    """Unless told otherwise, the endpoint binds to 127.0.0.1 only."""
    manager = SessionManager(MockBackend())
    async with manager, monitoring(manager, port=0) as server:
        assert server.host == "127.0.0.1"
        assert server._server is not None
        assert all(s.getsockname()[0] == "127.0.0.1" for s in server._server.sockets)


async def raw_request(port: int, payload: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(payload)
        await writer.drain()
        return await reader.read()
    except ConnectionError:
        return b""
    finally:
        writer.close()


async def test_endless_headers_are_refused_before_authentication() -> None:
    """A client that sends header after header gets 431 once past the bound, not a server that keeps them."""
    manager = SessionManager(MockBackend())
    async with manager, monitoring(manager, port=0, token="s3cret") as server:
        many = b"".join(b"X-Pad-%d: %s\r\n" % (i, b"a" * 100) for i in range(500))
        answer = await raw_request(server.port, b"GET /metrics HTTP/1.1\r\n" + many + b"\r\n")
        assert answer.startswith(b"HTTP/1.1 431 ")
        assert (await get(server.port, "/health", token="s3cret"))[0] == 200


async def test_bearer_scheme_is_case_insensitive() -> None:
    """``bearer`` and ``BEARER`` are the same scheme as ``Bearer``; the token itself must match exactly."""
    manager = SessionManager(MockBackend())
    async with manager, monitoring(manager, port=0, token="s3cret") as server:
        for scheme in (b"bearer", b"BEARER", b"Bearer"):
            request = b"GET /health HTTP/1.1\r\nAuthorization: " + scheme + b" s3cret\r\n\r\n"
            assert (await raw_request(server.port, request)).startswith(b"HTTP/1.1 200 ")
        wrong = b"GET /health HTTP/1.1\r\nAuthorization: bearer S3CRET\r\n\r\n"
        assert (await raw_request(server.port, wrong)).startswith(b"HTTP/1.1 401 ")
