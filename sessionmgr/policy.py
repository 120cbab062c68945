"""The manager's policy: every number it decides by, typed and validated."""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from sessionmgr.categories import CRYPTO_CATEGORIES, Category

__all__ = ["DEFAULT_WEIGHTS", "ENV_PREFIX", "Policy", "PolicyError"]

ENV_PREFIX: Final = "SESSIONMGR_"

#: Duplicates are benign: a frame delivered twice says nothing about key state.
DEFAULT_WEIGHTS: Final[Mapping[Category, float]] = MappingProxyType(
    {c: (0.0 if c in (Category.DUPLICATE, Category.UNAVAILABLE) else 1.0) for c in CRYPTO_CATEGORIES}
)


class PolicyError(ValueError):
    """A policy value is missing, of the wrong type or out of range."""

    def __init__(self, field_name: str, message: str, *, source: str | None = None) -> None:
        self.field = field_name
        self.reason = message
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}policy field {field_name!r}: {message}")


# (minimum, inclusive?) for each numeric field; None means "no bound".
_BOUNDS: Final[Mapping[str, tuple[float, bool]]] = {
    "window": (0, False),
    "unhealthy_threshold": (0, False),
    "health_check_interval": (0, False),
    "cleanup_interval": (0, False),
    "max_attempts": (1, True),
    "base_delay": (0, True),
    "backoff_factor": (1, True),
    "max_delay": (0, True),
    "jitter": (0, True),
    "peer_reset_after": (1, True),
    "regeneration_cooldown": (0, True),
    "max_regenerations": (1, True),
    "alert_corrupted_after": (0, True),
    "alert_error_rate": (0, False),
    "alert_error_rate_min_attempts": (1, True),
    "alert_mass_corruption": (1, True),
    "message_retry_max": (0, True),
    "message_retry_ttl": (0, False),
    "peer_reset_min_interval": (0, True),
    "peer_reset_from_retry": (0, True),
    "keys_from_retry": (0, True),
    "phone_request_retries": (0, True),
    "phone_request_delay": (0, True),
    "phone_request_timeout": (0, False),
    "prekey_top_up": (0, True),
    "prekey_top_up_interval": (0, True),
    "alert_messages_lost": (1, True),
    "alert_messages_lost_window": (0, False),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    """How the manager judges health, retries, recovers and alerts.

    The defaults are the seed's numbers. Times are in seconds.
    """

    #: Health window: errors in ``(t - window, t]`` count at time ``t``.
    window: float = 300.0
    #: A session is unhealthy when its weighted error count is at least this.
    unhealthy_threshold: float = 5.0
    health_check_interval: float = 120.0
    cleanup_interval: float = 300.0
    #: Tries of one crypto operation, the first included.
    max_attempts: int = 3
    #: Delay before try ``n + 1`` is ``base_delay * backoff_factor ** (n - 1)``.
    base_delay: float = 1.0
    backoff_factor: float = 2.0
    #: Upper bound on one delay (before jitter); ``None`` for no cap.
    max_delay: float | None = None
    #: Up to this many seconds are added to each delay, drawn from the injected RNG.
    jitter: float = 0.0
    #: Weight of one error of each category in the health count.
    category_weights: Mapping[Category, float] = field(default_factory=lambda: DEFAULT_WEIGHTS)
    #: The n-th failure from the same peer inside the window resets its session.
    peer_reset_after: int = 2
    #: No new regeneration of a session within this long of the last one.
    regeneration_cooldown: float = 60.0
    #: Regenerations that leave a session unhealthy before it is marked corrupted.
    max_regenerations: int = 3
    alert_corrupted_after: float = 600.0
    #: Crypto errors over decrypt attempts, in the window, above which to alert.
    alert_error_rate: float = 0.10
    alert_error_rate_min_attempts: int = 20
    #: Sessions corrupted at once that raise the mass-corruption alert.
    alert_mass_corruption: int = 3

    # --- per message (issue 17). Defaults are Baileys' (v7 rc, WhiskeySockets/Baileys@78e7e4e):
    #: Retry receipts sent for one message id; its next failure after that ends it as ``expired``.
    #: Baileys: ``maxMsgRetryCount: 5`` (src/Defaults/index.ts:72), checked before each receipt
    #: (src/Socket/messages-recv.ts:581, src/Utils/message-retry-manager.ts:234-236). 0: never ask.
    message_retry_max: int = 5
    #: A message with no failure for this long ends as ``expired``. Baileys' retry counters live
    #: 15 min, renewed on each read (src/Utils/message-retry-manager.ts:83-87).
    message_retry_ttl: float = 900.0
    #: A peer's Signal session is recreated at most once per this many seconds. Both clients: 1 h
    #: (Baileys message-retry-manager.ts:11,170-181; whatsmeow retry.go:158,171-175).
    peer_reset_min_interval: float = 3600.0
    #: A message's retry from which its peer's session may be recreated (Baileys: ``retryCount > 1``,
    #: messages-recv.ts:617). 0: never (whatsmeow's receiving side never deletes its session).
    peer_reset_from_retry: int = 2
    #: A message's retry from which the receipt carries a one-time and the signed prekey
    #: (Baileys messages-recv.ts:695; whatsmeow retry.go:517). 0: never.
    keys_from_retry: int = 2
    #: Ask the user's phone on a message's retries 1..this (Baileys ``retryCount <= 2``,
    #: messages-recv.ts:637; whatsmeow only the 1st, retry.go:489, and only if opted in). 0: never.
    phone_request_retries: int = 2
    #: Wait this long for the sender before asking the phone; a successful decrypt of the message
    #: meanwhile cancels it (Baileys PHONE_REQUEST_DELAY 3000 ms, message-retry-manager.ts:12,262-273,
    #: cancelled at messages-recv.ts:1735; whatsmeow RequestFromPhoneDelay 5 s, retry.go:419).
    phone_request_delay: float = 3.0
    #: Give up on the phone's answer after this long (Baileys: 8 s, messages-recv.ts:220-225).
    phone_request_timeout: float = 8.0
    #: One-time prekeys uploaded when a prekey error comes in (0: never, regenerate instead).
    #: Baileys uploads MIN_PREKEY_COUNT = 5 (src/Defaults/index.ts:140, src/Socket/socket.ts:485);
    #: whatsmeow a batch of 50 (prekeys.go:27).
    prekey_top_up: int = 5
    #: At most one top-up per session in this long (whatsmeow's 10-minute guard, prekeys.go:53).
    prekey_top_up_interval: float = 600.0
    #: Messages ending ``lost`` or ``expired`` within ``alert_messages_lost_window`` that raise
    #: the ``messages_lost`` alert (per session).
    alert_messages_lost: int = 5
    alert_messages_lost_window: float = 3600.0

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            if f.name != "category_weights":
                _check_number(self, f.name, f.type)
        weights = _check_weights(self.category_weights)
        object.__setattr__(self, "category_weights", weights)

    @classmethod
    def baileys(cls, **changes: Any) -> Policy:
        """Baileys' defaults for what it does per message (v7 rc; see each field's comment for file:line).

        5 retry receipts per message over a 15-minute TTL, a peer session recreated from a message's
        2nd retry at most hourly, keys in the receipt from the 2nd retry, the phone asked on retries
        1-2 after 3 s and given 8 s, 5 prekeys per top-up. Baileys has no per-session health ladder:
        pair this with a backend or harness that does no regeneration to model it exactly.
        """
        return cls(**changes)

    @classmethod
    def whatsmeow(cls, **changes: Any) -> Policy:
        """whatsmeow's defaults (tulir/whatsmeow@33cfac5).

        The counter stops at 5, so at most 4 receipts (retry.go:478-488); keys from the 2nd
        (retry.go:517); the receiving side never recreates the peer's session; the phone is not
        asked unless ``AutomaticMessageRerequestFromPhone`` is set (client.go:98; then 5 s on the
        1st retry only, retry.go:419,489-494: ``phone_request_retries=1, phone_request_delay=5``);
        prekeys topped up by 50 with a 10-minute guard (prekeys.go:27,53).
        """
        base: dict[str, Any] = {
            "message_retry_max": 4,
            "peer_reset_from_retry": 0,
            "keys_from_retry": 2,
            "phone_request_retries": 0,
            "phone_request_delay": 5.0,
            "prekey_top_up": 50,
            "prekey_top_up_interval": 600.0,
        }
        return cls(**(base | changes))

    def weight(self, category: Category) -> float:
        """The health weight of one error of ``category``."""
        return self.category_weights.get(category, 0.0)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str | None = None) -> Policy:
        """Build a policy from plain data (a parsed TOML table, say), checking every key."""
        known = {f.name for f in dataclasses.fields(cls)}
        for key in data:
            if key not in known:
                raise PolicyError(key, f"unknown field; known fields: {', '.join(sorted(known))}", source=source)
        try:
            return cls(**data)
        except PolicyError as exc:
            raise PolicyError(exc.field, exc.reason, source=source) from None

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> Policy:
        """Load a policy from a TOML file: top-level keys, or a ``[sessionmgr]`` table."""
        source = str(path)
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise PolicyError("<file>", f"not valid TOML: {exc}", source=source) from None
        except OSError as exc:
            raise PolicyError("<file>", f"cannot read: {exc.strerror}", source=source) from None
        table = data.get("sessionmgr", data)
        return cls.from_mapping(table, source=source)

    def with_env(self, environ: Mapping[str, str] | None = None) -> Policy:
        """Return this policy with ``SESSIONMGR_<FIELD>`` variables applied on top."""
        environ = os.environ if environ is None else environ
        changes: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            raw = environ.get(ENV_PREFIX + f.name.upper())
            if raw is not None:
                changes[f.name] = _parse_env(f.name, raw, ENV_PREFIX + f.name.upper())
        if not changes:
            return self
        try:
            return dataclasses.replace(self, **changes)
        except PolicyError as exc:
            raise PolicyError(exc.field, exc.reason, source="environment") from None

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None) -> Policy:
        """Defaults, then the TOML file if given, then environment variables."""
        base = cls() if path is None else cls.from_toml(path)
        return base.with_env(environ)

    def to_dict(self) -> dict[str, Any]:
        """Plain data, for reports and TOML round trips."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["category_weights"] = {str(k): v for k, v in self.category_weights.items()}
        return data


def _check_number(policy: Policy, name: str, annotation: object) -> None:
    value = getattr(policy, name)
    optional = "None" in str(annotation)
    if value is None and optional:
        return
    wants_int = str(annotation).startswith("int")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PolicyError(name, f"expected a number, got {value!r}")
    if wants_int and not float(value).is_integer():
        raise PolicyError(name, f"expected a whole number, got {value!r}")
    if not math.isfinite(value):
        raise PolicyError(name, f"expected a finite number, got {value!r}")
    low, inclusive = _BOUNDS.get(name, (-math.inf, True))
    if value < low or (value == low and not inclusive):
        op = ">=" if inclusive else ">"
        raise PolicyError(name, f"must be {op} {low:g}, got {value!r}")
    if wants_int:
        object.__setattr__(policy, name, int(value))


def _check_weights(weights: Mapping[Any, Any]) -> Mapping[Category, float]:
    if not isinstance(weights, Mapping):
        raise PolicyError("category_weights", f"expected a table of category = weight, got {weights!r}")
    merged = dict(DEFAULT_WEIGHTS)
    for key, value in weights.items():
        try:
            category = Category(str(key))
        except ValueError:
            names = ", ".join(str(c) for c in CRYPTO_CATEGORIES)
            raise PolicyError(f"category_weights.{key}", f"unknown category; known: {names}") from None
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
            raise PolicyError(f"category_weights.{key}", f"expected a number >= 0, got {value!r}")
        merged[category] = float(value)
    return MappingProxyType(merged)


def _parse_env(name: str, raw: str, variable: str) -> Any:
    if name == "category_weights":
        # "bad_mac=2,duplicate=0"
        pairs: dict[str, float] = {}
        for item in filter(None, (p.strip() for p in raw.split(","))):
            key, sep, value = item.partition("=")
            try:
                pairs[key.strip()] = float(value)
            except ValueError:
                raise PolicyError(name, f"expected category=weight pairs, got {item!r}", source=variable) from None
            if not sep:
                raise PolicyError(name, f"expected category=weight pairs, got {item!r}", source=variable)
        return pairs
    if name == "max_delay" and raw.strip().lower() in {"", "none"}:
        return None
    try:
        return float(raw) if not raw.strip().lstrip("-").isdigit() else int(raw)
    except ValueError:
        raise PolicyError(name, f"expected a number, got {raw!r}", source=variable) from None
