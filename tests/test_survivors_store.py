"""The lease boundary: a lease held until ``until`` is free at exactly ``until`` and held a microsecond before."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from harness.postgres import HOW_TO_RUN, fresh_schema, server_url
from sessionmgr.store import MemoryStore, Store
from sessionmgr.store.sqlite import SQLiteStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)
UNTIL = T0 + timedelta(seconds=300)
pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture(params=["memory", "sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """A store of each kind (PostgreSQL only with a server: see harness.postgres)."""
    if request.param == "memory":
        s: Store = MemoryStore()
    elif request.param == "sqlite":
        s = SQLiteStore(tmp_path / "lease.db")
    else:
        server = server_url()
        if server is None:
            pytest.skip(HOW_TO_RUN)
        from sessionmgr.store.postgres import PostgresStore

        s = PostgresStore(fresh_schema(server))
    yield s
    await s.close()


async def test_a_lease_is_free_at_exactly_its_end(store: Store) -> None:
    """Another owner's claim at exactly ``until`` succeeds: the lease covers [now, until), not until itself."""
    assert await store.claim("s1", "a", T0, UNTIL)
    assert await store.claim("s1", "b", UNTIL, UNTIL + timedelta(seconds=300))


async def test_a_lease_is_held_up_to_its_last_microsecond(store: Store) -> None:
    """Another owner's claim one microsecond before ``until`` is refused."""
    assert await store.claim("s1", "a", T0, UNTIL)
    assert not await store.claim("s1", "b", UNTIL - timedelta(microseconds=1), UNTIL + timedelta(seconds=300))


@pytest.mark.skipif(server_url() is None, reason=HOW_TO_RUN)
@pytest.mark.parametrize(("at", "lands"), [(UNTIL, True), (UNTIL - timedelta(microseconds=1), False)])
async def test_a_fenced_write_at_the_end_of_anothers_lease_takes_it(at: datetime, lands: bool) -> None:
    """PostgreSQL, bound to an owner: a write stamped exactly at another owner's ``until`` lands, one a microsecond earlier is refused."""
    from sessionmgr.store import AuditEntry, WriteBatch
    from sessionmgr.store.fencing import LeaseLost
    from sessionmgr.store.postgres import PostgresStore

    server = server_url()
    assert server is not None
    url = fresh_schema(server)
    a, b = PostgresStore(url, owner="a"), PostgresStore(url, owner="b")
    try:
        assert await b.claim("s1", "b", T0, UNTIL)
        batch = WriteBatch(audit=[AuditEntry(at=at, session="s1", kind="regeneration_started")])
        if lands:
            await a.apply(batch)
            assert [e.kind for e in await b.audit("s1")] == ["regeneration_started"]
        else:
            with pytest.raises(LeaseLost):
                await a.apply(batch)
            assert await b.audit("s1") == []
    finally:
        await a.close()
        await b.close()
