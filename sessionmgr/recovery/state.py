"""Session state: what the manager keeps in memory per session, and its way to the store."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from sessionmgr.categories import Category
from sessionmgr.clock import Clock, to_ns
from sessionmgr.events import DecryptError
from sessionmgr.policy import Policy
from sessionmgr.recovery.journal import Journal
from sessionmgr.store import SessionRecord, Status
from sessionmgr.window import HealthWindow

__all__ = ["SessionState", "SessionTable"]


@dataclass(slots=True)
class SessionState:
    """What the manager keeps in memory for one session."""

    record: SessionRecord
    window: HealthWindow
    #: Errors that are evidence against the last regeneration: what decides the next one.
    since_regeneration: HealthWindow
    peers: dict[str, HealthWindow] = field(default_factory=dict)
    #: Peers reset since the last regeneration: their failures now count against it.
    reset_since_regeneration: set[str] = field(default_factory=set)
    #: When (ns) each peer's session was last recreated: the throttle's memory.
    peer_resets: dict[str, int] = field(default_factory=dict)
    last_prekey_top_up: int | None = None
    healthy: bool = True
    last_regeneration: float | None = None
    #: Regenerations that have not (yet) brought the session back to healthy.
    consecutive_regenerations: int = 0
    regeneration: asyncio.Task[None] | None = None
    watcher: asyncio.Task[None] | None = None
    corrupted_since_t: float | None = None
    #: the record as last handed to the store (records are immutable, so identity tells)
    persisted: SessionRecord | None = None
    # Per-error counters live here and fold into the (immutable) record when it is
    # written: evolving the record on every error was a copy per error.
    unsaved_errors: int = 0
    last_error: str | None = None
    last_error_at: datetime | None = None

    @property
    def status(self) -> Status:
        return self.record.status

    @property
    def session(self) -> str:
        return self.record.session

    def count_error(self, event: DecryptError, now: int, weight: float) -> None:
        """Count a crypto error at ``now`` (ns) toward health and, if it says so, against the last regeneration."""
        self.unsaved_errors += 1
        self.last_error, self.last_error_at = event.category.value, event.at
        self.window.add(now, weight)
        if self._against_regeneration(event):
            self.since_regeneration.add(now, weight)

    def _against_regeneration(self, event: DecryptError) -> bool:
        """Whether an error says the last regeneration did not help.

        Before any regeneration every error counts, so the first one comes when
        the session turns unhealthy. After it, a peer's msg-path failures on chain
        state older than the regeneration are the peer ladder's work (a reset fixes
        them; new prekeys cannot), so they count only once that peer has been reset
        and still fails. Session establishment (pkmsg) failures, which new keys
        should have fixed, always count, as do errors with no known peer.
        """
        return (
            self.last_regeneration is None
            or event.peer is None
            or event.message_type == "pkmsg"
            or event.category is Category.PREKEY
            or event.peer in self.reset_since_regeneration
        )

    def forget_incident(self) -> None:
        """Re-paired with fresh keys: every trace of the old incident goes."""
        self.window.clear()
        self.since_regeneration.clear()
        self.peers.clear()
        self.reset_since_regeneration.clear()
        self.healthy = True
        self.consecutive_regenerations = 0
        self.corrupted_since_t = None


class SessionTable:
    """Every session the manager tracks, and the one way their records reach the journal."""

    def __init__(self, policy: Policy, clock: Clock, journal: Journal) -> None:
        self._policy = policy
        self._clock = clock
        self._journal = journal
        self._window_ns = to_ns(policy.window)
        self._states: dict[str, SessionState] = {}

    def __len__(self) -> int:
        return len(self._states)

    def __iter__(self) -> Iterator[SessionState]:
        return iter(self._states.values())

    def get(self, session: str) -> SessionState | None:
        return self._states.get(session)

    def names(self) -> list[str]:
        return sorted(self._states)

    def state(self, session: str) -> SessionState:
        """The session's state, created empty on first sight."""
        state = self._states.get(session)
        if state is None:
            state = self._states[session] = SessionState(
                record=SessionRecord(session=session),
                window=HealthWindow(self._window_ns),
                since_regeneration=HealthWindow(self._window_ns),
            )
        return state

    def peer_window(self, state: SessionState, peer: str) -> HealthWindow:
        window = state.peers.get(peer)
        if window is None:
            window = state.peers[peer] = HealthWindow(self._window_ns)
        return window

    def footprint(self) -> dict[str, int]:
        """Entries held: bounded by the errors inside the window and the peers failing in it."""
        states = self._states.values()
        return {
            "sessions": len(self._states),
            "window_entries": sum(len(s.window) + len(s.since_regeneration) for s in states),
            "peer_windows": sum(len(s.peers) for s in states),
            "peer_window_entries": sum(len(w) for s in states for w in s.peers.values()),
            "reset_peers": sum(len(s.reset_since_regeneration) for s in states),
        }

    def forget(self, session: str) -> None:
        del self._states[session]

    def set_status(self, state: SessionState, status: Status) -> None:
        state.record = state.record.evolve(status=status, updated_at=self._clock.wall())
        self.persist(state)

    def persist(self, state: SessionState) -> None:
        """Fold the unsaved counters into the record and hand it to the journal."""
        if state.unsaved_errors:
            state.record = state.record.evolve(
                errors=state.record.errors + state.unsaved_errors,
                last_error=state.last_error,
                last_error_at=state.last_error_at,
            )
            state.unsaved_errors = 0
        state.persisted = state.record
        self._journal.record(state.record)

    def persist_changed(self) -> None:
        """Write every record whose counters or fields changed since it was last written."""
        for state in self._states.values():
            if state.unsaved_errors or state.persisted is not state.record:
                self.persist(state)

    def persist_unsaved(self) -> None:
        """Write every record with counters not yet written (on close)."""
        for state in self._states.values():
            if state.unsaved_errors:
                self.persist(state)
