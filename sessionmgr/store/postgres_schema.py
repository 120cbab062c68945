"""The PostgreSQL schema, as migrations: each takes the schema from its index to the next version.

Never edit one, add one. The same tables as SQLite (sessions, audit, quarantine,
leases), plus what several workers on one database need: a fencing epoch on
each lease and one row per alert firing. :func:`prepare` applies them when a
store connects (or, read only, checks a schema is there and creates nothing).
"""

from __future__ import annotations

from typing import Any, Final

import psycopg

from sessionmgr.store.sqlite import StoreError, refuse_newer

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "one", "prepare"]

#: pg_advisory_xact_lock key that serialises migrations across workers ("sessmgr" in ASCII)
_MIGRATION_LOCK: Final = 0x73657373_6D677200

MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (  # 0 -> 1: sessions, audit log, quarantine, fenced leases, alert firings
        """CREATE TABLE sessions (
            session TEXT PRIMARY KEY,
            status TEXT NOT NULL,
            corrupted_since TIMESTAMPTZ,
            last_error TEXT,
            last_error_at TIMESTAMPTZ,
            errors BIGINT NOT NULL DEFAULT 0,
            regenerations BIGINT NOT NULL DEFAULT 0,
            regeneration_failures BIGINT NOT NULL DEFAULT 0,
            cleaned BOOLEAN NOT NULL DEFAULT FALSE,
            updated_at TIMESTAMPTZ
        )""",
        # json (not jsonb): kept as written, so details come back exactly (jsonb refuses \u0000)
        """CREATE TABLE audit (
            id BIGSERIAL PRIMARY KEY,
            at TIMESTAMPTZ NOT NULL,
            session TEXT NOT NULL,
            kind TEXT NOT NULL,
            detail JSON NOT NULL
        )""",
        "CREATE INDEX audit_by_session ON audit (session, id)",
        """CREATE TABLE quarantine (
            id BIGSERIAL PRIMARY KEY,
            at TIMESTAMPTZ NOT NULL,
            session TEXT NOT NULL,
            material BYTEA NOT NULL
        )""",
        # one row per session; epoch only increases, by one each time the lease changes hands
        """CREATE TABLE leases (
            session TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            epoch BIGINT NOT NULL CHECK (epoch > 0),
            until TIMESTAMPTZ NOT NULL
        )""",
        # an alert fires once per cluster: at most one open firing per (rule, session)
        """CREATE TABLE alert_firings (
            id BIGSERIAL PRIMARY KEY,
            rule TEXT NOT NULL,
            session TEXT NOT NULL,
            fired_at TIMESTAMPTZ NOT NULL,
            resolved_at TIMESTAMPTZ
        )""",
        "CREATE UNIQUE INDEX alert_firing_open ON alert_firings (rule, session) WHERE resolved_at IS NULL",
    ),
    (  # 1 -> 2: the message ledger (retry budget per message, one outcome each)
        """CREATE TABLE messages (
            session TEXT NOT NULL,
            peer TEXT NOT NULL,
            message_id TEXT NOT NULL,
            first_failed_at TIMESTAMPTZ NOT NULL,
            last_failed_at TIMESTAMPTZ NOT NULL,
            retries INTEGER NOT NULL DEFAULT 0,
            outcome TEXT,
            closed_at TIMESTAMPTZ,
            waited DOUBLE PRECISION,
            PRIMARY KEY (session, peer, message_id)
        )""",
        "CREATE INDEX messages_open ON messages (closed_at)",
    ),
)
SCHEMA_VERSION: Final = len(MIGRATIONS)


def prepare(db: psycopg.Connection[tuple[Any, ...]], where: str, *, read_only: bool) -> None:
    """Migrate the schema to this version; ``read_only``: make the session read only and check a schema is there."""
    if read_only:
        db.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        if not one(db.execute("SELECT (to_regclass('sessionmgr_schema') IS NOT NULL)::int").fetchone()):
            raise StoreError(f"{where}: no sessionmgr schema here (nothing was created)")
        _version(db, where)
        return
    with db.transaction():
        db.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        db.execute(
            "CREATE TABLE IF NOT EXISTS sessionmgr_schema ("
            "version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        for index in range(_version(db, where), SCHEMA_VERSION):
            for statement in MIGRATIONS[index]:
                db.execute(statement)
            db.execute("INSERT INTO sessionmgr_schema (version) VALUES (%s)", (index + 1,))


def _version(db: psycopg.Connection[tuple[Any, ...]], where: str) -> int:
    version = one(db.execute("SELECT coalesce(max(version), 0) FROM sessionmgr_schema").fetchone())
    refuse_newer(where, version, SCHEMA_VERSION)
    return version


def one(row: tuple[Any, ...] | None) -> int:
    """An aggregate's single value."""
    assert row is not None  # aggregates always return a row
    return int(row[0])
