"""Every benchmark, side by side with the tools a user would pick instead, as ratios.

    python -m bench            # the table (several minutes)
    python -m bench --full     # adds the 10M-event replay (several minutes more)
    python -m bench --json     # the raw figures

Absolute times move with the machine; the ratio column (ours / theirs, in the
same run) is the figure to read, and each row says which way it reads: for
times (µs/op, s) below 1 we are faster; for rates (events/s, msg/s) above 1 we
are faster; for memory below 1 we use less; share rows are a fraction of a
whole measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
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

#: How a row's ratio (ours / theirs) reads, by its unit; a unit not here has no ratio to read.
READS: dict[str, str] = {
    "µs/call": "< 1: we are faster",
    "µs/op": "< 1: we are faster",
    "µs": "< 1: the tuned GC is faster",
    "ms": "< 1: the tuned GC is faster",
    "s": "< 1: we are faster",
    "events/s": "> 1: we are faster",
    "msg/s": "> 1: we are faster",
    "MiB": "< 1: we use less",
    "s (share)": "fraction of the whole",
}


def row(benchmark: str, case: str, ours: float, peer: float | None, peer_name: str | None, unit: str) -> Row:
    return {
        "benchmark": benchmark,
        "case": case,
        "ours": ours,
        "peer": peer,
        "peer_name": peer_name,
        "unit": unit,
        "ratio": round(ours / peer, 2) if peer else None,
        "reads": READS.get(unit, "") if peer else "",
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

        for category, label in (
            (Category.BAD_MAC, "whole manager, bad_mac (walks the ladder)"),
            (Category.DUPLICATE, "whole manager, duplicate (weight 0: skips the ladder)"),
        ):
            manager_us = run(_through_manager(names, ops, category))
            rows.append(
                row("health window", f"{sessions:,} sessions, {label}", manager_us, theirs, "limits (moving window)",
                    "µs/op")
            )  # fmt: skip
    return rows


async def _through_manager(names: list[str], ops: int, category: Category) -> float:
    """Record-and-check through the whole manager: event, statistics, alert windows and, for errors
    that weigh, the recovery ladder (advisory, so its decisions are made and published, not carried out)."""
    manager = SessionManager(MockBackend(), advisory=True)
    async with manager:
        t0 = time.perf_counter()
        for i in range(ops):
            name = names[i % len(names)]
            manager.observe_nowait(DecryptError(session=name, error="Bad MAC", category=category))
            manager.get_session_health(name)
            if i % 1000 == 999:
                await asyncio.sleep(0.001)
        return (time.perf_counter() - t0) / ops * 1e6


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
    rows = []
    # looptime's default spins 42 idle loop iterations before each time jump (so that I/O callbacks
    # can land); noop_cycles=0 jumps at once, as ours does: both shown, the fair one first
    for noop_cycles, label in ((0, "looptime, noop_cycles=0"), (42, "looptime, default noop_cycles=42")):
        loop = looptime.new_event_loop(_enabled=True, noop_cycles=noop_cycles)
        try:
            theirs = loop.run_until_complete(_sleepy(tasks, sleeps, 1))
        finally:
            loop.close()
        rows.append(row("virtual time", f"{tasks} tasks × {sleeps} sleeps: vs {label}", ours, theirs, label, "s"))
    return rows


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
        rows += stage_rows("replay", f"{events:,} events", stages)
    return rows


def stage_rows(benchmark: str, label: str, stages: dict[str, dict[str, float]]) -> list[Row]:
    """Replay and reader seconds over the two parse floors of the same file, and peak memory."""
    floor, msgspec_ = stages["json.loads"], stages["msgspec"]
    rows = [row(benchmark, f"{label}: events/s", stages["replay"]["per_s"], floor["per_s"], "json.loads", "events/s")]
    for stage in ("replay", "reader"):
        what = "replay" if stage == "replay" else "reader only"
        for name, peer in (("stdlib json.loads", floor), ("msgspec decode", msgspec_)):
            rows.append(row(benchmark, f"{label}: {what} vs {name}", stages[stage]["seconds"], peer["seconds"], name,
                            "s"))  # fmt: skip
    rows.append(row(benchmark, f"{label}: peak RSS", stages["replay"]["peak_mib"], floor["peak_mib"],
                    "stdlib json.loads", "MiB"))  # fmt: skip
    if "one-by-one" in stages:
        rows.append(row(benchmark, f"{label}: replay with quiet batches vs one by one", stages["replay"]["seconds"],
                        stages["one-by-one"]["seconds"], "the same replay, one by one", "s"))  # fmt: skip
    return rows


def bench_storm(errors: int) -> list[Row]:
    """Baileys issue #2234's storm (bench.storm) replayed, beside parsing its JSON lines with json.loads and msgspec."""
    import tempfile
    from pathlib import Path

    from bench.replay import measure
    from bench.storm import CONSOLE_LINES, ERRORS, generate

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "storm.baileys.log"
        generate(path, errors=errors, console_lines=CONSOLE_LINES * errors // ERRORS)
        stages = measure(path)
    return stage_rows("storm", f"#2234, {errors:,} errors", stages)


def bench_simulation() -> list[Row]:
    """The default simulated day: its speed, and the manager's own share of its time, in one run.

    With and without the manager are different workloads (without it broken
    sessions stay broken), so the share is measured inside one run instead:
    cProfile's own time of the manager's functions over the whole run's.
    """
    from bench.simulate import manager_share, measure
    from harness.simulate import SimConfig

    config = SimConfig(seed=1)
    speed = measure(config, memory=False)
    share = manager_share(config)
    return [
        row("simulation", "messages/s (default day, seed 1)", speed["messages_per_s"], None, None, "msg/s"),
        row("simulation", "virtual-to-real ratio", speed["virtual_to_real"], None, None, "×"),
        row("simulation", "the manager's share of the run (cProfile own time)", share["manager_s"],
            share["total_s"], "the whole run, profiled", "s (share)"),
        row("simulation", "of which report recorder and statistics", share["recording_s"], share["total_s"],
            "the whole run, profiled", "s (share)"),
    ]  # fmt: skip


#: The generation-0 threshold the scale rows try beside the default (700): what a service with many
#: sessions may set (README, "Many sessions in one process").
GC_THRESHOLD = 50_000


def bench_scale(sessions: int, sweeps: int = 5) -> list[Row]:
    """An error handled, and health sweeps, with this many sessions: default GC beside two ways of tuning it.

    Freezing moves every object alive at that point out of the collector's
    reach; it is done once the manager has started and again once the sessions
    exist (a service's steady state), so collections scan only what is new. A
    higher generation-0 threshold makes every generation's collections rarer.
    Time inside collections is read from ``gc.callbacks``.
    """
    from bench.scale import measure

    default, frozen = measure(sessions, sweeps, freeze=False), measure(sessions, sweeps, freeze=True)
    raised = measure(sessions, sweeps, freeze=False, threshold=GC_THRESHOLD)
    label, peer, higher = f"{sessions:,} sessions", "same, default GC", f"gen-0 threshold {GC_THRESHOLD:,}"
    rows = [
        row("scale", f"{label}: handle one error, gc.freeze() vs default", frozen["per_error_us"],
            default["per_error_us"], peer, "µs"),
        row("scale", f"{label}: handle one error, {higher} vs default", raised["per_error_us"],
            default["per_error_us"], peer, "µs"),
    ]  # fmt: skip
    for name, run_ in (("default GC", default), ("gc.freeze()", frozen), (higher, raised)):
        rows.append(row("scale", f"{label}: cyclic GC's share of the errors ({name})", run_["gc_errors_s"],
                        run_["errors_s"], "the errors' time", "s (share)"))  # fmt: skip
    for stat in ("median", "max"):
        rows.append(row("scale", f"{label}: health sweep ({stat} of {sweeps}), gc.freeze() vs default",
                        frozen[f"sweep_{stat}_ms"], default[f"sweep_{stat}_ms"], peer, "ms"))  # fmt: skip
        rows.append(row("scale", f"{label}: health sweep ({stat} of {sweeps}), {higher} vs default",
                        raised[f"sweep_{stat}_ms"], default[f"sweep_{stat}_ms"], peer, "ms"))  # fmt: skip
    for name, run_ in (("default GC", default), ("gc.freeze()", frozen)):
        rows.append(row("scale", f"{label}: cyclic GC's share of the sweeps ({name})", run_["gc_sweeps_s"],
                        run_["sweeps_s"], "the sweeps' time", "s (share)"))  # fmt: skip
    rows += [
        row("scale", f"{label}: cleanup sweep, gc.freeze() vs default", frozen["cleanup_ms"], default["cleanup_ms"],
            peer, "ms"),
    ]  # fmt: skip
    return rows


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
        ("storm", lambda: bench_storm(8_400 if q else 168_000)),
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
        "| benchmark | case | sessionmgr | compared with | theirs | unit | ratio | ratio reads |\n"
        "|---|---|---:|---|---:|---|---:|---|"
    )
    lines = [header]
    for r in rows:
        lines.append(
            f"| {r['benchmark']} | {r['case']} | {fmt(r['ours'])} | {r['peer_name'] or ''} | {fmt(r['peer'])} | "
            f"{r['unit']} | {fmt(r['ratio'])} | {r['reads']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
