"""Fenced ownership: what a worker that lost a session's lease is told, whichever store it uses.

Kept apart from :mod:`.postgres` so the manager can catch :class:`LeaseLost`
without the PostgreSQL driver installed.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol, runtime_checkable

from sessionmgr.store.sqlite import StoreError

__all__ = ["LeaseLost", "OwnedStore", "StoreError"]


class LeaseLost(StoreError):
    """Another worker owns these sessions now: this worker's writes for them were refused.

    The writes of the same batch for every other session were committed; the
    worker must stop acting on ``sessions`` (it may claim them again later,
    under a new epoch, once it has re-read what the new owner decided).
    """

    def __init__(self, sessions: frozenset[str], owner: str | None) -> None:
        self.sessions = sessions
        self.owner = owner
        listed = ", ".join(sorted(sessions))
        super().__init__(
            f"lease lost on {listed}: another worker owns it now; {owner or 'this worker'} stops acting on it"
        )


@runtime_checkable
class OwnedStore(Protocol):
    """A store shared by several workers that fences each session's writes to its lease holder."""

    lease: timedelta

    def bind_owner(self, owner: str, lease: timedelta | None = None) -> None:
        """Write as ``owner``: each write takes or renews the leases of the sessions it touches."""

    def held(self) -> dict[str, tuple[str, int]]:
        """session -> (owner, epoch) for every lease this store holds, as far as it knows."""
