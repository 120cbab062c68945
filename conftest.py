"""Shared test configuration: Hypothesis profiles for development and CI.

``HYPOTHESIS_PROFILE=dev|ci`` picks one; CI (``CI`` set) defaults to ``ci``.
Both print a ``@reproduce_failure`` blob with any falsifying example.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=100, print_blob=True)
# CI: reproducible (derandomized), no per-example deadline on a noisy 2-core machine.
settings.register_profile(
    "ci",
    max_examples=200,
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
