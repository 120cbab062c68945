"""Following files as tail -F does: appends, partial lines, truncation, rotation, late files."""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from sessionmgr.trace.follow import follow


@pytest.fixture
def tail(tmp_path: Path) -> Iterator[tuple[Path, queue.Queue[str]]]:
    path = tmp_path / "app.log"
    lines: queue.Queue[str] = queue.Queue()
    stop = threading.Event()

    def run() -> None:
        # from the start: whether the file exists before the thread first looks is a race
        for line in follow(path, stop, poll=0.01, from_start=True):
            lines.put(line)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield path, lines
    stop.set()
    thread.join(timeout=5)


def take(lines: queue.Queue[str], n: int) -> list[str]:
    return [lines.get(timeout=5) for _ in range(n)]


def append(path: Path, text: str) -> None:
    with path.open("a") as handle:
        handle.write(text)


def test_appends_partial_lines_truncation_and_rotation(tail: tuple[Path, queue.Queue[str]]) -> None:
    """A file that appears later is read; partial lines wait; truncation and rotation are followed."""
    path, lines = tail
    append(path, "one\ntw")
    assert take(lines, 1) == ["one"]
    append(path, "o\n")
    assert take(lines, 1) == ["two"]
    path.write_text("")  # truncated in place
    append(path, "three\n")
    assert take(lines, 1) == ["three"]
    append(path, "four\n")
    os.rename(path, path.with_suffix(".log.1"))  # rotated
    append(path, "five\n")
    assert take(lines, 2) == ["four", "five"]
    assert lines.empty()


def test_existing_content_is_skipped_unless_asked(tmp_path: Path) -> None:
    """Like tail -F -n0: what the file held before is not replayed; from_start reads it."""
    path = tmp_path / "old.log"
    path.write_text("old\n")
    stop = threading.Event()
    seen: list[str] = []
    stream = follow(path, stop, poll=0.01)

    def run() -> None:
        for line in stream:
            seen.append(line)
            stop.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    append(path, "new\n")
    thread.join(timeout=5)
    assert seen == ["new"]
    everything: list[str] = []
    done = threading.Event()
    for line in follow(path, done, poll=0.01, from_start=True):
        everything.append(line)
        if len(everything) == 2:
            done.set()
    assert everything == ["old", "new"]
