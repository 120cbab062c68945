"""The manager's backend over a simulated world: each action changes the world's real state."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sessionmgr.backend import BackendError

if TYPE_CHECKING:  # the world re-exports this class, so import it only for types
    from harness.world import SimWorld

__all__ = ["WorldBackend"]


class WorldBackend:
    """The manager's backend over a :class:`SimWorld`; each action can be made to fail."""

    def __init__(self, world: SimWorld) -> None:
        self.world = world

    def _check(self, method: str, session: str, *, needs_connection: bool = False) -> None:
        if self.world.backend_should_fail(method, session):
            raise BackendError(f"{method} failed (injected backend fault)")
        if needs_connection and not self.world.bots[session].connected:
            raise BackendError(f"cannot {method.replace('_', ' ')}: session disconnected")

    async def request_resend(self, session: str, peer: str, message_id: str | None, *, with_keys: bool = False) -> None:
        self._check("request_resend", session, needs_connection=True)
        self.world.resend(session, peer, message_id)

    async def request_from_phone(self, session: str, peer: str, message_id: str | None) -> None:
        self._check("request_from_phone", session, needs_connection=True)
        # The world models no phone yet: say so rather than report a resend that never happens.
        raise BackendError("the simulated world has no phone to ask")

    async def upload_prekeys(self, session: str, count: int) -> None:
        self._check("upload_prekeys", session, needs_connection=True)
        self.world.top_up_prekeys(session, count)

    async def reset_peer_session(self, session: str, peer: str) -> None:
        self._check("reset_peer_session", session)
        self.world.reset_peer(session, peer)

    async def regenerate_keys(self, session: str) -> None:
        self._check("regenerate_keys", session, needs_connection=True)
        self.world.regenerate(session)

    async def disconnect(self, session: str) -> None:
        self._check("disconnect", session)
        self.world.disconnect(session)

    async def export_keys(self, session: str) -> bytes:
        self._check("export_keys", session)
        return self.world.export_keys(session)

    async def purge_keys(self, session: str) -> None:
        self._check("purge_keys", session)
        self.world.purge_keys(session)
