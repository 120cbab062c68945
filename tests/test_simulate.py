"""The simulation end to end: reproducible, better with the manager, and private."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re

import pytest

from harness.loop import VirtualLoop
from harness.simulate import SimConfig, run_simulation, simulate
from sessionmgr import Pseudonymizer
from sessionmgr.monitoring import LoggingSink
from sessionmgr.monitoring.logsink import JsonFormatter

SMALL = SimConfig(seed=3, sessions=4, peers_per_session=10, hours=6, message_interval=600, fault_scale=2.0)


def test_same_seed_same_report_byte_for_byte() -> None:
    """Two runs with one seed give identical JSON."""
    first = json.dumps(run_simulation(SMALL))
    assert first == json.dumps(run_simulation(SMALL))
    assert first != json.dumps(run_simulation(dataclasses.replace(SMALL, seed=4)))


def test_report_has_the_documented_shape() -> None:
    """The report carries the schema and every section DESIGN.md lists."""
    report = run_simulation(SMALL)
    assert report["schema"] == "sessionmgr.report/1"
    for key in ("source", "input", "errors", "sessions", "actions", "alerts", "delivery"):
        assert key in report
    assert set(report["sessions"]) == {"bot-01", "bot-02", "bot-03", "bot-04"}
    for session in report["sessions"].values():
        assert {
            "errors",
            "by_category",
            "peers_with_errors",
            "unhealthy_transitions",
            "regenerations",
            "status",
        } <= set(session)
    delivery = report["delivery"]
    assert delivery["sent"] == delivery["delivered"] + delivery["lost"]
    assert report["errors"]["total"] == sum(report["errors"]["by_category"].values())


def test_the_manager_loses_far_fewer_messages() -> None:
    """On the same seed and faults, the manager loses at most a fifth of what no manager loses."""
    with_manager = run_simulation(SMALL)["delivery"]
    without = run_simulation(dataclasses.replace(SMALL, manager=False))["delivery"]
    assert without["lost"] > 50  # the faults really hurt
    assert with_manager["lost"] * 5 <= without["lost"]
    assert with_manager["recovered"] > 0


def test_quiet_world_has_no_errors_and_no_actions() -> None:
    """Without faults nothing fails, nothing is repaired and everything arrives."""
    report = run_simulation(dataclasses.replace(SMALL, faults=None, fault_scale=0.0, sessions=1))
    assert report["errors"]["total"] == 0
    assert report["actions"]["regenerations"] == 0 and report["alerts"] == []
    assert report["delivery"]["lost"] == 0


def test_no_plaintext_or_phone_number_in_logs_or_report() -> None:
    """Message texts and raw numbers appear nowhere in the JSON logs or the report."""
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(JsonFormatter().format(record))

    logger = logging.getLogger("test.sessionmgr.sim")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(Collect())
    logger.propagate = False
    sink = LoggingSink(logger, Pseudonymizer(b"test-key"), include_ok=True)
    with asyncio.Runner(loop_factory=VirtualLoop) as runner:
        result = runner.run(simulate(SMALL, subscribers=(sink,)))
    text = "\n".join(lines) + json.dumps(result.report)
    assert len(lines) > 100
    numbers = [jid.split("@")[0] for jid in result.world.peers]
    assert not [n for n in numbers if n in text]
    plaintexts = {m.plaintext.decode() for m in result.world.messages.values()}
    assert not [p for p in plaintexts if p in text]
    # beyond the known numbers: no long digit run at all, once pseudonyms' hex and float fractions are set aside
    assert not re.search(r"(?<![\d.])\d{10,}", re.sub(r"(peer|session)-[0-9a-f]{12}", "", text))


@pytest.mark.parametrize("bad", [{"sessions": 0}, {"hours": 0}])
def test_bad_config_is_refused(bad: dict[str, float]) -> None:
    """An empty world is refused with a clear message."""
    with pytest.raises(ValueError, match="at least one session"):
        run_simulation(dataclasses.replace(SMALL, **bad))  # type: ignore[arg-type]


def test_log_record_times_follow_virtual_time() -> None:
    """During a simulation, stdlib log records carry virtual wall-clock times, not the machine's."""
    import datetime as dt

    from harness.loop import DEFAULT_EPOCH
    from sessionmgr.events import Event

    created: list[float] = []

    class Times(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            created.append(record.created)

    logger = logging.getLogger("test.sessionmgr.times")
    logger.setLevel(logging.INFO)
    logger.addHandler(Times())

    def log(event: Event) -> None:
        if event.kind == "regeneration_succeeded":
            logger.info("regenerated")

    run_simulation(SMALL, subscribers=(log,))
    assert created
    end = DEFAULT_EPOCH + dt.timedelta(hours=SMALL.hours)
    assert all(DEFAULT_EPOCH.timestamp() <= c <= end.timestamp() for c in created)
