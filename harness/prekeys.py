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

    def __init__(self, secret: Callable[[], bytes], refill_delay: float) -> None:
        self._secret = secret
        self._refill_delay = refill_delay

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
        if len(bot.server_prekeys) < PREKEY_LOW and not bot.refill_pending and not bot.refill_lost:
            bot.refill_pending = True
            asyncio.get_running_loop().call_later(self._refill_delay, self._refill, bot)
        return bot.last_resort, bot.signed_id

    def _refill(self, bot: Bot) -> None:
        bot.refill_pending = False
        if bot.connected and not bot.refill_lost:
            self.upload(bot, PREKEY_BATCH)
