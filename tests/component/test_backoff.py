"""The retry policy, sans I/O: delays, growth, cap, jitter, attempt counts, fatal errors,
and the delays after sessions lost at once."""

from __future__ import annotations

import itertools
import math
import ssl

import pytest

from autostrada import backoff as backoff_module
from autostrada.backoff import (
    FATAL_REASONS,
    STABLE_SESSION,
    Backoff,
    LostSessionBackoff,
    RetryPolicy,
    is_fatal_by_default,
    retry_delays,
)
from autostrada.exceptions import (
    ApplicationError,
    AuthenticationFailed,
    InvalidState,
    ProtocolError,
    SessionClosed,
    TransportError,
)


def middle() -> float:
    """No jitter: the factor drawn is exactly 1."""
    return 0.5


def test_autobahn_defaults() -> None:
    policy = RetryPolicy()
    assert (
        policy.max_retries,
        policy.initial_retry_delay,
        policy.retry_delay_growth,
        policy.retry_delay_jitter,
        policy.max_retry_delay,
    ) == (-1, 1.5, 1.5, 0.1, 300.0)
    assert policy.max_attempts is None


def test_first_attempt_is_immediate_then_initial_delay_grows() -> None:
    delays = list(itertools.islice(retry_delays(RetryPolicy(), middle), 5))
    assert delays == pytest.approx([0.0, 1.5, 2.25, 3.375, 5.0625])


def test_delays_are_capped() -> None:
    policy = RetryPolicy(initial_retry_delay=1.0, retry_delay_growth=2.0, max_retry_delay=5.0)
    delays = list(itertools.islice(retry_delays(policy, middle), 7))
    assert delays == [0.0, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0]


def test_huge_retry_numbers_do_not_overflow() -> None:
    policy = RetryPolicy()
    assert policy.nominal_delay(100_000) == 300.0
    assert policy.nominal_delay(0) == 0.0


def test_cap_below_initial_delay_and_zero_cap() -> None:
    assert RetryPolicy(initial_retry_delay=10.0, max_retry_delay=2.0).nominal_delay(1) == 2.0
    assert RetryPolicy(max_retry_delay=0.0).nominal_delay(3) == 0.0


def test_growth_of_one_and_zero_initial_delay() -> None:
    flat = RetryPolicy(initial_retry_delay=0.5, retry_delay_growth=1.0)
    assert [flat.nominal_delay(n) for n in range(1, 4)] == [0.5, 0.5, 0.5]
    zero = list(itertools.islice(retry_delays(RetryPolicy(initial_retry_delay=0.0)), 3))
    assert zero == [0.0, 0.0, 0.0]


@pytest.mark.parametrize(("draw", "factor"), [(0.0, 0.9), (0.5, 1.0), (0.999999, 1.1)])
def test_jitter_is_relative_and_bounded(draw: float, factor: float) -> None:
    backoff = Backoff(RetryPolicy(initial_retry_delay=2.0), lambda: draw)
    assert backoff.next_delay() == 0.0
    assert backoff.next_delay() == pytest.approx(2.0 * factor, rel=1e-5)


def test_jitter_never_exceeds_the_cap() -> None:
    backoff = Backoff(RetryPolicy(initial_retry_delay=10.0, max_retry_delay=10.0), lambda: 0.99)
    backoff.next_delay()
    assert backoff.next_delay() == 10.0


def test_jitter_does_not_compound() -> None:
    # Autobahn's Gaussian jitter feeds each jittered delay into the next one; here
    # every delay is its nominal value times its own factor.
    draws = iter([0.0, 1.0, 0.5])
    backoff = Backoff(
        RetryPolicy(initial_retry_delay=1.0, retry_delay_growth=2.0), lambda: next(draws)
    )
    assert [backoff.next_delay() for _ in range(4)] == pytest.approx([0.0, 0.9, 2.2, 4.0])


def test_default_jitter_source_stays_in_range() -> None:
    backoff = Backoff(RetryPolicy(initial_retry_delay=1.0, retry_delay_growth=1.0))
    backoff.next_delay()
    delays = [backoff.next_delay() for _ in range(200)]
    assert all(0.9 <= d <= 1.1 for d in delays)  # type: ignore[operator]
    assert len(set(delays)) > 1


@pytest.mark.parametrize(("max_retries", "attempts"), [(0, 1), (1, 2), (3, 4)])
def test_max_retries_counts_retries_not_attempts(max_retries: int, attempts: int) -> None:
    policy = RetryPolicy(max_retries=max_retries)
    assert policy.max_attempts == attempts
    assert len(list(retry_delays(policy))) == attempts


def test_unlimited_retries() -> None:
    backoff = Backoff(RetryPolicy(max_retries=-1))
    for _ in range(1000):
        assert backoff.next_delay() is not None
    assert not backoff.exhausted


def test_exhausted_backoff_counts_nothing_more() -> None:
    backoff = Backoff(RetryPolicy(max_retries=1))
    assert backoff.next_delay() == 0.0
    assert backoff.next_delay() is not None
    assert backoff.exhausted
    assert backoff.next_delay() is None
    assert backoff.attempts == 2


def test_reset_starts_afresh() -> None:
    backoff = Backoff(RetryPolicy(max_retries=1), middle)
    backoff.next_delay()
    backoff.next_delay()
    backoff.reset()
    assert backoff.attempts == 0
    assert [backoff.next_delay(), backoff.next_delay()] == [0.0, 1.5]


def test_give_up_until_reset() -> None:
    backoff = Backoff()
    backoff.give_up()
    assert backoff.exhausted and backoff.given_up
    assert backoff.next_delay() is None
    backoff.reset()
    assert backoff.next_delay() == 0.0


# ------------------------------------------------------------- sessions lost at once

SHORT = STABLE_SESSION / 2  # lost before it was stable


def test_sessions_lost_at_once_wait_longer_and_longer() -> None:
    """The first is reconnected at once, then the policy's delays, capped, never
    exhausted (every one of them joined): max_retries does not count them."""
    policy = RetryPolicy(
        max_retries=0, initial_retry_delay=0.5, retry_delay_growth=2.0, max_retry_delay=3.0
    )
    losses = LostSessionBackoff(policy, middle)
    assert [losses.next_delay(SHORT) for _ in range(7)] == [0.0, 0.5, 1.0, 2.0, 3.0, 3.0, 3.0]
    assert losses.next_delay(0.0) == 3.0


def test_a_stable_session_is_reconnected_at_once_and_resets_the_delays() -> None:
    losses = LostSessionBackoff(RetryPolicy(), middle)
    assert [losses.next_delay(SHORT) for _ in range(3)] == [0.0, 1.5, 2.25]
    assert losses.next_delay(STABLE_SESSION) == 0.0  # the threshold itself is stable
    assert losses.next_delay(3600.0) == 0.0
    # The series starts again: the stable session was its first.
    assert [losses.next_delay(SHORT) for _ in range(2)] == [1.5, 2.25]


def test_stable_sessions_alone_never_wait() -> None:
    losses = LostSessionBackoff()
    assert {losses.next_delay(STABLE_SESSION * 2) for _ in range(50)} == {0.0}


def test_lost_session_delays_are_jittered_like_attempts() -> None:
    losses = LostSessionBackoff(RetryPolicy(initial_retry_delay=2.0), lambda: 0.0)
    assert [losses.next_delay(SHORT), losses.next_delay(SHORT)] == [0.0, pytest.approx(1.8)]


def test_the_threshold_is_read_when_a_session_is_lost(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests lower it: the module constant is the one rule, read at each loss."""
    losses = LostSessionBackoff(RetryPolicy(), middle)
    losses.next_delay(SHORT)
    monkeypatch.setattr(backoff_module, "STABLE_SESSION", SHORT)
    assert losses.next_delay(SHORT) == 0.0  # stable now


@pytest.mark.parametrize(
    ("settings", "name"),
    [
        ({"max_retries": -2}, "max_retries"),
        ({"max_retries": 1.0}, "max_retries"),
        ({"max_retries": True}, "max_retries"),
        ({"initial_retry_delay": -1}, "initial_retry_delay"),
        ({"initial_retry_delay": "1"}, "initial_retry_delay"),
        ({"initial_retry_delay": math.inf}, "initial_retry_delay"),
        ({"retry_delay_growth": 0.5}, "retry_delay_growth"),
        ({"retry_delay_jitter": 1.5}, "retry_delay_jitter"),
        ({"retry_delay_jitter": -0.1}, "retry_delay_jitter"),
        ({"max_retry_delay": math.nan}, "max_retry_delay"),
        ({"max_retry_delay": False}, "max_retry_delay"),
    ],
)
def test_bad_settings_name_themselves(settings: dict[str, object], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        RetryPolicy(**settings)  # type: ignore[arg-type]


def test_float_and_int_settings_are_accepted() -> None:
    policy = RetryPolicy(initial_retry_delay=1, retry_delay_growth=2, max_retry_delay=0.25)
    assert policy.nominal_delay(1) == 0.25


@pytest.mark.parametrize(
    "error",
    [
        AuthenticationFailed("wrong ticket", "wamp.error.not_authorized"),
        AuthenticationFailed("no credentials for the method the router asked for"),
        SessionClosed("refused", "wamp.error.no_such_realm"),
        SessionClosed("refused", "wamp.error.no_auth_method"),
        SessionClosed("refused", "wamp.error.cannot_authenticate"),
        ApplicationError("wamp.error.no_such_realm"),
        InvalidState("join before attach"),
        TypeError("a bug in a session factory"),
        ValueError("a bug"),
    ],
)
def test_fatal_by_default(error: BaseException) -> None:
    assert is_fatal_by_default(error)


@pytest.mark.parametrize(
    "error",
    [
        TransportError("cannot connect: Connection refused"),
        ConnectionRefusedError(111, "refused"),
        TimeoutError(),
        ProtocolError("garbage"),
        SessionClosed("the router aborted the session", "wamp.close.system_shutdown"),
        SessionClosed("lost", None),
        ApplicationError("wamp.error.unavailable"),
    ],
)
def test_retried_by_default(error: BaseException) -> None:
    assert not is_fatal_by_default(error)


def test_certificate_errors_are_fatal_when_recognised() -> None:
    error = TransportError("TLS certificate verification failed")
    error.__cause__ = ssl.SSLCertVerificationError("unknown CA")
    assert not is_fatal_by_default(error)  # no predicate given: just a transport error
    assert is_fatal_by_default(error, lambda e: isinstance(e.__cause__, ssl.SSLError))


def test_fatal_reasons_cover_realm_and_authentication() -> None:
    assert {
        "wamp.error.no_such_realm",
        "wamp.error.not_authorized",
        "wamp.error.authentication_failed",
        "wamp.error.no_auth_method",
        "wamp.error.no_matching_auth_method",
    } <= FATAL_REASONS
