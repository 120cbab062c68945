"""What the backend does to a bot's key store: drop a peer's session, regenerate, export, purge."""

from __future__ import annotations

import json
from collections.abc import Callable

from harness.parties import Bot
from harness.prekeys import PREKEY_BATCH, PrekeyServer
from harness.protocol import BotKeys, Frame

__all__ = ["export_keys", "purge_keys", "regenerate", "reset_peer", "trust_new_identity"]


def reset_peer(keys: BotKeys, jid: str) -> None:
    """Forget the session with ``jid`` and the identity it was trusted with."""
    keys.records.pop(jid, None)
    keys.trusted.pop(jid, None)  # accept the peer's identity afresh


def regenerate(bot: Bot, prekeys: PrekeyServer, secret: Callable[[], bytes]) -> None:
    """New signed prekey (the previous kept for messages in flight) and a fresh prekey pool."""
    bot.signed_id += 1
    bot.keys.signed_prekeys = {k: v for k, v in bot.keys.signed_prekeys.items() if k == bot.signed_id - 1} | {
        bot.signed_id: secret()
    }
    bot.keys.prekeys.clear()
    bot.server_prekeys.clear()
    bot.last_resort = None
    bot.refill_lost = False
    prekeys.upload(bot, PREKEY_BATCH * 2)


def export_keys(keys: BotKeys) -> bytes:
    """The key material, serialised, as a quarantine keeps it before a purge."""
    return json.dumps(
        {
            "identity": keys.identity.hex(),
            "signed_prekeys": {k: v.hex() for k, v in keys.signed_prekeys.items()},
            "prekeys": {k: v.hex() for k, v in keys.prekeys.items()},
            "sessions": {p: [s.chain_key.hex() for s in r.sessions] for p, r in keys.records.items()},
        },
        sort_keys=True,
    ).encode()


def purge_keys(keys: BotKeys) -> None:
    """Delete sessions, one-time prekeys and trusted identities."""
    keys.records.clear()
    keys.prekeys.clear()
    keys.trusted.clear()


def trust_new_identity(keys: BotKeys, frame: Frame) -> None:
    """Accept the identity a prekey message brings, dropping the session built on the old one.

    Baileys' ``isTrustedIdentity`` always says yes and ``saveIdentity`` drops the old session
    (``src/Signal/libsignal.ts`` L482-L500); whatsmeow with ``AutoTrustIdentity`` (default true,
    ``client.go`` L287) clears the stored identity and decrypts again (``message.go`` L590-L596).
    """
    trusted = keys.trusted.get(frame.sender)
    if trusted is not None and trusted != frame.identity:
        del keys.trusted[frame.sender]
        keys.records.pop(frame.sender, None)
