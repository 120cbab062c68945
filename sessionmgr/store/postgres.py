"""The PostgreSQL store: many workers, one database, fenced ownership.

Driver: psycopg 3 (``pip install 'sessionmgr[postgres]'``), its synchronous
connection on one dedicated thread, exactly like :class:`~sessionmgr.store.sqlite.SQLiteStore`.
Why not asyncpg, though it is faster per query: psycopg ships its own types
(mypy strict, no stubs), and waiting on a thread is something the virtual
event loop knows how to wait for in real time, whereas a socket read on the
loop itself would let virtual time jump past it (``harness.loop``). A decision
write is one transaction, one round trip (psycopg pipelines ``executemany``),
so per-query speed is not what limits it; ``python -m bench.store`` measures.

Ownership: one row per session in ``leases`` with an ``epoch`` that only
increases (by one each time the lease changes hands). :meth:`claim` takes or
renews it (``FOR UPDATE SKIP LOCKED``: a worker never waits on another's
claim, it moves on). :meth:`apply` checks, inside the write transaction and
under a share lock on the lease rows, that this store still holds the epoch it
claimed for every session it writes: if not, those sessions' writes are
dropped, the rest commit, and :class:`~sessionmgr.store.fencing.LeaseLost` says
which. A store bound to an owner (:meth:`bind_owner`, as the manager does)
goes further: each write takes the lease of a free or expired session, renews
its own, and is refused for a session another owner holds a live lease on,
so the first worker to decide about a session owns it. Time is the batch's
own (its latest timestamp): the store reads no clock. Alert firings are rows with a
unique index on open firings, so a rule fires once per cluster.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, Final, TypeVar

import psycopg

from sessionmgr.store.base import AuditEntry, MessageRecord, QuarantineEntry, SessionRecord, Status, WriteBatch
from sessionmgr.store.fencing import LeaseLost, StoreError
from sessionmgr.store.postgres_schema import SCHEMA_VERSION, one, prepare

__all__ = ["SCHEMA_VERSION", "LeaseLost", "PostgresStore", "StoreError"]

T = TypeVar("T")
_Held = dict[str, tuple[str, int]]  # session -> (owner, epoch)

_RECORD_COLUMNS: Final = (
    "session", "status", "corrupted_since", "last_error", "last_error_at", "errors", "regenerations",
    "regeneration_failures", "cleaned", "updated_at",
)  # fmt: skip
_UPSERT: Final = (
    f"INSERT INTO sessions ({', '.join(_RECORD_COLUMNS)}) VALUES ({', '.join('%s' for _ in _RECORD_COLUMNS)}) "
    f"ON CONFLICT (session) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in _RECORD_COLUMNS[1:])}"
)
_MESSAGE_COLUMNS: Final = (
    "session", "peer", "message_id", "first_failed_at", "last_failed_at", "retries", "outcome", "closed_at", "waited",
)  # fmt: skip
# an outcome, once stored, is final: later writes of the key are ignored
_MESSAGE_UPSERT: Final = (
    f"INSERT INTO messages ({', '.join(_MESSAGE_COLUMNS)}) VALUES ({', '.join('%s' for _ in _MESSAGE_COLUMNS)}) "
    f"ON CONFLICT (session, peer, message_id) DO UPDATE SET "
    f"{', '.join(f'{c} = excluded.{c}' for c in _MESSAGE_COLUMNS[3:])} WHERE messages.outcome IS NULL"
)
_CLUSTER = "*"  # audit entries about the whole manager, not one session: nobody's lease


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", url)


class PostgresStore:
    """A store in one PostgreSQL database (or schema, through ``options=-csearch_path=...``)."""

    def __init__(
        self,
        url: str,
        *,
        owner: str | None = None,
        lease: timedelta = timedelta(seconds=30),
        connect_timeout: float = 10.0,
        read_only: bool = False,
    ) -> None:
        self.url = url
        #: read only (``sessionmgr status``): no migration, and every transaction is READ ONLY
        self.read_only = read_only
        self.owner = owner
        self.lease = lease
        self._connect_timeout = connect_timeout
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sessionmgr-postgres")
        self._db: psycopg.Connection[tuple[Any, ...]] | None = None
        #: the epoch this store claimed for each session, by owner
        self._held: _Held = {}

    def bind_owner(self, owner: str, lease: timedelta | None = None) -> None:
        """Write as ``owner`` from now on: each write takes or renews the lease of every session it touches
        (for ``lease`` past the batch's latest time) and is refused for sessions another owner holds."""
        self.owner = owner
        if lease is not None:
            self.lease = lease

    def held(self) -> dict[str, tuple[str, int]]:
        """The leases this store holds, as far as it knows: session -> (owner, epoch)."""
        return dict(self._held)

    # --- plumbing -------------------------------------------------------------------

    async def connect(self) -> None:
        """Connect now, so that a server that cannot be used fails here with a :class:`StoreError`."""
        await self._run(lambda db: None)

    async def _run(self, fn: Callable[[psycopg.Connection[tuple[Any, ...]]], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._with_connection, fn)

    def _with_connection(self, fn: Callable[[psycopg.Connection[tuple[Any, ...]]], T]) -> T:
        if self._db is None or self._db.closed:
            self._db = self._connect()
        return fn(self._db)

    def _connect(self) -> psycopg.Connection[tuple[Any, ...]]:
        try:
            db = psycopg.connect(self.url, autocommit=True, connect_timeout=max(1, int(self._connect_timeout)))
        except psycopg.OperationalError as exc:
            raise StoreError(f"{redact(self.url)}: cannot connect: {' '.join(str(exc).split())}") from exc
        db.execute("SET TIME ZONE 'UTC'")
        try:
            prepare(db, redact(self.url), read_only=self.read_only)
        except psycopg.Error as exc:  # e.g. no right to create tables: say where and what, not a traceback
            db.close()
            raise StoreError(f"{redact(self.url)}: cannot prepare the schema: {' '.join(str(exc).split())}") from exc
        except BaseException:
            db.close()
            raise
        return db

    # --- the store interface --------------------------------------------------------------

    async def apply(self, batch: WriteBatch) -> None:
        if not batch:
            return
        refused, taken = await self._run(lambda db: self._apply(db, batch))
        self._held.update(taken)  # only once committed
        if refused:
            for session in refused:
                self._held.pop(session, None)
            raise LeaseLost(refused, self.owner)

    def _apply(self, db: psycopg.Connection[tuple[Any, ...]], batch: WriteBatch) -> tuple[frozenset[str], _Held]:
        touched = {r.session for r in batch.records} | {e.session for e in batch.audit}
        touched |= {q.session for q in batch.quarantine} | {m.session for m in batch.messages}
        touched.discard(_CLUSTER)
        with db.transaction():
            refused, taken = self._fenced_off(db, sorted(touched), _latest(batch))
            with db.cursor() as cur:
                cur.executemany(_UPSERT, [_record_row(r) for r in batch.records if r.session not in refused])
                audit = [e for e in batch.audit if e.session not in refused and self._first_firing(db, e)]
                cur.executemany(
                    "INSERT INTO audit (at, session, kind, detail) VALUES (%s, %s, %s, %s::json)",
                    [(e.at, e.session, e.kind, json.dumps(e.detail, default=str)) for e in audit],
                )
                cur.executemany(
                    "INSERT INTO quarantine (at, session, material) VALUES (%s, %s, %s)",
                    [(q.at, q.session, q.material) for q in batch.quarantine if q.session not in refused],
                )
                messages = [m for m in batch.messages if m.session not in refused]
                cur.executemany(_MESSAGE_UPSERT, [tuple(getattr(m, c) for c in _MESSAGE_COLUMNS) for m in messages])
        return refused, taken

    def _fenced_off(
        self, db: psycopg.Connection[tuple[Any, ...]], sessions: list[str], now: datetime | None
    ) -> tuple[frozenset[str], _Held]:
        """Check (and, bound to an owner, take or renew) the lease of every session the batch writes.

        Returns the sessions it may not write (a lease this store held changed
        hands, or, bound, another owner's lease is live at the batch's time) and
        the leases taken or renewed.
        """
        taken: _Held = {}
        if not sessions:
            return frozenset(), taken
        # Row locks in session order (no deadlock between two writers): a takeover by another
        # worker waits until this write commits, so no write lands after another epoch began.
        lock = "FOR SHARE" if self.owner is None else "FOR UPDATE"
        rows = db.execute(
            f"SELECT session, owner, epoch, until FROM leases WHERE session = ANY(%s) ORDER BY session {lock}",
            (sessions,),
        ).fetchall()
        leases = {session: (owner, int(epoch), until) for session, owner, epoch, until in rows}
        refused = set()
        for session in sessions:
            lease, held = leases.get(session), self._held.get(session)
            if held is not None and (lease is None or lease[:2] != held):
                refused.add(session)  # it changed hands since we claimed it: fenced off
            elif now is not None and lease is not None and lease[0] == self.owner and lease[2] >= now + self.lease / 2:
                taken[session] = (lease[0], lease[1])  # ours, and not half run out: no need to renew yet
            elif self.owner is not None and now is not None:
                epoch = _take(db, session, self.owner, lease, now, now + self.lease)
                if epoch is None:
                    refused.add(session)
                else:
                    taken[session] = (self.owner, epoch)
        return frozenset(refused), taken

    @staticmethod
    def _first_firing(db: psycopg.Connection[tuple[Any, ...]], entry: AuditEntry) -> bool:
        """Record an alert firing or resolution; False for a firing another worker already recorded."""
        rule = entry.detail.get("rule")
        if entry.kind == "alert_fired" and rule is not None:
            row = db.execute(
                "INSERT INTO alert_firings (rule, session, fired_at) VALUES (%s, %s, %s) "
                "ON CONFLICT (rule, session) WHERE resolved_at IS NULL DO NOTHING RETURNING id",
                (str(rule), entry.session, entry.at),
            ).fetchone()
            return row is not None
        if entry.kind == "alert_resolved" and rule is not None:
            db.execute(
                "UPDATE alert_firings SET resolved_at = %s WHERE rule = %s AND session = %s AND resolved_at IS NULL",
                (entry.at, str(rule), entry.session),
            )
        return True

    async def load(self, session: str) -> SessionRecord | None:
        row = await self._run(
            lambda db: db.execute(
                f"SELECT {', '.join(_RECORD_COLUMNS)} FROM sessions WHERE session = %s", (session,)
            ).fetchone()
        )
        return None if row is None else _record(row)

    async def records(self) -> list[SessionRecord]:
        rows = await self._run(
            # COLLATE "C": sorted by code point, as Python sorts, whatever the database's locale
            lambda db: db.execute(
                f'SELECT {", ".join(_RECORD_COLUMNS)} FROM sessions ORDER BY session COLLATE "C"'
            ).fetchall()
        )
        return [_record(row) for row in rows]

    async def _rows(self, query: str, session: str | None) -> list[tuple[Any, ...]]:
        """``SELECT ... FROM table`` for one session or all, in the order written."""
        where, args = ("", ()) if session is None else (" WHERE session = %s", (session,))
        return await self._run(lambda db: db.execute(query + where + " ORDER BY id", args).fetchall())

    async def audit(self, session: str | None = None) -> list[AuditEntry]:
        rows = await self._rows("SELECT at, session, kind, detail FROM audit", session)
        return [AuditEntry(at=a, session=s, kind=k, detail=d) for a, s, k, d in rows]

    async def quarantined(self, session: str | None = None) -> list[QuarantineEntry]:
        rows = await self._rows("SELECT at, session, material FROM quarantine", session)
        return [QuarantineEntry(at=a, session=s, material=bytes(m)) for a, s, m in rows]

    async def messages(self, session: str | None = None, *, since: datetime | None = None) -> list[MessageRecord]:
        where: list[str] = []
        args: list[object] = []
        if session is not None:
            where.append("session = %s")
            args.append(session)
        if since is not None:
            where.append("(closed_at IS NULL OR closed_at >= %s)")
            args.append(since)
        query = f"SELECT {', '.join(_MESSAGE_COLUMNS)} FROM messages"
        query += (" WHERE " + " AND ".join(where)) if where else ""
        query += ' ORDER BY session COLLATE "C", peer COLLATE "C", message_id COLLATE "C"'
        rows = await self._run(lambda db: db.execute(query, args).fetchall())
        return [MessageRecord(**dict(zip(_MESSAGE_COLUMNS, row, strict=True))) for row in rows]

    async def claim(self, session: str, owner: str, now: datetime, until: datetime) -> bool:
        epoch = await self._run(lambda db: _claim(db, session, owner, now, until))
        if epoch is None:
            return False
        self._held[session] = (owner, epoch)
        return True

    async def version(self) -> str:
        """The server's ``pg_current_snapshot()``: xmax (one past the latest ended transaction) and the
        running ones, so any writing transaction that ends between two calls, in any session, changes it
        (see docs/store.md: server-wide, so other databases' writes cause needless looks, never a miss)."""

        def read(db: psycopg.Connection[tuple[Any, ...]]) -> str:
            row = db.execute("SELECT pg_current_snapshot()::text").fetchone()
            assert row is not None  # a scalar function always returns a row
            return str(row[0])

        return await self._run(read)

    async def schema_version(self) -> int:
        return await self._run(lambda db: one(db.execute("SELECT max(version) FROM sessionmgr_schema").fetchone()))

    async def close(self) -> None:
        def shut(db: psycopg.Connection[tuple[Any, ...]]) -> None:
            db.close()

        if self._db is not None:
            await self._run(shut)
            self._db = None
        self._executor.shutdown(wait=True)


def _claim(
    db: psycopg.Connection[tuple[Any, ...]], session: str, owner: str, now: datetime, until: datetime
) -> int | None:
    """Take or renew the lease; its epoch, or None if another owner holds it (or is claiming it now)."""
    with db.transaction():
        row = db.execute(
            "SELECT owner, epoch, until FROM leases WHERE session = %s FOR UPDATE SKIP LOCKED", (session,)
        ).fetchone()
        if row is None:
            current = db.execute("SELECT owner FROM leases WHERE session = %s", (session,)).fetchone()
            if current is not None and current[0] != owner:
                return None  # another worker holds it or is taking it now: move on
            if current is not None:  # ours, only locked by a writer checking it: wait our turn
                row = db.execute(
                    "SELECT owner, epoch, until FROM leases WHERE session = %s FOR UPDATE", (session,)
                ).fetchone()
        if row is None:
            inserted = db.execute(
                "INSERT INTO leases (session, owner, epoch, until) VALUES (%s, %s, 1, %s) "
                "ON CONFLICT (session) DO NOTHING RETURNING epoch",
                (session, owner, until),
            ).fetchone()
            return None if inserted is None else int(inserted[0])  # None: locked or just taken by another
        holder, epoch, expires = row
        if holder != owner and expires > now:
            return None
        taken = int(epoch) + int(holder != owner)
        db.execute(
            "UPDATE leases SET owner = %s, epoch = %s, until = %s WHERE session = %s", (owner, taken, until, session)
        )
        return taken


def _take(
    db: psycopg.Connection[tuple[Any, ...]],
    session: str,
    owner: str,
    lease: tuple[str, int, datetime] | None,
    now: datetime,
    until: datetime,
) -> int | None:
    """Inside a write: take a free or expired lease, renew our own; the epoch, or None if another owner's is live."""
    if lease is None:
        row = db.execute(
            "INSERT INTO leases (session, owner, epoch, until) VALUES (%s, %s, 1, %s) "
            "ON CONFLICT (session) DO NOTHING RETURNING epoch",
            (session, owner, until),
        ).fetchone()
        return None if row is None else int(row[0])  # None: another writer created it first
    holder, epoch, expires = lease
    if holder != owner and expires > now:
        return None
    taken = epoch + int(holder != owner)
    db.execute(
        "UPDATE leases SET owner = %s, epoch = %s, until = greatest(until, %s) WHERE session = %s",
        (owner, taken, until, session),
    )
    return taken


def _latest(batch: WriteBatch) -> datetime | None:
    """The batch's own idea of now: its latest timestamp (the store reads no clock)."""
    times = [e.at for e in batch.audit] + [q.at for q in batch.quarantine]
    times += [r.updated_at for r in batch.records if r.updated_at is not None]
    times += [m.closed_at or m.last_failed_at for m in batch.messages]
    return max(times, default=None)


def _record_row(r: SessionRecord) -> tuple[Any, ...]:
    return (
        r.session, r.status.value, r.corrupted_since, r.last_error, r.last_error_at, r.errors,
        r.regenerations, r.regeneration_failures, r.cleaned, r.updated_at,
    )  # fmt: skip


def _record(row: tuple[Any, ...]) -> SessionRecord:
    values = dict(zip(_RECORD_COLUMNS, row, strict=True))
    return SessionRecord(**{**values, "status": Status(values["status"])})
