"""A store that fails to write: the journal retries on the injected clock and never drops a batch."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from harness.postgres import HOW_TO_RUN, fresh_schema, server_url
from sessionmgr.backend import MockBackend
from sessionmgr.categories import Category
from sessionmgr.clock import LoopClock
from sessionmgr.events import DecryptError, Event, SessionCorrupted
from sessionmgr.manager import SessionManager
from sessionmgr.pseudonym import Pseudonymizer
from sessionmgr.recovery.journal import Journal
from sessionmgr.store import MemoryStore, MessageRecord, SessionRecord, Status, WriteBatch
from sessionmgr.store.sqlite import SQLiteStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _decide(journal: Journal, n: int, *, session: str = "bot") -> None:
    """``n`` audited decisions, each with its record, as the manager makes them."""
    for i in range(n):
        journal.record(SessionRecord(session=session, status=Status.CORRUPTED, errors=i))
        journal.audit(SessionCorrupted(at=T0, session=session, reason=f"decision {i}"))


class _Refusing(MemoryStore):
    """A memory store whose writes fail while ``down`` is set, as a store on a dead disk would."""

    def __init__(self) -> None:
        super().__init__()
        self.down = True
        self.attempts = 0

    async def apply(self, batch: WriteBatch) -> None:
        self.attempts += 1
        if self.down:
            raise OSError("disk unavailable")
        await super().apply(batch)


_HOLD_LOCK = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
db.execute("COMMIT")
"""


class _LockHolder:
    """Another process holding the SQLite write lock until :meth:`release`."""

    def __init__(self, path: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _HOLD_LOCK, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None and self.proc.stdout.readline() == "locked\n"

    def release(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.close()
        assert self.proc.wait(timeout=30) == 0


@pytest.mark.virtual_time
async def test_a_lock_held_by_another_process_for_15_s_loses_no_audit_row(tmp_path: Path) -> None:
    """A write blocked by another process's 15 s lock is retried on virtual time until all 20 rows land."""
    path = tmp_path / "store.db"
    store = SQLiteStore(path, busy_timeout=0.01)  # real seconds: give up at once, retry on the virtual clock
    journal = Journal(store, Pseudonymizer(b"k"), LoopClock())
    journal.start()
    await store.records()  # the file exists with its schema
    holder = _LockHolder(path)
    loop = asyncio.get_running_loop()
    loop.call_later(15.0, holder.release)
    started = loop.time()
    _decide(journal, 20)
    await journal.commit()
    assert loop.time() - started >= 15.0  # it really waited for the lock
    assert len(await store.audit()) == 20
    assert journal.write_failures > 0
    await journal.close()
    await store.close()


@pytest.mark.virtual_time
async def test_decisions_made_while_writes_fail_join_the_retried_batch_in_order() -> None:
    """Decisions made while the store is down wait and are written, in decision order, once it is back."""
    store = _Refusing()
    journal = Journal(store, Pseudonymizer(b"k"), LoopClock())
    journal.start()
    _decide(journal, 3)
    await asyncio.sleep(10)
    _decide(journal, 4, session="other")
    await asyncio.sleep(10)
    assert journal.queued_rows == 14
    store.down = False
    await journal.commit()
    kinds = [(e.session, e.detail["reason"]) for e in await store.audit()]
    assert kinds == [("bot", f"decision {i}") for i in range(3)] + [("other", f"decision {i}") for i in range(4)]
    assert (await store.load("bot")) == SessionRecord(session="bot", status=Status.CORRUPTED, errors=2)
    assert journal.queued_rows == 0
    await journal.close()


@pytest.mark.virtual_time
async def test_retries_back_off_up_to_a_cap_on_the_injected_clock() -> None:
    """Attempts at a failing write double their spacing up to 30 s, so an hour down costs about 130 tries."""
    store = _Refusing()
    journal = Journal(store, Pseudonymizer(b"k"), LoopClock())
    journal.start()
    _decide(journal, 1)
    await asyncio.sleep(3600)
    assert 110 <= store.attempts <= 130
    store.down = False
    await journal.commit()
    assert len(await store.audit()) == 1
    await journal.close()


@pytest.mark.virtual_time
async def test_the_bound_drops_only_the_oldest_audit_entries_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    """Past the bound, records coalesce and the oldest audit entries go, with an error naming the bound."""
    store = _Refusing()
    journal = Journal(store, Pseudonymizer(b"k"), LoopClock(), max_queued_rows=50)
    journal.start()
    with caplog.at_level(logging.WARNING, logger="sessionmgr"):
        for _ in range(10):
            _decide(journal, 10)
            await asyncio.sleep(5)
    assert journal.queued_rows <= 50
    assert journal.dropped_audit == 100 - 49  # one record (coalesced) and the 49 newest audit entries are kept
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("more than 50 rows queued: dropping the oldest audit entries" in m for m in errors)
    store.down = False
    await journal.commit()
    reasons = [e.detail["reason"] for e in await store.audit()]
    assert reasons == [f"decision {i}" for i in range(1, 10)] + [f"decision {i}" for i in range(10)] * 4
    assert (await store.load("bot")) == SessionRecord(session="bot", status=Status.CORRUPTED, errors=9)
    await journal.close()


@pytest.mark.virtual_time
async def test_close_gives_up_on_a_dead_store_after_its_timeout_and_says_what_was_not_written(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Shutdown with a store that never comes back ends after close_timeout and logs the unwritten rows."""
    store = _Refusing()
    journal = Journal(store, Pseudonymizer(b"k"), LoopClock(), close_timeout=20.0)
    journal.start()
    _decide(journal, 2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with caplog.at_level(logging.ERROR, logger="sessionmgr"):
        await journal.close()
    assert loop.time() - started == pytest.approx(20.0)
    assert any("2 records, 2 audit entries" in r.getMessage() and "NOT" in r.getMessage() for r in caplog.records)


def test_coalescing_keeps_what_applying_every_write_in_turn_would_keep() -> None:
    """A coalesced batch keeps each record's last write and each ledger row's first closed write."""
    open_ = MessageRecord(session="s", peer="p", message_id="m", first_failed_at=T0, last_failed_at=T0)
    closed = open_.evolve(outcome="delivered", closed_at=T0, waited=1.0)
    batch = WriteBatch(
        records=[SessionRecord(session="s", errors=1), SessionRecord(session="s", errors=2)],
        messages=[open_, closed, open_.evolve(retries=3), closed.evolve(outcome="lost")],
    )
    batch.coalesce()
    assert batch.records == [SessionRecord(session="s", errors=2)]
    assert batch.messages == [closed]


@pytest.mark.virtual_time
async def test_a_postgres_connection_killed_under_the_journal_is_reopened_and_nothing_is_lost() -> None:
    """PostgreSQL: the server ends the store's connection; the journal's retry reconnects and writes every row."""
    server = server_url()
    if server is None:
        pytest.skip(HOW_TO_RUN)
    import psycopg

    from sessionmgr.store.postgres import PostgresStore

    url = fresh_schema(server)
    store = PostgresStore(url)
    journal = Journal(store, Pseudonymizer(b"k"), LoopClock())
    journal.start()
    await store.connect()
    pid = await store._run(lambda db: db.execute("SELECT pg_backend_pid()").fetchone())
    assert pid is not None
    with psycopg.connect(server, autocommit=True) as admin:  # another process ends our session, as a failover does
        admin.execute("SELECT pg_terminate_backend(%s)", (pid[0],))
    _decide(journal, 20)
    await journal.commit()
    assert journal.write_failures >= 1
    assert len(await store.audit()) == 20
    await journal.close()
    await store.close()


@pytest.mark.virtual_time
async def test_a_manager_whose_store_is_locked_for_15_s_keeps_every_decision(tmp_path: Path) -> None:
    """The issue's case end to end: decisions made while another process locks the SQLite store all reach its audit."""
    path = tmp_path / "store.db"
    store = SQLiteStore(path, busy_timeout=0.01)
    manager = SessionManager(MockBackend(), store=store)
    events: list[Event] = []
    manager.bus.subscribe(events.append)
    await manager.start()
    await manager.drain()
    holder = _LockHolder(path)
    loop = asyncio.get_running_loop()
    loop.call_later(15.0, holder.release)
    started = loop.time()
    for n in range(20):
        peer = f"55119999{n:05d}@s.whatsapp.net"
        await manager.observe(DecryptError(session="bot-1", peer=peer, error="Bad MAC", category=Category.BAD_MAC))
    await manager.drain()
    assert loop.time() - started >= 15.0  # the decisions waited for the lock
    audited = [e.kind for e in events if e.decision and e.audited]
    await manager.aclose()
    assert len(audited) >= 20  # a resend asked of each peer, at least
    assert [e.kind for e in await store.audit()] == audited
    await store.close()
