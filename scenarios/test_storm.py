"""Baileys issue #2234: 168,000 Bad MAC errors in two hours on one session."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from sessionmgr import Category, DecryptError, Event, MockBackend, Policy, SessionManager

pytestmark = [pytest.mark.asyncio, pytest.mark.virtual_time]

ERRORS = 168_000
HOURS = 2
PEERS = [f"55119{i:08d}@s.whatsapp.net" for i in range(500)]


async def test_168k_bad_macs_in_two_hours() -> None:
    """Memory stays bounded, regenerations are bounded by the cooldown and escalation, then it ends."""
    policy = Policy()
    backend = MockBackend()
    events: list[Event] = []
    manager = SessionManager(backend, policy=policy)
    manager.bus.subscribe(lambda e: events.append(e) if e.kind != "decrypt_error" else None)
    footprints: list[dict[str, int]] = []
    per_batch = 7  # the log's errors arrive in clumps; 7 every 0.3 s is 23.3 a second
    interval = HOURS * 3600 * per_batch / ERRORS
    async with manager:
        for n in range(ERRORS // per_batch):
            for k in range(per_batch):
                peer = PEERS[(n * per_batch + k) % len(PEERS)]
                manager.observe_nowait(
                    DecryptError(
                        session="bot-01", peer=peer, error="Bad MAC", message_type="msg", category=Category.BAD_MAC
                    )
                )
            if n % 4000 == 3999:
                footprints.append(manager.footprint())
            await asyncio.sleep(interval)
        await manager.drain()
        stats = manager.get_session_stats().sessions["bot-01"]
    assert stats.errors == ERRORS
    kinds = [e.kind for e in events]
    assert kinds.count("regeneration_succeeded") == policy.max_regenerations
    regenerations = [e.t for e in events if e.kind == "regeneration_succeeded"]
    assert all(b - a >= policy.regeneration_cooldown for a, b in itertools.pairwise(regenerations))
    [corrupted] = [e for e in events if e.kind == "corrupted"]
    assert corrupted.t < 300  # the escalation ends it within minutes, not hours
    after = [
        e for e in events if e.t > corrupted.t and e.kind in ("resend_requested", "peer_reset", "regeneration_started")
    ]
    assert after == []  # no action once corrupted, though errors kept coming
    assert kinds.count("cleaned") == 1
    # what the manager holds after 20 minutes and after two hours: the window's worth, not the history
    window_worth = int(ERRORS / (HOURS * 3600) * policy.window) + per_batch
    for footprint in footprints:
        assert footprint["window_entries"] <= 2 * window_worth
        assert footprint["peer_windows"] <= len(PEERS)
        assert footprint["tasks"] <= 5
    assert footprints[-1]["window_entries"] <= footprints[1]["window_entries"] + per_batch
