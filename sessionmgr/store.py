"""The store: what the manager decided, kept where an operator and a restart can see it."""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

__all__ = ["AuditEntry", "MemoryStore", "QuarantineEntry", "SessionRecord", "Status", "Store"]


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


@runtime_checkable
class Store(Protocol):
    """Session records, an append-only audit log and a quarantine. Async so a
    disk-backed store never blocks the event loop."""

    async def load(self, session: str) -> SessionRecord | None: ...

    async def save(self, record: SessionRecord) -> None: ...

    async def records(self) -> list[SessionRecord]: ...

    async def append_audit(self, entry: AuditEntry) -> None: ...

    async def audit(self, session: str | None = None) -> list[AuditEntry]: ...

    async def quarantine(self, entry: QuarantineEntry) -> None: ...

    async def quarantined(self, session: str | None = None) -> list[QuarantineEntry]: ...


class MemoryStore:
    """The in-memory store: the default, and the twin every other store is tested against."""

    def __init__(self) -> None:
        self._records: dict[str, SessionRecord] = {}
        self._audit: list[AuditEntry] = []
        self._quarantine: list[QuarantineEntry] = []

    async def load(self, session: str) -> SessionRecord | None:
        return self._records.get(session)

    async def save(self, record: SessionRecord) -> None:
        self._records[record.session] = record

    async def records(self) -> list[SessionRecord]:
        return sorted(self._records.values(), key=lambda r: r.session)

    async def append_audit(self, entry: AuditEntry) -> None:
        self._audit.append(entry)

    async def audit(self, session: str | None = None) -> list[AuditEntry]:
        return [e for e in self._audit if session is None or e.session == session]

    async def quarantine(self, entry: QuarantineEntry) -> None:
        self._quarantine.append(entry)

    async def quarantined(self, session: str | None = None) -> list[QuarantineEntry]:
        return [e for e in self._quarantine if session is None or e.session == session]
