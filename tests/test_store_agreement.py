"""Hypothesis drives the memory store and each durable store (SQLite, PostgreSQL) with the same operations: they agree."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

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
)
from sessionmgr.store.sqlite import SQLiteStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)
sessions = st.sampled_from(["s1", "s2", "s3"])
times = st.integers(0, 10_000).map(lambda s: T0 + timedelta(seconds=s, microseconds=s % 7))
records = st.builds(
    SessionRecord,
    session=sessions,
    status=st.sampled_from(list(Status)),
    corrupted_since=st.one_of(st.none(), times),
    last_error=st.one_of(st.none(), st.sampled_from(["bad_mac", "prekey"])),
    errors=st.integers(0, 10**6),
    regenerations=st.integers(0, 50),
    cleaned=st.booleans(),
    updated_at=st.one_of(st.none(), times),
)
audits = st.builds(
    AuditEntry,
    at=times,
    session=sessions,
    kind=st.sampled_from(["retry", "corrupted", "cleaned"]),
    detail=st.dictionaries(
        st.sampled_from(["peer", "attempt", "error"]), st.one_of(st.integers(), st.text(max_size=8))
    ),
)
quarantines = st.builds(QuarantineEntry, at=times, session=sessions, material=st.binary(max_size=64))
ledger = st.builds(
    MessageRecord,
    session=sessions,
    peer=st.sampled_from(["peer-a", "peer-b"]),
    message_id=st.sampled_from(["m1", "m2", "M1"]),
    first_failed_at=times,
    last_failed_at=times,
    retries=st.integers(0, 5),
    outcome=st.one_of(st.none(), st.sampled_from(["resolved_sender", "expired", "lost"])),
    closed_at=st.one_of(st.none(), times),
    waited=st.one_of(st.none(), st.floats(0, 1e6)),
)


class StoresAgree(RuleBasedStateMachine):
    """The memory twin and one durable store (``durable``: SQLite unless a subclass says otherwise)."""

    kind: ClassVar[str] = "sqlite"

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.tmp = tempfile.TemporaryDirectory()
        self.memory = MemoryStore()
        self.place = self.new_place()
        self.sqlite = self.open()

    def new_place(self) -> str:
        return str(Path(self.tmp.name) / "agree.db")

    def open(self) -> Store:
        return SQLiteStore(self.place)

    def both(self, op: str, *args: object) -> tuple[object, object]:
        async def run() -> tuple[object, object]:
            return await getattr(self.memory, op)(*args), await getattr(self.sqlite, op)(*args)

        return self.loop.run_until_complete(run())

    def both_kw(self, op: str, **kwargs: object) -> tuple[object, object]:
        async def run() -> tuple[object, object]:
            return await getattr(self.memory, op)(**kwargs), await getattr(self.sqlite, op)(**kwargs)

        return self.loop.run_until_complete(run())

    @rule(
        recs=st.lists(records, max_size=4),
        entries=st.lists(audits, max_size=4),
        quarantine=st.lists(quarantines, max_size=2),
        messages=st.lists(ledger, max_size=3),
    )
    def apply(
        self,
        recs: list[SessionRecord],
        entries: list[AuditEntry],
        quarantine: list[QuarantineEntry],
        messages: list[MessageRecord],
    ) -> None:
        self.both("apply", WriteBatch(records=recs, audit=entries, quarantine=quarantine, messages=messages))

    @rule(session=sessions, owner=st.sampled_from(["a", "b"]), now=times, hold=st.integers(0, 600))
    def claim(self, session: str, owner: str, now: datetime, hold: int) -> None:
        memory, sqlite = self.both("claim", session, owner, now, now + timedelta(seconds=hold))
        assert memory == sqlite

    @rule()
    def reopen(self) -> None:
        self.loop.run_until_complete(self.sqlite.close())
        self.sqlite = self.open()

    @invariant()
    def same_contents(self) -> None:
        for op, args in (("records", ()), ("audit", ()), ("audit", ("s2",)), ("quarantined", ()), ("load", ("s1",))):
            memory, sqlite = self.both(op, *args)
            assert memory == sqlite, op
        memory, durable = self.both("messages")
        assert memory == durable, "messages"
        since = T0 + timedelta(seconds=5000)
        memory, durable = self.both_kw("messages", since=since)
        assert memory == durable, "messages since"

    def teardown(self) -> None:
        self.loop.run_until_complete(self.sqlite.close())
        self.loop.close()
        self.tmp.cleanup()


class PostgresAgrees(StoresAgree):
    """The same machine against PostgreSQL, each example in a fresh schema."""

    kind = "postgres"

    def new_place(self) -> str:
        server = server_url()
        assert server is not None  # the test skips first when there is none
        return fresh_schema(server, "agree")

    def open(self) -> Store:
        from sessionmgr.store.postgres import PostgresStore

        return PostgresStore(self.place)


StoresAgree.TestCase.settings = settings(max_examples=40, stateful_step_count=15, deadline=None)
TestStoresAgree = StoresAgree.TestCase
PostgresAgrees.TestCase.settings = settings(max_examples=25, stateful_step_count=15, deadline=None)


@pytest.mark.skipif(server_url() is None, reason=HOW_TO_RUN)
class TestPostgresAgrees(PostgresAgrees.TestCase):  # type: ignore[misc,valid-type]
    """Memory and PostgreSQL agree on every operation sequence Hypothesis tries."""
