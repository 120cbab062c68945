"""Every golden report (examples/ replays, a 5,000-error storm, a live simulation) is byte-identical to main's.

The digests in tests/golden/reports.json were made from unchanged main with
``python -m tests.golden_reports --write``; regenerate them only when a change
to the output is intended, and say so in the commit.
"""

from __future__ import annotations

import pytest

from tests.golden_reports import cases, digest, load

_GOLDEN = load()


def test_every_case_has_a_digest() -> None:
    """The cases and the committed digests name the same reports, so none goes unchecked."""
    assert sorted(cases()) == sorted(_GOLDEN)


@pytest.mark.parametrize("name", sorted(cases()))
def test_report_is_byte_identical(name: str) -> None:
    """The report this case produces now hashes to the digest committed from main."""
    assert digest(cases()[name]()) == _GOLDEN[name]
