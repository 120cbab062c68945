"""The manager at scale: first errors, health sweeps and cleanup with many sessions, and cyclic GC's part in them.

Used by ``python -m bench``. With ``freeze`` the run calls :func:`gc.freeze` once
the manager has started and again once the sessions exist (a service's steady
state); with ``threshold`` it runs with that generation-0 threshold
(:func:`gc.set_threshold`), restored after. Time inside collections is read from
:data:`gc.callbacks`.
"""

from __future__ import annotations

import gc
import statistics
import time

from harness.loop import run
from sessionmgr import Category, DecryptError, MockBackend, Policy, SessionManager

__all__ = ["measure"]


def measure(sessions: int, sweeps: int, *, freeze: bool, threshold: int | None = None) -> dict[str, float]:
    """Seconds and shares of one scale run: ``sessions`` first errors, ``sweeps`` health sweeps, one cleanup."""
    in_gc = [0.0]
    began = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            began[0] = time.perf_counter()
        else:
            in_gc[0] += time.perf_counter() - began[0]

    async def scenario() -> dict[str, float]:
        out: dict[str, float] = {}
        manager = SessionManager(MockBackend(), advisory=True, policy=Policy(peer_reset_after=1000))
        async with manager:
            names = [f"s{i}" for i in range(sessions)]
            if freeze:
                gc.freeze()
            gc_before, start = in_gc[0], time.perf_counter()
            for i, name in enumerate(names):
                manager.observe_nowait(
                    DecryptError(session=name, peer=f"p{i % 50}", error="Bad MAC", category=Category.BAD_MAC)
                )
            out["errors_s"] = time.perf_counter() - start
            out["gc_errors_s"] = in_gc[0] - gc_before
            out["per_error_us"] = out["errors_s"] / sessions * 1e6
            await manager.drain()
            if freeze:
                gc.freeze()
            times = []
            gc_before = in_gc[0]
            for _ in range(sweeps):
                start = time.perf_counter()
                await manager.check_health()
                times.append((time.perf_counter() - start) * 1e3)
            out["gc_sweeps_s"] = in_gc[0] - gc_before
            out["sweeps_s"] = sum(times) / 1e3
            out["sweep_median_ms"] = statistics.median(times)
            out["sweep_max_ms"] = max(times)
            start = time.perf_counter()
            await manager.cleanup_corrupted_sessions()
            out["cleanup_ms"] = (time.perf_counter() - start) * 1e3
        return out

    gc.collect()
    gc.callbacks.append(on_gc)
    thresholds = gc.get_threshold()
    if threshold is not None:
        gc.set_threshold(threshold, *thresholds[1:])
    try:
        return run(scenario())
    finally:
        gc.set_threshold(*thresholds)
        gc.callbacks.remove(on_gc)
        gc.unfreeze()
        gc.collect()
