"""The shipped Prometheus rules and Grafana dashboard: they name only exported metrics, explain
themselves (summary, description, runbook), and pass promtool's own checks and rule tests."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from sessionmgr.monitoring.metrics import METRIC_NAMES

REPO = Path(__file__).resolve().parent.parent
ROOT = REPO / "monitoring"
METRIC = re.compile(r"\bsessionmgr_[a-z_]+\b")
PROMTOOL_MISSING = (
    "promtool not found: install it (Debian: apt-get install prometheus; or a release from "
    "https://prometheus.io/download/) and run: python -m pytest tests/test_monitoring_files.py"
)


def _rules() -> list[dict[str, Any]]:
    rules = yaml.safe_load((ROOT / "prometheus-rules.yml").read_text())
    return [rule for group in rules["groups"] for rule in group["rules"]]


def _dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((ROOT / "grafana-dashboard.json").read_text())
    return loaded


def _dashboard_exprs() -> list[str]:
    dashboard = _dashboard()
    panels = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    annotations = [a["expr"] for a in dashboard["annotations"]["list"] if "expr" in a]
    return panels + annotations


def _slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _promtool() -> str:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip(PROMTOOL_MISSING)
    return promtool


def test_alert_rules_load_and_use_existing_metrics() -> None:
    """Every rule has an expression over metrics the exporter really has."""
    exprs = [rule["expr"] for rule in _rules()]
    assert len(exprs) >= 4
    names = {name for expr in exprs for name in METRIC.findall(expr)}
    assert names and names <= METRIC_NAMES, names - METRIC_NAMES
    alerts = {rule["alert"] for rule in _rules()}
    assert {"SessionmgrSessionCorruptedTooLong", "SessionmgrCryptoErrorRateHigh", "SessionmgrRegenerationFailed",
            "SessionmgrMassCorruption"} <= alerts  # fmt: skip


def test_every_rule_has_summary_description_and_a_runbook_section() -> None:
    """Each rule explains itself and links to a section of docs/runbook.md that exists."""
    runbook = (REPO / "docs" / "runbook.md").read_text()
    anchors = {_slug(line.lstrip("#")) for line in runbook.splitlines() if line.startswith("#")}
    for rule in _rules():
        annotations = rule.get("annotations", {})
        assert annotations.get("summary") and annotations.get("description"), rule["alert"]
        path, _, anchor = annotations.get("runbook_url", "").partition("#")
        assert path == "docs/runbook.md", rule["alert"]
        assert anchor in anchors, f"{rule['alert']}: no section #{anchor} in docs/runbook.md"


def test_the_corrupted_session_alert_names_the_session() -> None:
    """The critical 'corrupted too long' alert keeps the session label, so it can say what to re-pair."""
    (rule,) = [r for r in _rules() if r["alert"] == "SessionmgrSessionCorruptedTooLong"]
    assert "by (rule)" not in rule["expr"]
    assert "{{ $labels.session }}" in rule["annotations"]["summary"]


def test_rule_tests_cover_every_alert() -> None:
    """prometheus-rules.test.yml fires each alert at least once."""
    tests = yaml.safe_load((ROOT / "prometheus-rules.test.yml").read_text())
    fired = {
        case["alertname"] for test in tests["tests"] for case in test.get("alert_rule_test", []) if case["exp_alerts"]
    }
    assert fired == {rule["alert"] for rule in _rules()}


def test_promtool_checks_and_unit_tests_the_rules() -> None:
    """promtool accepts the rules and every unit test in prometheus-rules.test.yml passes."""
    promtool = _promtool()
    for command in (["check", "rules", "prometheus-rules.yml"], ["test", "rules", "prometheus-rules.test.yml"]):
        result = subprocess.run([promtool, *command], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, f"promtool {' '.join(command)}:\n{result.stdout}{result.stderr}"


def test_dashboard_queries_parse(tmp_path: Path) -> None:
    """Every dashboard query is valid PromQL (checked by promtool, variables filled in)."""
    promtool = _promtool()
    filled = [re.sub(r"\$(job|instance|session)\b", ".*", expr) for expr in _dashboard_exprs()]
    rules = {"groups": [{"name": "dashboard", "rules": [{"record": f"dashboard:query_{i}", "expr": e}
                                                       for i, e in enumerate(filled)]}]}  # fmt: skip
    (tmp_path / "dashboard-rules.yml").write_text(yaml.safe_dump(rules))
    result = subprocess.run(
        [promtool, "check", "rules", "dashboard-rules.yml"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboard_loads_and_uses_existing_metrics() -> None:
    """Every panel and annotation queries metrics the exporter really has."""
    dashboard = _dashboard()
    names = {name for expr in _dashboard_exprs() for name in METRIC.findall(expr)}
    assert names and names <= METRIC_NAMES, names - METRIC_NAMES
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])


def test_dashboard_has_variables_filtered_queries_and_import_metadata() -> None:
    """session/job/instance variables exist and every query filters by them; __inputs/__requires are there."""
    dashboard = _dashboard()
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert {"datasource", "job", "instance", "session"} <= set(variables)
    for name in ("job", "instance", "session"):
        assert METRIC.search(variables[name]["query"]["query"]), name
    for expr in _dashboard_exprs():
        assert 'job=~"$job"' in expr and 'instance=~"$instance"' in expr, expr
        if "{session" in expr or "session=" in expr or "by (session" in expr:
            assert 'session=~"$session"' in expr, expr
    assert [i["name"] for i in dashboard["__inputs"]] == ["DS_PROMETHEUS"]
    required = {(r["type"], r["id"]) for r in dashboard["__requires"]}
    panel_types = {("panel", p["type"]) for p in dashboard["panels"]}
    assert {("grafana", "grafana"), ("datasource", "prometheus")} | panel_types <= required


def test_dashboard_maps_health_thresholds_stats_and_annotates_alerts() -> None:
    """Health reads healthy/unhealthy, every stat panel has thresholds, and alerts appear as annotations."""
    panels = _dashboard()["panels"]
    (health,) = [p for p in panels if p["title"] == "Session health"]
    mappings = health["fieldConfig"]["defaults"]["mappings"]
    texts = {value: option["text"] for m in mappings for value, option in m["options"].items()}
    assert texts == {"0": "unhealthy", "1": "healthy"}
    for panel in panels:
        if panel["type"] == "stat":
            steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
            assert len(steps) >= 2, panel["title"]
    annotations = _dashboard()["annotations"]["list"]
    assert any("ALERTS" in a.get("expr", "") for a in annotations)
    assert any("sessionmgr_alerts_fired_total" in a.get("expr", "") for a in annotations)
