"""The what-if comparison: the same world without the manager, the same events under other policies."""

from __future__ import annotations

from typing import Any, Final

__all__ = ["WHAT_IF_COLUMNS", "comparison", "what_if_row"]

#: The columns of a what-if row after its policy name, in the order tables show them.
WHAT_IF_COLUMNS: Final = ("unhealthy_transitions", "resends", "peer_resets", "regenerations",
                          "regeneration_failures", "corrupted", "cleaned", "alerts")  # fmt: skip


def comparison(delivery: dict[str, Any], without_manager: dict[str, Any]) -> dict[str, Any]:
    """The report's ``comparison`` section: how the run without the manager delivered, and what it cost."""
    return {
        "without_manager": {k: without_manager[k] for k in ("sent", "delivered", "lost", "delivered_ratio")},
        "messages_saved": without_manager["lost"] - delivery["lost"],
    }


def what_if_row(name: str, report: dict[str, Any]) -> dict[str, Any]:
    """One row of the ``what_if`` section: what the policy called ``name`` decided."""
    actions = report["actions"]
    return {
        "policy": name,
        "unhealthy_transitions": sum(s["unhealthy_transitions"] for s in report["sessions"].values()),
        **{k: actions[k] for k in WHAT_IF_COLUMNS[1:-1]},
        "alerts": len(report["alerts"]),
    }
