"""Observations are stamped with the manager's time: copied when the caller keeps them, in place when handed over."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sessionmgr import DecryptError, Event, MockBackend
from sessionmgr.categories import Category
from tests.conftest import Starter

pytestmark = [pytest.mark.asyncio, pytest.mark.virtual_time]

_LOGGED = datetime(2020, 5, 5, tzinfo=UTC)


def _error() -> DecryptError:
    return DecryptError(session="s", peer="p", error="Bad MAC", category=Category.DECRYPT_FAILED, at=_LOGGED)


async def test_a_kept_observation_is_copied_and_left_alone(started: Starter) -> None:
    """Without handed_over the caller's event is untouched; the published copy has the manager's time."""
    manager, events = await started(MockBackend())
    mine = _error()
    manager.observe_nowait(mine)
    published = [e for e in events if isinstance(e, DecryptError)]
    assert mine.at == _LOGGED and mine.category is Category.DECRYPT_FAILED
    assert published[0] is not mine and published[0].at != _LOGGED
    assert published[0].category is Category.BAD_MAC


async def test_a_handed_over_observation_is_stamped_in_place_with_the_same_values(started: Starter) -> None:
    """handed_over publishes the very object, stamped and classified exactly as the copy would be."""
    manager, events = await started(MockBackend())
    manager.observe_nowait(_error())
    given = _error()
    manager.observe_nowait(given, handed_over=True)
    copied, stamped = [e for e in events if isinstance(e, DecryptError)]
    assert stamped is given

    def values(e: Event) -> tuple[object, ...]:
        return (e.t, e.at, e.fields())

    assert values(stamped) == values(copied)
