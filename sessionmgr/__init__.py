"""Watch Signal-protocol decryption failures per WhatsApp session, and recover from them."""

from sessionmgr.alerts import ALERT_RULES, ActiveAlert, AlertEvaluator
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
from sessionmgr.logsink import JsonFormatter, LoggingSink
from sessionmgr.manager import SessionManager, initialize_session_manager
from sessionmgr.policy import Policy, PolicyError
from sessionmgr.pseudonym import Pseudonymizer
from sessionmgr.retry import RetriesExhausted, backoff_delay, backoff_schedule, retry_crypto_operation
from sessionmgr.stats import SessionHealth, SessionStats, StatsCollector, StatsSnapshot
from sessionmgr.store import MemoryStore, SessionRecord, Status, Store
from sessionmgr.window import HealthWindow

__version__ = "0.1.0"

__all__ = [
    "ALERT_RULES",
    "CRYPTO_CATEGORIES",
    "ActionFailed",
    "ActiveAlert",
    "AlertEvaluator",
    "AlertFired",
    "AlertResolved",
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
    "HealthWindow",
    "JsonFormatter",
    "LoggingSink",
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
    "SessionCleaned",
    "SessionCorrupted",
    "SessionDisconnected",
    "SessionHealth",
    "SessionManager",
    "SessionRecord",
    "SessionStats",
    "StatsCollector",
    "StatsSnapshot",
    "Status",
    "Store",
    "__version__",
    "backoff_delay",
    "backoff_schedule",
    "classify",
    "classify_texts",
    "initialize_session_manager",
    "retry_crypto_operation",
]
