"""Replay: captured events fed to the manager on virtual time, at their own timestamps."""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.util
import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any, Final

from harness.loop import VirtualLoop
from harness.timeguard import LIMIT, TimeGuard
from sessionmgr.backend import BackendCall, BackendError, MockBackend
from sessionmgr.bus import EventBus
from sessionmgr.events import ActionFailed, Event, RegenerationFailed, RetryFinished, RetryScheduled
from sessionmgr.manager import SessionManager
from sessionmgr.policy import Policy
from sessionmgr.pseudonym import Pseudonymizer
from sessionmgr.report.builder import ReportParts, build_report
from sessionmgr.report.recorder import ReportRecorder
from sessionmgr.stats import StatsCollector
from sessionmgr.store import MemoryStore, Store
from sessionmgr.trace import safejson
from sessionmgr.trace.codec import TraceError, decode_event
from sessionmgr.trace.readers import Located, Reader

__all__ = ["Progress", "RecordedOutcomes", "ReplayResult", "ReplayRun", "replay", "run_replay"]

#: Told how many events were fed so far (every 10,000).
Progress = Callable[[int], None]

# The real datetime's subtraction: under a frozen wall clock the readers' datetimes are freezegun's,
# whose Python-level ``__sub__`` cost a microsecond per event.
_sub: Final = datetime.__sub__

# How close a backend call must come to a recorded failure to be that failure.
_TOLERANCE = 0.002

# A cheap look before the parse (one regex, not a loop of ``in``): most lines are not failures.
_FAILURE_MARKER = re.compile(r'"kind":"(?:retry|action_failed"|regeneration_failed")')

# The events that say a backend call failed, and which operation it was.
_FAILED_OPERATION: dict[type[Event], Callable[[Any], str | None]] = {
    RetryScheduled: lambda e: e.operation,  # a try failed; another follows
    RetryFinished: lambda e: None if e.succeeded else e.operation,  # the last try failed
    ActionFailed: lambda e: e.operation,
    RegenerationFailed: lambda e: "regenerate_keys",
}


class RecordedOutcomes:
    """Backend failures a trace recorded, so a replay fails the same calls the original did.

    A canonical trace of a simulation holds ``retry`` and ``action_failed``
    events; each says an operation on a session failed at a time. Without them
    every replayed backend call succeeds: what the manager *would* have done.
    """

    def __init__(self) -> None:
        self._failures: dict[tuple[str, str], list[float]] = {}

    def add(self, event: Event, t: float) -> None:
        operation = _FAILED_OPERATION.get(type(event), lambda e: None)(event)
        if operation is not None:
            self._failures.setdefault((operation, event.session), []).append(t)

    def failed(self, operation: str, session: str, t: float) -> bool:
        times = self._failures.get((operation, session), [])
        return any(abs(t - when) <= _TOLERANCE for when in times)

    def __len__(self) -> int:
        return sum(len(v) for v in self._failures.values())

    @classmethod
    def scan(cls, readers: Iterable[Reader], epoch: datetime) -> RecordedOutcomes:
        """Read every recorded backend failure ahead of the replay, which needs them on time.

        Only canonical traces record decisions; other formats are not scanned.
        """
        outcomes = cls()
        for reader in readers:
            if reader.detect() != "trace":
                continue
            for text in reader.lines_with(_FAILURE_MARKER):
                try:
                    record = safejson.loads(text)  # depth-guarded: a 5,000-deep line is a bad line, not a crash
                    event = decode_event(record)
                except (ValueError, TraceError):
                    continue  # the replay pass reports bad lines
                if type(event) in _FAILED_OPERATION:
                    offset = record.get("offset")
                    t = offset if isinstance(offset, int | float) else (event.at - epoch).total_seconds()
                    outcomes.add(event, t)
        return outcomes


@dataclasses.dataclass(slots=True)
class ReplayRun:
    """What :func:`replay` saw and did, before it becomes a report."""

    recorder: ReportRecorder
    events: list[Event] | None
    backend: MockBackend
    #: observations the manager took in quiet batches
    batched: int = 0


@dataclasses.dataclass(slots=True)
class ReplayResult:
    """A finished replay: its report, what it was built from, and what the manager asked of the backend."""

    report: dict[str, Any]
    parts: ReportParts
    events: list[Event] | None
    backend: MockBackend
    #: observations the manager took in quiet batches
    batched: int = 0


async def replay(
    located: Iterable[Located],
    *,
    epoch: datetime,
    policy: Policy | None = None,
    store: Store | None = None,
    tail: float | None = None,
    outcomes: RecordedOutcomes | None = None,
    progress: Progress | None = None,
    keep_events: bool = False,
    pseudonymizer: Pseudonymizer | None = None,
    batches: bool = True,
) -> ReplayRun:
    """Feed observations to a manager on the running virtual loop (whose time 0 is ``epoch``).

    ``batches``: hand the manager the observations it judges quiet in batches (the same
    decisions, events and report as one by one, which ``False`` does: the property's reference).
    """
    loop = asyncio.get_running_loop()
    policy = policy or Policy()
    outcomes = outcomes or RecordedOutcomes()
    bus = EventBus()
    events: list[Event] | None = [] if keep_events else None
    if events is not None:
        bus.subscribe(events.append, batch=events.extend)

    def decide(call: BackendCall) -> bytes | None:
        if outcomes.failed(call.method, call.session, loop.time()):
            raise BackendError(f"{call.method} failed here in the recorded run")
        return b"" if call.method == "export_keys" else None

    backend = MockBackend(decide, keep_calls=False)
    # without a durable store nobody reads the audit log or finished messages back: keep only the
    # audit's tail and the messages still open (memory stays flat in the trace's length)
    stats = StatsCollector()  # shared with the recorder: counted once
    manager = SessionManager(backend, policy=policy, bus=bus,
                             store=store or MemoryStore(max_audit=1_000, keep_closed_messages=False),
                             pseudonymizer=pseudonymizer or Pseudonymizer(b"replay"), stats=stats)  # fmt: skip
    recorder = ReportRecorder(origin=loop.time(), stats=stats)
    bus.subscribe(recorder, batch=recorder.batch, quiet=recorder.quiet)
    count = 0
    # On the virtual loop, quiet stretches between events need no loop iteration at all.
    skip: Callable[[float], bool] = getattr(loop, "advance_to", None) or (lambda target: target <= loop.time())
    # An event whose line printed no time is placed at least one health window after the previous
    # such event: the log does not say they came close together, so no health transition is claimed
    # from them (the report's input rows say ``times: unknown``).
    untimed_floor = 0.0
    async with manager:
        # Observations that decide nothing (most of a trace) go in batches; anything else, and
        # any await (timers due, callbacks ready), flushes the batch first: see QuietBatch.
        batch = manager.quiet_batch(advance=skip)
        for item in located:
            event = item.event
            target = item.offset if item.offset is not None else _sub(event.at, epoch).total_seconds()
            if item.untimed:
                target = max(target, untimed_floor)
                untimed_floor = target + policy.window
            if event.decision:
                continue  # the manager makes its own; recorded failures were scanned up front
            count += 1
            if progress is not None and count % 10_000 == 0:
                progress(count)
            # taken if quiet and, once the clock is at its instant (or past it: a line out of
            # order), nothing is to run before it
            if batches and batch.offer(event, target):
                continue  # ours alone: stamped in place, not copied
            batch.flush()  # before the clock moves on: the batch's last stamp is now
            if not skip(target):
                await asyncio.sleep(target - loop.time())
            manager.observe_nowait(event, handed_over=True)  # ours alone: stamped in place, not copied
        batch.flush()
        await asyncio.sleep(policy.window if tail is None else tail)
        await manager.drain()
    return ReplayRun(recorder, events, backend, batched=batch.taken)


#: An alert threshold no count reaches.
NEVER: Final = 2**62

#: Rungs whose outcome a captured log cannot show: the replay decides them but cannot say how they ended.
CANNOT_JUDGE: list[dict[str, str]] = [
    {
        "rung": "phone",
        "why": "a log records no answers from the user's phone: messages the phone might have resolved "
        "end as expired in a replay",
    },
    {
        "rung": "message_outcomes",
        "why": "a message counts as resolved only where the log names the id of a message it decrypted; "
        "the rest end as expired here, so the messages_lost alert is not raised in a replay",
    },
    {
        "rung": "retry_receipts",
        "why": "a log records whether a resend decrypted, not whether our receipt (or its keys) caused it",
    },
]


def _first(items: Iterator[Located]) -> tuple[Located | None, Iterator[Located]]:
    """The first item, and an iterator that still yields it."""
    first = next(items, None)
    return first, (itertools.chain([first], items) if first is not None else iter(()))


def run_replay(
    readers: list[Reader],
    *,
    policy: Policy | None = None,
    store: Store | None = None,
    tail: float | None = None,
    progress: Progress | None = None,
    keep_events: bool = False,
    raw_ids: bool = False,
    max_gap: float | None = LIMIT,
    batches: bool = True,
) -> ReplayResult:
    """Replay files on a fresh virtual loop whose clock starts at their first event.

    Phone numbers in session ids and file names appear as pseudonyms unless ``raw_ids``.
    A line more than ``max_gap`` seconds from its neighbours that the lines after
    it do not go on from is rejected (``None``: never); see :mod:`harness.timeguard`.
    """
    pseudonymizer = Pseudonymizer(b"replay", raw=raw_ids)
    guard = TimeGuard(max_gap)
    first, items = _first(guard.merged(readers))
    epoch = first.event.at if first is not None else datetime.fromtimestamp(0).astimezone()
    if first is not None and first.offset is not None:
        epoch -= timedelta(seconds=first.offset)  # the trace's own origin
    outcomes = RecordedOutcomes.scan(readers, epoch)
    policy = policy or Policy()
    # A canonical trace records every observation (phone answers, message ids); a log does not,
    # and what a log cannot show must not raise an alert: see CANNOT_JUDGE.
    logs = any(r.detect() != "trace" for r in readers)
    if logs:
        policy = dataclasses.replace(policy, alert_messages_lost=NEVER)
    source = {
        "kind": "replay",
        "files": [pseudonymizer.path(r.path) for r in readers],
        "policy": policy.to_dict(),
        **({"cannot_judge": CANNOT_JUDGE} if logs else {}),
    }
    # log-record times follow the trace's own clock, where freezegun (the harness extra) is there
    freeze = importlib.util.find_spec("freezegun") is not None
    with asyncio.Runner(loop_factory=lambda: VirtualLoop(epoch=epoch, freeze_wall_clock=freeze)) as runner:
        run = runner.run(
            replay(items, epoch=epoch, policy=policy, store=store, tail=tail, outcomes=outcomes,
                   progress=progress, keep_events=keep_events, pseudonymizer=pseudonymizer, batches=batches)
        )  # fmt: skip
    stats = [r.stats for r in readers]
    accounting = {
        "lines": sum(s.lines for s in stats),
        "events": sum(s.events for s in stats),
        "ignored": sum(sum(s.ignored.values()) for s in stats),
        "rejected_count": sum(s.rejected_count for s in stats),
        "rejected": [row | {"file": pseudonymizer.path(row["file"])} for s in stats for row in s.rejected],
        "files": [s.to_dict() | {"file": pseudonymizer.path(s.source)} for s in stats],
        "recorded_backend_failures": len(outcomes),
    }
    guard.account(accounting, name=pseudonymizer.path)
    parts = ReportParts(run.recorder, source=source, input=accounting)
    return ReplayResult(build_report(parts), parts, run.events, run.backend, batched=run.batched)
