"""Every scenario is end to end, on virtual time; measured figures are printed at the end."""

from __future__ import annotations

from typing import Any

import pytest

MEASURED = pytest.StashKey[list[dict[str, Any]]]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[MEASURED] = []


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.parent.name == "scenarios":
            item.add_marker(pytest.mark.scenario)


@pytest.fixture
def measured(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    """Rows appended here are printed in the terminal summary: figures a run measured."""
    return request.config.stash[MEASURED]


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    rows = config.stash[MEASURED]
    if not rows:
        return
    terminalreporter.section("sessionmgr: measured")
    for row in rows:
        terminalreporter.write_line("  ".join(f"{k}={v}" for k, v in row.items()))
