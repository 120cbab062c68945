"""Retry with exponential backoff: a pure schedule and the loop that follows it."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sessionmgr.clock import Clock
from sessionmgr.policy import Policy

__all__ = ["RetriesExhausted", "backoff_delay", "backoff_schedule", "retry_crypto_operation"]

T = TypeVar("T")


class RetriesExhausted(Exception):
    """Every try failed; ``__cause__`` is the last failure."""

    def __init__(self, operation: str, attempts: int, last: BaseException) -> None:
        self.operation = operation
        self.attempts = attempts
        self.last = last
        super().__init__(f"{operation} failed after {attempts} attempt(s): {type(last).__name__}: {last}")


def backoff_delay(policy: Policy, attempt: int, rng: random.Random | None = None) -> float:
    """The delay after failed try ``attempt`` (1-based): ``base * factor ** (attempt - 1)``.

    Capped by ``policy.max_delay`` and, when ``policy.jitter`` is set, lengthened
    by up to that many seconds drawn from ``rng`` (required then).
    """
    if attempt < 1:
        raise ValueError(f"attempt is 1-based, got {attempt}")
    delay = policy.base_delay * policy.backoff_factor ** (attempt - 1)
    if policy.max_delay is not None:
        delay = min(delay, policy.max_delay)
    if policy.jitter:
        if rng is None:
            raise ValueError("policy.jitter is set: pass the random.Random to draw it from")
        delay += rng.uniform(0.0, policy.jitter)
    return delay


def backoff_schedule(policy: Policy, rng: random.Random | None = None) -> list[float]:
    """Every delay a retried operation waits, in order: ``max_attempts - 1`` of them.

    With the defaults: ``[1.0, 2.0]``.
    """
    return [backoff_delay(policy, n, rng) for n in range(1, policy.max_attempts)]


async def retry_crypto_operation(
    operation: Callable[[], Awaitable[T]],
    *,
    policy: Policy,
    clock: Clock,
    rng: random.Random | None = None,
    name: str | None = None,
    retry_on: tuple[type[BaseException], ...] = (Exception,),
    on_retry: Callable[[int, float, BaseException], None] | None = None,
) -> T:
    """Await ``operation()`` up to ``policy.max_attempts`` times, backing off between tries.

    ``on_retry(attempt, delay, error)`` is called before each wait. When every
    try fails, :class:`RetriesExhausted` is raised from the last error.
    """
    label = name or str(getattr(operation, "__name__", "operation"))
    attempt = 1
    while True:
        try:
            return await operation()
        except retry_on as error:
            if attempt >= policy.max_attempts:
                raise RetriesExhausted(label, attempt, error) from error
            delay = backoff_delay(policy, attempt, rng)
            if on_retry is not None:
                on_retry(attempt, delay, error)
            await clock.sleep(delay)
            attempt += 1
