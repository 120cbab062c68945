"""The manager's backend over a simulated world: each action changes the world's real state."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from harness.keyring import export_keys, purge_keys, reset_peer
from sessionmgr.backend import BackendError

if TYPE_CHECKING:  # the world re-exports this class, so import it only for types
    from harness.world import SimWorld

__all__ = ["WorldBackend"]


class WorldBackend:
    """The manager's backend over a :class:`SimWorld`; each action can be made to fail."""

    def __init__(self, world: SimWorld) -> None:
        self.world = world
        #: actions carried out, by method (resends split by keys attached), for the comparison table
        self.calls: Counter[str] = Counter()

    def _check(self, method: str, session: str, *, needs_connection: bool = False) -> None:
        if self.world.backend_should_fail(method, session):
            raise BackendError(f"{method} failed (injected backend fault)")
        if needs_connection and not self.world.bots[session].connected:
            raise BackendError(f"cannot {method.replace('_', ' ')}: session disconnected")

    async def request_resend(self, session: str, peer: str, message_id: str | None, *, with_keys: bool = False) -> None:
        self._check("request_resend", session, needs_connection=True)
        self.calls[("request_resend_with_keys" if with_keys else "request_resend")] += 1
        self.world.resend(session, peer, message_id, with_keys=with_keys)

    async def request_from_phone(self, session: str, peer: str, message_id: str | None) -> None:
        self._check("request_from_phone", session, needs_connection=True)
        self.calls["request_from_phone"] += 1
        # the request goes out whether or not the phone is online: the client cannot tell
        self.world.ask_phone(session, peer, message_id)

    async def upload_prekeys(self, session: str, count: int) -> None:
        self._check("upload_prekeys", session, needs_connection=True)
        self.calls["upload_prekeys"] += 1
        self.world.top_up_prekeys(session, count)

    async def reset_peer_session(self, session: str, peer: str) -> None:
        self._check("reset_peer_session", session)
        self.calls["reset_peer_session"] += 1
        reset_peer(self.world.bots[session].keys, peer)

    async def regenerate_keys(self, session: str) -> None:
        self._check("regenerate_keys", session, needs_connection=True)
        self.calls["regenerate_keys"] += 1
        self.world.regenerate(session)

    async def disconnect(self, session: str) -> None:
        self._check("disconnect", session)
        self.calls["disconnect"] += 1
        self.world.disconnect(session)

    async def export_keys(self, session: str) -> bytes:
        self._check("export_keys", session)
        return export_keys(self.world.bots[session].keys)

    async def purge_keys(self, session: str) -> None:
        self._check("purge_keys", session)
        purge_keys(self.world.bots[session].keys)
