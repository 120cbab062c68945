"""The ``started`` fixture (tests/conftest.py), exercised in a separate pytest run (pytester)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

FAILING = """
import pytest
from sessionmgr import MockBackend, SessionManager

CLOSED = []
pytestmark = [pytest.mark.asyncio, pytest.mark.virtual_time]


async def test_fails_with_a_started_manager(started):
    manager, _ = await started(MockBackend())
    original = manager.aclose

    async def aclose():
        CLOSED.append(manager)
        await original()

    manager.aclose = aclose
    assert False, "the test fails while its manager runs"


def test_the_failed_tests_manager_was_closed():
    assert len(CLOSED) == 1
"""


def test_managers_are_closed_even_when_the_test_fails(pytester: pytest.Pytester) -> None:
    """A test failing mid-way still has its manager closed by the fixture's teardown."""
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makeconftest((Path(__file__).parent / "conftest.py").read_text(encoding="utf-8"))
    pytester.makepyfile(FAILING)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["*the test fails while its manager runs*"])
