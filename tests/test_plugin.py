"""The pytest plugin, exercised in a separate pytest run (pytester)."""

from __future__ import annotations

import re

import pytest

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True)
def _ini(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")


def test_seed_in_header_and_replay_command_on_failure(pytester: pytest.Pytester) -> None:
    """The header shows the seed; a failing test that used it prints the command to replay it."""
    pytester.makepyfile(
        """
        def test_fails(chaos_seed):
            assert chaos_seed == -1
        """
    )
    result = pytester.runpytest("--chaos-seed", "1234", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*sessionmgr chaos seed: 1234*", "*pytest '*test_fails' --chaos-seed 1234*"])


def test_last_reuses_the_previous_seed(pytester: pytest.Pytester) -> None:
    """--chaos-seed last replays the seed the previous run chose."""
    pytester.makepyfile("def test_ok(chaos_seed): print('SEED', chaos_seed)")
    first = pytester.runpytest("-s")
    match = re.search(r"SEED (\d+)", first.stdout.str())
    assert match is not None
    seed = match.group(1)
    again = pytester.runpytest("-s", "--chaos-seed", "last")
    again.stdout.fnmatch_lines([f"*SEED {seed}*"])


def test_bad_seed_is_a_usage_error(pytester: pytest.Pytester) -> None:
    """A seed that is neither an int nor 'last' is refused clearly."""
    result = pytester.runpytest("--chaos-seed", "soon")
    result.stderr.fnmatch_lines(["*--chaos-seed expects an integer or 'last'*"])


def test_virtual_time_marker_and_world_fixtures(pytester: pytest.Pytester) -> None:
    """A marked async test runs on virtual time with a world and a manager wired to it."""
    pytester.makepyfile(
        """
        import asyncio, pytest
        from harness.loop import VirtualLoop

        @pytest.mark.asyncio
        @pytest.mark.virtual_time
        async def test_day(world_factory, manager_factory, virtual_clock):
            world = world_factory(sessions=1, peers=2)
            async with manager_factory(world, clock=virtual_clock) as manager:
                await virtual_clock.sleep(86400)
            assert isinstance(asyncio.get_running_loop(), VirtualLoop)
            assert virtual_clock.monotonic() == 86400
            assert virtual_clock.wall().isoformat() == "2026-01-02T00:00:00+00:00"
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
