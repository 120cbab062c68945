"""Monitoring: the logging sink, Prometheus metrics, alert sinks, the HTTP endpoint, and ``watch``.

Importing this package does not import ``prometheus_client``: the names that
need it (:class:`MetricsSink`, :class:`MonitoringServer`, :func:`monitoring`)
load on first use, so a program that only logs needs no extra.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from sessionmgr.monitoring.alert_sinks import AlertCallback, WebhookSink, alert_payload
from sessionmgr.monitoring.logsink import JsonFormatter, LoggingSink

if TYPE_CHECKING:
    from sessionmgr.monitoring.http import MonitoringServer, health_document, monitoring
    from sessionmgr.monitoring.metrics import METRIC_NAMES, MetricsSink

__all__ = [
    "METRIC_NAMES",
    "AlertCallback",
    "JsonFormatter",
    "LoggingSink",
    "MetricsSink",
    "MonitoringServer",
    "WebhookSink",
    "alert_payload",
    "health_document",
    "monitoring",
]

# Names whose modules need the 'monitoring' extra.
_LAZY = {
    "METRIC_NAMES": "sessionmgr.monitoring.metrics",
    "MetricsSink": "sessionmgr.monitoring.metrics",
    "MonitoringServer": "sessionmgr.monitoring.http",
    "health_document": "sessionmgr.monitoring.http",
    "monitoring": "sessionmgr.monitoring.http",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sessionmgr.monitoring' has no attribute {name!r}")
    try:
        return getattr(importlib.import_module(module), name)
    except ModuleNotFoundError as exc:
        if exc.name != "prometheus_client":
            raise
        raise ImportError(
            f"sessionmgr.monitoring.{name} needs prometheus_client: pip install 'sessionmgr[monitoring]'"
        ) from exc
