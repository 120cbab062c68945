"""Stores: what the manager decided, kept where an operator and a restart can see it.

The records and the :class:`Store` interface live in :mod:`.base`, the in-memory
twin in :mod:`.memory`, SQLite in :mod:`.sqlite`, PostgreSQL (several workers,
fenced ownership) in :mod:`.postgres`. Every store passes the same contract
suite (``tests/test_store_contract.py``).
"""

from __future__ import annotations

from sessionmgr.store.base import AuditEntry, MessageRecord, QuarantineEntry, SessionRecord, Status, Store, WriteBatch
from sessionmgr.store.memory import MemoryStore

__all__ = [
    "AuditEntry",
    "MemoryStore",
    "MessageRecord",
    "QuarantineEntry",
    "SessionRecord",
    "Status",
    "Store",
    "WriteBatch",
    "open_store",
]


def open_store(target: str | None, *, read_only: bool = False) -> Store:
    """A store from a URL or path: ``None``/``memory:`` for memory, ``sqlite:///path`` or a path for SQLite,
    ``postgresql://...`` (or ``postgres://``) for PostgreSQL.

    ``read_only`` never creates, migrates or changes anything: a SQLite file is opened read only,
    a PostgreSQL session's transactions are READ ONLY."""
    if target is None or target in ("memory:", ":memory:"):
        return MemoryStore()
    if target.startswith(("postgresql://", "postgres://")):
        try:
            from sessionmgr.store.postgres import PostgresStore  # lazy: the driver is an extra
        except ImportError as exc:
            raise ValueError(
                f"store URL {target.split('@')[-1]!r}: PostgreSQL needs psycopg: pip install 'sessionmgr[postgres]'"
            ) from exc
        return PostgresStore(target, read_only=read_only)
    from sessionmgr.store.sqlite import SQLiteStore  # lazy: SQLite only when asked for

    path = target.removeprefix("sqlite:///") if target.startswith("sqlite:///") else target
    if target.startswith("sqlite://") and not target.startswith("sqlite:///"):
        raise ValueError(f"store URL {target!r}: expected sqlite:///path/to.db (three slashes)")
    if "://" in path:
        raise ValueError(f"store URL {target!r}: only sqlite:///, postgresql:// and memory: are supported")
    return SQLiteStore(path, read_only=read_only)
