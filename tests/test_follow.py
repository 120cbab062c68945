"""Following files as tail -F does: appends, partial lines, truncation, rotation, late files."""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from sessionmgr.trace.follow import MAX_LINE_BYTES, Follower, follow


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


def drain(follower: Follower) -> list[str]:
    """Every line the follower has now, one step at a time (no clock involved)."""
    out: list[str] = []
    while (line := follower.next_line()) is not None:
        out.append(line)
    return out


def test_truncation_then_a_bigger_append_between_two_looks_is_read_from_the_start(tmp_path: Path) -> None:
    """Truncated and refilled past the old size before the next look: the new content is read whole, by its first bytes."""
    path = tmp_path / "app.log"
    path.write_text("".join(f"2026-01-01T00:00:{n:02d} old {n}\n" for n in range(40)))
    follower = Follower(path, from_start=True)
    assert len(drain(follower)) == 40
    path.write_text("".join(f"2026-01-02T00:00:{n:02d} new line {n}\n" for n in range(80)))
    assert drain(follower) == [f"2026-01-02T00:00:{n:02d} new line {n}" for n in range(80)]
    assert follower.state.truncations == 1


def test_rotation_hands_out_the_old_files_last_partial_line_and_huge_lines_are_cut(tmp_path: Path) -> None:
    """A rotated file's unterminated last line is handed out; a line past MAX_LINE_BYTES is cut, not held."""
    path = tmp_path / "app.log"
    path.write_text("a\nb-partial")
    follower = Follower(path, from_start=True)
    assert drain(follower) == ["a"]
    os.rename(path, tmp_path / "app.log.1")
    path.write_text("c\n")
    assert drain(follower) == ["b-partial", "c"]
    with path.open("a") as handle:
        handle.write("x" * (MAX_LINE_BYTES + 10) + "\nd\n")
    lines = drain(follower)
    assert [len(line) for line in lines] == [MAX_LINE_BYTES, 1] and lines[1] == "d"
    assert follower.state.cut_lines == 1 and follower.state.rotations == 1


def test_an_unreadable_path_is_an_error_in_the_state_not_an_exception(tmp_path: Path) -> None:
    """A directory (or FIFO) at the path is recorded as the follower's error; a regular file there later is read."""
    path = tmp_path / "app.log"
    path.mkdir()
    follower = Follower(path, from_start=True)
    assert drain(follower) == []
    assert follower.state.error is not None and "not a regular file" in follower.state.error
    path.rmdir()
    path.write_text("ok\n")
    assert drain(follower) == ["ok"]
    assert follower.state.error is None
