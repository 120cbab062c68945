"""Replay: a recorded simulation replays to the same decisions; captured logs replay end to end."""

from __future__ import annotations

import asyncio
import io
import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.examples import make
from harness.loop import VirtualLoop
from harness.replay import run_replay
from harness.simulate import SimConfig, simulate
from sessionmgr.cli import main
from sessionmgr.trace.codec import TraceWriter
from sessionmgr.trace.readers import Reader
from sessionmgr.trace.scrub import Scrubber

DECISIONS = {
    "resend_requested", "peer_reset", "regeneration_started", "regeneration_succeeded", "regeneration_failed",
    "corrupted", "disconnected", "cleaned", "alert_fired", "alert_resolved", "health", "retry", "health_check",
}  # fmt: skip


@pytest.mark.parametrize("seed", [1, 3])
def test_recorded_simulation_replays_to_the_same_decisions(seed: int) -> None:
    """Every decision of the simulation comes back from its trace, of the same kind, session and instant."""
    config = SimConfig(seed=seed, sessions=6, peers_per_session=10, hours=6, message_interval=300)
    buffer = io.StringIO()
    writer = TraceWriter(buffer, config.pseudonymizer())
    with asyncio.Runner(loop_factory=VirtualLoop) as runner:
        original = runner.run(simulate(config, keep_events=True, subscribers=(writer,)))
    replayed = run_replay([Reader("sim.trace", lines=buffer.getvalue().splitlines())], keep_events=True, tail=0)
    assert original.events is not None and replayed.events is not None
    end = max(e.t for e in replayed.events)

    def decisions(events: list) -> Counter[tuple[str, str, float]]:  # type: ignore[type-arg]
        return Counter((e.kind, e.session, round(e.t, 6)) for e in events if e.kind in DECISIONS and e.t <= end)

    expected = decisions(original.events)
    assert sum(expected.values()) > 100
    assert {k for k, _, _ in expected} >= {"regeneration_failed", "corrupted", "cleaned", "peer_reset"}
    assert decisions(replayed.events) == expected


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("examples")
    make(directory)
    return directory


def test_examples_replay_with_every_line_accounted_for(examples: Path) -> None:
    """The project's own Baileys, gzip, seed and trace samples replay with nothing rejected."""
    for name in (
        "bot-01.baileys.log",
        "bot-01.baileys.log.gz",
        "bot-02.baileys.log",
        "seed.log",
        "simulation.trace.jsonl",
    ):
        report = run_replay([Reader(examples / name)]).report
        files = report["input"]["files"]
        assert files[0]["rejected"] == 0, name
        assert files[0]["events"] + sum(files[0]["ignored"].values()) <= files[0]["lines"], name
        assert report["errors"]["total"] > 0, name


def test_cli_replay_what_if_and_html(examples: Path, tmp_path: Path) -> None:
    """The replay command compares policies in one table and writes an HTML page."""
    html = tmp_path / "r.html"
    result = CliRunner().invoke(
        main,
        ["replay", str(examples / "simulation.trace.jsonl"), "--sweep", "unhealthy_threshold=3,5", "--html", str(html)],
    )
    assert result.exit_code == 0, result.output
    assert "what if" in result.output and "unhealthy_threshold=3" in result.output
    assert html.read_text().count("<svg") >= 2


def test_cli_replay_rejects_a_bad_sweep(examples: Path) -> None:
    """A sweep over an unknown knob is a usage error naming it."""
    result = CliRunner().invoke(main, ["replay", str(examples / "seed.log"), "--sweep", "threshhold=1,2"])
    assert result.exit_code == 2 and "threshhold" in result.output


def test_scrub_keeps_what_replay_needs(examples: Path, tmp_path: Path) -> None:
    """Scrubbed logs hold no original number and no content, and replay to the same report."""
    source = tmp_path / "bot-01.log"
    original = (examples / "bot-01.baileys.log").read_text()
    # give the log some content and a raw number to lose
    source.write_text(
        original.replace('"msg":"decrypted message"', '"msg":"decrypted message","message":{"conversation":"oi"}', 1)
    )
    target = tmp_path / "bot-01.scrubbed.log"
    result = CliRunner().invoke(main, ["scrub", str(source), str(target), "--key", "k"])
    assert result.exit_code == 0, result.output
    scrubbed = target.read_text()
    numbers = {line.split('"remoteJid":"')[1][:13] for line in original.splitlines() if '"remoteJid":"' in line}
    assert numbers and not [n for n in numbers if n in scrubbed]
    assert '"oi"' not in scrubbed and "conversation" not in scrubbed
    before = run_replay([Reader(source)]).report
    after = run_replay([Reader(target)]).report
    assert after["errors"] == before["errors"] and after["actions"] == before["actions"]
    assert target.stat().st_mode & 0o077 == 0


def test_scrubber_is_consistent_and_keeps_error_texts() -> None:
    """One number always maps to one fake; an error's message survives; key dumps are redacted."""
    scrubber = Scrubber(b"k", fake_number=lambda seed: f"55119{seed % 10**8:08d}")
    line = json.dumps(
        {"err": {"message": "No session for: 5511987654321"}, "key": {"remoteJid": "5511987654321@s.whatsapp.net"}}
    )
    out = json.loads(scrubber.line(line))
    fake = scrubber.number("5511987654321")
    assert out["key"]["remoteJid"] == f"{fake}@s.whatsapp.net"
    assert out["err"]["message"] == f"No session for: {fake}"
    assert scrubber.text("pubKey: <Buffer 05 1a 2b>") == "pubKey: <Buffer redacted>"


def test_a_replay_report_says_which_rungs_a_log_cannot_judge(tmp_path: Path) -> None:
    """A log holds no phone answers: the replay report names the phone rung as not judged, in JSON and text."""
    result = CliRunner().invoke(
        main, ["replay", "-q", "examples/bot-01.baileys.log", "--json", str(tmp_path / "r.json")]
    )
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert [limit["rung"] for limit in report["source"]["cannot_judge"]] == [
        "phone",
        "message_outcomes",
        "retry_receipts",
    ]
    shown = CliRunner().invoke(main, ["replay", "examples/bot-01.baileys.log"])
    assert "not judged" in shown.output and "phone" in shown.output


def test_a_replay_raises_no_alert_about_messages_a_log_cannot_follow() -> None:
    """Failures with message ids and successes without them: no messages_lost alert from a replay."""
    result = run_replay([Reader("examples/bot-01.baileys.log")])
    assert [a["rule"] for a in result.report["alerts"] if a["rule"] == "messages_lost"] == []
    assert result.report["source"]["policy"]["alert_messages_lost"] > 10**9
