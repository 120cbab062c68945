"""Where alerts go besides the log: a Python callback, or a webhook that never blocks the manager."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sessionmgr.clock import Clock, LoopClock, iso_z
from sessionmgr.events import AlertFired, AlertResolved, Event
from sessionmgr.policy import Policy
from sessionmgr.pseudonym import Pseudonymizer
from sessionmgr.retry import RetriesExhausted, retry_crypto_operation

__all__ = ["AlertCallback", "WebhookSink", "alert_payload"]

_log = logging.getLogger("sessionmgr.alerts")

Post = Callable[[str, bytes, float], Awaitable[int]]


def alert_payload(event: AlertFired | AlertResolved, pseudonymizer: Pseudonymizer) -> dict[str, Any]:
    """An alert as the JSON a webhook receives."""
    session = pseudonymizer.session(event.session)
    status = "firing" if isinstance(event, AlertFired) else "resolved"
    at = iso_z(event.at)
    payload: dict[str, Any] = {
        # One transition of one alert has one id, however often it is posted: a receiver
        # de-duplicates retries and redeliveries on it (also sent as the Idempotency-Key header).
        "id": hashlib.sha256(f"{event.rule}|{session}|{status}|{at}".encode()).hexdigest()[:32],
        "rule": event.rule,
        "session": session,
        "status": status,
        "at": at,
    }
    if isinstance(event, AlertFired):
        payload |= {"value": event.value, "message": event.message}
    return payload


class AlertCallback:
    """Calls ``callback(event)`` for every alert that fires or resolves."""

    def __init__(self, callback: Callable[[AlertFired | AlertResolved], None]) -> None:
        self.callback = callback

    def __call__(self, event: Event) -> None:
        if isinstance(event, AlertFired | AlertResolved):
            self.callback(event)


async def _urllib_post(url: str, body: bytes, timeout: float, *, extra: Mapping[str, str] | None = None) -> int:
    headers = {"Content-Type": "application/json", "Idempotency-Key": str(json.loads(body).get("id", ""))}
    headers |= extra or {}

    def send() -> int:
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)

    return await asyncio.get_running_loop().run_in_executor(None, send)


class WebhookSink:
    """POSTs each alert as JSON to ``url``: queued, sent off the event loop, retried with backoff.

    Publishing never waits on the network; a full queue drops the oldest alert
    (one warning when dropping starts, the total at shutdown), and a webhook that
    keeps failing is logged, never raised. A server error (5xx) or a network error
    is retried; a 4xx is not, since sending the same body again cannot help.
    Shutdown waits at most ``shutdown_timeout`` seconds for queued alerts, then
    gives up on the rest and says how many. Each payload carries an ``id``, the
    same for every post of one alert transition. ``headers`` are added to each
    POST (an ``Authorization`` for the receiver). ``post`` is injectable (the
    default uses urllib on a worker thread, and is the one that sends ``headers``).
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 5.0,
        policy: Policy | None = None,
        clock: Clock | None = None,
        pseudonymizer: Pseudonymizer | None = None,
        post: Post | None = None,
        queue_size: int = 256,
        shutdown_timeout: float = 10.0,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.url = url
        # logs name the receiver by scheme, host and port only: a path or query often holds its secret
        parts = urllib.parse.urlsplit(url)
        self._shown = f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        self.timeout = timeout
        self.policy = policy or Policy(max_attempts=4, base_delay=1.0, backoff_factor=2.0)
        self.clock = clock or LoopClock()
        self.pseudonymizer = pseudonymizer or Pseudonymizer()
        self._post = post or functools.partial(_urllib_post, extra=dict(headers or {}))
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=queue_size)
        self._worker: asyncio.Task[None] | None = None
        self._in_flight = 0
        self._queue_full_drops = 0
        self.shutdown_timeout = shutdown_timeout
        self.sent = 0
        self.failed = 0
        #: alerts dropped because the queue was full, or still queued when shutdown gave up
        self.dropped = 0

    async def __aenter__(self) -> WebhookSink:
        self._worker = asyncio.create_task(self._run(), name="sessionmgr-webhook")
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            await asyncio.wait_for(self.flush(), self.shutdown_timeout)
        except TimeoutError:
            # in flight plus still queued: the worker is cancelled below, so none of these will be sent
            abandoned = self._queue.qsize() + self._in_flight
            self.dropped += abandoned
            _log.warning(
                "webhook %s: gave up on %d alert(s) still unsent after %.0f s at shutdown",
                self._shown,
                abandoned,
                self.shutdown_timeout,
            )
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
        if self._queue_full_drops:
            _log.warning(
                "webhook %s: dropped %d alert(s) in all because the queue was full", self._shown, self._queue_full_drops
            )

    async def flush(self) -> None:
        """Wait until every queued alert was sent or given up on."""
        await self._queue.join()

    def __call__(self, event: Event) -> None:
        if not isinstance(event, AlertFired | AlertResolved):
            return
        if self._queue.full():
            dropped = self._queue.get_nowait()
            self._queue.task_done()
            self.dropped += 1
            self._queue_full_drops += 1
            if self._queue_full_drops == 1:  # one line, not one per alert: a storm must not flood the log
                _log.warning(
                    "webhook queue full: dropping the oldest alerts (first: %s for %s); total logged at shutdown",
                    dropped["rule"],
                    dropped["session"],
                )
        self._queue.put_nowait(alert_payload(event, self.pseudonymizer))

    async def _run(self) -> None:
        while True:
            payload = await self._queue.get()
            self._in_flight = 1
            body = json.dumps(payload).encode()
            try:
                await retry_crypto_operation(
                    functools.partial(self._send, body),
                    policy=self.policy,
                    clock=self.clock,
                    name="webhook",
                    retry_on=(OSError, TimeoutError),  # network and 5xx; a 4xx (_Refused) is final
                )
                self.sent += 1
            except RetriesExhausted as exc:
                self.failed += 1
                _log.warning("webhook %s failed for alert %s: %s", self._shown, payload["rule"], exc.last)
            except _Refused as exc:
                self.failed += 1
                _log.warning("webhook %s refused alert %s: %s", self._shown, payload["rule"], exc)
            finally:
                self._in_flight = 0
                self._queue.task_done()

    async def _send(self, body: bytes) -> None:
        status = await asyncio.wait_for(self._post(self.url, body, self.timeout), self.timeout + 1)
        if 400 <= status < 500:
            raise _Refused(f"HTTP {status}")
        if not 200 <= status < 300:
            raise ConnectionError(f"HTTP {status}")


class _Refused(Exception):
    """The receiver refused the alert (4xx); retrying the same body cannot help."""
