"""A string ``messageStubParameters`` is one text, not a sequence of characters: in the log reader and in classify."""

from __future__ import annotations

from sessionmgr import Category, DecryptError, classify
from sessionmgr.classify import describe
from sessionmgr.trace.baileys import stub_fields
from sessionmgr.trace.readers import Reader

JID = "5511999990000@s.whatsapp.net"


def stub_line(params: str) -> str:
    """A Baileys message logged with a CIPHERTEXT stub (type 2) whose parameters are ``params`` (raw JSON)."""
    return (
        '{"key":{"remoteJid":"' + JID + '","id":"STUB1"},"messageTimestamp":1700000000,'
        '"messageStubType":2,"messageStubParameters":' + params + "}"
    )


def test_stub_fields_keep_a_string_parameter_whole() -> None:
    """stub_fields reads a string parameter as the one text it is, as it reads a one-element list."""
    fields = stub_fields({"messageStubType": 2, "messageStubParameters": "Bad MAC", "key": {"remoteJid": JID}})
    assert fields[1] == ["Bad MAC"]
    assert stub_fields({"messageStubType": 2, "messageStubParameters": ["Bad MAC"]})[1] == ["Bad MAC"]


def test_a_logged_stub_with_a_string_parameter_is_read_as_a_bad_mac() -> None:
    """A log line whose stub parameter is the string 'Bad MAC' becomes a bad_mac failure, as the list form does."""
    for params in ('"Bad MAC"', '["Bad MAC"]'):
        events = [loc.event for loc in Reader("bot-7.log", lines=[stub_line(params)])]
        errors = [e for e in events if isinstance(e, DecryptError)]
        assert [(e.category, e.message_id) for e in errors] == [(Category.BAD_MAC, "STUB1")], params


def test_classify_reads_a_string_stub_parameter_as_one_text() -> None:
    """classify/describe of a stub mapping whose parameter is a string classify that text (Bad MAC), not its letters."""
    stub = {"messageStubType": 2, "messageStubParameters": "Bad MAC"}
    assert classify(stub) is Category.BAD_MAC
    assert describe(stub).text == "Bad MAC"
    assert classify({"messageStubType": 2, "parameters": "Invalid PreKey ID"}) is Category.PREKEY
