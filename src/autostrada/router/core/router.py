"""The sans-I/O router: :class:`Router`.

A driver (the asyncio listeners) uses it like this::

    router = Router(RouterConfig.development())
    session = router.attach({"peer": "tcp:127.0.0.1:5000", "serializer": "json"})
    for peer, message in router.receive(session, message, now=loop.time()):
        send(peer, message)            # then close every peer whose .closing is True
    ...
    router.detach(session, now)        # transport gone, cleanly or not

Rules for drivers:

* Time only enters as ``now`` (seconds, monotonic). After every call, re-arm one timer
  at :meth:`Router.next_deadline` and call :meth:`Router.tick` when it fires.
* Every entry point returns the messages to send, in order, as ``(session, message)``
  pairs; none raises for anything a peer does.
* After sending a batch, close the transport of every session whose ``closing`` is
  true — the session passed in and every session in the batch (a client's ABORT closes
  its session without any reply). Messages for a closing session are its last ones.
* A client's GOODBYE is echoed and ends its session, but not its transport: the
  session is back in state ``NEW`` (same handle, a new session id at the next HELLO),
  and a new HELLO may follow on the same connection. Bound that wait as for a new
  connection. The router's own GOODBYE (kill, shutdown) and every ABORT close it.
* Fan-out returns the *same* EVENT object for every receiver of one subscription, so a
  driver may cache encodings by ``id(message)`` within one batch. Returned messages must
  not be mutated.
* A serializer's :class:`~autostrada.exceptions.ProtocolError` goes to
  :meth:`Router.protocol_violation`.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from autostrada.exceptions import ApplicationError, ProtocolError
from autostrada.ids import random_id
from autostrada.messages import (
    Abort,
    Authenticate,
    Goodbye,
    Hello,
    Message,
    Welcome,
)
from autostrada.messages import (
    Challenge as ChallengeMessage,
)

from .authentication import (
    BUILTIN_AUTHENTICATORS,
    Accept,
    AuthenticatorFactory,
    AuthenticatorReply,
    AuthOutcome,
    CallAuthenticator,
    Challenge,
    Deny,
    HelloInfo,
)
from .config import AuthMethodConfig, RealmConfig, RouterConfig
from .realm import Realm
from .replies import LIMIT_EXCEEDED
from .session import Outgoing, RouterSession, SessionState

__all__ = ["ROUTER_ROLES", "Router"]

log = logging.getLogger("autostrada.router")

# WELCOME.Details.roles (spec advanced/features.md), shared by every WELCOME (never
# mutated). x_acknowledged_event_delivery as Autobahn/Crossbar name it (DIVERGENCES.md).
ROUTER_ROLES: dict[str, Any] = {
    "broker": {
        "features": {
            "publisher_identification": True,
            "pattern_based_subscription": True,
            "session_meta_api": True,
            "subscription_meta_api": True,
            "subscriber_blackwhite_listing": True,
            "publisher_exclusion": True,
            "event_retention": True,
            "x_acknowledged_event_delivery": True,
        }
    },
    "dealer": {
        "features": {
            "caller_identification": True,
            "pattern_based_registration": True,
            "session_meta_api": True,
            "registration_meta_api": True,
            "shared_registration": True,
            "progressive_call_results": True,
            "progressive_call_invocations": True,
            "call_timeout": True,
            "call_canceling": True,
            "testament_meta_api": True,
            "registration_revocation": True,
        }
    },
}

_INTERNAL_ERROR = "wamp.error.runtime_error"


class Router:
    """Realms and sessions of an embedded router, driven with messages.

    Args:
        config: the router configuration.
        authenticators: config class -> authenticator factory; defaults to
            :data:`~.authentication.BUILTIN_AUTHENTICATORS` (anonymous, ticket, wampcra,
            cryptosign, scram).
        wall_clock_offset: ``time.time() - time.monotonic()`` at start, so that the
            ``created`` timestamps of the meta API can be made from ``now`` without the
            core reading a clock.
        rng: random source of the ``random`` invocation policy (tests pass a seeded one).
    """

    def __init__(
        self,
        config: RouterConfig,
        *,
        authenticators: Mapping[type[AuthMethodConfig], AuthenticatorFactory] | None = None,
        wall_clock_offset: float = 0.0,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self._authenticators = dict(
            BUILTIN_AUTHENTICATORS if authenticators is None else authenticators
        )
        self._offset = wall_clock_offset
        self._rng = rng if rng is not None else random.Random()
        self._session_ids: set[int] = set()
        # Pending CHALLENGEs: session -> deadline, and a heap of (deadline, seq, session)
        # whose entries are live only while they match the dict (cleaned lazily).
        self._challenged: dict[RouterSession, float] = {}
        self._challenge_heap: list[tuple[float, int, RouterSession]] = []
        self._challenge_seq = itertools.count()
        self.realms: dict[str, Realm] = {}
        for realm_config in config.realms:
            self.add_realm(realm_config)

    def add_realm(self, config: RealmConfig) -> Realm:
        """Start a realm (at startup or later). Its name must not be in use."""
        if config.name in self.realms:
            raise ValueError(f"Router.add_realm: realm {config.name!r} already exists")
        realm = Realm(config, self.config.limits, self._iso_time, self._rng, self._end)
        self.realms[config.name] = realm
        return realm

    def _iso_time(self, now: float) -> str:
        moment = datetime.fromtimestamp(max(now + self._offset, 0.0), UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    # ----------------------------------------------------------------------------------
    # Driver API

    def attach(self, transport_info: Mapping[str, Any], context: Any = None) -> RouterSession:
        """Create the handle of a new connection.

        Args:
            transport_info: what authentication, authorization and the meta API may
                need: e.g. ``type`` (``websocket``/``rawsocket``), ``peer``, ``is_secure``,
                ``serializer``, ``channel_binding``. Scalar items appear in
                ``wamp.session.get``; others only reach authenticators.
                ``channel_binding`` maps a TLS channel binding type (``"tls-unique"``,
                ``"tls-exporter"``) to the connection's 32-byte channel id, as
                :func:`autostrada.auth.tls_channel_id` makes it; leave out a type the
                connection cannot provide (cryptosign then refuses to bind to it).
            context: any object the driver wants back on ``session.context``.
        """
        return RouterSession(transport_info, context)

    def receive(self, session: RouterSession, message: Message, now: float) -> Outgoing:
        """Handle one message from ``session``; return what to send, to whom.

        Never raises: a protocol violation aborts ``session`` (ABORT
        ``wamp.error.protocol_violation`` with ``details.message``) and leaves the other
        sessions alone.
        """
        state = session.state
        if state is SessionState.CLOSED:
            return []
        try:
            if state is SessionState.ESTABLISHED:
                realm = session.realm
                assert realm is not None
                # The realm's handlers first: every CALL, YIELD, PUBLISH... takes this path.
                routed = realm.handlers.get(type(message))
                if routed is not None:
                    return routed(session, message, now)
                handler = _ESTABLISHED.get(type(message))
                if handler is None:
                    return realm.dispatch(session, message, now)  # raises ProtocolError
                return handler(self, session, message, now)
            handler = _HANDSHAKE.get(type(message))
            if handler is None:
                raise ProtocolError(
                    f"{message.TYPE.name} received before the session was established"
                )
            return handler(self, session, message, now)
        except ProtocolError as exc:
            return self._violation(session, str(exc), now)
        except Exception:
            log.exception("internal error handling %r from %r", message, session)
            return self._internal_error(session, now)

    def protocol_violation(self, session: RouterSession, error: Exception, now: float) -> Outgoing:
        """The driver could not decode a message of ``session``: abort it.

        Returns the ABORT for ``session`` plus what its end means for other sessions.
        """
        if session.state is SessionState.CLOSED:
            return []
        return self._violation(session, str(error), now)

    def detach(self, session: RouterSession, now: float) -> Outgoing:
        """The transport of ``session`` is gone (cleanly or not): clean up after it.

        Its registrations, subscriptions and calls go; callers waiting on it get ERROR at
        once, its callees get INTERRUPT; its testaments and the meta events are published.
        """
        if session.state is SessionState.CLOSED:
            return []
        try:
            return self._end(session, now)
        except Exception:  # pragma: no cover - only on a router bug
            log.exception("internal error detaching %r", session)
            return []

    def next_deadline(self) -> float | None:
        """When :meth:`tick` next has work (a call or challenge timeout), or ``None``."""
        # Called after every batch of messages: a plain loop, no list, no min().
        earliest = None
        heap = self._challenge_heap
        if heap:
            while heap and self._challenged.get(heap[0][2]) != heap[0][0]:
                heapq.heappop(heap)
            if heap:
                earliest = heap[0][0]
        for realm in self.realms.values():
            deadline = realm.dealer.next_deadline()
            if deadline is not None and (earliest is None or deadline < earliest):
                earliest = deadline
        return earliest

    def tick(self, now: float) -> Outgoing:
        """Fire the timeouts due at ``now``.

        Calls: ERROR ``wamp.error.timeout`` and INTERRUPTs. Challenges not answered within
        ``RouterLimits.challenge_timeout``: ABORT ``wamp.error.authentication_failed``.
        """
        out = self._expire_challenges(now)
        for realm in self.realms.values():
            try:
                out.extend(realm.dealer.tick(now))
            except Exception:  # pragma: no cover - only on a router bug
                log.exception("internal error firing timeouts of realm %r", realm.name)
        return out

    def shutdown(
        self,
        now: float,
        reason: str = ApplicationError.SYSTEM_SHUTDOWN,
        message: str | None = None,
    ) -> Outgoing:
        """Send GOODBYE to every established session and close them all."""
        out: Outgoing = []
        for realm in self.realms.values():
            for session in list(realm.sessions.values()):
                out.extend(realm.kill(session, reason, message, now))
        return out

    def _arm_challenge(self, session: RouterSession, now: float) -> None:
        # A client that never answers must not hold its session forever (DESIGN.md §6).
        deadline = now + self.config.limits.challenge_timeout
        self._challenged[session] = deadline
        heapq.heappush(self._challenge_heap, (deadline, next(self._challenge_seq), session))
        # Entries of answered or vanished challenges stay until popped; rebuild the heap
        # when they outnumber the live ones, so that it holds no old session for long.
        if len(self._challenge_heap) > 64 + 2 * len(self._challenged):
            self._challenge_heap = [
                (d, next(self._challenge_seq), s) for s, d in self._challenged.items()
            ]
            heapq.heapify(self._challenge_heap)

    def _expire_challenges(self, now: float) -> Outgoing:
        out: Outgoing = []
        heap = self._challenge_heap
        while heap and heap[0][0] <= now:
            deadline, _, session = heapq.heappop(heap)
            if self._challenged.get(session) != deadline:
                continue  # answered, re-challenged or gone since
            timeout = self.config.limits.challenge_timeout
            text = f"no AUTHENTICATE within {timeout:g} s of the CHALLENGE"
            out.extend(self._abort(session, ApplicationError.AUTHENTICATION_FAILED, text, now))
        return out

    # ----------------------------------------------------------------------------------
    # Ending sessions

    def _end(self, session: RouterSession, now: float) -> Outgoing:
        """Close ``session``; if it was established, clean up its realm state."""
        was_established = session.established
        session.state = SessionState.CLOSED
        session.authenticator = None
        self._challenged.pop(session, None)
        self._session_ids.discard(session.session_id)
        if was_established and session.realm is not None:
            return session.realm.leave(session, now)
        return []

    def _abort(self, session: RouterSession, reason: str, text: str, now: float) -> Outgoing:
        out: Outgoing = [(session, Abort({"message": text}, reason))]
        out.extend(self._end(session, now))
        return out

    def _violation(self, session: RouterSession, text: str, now: float) -> Outgoing:
        # Spec "Protocol Errors": ABORT, dispose of everything, drop the connection.
        return self._abort(session, ApplicationError.PROTOCOL_VIOLATION, text, now)

    def _internal_error(self, session: RouterSession, now: float) -> Outgoing:
        try:
            return self._abort(session, _INTERNAL_ERROR, "internal router error", now)
        except Exception:  # pragma: no cover - a bug while cleaning up after a bug
            log.exception("internal error aborting %r", session)
            session.state = SessionState.CLOSED
            return [(session, Abort({"message": "internal router error"}, _INTERNAL_ERROR))]

    # ----------------------------------------------------------------------------------
    # Handshake: HELLO, CHALLENGE/AUTHENTICATE, WELCOME/ABORT

    def _hello(self, session: RouterSession, message: Hello, now: float) -> Outgoing:
        if session.state is not SessionState.NEW:
            raise ProtocolError("HELLO received while authenticating")
        realm = self.realms.get(message.realm)
        if realm is None:
            return self._abort(
                session,
                ApplicationError.NO_SUCH_REALM,
                f"no realm {message.realm!r} exists on this router",
                now,
            )
        limit = self.config.limits.max_sessions
        if len(self._session_ids) >= limit:
            return self._abort(
                session,
                LIMIT_EXCEEDED,
                f"the router holds its maximum of {limit} sessions (RouterLimits.max_sessions)",
                now,
            )
        details = message.details
        if not session.set_roles(details["roles"]):
            raise ProtocolError(
                "HELLO.Details.roles announces none of caller, callee, publisher, subscriber"
            )
        session.hello_details = details
        session.realm_name = realm.name
        session.session_id = self._new_session_id()
        offered = details.get("authmethods") or ["anonymous"]
        authenticator = None
        for method in offered:
            method_config = realm.config.auth_method(method)
            factory = (
                None if method_config is None else self._authenticators.get(type(method_config))
            )
            if factory is not None:
                assert method_config is not None
                authenticator = factory(method_config)
                break
        if authenticator is None:
            return self._abort(
                session,
                ApplicationError.NO_MATCHING_AUTH_METHOD,
                f"cannot authenticate using any of the offered authmethods {offered}",
                now,
            )
        session.authenticator = authenticator
        info = HelloInfo(
            realm=realm.name,
            authid=details.get("authid"),
            authrole=details.get("authrole"),
            authextra=details.get("authextra") or {},
            details=details,
            session_id=session.session_id,
            transport=session.transport_info,
            timestamp=self._iso_time(now),
        )
        return self._apply(session, self._outcome(lambda: authenticator.hello(info)), now)

    def _authenticate(self, session: RouterSession, message: Authenticate, now: float) -> Outgoing:
        authenticator = session.authenticator
        if session.state is not SessionState.CHALLENGING or authenticator is None:
            raise ProtocolError("AUTHENTICATE received without a CHALLENGE pending")
        return self._apply(
            session,
            self._outcome(lambda: authenticator.authenticate(message.signature, message.extra)),
            now,
        )

    def _new_session_id(self) -> int:
        session_id = random_id()
        while session_id in self._session_ids:  # pragma: no cover - 1 in 2**53
            session_id = random_id()
        self._session_ids.add(session_id)
        return session_id

    @staticmethod
    def _outcome(step: Callable[[], AuthOutcome]) -> AuthOutcome:
        try:
            return step()
        except Exception as exc:  # an authenticator bug must not take the router down
            log.exception("authenticator failed")
            return Deny(ApplicationError.AUTHENTICATION_FAILED, f"authentication failed: {exc}")

    def _apply(self, session: RouterSession, outcome: AuthOutcome, now: float) -> Outgoing:
        self._challenged.pop(session, None)
        if isinstance(outcome, Accept):
            return self._welcome(session, outcome, now)
        if isinstance(outcome, Deny):
            return self._abort(session, outcome.reason, outcome.message, now)
        if isinstance(outcome, Challenge):
            session.state = SessionState.CHALLENGING
            self._arm_challenge(session, now)
            return [(session, ChallengeMessage(outcome.method, outcome.extra))]
        return self._call_authenticator(session, outcome, now)

    def _call_authenticator(
        self, session: RouterSession, outcome: CallAuthenticator, now: float
    ) -> Outgoing:
        """Dynamic authentication: call the authenticator procedure as the router."""
        realm = self.realms.get(outcome.realm or session.realm_name)
        if realm is None:
            return self._abort(
                session,
                ApplicationError.NO_SUCH_REALM,
                f"the authenticator realm {outcome.realm!r} does not exist",
                now,
            )
        session.state = SessionState.AUTHENTICATING

        def on_done(
            error: str | None, args: list[Any], kwargs: dict[str, Any], when: float
        ) -> Outgoing:
            if session.state is not SessionState.AUTHENTICATING:
                return []  # the peer left while the authenticator was thinking
            reply = AuthenticatorReply(error, args, kwargs)
            return self._apply(session, self._outcome(lambda: outcome.then(reply)), when)

        return realm.dealer.call_internal(
            outcome.procedure, outcome.args, outcome.kwargs, outcome.timeout, on_done, now
        )

    def _welcome(self, session: RouterSession, accept: Accept, now: float) -> Outgoing:
        realm = self.realms[session.realm_name]
        if not realm.authorizer.has_role(accept.authrole):
            return self._abort(
                session,
                ApplicationError.NO_SUCH_ROLE,
                f"realm {realm.name!r} has no role {accept.authrole!r}",
                now,
            )
        session.authid = accept.authid
        session.authrole = accept.authrole
        session.authmethod = accept.authmethod
        session.authprovider = accept.authprovider
        session.authextra = accept.authextra
        session.authenticator = None
        session.state = SessionState.ESTABLISHED
        details: dict[str, Any] = {
            "realm": realm.name,
            "authid": accept.authid,
            "authrole": accept.authrole,
            "authmethod": accept.authmethod,
            "authprovider": accept.authprovider,
            "roles": ROUTER_ROLES,
            "agent": self.config.agent,
        }
        if accept.authextra is not None:
            details["authextra"] = accept.authextra
        out: Outgoing = [(session, Welcome(session.session_id, details))]
        out.extend(realm.join(session))
        return out

    def _client_abort(self, session: RouterSession, message: Abort, now: float) -> Outgoing:
        # Spec: no response to an ABORT. The session ends like a lost one.
        return self._end(session, now)

    def _goodbye(self, session: RouterSession, message: Goodbye, now: float) -> Outgoing:
        # Spec "GOODBYE": reply with GOODBYE; the session is over, the transport is not:
        # it may carry a new session (a new HELLO), as on Crossbar. Only the client's
        # GOODBYE leaves it open; the router's own (kill, shutdown) closes it.
        out: Outgoing = [(session, Goodbye({}, ApplicationError.GOODBYE_AND_OUT))]
        out.extend(self._end(session, now))
        session.renew()
        return out

    def _hello_again(self, session: RouterSession, message: Hello, now: float) -> Outgoing:
        raise ProtocolError("HELLO received after the session was established")

    def _authenticate_again(
        self, session: RouterSession, message: Authenticate, now: float
    ) -> Outgoing:
        raise ProtocolError("AUTHENTICATE received after the session was established")

    def _goodbye_early(self, session: RouterSession, message: Goodbye, now: float) -> Outgoing:
        raise ProtocolError("GOODBYE received before the session was established")


_Handler = Callable[[Router, RouterSession, Any, float], Outgoing]

_HANDSHAKE: dict[type[Message], _Handler] = {
    Hello: Router._hello,
    Authenticate: Router._authenticate,
    Abort: Router._client_abort,
    Goodbye: Router._goodbye_early,
}
_ESTABLISHED: dict[type[Message], _Handler] = {
    Hello: Router._hello_again,
    Authenticate: Router._authenticate_again,
    Abort: Router._client_abort,
    Goodbye: Router._goodbye,
}
