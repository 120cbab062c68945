"""Backend calls under the retry policy, each retry and each give-up published."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sessionmgr.clock import Clock
from sessionmgr.events import ActionFailed, RetryFinished, RetryScheduled
from sessionmgr.policy import Policy
from sessionmgr.pseudonym import Pseudonymizer
from sessionmgr.recovery.publish import Emit
from sessionmgr.retry import RetriesExhausted, retry_crypto_operation

__all__ = ["Actions"]

T = TypeVar("T")


class Actions:
    """Runs backend calls with backoff; in advisory mode :meth:`act` decides but never calls."""

    def __init__(
        self,
        policy: Policy,
        clock: Clock,
        emit: Emit,
        *,
        rng: random.Random,
        pseudonymizer: Pseudonymizer,
        advisory: bool,
    ) -> None:
        self._policy = policy
        self._clock = clock
        self._emit = emit
        self._rng = rng
        self._pseudonymizer = pseudonymizer
        self.advisory = advisory

    async def retry(self, call: Callable[[], Awaitable[T]], operation: str, session: str) -> T:
        """Run ``call`` under the retry policy, publishing each retry and how it finished."""
        retried = 0

        def on_retry(attempt: int, delay: float, error: BaseException) -> None:
            nonlocal retried
            retried = attempt
            error_text = self._pseudonymizer.scrub(str(error))
            self._emit(
                RetryScheduled(session=session, operation=operation, attempt=attempt, delay=delay, error=error_text)
            )

        try:
            result = await retry_crypto_operation(
                call, policy=self._policy, clock=self._clock, rng=self._rng, name=operation, on_retry=on_retry
            )
        except RetriesExhausted as exc:
            if retried:
                self._emit(RetryFinished(session=session, operation=operation, attempts=exc.attempts, succeeded=False))
            raise
        if retried:
            self._emit(RetryFinished(session=session, operation=operation, attempts=retried + 1, succeeded=True))
        return result

    async def act_once(
        self, operation: str, session: str, peer: str | None, call: Callable[[], Awaitable[None]]
    ) -> bool:
        """Like :meth:`act` but a single attempt: for requests the clients send once and never repeat."""
        if self.advisory:
            return True
        try:
            await call()
        except Exception as exc:
            self._emit(ActionFailed(session=session, operation=operation, attempts=1, error=str(exc), peer=peer))
            return False
        return True

    async def act(self, operation: str, session: str, peer: str | None, call: Callable[[], Awaitable[None]]) -> bool:
        """Carry out one decision; ``False`` (and ActionFailed published) if every retry failed."""
        if self.advisory:
            return True
        try:
            await self.retry(call, operation, session)
        except RetriesExhausted as exc:
            self._emit(
                ActionFailed(
                    session=session, operation=operation, attempts=exc.attempts, error=str(exc.last), peer=peer
                )
            )
            return False
        return True
