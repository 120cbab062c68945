"""The pytest plugin, exercised in a separate pytest run (pytester)."""

from __future__ import annotations

import re
from pathlib import Path

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


_VIRTUAL_DAY = """
import asyncio, pytest
from harness.loop import VirtualLoop

@pytest.mark.virtual_time
async def test_day():
    await asyncio.sleep(86400)
    assert isinstance(asyncio.get_running_loop(), VirtualLoop)
    assert asyncio.get_running_loop().time() == 86400
"""


@pytest.mark.parametrize("mode", ["strict", "auto"])
def test_virtual_time_alone_runs_in_strict_and_auto_mode(pytester: pytest.Pytester, mode: str) -> None:
    """A test marked only virtual_time (as the README shows) runs on the virtual loop in either asyncio mode."""
    pytester.makeini(f"[pytest]\nasyncio_mode = {mode}\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(_VIRTUAL_DAY)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_module_level_virtual_time_mark_is_enough_in_strict_mode(pytester: pytest.Pytester) -> None:
    """A module-wide ``pytestmark = pytest.mark.virtual_time`` puts every async test of it on virtual time."""
    pytester.makepyfile(
        """
        import asyncio, pytest
        from harness.loop import VirtualLoop

        pytestmark = pytest.mark.virtual_time

        class TestDay:
            async def test_in_class(self):
                assert isinstance(asyncio.get_running_loop(), VirtualLoop)

        async def test_at_module_level():
            await asyncio.sleep(3600)
            assert asyncio.get_running_loop().time() == 3600
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_no_seed_line_when_nothing_of_the_plugin_is_used(pytester: pytest.Pytester) -> None:
    """A project that merely has sessionmgr installed sees no seed line and gets no seed in its cache."""
    pytester.makepyfile("def test_plain():\n    assert True\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "chaos seed" not in result.stdout.str()
    cache = pytester.path / ".pytest_cache" / "v" / "sessionmgr" / "chaos-seed"
    assert not cache.exists()


def test_seed_line_in_summary_when_a_chaos_fixture_is_used(pytester: pytest.Pytester) -> None:
    """A run in which a test used a chaos fixture ends with the seed and how to replay it."""
    pytester.makepyfile("def test_rng(chaos_rng):\n    print('DRAW', chaos_rng.random())\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["sessionmgr chaos seed: * (replay with --chaos-seed *)"])
    assert "sessionmgr chaos seed" not in result.stdout.lines[1]  # not in the header: no option was given


def test_world_factory_without_faker_names_the_extra(pytester: pytest.Pytester) -> None:
    """Without the harness extra, world_factory fails with the pip command, and no replay hint."""
    # what a missing package looks like to import; set once plugins are loaded (Faker is one),
    # in a separate process so this one keeps its faker
    pytester.makeconftest("import sys\nsys.modules['faker'] = None\n")
    pytester.makepyfile("def test_world(world_factory):\n    world_factory(sessions=1, peers=1)\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    output = result.stdout.str()
    assert "world_factory needs faker, from sessionmgr's harness extra: pip install 'sessionmgr[harness]'" in output
    assert "--chaos-seed" not in output
    assert "Traceback" not in output


def test_virtual_time_without_pytest_asyncio_names_the_extra(pytester: pytest.Pytester) -> None:
    """With pytest-asyncio absent, a virtual_time test fails naming the extra, not 'not natively supported'."""
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(_VIRTUAL_DAY)
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:asyncio")
    result.assert_outcomes(errors=1)
    output = result.stdout.str()
    assert (
        "virtual_time needs pytest-asyncio, from sessionmgr's harness extra: pip install 'sessionmgr[harness]'"
        in output
    )
    assert "not natively supported" not in output


@pytest.mark.parametrize("mode", ["strict", "auto"])
def test_the_readme_example_tests_pass_as_written(pytester: pytest.Pytester, mode: str) -> None:
    """examples/test_bot_example.py, written from the README alone, passes unchanged in either asyncio mode."""
    example = Path(__file__).parent.parent / "examples" / "test_bot_example.py"
    pytester.makeini(f"[pytest]\nasyncio_mode = {mode}\nasyncio_default_fixture_loop_scope = function\n")
    # another module name: this process may have imported the original already
    pytester.makepyfile(test_bot_example_copy=example.read_text(encoding="utf-8"))
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
