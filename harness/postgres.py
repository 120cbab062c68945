"""A PostgreSQL for tests and benchmarks: the server ``SESSIONMGR_TEST_POSTGRES`` names, one schema per use.

``.ci/postgres.sh`` starts a throwaway server and sets the variable; point it at
any server you may create schemas on to run the PostgreSQL tests there.
"""

from __future__ import annotations

import os
import uuid
from typing import Final

__all__ = ["ENV", "HOW_TO_RUN", "fresh_schema", "server_url", "with_schema"]

ENV: Final = "SESSIONMGR_TEST_POSTGRES"
HOW_TO_RUN: Final = (
    f"no PostgreSQL: set {ENV}=postgresql://user@host:port/db (a server you may create schemas on), "
    "or as root run `. .ci/postgres.sh` to start a throwaway one"
)


def server_url() -> str | None:
    """The test server's URL, or None when none is configured."""
    return os.environ.get(ENV) or None


def with_schema(url: str, schema: str) -> str:
    """``url`` with every connection's search_path set to ``schema``."""
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def fresh_schema(url: str, prefix: str = "t") -> str:
    """Create an empty schema on the server; a URL whose tables land in it."""
    import psycopg  # the postgres extra; only callers that have a server get here

    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as db:
        db.execute(f"CREATE SCHEMA {schema}")
    return with_schema(url, schema)
