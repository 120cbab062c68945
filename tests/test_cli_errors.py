"""The command line's errors name what is wrong and where: the variable, the option, the file, the extra."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sessionmgr.cli import main

FAST = ["--sessions", "1", "--peers", "1", "--hours", "0.1", "--no-compare", "-q"]
LOG = Path(__file__).resolve().parent.parent / "examples" / "bot-01.baileys.log"


def _fails_cleanly(result: Result) -> str:
    """The command failed with a message (exit 1 or 2), not a traceback; returns its output."""
    assert result.exit_code in (1, 2), result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return result.output


@pytest.mark.parametrize("value", ["abc", "-5"])
def test_bad_environment_variable_is_named_not_policy(value: str) -> None:
    """A bad SESSIONMGR_WINDOW with no --policy names the variable, not the --policy option."""
    result = CliRunner(env={"SESSIONMGR_WINDOW": value}).invoke(main, ["simulate", *FAST])
    output = _fails_cleanly(result)
    assert "SESSIONMGR_WINDOW" in output
    assert "--policy" not in output
    assert value in output


def test_bad_sweep_value_names_sweep_not_the_variable() -> None:
    """--sweep unhealthy_threshold=abc blames --sweep and the value, not an environment variable."""
    result = CliRunner().invoke(main, ["replay", str(LOG), "--sweep", "unhealthy_threshold=abc"])
    output = _fails_cleanly(result)
    assert "--sweep" in output and "unhealthy_threshold=abc" in output
    assert "SESSIONMGR_" not in output and "environment" not in output


def test_invalid_toml_says_so_with_line_and_column(tmp_path: Path) -> None:
    """A policy file that is not TOML is reported as such, with where, not as a 'policy field'."""
    bad = tmp_path / "bad.toml"
    bad.write_text("window = 300\nunhealthy_threshold = \n")
    result = CliRunner().invoke(main, ["simulate", *FAST, "--policy", str(bad)])
    output = _fails_cleanly(result)
    assert "bad.toml" in output and "not valid TOML" in output
    assert "line 2" in output and "column" in output
    assert "policy field" not in output


def test_scrub_into_a_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    """scrub SRC /missing/dir/x.log says it cannot write there, without a traceback."""
    target = tmp_path / "missing" / "dir" / "x.log"
    result = CliRunner().invoke(main, ["scrub", str(LOG), str(target), "--key", "k"])
    output = _fails_cleanly(result)
    assert str(target) in output and "No such file or directory" in output


def test_simulate_without_the_harness_extra_names_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without faker (the harness extra), simulate says which extra to install instead of a traceback."""
    monkeypatch.setitem(sys.modules, "faker", None)  # what a missing package looks like to import
    result = CliRunner().invoke(main, ["simulate", *FAST])
    output = _fails_cleanly(result)
    assert "pip install 'sessionmgr[harness]'" in output and "faker" in output
