"""PostgreSQL specifics: migrations, fenced leases, one alert firing per cluster, clear errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio

from harness.postgres import HOW_TO_RUN, fresh_schema, server_url
from sessionmgr.store import AuditEntry, QuarantineEntry, SessionRecord, Status, WriteBatch, open_store
from sessionmgr.store.fencing import LeaseLost, StoreError
from sessionmgr.store.postgres import PostgresStore, redact

pytestmark = [pytest.mark.asyncio, pytest.mark.skipif(server_url() is None, reason=HOW_TO_RUN)]
T0 = datetime(2026, 1, 1, tzinfo=UTC)
LEASE = timedelta(seconds=30)


@pytest.fixture
def url() -> str:
    """A URL for an empty schema on the test server."""
    server = server_url()
    assert server is not None
    return fresh_schema(server)


@pytest_asyncio.fixture
async def two(url: str) -> AsyncIterator[tuple[PostgresStore, PostgresStore]]:
    """Two workers on one schema, each bound to its owner."""
    a, b = PostgresStore(url, owner="a"), PostgresStore(url, owner="b")
    yield a, b
    await a.close()
    await b.close()


def decision(session: str, at: datetime, kind: str = "regeneration_started") -> WriteBatch:
    return WriteBatch(
        records=[SessionRecord(session=session, status=Status.REGENERATING, updated_at=at)],
        audit=[AuditEntry(at=at, session=session, kind=kind)],
    )


async def test_a_worker_that_lost_its_lease_cannot_write(two: tuple[PostgresStore, PostgresStore]) -> None:
    """After the lease expires and changes hands, the old holder's write is refused, the new one's lands."""
    a, b = two
    assert await a.claim("s1", "a", T0, T0 + LEASE)
    await a.apply(decision("s1", T0 + timedelta(seconds=1)))
    assert not await b.claim("s1", "b", T0 + timedelta(seconds=5), T0 + LEASE * 2)
    later = T0 + LEASE + timedelta(seconds=1)
    assert await b.claim("s1", "b", later, later + LEASE)
    assert b.held()["s1"] == ("b", 2)  # the epoch went up with the change of hands
    with pytest.raises(LeaseLost, match="lease lost on s1") as lost:
        await a.apply(decision("s1", later, kind="regeneration_succeeded"))
    assert lost.value.sessions == frozenset({"s1"}) and "s1" not in a.held()
    await b.apply(decision("s1", later, kind="regeneration_failed"))
    assert [e.kind for e in await b.audit("s1")] == ["regeneration_started", "regeneration_failed"]


async def test_fenced_sessions_are_dropped_and_the_rest_of_the_batch_commits(
    two: tuple[PostgresStore, PostgresStore],
) -> None:
    """A batch touching a lost session and a free one writes the free one only, and says which was refused."""
    a, b = two
    assert await b.claim("s1", "b", T0, T0 + LEASE)
    batch = decision("s1", T0 + timedelta(seconds=2))
    batch.records.append(SessionRecord(session="s2", errors=3, updated_at=T0))
    batch.quarantine.append(QuarantineEntry(at=T0, session="s1", material=b"k"))
    with pytest.raises(LeaseLost) as lost:
        await a.apply(batch)  # a is bound to owner "a"; b's lease on s1 is live
    assert lost.value.sessions == frozenset({"s1"})
    assert await b.load("s1") is None and await b.quarantined() == []
    s2 = await b.load("s2")
    assert s2 is not None and s2.errors == 3


async def test_epoch_only_increases_and_renewal_keeps_it(two: tuple[PostgresStore, PostgresStore]) -> None:
    """Renewing keeps the epoch; every change of hands raises it by one."""
    a, b = two
    epochs = []
    t = T0
    for owner, store in [(a.owner, a), (a.owner, a), (b.owner, b), (a.owner, a), (b.owner, b)]:
        assert owner is not None
        assert await store.claim("s1", owner, t, t + LEASE)
        epochs.append(store.held()["s1"][1])
        t += LEASE + timedelta(seconds=1)
    assert epochs == [1, 1, 2, 3, 4]


async def test_racing_claims_give_the_lease_to_exactly_one(url: str) -> None:
    """Many workers claiming one free session at once: exactly one wins (SKIP LOCKED, never waiting)."""
    stores = [PostgresStore(url, owner=f"w{i}") for i in range(6)]
    try:
        await stores[0].records()  # migrate once before the race
        wins = await asyncio.gather(*(s.claim("s1", f"w{i}", T0, T0 + LEASE) for i, s in enumerate(stores)))
        assert sum(wins) == 1
    finally:
        for s in stores:
            await s.close()


async def test_an_alert_fires_once_per_cluster(two: tuple[PostgresStore, PostgresStore]) -> None:
    """Two workers recording the same firing keep one row; after it resolves it may fire again."""
    a, b = two
    fired = AuditEntry(at=T0, session="*", kind="alert_fired", detail={"rule": "mass_corruption"})
    resolved = AuditEntry(at=T0 + LEASE, session="*", kind="alert_resolved", detail={"rule": "mass_corruption"})
    await a.apply(WriteBatch(audit=[fired]))
    await b.apply(WriteBatch(audit=[fired]))
    assert [e.kind for e in await a.audit("*")] == ["alert_fired"]
    await b.apply(WriteBatch(audit=[resolved]))
    await a.apply(WriteBatch(audit=[fired]))
    assert [e.kind for e in await a.audit("*")] == ["alert_fired", "alert_resolved", "alert_fired"]


async def test_an_old_schema_is_migrated_and_one_from_the_future_refused(url: str) -> None:
    """A version-1 database gains the message ledger; one migrated by a newer sessionmgr is refused, untouched."""
    import psycopg

    from sessionmgr.store.postgres_schema import MIGRATIONS, SCHEMA_VERSION

    with psycopg.connect(url, autocommit=True) as db:
        db.execute("CREATE TABLE sessionmgr_schema (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ DEFAULT now())")
        for statement in MIGRATIONS[0]:
            db.execute(statement)
        db.execute("INSERT INTO sessionmgr_schema (version) VALUES (1)")
    first = PostgresStore(url)
    assert await first.messages() == []
    assert await first.schema_version() == SCHEMA_VERSION == 2
    await first.close()
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("INSERT INTO sessionmgr_schema (version) VALUES (99)")
    store = PostgresStore(url)
    with pytest.raises(StoreError, match="schema version 99 is newer than this sessionmgr understands"):
        await store.records()
    await store.close()


async def test_open_store_selects_postgres_and_errors_hide_the_password() -> None:
    """postgresql:// picks PostgreSQL; a server that is not there is a clear error without the password."""
    assert isinstance(open_store("postgresql://u@localhost/db"), PostgresStore)
    assert redact("postgresql://u:secret@h:5/db") == "postgresql://u:***@h:5/db"
    store = PostgresStore("postgresql://u:secret@127.0.0.1:9/db", connect_timeout=2)
    with pytest.raises(StoreError, match="cannot connect") as error:
        await store.records()
    assert "secret" not in str(error.value)
    await store.close()


async def test_the_first_worker_to_write_about_a_session_owns_it(two: tuple[PostgresStore, PostgresStore]) -> None:
    """Bound stores take the lease with their first write; the other's writes wait out the lease, then take over."""
    a, b = two
    await a.apply(decision("s1", T0))
    assert a.held() == {"s1": ("a", 1)}
    with pytest.raises(LeaseLost):
        await b.apply(decision("s1", T0 + timedelta(seconds=10)))  # a's lease is live: b may not write
    await a.apply(decision("s1", T0 + timedelta(seconds=20), kind="regeneration_succeeded"))  # renews to T0+50s
    with pytest.raises(LeaseLost):
        await b.apply(decision("s1", T0 + timedelta(seconds=40)))
    await b.apply(decision("s1", T0 + timedelta(seconds=50), kind="regeneration_failed"))  # expired: b's now
    assert b.held() == {"s1": ("b", 2)}
    with pytest.raises(LeaseLost):
        await a.apply(decision("s1", T0 + timedelta(seconds=21), kind="cleaned"))  # a was fenced off
    kinds = [e.kind for e in await a.audit("s1")]
    assert kinds == ["regeneration_started", "regeneration_succeeded", "regeneration_failed"]


async def test_a_failed_write_takes_no_lease(url: str) -> None:
    """A write that rolls back leaves no lease behind, in the database or in the store's memory."""
    store = PostgresStore(url, owner="a")
    bad = decision("s1", T0)
    bad.quarantine.append(QuarantineEntry(at=T0, session="s1", material=object()))  # type: ignore[arg-type]
    with pytest.raises(Exception):  # noqa: B017, PT011 - the driver's own error type
        await store.apply(bad)
    assert store.held() == {}
    other = PostgresStore(url, owner="b")
    await other.apply(decision("s1", T0))
    assert other.held() == {"s1": ("b", 1)}
    await store.close()
    await other.close()
