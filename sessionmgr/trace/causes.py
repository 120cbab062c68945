"""Events in line order, with libsignal's failure blocks held until a logged failure claims them.

libsignal-node prints a block for a failed decrypt (``Failed to decrypt message with
any known session...``, one ``Session error:`` per session tried; src/session_cipher.js:157-161)
and throws; Baileys then logs the failure. A block waits in the queue: the next
logged failure claims the oldest one as its cause, and a block nobody claims (a
console-only log, a logger turned off) is a failure of its own once ``CAUSE_HORIZON``
lines have passed or the input ends. go-libsignal's ``[ERROR]`` lines before
whatsmeow's failure line are held the same way. Events behind a block wait for it,
so they come out in line order either way.

Until the log prints its first time, events are held too (up to the horizon): the
first time printed is also theirs, rather than a nominal date decades earlier.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from sessionmgr.classify import classify_texts
from sessionmgr.events import DecryptError, Event
from sessionmgr.trace.lines import Located, ReadContext
from sessionmgr.trace.times import NOMINAL_DAY, UNKNOWN, TimeQuality

__all__ = ["CAUSE_HORIZON", "Block", "EventQueue"]

#: Lines after which an unclaimed block counts as a failure of its own.
CAUSE_HORIZON: Final = 200
_WRAPPER: Final = "No matching sessions found for message"  # libsignal-node src/session_cipher.js:161


@dataclass(slots=True)
class Block:
    """A failure block no failure line has claimed yet."""

    line: int
    at: datetime
    quality: TimeQuality
    source: str  # "libsignal" or "go-libsignal"
    first_kind: str  # what its first line was counted as
    causes: list[str] = field(default_factory=list)
    quiet: int = 0  # lines since its last cause


class EventQueue:
    """Located events and unclaimed blocks, in line order."""

    def __init__(self, ctx: ReadContext) -> None:
        self.ctx = ctx
        self.items: deque[Located | Block] = deque()
        #: whether a line had a time yet, and how many lines were read before one did
        self.timed = False
        self.untimed_lines = 0

    def emit(self, number: int, event: Event, quality: TimeQuality) -> None:
        self.ctx.stats.times[quality] += 1
        self.items.append(Located(event, self.ctx.path, number, untimed=quality == UNKNOWN))

    def hold(self, block: Block) -> None:
        self.items.append(block)

    def open_block(self, source: str) -> Block | None:
        """The newest unclaimed block of ``source`` (a ``Session error:`` line adds to it)."""
        for item in reversed(self.items):
            if isinstance(item, Block) and item.source == source:
                return item
        return None

    def oldest_block(self, source: str) -> Block | None:
        """The oldest unclaimed block of ``source``: the cause of the failure logged next."""
        for item in self.items:
            if isinstance(item, Block) and item.source == source:
                return item
        return None

    def claim(self, block: Block) -> None:
        """The block was a logged failure's cause, not a failure of its own."""
        self.items.remove(block)

    def line_read(self) -> None:
        """One more line: untimed events and blocks age."""
        if not self.timed:
            self.untimed_lines += 1
        if not self.items:
            return
        for index, item in enumerate(self.items):
            if isinstance(item, Block):
                item.quiet += 1
                if item.quiet > CAUSE_HORIZON:
                    self.items[index] = self._block_event(item)

    def saw_time(self, at: datetime) -> None:
        """A line had a time: the first one is also the time of what was held before it."""
        if self.timed:
            return
        self.timed = True
        for index, item in enumerate(self.items):
            if isinstance(item, Block):
                item.at = at
            elif item.event.at == NOMINAL_DAY:
                self.items[index] = dataclasses.replace(item, event=dataclasses.replace(item.event, at=at))

    def drain(self) -> Iterator[Located]:
        """The events that no longer wait for anything."""
        if not self.timed and self.untimed_lines <= CAUSE_HORIZON:
            return  # held: the first time the log prints is theirs too (a log without times lets go later)
        while self.items and isinstance(self.items[0], Located):
            item = self.items.popleft()
            assert isinstance(item, Located)
            yield item

    def finish(self) -> Iterator[Located]:
        """The end of the input: every unclaimed block is a failure, and nothing waits any more."""
        for index, item in enumerate(self.items):
            if isinstance(item, Block):
                self.items[index] = self._block_event(item)
        self.untimed_lines = CAUSE_HORIZON + 1
        yield from self.drain()

    def _block_event(self, block: Block) -> Located:
        # the block's first line becomes the event's line, no longer an ignored one
        self.ctx.stats.ignored[block.first_kind] -= 1
        self.ctx.stats.times[block.quality] += 1
        error_type = "SessionError" if block.source == "libsignal" else None
        error = _WRAPPER if block.source == "libsignal" else (block.causes[0] if block.causes else "go-libsignal error")
        event = DecryptError(
            session=self.ctx.session, at=block.at, error=error, error_type=error_type, causes=tuple(block.causes),
            category=classify_texts([error, *block.causes], signal_layer=True),
        )  # fmt: skip
        return Located(event, self.ctx.path, block.line, untimed=block.quality == UNKNOWN)
