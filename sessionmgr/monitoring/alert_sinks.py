"""Where alerts go besides the log: a Python callback, or a webhook that never blocks the manager."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
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
    payload: dict[str, Any] = {
        "rule": event.rule,
        "session": pseudonymizer.session(event.session),
        "status": "firing" if isinstance(event, AlertFired) else "resolved",
        "at": iso_z(event.at),
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


async def _urllib_post(url: str, body: bytes, timeout: float) -> int:
    def send() -> int:
        request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)

    return await asyncio.get_running_loop().run_in_executor(None, send)


class WebhookSink:
    """POSTs each alert as JSON to ``url``: queued, sent off the event loop, retried with backoff.

    Publishing never waits on the network; a full queue drops the oldest alert
    with a warning, and a webhook that keeps failing is logged, never raised.
    ``post`` is injectable (the default uses urllib on a worker thread).
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
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.policy = policy or Policy(max_attempts=4, base_delay=1.0, backoff_factor=2.0)
        self.clock = clock or LoopClock()
        self.pseudonymizer = pseudonymizer or Pseudonymizer()
        self._post = post or _urllib_post
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=queue_size)
        self._worker: asyncio.Task[None] | None = None
        self.sent = 0
        self.failed = 0

    async def __aenter__(self) -> WebhookSink:
        self._worker = asyncio.create_task(self._run(), name="sessionmgr-webhook")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.flush()
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)

    async def flush(self) -> None:
        """Wait until every queued alert was sent or given up on."""
        await self._queue.join()

    def __call__(self, event: Event) -> None:
        if not isinstance(event, AlertFired | AlertResolved):
            return
        if self._queue.full():
            dropped = self._queue.get_nowait()
            self._queue.task_done()
            _log.warning("webhook queue full: dropped alert %s for %s", dropped["rule"], dropped["session"])
        self._queue.put_nowait(alert_payload(event, self.pseudonymizer))

    async def _run(self) -> None:
        while True:
            payload = await self._queue.get()
            body = json.dumps(payload).encode()
            try:
                await retry_crypto_operation(
                    functools.partial(self._send, body), policy=self.policy, clock=self.clock, name="webhook"
                )
                self.sent += 1
            except RetriesExhausted as exc:
                self.failed += 1
                _log.warning("webhook %s failed for alert %s: %s", self.url, payload["rule"], exc.last)
            finally:
                self._queue.task_done()

    async def _send(self, body: bytes) -> None:
        status = await asyncio.wait_for(self._post(self.url, body, self.timeout), self.timeout + 1)
        if not 200 <= status < 300:
            raise ConnectionError(f"HTTP {status}")
