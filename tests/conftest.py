"""Fixtures shared by the unit tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

import pytest_asyncio

from sessionmgr import Event, MockBackend, SessionManager


class Starter(Protocol):
    """Starts a manager on ``backend`` and returns it with the list its bus publishes into."""

    async def __call__(self, backend: MockBackend, **options: object) -> tuple[SessionManager, list[Event]]: ...


@pytest_asyncio.fixture
async def started() -> AsyncIterator[Starter]:
    """Start managers for a test and close every one of them afterwards, even when the test fails."""
    managers: list[SessionManager] = []

    async def start(backend: MockBackend, **options: object) -> tuple[SessionManager, list[Event]]:
        manager = SessionManager(backend, **options)  # type: ignore[arg-type]
        events: list[Event] = []
        manager.bus.subscribe(events.append)
        managers.append(manager)
        await manager.start()
        return manager, events

    yield start
    for manager in reversed(managers):
        await manager.aclose()  # closing twice is harmless: a test may close one itself
