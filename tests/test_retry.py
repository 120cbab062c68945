"""Backoff: the schedule is a pure function, and the retry loop follows it in virtual time."""

from __future__ import annotations

import asyncio
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sessionmgr import LoopClock, Policy, RetriesExhausted, backoff_schedule, retry_crypto_operation


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
    max_attempts=st.integers(1, 6),
    base_delay=st.sampled_from([0.0, 0.001, 0.5, 1.0, 2.5]),
    backoff_factor=st.sampled_from([1.0, 1.5, 2.0, 3.0]),
    max_delay=st.one_of(st.none(), st.sampled_from([0.5, 1.0, 4.0])),
)


@given(policy=policies, failures=st.integers(0, 8))
def test_observed_sleeps_equal_the_schedule(policy: Policy, failures: int) -> None:
    """For any policy and failure count, virtual sleeps equal the pure schedule and tries never exceed the limit."""
    from harness.loop import run

    async def scenario() -> tuple[int, list[float], float, bool]:
        loop = asyncio.get_running_loop()
        calls = 0
        sleeps: list[float] = []

        async def op() -> str:
            nonlocal calls
            calls += 1
            if calls <= failures:
                raise RuntimeError(f"failure {calls}")
            return "ok"

        start = loop.time()
        try:
            await retry_crypto_operation(
                op, policy=policy, clock=LoopClock(), on_retry=lambda a, d, e: sleeps.append(d)
            )
            ok = True
        except RetriesExhausted:
            ok = False
        return calls, sleeps, loop.time() - start, ok

    calls, sleeps, elapsed, ok = run(scenario())
    schedule = backoff_schedule(policy)
    assert calls == min(failures + 1, policy.max_attempts)
    assert sleeps == schedule[: calls - 1]
    assert elapsed == pytest.approx(sum(sleeps), abs=1e-6)
    assert ok == (failures < policy.max_attempts)


def test_exhaustion_keeps_the_last_error() -> None:
    """When every try fails, the last error is the cause."""
    from harness.loop import run

    async def always() -> None:
        raise KeyError("gone")

    with pytest.raises(RetriesExhausted) as info:
        run(retry_crypto_operation(always, policy=Policy(base_delay=0), clock=LoopClock()))
    assert info.value.attempts == 3
    assert isinstance(info.value.__cause__, KeyError)
