"""The records and the Store interface: what the manager decided, kept where an operator and a restart can see it.

A store is small: session records, an append-only audit log, a quarantine for
key material, and a lease that keeps two processes from cleaning one session.
Writes arrive as :class:`WriteBatch` es, each applied atomically. Every store
passes the same contract suite (``tests/test_store_contract.py``).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

__all__ = [
    "AuditEntry",
    "MessageRecord",
    "QuarantineEntry",
    "SessionRecord",
    "Status",
    "Store",
    "WriteBatch",
]


class Status(enum.StrEnum):
    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"
    REGENERATING = "regenerating"
    CORRUPTED = "corrupted"
    DISCONNECTED = "disconnected"

    @property
    def is_down(self) -> bool:
        """Corrupted or disconnected: the session no longer talks to peers until it re-pairs."""
        return self in _DOWN


_DOWN = frozenset({Status.CORRUPTED, Status.DISCONNECTED})


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


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageRecord:
    """One undecryptable message in the ledger: its retry budget while open, its one outcome once closed.

    Keyed by (session, peer, message_id); ``peer`` is a pseudonym, never a number.
    Once a record with an ``outcome`` is stored it is final: a store ignores any
    later write of that key, so no message is ever counted twice.
    """

    session: str
    peer: str
    message_id: str
    first_failed_at: datetime
    last_failed_at: datetime
    #: retry receipts sent for it so far
    retries: int = 0
    #: one of ``sessionmgr.events.MESSAGE_OUTCOMES`` once closed
    outcome: str | None = None
    closed_at: datetime | None = None
    #: seconds from the first failure to the outcome
    waited: float | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.session, self.peer, self.message_id)

    def evolve(self, **changes: object) -> MessageRecord:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


@dataclass(slots=True)
class WriteBatch:
    """Writes that belong together: applied all at once or not at all, in this order."""

    records: list[SessionRecord] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)
    quarantine: list[QuarantineEntry] = field(default_factory=list)
    #: ledger rows; the last write of a key wins unless the stored row is already closed
    messages: list[MessageRecord] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.records or self.audit or self.quarantine or self.messages)

    def __len__(self) -> int:
        """How many rows the batch writes."""
        return len(self.records) + len(self.audit) + len(self.quarantine) + len(self.messages)

    def extend(self, later: WriteBatch) -> None:
        """Append ``later``'s writes after these: applying the result equals applying both in turn."""
        self.records += later.records
        self.audit += later.audit
        self.quarantine += later.quarantine
        self.messages += later.messages

    def coalesce(self) -> None:
        """Keep one write per session record and per ledger key, with the same result once applied.

        A record is a plain upsert, so its last write wins. A ledger row's first
        closed write wins (a store ignores writes after the outcome), else its last.
        """
        self.records = list({r.session: r for r in self.records}.values())
        kept: dict[tuple[str, str, str], MessageRecord] = {}
        for m in self.messages:
            earlier = kept.get(m.key)
            if earlier is None or earlier.outcome is None:
                kept[m.key] = m
        self.messages = list(kept.values())


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

    async def messages(self, session: str | None = None, *, since: datetime | None = None) -> list[MessageRecord]:
        """Ledger rows sorted by (session, peer, message_id): all, or (with ``since``) the open ones
        and those closed at or after ``since``."""

    async def claim(self, session: str, owner: str, now: datetime, until: datetime) -> bool:
        """Take the cleanup lease on ``session`` for ``owner`` until ``until``.

        True if it was free, expired at ``now``, or already ``owner``'s.
        """

    async def version(self) -> Hashable:
        """A token that stays equal only while nothing is written: "has anything changed since I last looked".

        If two calls return equal tokens, no write by anyone (this store, another
        instance, another process) was committed between them; a read after a call
        sees at least what was committed before it. Unequal tokens may be
        conservative (a change elsewhere, or nothing cheap to tell by).
        """

    async def close(self) -> None: ...
