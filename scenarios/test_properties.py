"""Properties of the manager's promises end to end, checked by Hypothesis on virtual time (backoff: tests/test_retry.py)."""

from __future__ import annotations

import asyncio

from hypothesis import given
from hypothesis import strategies as st

from harness.loop import run
from sessionmgr import (
    BackendCall,
    BackendError,
    Category,
    DecryptError,
    Event,
    HealthChanged,
    MemoryStore,
    MockBackend,
    Policy,
    SessionManager,
)
from sessionmgr.clock import to_ns

SPAN = to_ns(300)
MS = 1_000_000

# --- health threshold -------------------------------------------------------------------

gaps = st.one_of(
    st.sampled_from([0, 1, MS, SPAN, SPAN - MS, SPAN + MS, SPAN - 1, SPAN + 1, SPAN // 5]),
    st.integers(min_value=0, max_value=2 * SPAN),
)
categories = st.sampled_from([Category.BAD_MAC, Category.BAD_MAC, Category.PREKEY, Category.DUPLICATE])


def oracle(errors: list[tuple[int, float]], threshold: float, end: int) -> list[tuple[int, bool]]:
    """Brute force: evaluate (t - 300 s, t] at every instant where the answer can change."""
    candidates = sorted({t for t, _ in errors} | {t + SPAN for t, _ in errors if t + SPAN <= end})
    transitions: list[tuple[int, bool]] = []
    healthy = True
    for c in candidates:
        weight = sum(w for t, w in errors if c - SPAN < t <= c)
        now_healthy = weight < threshold
        if now_healthy != healthy:
            transitions.append((c, now_healthy))
            healthy = now_healthy
    return transitions


@given(steps=st.lists(st.tuples(gaps, categories), min_size=1, max_size=40))
def test_health_transitions_match_the_oracle(steps: list[tuple[int, Category]]) -> None:
    """For any error sequence, the manager's health transitions are exactly the brute-force ones."""
    policy = Policy()

    async def scenario() -> tuple[list[Event], int]:
        events: list[Event] = []
        manager = SessionManager(MockBackend(), policy=policy, advisory=True)
        manager.bus.subscribe(events.append)
        async with manager:
            for gap, category in steps:
                await asyncio.sleep(gap / 1e9)
                manager.observe_nowait(DecryptError(session="s", error=category.value, category=category))
            await asyncio.sleep(SPAN / 1e9 + 1)  # let every error age out
            end = asyncio.get_running_loop().time_ns()  # type: ignore[attr-defined]
        return events, end

    events, end = run(scenario())
    errors = [(to_ns(e.t), policy.weight(e.category)) for e in events if isinstance(e, DecryptError)]
    seen = [(to_ns(e.t), e.healthy) for e in events if isinstance(e, HealthChanged)]
    assert seen == oracle(errors, policy.unhealthy_threshold, end)


# --- cleanup ------------------------------------------------------------------------------


@given(
    sessions=st.lists(st.tuples(st.booleans(), st.integers(0, 6), st.integers(0, 900)), min_size=1, max_size=6),
)
def test_cleanup_promises(sessions: list[tuple[bool, int, int]]) -> None:
    """A healthy session is never cleaned; a corrupted one is cleaned within one cleanup period;
    nothing is purged that was not quarantined first."""
    policy = Policy(peer_reset_after=100)
    failing = {f"s{i}" for i, (fails, _, _) in enumerate(sessions) if fails}

    def handler(call: BackendCall) -> bytes | None:
        if call.method == "regenerate_keys" and call.session in failing:
            raise BackendError("cannot upload")
        return f"keys of {call.session}".encode() if call.method == "export_keys" else None

    backend = MockBackend(handler)
    store = MemoryStore()

    async def scenario() -> list[Event]:
        events: list[Event] = []
        manager = SessionManager(backend, policy=policy, store=store)
        manager.bus.subscribe(events.append)
        async with manager:
            for i, (_, errors, delay) in enumerate(sessions):
                await asyncio.sleep(delay)
                for _ in range(errors):
                    manager.observe_nowait(DecryptError(session=f"s{i}", error="Bad MAC", category=Category.BAD_MAC))
            await asyncio.sleep(2 * policy.cleanup_interval + 10)
            await manager.drain()
        return events

    events = run(scenario())
    corrupted = {e.session: e.t for e in events if e.kind == "corrupted"}
    cleaned = {e.session: e.t for e in events if e.kind == "cleaned"}
    assert set(cleaned) == set(corrupted)  # only corrupted sessions, and all of them
    for session, t in cleaned.items():
        assert 0 <= t - corrupted[session] <= policy.cleanup_interval
    calls = backend.calls
    for i, call in enumerate(calls):
        if call.method == "purge_keys":
            assert any(c.method == "export_keys" and c.session == call.session for c in calls[:i])
    quarantined = {q.session for q in run(store.quarantined())}
    assert quarantined == set(cleaned)
