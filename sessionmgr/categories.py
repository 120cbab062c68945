"""The categories a decryption failure falls into."""

from __future__ import annotations

import enum

__all__ = ["CRYPTO_CATEGORIES", "Category"]


class Category(enum.StrEnum):
    """What an error means, judged from its text and type (see DESIGN.md, "Words")."""

    BAD_MAC = "bad_mac"
    SESSION_MISMATCH = "session_mismatch"
    NO_SESSION = "no_session"
    PREKEY = "prekey"
    DUPLICATE = "duplicate"
    FUTURE = "future"
    IDENTITY = "identity"
    #: The server holds no payload (Baileys' "Message absent from node", whatsmeow's
    #: ``IsUnavailable``): only the user's phone can resend; not a key problem.
    UNAVAILABLE = "unavailable"
    DECRYPT_FAILED = "decrypt_failed"
    #: Not a Signal-layer failure at all; passed through untouched.
    NOT_CRYPTO = "not_crypto"

    @property
    def is_crypto(self) -> bool:
        """Whether this category is a decryption failure the manager acts on."""
        return self is not Category.NOT_CRYPTO


#: Every crypto category, in the order reports list them.
CRYPTO_CATEGORIES: tuple[Category, ...] = tuple(c for c in Category if c.is_crypto)
