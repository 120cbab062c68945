"""The store: what the manager decided, kept where an operator and a restart can see it.

A store is small: session records, an append-only audit log, a quarantine for
key material, and a lease that keeps two processes from cleaning one session.
Writes arrive as :class:`WriteBatch` es, each applied atomically. Every store
passes the same contract suite (``tests/test_store_contract.py``).
"""

from __future__ import annotations

import dataclasses
import enum
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

__all__ = [
    "AuditEntry",
    "MemoryStore",
    "QuarantineEntry",
    "SessionRecord",
    "Status",
    "Store",
    "WriteBatch",
    "open_store",
]


class Status(enum.StrEnum):
    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"
    REGENERATING = "regenerating"
    CORRUPTED = "corrupted"
    DISCONNECTED = "disconnected"


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionRecord:
    """One session's durable state."""

    session: str
    status: Status = Status.HEALTHY
    #: When the session was marked corrupted; kept through cleanup until it reconnects.
    corrupted_since: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    errors: int = 0
    regenerations: int = 0
    regeneration_failures: int = 0
    cleaned: bool = False
    updated_at: datetime | None = None

    def evolve(self, **changes: object) -> SessionRecord:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    """One decision, appended and never changed. Peers are pseudonyms."""

    at: datetime
    session: str
    kind: str
    detail: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class QuarantineEntry:
    """Key material cleanup took out of service, kept so nothing is lost without a trace."""

    at: datetime
    session: str
    material: bytes


@dataclass(slots=True)
class WriteBatch:
    """Writes that belong together: applied all at once or not at all, in this order."""

    records: list[SessionRecord] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)
    quarantine: list[QuarantineEntry] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.records or self.audit or self.quarantine)


@runtime_checkable
class Store(Protocol):
    """Async, so a disk- or network-backed store never blocks the event loop.

    Written with several workers in mind: :meth:`claim` is the only
    coordination they need, and a server-backed store (PostgreSQL) can
    implement it with the same compare-and-set.
    """

    async def apply(self, batch: WriteBatch) -> None:
        """Apply every write of ``batch`` atomically; the last record of a session wins."""

    async def load(self, session: str) -> SessionRecord | None: ...

    async def records(self) -> list[SessionRecord]:
        """Every session record, sorted by session."""

    async def audit(self, session: str | None = None) -> list[AuditEntry]:
        """The audit log in the order it was written, for one session or all."""

    async def quarantined(self, session: str | None = None) -> list[QuarantineEntry]: ...

    async def claim(self, session: str, owner: str, now: datetime, until: datetime) -> bool:
        """Take the cleanup lease on ``session`` for ``owner`` until ``until``.

        True if it was free, expired at ``now``, or already ``owner``'s.
        """

    async def close(self) -> None: ...


class MemoryStore:
    """The in-memory store: the default, and the twin every other store is tested against.

    It keeps the latest ``max_audit`` audit entries (``None``: all), so a
    long-running process holds a bounded log; a durable store keeps them all.
    """

    def __init__(self, *, max_audit: int | None = 100_000) -> None:
        self._records: dict[str, SessionRecord] = {}
        self._audit: deque[AuditEntry] = deque(maxlen=max_audit)
        self._quarantine: list[QuarantineEntry] = []
        self._leases: dict[str, tuple[str, datetime]] = {}

    async def apply(self, batch: WriteBatch) -> None:
        for record in batch.records:
            self._records[record.session] = record
        self._audit.extend(batch.audit)
        self._quarantine.extend(batch.quarantine)

    async def load(self, session: str) -> SessionRecord | None:
        return self._records.get(session)

    async def records(self) -> list[SessionRecord]:
        return sorted(self._records.values(), key=lambda r: r.session)

    async def audit(self, session: str | None = None) -> list[AuditEntry]:
        return [e for e in self._audit if session is None or e.session == session]

    async def quarantined(self, session: str | None = None) -> list[QuarantineEntry]:
        return [e for e in self._quarantine if session is None or e.session == session]

    async def claim(self, session: str, owner: str, now: datetime, until: datetime) -> bool:
        holder = self._leases.get(session)
        if holder is not None and holder[0] != owner and holder[1] > now:
            return False
        self._leases[session] = (owner, until)
        return True

    async def close(self) -> None:
        return None


def open_store(target: str | None) -> Store:
    """A store from a URL or path: ``None``/``memory:`` for memory, ``sqlite:///path`` or a path for SQLite."""
    if target is None or target in ("memory:", ":memory:"):
        return MemoryStore()
    from sessionmgr.sqlite_store import SQLiteStore

    path = target.removeprefix("sqlite:///") if target.startswith("sqlite:///") else target
    if target.startswith("sqlite://") and not target.startswith("sqlite:///"):
        raise ValueError(f"store URL {target!r}: expected sqlite:///path/to.db (three slashes)")
    if "://" in path:
        raise ValueError(f"store URL {target!r}: only sqlite:/// and memory: are supported")
    return SQLiteStore(path)
