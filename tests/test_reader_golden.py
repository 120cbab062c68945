"""Every reader reads every example and sample exactly as before issue 13's fast paths, with either JSON decoder.

``tests/golden/reads.json`` holds what the readers made of each file (every located
event's repr, the line accounting) before the fast paths; regenerate only when a
reader's output is meant to change: ``python -m tests.test_reader_golden``.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.replay import generate as generate_trace
from bench.storm import generate as generate_storm
from sessionmgr.trace import safejson, typed
from sessionmgr.trace.readers import Reader

ROOT = Path(__file__).parent.parent
GOLDEN = Path(__file__).parent / "golden" / "reads.json"
FILES = sorted(
    [p for p in (ROOT / "examples").iterdir() if p.suffix != ".py"] + [
        p for p in (ROOT / "tests" / "samples").iterdir() if p.suffix not in (".md", ".mjs", ".py")
    ]
)  # fmt: skip


def reading(path: Path, fmt: str = "auto") -> dict[str, Any]:
    """What a reader makes of a file: a digest of every located event's repr, their count, and the accounting.

    The file's directory is taken out of both, so the record does not depend on where the checkout is.
    """
    reader = Reader(path, format=fmt)  # type: ignore[arg-type]
    where = str(path.parent) + "/"
    digest = hashlib.sha256()
    count = 0
    for located in reader:
        digest.update(repr(located).replace(where, "").encode() + b"\n")
        count += 1
    stats = reader.stats.to_dict()
    stats["rejected_kept"] = reader.stats.rejected
    return {"events": count, "sha256": digest.hexdigest(), "stats": json.loads(json.dumps(stats).replace(where, ""))}


def generated() -> Iterator[tuple[str, Path]]:
    """A generated trace (the 1M benchmark's shape) and storm (Baileys #2234's), small, seeded."""
    with tempfile.TemporaryDirectory() as tmp:
        trace, storm = Path(tmp) / "bench.trace.jsonl", Path(tmp) / "storm.baileys.log"
        generate_trace(trace, 3000)
        generate_storm(storm, errors=1500, console_lines=3000)
        yield "generated:bench.trace.jsonl", trace
        yield "generated:storm.baileys.log", storm


def readings() -> dict[str, Any]:
    out = {}
    for path in FILES:
        name = str(path.relative_to(ROOT))
        out[name] = reading(path)
        if "baileys" in path.name:  # the formats named, not guessed: a different path through LogReader
            out[name + " --format baileys"] = reading(path, "baileys")
    for name, path in generated():
        out[name] = reading(path)
    return out


@pytest.fixture(params=["msgspec", "stdlib"])
def decoder(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Read with msgspec in front of the standard library, and with the standard library alone."""
    if request.param == "stdlib":
        monkeypatch.setattr(safejson, "FAST", None)
        monkeypatch.setattr(typed, "DECODE", None)
    else:
        assert safejson.FAST is not None, "msgspec is a dependency: the fast path must be on"
        assert typed.DECODE is not None
    return str(request.param)


def test_every_file_reads_as_the_golden_record_says(decoder: str) -> None:
    """Events (repr and line), rejections with reasons and every count match the record made before the fast paths."""
    golden = json.loads(GOLDEN.read_text())
    now = readings()
    assert sorted(now) == sorted(golden)
    for name in golden:
        assert now[name] == golden[name], name


if __name__ == "__main__":
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(json.dumps(readings(), indent=1, sort_keys=True) + "\n")
