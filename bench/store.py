"""Stores side by side: decisions per second and p99 write latency with 1, 2 and 4 workers.

    python -m bench.store                 # SQLite, and PostgreSQL if SESSIONMGR_TEST_POSTGRES is set
    python -m bench.store --decisions 2000 --json

Each worker is a process with its own store on one shared database (one SQLite
file; one PostgreSQL schema), owning its own sessions (a claimed lease each, so
PostgreSQL checks the epoch on every write). A decision is what the manager
writes for one: the session's record and its audit entry, one transaction.
Read the ratios, not the absolute figures: the 1-worker row of the same store,
and SQLite with the same number of workers, in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

from harness.postgres import fresh_schema, server_url
from sessionmgr.store import AuditEntry, SessionRecord, Status, Store, WriteBatch, open_store

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SESSIONS_PER_WORKER = 8
WORKERS = (1, 2, 4)


async def _decide(target: str, worker: int, decisions: int, barrier: Barrier) -> tuple[float, float, list[float]]:
    owner = f"w{worker}"
    store: Store = open_store(target)
    sessions = [f"{owner}-s{i}" for i in range(SESSIONS_PER_WORKER)]
    for session in sessions:  # connect, migrate and take the leases before the clock starts
        assert await store.claim(session, owner, T0, T0 + timedelta(days=1))
    barrier.wait()
    latencies = []
    start = time.perf_counter()
    for n in range(decisions):
        session, at = sessions[n % len(sessions)], T0 + timedelta(milliseconds=n)
        batch = WriteBatch(
            records=[SessionRecord(session=session, status=Status.UNHEALTHY, errors=n, updated_at=at)],
            audit=[AuditEntry(at=at, session=session, kind="health_changed", detail={"errors": n})],
        )
        began = time.perf_counter()
        await store.apply(batch)
        latencies.append(time.perf_counter() - began)
    end = time.perf_counter()
    await store.close()
    return start, end, latencies


def _worker(target: str, worker: int, decisions: int, barrier: Barrier, out: Any) -> None:
    out.put(asyncio.run(_decide(target, worker, decisions, barrier)))


def measure(target: str, workers: int, decisions: int) -> dict[str, float]:
    """Run ``workers`` processes on ``target``; decisions/s over the whole run and the p99 write."""
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(workers), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(target, w, decisions, barrier, out)) for w in range(workers)]
    for p in procs:
        p.start()
    results = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        if p.exitcode != 0:
            raise RuntimeError(f"benchmark worker exited with {p.exitcode}")
    start, end = min(r[0] for r in results), max(r[1] for r in results)
    latencies = sorted(x for r in results for x in r[2])
    p99 = statistics.quantiles(latencies, n=100)[98]
    return {"decisions_per_s": workers * decisions / (end - start), "p99_ms": p99 * 1000}


def run(decisions: int) -> list[dict[str, Any]]:
    tmp = tempfile.TemporaryDirectory()
    server = server_url()

    def target(kind: str, workers: int) -> str:
        if kind == "sqlite":
            return f"sqlite:///{Path(tmp.name) / f'bench-{workers}.db'}"
        assert server is not None
        return fresh_schema(server, f"bench{workers}")

    rows: list[dict[str, Any]] = []
    for kind in ("sqlite", "postgres") if server is not None else ("sqlite",):
        base = None
        for workers in WORKERS:
            figures = measure(target(kind, workers), workers, decisions)
            base = base or figures["decisions_per_s"]
            rows.append(
                {"store": kind, "workers": workers, **figures, "vs_1_worker": figures["decisions_per_s"] / base}
            )
    sqlite = {r["workers"]: r["decisions_per_s"] for r in rows if r["store"] == "sqlite"}
    for r in rows:
        r["vs_sqlite"] = r["decisions_per_s"] / sqlite[r["workers"]]
    tmp.cleanup()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=1000, help="decisions per worker")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = run(args.decisions)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'store':<9} {'workers':>7} {'decisions/s':>12} {'p99 write':>10} {'vs 1 worker':>12} {'vs SQLite':>10}")
    for r in rows:
        print(
            f"{r['store']:<9} {r['workers']:>7} {r['decisions_per_s']:>12,.0f} {r['p99_ms']:>8.2f}ms "
            f"{r['vs_1_worker']:>11.2f}x {r['vs_sqlite']:>9.2f}x"
        )


if __name__ == "__main__":
    main()
