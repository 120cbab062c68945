"""Shared test configuration: Hypothesis profiles for development and CI."""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=100)
# CI: reproducible (derandomized), no per-example deadline on a noisy 2-core machine.
settings.register_profile(
    "ci", max_examples=200, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
