"""The sessionmgr pytest plugin: virtual time, chaos seeds, and a world to break.

Registered under the ``pytest11`` entry point, so installing the package is
enough. Mark an async test ``@pytest.mark.virtual_time`` to run it on
:class:`~harness.loop.VirtualLoop`; the plugin adds ``@pytest.mark.asyncio`` to
it, so it runs in pytest-asyncio's strict mode as in auto mode.

The plugin stays quiet in projects that merely have sessionmgr installed: the
seed line is printed only when ``--chaos-seed`` is given or a test used a chaos
fixture (``chaos_seed``, ``chaos_rng``, ``world_factory``).
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import random
from collections.abc import Callable, Generator, Iterator, Mapping
from typing import Any

import pytest

from harness.loop import VirtualLoop
from harness.population import make_population
from harness.world import Observer, SimWorld, WorldBackend, WorldConfig
from sessionmgr.clock import LoopClock
from sessionmgr.manager import SessionManager

__all__ = ["CHAOS_SEED_KEY", "MissingExtra"]

CHAOS_SEED_KEY = "sessionmgr/chaos-seed"
#: pytest-asyncio registers itself under this plugin name (``-p no:asyncio`` disables it).
_ASYNCIO_PLUGIN = "asyncio"


class MissingExtra(pytest.fail.Exception):  # type: ignore[name-defined,misc]
    """A fixture or marker needs a package of the ``harness`` extra that is not installed."""

    def __init__(self, what: str, module: str) -> None:
        super().__init__(
            f"{what} needs {module}, from sessionmgr's harness extra: pip install 'sessionmgr[harness]'",
            pytrace=False,
        )


def _require(module: str, what: str) -> None:
    try:
        importlib.import_module(module)
    except ImportError:
        raise MissingExtra(what, module) from None


_MARKERS = (
    "virtual_time: run this asyncio test on the virtual-time loop (timers jump, no real sleeps)",
    "scenario: an end-to-end scenario on the simulated transport",
    "slow: takes more than a second of real time",
    "crash: kills manager processes with SIGKILL and checks what the store kept",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sessionmgr", "sessionmgr chaos harness")
    group.addoption(
        "--chaos-seed",
        action="store",
        default=None,
        metavar="SEED",
        help="seed for every random choice the harness makes: an integer, or 'last' to reuse the previous run's",
    )


def _resolve_seed(config: pytest.Config) -> int:
    raw = config.getoption("--chaos-seed")
    cache = getattr(config, "cache", None)  # absent under -p no:cacheprovider
    if raw is None:
        # a fresh seed per run, from the system's entropy, recorded so 'last' can replay it
        seed = random.SystemRandom().randrange(2**32)
    elif raw == "last":
        last = cache.get(CHAOS_SEED_KEY, None) if cache is not None else None
        if last is None:
            raise pytest.UsageError("--chaos-seed last: no previous run recorded a seed; pass an integer")
        seed = int(last)
    else:
        try:
            seed = int(raw)
        except ValueError:
            raise pytest.UsageError(f"--chaos-seed expects an integer or 'last', got {raw!r}") from None
    return seed


def pytest_configure(config: pytest.Config) -> None:
    for marker in _MARKERS:
        config.addinivalue_line("markers", marker)
    config.stash[_SEED] = _resolve_seed(config)
    config.stash[_SEED_USED] = False


_SEED = pytest.StashKey[int]()
#: set once a test that uses the chaos seed has run: only then does the summary print it
_SEED_USED = pytest.StashKey[bool]()


def _seed_line(config: pytest.Config) -> str:
    seed = config.stash[_SEED]
    return f"sessionmgr chaos seed: {seed} (replay with --chaos-seed {seed})"


def pytest_report_header(config: pytest.Config) -> str | None:
    return _seed_line(config) if config.getoption("--chaos-seed") is not None else None


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    if config.stash.get(_SEED_USED, False):
        terminalreporter.write_line(_seed_line(config))


def _marked(collector: pytest.Collector, obj: object, name: str) -> bool:
    own = getattr(obj, "pytestmark", [])
    own = own if isinstance(own, list) else [own]
    return any(getattr(mark, "name", None) == name for mark in own) or any(collector.iter_markers(name))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> Generator[None, Any, Any]:
    # pytest-asyncio's strict mode runs only tests marked asyncio, and decides so while
    # collecting (its loop factories are chosen then too): mark virtual_time tests before it looks.
    if (
        inspect.iscoroutinefunction(obj)
        and collector.config.pluginmanager.hasplugin(_ASYNCIO_PLUGIN)
        and _marked(collector, obj, "virtual_time")
        and not _marked(collector, obj, "asyncio")
    ):
        pytest.mark.asyncio(obj)
    return (yield)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("virtual_time") is None:
        return
    if not item.config.pluginmanager.hasplugin(_ASYNCIO_PLUGIN):
        # without pytest-asyncio, pytest would fail later with "async def functions are not natively supported"
        raise MissingExtra("@pytest.mark.virtual_time", "pytest-asyncio")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    uses_seed = "chaos_seed" in getattr(item, "fixturenames", ())
    if uses_seed and report.when == "call":
        item.config.stash[_SEED_USED] = True  # the test ran with the seed: the run's summary names it
    missing_extra = call.excinfo is not None and call.excinfo.errisinstance(MissingExtra)
    if report.failed and not missing_extra and uses_seed:
        seed = item.config.stash[_SEED]
        report.sections.append(
            ("sessionmgr chaos seed", f"replay this failure with:\n  pytest '{item.nodeid}' --chaos-seed {seed}")
        )
    return report


@pytest.hookimpl(optionalhook=True, trylast=True)
def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> Mapping[str, Callable[[], Any]]:
    """Give ``virtual_time`` tests the virtual loop; others keep asyncio's own."""
    if item.get_closest_marker("virtual_time") is not None:
        return {"virtual": VirtualLoop}
    return {"asyncio": asyncio.new_event_loop}


@pytest.fixture
def chaos_seed(request: pytest.FixtureRequest) -> int:
    """The run's chaos seed; a failing test that used it prints how to replay it."""
    config = request.config
    cache = getattr(config, "cache", None)  # absent under -p no:cacheprovider
    if cache is not None:
        cache.set(CHAOS_SEED_KEY, config.stash[_SEED])  # for --chaos-seed last
    return config.stash[_SEED]


@pytest.fixture
def chaos_rng(chaos_seed: int) -> random.Random:
    """A ``random.Random`` seeded with the chaos seed."""
    return random.Random(chaos_seed)


@pytest.fixture
def virtual_loop() -> Iterator[VirtualLoop]:
    """A fresh virtual-time loop for synchronous tests that drive it by hand."""
    loop = VirtualLoop()
    try:
        yield loop
    finally:
        loop.close()


@pytest.fixture
def virtual_clock() -> LoopClock:
    """The manager's clock on the running loop: virtual inside a ``virtual_time`` test."""
    return LoopClock()


@pytest.fixture
def world_factory(chaos_seed: int) -> Callable[..., SimWorld]:
    """Make a :class:`~harness.world.SimWorld`: ``world_factory(sessions=2, peers=5, seed=None)``.

    The seed defaults to the chaos seed, so a failure replays with ``--chaos-seed``.
    """
    _require("faker", "world_factory")  # populations are drawn with Faker

    def make(
        sessions: int = 2,
        peers: int = 5,
        *,
        seed: int | None = None,
        config: WorldConfig | None = None,
        observer: Observer | None = None,
    ) -> SimWorld:
        seed = chaos_seed if seed is None else seed
        population = make_population(seed, sessions, peers, texts=20)
        return SimWorld(population, random.Random(seed), config=config, observer=observer)

    return make


@pytest.fixture
def manager_factory() -> Callable[..., SessionManager]:
    """Wire a :class:`~sessionmgr.SessionManager` to a world: ``manager_factory(world, policy=...)``.

    The world's observations feed the manager and its decisions act on the world;
    start it with ``async with`` inside a ``virtual_time`` test.
    """

    def make(world: SimWorld, **options: Any) -> SessionManager:
        options.setdefault("clock", LoopClock())
        manager = SessionManager(WorldBackend(world), **options)
        world.observer = manager.observe_nowait
        return manager

    return make
