"""An advisory manager (sessionmgr watch) decides but never acts: its decisions say they were advised."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

import harness
from sessionmgr import Category, DecryptError, Event, MockBackend, SessionManager
from sessionmgr.cli import main
from sessionmgr.monitoring import LoggingSink
from sessionmgr.store import open_store

#: The decisions that stand for a backend call: what an advisory manager must mark as not done.
ACTIONS = {"resend_requested", "peer_reset", "regeneration_started", "regeneration_succeeded"}


async def _storm(manager: SessionManager) -> list[Event]:
    events: list[Event] = []
    manager.bus.subscribe(events.append)
    async with manager:
        for n in range(5):
            manager.observe_nowait(
                DecryptError(session="bot-1", peer=f"peer-{n % 2}", error="Bad MAC", category=Category.BAD_MAC)
            )
        await asyncio.sleep(2)
        await manager.drain()
    return events


@pytest.mark.virtual_time
async def test_advisory_decisions_are_marked_advised_and_nothing_is_called() -> None:
    """Every action an advisory manager decides carries advised=True, and the backend is never called."""
    backend = MockBackend()
    events = await _storm(SessionManager(backend, advisory=True))
    kinds = {e.kind for e in events}
    assert kinds >= ACTIONS
    assert all(e.advised for e in events if e.kind in ACTIONS)
    assert not any(e.advised for e in events if e.kind in ("decrypt_error", "health"))
    assert backend.methods() == []


@pytest.mark.virtual_time
async def test_a_manager_that_acts_marks_nothing_advised() -> None:
    """A manager that carries its decisions out records them as plain decisions, as before."""
    backend = MockBackend()
    events = await _storm(SessionManager(backend))
    assert {e.kind for e in events} >= ACTIONS
    assert not any(e.advised for e in events)
    assert "regenerate_keys" in backend.methods()
    assert all("advised" not in e.fields() for e in events)


@pytest.mark.virtual_time
async def test_the_log_line_says_advised_not_done(caplog: pytest.LogCaptureFixture) -> None:
    """The log sink writes 'regeneration_succeeded (advised, not carried out)', never a bare success."""
    manager = SessionManager(MockBackend(), advisory=True)
    logger = logging.getLogger("test.sessionmgr.advisory")
    manager.bus.subscribe(LoggingSink(logger))
    with caplog.at_level(logging.INFO, logger.name):
        await _storm(manager)
    lines = [r.getMessage() for r in caplog.records]
    assert any(line.startswith("regeneration_succeeded (advised, not carried out) session=bot-1") for line in lines)
    assert not any(line.startswith("regeneration_succeeded session=") for line in lines)


def test_status_shows_advised_decisions_as_advised(tmp_path: Path) -> None:
    """sessionmgr status marks an advisory manager's decisions '(advised)' and says what that means."""
    db = tmp_path / "watch.db"

    async def watch_a_storm() -> None:
        store = open_store(str(db))
        await _storm(SessionManager(MockBackend(), advisory=True, store=store))
        await store.close()

    harness.run(watch_a_storm())
    result = CliRunner().invoke(main, ["status", "--store", str(db), "--audit", "50"])
    assert result.exit_code == 0, result.output
    assert "regeneration_succeeded (advised)" in result.output
    assert "not carried out" in result.output
