"""The sessionmgr pytest plugin: virtual time, chaos seeds, and a world to break.

Registered under the ``pytest11`` entry point, so installing the package is
enough. Mark an async test ``@pytest.mark.virtual_time`` (together with
``@pytest.mark.asyncio``) to run it on :class:`~harness.loop.VirtualLoop`.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Generator, Iterator, Mapping
from typing import Any

import pytest

from harness.loop import VirtualLoop
from harness.population import make_population
from harness.world import Observer, SimWorld, WorldBackend, WorldConfig
from sessionmgr.clock import LoopClock
from sessionmgr.manager import SessionManager

__all__ = ["CHAOS_SEED_KEY"]

CHAOS_SEED_KEY = "sessionmgr/chaos-seed"

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
    if cache is not None:
        cache.set(CHAOS_SEED_KEY, seed)
    return seed


def pytest_configure(config: pytest.Config) -> None:
    for marker in _MARKERS:
        config.addinivalue_line("markers", marker)
    config.stash[_SEED] = _resolve_seed(config)


_SEED = pytest.StashKey[int]()


def pytest_report_header(config: pytest.Config) -> str:
    return f"sessionmgr chaos seed: {config.stash[_SEED]} (replay with --chaos-seed {config.stash[_SEED]})"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed and "chaos_seed" in getattr(item, "fixturenames", ()):
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
    return request.config.stash[_SEED]


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
