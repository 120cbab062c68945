"""How fast the default simulation runs, and the manager's own share of its time.

    python -m bench.simulate [--hours 24] [--json]

Runs the default world once plainly (messages per second, virtual-to-real time,
peak memory) and once under cProfile, where the own time of the functions
defined in sessionmgr/ (and of the builtins and generated dataclass methods
they call directly) over the whole run's gives the manager's share. Without the
manager the world is a different workload (broken sessions stay broken), so
comparing the two runs' times would not measure the manager.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import time
import tracemalloc
from pathlib import Path
from typing import Any

import sessionmgr
from harness.simulate import SimConfig, run_simulation

_LIBRARY = f"{Path(sessionmgr.__path__[0])}/"
_RECORDING = (f"{_LIBRARY}report/", f"{_LIBRARY}stats.py")
# functions with no file of their own: their time goes to the caller that called them
_ANONYMOUS = ("~", "<string>")


def measure(config: SimConfig, *, memory: bool = True) -> dict[str, Any]:
    start = time.perf_counter()
    report = run_simulation(config)
    real = time.perf_counter() - start
    peak = 0
    if memory:
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


def manager_share(config: SimConfig) -> dict[str, float]:
    """Seconds of the profiled run spent in sessionmgr's own code, of which report recording, and in all."""
    profile = cProfile.Profile()
    profile.runcall(run_simulation, config)
    stats: dict[Any, Any] = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    total = library = recording = 0.0
    for (filename, _, _), (_, _, own, _, callers) in stats.items():
        total += own
        if filename in _ANONYMOUS:
            # split a builtin's time between its callers by their call counts
            calls = sum(c[0] for c in callers.values()) or 1
            for (caller_file, _, _), (n, *_rest) in callers.items():
                library += own * n / calls * caller_file.startswith(_LIBRARY)
                recording += own * n / calls * caller_file.startswith(_RECORDING)
        else:
            library += own * filename.startswith(_LIBRARY)
            recording += own * filename.startswith(_RECORDING)
    return {"manager_s": round(library, 3), "recording_s": round(recording, 3), "total_s": round(total, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON")
    args = parser.parse_args()
    config = SimConfig(seed=args.seed, hours=args.hours)
    speed, share = measure(config), manager_share(config)
    if args.json:
        print(json.dumps({"run": speed, "profile": share}, indent=2))
        return
    print(f"{'messages':>10}{'events':>10}{'real s':>9}{'msg/s':>9}{'virt:real':>11}{'peak MiB':>10}")
    print(
        f"{speed['messages']:>10}{speed['events']:>10}{speed['real_s']:>9}{speed['messages_per_s']:>9}"
        f"{speed['virtual_to_real']:>10}×{speed['peak_mib']:>10}"
    )
    whole = share["total_s"]
    print(
        f"under cProfile ({whole} s): sessionmgr's own code {share['manager_s'] / whole:.1%} of the run, "
        f"of which report recording and statistics {share['recording_s'] / whole:.1%}"
    )


if __name__ == "__main__":
    main()
