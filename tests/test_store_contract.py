"""One contract for every store: the memory twin, SQLite and PostgreSQL pass the same tests."""

from __future__ import annotations

import asyncio
import itertools
import os
import stat
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from harness.postgres import HOW_TO_RUN, fresh_schema, server_url
from sessionmgr.store import (
    AuditEntry,
    MemoryStore,
    MessageRecord,
    QuarantineEntry,
    SessionRecord,
    Status,
    Store,
    WriteBatch,
    open_store,
)
from sessionmgr.store.sqlite import SCHEMA_VERSION, SQLiteStore, StoreError

T0 = datetime(2026, 1, 1, tzinfo=UTC)
pytestmark = pytest.mark.asyncio

Factory = Callable[[], Store]


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Factory:
    """A factory for a store of each kind (SQLite ones share one file, PostgreSQL ones one schema)."""
    if request.param == "memory":
        shared = MemoryStore()
        return lambda: shared
    if request.param == "postgres":
        server = server_url()
        if server is None:
            pytest.skip(HOW_TO_RUN)
        from sessionmgr.store.postgres import PostgresStore

        url = fresh_schema(server)
        return lambda: PostgresStore(url)
    return lambda: SQLiteStore(tmp_path / "contract.db")


@pytest_asyncio.fixture
async def store(make_store: Factory) -> AsyncIterator[Store]:
    s = make_store()
    yield s
    await s.close()


def record(session: str, **kw: object) -> SessionRecord:
    return SessionRecord(session=session, **kw)  # type: ignore[arg-type]


async def test_records_round_trip_every_field(store: Store) -> None:
    """A record comes back exactly as written, times and enums included."""
    full = record(
        "s1", status=Status.CORRUPTED, corrupted_since=T0, last_error="bad_mac", last_error_at=T0 + timedelta(seconds=1),
        errors=7, regenerations=2, regeneration_failures=1, cleaned=True, updated_at=T0 + timedelta(seconds=2),
    )  # fmt: skip
    await store.apply(WriteBatch(records=[full]))
    assert await store.load("s1") == full
    assert await store.load("nope") is None


async def test_last_record_of_a_session_wins_and_records_are_sorted(store: Store) -> None:
    """Within and across batches the newest record of a session replaces the older."""
    await store.apply(WriteBatch(records=[record("b"), record("a", errors=1), record("a", errors=2)]))
    await store.apply(WriteBatch(records=[record("b", status=Status.UNHEALTHY)]))
    assert [(r.session, r.errors, r.status) for r in await store.records()] == [
        ("a", 2, Status.HEALTHY),
        ("b", 0, Status.UNHEALTHY),
    ]


async def test_audit_is_append_only_in_order(store: Store) -> None:
    """Audit entries come back in the order written, per session or all, details intact."""
    entries = [
        AuditEntry(
            at=T0 + timedelta(seconds=i), session=f"s{i % 2}", kind="retry", detail={"attempt": i, "peer": "peer-1"}
        )
        for i in range(5)
    ]
    await store.apply(WriteBatch(audit=entries[:3]))
    await store.apply(WriteBatch(audit=entries[3:]))
    assert await store.audit() == entries
    assert await store.audit("s1") == [e for e in entries if e.session == "s1"]


async def test_quarantine_keeps_the_bytes(store: Store) -> None:
    """Quarantined key material comes back byte for byte."""
    material = bytes(range(256))
    await store.apply(WriteBatch(quarantine=[QuarantineEntry(at=T0, session="s1", material=material)]))
    assert [q.material for q in await store.quarantined("s1")] == [material]
    assert await store.quarantined("s2") == []


async def test_claim_is_exclusive_until_the_lease_expires(store: Store) -> None:
    """One owner holds a lease; others are refused until it runs out; the holder may renew."""
    until = T0 + timedelta(seconds=300)
    assert await store.claim("s1", "a", T0, until)
    assert not await store.claim("s1", "b", T0 + timedelta(seconds=1), until)
    assert await store.claim("s1", "a", T0 + timedelta(seconds=2), until + timedelta(seconds=10))
    assert await store.claim("s1", "b", until + timedelta(seconds=11), until + timedelta(seconds=600))
    assert await store.claim("s2", "b", T0, until)


async def test_empty_batch_is_harmless(store: Store) -> None:
    """Applying nothing changes nothing."""
    await store.apply(WriteBatch())
    assert await store.records() == [] and await store.audit() == []


async def test_state_survives_reopening(make_store: Factory) -> None:
    """What one store instance wrote, the next one on the same place reads."""
    first = make_store()
    await first.apply(WriteBatch(records=[record("s1", status=Status.CORRUPTED, corrupted_since=T0)]))
    await first.close()
    second = make_store()
    loaded = await second.load("s1")
    assert loaded is not None and loaded.corrupted_since == T0
    await second.close()


async def test_version_holds_still_while_nothing_is_written(store: Store) -> None:
    """Reading changes no version; some pair of back-to-back looks is equal (a shared server may write between)."""
    await store.apply(WriteBatch(records=[record("s1")]))
    looks = [await store.version() for _ in range(20)]
    await store.records()
    await store.audit()
    assert any(a == b for a, b in itertools.pairwise(looks))


async def test_version_moves_with_every_write_of_this_store(store: Store) -> None:
    """A batch applied and a lease taken through this store each change its version."""
    before = await store.version()
    await store.apply(WriteBatch(records=[record("s1", status=Status.CORRUPTED, corrupted_since=T0)]))
    after_batch = await store.version()
    assert after_batch != before
    assert await store.claim("s1", "a", T0, T0 + timedelta(seconds=300))
    assert await store.version() != after_batch


async def test_version_moves_with_a_write_of_another_store_on_the_same_place(make_store: Factory) -> None:
    """A corrupted record another instance (another process) commits changes this one's version."""
    watcher, writer = make_store(), make_store()
    await watcher.apply(WriteBatch(records=[record("s0")]))
    seen = await watcher.version()
    await writer.apply(WriteBatch(records=[record("s9", status=Status.CORRUPTED, corrupted_since=T0)]))
    assert await watcher.version() != seen
    assert [r.session for r in await watcher.records()] == ["s0", "s9"]
    await writer.close()
    await watcher.close()


# --- SQLite specifics -------------------------------------------------------------------


async def test_sqlite_batch_is_atomic(tmp_path: Path) -> None:
    """A batch that fails part way leaves nothing behind."""
    store = SQLiteStore(tmp_path / "atomic.db")
    await store.apply(WriteBatch(records=[record("s1")]))

    class Unserialisable:
        pass

    bad = WriteBatch(
        records=[record("s1", errors=99)],
        quarantine=[QuarantineEntry(at=T0, session="s1", material=Unserialisable())],  # type: ignore[arg-type]
    )
    with pytest.raises(Exception):  # noqa: B017, PT011 - sqlite3's own error type varies
        await store.apply(bad)
    loaded = await store.load("s1")
    assert loaded is not None and loaded.errors == 0
    await store.close()


def message(session: str, message_id: str, **kw: object) -> MessageRecord:
    return MessageRecord(
        session=session,
        peer="peer-0a1b",
        message_id=message_id,
        first_failed_at=T0,
        last_failed_at=T0,
        **kw,  # type: ignore[arg-type]
    )


async def test_ledger_rows_round_trip_and_the_last_open_write_wins(store: Store) -> None:
    """A message row comes back exactly as written; while open, a later write of its key replaces it."""
    first = message("s1", "m1", retries=1)
    later = first.evolve(retries=3, last_failed_at=T0 + timedelta(seconds=9))
    other = message("s0", "m9")
    await store.apply(WriteBatch(messages=[first]))
    await store.apply(WriteBatch(messages=[later, other]))
    assert await store.messages() == [other, later]  # sorted by (session, peer, message_id)
    assert await store.messages("s1") == [later]


async def test_an_outcome_once_stored_is_final(store: Store) -> None:
    """A closed row is never reopened or closed again, even by a later write of the same key."""
    closed = message("s1", "m1", retries=2).evolve(
        outcome="resolved_sender", closed_at=T0 + timedelta(seconds=4), waited=4.0
    )
    await store.apply(WriteBatch(messages=[closed]))
    await store.apply(WriteBatch(messages=[message("s1", "m1", retries=1)]))
    await store.apply(WriteBatch(messages=[closed.evolve(outcome="lost", waited=99.0)]))
    assert await store.messages() == [closed]


async def test_ledger_since_gives_open_rows_and_recently_closed_ones(store: Store) -> None:
    """With ``since``, a store returns the open rows and the rows closed at or after it, nothing older."""
    rows = [
        message("s1", "open"),
        message("s1", "old").evolve(outcome="expired", closed_at=T0, waited=900.0),
        message("s1", "edge").evolve(outcome="lost", closed_at=T0 + timedelta(seconds=10), waited=1.0),
        message("s1", "new").evolve(outcome="resolved_phone", closed_at=T0 + timedelta(seconds=11), waited=3.0),
    ]
    await store.apply(WriteBatch(messages=rows))
    since = await store.messages(since=T0 + timedelta(seconds=10))
    assert [m.message_id for m in since] == ["edge", "new", "open"]
    assert len(await store.messages()) == 4


async def test_ledger_rows_survive_reopening(make_store: Factory) -> None:
    """Ledger rows written by one store object are read back by the next on the same storage."""
    first = make_store()
    row = message("s1", "m1", retries=5).evolve(outcome="expired", closed_at=T0, waited=900.0)
    await first.apply(WriteBatch(messages=[row]))
    await first.close()
    second = make_store()
    assert await second.messages() == [row]
    await second.close()


async def test_sqlite_file_is_owner_only_and_in_wal_mode(tmp_path: Path) -> None:
    """The database and its WAL are readable by the owner alone; the schema is current."""
    path = tmp_path / "perm.db"
    store = SQLiteStore(path)
    await store.apply(WriteBatch(records=[record("s1")]))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    wal = path.with_name(path.name + "-wal")
    assert wal.exists() and stat.S_IMODE(os.stat(wal).st_mode) == 0o600
    assert await store.schema_version() == SCHEMA_VERSION
    await store.close()


async def test_sqlite_migrates_an_old_schema_and_refuses_a_newer_one(tmp_path: Path) -> None:
    """A version-1 file gains the leases table; a file from the future is refused clearly."""
    import sqlite3

    from sessionmgr.store.sqlite import MIGRATIONS

    old = tmp_path / "v1.db"
    db = sqlite3.connect(old)
    for statement in MIGRATIONS[0]:
        db.execute(statement)
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    store = SQLiteStore(old)
    assert await store.claim("s1", "a", T0, T0 + timedelta(seconds=1))
    assert await store.schema_version() == SCHEMA_VERSION
    assert await store.messages() == []  # and the message ledger
    await store.close()

    future = tmp_path / "v99.db"
    db = sqlite3.connect(future)
    db.execute("PRAGMA user_version = 99")
    db.commit()
    db.close()
    store = SQLiteStore(future)
    with pytest.raises(StoreError, match="newer than this sessionmgr understands"):
        await store.records()
    await store.close()


async def test_open_store_selects_by_url(tmp_path: Path) -> None:
    """memory: and paths or sqlite:/// URLs pick the store; anything else is a clear error."""
    assert isinstance(open_store(None), MemoryStore)
    assert isinstance(open_store("memory:"), MemoryStore)
    assert isinstance(open_store(f"sqlite:///{tmp_path}/a.db"), SQLiteStore)
    assert isinstance(open_store(str(tmp_path / "b.db")), SQLiteStore)
    with pytest.raises(ValueError, match="only sqlite"):
        open_store("mysql://db/sessions")


@pytest.mark.virtual_time
async def test_sqlite_on_the_virtual_loop_does_not_move_time(tmp_path: Path) -> None:
    """Waiting for the database thread takes no virtual time, so runs stay reproducible."""
    store = SQLiteStore(tmp_path / "vt.db")
    loop = asyncio.get_running_loop()
    timer = asyncio.create_task(asyncio.sleep(3600))
    before = loop.time()
    for i in range(20):
        await store.apply(WriteBatch(records=[record(f"s{i}")]))
    assert loop.time() == before
    timer.cancel()
    await store.close()
