"""A manager process for the crash tests, which kill it at chosen points and restart it.

    python -m harness.crash_child DB [--kill-at N | --stop-at N] [--mode incident|cleanup] [--until SECONDS]
                                     [--owner NAME] [--clock-file PATH] [--resume-after SECONDS]

``DB`` is a SQLite path or a ``postgresql://`` URL (then give ``--clock-file``).

``incident`` makes six sessions unhealthy at once: three regenerate, three
fail to and go on to corruption, cleanup and the 10-minute alert. On a
database that already holds a run it resumes, one virtual second after the
last thing the store recorded, and the sessions the manager had not yet acted
on fail again (as broken sessions do). ``--kill-at N`` sends this
process SIGKILL at the N-th kill point: before or after each store commit and
in the middle of each backend call; ``--stop-at N`` sends SIGSTOP there
instead, so a test can let another worker take over and then SIGCONT this one
(a worker that lost its leases without knowing). On PostgreSQL the store is
bound to ``--owner``, so every write takes or checks the session's fenced lease;
``--resume-after`` starts that many seconds later than one second after the
last recorded time (a second worker taking over once the first's leases ran
out). It prints the number of kill points it passed, in cleanup mode the
sessions it cleaned, and the sessions whose writes were refused as fenced off.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import time
from collections.abc import Hashable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from harness.loop import VirtualLoop
from sessionmgr import BackendError, Category, DecryptError, Policy, SessionManager
from sessionmgr.store import AuditEntry, MessageRecord, QuarantineEntry, SessionRecord, Store, WriteBatch
from sessionmgr.store.fencing import LeaseLost, OwnedStore
from sessionmgr.store.sqlite import SQLiteStore

SESSIONS: Final = tuple(f"s{i}" for i in range(6))
FAILING: Final = frozenset({"s0", "s1", "s2"})
START: Final = datetime(2026, 1, 1, tzinfo=UTC)
RETRY_EVERY: Final = 10.0


class KillSwitch:
    """Counts kill points; at the chosen one, SIGKILL (or SIGSTOP). Each point first notes the
    virtual time in a side file: whoever restarts must start later than anything this process did."""

    def __init__(self, at: int | None, clock_file: Path, sig: signal.Signals = signal.SIGKILL) -> None:
        self.at = at
        self.points = 0
        self.clock_file = clock_file
        self.sig = sig

    def point(self) -> None:
        self.points += 1
        loop = asyncio.get_running_loop()
        if isinstance(loop, VirtualLoop):
            # atomically: a second process may read the file at any instant, and must never see it half written
            scratch = self.clock_file.with_name(f"{self.clock_file.name}.{os.getpid()}")
            scratch.write_text(loop.wall().isoformat())
            os.replace(scratch, self.clock_file)
        if self.points == self.at:
            os.kill(os.getpid(), self.sig)


def open_target(target: str, owner: str | None = None) -> Store:
    """SQLite for a path, PostgreSQL (bound to ``owner``) for a postgresql:// URL."""
    if target.startswith("postgresql://"):
        from sessionmgr.store.postgres import PostgresStore

        return PostgresStore(target, owner=owner)
    return SQLiteStore(target)


class KillableStore:
    """The real store with kill points around each commit; remembers which writes were fenced off."""

    def __init__(self, inner: Store, switch: KillSwitch) -> None:
        self.inner = inner
        self.switch = switch
        self.fenced: set[str] = set()

    async def apply(self, batch: WriteBatch) -> None:
        self.switch.point()  # before the commit
        try:
            await self.inner.apply(batch)
        except LeaseLost as lost:
            self.fenced |= lost.sessions
            raise
        self.switch.point()  # after it

    async def load(self, session: str) -> SessionRecord | None:
        return await self.inner.load(session)

    async def records(self) -> list[SessionRecord]:
        return await self.inner.records()

    async def audit(self, session: str | None = None) -> list[AuditEntry]:
        return await self.inner.audit(session)

    async def quarantined(self, session: str | None = None) -> list[QuarantineEntry]:
        return await self.inner.quarantined(session)

    async def messages(self, session: str | None = None, *, since: datetime | None = None) -> list[MessageRecord]:
        return await self.inner.messages(session, since=since)

    async def claim(self, session: str, owner: str, now: datetime, until: datetime) -> bool:
        return await self.inner.claim(session, owner, now, until)

    async def version(self) -> Hashable:
        return await self.inner.version()

    async def close(self) -> None:
        await self.inner.close()


class KillableOwnedStore(KillableStore):
    """The same around a store shared by workers: the manager binds it to its owner through this wrapper."""

    def __init__(self, inner: OwnedStore, switch: KillSwitch) -> None:
        assert isinstance(inner, Store)
        super().__init__(inner, switch)
        self.owned = inner

    @property
    def lease(self) -> timedelta:
        return self.owned.lease

    def bind_owner(self, owner: str, lease: timedelta | None = None) -> None:
        self.owned.bind_owner(owner, lease)

    def held(self) -> dict[str, tuple[str, int]]:
        return self.owned.held()


def killable(inner: Store, switch: KillSwitch) -> KillableStore:
    return KillableOwnedStore(inner, switch) if isinstance(inner, OwnedStore) else KillableStore(inner, switch)


class CrashBackend:
    """Regeneration takes 2 s and fails for s0-s2; purge takes a little real time."""

    def __init__(self, switch: KillSwitch, real_delay: float) -> None:
        self.switch = switch
        self.real_delay = real_delay

    async def _call(self, name: str, session: str, seconds: float = 0.0) -> None:
        if seconds:
            await asyncio.sleep(seconds)
        self.switch.point()  # in the middle: the work is done, the caller has not heard

    async def request_resend(self, session: str, peer: str, message_id: str | None, *, with_keys: bool = False) -> None:
        await self._call("request_resend", session)

    async def request_from_phone(self, session: str, peer: str, message_id: str | None) -> None:
        await self._call("request_from_phone", session)

    async def upload_prekeys(self, session: str, count: int) -> None:
        await self._call("upload_prekeys", session)

    async def reset_peer_session(self, session: str, peer: str) -> None:
        await self._call("reset_peer_session", session)

    async def regenerate_keys(self, session: str) -> None:
        await self._call("regenerate_keys", session, 2.0)
        if session in FAILING:
            raise BackendError("upload refused")

    async def disconnect(self, session: str) -> None:
        await self._call("disconnect", session)

    async def export_keys(self, session: str) -> bytes:
        await self._call("export_keys", session)
        return f"keys of {session}".encode()

    async def purge_keys(self, session: str) -> None:
        if self.real_delay:
            time.sleep(self.real_delay)  # widen the window in which two processes could race
        await self._call("purge_keys", session, 0.5)


async def incident(manager: SessionManager, until: float) -> None:
    loop = asyncio.get_running_loop()
    # A broken session keeps failing until some worker acts on it: after a crash, and
    # every RETRY_EVERY seconds (a worker that left it to another worker sees it fail
    # again once that worker is gone), the errors of sessions with no decision yet arrive again.
    while True:
        acted = {e.session for e in await manager.store.audit() if e.kind == "regeneration_started"}
        for session in SESSIONS:
            if session not in acted:
                for _ in range(5):
                    manager.observe_nowait(DecryptError(session=session, error="Bad MAC", category=Category.BAD_MAC))
        if acted >= set(SESSIONS) or loop.time() + RETRY_EVERY >= until:
            break
        await asyncio.sleep(RETRY_EVERY)
    await asyncio.sleep(max(0.0, until - loop.time()))
    await manager.drain()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("db")
    stop = parser.add_mutually_exclusive_group()
    stop.add_argument("--kill-at", type=int)
    stop.add_argument("--stop-at", type=int)
    parser.add_argument("--mode", choices=["incident", "cleanup"], default="incident")
    parser.add_argument("--until", type=float, default=900.0, help="virtual seconds after the first run's start")
    parser.add_argument("--real-delay", type=float, default=0.0)
    parser.add_argument("--owner", help="who this worker is (default: its pid)")
    parser.add_argument("--clock-file", help="the side file of virtual times (default: DB.clock)")
    parser.add_argument("--resume-after", type=float, default=0.0, help="extra seconds before this run starts")
    args = parser.parse_args()
    clock_file = Path(args.clock_file or args.db + ".clock")
    owner = args.owner or f"pid{os.getpid()}"
    if args.stop_at is not None:
        switch = KillSwitch(args.stop_at, clock_file, signal.SIGSTOP)
    else:
        switch = KillSwitch(args.kill_at, clock_file)

    async def last_recorded() -> datetime | None:
        # everything the store holds a time for: the next process starts after all of it
        probe = open_target(args.db)
        times = [e.at for e in await probe.audit()] + [q.at for q in await probe.quarantined()]
        times += [r.updated_at for r in await probe.records() if r.updated_at is not None]
        await probe.close()
        if clock_file.exists():
            times.append(datetime.fromisoformat(clock_file.read_text()))
        return max(times, default=None)

    last = asyncio.run(last_recorded())
    # a restart takes a second; the timeline carries on from what the store recorded
    epoch = START if last is None else last + timedelta(seconds=1 + args.resume_after)
    offset = (epoch - START).total_seconds()
    cleaned: list[str] = []
    fenced: set[str] = set()

    async def run() -> None:
        store = killable(open_target(args.db), switch)  # the manager binds it to its owner
        manager = SessionManager(
            CrashBackend(switch, args.real_delay), store=store, policy=Policy(peer_reset_after=100), owner=owner
        )
        async with manager:
            if args.mode == "cleanup":
                cleaned.extend(await manager.cleanup_corrupted_sessions())
            else:
                await incident(manager, args.until - offset)
        await store.close()
        fenced.update(store.fenced)

    with asyncio.Runner(loop_factory=lambda: VirtualLoop(epoch=epoch)) as runner:
        runner.run(run())
    print(json.dumps({"points": switch.points, "cleaned": cleaned, "fenced": sorted(fenced)}))


if __name__ == "__main__":
    main()
