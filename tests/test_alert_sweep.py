"""The error-rate sweep judging only sessions whose counts can have changed gives what judging all of them gave."""

from __future__ import annotations

import asyncio

from hypothesis import example, given, settings
from hypothesis import strategies as st

from harness.loop import VirtualLoop
from sessionmgr import AlertFired, AlertResolved, Category, DecryptError, DecryptOk, Event, EventBus, Policy
from sessionmgr.clock import LoopClock
from sessionmgr.events import HealthChecked
from sessionmgr.recovery.alerts import AlertEvaluator
from sessionmgr.recovery.publish import Publisher
from sessionmgr.recovery.tasks import TaskSupervisor


class JudgeAll(AlertEvaluator):
    """The sweep as it was: every session with a window, every time, in the order their windows were made."""

    def _due(self, now: int) -> list[str]:
        self._dirty.clear()
        self._expiry.clear()
        return list(self._attempts)


#: (seconds to wait, session index, what): ok, error, duplicate (weight 0) or a health sweep
_STEPS = st.lists(
    st.tuples(
        st.sampled_from([0.0, 0.5, 7.0, 30.0, 61.0, 299.0, 300.0, 301.0]),
        st.integers(0, 2),
        st.sampled_from(["ok", "ok", "error", "duplicate", "sweep", "sweep"]),
    ),
    max_size=120,
)


def _run(cls: type[AlertEvaluator], steps: list[tuple[float, int, str]]) -> list[tuple[str, str, str, float, str]]:
    async def main() -> list[tuple[str, str, str, float, str]]:
        clock, bus = LoopClock(), EventBus()
        emit = Publisher(clock, bus)
        alerts = cls(Policy(alert_error_rate=0.2, alert_error_rate_min_attempts=3, window=300), clock, emit,
                     TaskSupervisor(clock))  # fmt: skip
        bus.subscribe(alerts.handle)
        out: list[Event] = []
        bus.subscribe(out.append)
        for wait, index, what in steps:
            await asyncio.sleep(wait)
            session = f"bot-{index}"
            if what == "ok":
                emit(DecryptOk(session=session))
            elif what == "sweep":
                emit(HealthChecked(session="*", sessions=5, unhealthy=0, corrupted=0))
            else:
                category = Category.BAD_MAC if what == "error" else Category.DUPLICATE
                emit(DecryptError(session=session, error="x", category=category))
        return [
            ("fired" if isinstance(e, AlertFired) else "resolved", e.rule, e.session, e.t,
             e.message if isinstance(e, AlertFired) else "")
            for e in out
            if isinstance(e, AlertFired | AlertResolved)
        ]  # fmt: skip

    with asyncio.Runner(loop_factory=VirtualLoop) as runner:
        return runner.run(main())


@settings(max_examples=150, deadline=None)
@given(_STEPS)
@example([(0.0, 0, "error")] * 3 + [(1.0, 1, "sweep"), (301.0, 1, "ok"), (1.0, 1, "sweep")])  # aged out, no traffic
@example([(0.0, 1, "error")] * 3 + [(0.0, 0, "error")] * 3 + [(1.0, 2, "sweep")])  # judged in order of first sight
def test_the_sweep_over_changed_sessions_fires_and_resolves_as_the_full_sweep(
    steps: list[tuple[float, int, str]],
) -> None:
    """Same alerts, same order, same times and messages on random traffic and sweeps."""
    assert _run(AlertEvaluator, steps) == _run(JudgeAll, steps)
