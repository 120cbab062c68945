"""Traffic: peers writing to their bots as one seeded Poisson stream."""

from __future__ import annotations

import asyncio
import random
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.world import SimWorld

__all__ = ["poisson_traffic"]


async def poisson_traffic(
    world: SimWorld, texts: tuple[str, ...], message_interval: float, rng: random.Random, horizon: float
) -> None:
    """Each peer writes every ``message_interval`` seconds on average, until ``horizon``."""
    # One Poisson stream for the whole population: one timer at a time, however many peers.
    peers = sorted(world.peers)
    rate = len(peers) / message_interval
    loop = asyncio.get_running_loop()
    start = loop.time()
    while True:
        await asyncio.sleep(rng.expovariate(rate))
        if loop.time() - start >= horizon:
            return
        world.send(rng.choice(peers), rng.choice(texts).encode())
