"""Shared test configuration: Hypothesis profiles for development and CI.

``HYPOTHESIS_PROFILE=dev|ci|long`` picks one; CI (``CI`` set) defaults to ``ci``.
Both print a ``@reproduce_failure`` blob with any falsifying example.
"""

import logging
import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=100, print_blob=True)
# CI: reproducible (derandomized), no per-example deadline on a noisy 2-core machine.
settings.register_profile(
    "ci",
    max_examples=200,
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
# Local fuzzing at length (HYPOTHESIS_PROFILE=long): ten times CI's examples, random, no deadline.
settings.register_profile("long", max_examples=2000, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


# Tests that need a real server or browser (PostgreSQL, Chromium, promtool) skip on a machine that
# lacks it, saying how to run them. CI installs everything, so there a skip is a missing install
# step: SESSIONMGR_FORBID_SKIPS=1 (set by .ci/run) turns any skip into a failed run.
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not os.environ.get("SESSIONMGR_FORBID_SKIPS"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped:
        if reporter is not None:
            message = f"SESSIONMGR_FORBID_SKIPS: {len(skipped)} test(s) skipped; CI must run them all"
            reporter.write_line(message, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# The bus logs and skips a failing handler, and the manager logs a failed task, so that a broken
# sink never stops recovery. In a test that would hide the bug: any such error fails the test,
# unless it is marked ``handler_errors_expected`` (a test of that very logging).
class _ErrorsSeen(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        # an exception, not a notice such as asyncio's "Task was destroyed but it is pending!" (exc_info False)
        if record.exc_info and record.exc_info[0] is not None:
            self.records.append(record)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "handler_errors_expected: the test provokes a failing event handler or task on purpose"
    )


@pytest.fixture(autouse=True)
def _fail_on_swallowed_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    seen = _ErrorsSeen()
    # asyncio's logger too: an exception in a loop callback (``call_soon`` from the journal,
    # ``call_soon_threadsafe`` from watch's followers) is logged there and nowhere else
    loggers = [logging.getLogger(name) for name in ("sessionmgr", "asyncio")]
    for logger in loggers:
        logger.addHandler(seen)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeHandler(seen)
    if seen.records and request.node.get_closest_marker("handler_errors_expected") is None:
        first = seen.records[0]
        pytest.fail(
            f"{len(seen.records)} error(s) swallowed by sessionmgr during the test; first from "
            f"{first.name}: {first.getMessage()}\n" + logging.Formatter().formatException(first.exc_info),  # type: ignore[arg-type]
            pytrace=False,
        )
