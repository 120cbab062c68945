"""Every scenario is end to end, on virtual time."""

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.parent.name == "scenarios":
            item.add_marker(pytest.mark.scenario)
