"""Policy: the seed's defaults, TOML and environment loading, and errors that name the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from sessionmgr import Category, Policy, PolicyError


def test_defaults_are_the_seed_numbers() -> None:
    """Window 300 s, threshold 5, monitor 120 s, cleanup 300 s, 3 tries, 1 s base, factor 2."""
    p = Policy()
    assert (p.window, p.unhealthy_threshold, p.health_check_interval, p.cleanup_interval) == (300, 5, 120, 300)
    assert (p.max_attempts, p.base_delay, p.backoff_factor) == (3, 1, 2)
    assert p.weight(Category.DUPLICATE) == 0 and p.weight(Category.BAD_MAC) == 1


def test_toml_file(tmp_path: Path) -> None:
    """A TOML file's keys override the defaults; a [sessionmgr] table works too."""
    path = tmp_path / "policy.toml"
    path.write_text("[sessionmgr]\nwindow = 600\n[sessionmgr.category_weights]\nbad_mac = 2\n")
    policy = Policy.from_toml(path)
    assert policy.window == 600 and policy.weight(Category.BAD_MAC) == 2 and policy.weight(Category.PREKEY) == 1


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("window = -1", "window"),
        ("max_attempts = 0", "max_attempts"),
        ("max_attempts = 2.5", "max_attempts"),
        ('base_delay = "fast"', "base_delay"),
        ("windw = 3", "windw"),
        ("[category_weights]\nbad_maac = 1", "category_weights.bad_maac"),
        ("[category_weights]\nbad_mac = -1", "category_weights.bad_mac"),
    ],
)
def test_bad_values_name_the_field_and_file(tmp_path: Path, text: str, field: str) -> None:
    """Every bad value is refused with the field and the file in the message."""
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(PolicyError) as info:
        Policy.from_toml(path)
    assert info.value.field == field
    assert str(path) in str(info.value) and repr(field) in str(info.value)


def test_invalid_toml_is_reported(tmp_path: Path) -> None:
    """A file that is not TOML says so, with the file."""
    path = tmp_path / "broken.toml"
    path.write_text("window = = 3")
    with pytest.raises(PolicyError, match="not valid TOML"):
        Policy.from_toml(path)


def test_environment_overrides_file(tmp_path: Path) -> None:
    """Environment variables apply on top of the file; a bad one names the variable."""
    path = tmp_path / "p.toml"
    path.write_text("window = 600\nthreshold_placeholder = 0\n".replace("threshold_placeholder = 0\n", ""))
    env = {"SESSIONMGR_WINDOW": "120", "SESSIONMGR_CATEGORY_WEIGHTS": "future=3", "SESSIONMGR_MAX_DELAY": "none"}
    policy = Policy.load(path, env)
    assert policy.window == 120 and policy.weight(Category.FUTURE) == 3 and policy.max_delay is None
    with pytest.raises(PolicyError, match="SESSIONMGR_MAX_ATTEMPTS"):
        Policy.load(None, {"SESSIONMGR_MAX_ATTEMPTS": "lots"})


def test_per_message_defaults_are_baileys() -> None:
    """The per-message knobs default to Baileys' numbers (5 receipts, 15 min, 1 h throttle, phone at 3 s for 8 s)."""
    p = Policy()
    assert (p.message_retry_max, p.message_retry_ttl, p.peer_reset_min_interval) == (5, 900.0, 3600.0)
    assert (p.peer_reset_from_retry, p.keys_from_retry) == (2, 2)
    assert (p.phone_request_retries, p.phone_request_delay, p.phone_request_timeout) == (2, 3.0, 8.0)
    assert (p.prekey_top_up, p.prekey_top_up_interval) == (5, 600.0)
    assert Policy.baileys() == p


def test_whatsmeow_defaults_differ_where_its_source_does() -> None:
    """whatsmeow: 4 receipts, no receiving-side reset, no phone unless opted in, 50 prekeys; overrides still apply."""
    w = Policy.whatsmeow()
    assert (w.message_retry_max, w.peer_reset_from_retry, w.phone_request_retries, w.prekey_top_up) == (4, 0, 0, 50)
    assert w.keys_from_retry == 2 and w.phone_request_delay == 5.0
    opted_in = Policy.whatsmeow(phone_request_retries=1)
    assert opted_in.phone_request_retries == 1 and opted_in.message_retry_max == 4


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("message_retry_max", -1),
        ("message_retry_ttl", 0),
        ("peer_reset_min_interval", -1.0),
        ("phone_request_retries", 1.5),
        ("phone_request_timeout", 0),
        ("prekey_top_up", -5),
        ("alert_messages_lost", 0),
        ("alert_messages_lost_window", 0),
    ],
)
def test_per_message_knobs_are_validated(field: str, value: float) -> None:
    """Out-of-range per-message knobs are refused with the field's name."""
    with pytest.raises(PolicyError, match=field):
        Policy.from_mapping({field: value})
