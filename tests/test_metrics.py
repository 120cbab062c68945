"""Metrics follow the event stream, alerts included, on virtual time."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import generate_latest

from sessionmgr import BackendError, Category, DecryptError, MockBackend, Policy, Pseudonymizer, SessionManager
from sessionmgr.monitoring.metrics import METRIC_NAMES, MetricsSink

pytestmark = [pytest.mark.asyncio, pytest.mark.virtual_time]


def failing_regeneration(call: object) -> None:
    if getattr(call, "method", "") == "regenerate_keys":
        raise BackendError("refused")


async def test_metrics_and_alert_gauges_move_with_events() -> None:
    """Errors, regenerations, corruption and the alert gauges change at the right virtual instants."""
    manager = SessionManager(MockBackend(failing_regeneration), policy=Policy(peer_reset_after=100))
    metrics = MetricsSink(pseudonymizer=Pseudonymizer(b"k"))
    manager.bus.subscribe(metrics)
    sample = metrics.registry.get_sample_value
    async with manager:
        for _ in range(5):
            manager.observe_nowait(DecryptError(session="bot-1", error="Bad MAC", category=Category.BAD_MAC))
        assert sample("sessionmgr_errors_total", {"session": "bot-1", "category": "bad_mac"}) == 5
        assert sample("sessionmgr_session_healthy", {"session": "bot-1"}) == 0
        await asyncio.sleep(3.001)  # tries at 0, 1 and 3 s all fail
        assert sample("sessionmgr_regenerations_total", {"session": "bot-1", "outcome": "failed"}) == 1
        assert sample("sessionmgr_retries_total", {"operation": "regenerate_keys", "outcome": "retried"}) == 2
        assert sample("sessionmgr_corrupted_sessions") == 1
        assert sample("sessionmgr_alerts_active", {"rule": "regeneration_failed", "session": "bot-1"}) == 1
        await asyncio.sleep(599.998)  # the alert is due 600 s after the failure, at 603 s
        assert sample("sessionmgr_alerts_active", {"rule": "session_corrupted_too_long", "session": "bot-1"}) is None
        await asyncio.sleep(0.002)
        assert sample("sessionmgr_alerts_active", {"rule": "session_corrupted_too_long", "session": "bot-1"}) == 1
        await manager.connection_changed("bot-1", open=True)
        assert sample("sessionmgr_alerts_active", {"rule": "session_corrupted_too_long", "session": "bot-1"}) == 0
        assert sample("sessionmgr_alerts_active", {"rule": "regeneration_failed", "session": "bot-1"}) == 0
        assert sample("sessionmgr_alerts_fired_total", {"rule": "session_corrupted_too_long", "session": "bot-1"}) == 1
        assert sample("sessionmgr_corrupted_sessions") == 0


async def test_recovery_histogram_and_exported_names() -> None:
    """A recovery lands in the histogram; every exported family is in METRIC_NAMES."""
    manager = SessionManager(MockBackend())
    metrics = MetricsSink()
    manager.bus.subscribe(metrics)
    async with manager:
        for _ in range(5):
            manager.observe_nowait(DecryptError(session="bot-1", error="Bad MAC", category=Category.BAD_MAC))
        await asyncio.sleep(301)
    assert metrics.registry.get_sample_value("sessionmgr_recovery_seconds_count") == 1
    assert metrics.registry.get_sample_value("sessionmgr_recovery_seconds_sum") == pytest.approx(300)
    exported = {line.split("{")[0].split(" ")[0] for line in generate_latest(metrics.registry).decode().splitlines()
                if line.startswith("sessionmgr_")}  # fmt: skip
    # prometheus_client adds a *_created series to each counter and histogram (OpenMetrics)
    created = {name for name in exported if name.endswith("_created")}
    for name in created:
        family = name.removesuffix("_created")
        assert family + "_total" in METRIC_NAMES or family in METRIC_NAMES, name
    assert exported - created <= METRIC_NAMES
    assert "sessionmgr_errors_total" in exported


async def test_phone_number_sessions_are_pseudonymized_in_labels() -> None:
    """A session named by its phone number never shows that number in a label."""
    manager = SessionManager(MockBackend())
    metrics = MetricsSink(pseudonymizer=Pseudonymizer(b"k"))
    manager.bus.subscribe(metrics)
    async with manager:
        manager.observe_nowait(DecryptError(session="5511987654321", error="Bad MAC", category=Category.BAD_MAC))
    assert b"5511987654321" not in generate_latest(metrics.registry)


async def test_alert_metrics_name_the_session_pseudonymized() -> None:
    """An alert's series carries its session (as a pseudonym when the id is a number); a global one carries none."""
    pseudonymizer = Pseudonymizer(b"k")
    # the manager names the session once, where it comes in; its sinks share that pseudonymizer
    manager = SessionManager(
        MockBackend(failing_regeneration), policy=Policy(peer_reset_after=100), pseudonymizer=pseudonymizer
    )
    metrics = MetricsSink(pseudonymizer=pseudonymizer)
    manager.bus.subscribe(metrics)
    sample = metrics.registry.get_sample_value
    bots = ["5511987654321", "bot-2", "bot-3"]
    async with manager:
        for bot in bots:
            for _ in range(5):
                manager.observe_nowait(DecryptError(session=bot, error="Bad MAC", category=Category.BAD_MAC))
        await asyncio.sleep(3.001)  # every regeneration fails: three sessions corrupted at once
    number = pseudonymizer.session("5511987654321")
    assert number.startswith("session-")
    assert sample("sessionmgr_alerts_active", {"rule": "regeneration_failed", "session": number}) == 1
    assert sample("sessionmgr_alerts_fired_total", {"rule": "regeneration_failed", "session": "bot-2"}) == 1
    assert sample("sessionmgr_alerts_active", {"rule": "mass_corruption", "session": ""}) == 1
    assert b"5511987654321" not in generate_latest(metrics.registry)
