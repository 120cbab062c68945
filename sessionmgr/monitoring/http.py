"""The monitoring endpoint: ``/metrics`` (Prometheus text) and ``/health`` (JSON), on asyncio."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Final

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from sessionmgr.manager import SessionManager
from sessionmgr.monitoring.metrics import MetricsSink
from sessionmgr.store import Status

__all__ = ["MonitoringServer", "health_document", "monitoring"]

_log = logging.getLogger("sessionmgr.http")
_REASONS: Final = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    431: "Request Header Fields Too Large",
}
# A scrape needs a handful of short headers. Anything past these bounds is refused before
# authentication, so an unauthenticated client cannot make the server hold its headers.
MAX_HEADERS: Final = 64
MAX_HEADER_BYTES: Final = 16 * 1024


class _HeadersTooLarge(Exception):
    """The request's headers went past MAX_HEADERS or MAX_HEADER_BYTES."""


#: What ``watch`` says about each file it follows (see :meth:`FollowedFile.health`): ``reason`` set when degraded.
Followers = Callable[[], list[dict[str, Any]]]


def health_document(manager: SessionManager, followers: Followers | None = None) -> dict[str, Any]:
    """Each session's health, its error counts by category, the alerts firing now, and followed files if any.

    The status is ``degraded`` when a session is unhealthy or down, an alert fires,
    or a followed file is not read as it should be (``reasons`` says which).
    """
    stats = manager.get_session_stats().sessions
    now_t, now_wall = manager.clock.monotonic(), manager.clock.wall()
    sessions: dict[str, Any] = {}
    for session in sorted(set(manager.sessions()) | set(stats) - {"*"}):
        health = manager.get_session_health(session)
        name = manager.pseudonymizer.session(session)
        sessions[name] = {
            "status": health.status.value,
            "healthy": health.healthy,
            "weighted_errors": health.weighted_errors,
            "errors_in_window": health.errors_in_window,
            "errors_by_category": dict(sorted(stats[session].by_category.items())) if session in stats else {},
            "corrupted_since": health.corrupted_since.isoformat() if health.corrupted_since else None,
        }
    alerts = [
        {
            "rule": a.rule,
            "session": manager.pseudonymizer.session(a.session),
            "fired_at": (now_wall - timedelta(seconds=now_t - a.fired_at)).isoformat(timespec="milliseconds"),
            "message": a.message,
        }
        for a in sorted(manager.active_alerts(), key=lambda a: (a.fired_at, a.rule, a.session))
    ]
    unhealthy = sum(1 for s in sessions.values() if not s["healthy"] or Status(s["status"]).is_down)
    files = followers() if followers is not None else []
    troubled = [f"{f['file']}: {f['reason']}" for f in files if f.get("reason")]
    document: dict[str, Any] = {
        "status": "ok" if not unhealthy and not alerts and not troubled else "degraded",
        "sessions": sessions,
        "alerts": alerts,
        "advisory": manager.advisory,
    }
    if followers is not None:
        document["followers"] = files
        document["reasons"] = (
            [f"{unhealthy} session(s) unhealthy"] * bool(unhealthy)
            + [f"{len(alerts)} alert(s) firing"] * bool(alerts)
            + troubled
        )
    return document


class MonitoringServer:
    """Serves ``/metrics`` and ``/health`` for a manager; loopback unless told otherwise.

    With ``token`` set both endpoints want ``Authorization: Bearer <token>``.
    ``port=0`` picks a free port (read it back from :attr:`port`).
    """

    def __init__(
        self,
        manager: SessionManager,
        metrics: MetricsSink,
        *,
        host: str = "127.0.0.1",
        port: int = 9464,
        token: str | None = None,
        followers: Followers | None = None,
    ) -> None:
        self.manager = manager
        self.followers = followers
        self.metrics = metrics
        self.host = host
        self.port = port
        self.token = token
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> MonitoringServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            status, content_type, body = await asyncio.wait_for(self._respond(reader), timeout=10)
        except _HeadersTooLarge:
            status, content_type, body = 431, "text/plain; charset=utf-8", b"request headers too large\n"
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError, ValueError):
            status, content_type, body = 400, "text/plain; charset=utf-8", b"bad request\n"
        head = [
            f"HTTP/1.1 {status} {_REASONS.get(status, '')}",
            f"Content-Type: {content_type}",
            f"Content-Length: {len(body)}",
            "Connection: close",
        ]
        if status == 401:
            head.append('WWW-Authenticate: Bearer realm="sessionmgr"')
        try:
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def _respond(self, reader: asyncio.StreamReader) -> tuple[int, str, bytes]:
        request_line = (await reader.readline()).decode("latin-1").strip()
        headers: dict[str, str] = {}
        seen_lines = seen_bytes = 0
        while True:
            raw = await reader.readline()
            seen_lines, seen_bytes = seen_lines + 1, seen_bytes + len(raw)
            if seen_lines > MAX_HEADERS or seen_bytes > MAX_HEADER_BYTES:
                raise _HeadersTooLarge
            line = raw.decode("latin-1")
            if line in ("\r\n", "\n", ""):
                break
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        parts = request_line.split()
        if len(parts) != 3:
            raise ValueError("malformed request line")
        method, target, _ = parts
        path = target.split("?", 1)[0]
        if path not in ("/metrics", "/health"):
            return 404, "text/plain; charset=utf-8", b"not found: try /metrics or /health\n"
        if method not in ("GET", "HEAD"):
            return 405, "text/plain; charset=utf-8", b"only GET\n"
        if self.token is not None:
            # the scheme is case-insensitive (RFC 9110 section 11.1); the token is not
            scheme, _, offered = headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(offered.strip().encode(), self.token.encode()):
                return 401, "text/plain; charset=utf-8", b"unauthorized\n"
        if path == "/metrics":
            body = generate_latest(self.metrics.registry)
            return 200, CONTENT_TYPE_LATEST, b"" if method == "HEAD" else body
        document = json.dumps(health_document(self.manager, self.followers), indent=2).encode() + b"\n"
        return 200, "application/json", b"" if method == "HEAD" else document


def monitoring(
    manager: SessionManager,
    *,
    host: str = "127.0.0.1",
    port: int = 9464,
    token: str | None = None,
    followers: Followers | None = None,
) -> MonitoringServer:
    """The ``/metrics`` and ``/health`` endpoint for a manager a program runs itself.

    Subscribes a :class:`MetricsSink` to the manager's bus; use the result as
    ``async with monitoring(manager, port=9464):``.
    """
    metrics = MetricsSink(pseudonymizer=manager.pseudonymizer)
    manager.bus.subscribe(metrics)
    metrics.store_writes(manager.journal)
    return MonitoringServer(manager, metrics, host=host, port=port, token=token, followers=followers)
