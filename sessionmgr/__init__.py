"""Watch Signal-protocol decryption failures per WhatsApp session, and recover from them."""

from sessionmgr.backend import Backend, BackendCall, BackendError, MockBackend
from sessionmgr.bus import EventBus
from sessionmgr.categories import CRYPTO_CATEGORIES, Category
from sessionmgr.classify import CiphertextStub, classify, classify_texts
from sessionmgr.clock import Clock, LoopClock
from sessionmgr.events import (
    ActionFailed,
    AlertFired,
    AlertResolved,
    ConnectionChanged,
    DecryptError,
    DecryptOk,
    Event,
    HealthChanged,
    HealthChecked,
    ManagerStarted,
    PeerSessionReset,
    RegenerationFailed,
    RegenerationStarted,
    RegenerationSucceeded,
    ResendRequested,
    RetryFinished,
    RetryScheduled,
    SessionCleaned,
    SessionCorrupted,
    SessionDisconnected,
)
from sessionmgr.manager import SessionManager, initialize_session_manager
from sessionmgr.policy import Policy, PolicyError
from sessionmgr.pseudonym import Pseudonymizer
from sessionmgr.recovery.alerts import ALERT_RULES, ActiveAlert
from sessionmgr.retry import RetriesExhausted, backoff_schedule, retry_crypto_operation
from sessionmgr.stats import SessionHealth, SessionStats, StatsSnapshot
from sessionmgr.store import AuditEntry, MemoryStore, SessionRecord, Status, Store, open_store
from sessionmgr.store.sqlite import SQLiteStore, StoreError

__version__ = "0.1.0"

__all__ = [
    "ALERT_RULES",
    "CRYPTO_CATEGORIES",
    "ActionFailed",
    "ActiveAlert",
    "AlertFired",
    "AlertResolved",
    "AuditEntry",
    "Backend",
    "BackendCall",
    "BackendError",
    "Category",
    "CiphertextStub",
    "Clock",
    "ConnectionChanged",
    "DecryptError",
    "DecryptOk",
    "Event",
    "EventBus",
    "HealthChanged",
    "HealthChecked",
    "LoopClock",
    "ManagerStarted",
    "MemoryStore",
    "MockBackend",
    "PeerSessionReset",
    "Policy",
    "PolicyError",
    "Pseudonymizer",
    "RegenerationFailed",
    "RegenerationStarted",
    "RegenerationSucceeded",
    "ResendRequested",
    "RetriesExhausted",
    "RetryFinished",
    "RetryScheduled",
    "SQLiteStore",
    "SessionCleaned",
    "SessionCorrupted",
    "SessionDisconnected",
    "SessionHealth",
    "SessionManager",
    "SessionRecord",
    "SessionStats",
    "StatsSnapshot",
    "Status",
    "Store",
    "StoreError",
    "__version__",
    "backoff_schedule",
    "classify",
    "classify_texts",
    "initialize_session_manager",
    "open_store",
    "retry_crypto_operation",
]
