"""Progress bars on stderr for long runs, typed for what each run reports.

A simulation reports the fraction of its virtual time done; a replay reports
how many events it fed, and the bar follows the bytes its readers consumed.
Each helper yields ``None`` when no bar is wanted (quiet, or stderr is not a
terminal), which the runs accept as "no progress".
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Protocol

import click

__all__ = ["EventsDone", "FractionDone", "bytes_bar", "fraction_bar"]

#: Told the fraction done so far, from 0 to 1.
FractionDone = Callable[[float], None]
#: Told the number of events fed so far.
EventsDone = Callable[[int], None]

# A replay shows a bar only for inputs this large: smaller ones finish before it would draw.
_BAR_FROM_BYTES = 5_000_000
_STEPS = 1000


class ReadsBytes(Protocol):
    """Anything that says how many bytes of its input it consumed (a trace reader)."""

    @property
    def bytes_read(self) -> int: ...


@contextmanager
def fraction_bar(label: str | None) -> Iterator[FractionDone | None]:
    """A bar for a run that reports the fraction done; ``None`` when ``label`` is ``None`` or stderr is no tty."""
    if label is None or not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=_STEPS, label=label, file=sys.stderr, show_eta=False) as bar:
        done = 0

        def progress(fraction: float) -> None:
            nonlocal done
            bar.update(int(fraction * _STEPS) - done)
            done = int(fraction * _STEPS)

        yield progress


@contextmanager
def bytes_bar(label: str | None, readers: Sequence[ReadsBytes], total: int) -> Iterator[EventsDone | None]:
    """A bar over ``total`` bytes that follows what ``readers`` consumed; ``None`` for small inputs or no tty."""
    if label is None or not sys.stderr.isatty() or total < _BAR_FROM_BYTES:
        yield None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        done = 0

        def progress(_: int) -> None:
            nonlocal done
            now = sum(r.bytes_read for r in readers)
            bar.update(now - done)
            done = now

        yield progress
