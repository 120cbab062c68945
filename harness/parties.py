"""Who is in the simulated world: bots (with their server-side prekey pool) and the peers writing to them."""

from __future__ import annotations

from dataclasses import dataclass

from harness.population import PeerInfo
from harness.protocol import BotKeys, Frame, SendingSession

__all__ = ["Bot", "Peer"]


@dataclass(slots=True)
class Bot:
    """One bot: its key store, and the prekey pool the server holds for it."""

    session: str
    keys: BotKeys
    #: one-time prekey ids the server still hands out, oldest first
    server_prekeys: list[int]
    signed_id: int
    next_prekey_id: int
    #: the id the server keeps handing out once its pool is dry
    last_resort: int | None = None
    connected: bool = True
    refill_pending: bool = False
    #: the server's "prekeys low" notice was lost: no refill until keys are regenerated
    refill_lost: bool = False


@dataclass(slots=True)
class Peer:
    """A contact writing to one bot: its identity and its sending chain towards the bot."""

    info: PeerInfo
    session: str
    identity: bytes
    sending: SendingSession | None = None
    last_frame: Frame | None = None
