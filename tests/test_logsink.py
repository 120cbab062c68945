"""Logging and pseudonyms: structured, stable, and never a raw number or plaintext."""

from __future__ import annotations

import json
import logging

import pytest

from sessionmgr import Category, DecryptError, Pseudonymizer
from sessionmgr.monitoring import JsonFormatter, LoggingSink

NUMBER = "5511987654321"
JID = f"{NUMBER}@s.whatsapp.net"


def test_pseudonyms_are_stable_and_keyed() -> None:
    """The same key gives the same pseudonym, device suffixes included; another key another one."""
    a, b = Pseudonymizer(b"k1"), Pseudonymizer(b"k2")
    assert a.pseudonym(JID) == a.pseudonym(f"{NUMBER}:3@s.whatsapp.net") == Pseudonymizer(b"k1").pseudonym(JID)
    assert a.pseudonym(JID) != b.pseudonym(JID)
    assert NUMBER not in a.pseudonym(JID)


def test_scrub_replaces_numbers_inside_text() -> None:
    """Numbers and JIDs inside an error text are replaced."""
    p = Pseudonymizer(b"k")
    text = p.scrub(f"No session for: {JID} (also +{NUMBER})")
    assert NUMBER not in text and "No session for:" in text


def test_raw_mode_is_opt_in() -> None:
    """An operator who asks for raw ids gets them."""
    assert Pseudonymizer(b"k", raw=True).pseudonym(JID) == JID


def test_json_log_lines_hold_no_raw_number(caplog: pytest.LogCaptureFixture) -> None:
    """A decrypt error logs as JSON with the peer pseudonymized and the error text scrubbed."""
    logger = logging.getLogger("test.sessionmgr.json")
    sink = LoggingSink(logger, Pseudonymizer(b"k"))
    event = DecryptError(session="bot-1", peer=JID, error=f"No session for: {JID}", category=Category.NO_SESSION)
    with caplog.at_level(logging.DEBUG, logger.name):
        sink(event)
    assert len(caplog.records) == 1
    line = JsonFormatter().format(caplog.records[0])
    assert NUMBER not in line and NUMBER not in caplog.text
    data = json.loads(line)
    assert data["kind"] == "decrypt_error" and data["category"] == "no_session"
    assert data["peer"].startswith("peer-")
