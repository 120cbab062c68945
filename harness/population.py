"""Seeded populations of bots and peers, made with Faker (pt_BR)."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

__all__ = ["PeerInfo", "Population", "make_population"]


@dataclass(frozen=True, slots=True)
class PeerInfo:
    jid: str
    name: str
    session: str


@dataclass(frozen=True, slots=True)
class Population:
    sessions: tuple[str, ...]
    peers: tuple[PeerInfo, ...]
    #: message texts peers draw from; they live only in memory, never in output
    texts: tuple[str, ...]


def make_population(seed: int, sessions: int, peers_per_session: int, *, texts: int = 200) -> Population:
    """``sessions`` bots with ``peers_per_session`` Brazilian peers each, the same for the same seed."""
    from faker import Faker  # the harness extra

    fake = Faker("pt_BR")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    session_ids = tuple(f"bot-{i + 1:02d}" for i in range(sessions))
    seen: set[str] = set()
    peers: list[PeerInfo] = []
    for session in session_ids:
        for _ in range(peers_per_session):
            number = _mobile_number(fake.msisdn(), rng)
            while number in seen:
                number = _mobile_number(fake.msisdn(), rng)
            seen.add(number)
            peers.append(PeerInfo(f"{number}@s.whatsapp.net", fake.name(), session))
    corpus = tuple(fake.sentence(nb_words=rng.randint(3, 14)) for _ in range(texts))
    return Population(session_ids, tuple(peers), corpus)


def _mobile_number(msisdn: str, rng: random.Random) -> str:
    """A Brazilian mobile number as WhatsApp writes it: 55, area code, 9, eight digits."""
    digits = re.sub(r"\D", "", msisdn)
    area = digits[2:4] if len(digits) >= 4 and digits[2] != "0" else str(rng.randint(11, 99))
    return f"55{area}9{digits[-8:].rjust(8, '0')}"
