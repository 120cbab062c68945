"""Progress bars on stderr for long runs: how far, how fast (events/s) and how long is left.

A simulation reports the fraction of its virtual time done; a replay reports
how many events it fed, and its bar follows the bytes its readers consumed.
Each helper yields ``None`` when no bar is wanted (quiet, or stderr is not a
terminal), which the runs accept as "no progress".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Protocol

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.text import Text

__all__ = ["EventCounter", "EventsDone", "FractionDone", "bytes_bar", "fraction_bar"]

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


class EventCounter:
    """A bus subscriber that only counts, so a bar can show events/s."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, _event: object) -> None:
        self.count += 1


class _Rate(ProgressColumn):
    """Events per second of wall time, from the task's ``events`` field."""

    def render(self, task: Task) -> Text:
        events = task.fields.get("events")
        if events is None:  # a run nobody counts events for
            return Text("")
        elapsed = task.elapsed or 0.0
        rate = f"{events / elapsed:,.0f} events/s" if elapsed > 0 and events else "– events/s"
        return Text(rate, style="progress.data.speed")


def _bar(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        _Rate(),
        TextColumn("·"),
        TimeRemainingColumn(compact=False),
        TextColumn("left"),
        console=console,
        transient=False,
    )


def _stderr(console: Console | None) -> Console | None:
    console = console or Console(stderr=True)
    return console if console.is_terminal else None


@contextmanager
def fraction_bar(
    label: str | None, counter: EventCounter | None = None, *, console: Console | None = None
) -> Iterator[FractionDone | None]:
    """A bar for a run that reports the fraction done (``counter`` gives its events/s).

    ``None`` when ``label`` is ``None`` or the console (stderr by default) is no terminal.
    """
    out = _stderr(console) if label is not None else None
    if out is None or label is None:
        yield None
        return
    with _bar(out) as bar:
        task = bar.add_task(label, total=_STEPS, events=None if counter is None else 0)

        def progress(fraction: float) -> None:
            bar.update(task, completed=fraction * _STEPS, events=None if counter is None else counter.count)

        yield progress


@contextmanager
def bytes_bar(
    label: str | None, readers: Sequence[ReadsBytes], total: int, *, console: Console | None = None
) -> Iterator[EventsDone | None]:
    """A bar over ``total`` bytes that follows what ``readers`` consumed, with the events fed per second.

    ``None`` for small inputs, when ``label`` is ``None`` or the console (stderr by default) is no terminal.
    """
    out = _stderr(console) if label is not None and total >= _BAR_FROM_BYTES else None
    if out is None or label is None:
        yield None
        return
    with _bar(out) as bar:
        task = bar.add_task(label, total=total, events=0)

        def progress(events: int) -> None:
            bar.update(task, completed=sum(r.bytes_read for r in readers), events=events)

        yield progress
