"""The claim the README makes, measured: the default fault mix with and without the manager."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from harness.simulate import SimConfig, run_simulation


@pytest.mark.parametrize("seed", [1, 2])
def test_manager_against_no_manager_on_the_default_mix(seed: int, measured: list[dict[str, Any]]) -> None:
    """Same seed, same world, same faults: the manager delivers at least 99 % and loses a fifth or less."""
    config = SimConfig(seed=seed)
    with_manager = run_simulation(config)
    without = run_simulation(dataclasses.replace(config, manager=False))
    d, n = with_manager["delivery"], without["delivery"]
    assert d["sent"] == n["sent"]
    measured.append(
        {
            "seed": seed,
            "sent": d["sent"],
            "delivered_with": d["delivered_ratio"],
            "delivered_without": n["delivered_ratio"],
            "lost_with": d["lost"],
            "lost_without": n["lost"],
            "recovery_delay_p50_s": (d["recovery_delay_s"] or {}).get("p50"),
            "recovery_delay_p90_s": (d["recovery_delay_s"] or {}).get("p90"),
            "time_to_healthy_p50_s": with_manager["actions"]["time_to_recover_s"]["p50"],
        }
    )
    assert d["delivered_ratio"] >= 0.99
    assert d["lost"] * 5 <= n["lost"]
    assert n["recovered"] == 0  # nothing recovers by itself
