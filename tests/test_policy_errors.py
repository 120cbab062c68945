"""PolicyError messages: the README promises a bad value's error names the field and the file (or variable).

These tests read the whole message, so a change to what an operator is told fails here.
"""

from __future__ import annotations

import locale
import math
from pathlib import Path
from typing import Any

import pytest

from sessionmgr import Category, Policy, PolicyError
from sessionmgr.policy import ENV_PREFIX

KNOWN_FIELDS = (
    "alert_corrupted_after, alert_error_rate, alert_error_rate_min_attempts, alert_mass_corruption, "
    "alert_messages_lost, alert_messages_lost_window, backoff_factor, base_delay, category_weights, "
    "cleanup_interval, health_check_interval, jitter, keys_from_retry, max_attempts, max_delay, "
    "max_regenerations, message_retry_max, message_retry_ttl, peer_reset_after, peer_reset_from_retry, "
    "peer_reset_min_interval, phone_request_delay, phone_request_retries, phone_request_timeout, "
    "prekey_top_up, prekey_top_up_interval, regeneration_cooldown, unhealthy_threshold, window"
)
KNOWN_CATEGORIES = (
    "bad_mac, session_mismatch, no_session, prekey, duplicate, future, identity, unavailable, decrypt_failed"
)

# (lowest value allowed, whether it is allowed itself) for every numeric field: the limits an operator is told.
BOUNDS: dict[str, tuple[float, bool]] = {
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


def refusal(data: dict[str, Any], source: str | None = "policy.toml") -> PolicyError:
    """The PolicyError that building a policy from ``data`` raises."""
    with pytest.raises(PolicyError) as info:
        Policy.from_mapping(data, source=source)
    return info.value


def test_every_numeric_field_has_a_documented_bound() -> None:
    """The bounds table here covers every numeric field of Policy, so none goes unchecked below."""
    numeric = {name for name in Policy().to_dict() if name != "category_weights"}
    assert numeric == set(BOUNDS)


@pytest.mark.parametrize("name", sorted(BOUNDS))
def test_a_value_under_the_bound_is_refused_with_the_bound_in_the_message(name: str) -> None:
    """Just under (or at, when exclusive) the lower bound: '<file>: policy field '<f>': must be >= or > <low>, got <v>'."""
    low, inclusive = BOUNDS[name]
    bad = low - 1 if inclusive else low
    error = refusal({name: bad})
    op = ">=" if inclusive else ">"
    assert str(error) == f"policy.toml: policy field {name!r}: must be {op} {low:g}, got {bad!r}"
    assert (error.field, error.reason, error.source) == (name, f"must be {op} {low:g}, got {bad!r}", "policy.toml")


@pytest.mark.parametrize("name", sorted(BOUNDS))
def test_the_bound_itself_or_just_above_is_accepted(name: str) -> None:
    """The lowest allowed value (the bound when inclusive, a little above when not) builds a policy holding it."""
    low, inclusive = BOUNDS[name]
    good = low if inclusive else low + 0.5
    if name in {"max_attempts", "peer_reset_after", "max_regenerations", "alert_error_rate_min_attempts"}:
        good = int(good)
    policy = Policy.from_mapping({name: good})
    assert getattr(policy, name) == good


def test_whole_number_fields_become_ints() -> None:
    """An int field given 3.0 (TOML floats) holds the int 3, so counts print and compare as counts."""
    policy = Policy.from_mapping({"max_attempts": 3.0, "message_retry_max": 4.0})
    assert type(policy.max_attempts) is int and policy.max_attempts == 3
    assert type(policy.message_retry_max) is int and policy.message_retry_max == 4
    assert type(Policy.from_mapping({"window": 30}).window) is int  # float fields keep what they are given


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"max_attempts": 2.5}, "policy field 'max_attempts': expected a whole number, got 2.5"),
        ({"base_delay": "fast"}, "policy field 'base_delay': expected a number, got 'fast'"),
        ({"jitter": True}, "policy field 'jitter': expected a number, got True"),
        ({"window": None}, "policy field 'window': expected a number, got None"),
        ({"window": math.inf}, "policy field 'window': expected a finite number, got inf"),
        ({"alert_error_rate": math.nan}, "policy field 'alert_error_rate': expected a finite number, got nan"),
        ({"windw": 3}, f"policy field 'windw': unknown field; known fields: {KNOWN_FIELDS}"),
        (
            {"category_weights": [1]},
            "policy field 'category_weights': expected a table of category = weight, got [1]",
        ),
        (
            {"category_weights": {"bad_maac": 1}},
            f"policy field 'category_weights.bad_maac': unknown category; known: {KNOWN_CATEGORIES}",
        ),
        (
            {"category_weights": {"bad_mac": -1}},
            "policy field 'category_weights.bad_mac': expected a number >= 0, got -1",
        ),
        (
            {"category_weights": {"bad_mac": "x"}},
            "policy field 'category_weights.bad_mac': expected a number >= 0, got 'x'",
        ),
        (
            {"category_weights": {"bad_mac": False}},
            "policy field 'category_weights.bad_mac': expected a number >= 0, got False",
        ),
        (
            {"category_weights": {"bad_mac": math.nan}},
            "policy field 'category_weights.bad_mac': expected a number >= 0, got nan",
        ),
    ],
)
def test_each_refusal_says_what_was_wrong_and_where(data: dict[str, Any], message: str) -> None:
    """Each kind of bad value has its own message, prefixed by the file it came from."""
    assert str(refusal(data)) == f"policy.toml: {message}"


def test_without_a_source_the_message_starts_at_the_field() -> None:
    """A policy built in code names no file: the message starts with 'policy field'."""
    with pytest.raises(PolicyError) as info:
        Policy(window=-1)
    assert str(info.value) == "policy field 'window': must be > 0, got -1"
    assert info.value.source is None


def test_max_delay_may_be_none_but_nothing_else_may() -> None:
    """max_delay = None means no cap; None for any other field is refused as not a number."""
    assert Policy(max_delay=None).max_delay is None
    assert Policy.from_mapping({"max_delay": 0}).max_delay == 0
    assert str(refusal({"jitter": None}, None)) == "policy field 'jitter': expected a number, got None"


def test_weights_merge_over_the_defaults() -> None:
    """A weights table changes only the categories it names; zero is allowed and an int becomes a float."""
    policy = Policy.from_mapping({"category_weights": {"bad_mac": 0, "prekey": 3}})
    assert policy.weight(Category.BAD_MAC) == 0.0 and policy.weight(Category.PREKEY) == 3.0
    assert policy.weight(Category.NO_SESSION) == 1.0 and policy.weight(Category.DUPLICATE) == 0.0
    assert type(policy.category_weights[Category.PREKEY]) is float


def test_a_missing_file_says_it_cannot_be_read(tmp_path: Path) -> None:
    """A policy file that does not exist: '<path>: policy field '<file>': cannot read: <OS reason>'."""
    path = tmp_path / "absent.toml"
    with pytest.raises(PolicyError) as info:
        Policy.from_toml(path)
    assert str(info.value) == f"{path}: policy field '<file>': cannot read: No such file or directory"


def test_a_file_that_is_not_toml_says_where_it_broke(tmp_path: Path) -> None:
    """Invalid TOML: the file, then 'not valid TOML: ' and the parser's line and column."""
    path = tmp_path / "broken.toml"
    path.write_text("window = = 3\n")
    with pytest.raises(PolicyError) as info:
        Policy.from_toml(path)
    assert str(info.value).startswith(f"{path}: policy field '<file>': not valid TOML: ")
    assert "(at line 1, column 10)" in str(info.value)


def test_a_bad_value_in_a_file_names_the_file(tmp_path: Path) -> None:
    """A bad value read from a TOML file is reported with that file's path."""
    path = tmp_path / "strict.toml"
    path.write_text("[sessionmgr]\nmax_attempts = 0\n")
    with pytest.raises(PolicyError) as info:
        Policy.from_toml(path)
    assert str(info.value) == f"{path}: policy field 'max_attempts': must be >= 1, got 0"


@pytest.mark.parametrize(
    ("variable", "raw", "message"),
    [
        (
            "SESSIONMGR_MAX_ATTEMPTS",
            "lots",
            "SESSIONMGR_MAX_ATTEMPTS: policy field 'max_attempts': expected a number, got 'lots'",
        ),
        (
            "SESSIONMGR_CATEGORY_WEIGHTS",
            "bad_mac=two",
            "SESSIONMGR_CATEGORY_WEIGHTS: policy field 'category_weights': expected category=weight pairs, got 'bad_mac=two'",
        ),
        (
            "SESSIONMGR_CATEGORY_WEIGHTS",
            "bad_mac",
            "SESSIONMGR_CATEGORY_WEIGHTS: policy field 'category_weights': expected category=weight pairs, got 'bad_mac'",
        ),
        ("SESSIONMGR_WINDOW", "0", "environment: policy field 'window': must be > 0, got 0"),
        (
            "SESSIONMGR_CATEGORY_WEIGHTS",
            "bad_mac=2=3",
            "SESSIONMGR_CATEGORY_WEIGHTS: policy field 'category_weights': expected category=weight pairs, got 'bad_mac=2=3'",
        ),
        ("SESSIONMGR_WINDOW", "none", "SESSIONMGR_WINDOW: policy field 'window': expected a number, got 'none'"),
        ("SESSIONMGR_JITTER", "", "SESSIONMGR_JITTER: policy field 'jitter': expected a number, got ''"),
        (
            "SESSIONMGR_CATEGORY_WEIGHTS",
            "bad_maac=1",
            f"environment: policy field 'category_weights.bad_maac': unknown category; known: {KNOWN_CATEGORIES}",
        ),
    ],
)
def test_environment_errors_name_the_variable_or_the_environment(variable: str, raw: str, message: str) -> None:
    """A value that does not parse names its variable; one that parses but is out of range says 'environment'."""
    with pytest.raises(PolicyError) as info:
        Policy().with_env({variable: raw})
    assert str(info.value) == message


def test_environment_values_parse_as_the_field_needs() -> None:
    """Integers stay ints, decimals and negatives parse, max_delay 'none' or '' means no cap, pairs tolerate spaces."""
    assert ENV_PREFIX == "SESSIONMGR_"
    policy = Policy(max_delay=5).with_env(
        {
            "SESSIONMGR_MAX_ATTEMPTS": "4",
            "SESSIONMGR_WINDOW": "12.5",
            "SESSIONMGR_MAX_DELAY": " None ",
            "SESSIONMGR_CATEGORY_WEIGHTS": " bad_mac = 2 , ,prekey=0.5,",
        }
    )
    assert type(policy.max_attempts) is int and policy.max_attempts == 4
    assert policy.window == 12.5 and policy.max_delay is None
    assert policy.weight(Category.BAD_MAC) == 2.0 and policy.weight(Category.PREKEY) == 0.5
    assert Policy(max_delay=5).with_env({"SESSIONMGR_MAX_DELAY": ""}).max_delay is None
    with pytest.raises(PolicyError) as info:
        Policy().with_env({"SESSIONMGR_JITTER": "-1"})
    assert str(info.value) == "environment: policy field 'jitter': must be >= 0, got -1"


def test_no_variables_leave_the_policy_as_it_was() -> None:
    """with_env with no SESSIONMGR_ variable returns the same policy; unrelated variables are ignored."""
    policy = Policy(window=42)
    assert policy.with_env({"HOME": "/root", "WINDOW": "1"}) is policy


def test_load_layers_defaults_file_then_environment(tmp_path: Path) -> None:
    """load(): defaults, then the file, then the environment on top; with no file, defaults then environment."""
    path = tmp_path / "p.toml"
    path.write_text("window = 600\nunhealthy_threshold = 7\n")
    policy = Policy.load(path, {"SESSIONMGR_WINDOW": "120"})
    assert (policy.window, policy.unhealthy_threshold, policy.max_attempts) == (120, 7, 3)
    assert Policy.load(None, {}) == Policy()


def test_to_dict_round_trips_through_from_mapping() -> None:
    """to_dict gives plain data (category names as strings) that from_mapping turns back into the same policy."""
    policy = Policy(window=60, category_weights={Category.FUTURE: 2.0})
    data = policy.to_dict()
    assert data["window"] == 60 and data["category_weights"]["future"] == 2.0
    assert all(type(key) is str for key in data["category_weights"])
    assert Policy.from_mapping(data) == policy


def test_with_env_reads_the_process_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """with_env() with no mapping reads os.environ, and its errors name the variable just the same."""
    monkeypatch.setenv("SESSIONMGR_WINDOW", "42")
    assert Policy().with_env().window == 42
    monkeypatch.setenv("SESSIONMGR_WINDOW", "soon")
    with pytest.raises(PolicyError) as info:
        Policy.load()
    assert str(info.value) == "SESSIONMGR_WINDOW: policy field 'window': expected a number, got 'soon'"


def test_a_policy_file_is_read_as_utf8_whatever_the_locale(tmp_path: Path) -> None:
    """TOML is UTF-8: a file with non-ASCII comments loads the same under an ASCII (C) locale."""
    path = tmp_path / "café.toml"
    path.write_text("# café — réglages\nwindow = 60\n", encoding="utf-8")
    previous = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")
    try:
        assert Policy.from_toml(path).window == 60
    finally:
        locale.setlocale(locale.LC_CTYPE, previous)
