"""The shipped Prometheus rules and Grafana dashboard load and name only metrics that exist."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from sessionmgr.monitoring.metrics import METRIC_NAMES

ROOT = Path(__file__).resolve().parent.parent / "monitoring"
METRIC = re.compile(r"\bsessionmgr_[a-z_]+\b")


def test_alert_rules_load_and_use_existing_metrics() -> None:
    """Every rule has an expression over metrics the exporter really has."""
    rules = yaml.safe_load((ROOT / "prometheus-rules.yml").read_text())
    exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    assert len(exprs) >= 4
    names = {name for expr in exprs for name in METRIC.findall(expr)}
    assert names and names <= METRIC_NAMES, names - METRIC_NAMES
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    assert {"SessionmgrSessionCorruptedTooLong", "SessionmgrCryptoErrorRateHigh", "SessionmgrRegenerationFailed",
            "SessionmgrMassCorruption"} <= alerts  # fmt: skip


def test_dashboard_loads_and_uses_existing_metrics() -> None:
    """Every panel queries metrics the exporter really has."""
    dashboard = json.loads((ROOT / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    names = {name for expr in exprs for name in METRIC.findall(expr)}
    assert names and names <= METRIC_NAMES, names - METRIC_NAMES
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
