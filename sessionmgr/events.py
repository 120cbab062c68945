"""Typed events: every observation that comes in and every decision that goes out."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from sessionmgr.categories import Category

__all__ = [
    "ADVISED_ACTIONS",
    "MESSAGE_OUTCOMES",
    "ActionFailed",
    "AlertFired",
    "AlertResolved",
    "ConnectionChanged",
    "DecryptError",
    "DecryptOk",
    "Event",
    "HealthChanged",
    "HealthChecked",
    "LeasesHeld",
    "ManagerStarted",
    "MessageOutcome",
    "OwnershipLost",
    "PeerSessionReset",
    "PhoneAnswered",
    "PhoneRequested",
    "PhoneStatus",
    "PrekeysUploaded",
    "RegenerationFailed",
    "RegenerationStarted",
    "RegenerationSucceeded",
    "ResendRequested",
    "RetryFinished",
    "RetryScheduled",
    "SessionCleaned",
    "SessionCorrupted",
    "SessionDisconnected",
    "event_types",
]

#: ``at`` of an event nobody has stamped yet (the manager stamps it on arrival).
UNSTAMPED = datetime.fromtimestamp(0).astimezone()


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Something that happened to one session (or, with ``session == "*"``, to all).

    ``t`` is monotonic seconds and ``at`` the wall-clock time; the manager
    stamps both from its clock when it accepts or makes an event.
    """

    kind: ClassVar[str] = "event"
    #: Decisions are what the manager did; observations are what it was told.
    decision: ClassVar[bool] = True
    #: Whether the store's audit log keeps it (periodic reports are not decisions worth keeping).
    audited: ClassVar[bool] = True

    session: str
    t: float = 0.0
    at: datetime = UNSTAMPED
    #: An advisory manager's decision: advised, not carried out (no backend was called).
    advised: bool = False

    def fields(self) -> dict[str, Any]:
        """The event's own fields (not ``t``/``at``/``session``), as plain values.

        ``advised`` appears only when set, so what real decisions record is unchanged.
        """
        # ``advised`` is the base class's last field: it comes first, as the fields are declared
        out: dict[str, Any] = {"advised": True} if self.advised else {}
        for name in _own_fields(type(self)):
            value = getattr(self, name)
            if isinstance(value, tuple):
                value = list(value)
            out[name] = value
        return out


_OWN_FIELDS: dict[type[Event], tuple[str, ...]] = {}


def _own_fields(cls: type[Event]) -> tuple[str, ...]:
    """A class's own field names in declaration order, looked up once (``dataclasses.fields`` per event was
    the audit log's largest cost)."""
    names = _OWN_FIELDS.get(cls)
    if names is None:
        names = _OWN_FIELDS[cls] = tuple(
            f.name for f in dataclasses.fields(cls) if f.name not in ("t", "at", "session", "advised")
        )
    return names


# --- observations -----------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class DecryptOk(Event):
    """A message from ``peer`` decrypted fine."""

    kind: ClassVar[str] = "decrypt_ok"
    decision: ClassVar[bool] = False
    peer: str | None = None
    message_type: str | None = None
    #: Set when known: a successful decrypt of a message that failed before resolves it.
    message_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DecryptError(Event):
    """A message from ``peer`` failed to decrypt with ``error`` (the raw text).

    ``causes`` are inner errors the library logged beside it (libsignal-node's
    ``Session error:Error: Bad MAC`` lines under a "No matching sessions").
    """

    kind: ClassVar[str] = "decrypt_error"
    decision: ClassVar[bool] = False
    peer: str | None = None
    error: str = ""
    error_type: str | None = None
    message_type: str | None = None
    message_id: str | None = None
    causes: tuple[str, ...] = ()
    category: Category = Category.DECRYPT_FAILED


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionChanged(Event):
    """The session's connection opened or closed."""

    kind: ClassVar[str] = "connection"
    decision: ClassVar[bool] = False
    open: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class PhoneAnswered(Event):
    """The user's own phone sent a message we could not decrypt (the answer to a placeholder resend)."""

    kind: ClassVar[str] = "phone_answered"
    decision: ClassVar[bool] = False
    peer: str | None = None
    message_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PhoneStatus(Event):
    """The user's own phone is known to be online or offline (the phone rung is skipped while offline)."""

    kind: ClassVar[str] = "phone_status"
    decision: ClassVar[bool] = False
    online: bool


# --- decisions --------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ManagerStarted(Event):
    """A manager started (``session == "*"``); its periodic timers count from here."""

    kind: ClassVar[str] = "manager_started"
    restored_sessions: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class ResendRequested(Event):
    """A retry receipt was sent asking ``peer`` to resend."""

    kind: ClassVar[str] = "resend_requested"
    peer: str
    message_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerSessionReset(Event):
    """The Signal session with ``peer`` was dropped so it is rebuilt from a prekey bundle."""

    kind: ClassVar[str] = "peer_reset"
    peer: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryScheduled(Event):
    """Try ``attempt`` of ``operation`` failed; the next comes after ``delay`` seconds."""

    kind: ClassVar[str] = "retry"
    operation: str
    attempt: int
    delay: float
    error: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryFinished(Event):
    """An operation that needed at least one retry finished, well or not."""

    kind: ClassVar[str] = "retry_finished"
    operation: str
    attempts: int
    succeeded: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionFailed(Event):
    """A recovery action other than regeneration failed after every try."""

    kind: ClassVar[str] = "action_failed"
    operation: str
    attempts: int
    error: str
    peer: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RegenerationStarted(Event):
    kind: ClassVar[str] = "regeneration_started"
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RegenerationSucceeded(Event):
    kind: ClassVar[str] = "regeneration_succeeded"
    attempts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RegenerationFailed(Event):
    kind: ClassVar[str] = "regeneration_failed"
    attempts: int
    error: str


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthChanged(Event):
    """The session crossed the health threshold, one way or the other."""

    kind: ClassVar[str] = "health"
    healthy: bool
    weight: float


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthChecked(Event):
    """The periodic health monitor ran (``session == "*"``)."""

    kind: ClassVar[str] = "health_check"
    audited: ClassVar[bool] = False
    sessions: int
    unhealthy: int
    corrupted: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionCorrupted(Event):
    kind: ClassVar[str] = "corrupted"
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionDisconnected(Event):
    kind: ClassVar[str] = "disconnected"


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionCleaned(Event):
    """Cleanup purged the session's keys after putting them in quarantine."""

    kind: ClassVar[str] = "cleaned"
    quarantined_bytes: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PhoneRequested(Event):
    """The manager asked the user's own phone to resend a message (a placeholder resend)."""

    kind: ClassVar[str] = "phone_requested"
    peer: str
    message_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PrekeysUploaded(Event):
    """The manager topped up the server's one-time prekeys."""

    kind: ClassVar[str] = "prekeys_uploaded"
    count: int


#: How an undecryptable message ended; each message id ends in exactly one.
MESSAGE_OUTCOMES: tuple[str, ...] = ("resolved_sender", "resolved_phone", "expired", "lost")


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageOutcome(Event):
    """An undecryptable message ended: resolved by the sender or the phone, expired, or lost."""

    kind: ClassVar[str] = "message_outcome"
    peer: str
    message_id: str
    #: one of :data:`MESSAGE_OUTCOMES`
    outcome: str
    #: seconds from the first failure of the message to its outcome
    waited: float


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertFired(Event):
    kind: ClassVar[str] = "alert_fired"
    rule: str
    value: float
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertResolved(Event):
    kind: ClassVar[str] = "alert_resolved"
    rule: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OwnershipLost(Event):
    """Another worker owns the session now (a shared store refused our write): we stop acting on it.

    Not audited: the store would refuse the entry too. After ``retry_in``
    seconds the manager reads the session back from the store and may take it
    over again if its owner has gone quiet.
    """

    kind: ClassVar[str] = "ownership_lost"
    audited: ClassVar[bool] = False
    owner: str
    retry_in: float


@dataclass(frozen=True, slots=True, kw_only=True)
class LeasesHeld(Event):
    """Periodic: the sessions whose lease this worker holds in a shared store, with their fencing epochs."""

    kind: ClassVar[str] = "leases_held"
    decision: ClassVar[bool] = False
    audited: ClassVar[bool] = False
    owner: str
    epochs: tuple[tuple[str, int], ...]


#: Decisions that stand for a backend call: an advisory manager, which never calls its
#: backend, publishes them with ``advised=True`` so no one reads them as done.
ADVISED_ACTIONS: tuple[type[Event], ...] = (
    ResendRequested,
    PeerSessionReset,
    PhoneRequested,
    PrekeysUploaded,
    RegenerationStarted,
    RegenerationSucceeded,
    SessionDisconnected,
    SessionCleaned,
)


def event_types() -> dict[str, type[Event]]:
    """Every concrete event class by its ``kind``."""
    return {cls.kind: cls for cls in _all_subclasses(Event)}


def _all_subclasses(cls: type[Event]) -> list[type[Event]]:
    out: list[type[Event]] = []
    for sub in cls.__subclasses__():
        out += [sub, *_all_subclasses(sub)]
    return out
