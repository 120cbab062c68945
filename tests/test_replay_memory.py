"""A replay's in-memory store forgets finished messages, so its memory does not grow with the trace."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sessionmgr.store import MemoryStore, MessageRecord, WriteBatch

_AT = datetime(2026, 1, 2, tzinfo=UTC)


def _row(message_id: str, outcome: str | None = None) -> MessageRecord:
    return MessageRecord(
        session="s", peer="p", message_id=message_id, first_failed_at=_AT, last_failed_at=_AT, outcome=outcome,
        closed_at=_AT if outcome else None,
    )  # fmt: skip


@pytest.mark.asyncio
async def test_closed_rows_are_forgotten_and_open_rows_kept() -> None:
    """With keep_closed_messages=False a row goes once it has its outcome; open rows stay as before."""
    store = MemoryStore(keep_closed_messages=False)
    await store.apply(WriteBatch(messages=[_row("a"), _row("b"), _row("c", "expired")]))
    await store.apply(WriteBatch(messages=[_row("a", "resolved_sender")]))
    assert [m.message_id for m in await store.messages()] == ["b"]


@pytest.mark.asyncio
async def test_default_store_keeps_closed_rows() -> None:
    """The default store still keeps every finished row (restore reads them back)."""
    store = MemoryStore()
    await store.apply(WriteBatch(messages=[_row("a"), _row("a", "expired")]))
    assert [(m.message_id, m.outcome) for m in await store.messages()] == [("a", "expired")]
