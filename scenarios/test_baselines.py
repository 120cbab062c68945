"""The four recoveries on one small world: same traffic, same faults, different outcomes."""

from __future__ import annotations

from typing import Any

import pytest

from harness.comparison import COMPARISON_COLUMNS, comparison_row, run_comparison
from harness.simulate import RECOVERIES, SimConfig

pytestmark = [pytest.mark.scenario]

#: Small and busy, with the default mix (so a phone offline spell, unavailable bursts and a prekey drain).
SMALL = SimConfig(seed=3, sessions=4, peers_per_session=10, hours=6, message_interval=600, fault_scale=2.0)


@pytest.fixture(scope="module")
def rows() -> dict[str, dict[str, Any]]:
    return {name: comparison_row(result) for name, result in run_comparison(SMALL).items()}


def test_every_row_sees_the_same_traffic_and_accounts_for_every_message(rows: dict[str, dict[str, Any]]) -> None:
    """Same seed, same messages sent; in each row every message ends delivered or lost."""
    assert list(rows) == list(RECOVERIES)
    assert len({row["sent"] for row in rows.values()}) == 1
    for row in rows.values():
        assert set(row) == {"recovery", *COMPARISON_COLUMNS}
        assert row["delivered"] + row["lost"] == row["sent"]


def test_no_recovery_is_the_floor(rows: dict[str, dict[str, Any]]) -> None:
    """Nobody acting does nothing, and loses more than any recovery."""
    none = rows["none"]
    assert (none["resends"], none["resets"], none["phone_requests"], none["delivered_by_phone"]) == (0, 0, 0, 0)
    assert none["resolve_p50_s"] is None
    for name in ("ours", "baileys", "whatsmeow"):
        assert rows[name]["lost"] < none["lost"]


def test_the_clients_act_as_their_source_says(rows: dict[str, dict[str, Any]]) -> None:
    """Baileys deletes peer sessions and asks the phone on retries; whatsmeow never resets and asks only for unavailable ones."""
    baileys, whatsmeow = rows["baileys"], rows["whatsmeow"]
    assert baileys["resets"] > 0 and whatsmeow["resets"] == 0
    assert baileys["regenerations"] == whatsmeow["regenerations"] == 0
    assert baileys["phone_requests"] > whatsmeow["phone_requests"] > 0
    # the unavailable messages that arrive while the phone is online come back through it
    assert baileys["delivered_by_phone"] > 0 and whatsmeow["delivered_by_phone"] > 0
