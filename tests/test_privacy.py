"""Sessions named after phone numbers: pseudonyms in every sink, the real id only at the backend."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from sessionmgr import MockBackend, Pseudonymizer
from sessionmgr.backend import BackendCall
from sessionmgr.cli.main import main
from sessionmgr.events import DecryptError
from sessionmgr.policy import Policy
from sessionmgr.store import AuditEntry, MemoryStore, SessionRecord, WriteBatch, open_store
from sessionmgr.trace.readers import Reader
from tests.conftest import Starter

BOT = "5511987654321"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _bot_log(tmp_path: Path) -> Path:
    """examples/bot-01 as a Baileys bot whose log file is named after its number."""
    path = tmp_path / f"{BOT}.log"
    path.write_text((EXAMPLES / "bot-01.baileys.log").read_text())
    return path


def bad_mac(
    session: str = BOT, peer: str | int = "5511999990001@s.whatsapp.net", message_id: str = "M1"
) -> DecryptError:
    return DecryptError(session=session, peer=peer, error="Bad MAC", message_id=message_id)  # type: ignore[arg-type]


def test_replay_of_a_log_named_after_the_bot_leaks_its_number_nowhere(tmp_path: Path) -> None:
    """The JSON and HTML reports, the store and status show the session and the file as pseudonyms."""
    log, db = _bot_log(tmp_path), tmp_path / "run.db"
    out_json, out_html = tmp_path / "r.json", tmp_path / "r.html"
    args = ["replay", "-q", str(log), "--json", str(out_json), "--html", str(out_html), "--store", str(db)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    report = json.loads(out_json.read_text())
    (session,) = report["sessions"]
    assert session.startswith("session-") and report["sessions"][session]["errors"] > 0
    assert report["source"]["files"] == [str(tmp_path / f"{session}.log")]
    for text in (out_json.read_text(), out_html.read_text(), db.read_bytes().decode("latin-1")):
        assert BOT not in text
    for extra in ([], ["--json"]):
        shown = CliRunner().invoke(main, ["status", "--store", str(db), *extra])
        assert shown.exit_code == 0, shown.output
        assert session in shown.output and BOT not in shown.output


def test_raw_ids_keeps_the_number_when_the_operator_asks(tmp_path: Path) -> None:
    """replay --raw-ids names the session and the file by the number itself."""
    log, out_json = _bot_log(tmp_path), tmp_path / "r.json"
    result = CliRunner().invoke(main, ["replay", "-q", str(log), "--json", str(out_json), "--raw-ids"])
    assert result.exit_code == 0, result.output
    report = json.loads(out_json.read_text())
    assert list(report["sessions"]) == [BOT] and report["source"]["files"] == [str(log)]


def test_status_pseudonymizes_an_older_store_that_kept_raw_ids(tmp_path: Path) -> None:
    """A store written with raw numbers shows pseudonyms (last error and decisions too) unless --raw-ids."""
    db = tmp_path / "old.db"
    at = datetime(2026, 1, 1, tzinfo=UTC)

    async def fill() -> None:
        store = open_store(str(db))
        record = SessionRecord(session=BOT, errors=3, last_error="No session for 5511999990001")
        entry = AuditEntry(at=at, session=BOT, kind="peer_reset", detail={"reason": "from 5511999990001"})
        await store.apply(WriteBatch(records=[record], audit=[entry]))
        await store.close()

    asyncio.run(fill())
    for extra in ([], ["--json"]):
        shown = CliRunner().invoke(main, ["status", "--store", str(db), *extra])
        assert shown.exit_code == 0, shown.output
        assert "session-" in shown.output and BOT not in shown.output and "5511999990001" not in shown.output
    raw = CliRunner().invoke(main, ["status", "--store", str(db), "--raw-ids"])
    assert BOT in raw.output


@pytest.mark.asyncio
@pytest.mark.virtual_time
async def test_an_embedder_sees_pseudonyms_everywhere_but_its_backend_gets_the_real_id(started: Starter) -> None:
    """Events, the store and the manager's queries use the pseudonym; every backend call names the real session."""
    backend, store = MockBackend(), MemoryStore()
    manager, events = await started(backend, store=store, pseudonymizer=Pseudonymizer(b"k"))
    name = Pseudonymizer(b"k").session(BOT)
    for i in range(5):
        await manager.observe(bad_mac(peer=f"551199999000{i}@s.whatsapp.net", message_id=f"M{i}"))
    await manager.drain()
    assert {e.session for e in events} <= {name, "*"} and name in {e.session for e in events}
    assert manager.sessions() == [name]
    assert manager.get_session_health(BOT).weighted_errors == 5  # the embedder may ask by its own id
    assert await manager.regenerate_session_keys(BOT)
    assert backend.calls and {c.session for c in backend.calls} == {BOT}
    assert "regenerate_keys" in backend.methods()
    assert [r.session for r in await store.records()] == [name]
    assert {a.session for a in await store.audit()} == {name, "*"}


@pytest.mark.asyncio
@pytest.mark.virtual_time
async def test_a_raw_pseudonymizer_keeps_raw_ids_for_embedders(started: Starter) -> None:
    """pseudonymizer=Pseudonymizer(raw=True) is the embedder's way to keep the real id everywhere."""
    backend, store = MockBackend(), MemoryStore()
    manager, events = await started(backend, store=store, pseudonymizer=Pseudonymizer(raw=True))
    await manager.observe(bad_mac())
    await manager.drain()
    assert manager.sessions() == [BOT] and [r.session for r in await store.records()] == [BOT]
    assert BOT in {e.session for e in events}


@pytest.mark.asyncio
@pytest.mark.virtual_time
async def test_audit_rows_pseudonymize_integer_peers_and_number_like_message_ids(started: Starter) -> None:
    """A peer given as an int and a message id holding a number reach the audit as pseudonyms."""
    store = MemoryStore()
    manager, _ = await started(MockBackend(), store=store, policy=Policy(peer_reset_after=1))
    await manager.observe(bad_mac(session="bot-1", peer=5511999990001, message_id="5511999990002-A"))
    await manager.drain()
    audit = await store.audit()
    assert audit, "the resend is audited"
    text = json.dumps([a.detail for a in audit], default=str)
    assert "5511999990001" not in text and "5511999990002" not in text
    assert any(str(a.detail.get("peer", "")).startswith("peer-") for a in audit)


@pytest.mark.asyncio
async def test_watch_logs_and_stores_the_session_by_its_pseudonym(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """watch following 5511987654321.log logs, stores and tracks the session as session-<hex> only."""
    from sessionmgr.monitoring.http import MonitoringServer
    from sessionmgr.monitoring.watch import watch

    log, store = _bot_log(tmp_path), MemoryStore()
    with log.open("a") as handle:
        handle.write('{"t": "5511999990003", "broken": \n')  # one rejected line, logged as it is read
    stop = asyncio.Event()
    servers: list[MonitoringServer] = []
    with caplog.at_level(logging.INFO, logger="sessionmgr"):
        task = asyncio.create_task(watch([log], port=0, poll=0.01, from_start=True, stop=stop, store=store,
                                         on_ready=servers.append))  # fmt: skip
        for _ in range(500):  # real files and threads: poll, bounded, until the whole file (its last line too) is read
            if servers and servers[0].manager.sessions() and "rejected" in caplog.text:
                break
            await asyncio.sleep(0.02)
        stop.set()
        manager = await asyncio.wait_for(task, 10)
    (name,) = manager.sessions()
    assert name.startswith("session-")
    assert "following" in caplog.text and "could not be read" in caplog.text
    assert BOT not in caplog.text and "5511999990003" not in caplog.text
    assert [r.session for r in await store.records()] == [name]


@pytest.mark.parametrize(
    ("line", "planted"),
    [
        ('{"t": "5511999990001", "session": "bot", "kind": "decrypt_ok"}', "5511999990001"),
        ('{"t": "2026-01-01T00:00:00Z", "session": "bot", "kind": "my secret words"}', "my secret words"),
        (
            '{"t": "2026-01-01T00:00:00Z", "offset": 5511999990001, "session": "b", "kind": "decrypt_ok"}',
            "5511999990001",
        ),
    ],
)
def test_rejection_reasons_do_not_repeat_the_raw_values(line: str, planted: str) -> None:
    """A rejected line's reason names the field, not the phone number or text that was in it."""
    header = '{"schema": "sessionmgr.trace/1"}'
    reader = Reader("trace.jsonl", format="trace", lines=[header, line])
    assert list(reader) == []
    (rejected,) = reader.stats.rejected
    assert planted not in rejected["reason"] and rejected["reason"].split(":")[0] in ("time", "kind", "offset")


def test_backend_calls_carry_the_real_id_for_every_method() -> None:
    """Every backend method called through the manager's view gets the real id back."""
    from sessionmgr.pseudonym import RealIdBackend

    backend = MockBackend()
    view = RealIdBackend(backend, Pseudonymizer(b"k"))
    name = view.name(BOT)

    async def every() -> None:
        await view.request_resend(name, "p", "m", with_keys=True)
        await view.request_from_phone(name, "p", "m")
        await view.upload_prekeys(name, 3)
        await view.reset_peer_session(name, "p")
        await view.regenerate_keys(name)
        await view.disconnect(name)
        await view.export_keys(name)
        await view.purge_keys(name)

    asyncio.run(every())
    assert len(backend.calls) == 8 and all(c.session == BOT for c in backend.calls)
    assert backend.calls[0] == BackendCall("request_resend", BOT, "p", "m", True)
    assert view.name(name) == name  # a pseudonym given again is left alone


def test_simulate_raw_ids_writes_raw_peers_to_its_trace(tmp_path: Path) -> None:
    """simulate --trace pseudonymizes its peers' numbers; with --raw-ids it writes them as they are."""
    fast = ["simulate", "--sessions", "1", "--peers", "3", "--hours", "0.5", "--no-compare", "-q"]
    texts = {}
    for flag in ("", "--raw-ids"):
        trace = tmp_path / f"t{flag}.jsonl"
        result = CliRunner().invoke(main, [*fast, "--trace", str(trace), *([flag] if flag else [])])
        assert result.exit_code == 0, result.output
        texts[flag] = trace.read_text()
    assert "@s.whatsapp.net" in texts["--raw-ids"] and "@s.whatsapp.net" not in texts[""]
    assert '"peer":"peer-' in texts[""].replace(" ", "")
