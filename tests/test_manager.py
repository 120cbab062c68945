"""The manager walks the recovery ladder on a mock backend under virtual time."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable

import pytest

from sessionmgr import (
    AlertFired,
    AlertResolved,
    BackendCall,
    BackendError,
    Category,
    CiphertextStub,
    DecryptError,
    Event,
    HealthChanged,
    MockBackend,
    Policy,
    RegenerationFailed,
    RetryScheduled,
    SessionManager,
    Status,
)
from sessionmgr.store import MemoryStore

pytestmark = [pytest.mark.asyncio, pytest.mark.virtual_time]

PEER_A = "5511999990001@s.whatsapp.net"
PEER_B = "5511999990002@s.whatsapp.net"


#: the ``started`` fixture (tests/conftest.py): starts a manager, closes it after the test whatever happens
Starter = Callable[..., Awaitable[tuple[SessionManager, list[Event]]]]


def bad_mac(peer: str = PEER_A, session: str = "bot-1") -> DecryptError:
    return DecryptError(session=session, peer=peer, error="Bad MAC", category=Category.BAD_MAC)


def kinds(events: list[Event], session: str | None = None) -> list[str]:
    return [e.kind for e in events if session is None or e.session == session]


async def test_first_failure_from_a_peer_requests_a_resend(started: Starter) -> None:
    """One failure from a peer asks that peer to resend, nothing more."""
    backend = MockBackend()
    manager, events = await started(backend)
    await manager.observe(bad_mac())
    await manager.drain()
    assert backend.calls == [BackendCall("request_resend", "bot-1", PEER_A, None)]
    assert "regeneration_started" not in kinds(events)


async def test_second_failure_from_same_peer_resets_its_session(started: Starter) -> None:
    """The second failure from the same peer inside the window resets that peer, then asks again."""
    backend = MockBackend()
    manager, _ = await started(backend)
    await manager.observe(bad_mac())
    await asyncio.sleep(10)
    await manager.observe(bad_mac())
    await manager.drain()
    assert backend.methods() == ["request_resend", "reset_peer_session", "request_resend"]


async def test_a_peer_is_reset_at_most_once_an_hour(started: Starter) -> None:
    """Failures without message ids at 0,10 reset the peer; at 400,410 only resend; at 3700,3710 reset again."""
    backend = MockBackend()
    manager, events = await started(backend, policy=Policy(unhealthy_threshold=100))
    for t in (0, 10, 400, 410, 3700, 3710):
        await asyncio.sleep(t - asyncio.get_running_loop().time())
        await manager.observe(bad_mac())
    await manager.drain()
    assert [e.t for e in events if e.kind == "peer_reset"] == [10, 3710]
    assert backend.methods().count("request_resend") == 6


async def test_failures_from_different_peers_do_not_reset_each_other(started: Starter) -> None:
    """Peer counts are per peer: one failure each from two peers means two resends."""
    backend = MockBackend()
    manager, _ = await started(backend)
    await manager.observe(bad_mac(PEER_A))
    await manager.observe(bad_mac(PEER_B))
    await manager.drain()
    assert backend.methods() == ["request_resend", "request_resend"]


async def test_duplicates_change_nothing(started: Starter) -> None:
    """Duplicate frames weigh zero: no repair, no health change, however many."""
    backend = MockBackend()
    manager, _events = await started(backend)
    for _ in range(50):
        await manager.observe(
            DecryptError(
                session="bot-1", peer=PEER_A, error="Key used already or never filled", category=Category.DUPLICATE
            )
        )
    await manager.drain()
    assert backend.calls == []
    assert manager.get_session_health("bot-1").healthy
    assert manager.get_session_stats().overall.by_category == {"duplicate": 50}


async def test_fifth_error_in_window_turns_unhealthy_and_regenerates_once(started: Starter) -> None:
    """The 5th weighted error inside 300 s turns the session unhealthy and regenerates its keys once."""
    backend = MockBackend()
    manager, events = await started(backend)
    for i in range(4):
        await manager.observe(bad_mac(f"55119999900{i:02d}@s.whatsapp.net"))
        await asyncio.sleep(1)
    assert manager.get_session_health("bot-1").healthy
    await manager.observe(bad_mac("5511999990099@s.whatsapp.net"))
    health = manager.get_session_health("bot-1")
    assert not health.healthy and health.weighted_errors == 5
    await manager.drain()
    assert backend.methods().count("regenerate_keys") == 1
    assert kinds(events).count("regeneration_succeeded") == 1


async def test_health_recovers_exactly_when_the_fifth_error_is_300_s_old(started: Starter) -> None:
    """Health recovers by itself at the instant the oldest error leaves (t - 300, t]."""
    backend = MockBackend()
    manager, events = await started(backend, policy=Policy(peer_reset_after=100))
    loop = asyncio.get_running_loop()
    start = loop.time()
    for _ in range(5):
        await manager.observe(bad_mac())
    await asyncio.sleep(299.999)
    assert not manager.get_session_health("bot-1").healthy
    await asyncio.sleep(0.002)
    assert manager.get_session_health("bot-1").healthy
    changes = [e for e in events if isinstance(e, HealthChanged)]
    assert [e.healthy for e in changes] == [False, True]
    assert changes[1].t - start == pytest.approx(300.0, abs=1e-9)


async def test_regeneration_failing_is_retried_then_corrupts_and_cleanup_quarantines(started: Starter) -> None:
    """Failing regeneration: tries at +1 s and +2 s, then corrupted, disconnected, cleaned, keys quarantined."""

    def handler(call: BackendCall) -> bytes | None:
        if call.method == "regenerate_keys":
            raise BackendError("upload rejected")
        return b"KEYS" if call.method == "export_keys" else None

    backend = MockBackend(handler)
    store = MemoryStore()
    manager, events = await started(backend, store=store, policy=Policy(peer_reset_after=100))
    loop = asyncio.get_running_loop()
    for _ in range(5):
        await manager.observe(bad_mac())
    t0 = loop.time()
    await manager.drain()
    retries = [e for e in events if isinstance(e, RetryScheduled) and e.operation == "regenerate_keys"]
    assert [e.delay for e in retries] == [1.0, 2.0]
    failed = next(e for e in events if isinstance(e, RegenerationFailed))
    assert failed.t - t0 == pytest.approx(3.0)
    assert failed.attempts == 3
    assert manager.get_session_health("bot-1").status is Status.CORRUPTED
    assert "disconnect" in backend.methods()

    await asyncio.sleep(manager.policy.cleanup_interval)
    await manager.drain()
    assert manager.get_session_health("bot-1").status is Status.DISCONNECTED
    quarantined = await store.quarantined("bot-1")
    assert [q.material for q in quarantined] == [b"KEYS"]
    assert backend.methods().index("export_keys") < backend.methods().index("purge_keys")
    record = await store.load("bot-1")
    assert record is not None and record.status is Status.DISCONNECTED and record.corrupted_since is not None


async def test_storm_regenerations_are_bounded_by_cooldown_and_escalate(started: Starter) -> None:
    """A storm that never stops: regenerations come at most once per cooldown, then the session is corrupted."""
    backend = MockBackend()
    policy = Policy()
    manager, events = await started(backend, policy=policy)
    for _ in range(20 * 60 * 5):  # 5 errors a second for 20 minutes
        await manager.observe(bad_mac())
        await asyncio.sleep(0.2)
    await manager.drain()
    regenerations = [e for e in events if e.kind == "regeneration_succeeded"]
    assert len(regenerations) == policy.max_regenerations
    gaps = [b.t - a.t for a, b in itertools.pairwise(regenerations)]
    assert all(gap >= policy.regeneration_cooldown for gap in gaps)
    corrupted = [e for e in events if e.kind == "corrupted"]
    assert len(corrupted) == 1
    assert corrupted[0].t - regenerations[-1].t == pytest.approx(policy.regeneration_cooldown, abs=0.2)


async def test_alerts_fire_and_resolve_once_at_the_right_times(started: Starter) -> None:
    """Regeneration failure and 'corrupted for 10 minutes' fire once, and resolve when the session reconnects."""
    backend = MockBackend(
        lambda c: (_ for _ in ()).throw(BackendError("no")) if c.method == "regenerate_keys" else None
    )
    manager, events = await started(backend, policy=Policy(peer_reset_after=100))
    for _ in range(5):
        await manager.observe(bad_mac())
    await manager.drain()
    corrupted_at = next(e for e in events if e.kind == "corrupted").t
    await asyncio.sleep(1200)
    fired = [e for e in events if isinstance(e, AlertFired)]
    assert [e.rule for e in fired] == ["regeneration_failed", "session_corrupted_too_long"]
    assert fired[1].t - corrupted_at == pytest.approx(600.0)
    await manager.connection_changed("bot-1", open=True)
    resolved = [e.rule for e in events if isinstance(e, AlertResolved)]
    assert sorted(resolved) == ["regeneration_failed", "session_corrupted_too_long"]
    assert manager.get_session_health("bot-1").status is Status.HEALTHY


async def test_mass_corruption_alert(started: Starter) -> None:
    """Three sessions corrupted at once raise the mass-corruption alert, once."""
    backend = MockBackend(
        lambda c: (_ for _ in ()).throw(BackendError("no")) if c.method == "regenerate_keys" else None
    )
    manager, events = await started(backend, policy=Policy(peer_reset_after=100))
    for session in ("s1", "s2", "s3", "s4"):
        for _ in range(5):
            await manager.observe(bad_mac(session=session))
    await manager.drain()
    mass = [e for e in events if isinstance(e, AlertFired) and e.rule == "mass_corruption"]
    assert len(mass) == 1


async def test_chains_broken_before_a_regeneration_do_not_count_against_it(started: Starter) -> None:
    """Peers failing on chain state older than the regeneration are the peer ladder's work, not a reason
    to regenerate again; once reset, a peer that still fails does count."""
    backend = MockBackend()
    manager, events = await started(backend)
    peers = [f"55119999901{i:02d}@s.whatsapp.net" for i in range(20)]
    for peer in peers[:5]:
        await manager.observe(bad_mac(peer))
    await manager.drain()
    assert kinds(events).count("regeneration_succeeded") == 1
    await asyncio.sleep(61)  # past the cooldown
    for peer in peers[5:]:  # first failures of peers broken before the regeneration
        await manager.observe(bad_mac(peer))
    await manager.drain()
    assert kinds(events).count("regeneration_succeeded") == 1
    for peer in peers[5:10]:  # second failures: these peers get reset
        await manager.observe(bad_mac(peer))
    for peer in peers[5:10]:  # and still fail afterwards: now it is the session
        await manager.observe(bad_mac(peer))
    await manager.drain()
    assert kinds(events).count("regeneration_succeeded") == 2


async def test_advisory_mode_decides_but_never_calls_the_backend(started: Starter) -> None:
    """In advisory mode every decision is published and none is carried out."""
    backend = MockBackend()
    manager, events = await started(backend, advisory=True)
    for _ in range(5):
        await manager.observe(bad_mac())
    await manager.drain()
    assert backend.calls == []
    assert "regeneration_succeeded" in kinds(events)
    assert "resend_requested" in kinds(events)


async def test_handle_crypto_error_accepts_exceptions_and_ignores_non_crypto(started: Starter) -> None:
    """The seed's entry point takes an exception; non-crypto errors are passed through untouched."""
    backend = MockBackend()
    manager, events = await started(backend)

    class SessionError(Exception):
        pass

    assert (
        await manager.handle_crypto_error("bot-1", SessionError("No session record"), peer=PEER_A)
        is Category.NO_SESSION
    )
    assert await manager.handle_crypto_error("bot-1", ConnectionResetError("ECONNRESET")) is Category.NOT_CRYPTO
    await manager.drain()
    assert kinds(events).count("decrypt_error") == 1


async def test_observations_are_classified_from_their_text(started: Starter) -> None:
    """An observation built with only its raw text gets the category that text says."""
    manager, events = await started(MockBackend())
    await manager.observe(DecryptError(session="bot-1", peer=PEER_A, error="Invalid PreKey ID"))
    await manager.handle_crypto_error("bot-1", CiphertextStub(("Bad MAC",)), peer=PEER_B)
    await manager.handle_crypto_error("bot-1", {"messageStubType": "CIPHERTEXT", "messageStubParameters": []})
    errors = [e for e in events if isinstance(e, DecryptError)]
    assert [(e.category, e.error, e.error_type) for e in errors] == [
        (Category.PREKEY, "Invalid PreKey ID", None),
        (Category.BAD_MAC, "Bad MAC", "CIPHERTEXT"),
        (Category.DECRYPT_FAILED, "CIPHERTEXT", "CIPHERTEXT"),
    ]


async def test_wrapped_bad_mac_is_classified_by_its_cause(started: Starter) -> None:
    """libsignal-node's msg path wraps Bad MAC; the logged cause decides the category."""
    backend = MockBackend()
    manager, events = await started(backend)
    await manager.observe(
        DecryptError(
            session="bot-1",
            peer=PEER_A,
            error="No matching sessions found for message",
            error_type="SessionError",
            causes=("Error: Bad MAC",),
        )
    )
    errors = [e for e in events if isinstance(e, DecryptError)]
    assert errors[0].category is Category.BAD_MAC


async def test_restart_resumes_a_regeneration_and_keeps_corrupted_since(started: Starter) -> None:
    """A manager restarted on the same store redoes an interrupted regeneration and remembers corruption."""
    store = MemoryStore()
    gate = asyncio.Event()

    async def slow(call: BackendCall) -> None:
        if call.method == "regenerate_keys":
            await gate.wait()

    first, _ = await started(MockBackend(slow), store=store, policy=Policy(peer_reset_after=100))
    for _ in range(5):
        await first.observe(bad_mac())
    await asyncio.sleep(0.5)
    await first.aclose()  # "crash" mid-regeneration
    record = await store.load("bot-1")
    assert record is not None and record.status is Status.REGENERATING

    backend = MockBackend()
    second, events = await started(backend, store=store)
    await second.drain()
    assert backend.methods() == ["regenerate_keys"]
    assert "regeneration_succeeded" in kinds(events)


async def test_stats_and_health_are_derived_from_events(started: Starter) -> None:
    """get_session_stats counts what the events say; get_session_health reads the window."""
    backend = MockBackend()
    manager, _ = await started(backend)
    await manager.decrypt_ok("bot-1", PEER_A)
    await manager.observe(bad_mac())
    await manager.drain()
    stats = manager.get_session_stats()
    assert stats.overall.decrypt_ok == 1
    assert stats.sessions["bot-1"].by_category == {"bad_mac": 1}
    assert stats.sessions["bot-1"].resends == 1
    health = manager.get_session_health("bot-1")
    assert health.errors_in_window == 1 and health.last_error == "bad_mac"


async def test_seed_regenerate_refuses_a_corrupted_session(started: Starter) -> None:
    """regenerate_session_keys works on a live session and refuses a corrupted one (it needs re-pairing)."""
    backend = MockBackend(
        lambda c: (_ for _ in ()).throw(BackendError("no")) if c.method == "regenerate_keys" else None
    )
    manager, _ = await started(backend)
    assert not await manager.regenerate_session_keys("bot-1")  # fails three times: corrupted
    assert manager.get_session_health("bot-1").status is Status.CORRUPTED
    calls = backend.methods().count("regenerate_keys")
    assert not await manager.regenerate_session_keys("bot-1")
    assert backend.methods().count("regenerate_keys") == calls


async def test_decrypt_ok_with_a_message_id_resolves_that_message() -> None:
    """The seed-style ``decrypt_ok`` takes the message id, so a message that failed ends resolved by the sender."""
    from sessionmgr.events import MessageOutcome

    outcomes: list[MessageOutcome] = []
    async with SessionManager(MockBackend()) as manager:
        manager.bus.subscribe(lambda e: outcomes.append(e) if isinstance(e, MessageOutcome) else None)
        await manager.handle_crypto_error("bot-1", "Bad MAC", peer="p@s.whatsapp.net", message_id="M1")
        await asyncio.sleep(1)
        await manager.decrypt_ok("bot-1", peer="p@s.whatsapp.net", message_id="M1")
        await manager.drain()
    assert [(o.message_id, o.outcome) for o in outcomes] == [("M1", "resolved_sender")]
