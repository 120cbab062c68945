"""The server's one-time prekey pool for each bot: uploads, bundles handed to senders, refills."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Final

from harness.parties import Bot

__all__ = ["PREKEY_BATCH", "PREKEY_LOW", "PrekeyServer"]

#: Baileys uploads this many one-time prekeys at a time, and refills below the low mark.
PREKEY_BATCH: Final = 30
PREKEY_LOW: Final = 5


class PrekeyServer:
    """Hands out one prekey per new sending session and asks the bot for more when the pool runs low.

    ``secret`` makes a new key's secret (the world's seeded generator);
    ``refill_delay`` is how long the bot takes to answer the "prekeys low" notice.
    """

    def __init__(self, secret: Callable[[], bytes], refill_delay: float, refill_batch: int = PREKEY_BATCH) -> None:
        self._secret = secret
        self._refill_delay = refill_delay
        #: how many keys the bot's client uploads when the server says it runs low; a recovery
        #: driver sets its client's number (Baileys 5, whatsmeow 50: see harness.baselines)
        self.refill_batch = refill_batch

    @staticmethod
    def count(bot: Bot) -> int:
        """The server's count of one-time prekeys left for ``bot`` (what its "prekeys low" notice reports)."""
        return len(bot.server_prekeys)

    def generate_one(self, bot: Bot) -> int:
        """A one-time prekey made for a retry receipt's key bundle: kept by the bot, never uploaded.

        Baileys ``getNextPreKeys(authState, 1)`` (``src/Socket/messages-recv.ts`` L695-L716),
        whatsmeow ``GenOnePreKey`` (``retry.go`` L517-L534).
        """
        prekey_id = bot.next_prekey_id
        bot.next_prekey_id += 1
        bot.keys.prekeys[prekey_id] = self._secret()
        return prekey_id

    def notify_low(self, bot: Bot) -> None:
        """The server's "prekeys low" notice: the bot's client refills after ``refill_delay``."""
        if not bot.refill_pending and not bot.refill_lost:
            bot.refill_pending = True
            asyncio.get_running_loop().call_later(self._refill_delay, self._refill, bot)

    def upload(self, bot: Bot, count: int) -> None:
        """The bot makes ``count`` new one-time prekeys and uploads them."""
        for _ in range(count):
            prekey_id = bot.next_prekey_id
            bot.next_prekey_id += 1
            bot.keys.prekeys[prekey_id] = self._secret()
            bot.server_prekeys.append(prekey_id)

    def fetch_bundle(self, bot: Bot) -> tuple[int | None, int]:
        """The server hands out one one-time prekey id (and the signed prekey id).

        When the pool is dry the server keeps handing out the last id it gave,
        a consumed key the bot no longer has: the sender gets ``Invalid PreKey ID``.
        """
        if bot.server_prekeys:
            bot.last_resort = bot.server_prekeys.pop(0)
        if len(bot.server_prekeys) < PREKEY_LOW:
            self.notify_low(bot)
        return bot.last_resort, bot.signed_id

    def _refill(self, bot: Bot) -> None:
        bot.refill_pending = False
        if bot.connected and not bot.refill_lost:
            self.upload(bot, self.refill_batch)
