"""The retry loop's survivors: what RetriesExhausted says, what on_retry is told, and jitter drawn from the given RNG."""

from __future__ import annotations

import random

import pytest

from harness.loop import run
from sessionmgr import BackendError, LoopClock, Policy, RetriesExhausted, retry_crypto_operation
from sessionmgr.retry import backoff_delay


async def regenerate_keys() -> None:
    """An operation that always fails, named like the backend call it stands for."""
    raise BackendError("upload rejected")


def exhausted(operation: object, **options: object) -> RetriesExhausted:
    """The RetriesExhausted that retrying ``operation`` under the default policy (no delay) raises."""
    with pytest.raises(RetriesExhausted) as info:
        run(retry_crypto_operation(operation, policy=Policy(base_delay=0), clock=LoopClock(), **options))  # type: ignore[arg-type]
    return info.value


def test_exhaustion_names_the_operation_the_tries_and_the_last_error() -> None:
    """'<operation> failed after N attempt(s): <ErrorType>: <message>', with each part also an attribute."""
    error = exhausted(regenerate_keys)
    assert str(error) == "regenerate_keys failed after 3 attempt(s): BackendError: upload rejected"
    assert (error.operation, error.attempts) == ("regenerate_keys", 3)
    assert isinstance(error.last, BackendError) and error.last is error.__cause__


def test_the_operation_is_named_by_name_then_its_function_name_then_operation() -> None:
    """An explicit name wins; else the callable's __name__; a callable without one is called 'operation'."""
    assert exhausted(regenerate_keys, name="purge_keys").operation == "purge_keys"

    class Nameless:
        async def __call__(self) -> None:
            raise BackendError("down")

    error = exhausted(Nameless())
    assert error.operation == "operation" and str(error).startswith("operation failed after 3 attempt(s)")


def test_on_retry_is_told_the_try_the_delay_and_the_error() -> None:
    """on_retry(attempt, delay, error) gets the 1-based try that failed, the wait after it, and that try's error."""
    seen: list[tuple[int, float, str]] = []
    tries = 0

    async def flaky() -> None:
        nonlocal tries
        tries += 1
        raise BackendError(f"try {tries}")

    with pytest.raises(RetriesExhausted):
        run(
            retry_crypto_operation(
                flaky, policy=Policy(), clock=LoopClock(), on_retry=lambda a, d, e: seen.append((a, d, str(e)))
            )
        )
    assert seen == [(1, 1.0, "try 1"), (2, 2.0, "try 2")]


def test_the_loop_draws_jitter_from_the_rng_it_is_given() -> None:
    """With jitter set, the loop's delays are backoff_delay's with the same RNG (and it does not refuse to run)."""
    policy = Policy(jitter=0.5)
    delays: list[float] = []
    with pytest.raises(RetriesExhausted):
        run(
            retry_crypto_operation(
                regenerate_keys,
                policy=policy,
                clock=LoopClock(),
                rng=random.Random(3),
                on_retry=lambda a, d, e: delays.append(d),
            )
        )
    rng = random.Random(3)
    assert delays == [backoff_delay(policy, 1, rng), backoff_delay(policy, 2, rng)]


@pytest.mark.parametrize("attempt", [0, -2])
def test_attempts_are_counted_from_one(attempt: int) -> None:
    """backoff_delay refuses try 0 or below, saying tries are 1-based and which it got."""
    with pytest.raises(ValueError, match=rf"^attempt is 1-based, got {attempt}$"):
        backoff_delay(Policy(), attempt)


def test_jitter_without_an_rng_says_what_to_pass() -> None:
    """Jitter with no RNG: the error says jitter is set and to pass the random.Random to draw it from."""
    with pytest.raises(ValueError, match=r"^policy\.jitter is set: pass the random\.Random to draw it from$"):
        backoff_delay(Policy(jitter=1.0), 1)
