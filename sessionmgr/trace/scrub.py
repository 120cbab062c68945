"""Scrub a captured log: consistent fake numbers for real ones, no message content, nothing else lost.

A line is scrubbed as the JSON record it is (after a prefix such as pm2's
``0|bot  | ``, if any) or, when it is not whole JSON (a seed-format entry, a
truncated record, libsignal's console dump, a pretty-printed object), as text:
the values of content keys are redacted wherever a ``key: value`` or
``key=value`` shows them, quoted or not, closed or cut off. Every line in gives
exactly one line out.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import string
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Final

from sessionmgr.trace import safejson
from sessionmgr.trace.multiline import MAX_RECORD_LINES, WRAP_WIDTHS

__all__ = ["CONTENT_KEYS", "Scrubber"]

#: Keys that hold what people wrote, or who they are; dropped wherever they appear. A ``message``
#: that is text is kept (an error's message, zerolog's log message: what the replay classifies);
#: one that is an object is a WhatsApp message and is dropped.
CONTENT_KEYS: Final = frozenset(
    {"message", "messages", "text", "conversation", "body", "caption", "content", "plaintext", "pushName",
     "notify", "verifiedBizName", "name", "contacts", "quotedMessage"}
)  # fmt: skip
_ERROR_KEYS: Final = frozenset({"err", "error"})
#: Keys whose numbers are times (epoch seconds or milliseconds), never phone numbers.
_TIME_KEYS: Final = frozenset(
    {"t", "ts", "at", "time", "timestamp", "date", "created", "used", "closed", "expires", "expiry", "updated",
     "since", "until", "when", "offset", "epoch", "duration", "delay", "elapsed", "latency", "uptime"}
)  # fmt: skip
_TIME_SUFFIXES: Final = ("time", "timestamp", "_at", "_ts", "date", "_ms", "_s")
#: Identifiers of a device or a stanza: replaced by consistent fakes of the same shape.
_REGISTRATION_KEYS: Final = frozenset({"registrationid", "registration_id", "regid"})
_STANZA_KEYS: Final = frozenset({"stanzaid", "stanza_id", "serverid", "server_id"})

_BUFFER: Final = re.compile(r"<Buffer [0-9a-f ]+(?:\.\.\. \d+ more bytes)?>")
# A public key as libsignal names a chain by it (``_chains: { 'BWvK...': {...} }``): 33 bytes in base64.
_KEY_B64: Final = re.compile(r"[A-Za-z0-9+/]{40,}={0,2}")
_QUOTED_KEY: Final = re.compile(r"""(["'])[A-Za-z0-9+/]{40,}={0,2}\1""")
# 8+ characters of digits (and dashes) not inside a longer number nor after a decimal point.
_NUMBER: Final = re.compile(r"(?<![A-Za-z\d])(?<!\d\.)\+?(\d[\d\-]{6,}\d)(?!\d)")
_DATE: Final = re.compile(r"\d{4}-\d\d-\d\d(?:\D|$)")
# ``key: `` / ``"key": `` / ``key=`` just before a position: the field a number belongs to.
_KEY_BEFORE: Final = re.compile(r"""["'\\]*([A-Za-z_][\w.\-]*)["'\\]*\s*[:=]\s*["'\\]*$""")
# 13 digits starting with 1 are epoch milliseconds (2001-2033), never a phone number: country code 1
# (NANP) numbers have 11 digits in all, and no other country code starts with 1.
_EPOCH_MS: Final = re.compile(r"1\d{12}")
_VALUE: Final = r"""(?P<v>"(?:[^"\\]|\\.)*(?:"|$)|'(?:[^'\\]|\\.)*(?:'|$)|`[^`]*(?:`|$)|(?![\s{\[])[^\s,}\]]+)"""


def _field(keys: Iterable[str], value: str = _VALUE) -> re.Pattern[str]:
    names = "|".join(sorted(map(re.escape, keys), key=len, reverse=True))
    return re.compile(rf"""(?P<pre>(?P<q>["']?)\b(?:{names})(?P=q)\s*[:=]\s*){value}""", re.IGNORECASE)


_CONTENT_FIELD: Final = _field(CONTENT_KEYS - {"message"})
_REGISTRATION_FIELD: Final = _field(["registrationId", "registration_id", "regId"], r"(?P<v>\d+)")
_STANZA_FIELD: Final = _field(["stanzaId", "stanza_id", "serverId", "server_id"], r"""(?P<v>["']?[\w\-]+["']?)""")


def _timeish(key: str) -> bool:
    low = key.lower()
    return low in _TIME_KEYS or low.endswith(_TIME_SUFFIXES) or key.endswith(("At", "Ts", "Ms"))


class Scrubber:
    """Replaces phone numbers with Faker's Brazilian numbers, the same fake for the same real one.

    The mapping is keyed, so two logs scrubbed with one key still join up;
    key material dumped by libsignal (``<Buffer ...>``, a chain's base64 key)
    is redacted, registration and stanza ids get consistent fakes, and numbers
    in a time field (``time``, ``messageTimestamp``, ``created``...) are kept.
    """

    def __init__(self, key: bytes, fake_number: Callable[[int], str] | None = None) -> None:
        self._key = key
        self._fake = fake_number or _faker_number
        self._map: dict[str, str] = {}
        self._fakes: set[str] = set()

    def _digest(self, kind: str, value: str) -> int:
        return int.from_bytes(hmac.new(self._key, f"{kind}:{value}".encode(), hashlib.sha256).digest()[:8], "big")

    def number(self, real: str) -> str:
        digits = re.sub(r"\D", "", real)
        fake = self._map.get(digits)
        if fake is None:
            seed = int.from_bytes(hmac.new(self._key, digits.encode(), hashlib.sha256).digest()[:8], "big")
            fake = self._fake(seed)
            while fake in self._fakes:  # keep the mapping one-to-one
                seed += 1
                fake = self._fake(seed)
            self._map[digits] = fake
            self._fakes.add(fake)
        return fake

    def registration_id(self, real: int) -> int:
        """A consistent fake registration id in libsignal's range (1..16380)."""
        fake = 1 + self._digest("registration", str(real)) % 16380
        return fake if fake != real else fake % 16380 + 1  # never the real one by chance

    def stanza_id(self, real: str) -> str:
        """A consistent fake id of the same length and alphabet (hex stays hex)."""
        seed = self._digest("stanza", real)
        alphabet = (
            "0123456789ABCDEF" if all(c in string.hexdigits for c in real) else string.ascii_uppercase + "0123456789"
        )
        out = []
        for _ in real:
            seed, digit = divmod(seed * 6364136223846793005 + 1442695040888963407, len(alphabet))
            seed %= 2**64
            out.append(alphabet[digit])
        return "".join(out)

    def text(self, value: str) -> str:
        """Free text: key dumps redacted, content values redacted, ids faked, numbers outside time fields faked."""
        value = _BUFFER.sub("<Buffer redacted>", value)
        value = _QUOTED_KEY.sub(lambda m: f"{m.group(1)}<key redacted>{m.group(1)}", value)
        value = _CONTENT_FIELD.sub(lambda m: m.group("pre") + _redacted(m.group("v")), value)
        value = _REGISTRATION_FIELD.sub(lambda m: f"{m.group('pre')}{self.registration_id(int(m.group('v')))}", value)
        value = _STANZA_FIELD.sub(lambda m: m.group("pre") + self._stanza_text(m.group("v")), value)
        return _NUMBER.sub(self._number_in_text, value)

    def _stanza_text(self, quoted: str) -> str:
        inner = quoted.strip("\"'")
        return quoted.replace(inner, self.stanza_id(inner), 1) if inner else quoted

    def _number_in_text(self, match: re.Match[str]) -> str:
        digits = match.group(1)
        if _DATE.match(digits) or _EPOCH_MS.fullmatch(digits):
            return match.group(0)  # 2026-01-05 is a day, 1767605403500 an instant
        key = _KEY_BEFORE.search(match.string, max(0, match.start() - 64), match.start())
        if key is not None and _timeish(key.group(1).rsplit(".", 1)[-1]):
            return match.group(0)  # an epoch in a time field is a time
        return match.group(0).replace(digits, self.number(digits))

    def value(self, value: Any, *, in_error: bool = False, key: str = "") -> Any:
        """A JSON value under ``key``: content dropped, numbers and ids faked, times kept."""
        if isinstance(value, str):
            return self._string(value, key)
        if isinstance(value, bool) or value is None or isinstance(value, float):
            return value
        if isinstance(value, int):
            return self._integer(value, key)
        if isinstance(value, list):
            return [self.value(v, in_error=in_error, key=key) for v in value]
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            for name, inner in value.items():
                if name in CONTENT_KEYS and not (name == "message" and isinstance(inner, str)):
                    continue
                label = "<key redacted>" if _KEY_B64.fullmatch(name) else self.text(name)
                out[label] = self.value(inner, in_error=in_error or name in _ERROR_KEYS, key=name)
            return out
        return value

    def _string(self, value: str, key: str) -> str:
        low = key.lower()
        if _timeish(key):
            return value
        if low in _REGISTRATION_KEYS and value.isdigit():
            return str(self.registration_id(int(value)))
        if low in _STANZA_KEYS:
            return self.stanza_id(value)
        if _KEY_B64.fullmatch(value):
            return "<key redacted>"
        return self.text(value)

    def _integer(self, value: int, key: str) -> int:
        if _timeish(key):
            return value
        if key.lower() in _REGISTRATION_KEYS:
            return self.registration_id(value)
        if abs(value) >= 10_000_000 and not _EPOCH_MS.fullmatch(
            str(abs(value))
        ):  # 8 digits or more: as in text, a phone number until shown otherwise
            fake = int(self.number(str(abs(value))))
            return -fake if value < 0 else fake
        return value

    def line(self, line: str) -> str:
        """One line: a JSON record (after a prefix, if any) scrubbed as JSON, anything else as text."""
        start = line.find("{")
        if start >= 0 and line.rstrip().endswith("}"):
            record = _record(line[start:])
            if record is not None:
                # a canonical trace's error texts live at the top level
                scrubbed = json.dumps(self.value(record, in_error="kind" in record), separators=(",", ":"),
                                      ensure_ascii=False)  # fmt: skip
                return (self.text(line[:start]) + scrubbed).replace("\r", " ")
        return self.text(line).replace("\r", " ").replace("\n", " ")

    def lines(self, lines: Iterable[str]) -> Iterator[str]:
        """Every line scrubbed, one line out per line in; a record a terminal hard-wrapped is scrubbed whole."""
        pieces: list[str] = []
        for raw in lines:
            line = raw.rstrip("\r\n")
            if pieces:
                if line.lstrip()[:1] == "{" and _record(line) is not None:  # a record of its own: no continuation
                    yield from self._wrapped(pieces)
                    pieces = []
                else:
                    pieces.append(line)
                    if len(line) == len(pieces[0]) and len(pieces) < MAX_RECORD_LINES:
                        continue
                    yield from self._wrapped(pieces)
                    pieces = []
                    continue
            if len(line) in WRAP_WIDTHS and "{" in line and _record(line[line.find("{") :]) is None:
                pieces = [line]
                continue
            yield self.line(line) + "\n"
        if pieces:
            yield from self._wrapped(pieces)

    def _wrapped(self, pieces: list[str]) -> Iterator[str]:
        """A hard-wrapped record glued, scrubbed as one, and cut again at its width into as many lines.

        The record is the longest run of pieces that parses (the lines glued on after it are read
        again as lines, since they may begin another wrapped record); pieces that never make a
        record are scrubbed as one text all the same, so a value the terminal cut in two loses
        both halves.
        """
        start = pieces[0].find("{")
        for end in range(len(pieces), 1, -1):
            if _record("".join(pieces[:end])[start:]) is not None:
                yield from self._recut(self.line("".join(pieces[:end])), pieces[:end])
                # what follows the record may be the start of another wrapped one: read it as fresh lines
                yield from self.lines(pieces[end:])
                return
        yield from self._recut(self.line("".join(pieces)), pieces)

    @staticmethod
    def _recut(whole: str, pieces: list[str]) -> Iterator[str]:
        """``whole`` cut at the pieces' width into as many lines: the last takes any excess, blanks any shortfall."""
        width = len(pieces[0])
        cut = [whole[i : i + width] for i in range(0, len(whole), width)] or [""]
        cut = [*cut[: len(pieces) - 1], "".join(cut[len(pieces) - 1 :])]
        yield from (piece + "\n" for piece in cut + [""] * (len(pieces) - len(cut)))


def _record(text: str) -> dict[str, Any] | None:
    """``text`` as a JSON object, or ``None``."""
    try:
        record = safejson.loads(text)
    except json.JSONDecodeError:
        return None
    return record if isinstance(record, dict) else None


def _redacted(value: str) -> str:
    """A content value's replacement, in its own quotes."""
    quote = value[0] if value[:1] in ("'", '"', "`") else ""
    return f"{quote}<redacted>{quote}"


def _faker_number(seed: int) -> str:
    from faker import Faker  # the harness extra

    fake = Faker("pt_BR")
    fake.seed_instance(seed)
    digits = re.sub(r"\D", "", fake.msisdn())
    return f"55{digits[2:4] if digits[2:3] != '0' else '11'}9{digits[-8:]}"
