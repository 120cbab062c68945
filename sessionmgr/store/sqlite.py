"""The SQLite store: the embedded default for anything that must survive a restart."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TypeVar

from sessionmgr.store.base import AuditEntry, MessageRecord, QuarantineEntry, SessionRecord, Status, WriteBatch

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "SQLiteStore", "StoreError"]

T = TypeVar("T")

#: Each migration takes the schema from its index to the next version; never edit one, add one.
MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (  # 0 -> 1: sessions, audit log, quarantine
        """CREATE TABLE sessions (
            session TEXT PRIMARY KEY,
            status TEXT NOT NULL,
            corrupted_since TEXT,
            last_error TEXT,
            last_error_at TEXT,
            errors INTEGER NOT NULL DEFAULT 0,
            regenerations INTEGER NOT NULL DEFAULT 0,
            regeneration_failures INTEGER NOT NULL DEFAULT 0,
            cleaned INTEGER NOT NULL DEFAULT 0,
            updated_at TEXT
        )""",
        """CREATE TABLE audit (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            session TEXT NOT NULL,
            kind TEXT NOT NULL,
            detail TEXT NOT NULL
        )""",
        "CREATE INDEX audit_by_session ON audit (session, id)",
        """CREATE TABLE quarantine (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            session TEXT NOT NULL,
            material BLOB NOT NULL
        )""",
    ),
    (  # 1 -> 2: cleanup leases, so several workers can share one database
        """CREATE TABLE leases (
            session TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            until TEXT NOT NULL
        )""",
    ),
    (  # 2 -> 3: the message ledger (retry budget per message, one outcome each)
        """CREATE TABLE messages (
            session TEXT NOT NULL,
            peer TEXT NOT NULL,
            message_id TEXT NOT NULL,
            first_failed_at TEXT NOT NULL,
            last_failed_at TEXT NOT NULL,
            retries INTEGER NOT NULL DEFAULT 0,
            outcome TEXT,
            closed_at TEXT,
            waited REAL,
            PRIMARY KEY (session, peer, message_id)
        )""",
        "CREATE INDEX messages_open ON messages (closed_at)",
    ),
)
SCHEMA_VERSION: Final = len(MIGRATIONS)

_RECORD_COLUMNS: Final = (
    "session", "status", "corrupted_since", "last_error", "last_error_at", "errors", "regenerations",
    "regeneration_failures", "cleaned", "updated_at",
)  # fmt: skip


_MESSAGE_COLUMNS: Final = (
    "session", "peer", "message_id", "first_failed_at", "last_failed_at", "retries", "outcome", "closed_at", "waited",
)  # fmt: skip


#: Tables a sessionmgr database may hold (sqlite_sequence is SQLite's own, for AUTOINCREMENT).
_OUR_TABLES: Final = frozenset({"sessions", "audit", "quarantine", "leases", "messages", "sqlite_sequence"})

#: SQLite's error message (a fragment of it) -> what it means for whoever gave us the file.
_EXPLAINED: Final = (
    ("file is not a database", "not a SQLite database (garbage, encrypted or damaged)"),
    ("database is locked", "locked by another process (gave up after {timeout:g} s)"),
    ("attempt to write a readonly database", "not writable (a read-only file or directory)"),
    ("unable to open database file", "cannot open it"),
    ("disk I/O error", "disk I/O error"),
    ("database disk image is malformed", "damaged (database disk image is malformed)"),
)


class StoreError(RuntimeError):
    """The database cannot be used: newer than this code, or not a sessionmgr store."""


def refuse_newer(where: object, version: int, understood: int) -> None:
    """Refuse a schema a later sessionmgr wrote (every store, read-only or migrating, asks the same)."""
    if version > understood:
        message = f"schema version {version} is newer than this sessionmgr understands ({understood})"
        raise StoreError(f"{where}: {message}; upgrade sessionmgr")


def _ts(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat(timespec="microseconds")


def _dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


class SQLiteStore:
    """A store in one SQLite file: WAL, one transaction per batch, versioned schema, mode 0600.

    All database work runs on one dedicated thread, so the event loop never
    blocks on disk. Several processes may share the file; :meth:`claim` keeps
    them from cleaning the same session twice.
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = 10.0, read_only: bool = False) -> None:
        self.path = Path(path)
        self._busy_timeout = busy_timeout
        #: read only (``sessionmgr status``): no file created, no migration, no WAL switch, nothing written
        self.read_only = read_only
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sessionmgr-sqlite")
        self._db: sqlite3.Connection | None = None
        #: connections opened so far: a version read on one is not comparable with one read on another
        self._connections = 0

    # --- plumbing -------------------------------------------------------------------

    async def connect(self) -> None:
        """Open the database now, so that one that cannot be used fails here with a :class:`StoreError`."""
        await self._run(lambda db: None)

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._with_connection, fn)

    def _with_connection(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._db is None:
            self._db = self._connect()
            self._connections += 1
        return fn(self._db)

    def _connect(self) -> sqlite3.Connection:
        """The connection, or a :class:`StoreError` that names the file and what is wrong with it."""
        if self.path.is_dir():
            raise StoreError(f"{self.path}: is a directory, not a database file")
        if self.read_only and not self.path.exists():
            raise StoreError(f"{self.path}: no such file")
        try:
            if not self.read_only and not self.path.exists():
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # created owner-only before SQLite does (its -wal and -shm files copy this mode); a file
                # that exists is never chmod-ed: it may be another user's, or deliberately shared
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600))
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot create it: {exc.strerror}") from None
        # read only: through a URI, so SQLite neither creates the file nor writes to it
        target, uri = (f"{self.path.resolve().as_uri()}?mode=ro", True) if self.read_only else (str(self.path), False)
        try:
            db = sqlite3.connect(
                target, uri=uri, isolation_level=None, timeout=self._busy_timeout, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: {self._explain(exc)}") from None
        try:
            self._check(db)  # before anything is written: a foreign database stays exactly as it was
            if not self.read_only:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL mode
                db.execute("PRAGMA foreign_keys=ON")
                self._migrate(db)
        except sqlite3.Error as exc:
            db.close()
            raise StoreError(f"{self.path}: {self._explain(exc)}") from None
        except BaseException:
            db.close()
            raise
        return db

    def _check(self, db: sqlite3.Connection) -> None:
        """Refuse a database that is not ours (before anything is written to it) or newer than this code."""
        version = db.execute("PRAGMA user_version").fetchone()[0]  # the first read: garbage fails here
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        # our migrations set user_version in the transaction that creates our tables: version 0 with
        # tables means someone else made them, even if they share a name with ours
        if foreign := sorted(tables - _OUR_TABLES if version else tables):
            shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
            raise StoreError(
                f"{self.path}: a SQLite database of another application (tables {shown}), not a sessionmgr store"
            )
        refuse_newer(self.path, version, SCHEMA_VERSION)
        if self.read_only and version == 0:
            raise StoreError(f"{self.path}: an empty database, not a sessionmgr store yet")

    def _explain(self, exc: sqlite3.Error) -> str:
        """What SQLite's error means for the operator, from its message (SQLite has few distinct codes)."""
        message = str(exc)
        if "unable to open" in message or "readonly database" in message:
            # SQLite says the same for every permission problem: find which one it is
            if not os.access(self.path, os.R_OK, effective_ids=True):
                return "not readable (permission denied)"
            if not self.read_only and not os.access(self.path, os.W_OK, effective_ids=True):
                return "not writable (permission denied)"
            if not os.access(self.path.parent, os.W_OK | os.X_OK, effective_ids=True):
                return f"its directory is not writable (SQLite needs to create {self.path.name}-wal and -shm there)"
        for fragment, meaning in _EXPLAINED:
            if fragment in message:
                return meaning.format(timeout=self._busy_timeout)
        return message

    def _migrate(self, db: sqlite3.Connection) -> None:
        db.execute("BEGIN IMMEDIATE")
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            refuse_newer(self.path, version, SCHEMA_VERSION)  # again under the lock: a newer one may have migrated
            for index in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[index]:
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    @staticmethod
    def _transaction(db: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
        db.execute("BEGIN IMMEDIATE")
        try:
            result = work(db)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return result

    # --- the store interface --------------------------------------------------------------

    async def apply(self, batch: WriteBatch) -> None:
        def write(db: sqlite3.Connection) -> None:
            placeholders = ", ".join("?" for _ in _RECORD_COLUMNS)
            updates = ", ".join(f"{c} = excluded.{c}" for c in _RECORD_COLUMNS[1:])
            db.executemany(
                f"INSERT INTO sessions ({', '.join(_RECORD_COLUMNS)}) VALUES ({placeholders}) "
                f"ON CONFLICT (session) DO UPDATE SET {updates}",
                [_record_row(r) for r in batch.records],
            )
            db.executemany(
                "INSERT INTO audit (at, session, kind, detail) VALUES (?, ?, ?, ?)",
                [(_ts(e.at), e.session, e.kind, json.dumps(e.detail, default=str)) for e in batch.audit],
            )
            db.executemany(
                "INSERT INTO quarantine (at, session, material) VALUES (?, ?, ?)",
                [(_ts(q.at), q.session, q.material) for q in batch.quarantine],
            )
            names = ", ".join(_MESSAGE_COLUMNS)
            updates = ", ".join(f"{c} = excluded.{c}" for c in _MESSAGE_COLUMNS[3:])
            db.executemany(  # an outcome, once stored, is final
                f"INSERT INTO messages ({names}) VALUES ({', '.join('?' for _ in _MESSAGE_COLUMNS)}) "
                f"ON CONFLICT (session, peer, message_id) DO UPDATE SET {updates} WHERE messages.outcome IS NULL",
                [_message_row(m) for m in batch.messages],
            )

        if batch:
            await self._run(lambda db: self._transaction(db, write))

    async def load(self, session: str) -> SessionRecord | None:
        row = await self._run(
            lambda db: db.execute(
                f"SELECT {', '.join(_RECORD_COLUMNS)} FROM sessions WHERE session = ?", (session,)
            ).fetchone()
        )
        return None if row is None else _record(row)

    async def records(self) -> list[SessionRecord]:
        rows = await self._run(
            lambda db: db.execute(f"SELECT {', '.join(_RECORD_COLUMNS)} FROM sessions ORDER BY session").fetchall()
        )
        return [_record(row) for row in rows]

    async def _rows(self, table_query: str, session: str | None) -> list[tuple[Any, ...]]:
        """``SELECT ... FROM table`` for one session or all, in the order written."""
        query, args = (table_query, ()) if session is None else (table_query + " WHERE session = ?", (session,))
        return await self._run(lambda db: db.execute(query + " ORDER BY id", args).fetchall())

    async def audit(self, session: str | None = None) -> list[AuditEntry]:
        rows = await self._rows("SELECT at, session, kind, detail FROM audit", session)
        return [
            AuditEntry(at=datetime.fromisoformat(a), session=s, kind=k, detail=json.loads(d)) for a, s, k, d in rows
        ]

    async def quarantined(self, session: str | None = None) -> list[QuarantineEntry]:
        rows = await self._rows("SELECT at, session, material FROM quarantine", session)
        return [QuarantineEntry(at=datetime.fromisoformat(a), session=s, material=bytes(m)) for a, s, m in rows]

    async def messages(self, session: str | None = None, *, since: datetime | None = None) -> list[MessageRecord]:
        where: list[str] = []
        args: list[object] = []
        if session is not None:
            where.append("session = ?")
            args.append(session)
        if since is not None:
            where.append("(closed_at IS NULL OR closed_at >= ?)")
            args.append(_ts(since))
        query = f"SELECT {', '.join(_MESSAGE_COLUMNS)} FROM messages"
        query += (" WHERE " + " AND ".join(where)) if where else ""
        query += " ORDER BY session, peer, message_id"
        rows = await self._run(lambda db: db.execute(query, args).fetchall())
        return [_message(row) for row in rows]

    async def claim(self, session: str, owner: str, now: datetime, until: datetime) -> bool:
        def take(db: sqlite3.Connection) -> bool:
            row = db.execute("SELECT owner, until FROM leases WHERE session = ?", (session,)).fetchone()
            if row is not None and row[0] != owner and datetime.fromisoformat(row[1]) > now:
                return False
            db.execute(
                "INSERT INTO leases (session, owner, until) VALUES (?, ?, ?) "
                "ON CONFLICT (session) DO UPDATE SET owner = excluded.owner, until = excluded.until",
                (session, owner, _ts(until)),
            )
            return True

        return await self._run(lambda db: self._transaction(db, take))

    async def version(self) -> tuple[int, int, int]:
        """(connection, ``PRAGMA data_version``, our connection's ``total_changes``): one cheap query.

        ``data_version`` changes when another connection (another process, or another
        store on the file) commits, but not for this connection's own commits; those
        ``total_changes`` counts (rolled-back changes too: a needless look, never a miss).
        """

        def read(db: sqlite3.Connection) -> tuple[int, int, int]:
            return (self._connections, db.execute("PRAGMA data_version").fetchone()[0], db.total_changes)

        return await self._run(read)

    async def schema_version(self) -> int:
        version: int = await self._run(lambda db: db.execute("PRAGMA user_version").fetchone()[0])
        return version

    async def close(self) -> None:
        def shut(db: sqlite3.Connection) -> None:
            db.close()

        if self._db is not None:
            await self._run(shut)
            self._db = None
        self._executor.shutdown(wait=True)


def _record_row(r: SessionRecord) -> tuple[Any, ...]:
    return (
        r.session, r.status.value, _ts(r.corrupted_since), r.last_error, _ts(r.last_error_at), r.errors,
        r.regenerations, r.regeneration_failures, int(r.cleaned), _ts(r.updated_at),
    )  # fmt: skip


def _record(row: tuple[Any, ...]) -> SessionRecord:
    values = dict(zip(_RECORD_COLUMNS, row, strict=True))
    return SessionRecord(
        session=values["session"],
        status=Status(values["status"]),
        corrupted_since=_dt(values["corrupted_since"]),
        last_error=values["last_error"],
        last_error_at=_dt(values["last_error_at"]),
        errors=values["errors"],
        regenerations=values["regenerations"],
        regeneration_failures=values["regeneration_failures"],
        cleaned=bool(values["cleaned"]),
        updated_at=_dt(values["updated_at"]),
    )


def _message_row(m: MessageRecord) -> tuple[Any, ...]:
    return (
        m.session, m.peer, m.message_id, _ts(m.first_failed_at), _ts(m.last_failed_at), m.retries, m.outcome,
        _ts(m.closed_at), m.waited,
    )  # fmt: skip


def _message(row: tuple[Any, ...]) -> MessageRecord:
    v = dict(zip(_MESSAGE_COLUMNS, row, strict=True))
    first, last = _dt(v["first_failed_at"]), _dt(v["last_failed_at"])
    assert first is not None and last is not None  # NOT NULL columns
    return MessageRecord(
        session=v["session"], peer=v["peer"], message_id=v["message_id"], first_failed_at=first, last_failed_at=last,
        retries=v["retries"], outcome=v["outcome"], closed_at=_dt(v["closed_at"]), waited=v["waited"],
    )  # fmt: skip
