"""Follow log files as ``tail -F`` does: appends, truncation, rotation, files that come later.

:class:`Follower` does one step at a time and never waits, so tests drive it
without clocks; :func:`follow` loops it on a thread. A file is known by its
identity (device, inode), its size against the offset read so far, and its
first bytes: a file truncated and refilled past the old size between two looks
keeps its inode and outgrows the offset, but its first bytes change.
"""

from __future__ import annotations

import os
import stat
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final

__all__ = ["MAX_LINE_BYTES", "FollowState", "Follower", "follow", "follow_lines"]

#: A line longer than this is cut here (the rest, up to its newline, is dropped): memory stays bounded.
MAX_LINE_BYTES: Final = 1024 * 1024
#: How many of a file's first bytes identify its content (a timestamped first line differs between runs).
HEAD_BYTES: Final = 512
#: Bytes read per step at most, so a huge append is handed over in pieces.
STEP_BYTES: Final = 1024 * 1024
_CHUNK: Final = 64 * 1024


@dataclass(slots=True)
class FollowState:
    """What a follower has seen of its file (read by ``watch`` for ``/health``)."""

    lines: int = 0
    truncations: int = 0
    rotations: int = 0
    cut_lines: int = 0
    #: the file is not there (yet, or any more)
    waiting: bool = True
    #: why the last step failed (the file unreadable, not a regular file); ``None`` once one succeeds
    error: str | None = None


class Follower:
    """One file, followed one step at a time: :meth:`step` reads what is new, :meth:`next_line` hands it out.

    What the file holds when the follower is made is skipped (``tail -F -n0``)
    unless ``from_start``. A rotated file (a new inode at the path) is read to its
    end, then the new one from its start; a truncated file is read again from its
    start; a missing file is waited for; a partial last line waits for its newline
    (and is handed out as it is when its file is rotated or truncated under it).
    """

    def __init__(self, path: str | Path, *, from_start: bool = False) -> None:
        self.path = Path(path)
        self.state = FollowState()
        self._handle: BinaryIO | None = None
        self._identity: tuple[int, int] | None = None
        self._offset = 0
        self._head = b""
        self._buffer = bytearray()
        self._discarding = False  # inside a line already cut at MAX_LINE_BYTES
        self._ready: deque[str] = deque()
        self.behind = False  # the last step stopped before the end of the file
        self._skip: tuple[int, int, int] | None = None
        if not from_start:
            # decided now, not at the first step: appends made in between must not be skipped too
            try:
                st = os.stat(self.path)
                self._skip = (st.st_dev, st.st_ino, st.st_size)
            except OSError:
                self._skip = None

    @property
    def handed_out(self) -> int:
        """Lines :meth:`next_line` has returned so far."""
        return self.state.lines - len(self._ready)

    def next_line(self) -> str | None:
        """The next complete line, reading a step when none is ready; ``None`` when there is nothing new."""
        if not self._ready:
            self.step()
            while not self._ready and self.behind:  # a step may end inside one long line
                self.step()
        return self._ready.popleft() if self._ready else None

    def step(self) -> None:
        """Read what is new; a failure to read is recorded in :attr:`state`, never raised."""
        try:
            self._step()
        except OSError as exc:
            self.state.error = f"{type(exc).__name__}: {exc.strerror or 'cannot read'}"
            self._close()
            self.behind = False
        else:
            self.state.error = None

    def close(self) -> None:
        self._close()

    # --- one step -----------------------------------------------------------------------

    def _step(self) -> None:
        if self._handle is None and not self._open():
            return
        assert self._handle is not None
        if self._replaced():  # checked on the open file first: it may also have been moved away since
            self._flush_partial()
            self._offset, self._head, self._discarding = 0, b"", False
            self.state.truncations += 1
        try:
            current: os.stat_result | None = os.stat(self.path)
        except FileNotFoundError:
            current = None  # moved away: read the old file to its end, then wait for a new one
        if current is not None and (current.st_dev, current.st_ino) != self._identity:
            self._read()  # rotated: what was left in the old file is read first
            if self.behind:
                return
            self._flush_partial()
            self._close()
            self.state.rotations += 1
            if not self._open():
                return
        self._read()

    def _open(self) -> bool:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            self.state.waiting = True
            return False
        if not stat.S_ISREG(st.st_mode):  # a FIFO would block the open; a directory cannot be read
            raise OSError(0, "not a regular file")
        handle = open(self.path, "rb")  # noqa: SIM115 - kept open across steps
        fst = os.fstat(handle.fileno())
        self._handle, self._identity = handle, (fst.st_dev, fst.st_ino)
        self._offset, self._buffer, self._discarding = 0, bytearray(), False
        if self._skip is not None and self._identity == self._skip[:2]:
            self._offset = min(self._skip[2], fst.st_size)
        self._skip = None
        self._head = os.pread(handle.fileno(), min(self._offset, HEAD_BYTES), 0)
        self.state.waiting = False
        return True

    def _replaced(self) -> bool:
        """Whether the open file was truncated (and maybe refilled) since the last step."""
        assert self._handle is not None
        fd = self._handle.fileno()
        if os.fstat(fd).st_size < self._offset:
            return True
        return bool(self._head) and os.pread(fd, len(self._head), 0) != self._head

    def _read(self) -> None:
        assert self._handle is not None
        fd = self._handle.fileno()
        budget = STEP_BYTES
        self.behind = False
        while budget > 0:
            chunk = os.pread(fd, min(_CHUNK, budget), self._offset)
            if not chunk:
                return
            if self._offset < HEAD_BYTES:
                self._head += chunk[: HEAD_BYTES - self._offset]
            self._offset += len(chunk)
            budget -= len(chunk)
            self._take(chunk)
        self.behind = True

    def _take(self, chunk: bytes) -> None:
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            if self._discarding:
                self._discarding = False
            else:
                self._buffer += chunk[start:end]
                self._emit()
            start = end + 1
        if not self._discarding:
            self._buffer += chunk[start:]
            if len(self._buffer) > MAX_LINE_BYTES:
                self._emit()
                self._discarding = True

    def _emit(self) -> None:
        if len(self._buffer) > MAX_LINE_BYTES:
            del self._buffer[MAX_LINE_BYTES:]
            self.state.cut_lines += 1
        self._ready.append(self._buffer.decode("utf-8", errors="replace"))
        self._buffer = bytearray()
        self.state.lines += 1

    def _flush_partial(self) -> None:
        # the file under it went away: a last line without its newline is all there will be of it
        if self._buffer:
            self._emit()
        self._discarding = False

    def _close(self) -> None:
        if self._handle is not None:
            self._handle.close()
        self._handle, self._identity = None, None


def follow_lines(follower: Follower, stop: threading.Event, *, poll: float = 0.2) -> Iterator[str]:
    """Each line the follower hands out until ``stop`` is set, waiting ``poll`` seconds when there is none.

    The follower keeps all the state, so a new iterator over it carries on where an abandoned one stopped.
    """
    while not stop.is_set():
        line = follower.next_line()
        if line is not None:
            yield line
        elif not follower.behind:
            stop.wait(poll)


def follow(path: str | Path, stop: threading.Event, *, poll: float = 0.2, from_start: bool = False) -> Iterator[str]:
    """Yield each complete line appended to ``path`` until ``stop`` is set (see :class:`Follower`).

    The iterator blocks: run it on a thread.
    """
    follower = Follower(path, from_start=from_start)
    return _closing(follower, follow_lines(follower, stop, poll=poll))


def _closing(follower: Follower, lines: Iterator[str]) -> Iterator[str]:
    try:
        yield from lines
    finally:
        follower.close()
