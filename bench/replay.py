"""Replay speed beside the floor of merely parsing the same file, and peak memory.

    python -m bench.replay [--events 1000000] [--json]

Generates a canonical trace (many sessions, mostly successful decrypts with a
rain of errors and a storm), then measures, each in a fresh process so peak
RSS is its own: json.loads on every JSON line, and msgspec's untyped decoder
(the two floors); the reader turning lines into events; the full replay
through the manager. Ratios are seconds over the json.loads floor's seconds:
below 1 would be faster than merely parsing.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

CATEGORIES = [
    ("Bad MAC", "bad_mac"),
    ("Invalid PreKey ID", "prekey"),
    ("Key used already or never filled", "duplicate"),
]


def generate(path: Path, events: int, seed: int = 1) -> None:
    """A trace of ``events`` observations over ~events/50 seconds across 200 sessions."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with path.open("w") as out:
        out.write(json.dumps({"schema": "sessionmgr.trace/1", "origin": start.isoformat()}) + "\n")
        t = 0.0
        for i in range(events):
            t += rng.expovariate(50.0)
            session = f"bot-{rng.randrange(200):03d}"
            stamp = (start + timedelta(seconds=t)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            peer = f"peer-{rng.randrange(10_000):012x}"
            storm = 0.3 < i / events < 0.35 and session == "bot-007"
            if storm or rng.random() < 0.02:
                text, category = CATEGORIES[0] if storm else rng.choice(CATEGORIES)
                record = {"t": stamp, "session": session, "kind": "decrypt_error", "peer": peer, "error": text,
                          "message_type": "msg", "category": category}  # fmt: skip
            else:
                record = {"t": stamp, "session": session, "kind": "decrypt_ok", "peer": peer, "message_type": "msg"}
            out.write(json.dumps(record, separators=(",", ":")) + "\n")


def stage(name: str, path: str) -> dict[str, float]:
    """Run one stage in this process and return its figures (called in a child process).

    Imports happen before the clock starts, so that a small file is not charged for them.
    """
    work = _STAGES[name]()
    start = time.perf_counter()
    count = work(path)
    seconds = time.perf_counter() - start
    peak_mib = _peak_rss_mib()
    return {
        "events": count,
        "seconds": round(seconds, 3),
        "per_s": round(count / seconds),
        "peak_mib": round(peak_mib, 1),
    }


def _json_loads() -> Callable[[str], int]:
    def work(path: str) -> int:
        # the floor: decode every JSON line (a Baileys log's console lines are skipped, as a reader must)
        count = 0
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("{"):
                    json.loads(line)
                    count += 1
        return count

    return work


def _msgspec() -> Callable[[str], int]:
    import msgspec

    decode = msgspec.json.Decoder().decode

    def work(path: str) -> int:
        count = 0
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("{"):
                    decode(line)
                    count += 1
        return count

    return work


def _reader() -> Callable[[str], int]:
    from sessionmgr.trace.readers import Reader

    def work(path: str) -> int:
        reader = Reader(path)
        for _ in reader:
            pass
        return reader.stats.events

    return work


def _replay(batches: bool = True) -> Callable[[str], int]:
    from harness.replay import run_replay
    from sessionmgr.trace.readers import Reader

    def work(path: str) -> int:
        reader = Reader(path)
        run_replay([reader], tail=0, batches=batches)
        return reader.stats.events

    return work


_STAGES: dict[str, Callable[[], Callable[[str], int]]] = {
    "json.loads": _json_loads,
    "msgspec": _msgspec,
    "reader": _reader,
    "replay": _replay,
    "one-by-one": lambda: _replay(batches=False),  # the replay without quiet batches: what they save
}


def _peak_rss_mib() -> float:
    # VmHWM starts afresh at exec; ru_maxrss would carry the parent's peak across fork+exec
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


#: The stages, each run in its own process: two parse floors, the reader alone, the whole replay,
#: and the whole replay taking every observation one by one (no quiet batches).
STAGES = ("json.loads", "msgspec", "reader", "replay", "one-by-one")


def measure(path: Path, stages: tuple[str, ...] = STAGES) -> dict[str, dict[str, float]]:
    out = {}
    for name in stages:
        child = subprocess.run(
            [sys.executable, "-m", "bench.replay", "--stage", name, str(path)],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        out[name] = json.loads(child.stdout)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON")
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    parser.add_argument("path", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:
        print(json.dumps(stage(args.stage, args.path)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.trace.jsonl"
        generate(path, args.events)
        size = path.stat().st_size
        rows = measure(path)
    floor = rows["json.loads"]["seconds"]
    if args.json:
        print(json.dumps({"events": args.events, "bytes": size, "stages": rows}, indent=2))
        return
    print(f"replay of a generated trace: {args.events:,} events, {size / 2**20:.0f} MiB")
    print(f"{'stage':<12}{'seconds':>9}{'events/s':>12}{'× json.loads':>14}{'peak MiB':>10}")
    for name, row in rows.items():
        print(f"{name:<12}{row['seconds']:>9}{row['per_s']:>12,}{row['seconds'] / floor:>14.2f}{row['peak_mib']:>10}")


if __name__ == "__main__":
    main()
