"""The backend: whatever owns the keys and carries out the manager's decisions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = ["Backend", "BackendCall", "BackendError", "MockBackend"]


class BackendError(Exception):
    """The backend could not carry out an action; the manager treats it as a failure."""


@runtime_checkable
class Backend(Protocol):
    """The recovery actions. Each returns on success and raises on failure.

    A backend must not report success for work it did not do: the manager
    believes it.
    """

    async def request_resend(self, session: str, peer: str, message_id: str | None, *, with_keys: bool = False) -> None:
        """Ask ``peer`` to send the message again (a retry receipt).

        ``with_keys``: attach a fresh one-time prekey and the signed prekey to the
        receipt, as Baileys and whatsmeow do from a message's 2nd retry
        (Baileys ``src/Socket/messages-recv.ts`` sendRetryRequest; whatsmeow ``retry.go``).
        """

    async def request_from_phone(self, session: str, peer: str, message_id: str | None) -> None:
        """Ask the user's own phone to resend the message (Baileys' placeholder resend, whatsmeow's PDO)."""

    async def upload_prekeys(self, session: str, count: int) -> None:
        """Upload ``count`` fresh one-time prekeys to the server (a top-up, not a regeneration)."""

    async def reset_peer_session(self, session: str, peer: str) -> None:
        """Drop the Signal session with ``peer`` so the next message rebuilds it."""

    async def regenerate_keys(self, session: str) -> None:
        """Make and upload a new signed prekey and a fresh pool of one-time prekeys."""

    async def disconnect(self, session: str) -> None:
        """Close the session's connection."""

    async def export_keys(self, session: str) -> bytes:
        """The session's key material, serialised, to keep in quarantine before a purge."""

    async def purge_keys(self, session: str) -> None:
        """Delete the session's key material."""


@dataclass(frozen=True, slots=True)
class BackendCall:
    """One call made on a backend, as :class:`MockBackend` records it."""

    method: str
    session: str
    peer: str | None = None
    message_id: str | None = None
    #: ``request_resend``: keys attached; ``upload_prekeys``: how many
    detail: int | bool | None = None


Handler = Callable[[BackendCall], Awaitable[bytes | None] | bytes | None]


class MockBackend:
    """A backend that records every call and lets a handler decide each outcome.

    The handler, if given, receives the :class:`BackendCall`; raising fails the
    call, returning bytes supplies ``export_keys``' material. Without a handler
    every call succeeds. Replay uses it to record what the manager would do.
    """

    def __init__(self, handler: Handler | None = None, *, keep_calls: bool = True) -> None:
        self.calls: list[BackendCall] = []
        self._handler = handler
        # a long replay makes millions of calls: keeping them all is memory that grows with the input
        self._keep = keep_calls

    async def _call(self, call: BackendCall) -> bytes | None:
        if self._keep:
            self.calls.append(call)
        if self._handler is None:
            return None
        result = self._handler(call)
        if isinstance(result, Awaitable):
            return await result
        return result

    def methods(self) -> list[str]:
        """The method names called so far, in order."""
        return [c.method for c in self.calls]

    async def request_resend(self, session: str, peer: str, message_id: str | None, *, with_keys: bool = False) -> None:
        await self._call(BackendCall("request_resend", session, peer, message_id, with_keys or None))

    async def request_from_phone(self, session: str, peer: str, message_id: str | None) -> None:
        await self._call(BackendCall("request_from_phone", session, peer, message_id))

    async def upload_prekeys(self, session: str, count: int) -> None:
        await self._call(BackendCall("upload_prekeys", session, detail=count))

    async def reset_peer_session(self, session: str, peer: str) -> None:
        await self._call(BackendCall("reset_peer_session", session, peer))

    async def regenerate_keys(self, session: str) -> None:
        await self._call(BackendCall("regenerate_keys", session))

    async def disconnect(self, session: str) -> None:
        await self._call(BackendCall("disconnect", session))

    async def export_keys(self, session: str) -> bytes:
        material = await self._call(BackendCall("export_keys", session))
        return material if material is not None else b""

    async def purge_keys(self, session: str) -> None:
        await self._call(BackendCall("purge_keys", session))
