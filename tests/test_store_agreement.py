"""Hypothesis drives the memory store and the SQLite store with the same operations: they agree."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from sessionmgr.store import AuditEntry, MemoryStore, QuarantineEntry, SessionRecord, Status, WriteBatch
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


class StoresAgree(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.tmp = tempfile.TemporaryDirectory()
        self.memory = MemoryStore()
        self.sqlite = SQLiteStore(Path(self.tmp.name) / "agree.db")

    def both(self, op: str, *args: object) -> tuple[object, object]:
        async def run() -> tuple[object, object]:
            return await getattr(self.memory, op)(*args), await getattr(self.sqlite, op)(*args)

        return self.loop.run_until_complete(run())

    @rule(
        recs=st.lists(records, max_size=4),
        entries=st.lists(audits, max_size=4),
        quarantine=st.lists(quarantines, max_size=2),
    )
    def apply(self, recs: list[SessionRecord], entries: list[AuditEntry], quarantine: list[QuarantineEntry]) -> None:
        self.both("apply", WriteBatch(records=recs, audit=entries, quarantine=quarantine))

    @rule(session=sessions, owner=st.sampled_from(["a", "b"]), now=times, hold=st.integers(0, 600))
    def claim(self, session: str, owner: str, now: datetime, hold: int) -> None:
        memory, sqlite = self.both("claim", session, owner, now, now + timedelta(seconds=hold))
        assert memory == sqlite

    @rule()
    def reopen(self) -> None:
        self.loop.run_until_complete(self.sqlite.close())
        self.sqlite = SQLiteStore(self.sqlite.path)

    @invariant()
    def same_contents(self) -> None:
        for op, args in (("records", ()), ("audit", ()), ("audit", ("s2",)), ("quarantined", ()), ("load", ("s1",))):
            memory, sqlite = self.both(op, *args)
            assert memory == sqlite, op

    def teardown(self) -> None:
        self.loop.run_until_complete(self.sqlite.close())
        self.loop.close()
        self.tmp.cleanup()


StoresAgree.TestCase.settings = settings(max_examples=40, stateful_step_count=15, deadline=None)
TestStoresAgree = StoresAgree.TestCase
