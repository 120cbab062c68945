"""The one report builder: what the recorder saw, plus the sections each kind of run gives it.

A simulation gives the delivery accounting (and, when it ran the same seed
without the manager, the comparison); a replay gives its input accounting
(and, when it compared policies, the what-if rows). Nothing is patched into a
report after it is built: a caller that learns more builds it again from the
same :class:`ReportParts`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Final

from sessionmgr.categories import CRYPTO_CATEGORIES
from sessionmgr.report.recorder import ReportRecorder
from sessionmgr.store import Status

__all__ = ["REPORT_SCHEMA", "ReportParts", "build_report"]

REPORT_SCHEMA: Final = "sessionmgr.report/1"


@dataclasses.dataclass(frozen=True, slots=True)
class ReportParts:
    """What one run hands to the builder.

    ``input`` defaults to the number of events the recorder saw; ``sessions``
    names sessions that belong in the report even if nothing happened to them.
    """

    recorder: ReportRecorder
    source: dict[str, Any]
    input: dict[str, Any] | None = None
    delivery: dict[str, Any] | None = None
    sessions: Sequence[str] = ()


def build_report(
    parts: ReportParts,
    *,
    comparison: dict[str, Any] | None = None,
    what_if: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The report as plain data (schema ``sessionmgr.report/1``).

    ``comparison`` is the same run without the manager
    (:func:`sessionmgr.report.compare.comparison`); ``what_if`` one row per
    policy (:func:`sessionmgr.report.compare.what_if_row`).
    """
    recorder = parts.recorder
    snapshot = recorder.stats.snapshot()
    overall = snapshot.overall
    names = sorted(set(parts.sessions) | set(snapshot.sessions) - {"*"})
    per_session: dict[str, Any] = {}
    for name in names:
        s = recorder.stats.session(name)
        per_session[name] = {
            "errors": s.errors,
            "by_category": dict(sorted(s.by_category.items())),
            "peers_with_errors": len(s.peers_with_errors),
            **({"peers_with_errors_estimated": True} if s.peers_with_errors.estimated else {}),
            "unhealthy_transitions": s.unhealthy_transitions,
            "regenerations": s.regenerations,
            "regeneration_failures": s.regeneration_failures,
            "status": recorder.status.get(name, Status.HEALTHY),
        }
    recovery = sorted(overall.recovery_times)
    report: dict[str, Any] = {
        "schema": REPORT_SCHEMA,
        "source": parts.source,
        "input": parts.input if parts.input is not None else {"events": recorder.events, "rejected": []},
        "period": recorder.period,
        "errors": {
            "total": overall.errors,
            "by_category": {c.value: overall.by_category.get(c.value, 0) for c in CRYPTO_CATEGORIES},
        },
        "sessions": per_session,
        "actions": {
            "resends": overall.resends,
            "peer_resets": overall.peer_resets,
            "retries": overall.retries,
            "retry_success_rate": _round(overall.retry_success_rate),
            "regenerations": overall.regenerations,
            "regeneration_failures": overall.regeneration_failures,
            "corrupted": overall.corrupted,
            "cleaned": overall.cleaned,
            "time_to_recover_s": {
                "count": len(recovery),
                "p50": _round(recovery[len(recovery) // 2]) if recovery else None,
                "max": _round(recovery[-1]) if recovery else None,
            },
        },
        "alerts": recorder.alerts,
    }
    if parts.delivery is not None:
        report["delivery"] = parts.delivery
    messages = recorder.messages
    if messages is not None:
        report["messages"] = messages
    report["timeline"] = recorder.timeline
    if comparison is not None:
        report["comparison"] = comparison
    if what_if is not None:
        report["what_if"] = what_if
    return report


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
