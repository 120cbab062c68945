"""The chaos harness: virtual time and a simulated WhatsApp transport whose sessions really break."""

from harness.loop import DEFAULT_EPOCH, VirtualLoop, VirtualTimeDeadlock, run

__all__ = ["DEFAULT_EPOCH", "VirtualLoop", "VirtualTimeDeadlock", "run"]
