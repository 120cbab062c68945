"""Policy's survivors that are not error messages: the weight of a category outside the table, whatsmeow's numbers."""

from __future__ import annotations

from sessionmgr import Category, Policy


def test_a_category_without_a_weight_weighs_nothing() -> None:
    """A category the weights table does not hold (not a crypto error) weighs 0 in the health count."""
    assert Category.NOT_CRYPTO not in Policy().category_weights
    assert Policy().weight(Category.NOT_CRYPTO) == 0.0


def test_whatsmeow_prekey_guard_is_ten_minutes() -> None:
    """whatsmeow tops prekeys up at most once per 10 minutes (prekeys.go:53): 600 s, and 50 at a time."""
    policy = Policy.whatsmeow()
    assert (policy.prekey_top_up, policy.prekey_top_up_interval) == (50, 600.0)
