"""scrub: each shape a number, a name, a body or an id hid in, and the times it must leave alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.replay import run_replay
from sessionmgr.trace.readers import Reader, open_text
from sessionmgr.trace.scrub import Scrubber

NUMBER = "5511987654321"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def scrubber() -> Scrubber:
    return Scrubber(b"k", fake_number=lambda seed: f"55009{seed % 10**8:08d}")


def test_seed_format_lines_lose_push_names_and_bodies() -> None:
    """A seed-format entry keeps its error and time but not the push name or the body in its context."""
    line = (
        '[ERROR] Erro de criptografia WhatsApp: { message: "Bad MAC", sessionId: 2, timestamp: '
        '"2026-01-01T00:15:46.595Z", context: { remoteJid: "5511987654321@s.whatsapp.net", pushName: "Maria Silva", '
        "body: 'meu segredo' } }"
    )
    out = scrubber().line(line)
    assert "Maria Silva" not in out and "meu segredo" not in out and NUMBER not in out
    assert 'message: "Bad MAC"' in out and "2026-01-01T00:15:46.595Z" in out


def test_truncated_json_lines_lose_push_names_and_bodies() -> None:
    """A JSON line cut off mid-body (no closing quote or brace) loses the body and the push name all the same."""
    line = '{"level":50,"time":1767605403500,"pushName":"Maria","message":{"conversation":"segredo que foi cor'
    out = scrubber().line(line)
    assert "Maria" not in out and "segredo" not in out and "1767605403500" in out


def test_libsignal_dump_loses_chain_key_ids_and_registration_id_but_keeps_its_times() -> None:
    """libsignal's 'Closing session' dump: chain ids redacted, registration id faked, created/used kept."""
    dump = [
        "Closing session: SessionEntry {",
        "  _chains: {",
        "    'BWvKMrf7tCSzkcgUBBzmc7TjQ2FQ4kKP+bAnavYMLfYc': { messageKeys: {}, chainKey: [Object], chainType: 1 }",
        "  },",
        "  registrationId: 1002,",
        "  indexInfo: {",
        "    created: 1795609543661,",
        "    used: 1795609543661,",
    ]
    out = "".join(scrubber().lines(line + "\n" for line in dump))
    assert "BWvKMrf7tCSzkcgUBBzmc7TjQ2FQ4kKP" not in out and "registrationId: 1002," not in out
    assert out.count("1795609543661") == 2 and out.count("\n") == len(dump)


def test_json_ids_and_integer_numbers_are_faked_and_times_kept() -> None:
    """stanzaId and registrationId get fakes, an integer phone number too; epoch fields stay as they were."""
    record = {"time": 1767605403500, "messageTimestamp": 1767605410, "stanzaId": "3EB0C767D8B5F4A1",
              "registrationId": 1002, "participant": int(NUMBER)}  # fmt: skip
    out = json.loads(scrubber().line(json.dumps(record)))
    assert out["time"] == 1767605403500 and out["messageTimestamp"] == 1767605410
    assert out["stanzaId"] != "3EB0C767D8B5F4A1" and len(out["stanzaId"]) == 16
    assert out["registrationId"] != 1002 and 1 <= out["registrationId"] <= 16380
    assert isinstance(out["participant"], int) and str(out["participant"]) != NUMBER


@pytest.mark.parametrize(
    "text", [f"peer=id_{NUMBER}", f"addr x.{NUMBER} failed", f"at async {NUMBER}.0 [as awaitable]"]
)
def test_numbers_after_an_underscore_or_a_dot_are_faked(text: str) -> None:
    """id_5511..., x.5511... and libsignal's '5511....0' address all lose the number."""
    assert NUMBER not in scrubber().text(text)


@pytest.mark.parametrize(
    "text",
    [
        '0|bot  | {"level":50,"time":1767605403500,"msg":"x"}',
        '1767605470000,"{""level"":50,""time"":1767605403500}"',
        "    created: 1795609543661,",
        "messageTimestamp: 1767605410,",
    ],
)
def test_epoch_times_inside_dumps_are_not_rewritten_as_phone_numbers(text: str) -> None:
    """A 13-digit epoch-ms (or an epoch in a time field) is a time: it comes out as it went in."""
    assert scrubber().line(text) == text


def test_a_wrapped_record_right_after_another_wrapped_record_is_scrubbed_whole() -> None:
    """A record ending exactly at the wrap width glues on the next wrapped record, whose cut push name still goes."""
    record = (
        '{"level":50,"time":1500000000000,"key":{"remoteJid":"5511900000000@s.whatsapp.net","id":"MSG0"},'
        '"pushName":"PUSHNAME000000","err":{"message":"No session"},"msg":"failed to decrypt message"}'
    )
    first = '{"level":50,"key":{"id":"MSG1"},"caption":"' + "x" * 121 + '","msg":"failed to decrypt message"}'
    width = 100
    lines = [first[:width], first[width:], *(record[i : i + width] for i in range(0, len(record), width))]
    assert len(lines[1]) == width and "PUSHNAME" in lines[3] and '"pus' in lines[2]  # the layout this pins
    out = list(Scrubber(b"k").lines(line + "\n" for line in lines))
    assert len(out) == len(lines)
    joined = "".join(line.rstrip("\n") for line in out)
    assert "PUSHNAME000000" not in joined and "5511900000000" not in joined and "x" * 121 not in joined


def test_prefixed_json_lines_lose_their_content() -> None:
    """A pm2-prefixed pino line is scrubbed as the JSON it is: the push name goes, the prefix stays."""
    out = scrubber().line('0|bot  | {"level":30,"time":1767605409100,"pushName":"Zé","text":"oi"}')
    assert out.startswith("0|bot  | {") and "Zé" not in out and '"oi"' not in out


def test_every_example_replays_the_same_after_scrub(tmp_path: Path) -> None:
    """Scrubbed with the real fake numbers, every examples/ log gives the same errors, actions and messages."""
    for path in sorted(EXAMPLES.glob("*.log")) + sorted(EXAMPLES.glob("*.jsonl")):
        with open_text(path) as lines:
            scrubbed = "".join(Scrubber(b"k").lines(lines))
        target = tmp_path / path.name
        target.write_text(scrubbed)
        assert scrubbed.count("\n") == len(path.read_text().splitlines())
        before, after = run_replay([Reader(path)]).report, run_replay([Reader(target)]).report
        for section in ("errors", "actions", "messages"):
            assert after.get(section) == before.get(section), f"{path.name}: {section}"
        assert after["input"]["rejected_count"] == before["input"]["rejected_count"], path.name
