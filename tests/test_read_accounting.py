"""Every line of every file accounted for, whatever --format is asked, and damaged .gz files named clearly."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sessionmgr.cli import main
from sessionmgr.trace.readers import FORMATS, Reader

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
FILES = sorted(p for p in EXAMPLES.iterdir() if ".log" in p.name or p.suffix == ".jsonl")


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_any_format_accounts_for_every_line(path: Path) -> None:
    """Read in every --format, right or wrong, lines = events + ignored + rejected (a headerless trace once double-counted)."""
    for fmt in FORMATS:
        reader = Reader(path, format=fmt)  # type: ignore[arg-type]
        events = sum(1 for _ in reader)
        s = reader.stats
        assert (fmt, events + sum(s.ignored.values()) + s.rejected_count) == (fmt, s.lines)
        assert s.rejected_count <= s.lines


def damaged(tmp_path: Path, how: str) -> Path:
    """bot-01 gzipped, then cut short or with a byte flipped in its middle."""
    data = bytearray(gzip.compress((EXAMPLES / "bot-01.baileys.log").read_bytes()))
    if how == "cut":
        data = data[: len(data) // 2]
    else:
        data[len(data) // 2] ^= 0xFF
    path = tmp_path / f"bot-01.{how}.log.gz"
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("how", ["cut", "corrupt"])
def test_a_damaged_gz_is_named_and_the_events_before_it_kept(tmp_path: Path, how: str) -> None:
    """A truncated or corrupt .gz ends in a message naming the file and exit 3, with the events read before it reported."""
    path = damaged(tmp_path, how)
    out = tmp_path / "report.json"
    result = CliRunner().invoke(main, ["replay", str(path), "-q", "--json", str(out)])
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output and "Aborted" not in result.output
    assert f"{path}: compressed data" in result.output and "the rest is unreadable" in result.output
    row = json.loads(out.read_text())["input"]["files"][0]
    assert row["events"] > 0 and row["rejected"] == 1
    assert row["events"] + sum(row["ignored"].values()) + row["rejected"] == row["lines"]
