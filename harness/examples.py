"""Make ``examples/``: a small sample of each input format, recorded from a simulation.

python -m harness.examples [DIR]
"""

from __future__ import annotations

import asyncio
import gzip
import sys
from pathlib import Path

from harness.faults import At, BackendOutage, Burst, FaultPlan
from harness.logformats import BaileysLogWriter, SeedLogWriter
from harness.loop import VirtualLoop
from harness.simulate import SimConfig, simulate
from sessionmgr.trace.codec import TraceWriter

PLAN = FaultPlan(
    (
        Burst("corrupt_chain_key", "bot-01", at=1200, count=8, over=30),
        At("exhaust_prekeys", "bot-02", at=600),
        At("change_identity", "bot-02", at=700),
        At("drop_frames", "bot-02", at=900),
        At("duplicate_frame", "bot-01", at=1500),
        BackendOutage("regenerate_keys", "bot-02", at=0, duration=3600),
        Burst("corrupt_chain_key", "bot-02", at=2400, count=8, over=10),
    )
)
CONFIG = SimConfig(seed=42, sessions=2, peers_per_session=8, hours=1.5, message_interval=240, faults=PLAN)


def make(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = {
        "trace": directory / "simulation.trace.jsonl",
        "baileys": directory / "bot-01.baileys.log",
        "baileys_iso": directory / "bot-02.baileys.log",
        "seed": directory / "seed.log",
    }
    pseudonymizer = CONFIG.pseudonymizer()
    with (
        paths["trace"].open("w") as trace,
        paths["baileys"].open("w") as b1,
        paths["baileys_iso"].open("w") as b2,
        paths["seed"].open("w") as seed,
    ):
        sinks = (
            TraceWriter(trace, pseudonymizer, source={"source": {"kind": "simulation", "seed": CONFIG.seed}}),
            BaileysLogWriter(b1, "bot-01", pseudonymizer),
            BaileysLogWriter(b2, "bot-02", pseudonymizer, iso_time=True),
            SeedLogWriter(seed, pseudonymizer),
        )
        with asyncio.Runner(loop_factory=VirtualLoop) as runner:
            runner.run(simulate(CONFIG, subscribers=sinks))
    gz = directory / "bot-01.baileys.log.gz"
    gz.write_bytes(gzip.compress(paths["baileys"].read_bytes(), mtime=0))
    return [*paths.values(), gz]


if __name__ == "__main__":
    for path in make(Path(sys.argv[1] if len(sys.argv) > 1 else "examples")):
        print(path)
