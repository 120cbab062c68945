"""How fast the default simulation runs: messages per second and virtual-to-real time.

    python -m bench.simulate [--hours 24] [--json]

Runs the default world with and without the manager in the same process, so
the manager's own cost shows as a ratio rather than an absolute time.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
import tracemalloc
from typing import Any

from harness.simulate import SimConfig, run_simulation


def measure(config: SimConfig) -> dict[str, Any]:
    start = time.perf_counter()
    report = run_simulation(config)
    real = time.perf_counter() - start
    # a second pass for memory: tracemalloc slows the run several times over
    tracemalloc.start()
    run_simulation(config)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    sent = report["delivery"]["sent"]
    return {
        "manager": config.manager,
        "messages": sent,
        "events": report["input"]["events"],
        "real_s": round(real, 3),
        "messages_per_s": round(sent / real),
        "virtual_to_real": round(config.hours * 3600 / real),
        "peak_mib": round(peak / 2**20, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON")
    args = parser.parse_args()
    config = SimConfig(seed=args.seed, hours=args.hours)
    rows = [measure(config), measure(dataclasses.replace(config, manager=False))]
    ratio = rows[0]["real_s"] / rows[1]["real_s"]
    if args.json:
        print(json.dumps({"rows": rows, "manager_cost_ratio": round(ratio, 2)}, indent=2))
        return
    print(f"{'run':<16}{'messages':>10}{'events':>10}{'real s':>9}{'msg/s':>9}{'virt:real':>11}{'peak MiB':>10}")
    for row in rows:
        name = "with manager" if row["manager"] else "without manager"
        print(
            f"{name:<16}{row['messages']:>10}{row['events']:>10}{row['real_s']:>9}{row['messages_per_s']:>9}"
            f"{row['virtual_to_real']:>10}×{row['peak_mib']:>10}"
        )
    print(f"the manager makes the run {ratio:.2f}× as long as the bare world (measured side by side)")


if __name__ == "__main__":
    main()
