"""When to try connecting again, and when to give up: the Component's retry policy, sans I/O.

A :class:`RetryPolicy` holds the five retry settings of an Autobahn transport
(``max_retries``, ``initial_retry_delay``, ``retry_delay_growth``,
``retry_delay_jitter``, ``max_retry_delay``) with Autobahn's defaults. A
:class:`Backoff` is one transport's state under that policy: how many attempts were
made and how long to wait before the next one::

    backoff = Backoff(RetryPolicy(max_retries=3))
    while (delay := backoff.next_delay()) is not None:
        sleep(delay)          # the driver's job: this module has no clock
        if connect():
            backoff.reset()   # after every successful join
            ...

The delays: the first attempt is immediate; retry *n* (n = 1, 2, ...) waits
``initial_retry_delay * retry_delay_growth ** (n - 1)``, capped at ``max_retry_delay``,
then spread by the relative jitter: multiplied by a factor drawn uniformly from
``[1 - jitter, 1 + jitter]`` (and capped again, so the cap is never exceeded).
``max_retries`` counts *retries*: ``-1`` retries forever, ``0`` makes one attempt,
``N`` makes ``1 + N`` attempts.

Autobahn differs in two details, both deliberate here: its first retry already waits
``initial_retry_delay * retry_delay_growth``, and its Gaussian jitter compounds from one
delay into the next (a random walk). Here the first retry waits what the setting's name
and Autobahn's documentation say, and the jitter never accumulates.

:class:`LostSessionBackoff` is the guard against a router that accepts every session
and drops it at once: how long to wait before reconnecting after a session that was
lost ``lasted`` seconds after it joined. Nothing after a session that stayed joined
:data:`STABLE_SESSION` seconds; after sessions lost sooner, one after another, the
growing delays of the same policy (never exhausted: every one of them joined)::

    losses = LostSessionBackoff(policy)
    ...                                   # a session joined, and was lost
    sleep(losses.next_delay(lasted))      # 0 for a stable one: reconnect at once

:func:`is_fatal_by_default` is the default ``is_fatal`` policy of a Component: which
connection failures retrying cannot fix.
"""

from __future__ import annotations

import dataclasses
import math
import random as random_module
from collections.abc import Callable, Iterator

from autostrada.exceptions import (
    ApplicationError,
    AuthenticationFailed,
    InvalidState,
    SessionClosed,
    WampError,
)
from autostrada.session.features import AUTHENTICATION_FAILURE_REASONS

__all__ = [
    "FATAL_REASONS",
    "STABLE_SESSION",
    "Backoff",
    "LostSessionBackoff",
    "RetryPolicy",
    "is_fatal_by_default",
    "retry_delays",
]

FATAL_REASONS: frozenset[str] = AUTHENTICATION_FAILURE_REASONS | {
    ApplicationError.NO_SUCH_REALM,
    # Autobahn's and Crossbar's ABORT reason when a client could not answer a CHALLENGE.
    "wamp.error.cannot_authenticate",
}
"""ABORT reasons (joining) that no retry can fix: no such realm, refused credentials,
no authentication method in common."""

STABLE_SESSION = 1.0
"""Seconds a session must stay joined to be stable: losing it afterwards earns an
immediate reconnection; losing it sooner backs off (:class:`LostSessionBackoff`)."""


def _number(name: str, value: object, minimum: float, maximum: float = math.inf) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not minimum <= value <= maximum
    ):
        bound = f"between {minimum:g} and {maximum:g}" if maximum < math.inf else f">= {minimum:g}"
        raise ValueError(f"{name} must be a number {bound}, got {value!r}")
    return float(value)


@dataclasses.dataclass(frozen=True, slots=True)
class RetryPolicy:
    """The retry settings of one transport, checked at construction (Autobahn's defaults).

    Attributes:
        max_retries: retries after the first attempt; ``-1`` (default) forever.
        initial_retry_delay: seconds before the first retry (default 1.5).
        retry_delay_growth: each further retry waits this many times longer (default 1.5).
        retry_delay_jitter: relative spread of each delay, 0..1 (default 0.1: ±10 %).
        max_retry_delay: no delay is longer than this many seconds (default 300).

    Raises:
        ValueError: a setting has the wrong type or is out of range (named in the message).
    """

    max_retries: int = -1
    initial_retry_delay: float = 1.5
    retry_delay_growth: float = 1.5
    retry_delay_jitter: float = 0.1
    max_retry_delay: float = 300.0

    def __post_init__(self) -> None:
        if type(self.max_retries) is not int or self.max_retries < -1:
            raise ValueError(
                "max_retries must be an integer >= -1 (-1: retry forever), "
                f"got {self.max_retries!r}"
            )
        _number("initial_retry_delay", self.initial_retry_delay, 0.0)
        _number("retry_delay_growth", self.retry_delay_growth, 1.0)
        _number("retry_delay_jitter", self.retry_delay_jitter, 0.0, 1.0)
        _number("max_retry_delay", self.max_retry_delay, 0.0)

    @property
    def max_attempts(self) -> int | None:
        """Attempts allowed in a row without a join (``None``: no limit)."""
        return None if self.max_retries == -1 else self.max_retries + 1

    def nominal_delay(self, retry: int) -> float:
        """Seconds before retry number ``retry`` (1 = the first retry), without jitter."""
        if retry < 1:
            return 0.0
        # Compare exponents rather than computing a huge power: growth ** 2000 overflows.
        delay = self.initial_retry_delay
        if self.retry_delay_growth > 1.0 and delay > 0.0:
            limit = math.log(self.max_retry_delay / delay) if self.max_retry_delay > 0 else 0.0
            if (retry - 1) * math.log(self.retry_delay_growth) >= limit:
                return self.max_retry_delay
            delay *= self.retry_delay_growth ** (retry - 1)
        return min(delay, self.max_retry_delay)


class Backoff:
    """One transport's attempts and delays under a :class:`RetryPolicy`.

    Args:
        policy: the settings.
        random: returns a float in [0, 1) for the jitter (default :func:`random.random`);
            tests pass a fixed function.
    """

    def __init__(
        self, policy: RetryPolicy | None = None, random: Callable[[], float] | None = None
    ) -> None:
        self.policy = policy if policy is not None else RetryPolicy()
        self._random = random if random is not None else random_module.random
        self.attempts = 0
        """Attempts made since the last :meth:`reset`."""
        self.given_up = False
        """True after :meth:`give_up`: a fatal error, no attempt is worth making."""

    @property
    def exhausted(self) -> bool:
        """True when no further attempt is allowed (retries used up, or given up)."""
        limit = self.policy.max_attempts
        return self.given_up or (limit is not None and self.attempts >= limit)

    def next_delay(self) -> float | None:
        """Count one more attempt and return the seconds to wait before making it.

        Returns ``0.0`` for the first attempt, ``None`` when no attempt is left
        (nothing is counted then).
        """
        if self.exhausted:
            return None
        retry = self.attempts
        self.attempts += 1
        delay = self.policy.nominal_delay(retry)
        jitter = self.policy.retry_delay_jitter
        if delay > 0.0 and jitter > 0.0:
            delay *= 1.0 + jitter * (2.0 * self._random() - 1.0)
        return min(delay, self.policy.max_retry_delay)

    def reset(self) -> None:
        """Start again from the first attempt (after a successful join)."""
        self.attempts = 0
        self.given_up = False

    def give_up(self) -> None:
        """Make no further attempt (the last error was fatal) until :meth:`reset`."""
        self.given_up = True


class LostSessionBackoff:
    """The delays before reconnecting after lost sessions, under a :class:`RetryPolicy`.

    Every lost session counts as one attempt of a :class:`Backoff` with the same
    settings, reset first by a session that stayed joined :data:`STABLE_SESSION`
    seconds or longer. So a stable session is reconnected at once, and so is the first
    session lost at all (it may be bad luck); each further session lost before it was
    stable waits longer: ``initial_retry_delay``, then growing by ``retry_delay_growth``
    up to ``max_retry_delay``. It is never exhausted: ``max_retries`` counts attempts
    that did not join, and these did.

    Args:
        policy: the settings (its ``max_retries`` is ignored).
        random: the jitter source, as for :class:`Backoff`.
    """

    def __init__(
        self, policy: RetryPolicy | None = None, random: Callable[[], float] | None = None
    ) -> None:
        policy = policy if policy is not None else RetryPolicy()
        self._backoff = Backoff(dataclasses.replace(policy, max_retries=-1), random)

    def next_delay(self, lasted: float) -> float:
        """Count a session lost ``lasted`` seconds after it joined; return the seconds to
        wait before reconnecting (``0.0``: at once)."""
        if lasted >= STABLE_SESSION:
            self._backoff.reset()
        delay = self._backoff.next_delay()
        assert delay is not None  # never exhausted: it retries forever and never gives up
        return delay


def retry_delays(
    policy: RetryPolicy | None = None, random: Callable[[], float] | None = None
) -> Iterator[float]:
    """Yield the wait before each attempt: ``0.0`` first, then one per allowed retry."""
    backoff = Backoff(policy, random)
    while (delay := backoff.next_delay()) is not None:
        yield delay


def is_fatal_by_default(
    error: BaseException,
    is_certificate_error: Callable[[BaseException], bool] | None = None,
) -> bool:
    """Tell whether retrying cannot fix the connection failure ``error``.

    Fatal: refused or impossible authentication (:class:`AuthenticationFailed`, or an
    ABORT with a reason in :data:`FATAL_REASONS`, such as ``wamp.error.no_such_realm``);
    a TLS certificate error (when ``is_certificate_error`` says so: the asyncio driver
    passes :func:`autostrada.aio.connect.is_certificate_error`); misuse
    (:class:`InvalidState`) and programming errors (anything that is neither a
    :class:`WampError` nor an :class:`OSError`, e.g. a ``TypeError`` in a session
    factory). Everything else — refused or lost connections, timeouts, handshake
    failures, other ABORT reasons — is worth another attempt.
    """
    if isinstance(error, AuthenticationFailed | InvalidState):
        return True
    if isinstance(error, SessionClosed) and error.reason in FATAL_REASONS:
        return True
    if isinstance(error, ApplicationError) and error.error in FATAL_REASONS:
        return True
    if is_certificate_error is not None and is_certificate_error(error):
        return True
    return not isinstance(error, WampError | OSError)
