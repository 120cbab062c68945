"""Shared test configuration: Hypothesis profiles for development and CI.

``HYPOTHESIS_PROFILE=dev|ci`` picks one; CI (``CI`` set) defaults to ``ci``.
Both print a ``@reproduce_failure`` blob with any falsifying example.
"""

import os

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
