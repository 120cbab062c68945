"""Backoff: the schedule is a pure function, and the retry loop follows it in virtual time."""

from __future__ import annotations

import asyncio
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.loop import run
from sessionmgr import BackendError, LoopClock, Policy, RetriesExhausted, backoff_schedule, retry_crypto_operation
from sessionmgr.clock import to_ns


def test_seed_schedule() -> None:
    """The seed's numbers: 3 tries, waits of 1 s then 2 s."""
    assert backoff_schedule(Policy()) == [1.0, 2.0]


def test_cap_and_jitter() -> None:
    """Delays are capped, and jitter comes from the injected RNG, reproducibly."""
    policy = Policy(max_attempts=6, base_delay=1, backoff_factor=3, max_delay=10, jitter=0.5)
    first = backoff_schedule(policy, random.Random(7))
    assert first == backoff_schedule(policy, random.Random(7))
    for plain, jittered in zip([1, 3, 9, 10, 10], first, strict=True):
        assert plain <= jittered <= plain + 0.5


def test_jitter_without_rng_is_an_error() -> None:
    """Jitter needs an RNG; forgetting it is a clear error, not hidden randomness."""
    with pytest.raises(ValueError, match=r"random\.Random"):
        backoff_schedule(Policy(jitter=1.0))


policies = st.builds(
    Policy,
    max_attempts=st.integers(1, 7),
    base_delay=st.sampled_from([0.0, 0.001, 0.25, 1.0, 3.0]),
    backoff_factor=st.sampled_from([1.0, 1.5, 2.0, 4.0]),
    max_delay=st.one_of(st.none(), st.sampled_from([0.5, 2.0, 10.0])),
)


@given(policy=policies, pattern=st.lists(st.booleans(), max_size=10))
def test_observed_sleeps_are_the_pure_schedule(policy: Policy, pattern: list[bool]) -> None:
    """For any policy and failure pattern: sleeps equal the schedule's prefix, tries stop at the first
    success or the limit, and the elapsed virtual time is exactly their sum."""

    async def scenario() -> tuple[int, list[float], int, bool]:
        loop = asyncio.get_running_loop()
        tries = 0
        sleeps: list[float] = []

        async def op() -> None:
            nonlocal tries
            tries += 1
            if tries <= len(pattern) and pattern[tries - 1]:
                raise BackendError(f"try {tries}")

        start = loop.time_ns()  # type: ignore[attr-defined]
        try:
            await retry_crypto_operation(
                op, policy=policy, clock=LoopClock(), on_retry=lambda a, d, e: sleeps.append(d)
            )
            ok = True
        except RetriesExhausted:
            ok = False
        return tries, sleeps, loop.time_ns() - start, ok  # type: ignore[attr-defined]

    tries, sleeps, elapsed_ns, ok = run(scenario())
    failures_before_success = next((i for i, fails in enumerate(pattern) if not fails), len(pattern))
    expected_tries = min(failures_before_success + 1, policy.max_attempts)
    assert tries == expected_tries <= policy.max_attempts
    assert sleeps == backoff_schedule(policy)[: tries - 1]
    assert abs(elapsed_ns - sum(to_ns(s) for s in sleeps)) <= len(sleeps)  # within a ns per sleep
    assert ok == (failures_before_success < policy.max_attempts)


def test_exhaustion_keeps_the_last_error() -> None:
    """When every try fails, the last error is the cause."""

    async def always() -> None:
        raise KeyError("gone")

    with pytest.raises(RetriesExhausted) as info:
        run(retry_crypto_operation(always, policy=Policy(base_delay=0), clock=LoopClock()))
    assert info.value.attempts == 3
    assert isinstance(info.value.__cause__, KeyError)
