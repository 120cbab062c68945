"""The reports every later speed-up must leave byte-identical, and their golden digests.

    python -m tests.golden_reports            # check today's reports against tests/golden/reports.json
    python -m tests.golden_reports --write    # regenerate the digests (only on purpose: output changed)

Each case is one report as ``sessionmgr ... --json`` writes it (``json.dumps(report, indent=2)``),
kept as its sha256 and its size: every replay in examples/, a seeded 5,000-error storm
(``bench.storm``), and a short live simulation (the manager recovering a simulated world).
The replay of examples/simulation.trace.jsonl is the recorded simulation.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parent.parent
DIGESTS: Final = ROOT / "tests" / "golden" / "reports.json"
#: errors in the golden storm (the benchmark's is 168,000): big enough that every rung and timer fires
STORM_ERRORS: Final = 5_000
STORM_SEED: Final = 2234


@contextmanager
def _cwd(path: Path) -> Iterator[None]:
    """Reports name their files as given: run from a fixed directory with relative paths."""
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def _replay(relative: str, root: Path) -> dict[str, Any]:
    from harness.replay import run_replay
    from sessionmgr.trace.readers import Reader

    with _cwd(root):
        return run_replay([Reader(Path(relative))]).report


def _storm() -> dict[str, Any]:
    from bench.storm import generate

    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp) / "storm.baileys.log", seed=STORM_SEED, errors=STORM_ERRORS, console_lines=4_000)
        return _replay("storm.baileys.log", Path(tmp))


def _simulation() -> dict[str, Any]:
    from harness.simulate import SimConfig, run_simulation

    return run_simulation(SimConfig(seed=3, sessions=8, hours=4.0, fault_scale=3.0))


def cases() -> dict[str, Callable[[], dict[str, Any]]]:
    """Every golden report by name, each a function that produces it now."""
    found: dict[str, Callable[[], dict[str, Any]]] = {}
    for path in sorted((ROOT / "examples").iterdir()):
        if path.is_file():
            found[f"replay:{path.name}"] = functools.partial(_replay, f"examples/{path.name}", ROOT)
    found["storm:5000"] = _storm
    found["simulate:seed3"] = _simulation
    return found


def digest(report: dict[str, Any]) -> dict[str, Any]:
    """The report's bytes as the CLI writes them, as sha256 and length."""
    data = json.dumps(report, indent=2).encode()
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def load() -> dict[str, Any]:
    digests: dict[str, Any] = json.loads(DIGESTS.read_text(encoding="utf-8"))
    return digests


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--write", action="store_true", help="regenerate tests/golden/reports.json")
    args = parser.parse_args()
    now = {name: digest(make()) for name, make in cases().items()}
    if args.write:
        DIGESTS.write_text(json.dumps(now, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        print(f"wrote {len(now)} digests to {DIGESTS}")
        return
    golden = load()
    differ = [name for name in sorted(set(now) | set(golden)) if now.get(name) != golden.get(name)]
    for name in differ:
        print(f"differs: {name}: now {now.get(name)}, golden {golden.get(name)}")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
