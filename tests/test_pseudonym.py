"""Pseudonymizer: stable keyed pseudonyms, nothing of the number left in the text."""

from __future__ import annotations

from sessionmgr.pseudonym import Pseudonymizer


def test_same_key_same_pseudonym_and_device_and_server_do_not_matter() -> None:
    """A person's JID with or without device suffix or '+' maps to one pseudonym under one key."""
    p = Pseudonymizer(b"k")
    forms = ["5511999990001@s.whatsapp.net", "5511999990001:3@s.whatsapp.net", "+5511999990001"]
    assert len({p.pseudonym(f) for f in forms}) == 1
    assert p.pseudonym(forms[0]) == Pseudonymizer(b"k").pseudonym(forms[0])
    assert p.pseudonym(forms[0]) != Pseudonymizer(b"other").pseudonym(forms[0])
    assert p.pseudonym(forms[0]).startswith("peer-")


def test_scrub_replaces_every_number_and_jid_in_text() -> None:
    """Free text keeps its words but loses every phone number and JID."""
    p = Pseudonymizer(b"k")
    text = "Bad MAC from 5511999990001@s.whatsapp.net and +55 11 99999-0002 in group 1203630@g.us"
    scrubbed = p.scrub(text)
    assert "Bad MAC from peer-" in scrubbed
    for digits in ("5511999990001", "99999-0002", "1203630"):
        assert digits not in scrubbed


def test_sessions_pass_through_unless_they_hold_a_number() -> None:
    """A named session stays readable; one named by a phone number becomes a session pseudonym."""
    p = Pseudonymizer(b"k")
    assert p.session("bot-01") == "bot-01"
    assert p.session("5511999990001").startswith("session-")
    assert p.peer(None) is None


def test_raw_turns_it_off() -> None:
    """With raw=True identifiers and text come back unchanged."""
    p = Pseudonymizer(b"k", raw=True)
    assert p.pseudonym("5511999990001") == "5511999990001"
    assert p.scrub("from 5511999990001") == "from 5511999990001"
    assert p.session("5511999990001") == "5511999990001"


def test_one_number_named_as_a_peer_and_then_as_a_session_keeps_each_prefix() -> None:
    """The cache holds the digest, so a number first seen as a peer is still ``session-…`` when it names a session."""
    p = Pseudonymizer(b"k")
    peer = p.pseudonym("5511987654321")
    session = p.session("5511987654321")
    assert peer.startswith("peer-")
    assert session.startswith("session-")
    assert peer.removeprefix("peer-") == session.removeprefix("session-")
