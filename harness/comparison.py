"""The four rows: the same world and seed recovered by our manager, Baileys' and whatsmeow's defaults, and nobody."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Final

from harness.simulate import RECOVERIES, Progress, SimConfig, SimResult, run_simulation_result

__all__ = ["COMPARISON_COLUMNS", "comparison_row", "run_comparison"]

#: A row's columns after ``recovery``, in the order tables show them.
COMPARISON_COLUMNS: Final = ("sent", "delivered", "lost", "resolve_p50_s", "resolve_p90_s", "resets",
                             "regenerations", "resends", "phone_requests", "delivered_by_phone")  # fmt: skip

#: Opens a progress display for one run (named by its recovery) and yields its callback.
ProgressFactory = Callable[[str], AbstractContextManager[Progress | None]]


def comparison_row(result: SimResult) -> dict[str, Any]:
    """One row: what became of the messages, how long the recovered ones took, and what recovery did."""
    delivery = result.report["delivery"]
    delays = delivery["recovery_delay_s"] or {}
    calls = result.backend.calls if result.backend is not None else {}
    return {
        "recovery": result.report["source"]["recovery"],
        "sent": delivery["sent"],
        "delivered": delivery["delivered"],
        "lost": delivery["lost"],
        # from send to delivery, over the messages that failed to decrypt at least once
        "resolve_p50_s": delays.get("p50"),
        "resolve_p90_s": delays.get("p90"),
        "resets": calls.get("reset_peer_session", 0),
        "regenerations": calls.get("regenerate_keys", 0),
        "resends": calls.get("request_resend", 0) + calls.get("request_resend_with_keys", 0),
        "phone_requests": calls.get("request_from_phone", 0),
        "delivered_by_phone": delivery["delivered_by_phone"],
    }


def run_comparison(
    config: SimConfig,
    *,
    recoveries: tuple[str, ...] = RECOVERIES,
    progress: ProgressFactory | None = None,
    done: dict[str, SimResult] | None = None,
) -> dict[str, SimResult]:
    """Run ``config`` once per recovery (same seed, same world), in order; rows via :func:`comparison_row`.

    ``done`` holds runs already made (by recovery name); they are reused, not run again.
    """
    results: dict[str, SimResult] = {}
    for recovery in recoveries:
        result = (done or {}).get(recovery)
        if result is None:
            with _progress(progress, recovery) as callback:
                result = run_simulation_result(
                    dataclasses.replace(config, baseline=recovery, manager=True), progress=callback
                )
        results[recovery] = result
    return results


def _progress(factory: ProgressFactory | None, recovery: str) -> AbstractContextManager[Progress | None]:
    return factory(recovery) if factory is not None else nullcontext(None)
