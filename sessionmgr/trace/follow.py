"""Follow log files as ``tail -F`` does: appends, truncation, rotation, files that come later."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

__all__ = ["follow"]


def follow(path: str | Path, stop: threading.Event, *, poll: float = 0.2, from_start: bool = False) -> Iterator[str]:
    """Yield each complete line appended to ``path`` until ``stop`` is set.

    What the file holds when ``follow`` is called is skipped (``tail -F -n0``)
    unless ``from_start``. A rotated file (a new inode at the path) is read to
    its end, then the new one from its start; a truncated file is read again
    from its start; a file that does not exist yet is waited for. A partial
    last line waits for its newline. The iterator blocks: run it on a thread.
    """
    path = Path(path)
    skip: tuple[int, int, int] | None = None
    if not from_start:
        # decided now, not when a thread first pulls a line: otherwise appends made
        # in between would be skipped too
        try:
            st = os.stat(path)
            skip = (st.st_dev, st.st_ino, st.st_size)
        except FileNotFoundError:
            skip = None
    return _follow(path, stop, poll, skip)


def _follow(path: Path, stop: threading.Event, poll: float, skip: tuple[int, int, int] | None) -> Iterator[str]:
    handle = None
    identity: tuple[int, int] | None = None
    buffer = b""
    while not stop.is_set():
        if handle is None:
            try:
                handle = open(path, "rb")  # noqa: SIM115 - kept open across iterations
            except FileNotFoundError:
                stop.wait(poll)
                continue
            st = os.fstat(handle.fileno())
            identity = (st.st_dev, st.st_ino)
            if skip is not None and identity == skip[:2]:
                handle.seek(min(skip[2], st.st_size))
            skip = None
        chunk = handle.read(65536)
        if chunk:
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                yield line.decode("utf-8", errors="replace")
            continue
        # at the end: has the file been truncated or replaced?
        current: os.stat_result | None
        try:
            current = os.stat(path)
        except FileNotFoundError:
            current = None
        if current is not None and (current.st_dev, current.st_ino) != identity:
            handle.close()  # rotated: what was left in the old file has been read
            handle, buffer = None, b""
            continue
        if current is not None and current.st_size < handle.tell():
            handle.seek(0)  # truncated in place
            buffer = b""
            continue
        stop.wait(poll)
    if handle is not None:
        handle.close()
