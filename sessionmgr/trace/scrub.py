"""Scrub a captured log: consistent fake numbers for real ones, no message content, nothing else lost."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Final

from sessionmgr.trace import safejson

__all__ = ["CONTENT_KEYS", "Scrubber"]

#: Keys that hold what people wrote, or who they are; dropped wherever they appear
#: (but an error's own ``message`` is kept: it is what the replay classifies).
CONTENT_KEYS: Final = frozenset(
    {"message", "messages", "text", "conversation", "body", "caption", "content", "plaintext", "pushName",
     "notify", "verifiedBizName", "name", "contacts", "quotedMessage"}
)  # fmt: skip
_ERROR_KEYS: Final = frozenset({"err", "error"})
_NUMBER: Final = re.compile(r"(?<![\w.])\+?(\d[\d\-]{6,}\d)(?=(?::\d+)?(?:@[\w.\-]+)?\b)")
_BUFFER: Final = re.compile(r"<Buffer [0-9a-f ]+(?:\.\.\. \d+ more bytes)?>")


class Scrubber:
    """Replaces phone numbers with Faker's Brazilian numbers, the same fake for the same real one.

    The mapping is keyed, so two logs scrubbed with one key still join up;
    key material dumped by libsignal (``<Buffer ...>``) is redacted.
    """

    def __init__(self, key: bytes, fake_number: Callable[[int], str] | None = None) -> None:
        self._key = key
        self._fake = fake_number or _faker_number
        self._map: dict[str, str] = {}

    def number(self, real: str) -> str:
        digits = re.sub(r"\D", "", real)
        fake = self._map.get(digits)
        if fake is None:
            seed = int.from_bytes(hmac.new(self._key, digits.encode(), hashlib.sha256).digest()[:8], "big")
            fake = self._fake(seed)
            while fake in self._map.values():  # keep the mapping one-to-one
                seed += 1
                fake = self._fake(seed)
            self._map[digits] = fake
        return fake

    def text(self, value: str) -> str:
        value = _BUFFER.sub("<Buffer redacted>", value)
        return _NUMBER.sub(lambda m: self.number(m.group(1)), value)

    def value(self, value: Any, *, in_error: bool = False) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(v, in_error=in_error) for v in value]
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            for key, inner in value.items():
                if key in CONTENT_KEYS and not (in_error and key == "message"):
                    continue
                out[key] = self.value(inner, in_error=in_error or key in _ERROR_KEYS)
            return out
        return value

    def line(self, line: str) -> str:
        stripped = line.strip()
        if stripped.startswith("{"):
            try:
                record = safejson.loads(stripped)
            except json.JSONDecodeError:
                return self.text(line)
            # a canonical trace's error texts live at the top level
            scrubbed = self.value(record, in_error="kind" in record)
            return json.dumps(scrubbed, separators=(",", ":"), ensure_ascii=False)
        return self.text(line)

    def lines(self, lines: Iterable[str]) -> Iterator[str]:
        for line in lines:
            yield self.line(line.rstrip("\r\n")) + "\n"


def _faker_number(seed: int) -> str:
    from faker import Faker  # the harness extra

    fake = Faker("pt_BR")
    fake.seed_instance(seed)
    digits = re.sub(r"\D", "", fake.msisdn())
    return f"55{digits[2:4] if digits[2:3] != '0' else '11'}9{digits[-8:]}"
