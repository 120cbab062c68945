"""Fuzzing scrub: hostile logs with planted numbers, names, bodies and ids; nothing escapes, nothing leaks.

Each example is one log of a few lines mixing every shape scrub meets (pino JSON, a pm2 prefix, the
seed's format, a truncated record, a hard-wrapped record, libsignal's session dump, pretty-printed
fields, logfmt, free text) with hostile lines (random text, deep nesting, 5,000-digit numbers, NaN,
stray carriage returns). The number of examples follows the Hypothesis profile (root conftest.py):
four times its ``max_examples``: 800 logs under ``ci``, 400 under ``dev``, 8,000 under ``long``.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessionmgr.trace.scrub import Scrubber

EXAMPLES = settings().max_examples * 4  # the loaded profile's


def fast_fake(seed: int) -> str:
    """Fakes in a range no planted number uses (area code 00), so a leak cannot hide behind a fake."""
    return f"55009{seed % 10**8:08d}"


@dataclass
class Planted:
    """What a generated log holds that must not come out, and the times that must."""

    numbers: set[str] = field(default_factory=set)
    markers: set[str] = field(default_factory=set)
    times: set[str] = field(default_factory=set)


phones = st.builds(lambda ddd, rest: f"55{ddd}9{rest:08d}", st.integers(11, 99), st.integers(0, 10**8 - 1))
markers = st.builds(
    lambda kind, n: f"{kind}{n:06X}", st.sampled_from(["PUSHNAME", "BODYSECRET"]), st.integers(0, 2**24)
)
epoch_ms = st.integers(1_500_000_000_000, 1_999_999_999_999)
stanza_ids = st.builds(lambda n: f"3EB0{n:012X}", st.integers(0, 2**48 - 1))
chain_keys = st.binary(min_size=33, max_size=33).map(lambda b: base64.b64encode(b).decode().rstrip("="))
CONTENT = ["pushName", "notify", "verifiedBizName", "conversation", "text", "caption", "body"]


@st.composite
def good_line(draw: st.DrawFn, planted: Planted) -> list[str]:
    """One line (or a wrapped record's lines) in a shape a real log has, with things planted in it."""
    number, marker, t = draw(phones), draw(markers), draw(epoch_ms)
    planted.numbers.add(number)
    planted.markers.add(marker)
    content = draw(st.sampled_from(CONTENT))
    jid = draw(st.sampled_from([f"{number}@s.whatsapp.net", f"{number}:{draw(st.integers(0, 99))}@s.whatsapp.net",
                                f"+{number}", f"{number}@c.us"]))  # fmt: skip
    record = {"level": 50, "time": t, "key": {"remoteJid": jid, "id": f"MSG{draw(st.integers(0, 99999))}"}, content: marker,
              "err": {"message": f"No session for: {number}"}, "msg": "failed to decrypt message"}  # fmt: skip
    shape = draw(st.sampled_from(["json", "pm2", "seed", "truncated", "wrapped", "dump", "pretty", "logfmt",
                                  "text", "int", "stanza"]))  # fmt: skip
    if shape in ("json", "pm2", "truncated", "wrapped", "int", "stanza"):
        planted.times.add(str(t))
    if shape == "json":
        return [json.dumps(record)]
    if shape == "pm2":
        return [f"0|bot  | {json.dumps(record, separators=(',', ':'))}"]
    if shape == "seed":
        return [f'[ERROR] Erro de criptografia WhatsApp: {{ message: "Bad MAC", sessionId: 2, timestamp: '
                f'"2026-01-01T00:15:46.595Z", context: {{ remoteJid: "{jid}", {content}: "{marker}" }} }}']  # fmt: skip
    if shape == "truncated":
        text = json.dumps({"level": 50, "time": t, "key": {"remoteJid": jid}, content: f"{marker} and more"})
        return [text[: text.index(marker) + len(marker) + draw(st.integers(0, 4))]]
    if shape == "wrapped":
        text = json.dumps(record, separators=(",", ":"))
        width = draw(st.sampled_from([80, 100, 120]))
        return [text[i : i + width] for i in range(0, len(text), width)]
    if shape == "dump":
        key, reg = draw(chain_keys), draw(st.integers(1, 16380))
        planted.markers.update({key, f"registrationId: {reg},"})
        planted.times.add(str(t))
        return ["Closing session: SessionEntry {", f"  _chains: {{ '{key}': {{ messageKeys: {{}}, chainType: 1 }} }},",
                f"  registrationId: {reg},", f"  indexInfo: {{ created: {t}, used: {t}, closed: -1 }},",
                f"    at async {number}.0 [as awaitable] (/libsignal/src/session_cipher.js:171:28)", "}"]  # fmt: skip
    if shape == "pretty":
        return ["[09:30:01.500] ERROR (4242): failed to decrypt message", f'    "remoteJid": "{jid}",',
                f'    "{content}": "{marker}"']  # fmt: skip
    if shape == "logfmt":
        return [f"level=error peer=id_{number} other=x.{number} {content}={marker} msg=failed"]
    if shape == "int":
        return [json.dumps({"time": t, "participant": int(number), "messageTimestamp": t // 1000, content: marker})]
    stanza = draw(stanza_ids)
    planted.markers.add(stanza)
    return [json.dumps({"time": t, "stanzaId": stanza, "registrationId": 1002, content: marker, "from": jid})]


hostile_line = st.one_of(
    st.text(max_size=200).map(lambda s: s.replace("\n", " ")),
    st.integers(1, 1000).map(lambda n: "[" * n + "]" * n),
    st.integers(200, 1000).map(lambda n: '{"a":' * n + "1" + "}" * n),
    st.just('{"time": NaN, "n": ' + "9" * 5000 + "}"),
    st.just('{"pushName": "\r\u2028'),
    st.just('\x00\x1b[31m{"}'),
)


@st.composite
def hostile_log(draw: st.DrawFn) -> tuple[list[str], Planted]:
    planted = Planted()
    lines: list[str] = []
    for _ in range(draw(st.integers(1, 6))):
        if draw(st.booleans()):
            lines += draw(good_line(planted))
        else:
            lines.append(draw(hostile_line))
    return lines, planted


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_log())
def test_scrub_survives_hostile_logs_accounts_for_every_line_and_leaks_nothing(case: tuple[list[str], Planted]) -> None:
    """No exception, one line out per line in, no planted number, name, body or id out; times kept."""
    lines, planted = case
    out = "".join(Scrubber(b"fuzz", fake_number=fast_fake).lines(line + "\n" for line in lines))
    assert out.count("\n") == len(lines)
    assert "\r" not in out
    joined = out.replace("\n", "")  # a hard-wrapped record is cut again: look across the cuts too
    for number in planted.numbers:
        assert number not in joined, f"the number {number} came out"
    for marker in planted.markers:
        assert marker not in joined, f"{marker!r} came out"
    for t in planted.times:
        assert t in joined, f"the time {t} was rewritten"
