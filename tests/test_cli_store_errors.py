"""A store that cannot be used stops replay, simulate and watch with one line naming it, and status changes nothing."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import sqlite3
import stat
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import harness.replay
import harness.simulate  # noqa: F401
from harness.postgres import HOW_TO_RUN, fresh_schema, server_url
from sessionmgr.cli import main
from sessionmgr.cli.options import EXIT_STORE
from sessionmgr.store import SessionRecord, Status, WriteBatch
from sessionmgr.store.sqlite import SQLiteStore

LOG = Path(__file__).resolve().parent.parent / "examples" / "bot-01.baileys.log"
NOBODY = 65534

FAST_SIMULATION = ["--sessions", "1", "--peers", "1", "--hours", "0.1", "--no-compare", "-q"]
#: Each command that takes --store, as a test runs it (quick, quiet, nothing written elsewhere).
COMMANDS: dict[str, Callable[[Path], list[str]]] = {
    "replay": lambda store: ["replay", str(LOG), "-q", "--store", str(store)],
    "simulate": lambda store: ["simulate", *FAST_SIMULATION, "--store", str(store)],
    "watch": lambda store: ["watch", str(LOG), "--listen", "127.0.0.1:0", "--store", str(store)],
}


def _unusable(result: Result, store: Path | str, why: str) -> None:
    """The command stopped with exit status 4 and one line naming the store and what is wrong with it."""
    assert result.exit_code == EXIT_STORE, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    assert str(store) in lines[0] and why in lines[0], lines[0]


def _digest(path: Path) -> tuple[str, int, int, list[str]]:
    """The file's bytes, mode and owner, and which -wal/-shm companions exist: all a command could change."""
    info = path.stat()
    companions = sorted(p.name for p in path.parent.glob(path.name + "-*"))
    return hashlib.sha256(path.read_bytes()).hexdigest(), stat.S_IMODE(info.st_mode), info.st_uid, companions


def _foreign(path: Path) -> None:
    """Another application's SQLite database (rollback journal, mode 0644, a table of its own)."""
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE contacts (name TEXT, phone TEXT)")
    db.execute("INSERT INTO contacts VALUES ('x', '+5511999999999')")
    db.commit()
    db.close()
    path.chmod(0o644)


def _ours(path: Path) -> None:
    """A sessionmgr store holding one session."""

    async def write() -> None:
        store = SQLiteStore(path)
        await store.apply(WriteBatch(records=[SessionRecord(session="bot-01", status=Status.CORRUPTED)]))
        await store.close()

    asyncio.run(write())


@pytest.mark.parametrize("command", COMMANDS)
def test_garbage_bytes_are_named_not_a_database_and_left_alone(command: str, tmp_path: Path) -> None:
    """A store file of random bytes stops the command with 'not a SQLite database' and is not touched."""
    store = tmp_path / "store.db"
    store.write_bytes(os.urandom(8192))
    before = _digest(store)
    _unusable(CliRunner().invoke(main, COMMANDS[command](store)), store, "not a SQLite database")
    assert _digest(store) == before


@pytest.mark.parametrize("command", [*COMMANDS, "status"])
def test_another_applications_database_is_refused_and_not_migrated(command: str, tmp_path: Path) -> None:
    """A SQLite database of another application is refused by name, gains no table, no WAL and no chmod."""
    store = tmp_path / "app.db"
    _foreign(store)
    before = _digest(store)
    args = ["status", "--store", str(store)] if command == "status" else COMMANDS[command](store)
    _unusable(CliRunner().invoke(main, args), store, "another application (tables contacts)")
    assert _digest(store) == before


@pytest.mark.parametrize("command", COMMANDS)
def test_a_directory_is_named_as_one(command: str, tmp_path: Path) -> None:
    """--store naming a directory says so instead of a traceback."""
    _unusable(CliRunner().invoke(main, COMMANDS[command](tmp_path)), tmp_path, "is a directory")


@pytest.mark.parametrize("command", COMMANDS)
def test_a_store_locked_by_another_process_is_named_locked(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store whose write lock another connection holds stops the command with 'locked by another process'."""
    store = tmp_path / "store.db"
    _ours(store)
    # the default waits 10 real seconds for the lock; the test waits 0.05 for the same outcome
    monkeypatch.setattr(SQLiteStore.__init__, "__kwdefaults__", {"busy_timeout": 0.05, "read_only": False})
    other = sqlite3.connect(store, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        result = CliRunner().invoke(main, COMMANDS[command](store))
    finally:
        other.execute("ROLLBACK")
        other.close()
    _unusable(result, store, "locked by another process")


@contextlib.contextmanager
def _shared_dir() -> Iterator[Path]:
    """A world-writable directory (as /tmp is) that another user can reach, unlike pytest's 0700 tmp_path."""
    path = Path(tempfile.mkdtemp(prefix="sessionmgr-shared-"))
    path.chmod(0o1777)
    try:
        yield path
    finally:
        shutil.rmtree(path)


@contextlib.contextmanager
def _as_nobody() -> Iterator[None]:
    """Run the block as another user: root drops its effective ids to nobody's (and takes them back);
    any other user already is not the owner of a file root did not make, so nothing changes."""
    if os.geteuid() != 0:
        yield
        return
    os.setegid(NOBODY)
    os.seteuid(NOBODY)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


def test_a_store_this_user_cannot_write_is_named_not_writable(tmp_path: Path) -> None:
    """replay on a store another user owns (or a read-only file) says it is not writable, with exit status 4."""
    with _shared_dir() as shared:
        store = shared / "theirs.db"
        _ours(store)
        store.chmod(0o444 if os.geteuid() != 0 else 0o644)  # root owns it: nobody may read, not write
        before = _digest(store)
        with _as_nobody():
            result = CliRunner().invoke(main, COMMANDS["replay"](store))
        _unusable(result, store, "not writable (permission denied)")
        assert _digest(store)[:3] == before[:3]  # a WAL reader may leave -wal/-shm in a shared directory


def test_status_reads_another_users_store_without_chmod_or_migration() -> None:
    """status reads a store it does not own (mode 0644) and leaves its mode, owner and schema as they were."""
    with _shared_dir() as shared:
        store = shared / "theirs.db"
        _ours(store)
        store.chmod(0o644)
        before = _digest(store)
        with _as_nobody():
            result = CliRunner().invoke(main, ["status", "--store", str(store)])
        assert result.exit_code == 0, result.output
        assert "bot-01" in result.output and "corrupted" in result.output
        assert _digest(store)[1:3] == before[1:3]  # mode and owner


def test_status_neither_creates_nor_migrates_an_empty_database(tmp_path: Path) -> None:
    """status on an empty SQLite file says it is no sessionmgr store yet and leaves it empty."""
    store = tmp_path / "empty.db"
    store.touch(mode=0o644)
    result = CliRunner().invoke(main, ["status", "--store", str(store)])
    _unusable(result, store, "an empty database, not a sessionmgr store yet")
    assert store.stat().st_size == 0 and not list(tmp_path.glob("empty.db-*"))


def test_status_on_a_store_being_written_reads_what_was_committed(tmp_path: Path) -> None:
    """status, read only, still reads a store whose write lock another process holds (WAL readers never wait)."""
    store = tmp_path / "store.db"
    _ours(store)
    other = sqlite3.connect(store, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute(
        "UPDATE sessions SET status = 'healthy', updated_at = ?", (datetime(2026, 1, 1, tzinfo=UTC).isoformat(),)
    )
    try:
        result = CliRunner().invoke(main, ["status", "--store", str(store)])
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert result.exit_code == 0, result.output
    assert "corrupted" in result.output


def test_a_postgresql_server_that_refuses_is_one_line_without_the_password() -> None:
    """A PostgreSQL URL nobody answers on stops replay with exit status 4, one line, the password hidden."""
    url = "postgresql://bot:hunter2@127.0.0.1:1/sessions"
    result = CliRunner().invoke(main, ["replay", str(LOG), "-q", "--store", url])
    _unusable(result, "postgresql://bot:***@127.0.0.1:1/sessions", "cannot connect")
    assert "hunter2" not in result.output


def test_status_on_postgresql_creates_nothing_and_reads_read_only() -> None:
    """status on a PostgreSQL schema with no sessionmgr tables refuses it and creates none; on a store it reads."""
    server = server_url()
    if server is None:
        pytest.skip(HOW_TO_RUN)
    import psycopg

    from sessionmgr.store.postgres import PostgresStore

    url = fresh_schema(server)
    result = CliRunner().invoke(main, ["status", "--store", url])
    _unusable(result, "", "no sessionmgr schema here (nothing was created)")
    with psycopg.connect(url) as db:
        tables = db.execute("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()").fetchone()
    assert tables == (0,)

    async def write() -> None:
        store = PostgresStore(url)
        await store.apply(WriteBatch(records=[SessionRecord(session="bot-01", status=Status.CORRUPTED)]))
        await store.close()

    asyncio.run(write())
    result = CliRunner().invoke(main, ["status", "--store", url])
    assert result.exit_code == 0, result.output
    assert "bot-01" in result.output and "corrupted" in result.output
