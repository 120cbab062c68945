"""Every benchmark, side by side with the tools a user would pick instead, as ratios.

    python -m bench            # the table (about two minutes)
    python -m bench --full     # adds the 10M-event replay (several minutes more)
    python -m bench --json     # the raw figures

Absolute times move with the machine; the ratio column (ours / theirs, in the
same run) is the figure to read: below 1 we are faster.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import random
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from harness.loop import run
from sessionmgr import Category, DecryptError, LoopClock, MockBackend, Policy, SessionManager, retry_crypto_operation
from sessionmgr.clock import to_ns
from sessionmgr.window import HealthWindow

Row = dict[str, Any]


def row(benchmark: str, case: str, ours: float, peer: float | None, peer_name: str | None, unit: str) -> Row:
    return {
        "benchmark": benchmark,
        "case": case,
        "ours": ours,
        "peer": peer,
        "peer_name": peer_name,
        "unit": unit,
        "ratio": round(ours / peer, 2) if peer else None,
    }


# --- retry ------------------------------------------------------------------------------


def _flaky(failures: int) -> Callable[[], Awaitable[str]]:
    state = {"n": 0}

    async def op() -> str:
        state["n"] += 1
        if state["n"] % (failures + 1) != 0:
            raise ConnectionError("try again")
        return "ok"

    return op


async def _per_call(calls: int, one: Callable[[], Awaitable[object]]) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        await one()
    return (time.perf_counter() - start) / calls * 1e6


def bench_retry(calls: int) -> list[Row]:
    """retry_crypto_operation against tenacity's AsyncRetrying and stamina, sleeps virtual for all three."""
    import stamina
    from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

    stamina.instrumentation.set_on_retry_hooks([])  # no logging or metrics hooks: compare the retrying itself
    policy, clock = Policy(), LoopClock()
    rows = []

    def ours(op: Callable[[], Awaitable[str]]) -> Callable[[], Awaitable[None]]:
        async def call() -> None:
            await retry_crypto_operation(op, policy=policy, clock=clock)

        return call

    def tenacity(op: Callable[[], Awaitable[str]]) -> Callable[[], Awaitable[None]]:
        async def call() -> None:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(3),
                wait=wait_exponential(multiplier=1, exp_base=2),
                retry=retry_if_exception_type(ConnectionError),
                reraise=True,
            ):
                with attempt:
                    await op()

        return call

    def stamina_(op: Callable[[], Awaitable[str]]) -> Callable[[], Awaitable[None]]:
        async def call() -> None:
            async for attempt in stamina.retry_context(
                on=ConnectionError, attempts=3, timeout=None, wait_initial=1.0, wait_exp_base=2, wait_jitter=0.0
            ):
                with attempt:
                    await op()

        return call

    for failures, case in ((0, "success path"), (2, "two failures, then success")):
        n = calls if failures == 0 else calls // 4
        ours_us = run(_per_call(n, ours(_flaky(failures))))
        tenacity_us = run(_per_call(n, tenacity(_flaky(failures))))
        stamina_us = run(_per_call(n, stamina_(_flaky(failures))))
        rows.append(row("retry", f"{case}: vs tenacity", ours_us, tenacity_us, "tenacity", "µs/call"))
        rows.append(row("retry", f"{case}: vs stamina", ours_us, stamina_us, "stamina", "µs/call"))
    return rows


# --- health window ------------------------------------------------------------------------


def bench_window(ops: int) -> list[Row]:
    """Record an error and ask for health: HealthWindow (and the whole manager) against limits' moving window."""
    from limits import parse, storage, strategies

    rows = []
    span = to_ns(300)
    for sessions in (10, 10_000, 100_000):
        names = [f"s{i}" for i in range(sessions)]
        windows: dict[str, HealthWindow] = {}
        start = time.perf_counter()
        for i in range(ops):
            name = names[i % sessions]
            window = windows.get(name)
            if window is None:
                window = windows[name] = HealthWindow(span)
            now = i * 1_000_000
            window.add(now)
            _ = window.weight(now) >= 5
        ours = (time.perf_counter() - start) / ops * 1e6

        limiter = strategies.MovingWindowRateLimiter(storage.MemoryStorage())
        limit = parse("5/5 minutes")
        start = time.perf_counter()
        for i in range(ops):
            name = names[i % sessions]
            limiter.hit(limit, name)
            _ = not limiter.test(limit, name)
        theirs = (time.perf_counter() - start) / ops * 1e6
        rows.append(row("health window", f"{sessions:,} sessions", ours, theirs, "limits (moving window)", "µs/op"))

        async def through_manager(names: list[str] = names) -> float:
            manager = SessionManager(MockBackend(), advisory=True)
            async with manager:
                t0 = time.perf_counter()
                for i in range(ops):
                    manager.observe_nowait(
                        DecryptError(session=names[i % len(names)], error="Bad MAC", category=Category.DUPLICATE)
                    )
                    manager.get_session_health(names[i % len(names)])
                    if i % 1000 == 999:
                        await asyncio.sleep(0.001)
                return (time.perf_counter() - t0) / ops * 1e6

        manager_us = run(through_manager())
        rows.append(
            row(
                "health window",
                f"{sessions:,} sessions, whole manager",
                manager_us,
                theirs,
                "limits (moving window)",
                "µs/op",
            )
        )
    return rows


# --- virtual time --------------------------------------------------------------------------


async def _sleepy(tasks: int, sleeps: int, seed: int) -> float:
    rng = random.Random(seed)

    async def worker(delays: list[float]) -> None:
        for delay in delays:
            await asyncio.sleep(delay)

    plans = [[rng.choice((0.001, 0.5, 1.0, 60.0, 300.0)) for _ in range(sleeps)] for _ in range(tasks)]
    start = time.perf_counter()
    await asyncio.gather(*(worker(p) for p in plans))
    return time.perf_counter() - start


def bench_virtual_time(tasks: int, sleeps: int) -> list[Row]:
    """Many tasks with many timers: the harness loop against looptime's."""
    import looptime

    ours = run(_sleepy(tasks, sleeps, 1))
    loop = looptime.new_event_loop(_enabled=True)
    try:
        theirs = loop.run_until_complete(_sleepy(tasks, sleeps, 1))
    finally:
        loop.close()
    return [row("virtual time", f"{tasks} tasks × {sleeps} sleeps", ours, theirs, "looptime", "s")]


# --- replay, simulation, scale ---------------------------------------------------------------


def bench_replay(sizes: list[int]) -> list[Row]:
    """Replay against merely parsing the same file's JSON with the standard library."""
    import tempfile
    from pathlib import Path

    from bench.replay import generate, measure

    rows = []
    for events in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "trace.jsonl"
            generate(path, events)
            stages = measure(path)
        label = f"{events:,} events"
        floor = stages["json.loads"]
        for case, stage, key, unit in (
            ("events/s vs json.loads", "replay", "per_s", "events/s"),
            ("reader only vs json.loads", "reader", "per_s", "events/s"),
            ("peak RSS vs json.loads", "replay", "peak_mib", "MiB"),
        ):
            rows.append(row("replay", f"{label}: {case}", stages[stage][key], floor[key], "json.loads", unit))
    return rows


def bench_simulation() -> list[Row]:
    """The default simulate: messages per second and how much faster than real time."""
    from bench.simulate import measure
    from harness.simulate import SimConfig

    with_manager = measure(SimConfig(seed=1))
    bare = measure(dataclasses.replace(SimConfig(seed=1), manager=False))
    return [
        row(
            "simulation",
            "messages/s, manager vs bare world",
            with_manager["messages_per_s"],
            bare["messages_per_s"],
            "same world, no manager",
            "msg/s",
        ),
        row(
            "simulation",
            "virtual-to-real ratio",
            with_manager["virtual_to_real"],
            bare["virtual_to_real"],
            "same world, no manager",
            "×",
        ),
    ]


def bench_scale(sessions: int) -> list[Row]:
    """An error handled, and a full health sweep, with this many sessions in the manager."""

    async def scenario() -> tuple[float, float, float]:
        manager = SessionManager(MockBackend(), advisory=True, policy=Policy(peer_reset_after=1000))
        async with manager:
            names = [f"s{i}" for i in range(sessions)]
            start = time.perf_counter()
            for i, name in enumerate(names):
                manager.observe_nowait(
                    DecryptError(session=name, peer=f"p{i % 50}", error="Bad MAC", category=Category.BAD_MAC)
                )
            per_error = (time.perf_counter() - start) / sessions * 1e6
            await manager.drain()
            start = time.perf_counter()
            await manager.check_health()
            sweep = (time.perf_counter() - start) * 1e3
            start = time.perf_counter()
            await manager.cleanup_corrupted_sessions()
            cleanup = (time.perf_counter() - start) * 1e3
        return per_error, sweep, cleanup

    per_error, sweep, cleanup = run(scenario())
    return [
        row("scale", f"{sessions:,} sessions: handle one error", per_error, None, None, "µs"),
        row("scale", f"{sessions:,} sessions: health sweep", sweep, None, None, "ms"),
        row("scale", f"{sessions:,} sessions: cleanup sweep", cleanup, None, None, "ms"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also replay 10M events")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON")
    args = parser.parse_args()
    q = args.quick
    steps: list[tuple[str, Callable[[], list[Row]]]] = [
        ("retry", lambda: bench_retry(2_000 if q else 20_000)),
        ("health window", lambda: bench_window(20_000 if q else 200_000)),
        ("virtual time", lambda: bench_virtual_time(100 if q else 1_000, 100)),
        ("replay", lambda: bench_replay([20_000] if q else [1_000_000, 10_000_000] if args.full else [1_000_000])),
        ("simulation", lambda: [] if q else bench_simulation()),
        ("scale", lambda: bench_scale(10_000 if q else 100_000)),
    ]
    rows: list[Row] = []
    for name, step in steps:
        print(f"… {name}", flush=True, file=sys.stderr)
        rows += step()
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(render(rows))


def render(rows: list[Row]) -> str:
    def fmt(value: float | None) -> str:
        if value is None:
            return ""
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"

    header = (
        "| benchmark | case | sessionmgr | compared with | theirs | unit | ratio |\n|---|---|---:|---|---:|---|---:|"
    )
    lines = [header]
    for r in rows:
        lines.append(
            f"| {r['benchmark']} | {r['case']} | {fmt(r['ours'])} | {r['peer_name'] or ''} | {fmt(r['peer'])} | "
            f"{r['unit']} | {fmt(r['ratio'])} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
