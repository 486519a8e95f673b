"""The router's side of the client session: every received message, in one table.

:data:`TRANSITIONS` maps ``(state, message type)`` to the handler that processes it.
A pair missing from the table is a protocol violation, except in ``GOODBYE_SENT``,
where the spec says to ignore what is not the GOODBYE echo (basic/sessions.md, state
chart transition 14; replies to our own requests are still matched there).

A handler checks everything before it changes anything, and raises
:class:`~autostrada.exceptions.ProtocolError` for a violation; ``receive()`` turns that
into ABORT ``wamp.error.protocol_violation``, a :class:`ProtocolViolation` event, the
failure of everything pending, and the ``FAILED`` state. Nothing escapes ``receive()``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar, cast

from autostrada.exceptions import (
    ApplicationError,
    AuthenticationFailed,
    ProtocolError,
    SessionClosed,
    WampError,
)
from autostrada.ids import SequentialIds, is_valid_id
from autostrada.messages import (
    Abort,
    Challenge,
    Error,
    Event,
    Goodbye,
    Interrupt,
    Invocation,
    Message,
    MessageType,
    Published,
    Registered,
    Result,
    Subscribed,
    Unregistered,
    Unsubscribed,
    Welcome,
)

from . import events as ev
from .features import AUTHENTICATION_FAILURE_REASONS, role_supports
from .state import ActiveInvocation, Handles, PendingRequest, RecentIds, SessionState

__all__ = ["TRANSITIONS", "SessionBase"]

T = MessageType
S = SessionState

PROTOCOL_VIOLATION: Final = ApplicationError.PROTOCOL_VIOLATION
GOODBYE_AND_OUT: Final = ApplicationError.GOODBYE_AND_OUT
CANCELED: Final = ApplicationError.CANCELED

# How many late-message ids we remember (calls completed by a local cancel, progressive
# invocations answered before their final chunk); the oldest are forgotten beyond this.
MAX_REMEMBERED_IDS: Final = 10_000

# Messages only a client sends: receiving one from the router is always a violation.
_CLIENT_ONLY = frozenset(
    {
        T.HELLO,
        T.AUTHENTICATE,
        T.PUBLISH,
        T.SUBSCRIBE,
        T.UNSUBSCRIBE,
        T.CALL,
        T.CANCEL,
        T.REGISTER,
        T.UNREGISTER,
        T.YIELD,
        T.EVENT_RECEIVED,
    }
)


def _type_name(code: int) -> str:
    try:
        return MessageType(code).name
    except ValueError:
        return str(code)


def _text(details: dict[str, Any], key: str) -> str | None:
    value = details.get(key)
    return value if isinstance(value, str) else None


class SessionBase:
    """State shared by the local API (``ClientSession``) and the router-message handlers."""

    __slots__ = (
        "_discarded_calls",
        "_error",
        "_events",
        "_finished_invocations",
        "_invocations",
        "_outbox",
        "_pending",
        "_realm",
        "_registrations",
        "_releases",
        "_request_ids",
        "_router_roles",
        "_session_id",
        "_state",
        "_subscriptions",
        "_welcome_details",
    )

    def __init__(self) -> None:
        self._state = S.CLOSED
        self._outbox: list[Message] = []
        self._events: list[ev.SessionEvent] = []
        self._request_ids = SequentialIds()
        # Our requests awaiting a reply, by request id (one id space for all types).
        self._pending: dict[int, PendingRequest] = {}
        # Calls completed locally by a cancel: their late RESULT/ERROR is ignored.
        self._discarded_calls = RecentIds(MAX_REMEMBERED_IDS)
        self._subscriptions = Handles()
        self._registrations = Handles()
        # What a failed UNSUBSCRIBE/UNREGISTER touches, and the error URI meaning
        # "the router does not have it" (then we drop it too).
        self._releases: dict[MessageType, tuple[Handles, str]] = {
            T.UNSUBSCRIBE: (self._subscriptions, ApplicationError.NO_SUCH_SUBSCRIPTION),
            T.UNREGISTER: (self._registrations, ApplicationError.NO_SUCH_REGISTRATION),
        }
        # The router's invocations we have not answered finally, by its request id.
        self._invocations: dict[int, ActiveInvocation] = {}
        # Progressive invocations answered before their final chunk arrived.
        self._finished_invocations = RecentIds(MAX_REMEMBERED_IDS)
        self._realm = ""
        self._session_id: int | None = None
        self._router_roles: dict[str, Any] = {}
        self._welcome_details: dict[str, Any] = {}
        self._error: WampError | None = None

    # --- the entry point for router messages -------------------------------------------

    def receive(self, message: Message) -> list[ev.SessionEvent]:
        """Process one message from the router and return the events it causes.

        Never raises for anything the router sent: a violation becomes ABORT
        ``wamp.error.protocol_violation`` in the outbox and a
        :class:`~autostrada.session.events.ProtocolViolation` event. Drain the outbox
        (``take_outgoing()``) afterwards: some messages are answered automatically.

        Args:
            message: a parsed message (from :func:`autostrada.messages.parse`).

        Raises:
            TypeError: ``message`` is not a :class:`~autostrada.messages.Message`.
        """
        if not isinstance(message, Message):
            raise TypeError(f"receive: expected a Message, got {type(message).__name__}")
        handler = _BY_STATE[self._state].get(message.TYPE, SessionBase._unexpected)
        try:
            handler(self, message)
        except ProtocolError as exc:
            self._violation(exc)
        events = self._events  # _take_events(), inlined: once per message
        self._events = []
        return events

    def _take_events(self) -> list[ev.SessionEvent]:
        events = self._events
        self._events = []
        return events

    # --- ending the session --------------------------------------------------------------

    def _violation(self, error: ProtocolError) -> None:
        if self._state is S.GOODBYE_SENT:
            # basic/sessions.md transition 14: SHUTTING DOWN ignores other messages.
            return
        self._outbox.append(Abort({"message": str(error)}, PROTOCOL_VIOLATION))
        self._events.append(ev.ProtocolViolation(error))
        self._end(PROTOCOL_VIOLATION, str(error), {}, False, error, S.FAILED)

    def _end(
        self,
        reason: str,
        message: str | None,
        details: dict[str, Any],
        was_clean: bool,
        error: WampError | None,
        state: SessionState,
    ) -> None:
        """End the session: fail everything pending, forget it all, report Closed."""
        joined = self._session_id is not None
        for request_id, request in self._pending.items():
            name = request.request_type.name
            failure = SessionClosed(
                f"{name} request {request_id} did not complete: the session ended ({reason})",
                reason,
            )
            self._events.append(ev.RequestAborted(request_id, request.request_type, failure))
        for request_id, invocation in self._invocations.items():
            if invocation.interrupt_mode is None:
                self._events.append(
                    ev.Interrupted(request_id, "killnowait", reason, session_ended=True)
                )
        self._pending.clear()
        self._invocations.clear()
        self._discarded_calls.clear()
        self._finished_invocations.clear()
        self._subscriptions.clear()
        self._registrations.clear()
        self._session_id = None
        self._router_roles = {}
        self._state = state
        self._error = error
        self._events.append(ev.Closed(reason, message, details, was_clean, joined, error))

    # --- helpers for handlers ------------------------------------------------------------

    def _pending_reply(self, request_id: int, expected: MessageType, what: str) -> PendingRequest:
        request = self._pending.get(request_id)
        if request is None:
            raise ProtocolError(f"{what} for request {request_id}, which is not pending")
        if request.request_type is not expected:
            raise ProtocolError(
                f"{what} for request {request_id}, which is a {request.request_type.name}"
                f" request, not {expected.name}"
            )
        return request

    @staticmethod
    def _revoked(details: dict[str, Any], key: str, handles: Handles, what: str) -> int:
        handle = details.get(key)
        if not is_valid_id(handle) or handle not in handles:
            raise ProtocolError(
                f"{what} revokes {key} {handle!r}, which this session does not hold"
            )
        assert isinstance(handle, int)
        handles.remove(handle)
        return handle

    # --- handlers: session establishment (basic/sessions.md, advanced/authentication.md)

    def _ignore(self, message: Message) -> None:
        pass

    def _unexpected(self, message: Message) -> None:
        if message.TYPE in _CLIENT_ONLY:
            raise ProtocolError(f"received {message.TYPE.name}, which a router never sends")
        raise ProtocolError(f"received {message.TYPE.name} in session state {self._state.name}")

    def _on_welcome(self, message: Welcome) -> None:
        roles = message.details.get("roles")
        if not isinstance(roles, dict) or not roles.keys() & {"broker", "dealer"}:
            raise ProtocolError("WELCOME.Details.roles announces neither broker nor dealer")
        details = message.details
        authextra = details.get("authextra")
        self._session_id = message.session_id
        self._router_roles = roles
        self._welcome_details = details
        self._realm = _text(details, "realm") or self._realm
        self._state = S.ESTABLISHED
        self._events.append(
            ev.Joined(
                session_id=message.session_id,
                realm=self._realm,
                authid=_text(details, "authid"),
                authrole=_text(details, "authrole"),
                authmethod=_text(details, "authmethod"),
                authprovider=_text(details, "authprovider"),
                authextra=authextra if isinstance(authextra, dict) else {},
                roles=roles,
                details=details,
            )
        )

    def _on_challenge(self, message: Challenge) -> None:
        self._state = S.CHALLENGED
        self._events.append(ev.Challenged(message.method, message.extra))

    def _on_abort(self, message: Abort) -> None:
        reason = message.reason
        text = _text(message.details, "message")
        said = f"{reason}: {text}" if text else reason
        error: WampError
        if self._session_id is None and reason in AUTHENTICATION_FAILURE_REASONS:
            error = AuthenticationFailed(f"the router refused to authenticate us ({said})", reason)
        elif self._session_id is None:
            error = SessionClosed(f"the router refused the session ({said})", reason)
        else:
            error = SessionClosed(f"the router aborted the session ({said})", reason)
        self._end(reason, text, message.details, False, error, S.CLOSED)

    def _on_goodbye(self, message: Goodbye) -> None:
        # The router closes: echo GOODBYE (basic/sessions.md "GOODBYE").
        self._outbox.append(Goodbye({}, GOODBYE_AND_OUT))
        text = _text(message.details, "message")
        self._end(message.reason, text, message.details, True, None, S.CLOSED)

    def _on_goodbye_echo(self, message: Goodbye) -> None:
        # The router's answer to our GOODBYE (or its own GOODBYE crossing ours): no echo.
        text = _text(message.details, "message")
        self._end(message.reason, text, message.details, True, None, S.CLOSED)

    # --- handlers: replies to our requests -----------------------------------------------

    def _on_error(self, message: Error) -> None:
        request_id = message.request_id
        request = self._pending.get(request_id)
        if request is None:
            if message.request_type == T.CALL and request_id in self._discarded_calls:
                # The final reply to a call we completed locally by a cancel.
                self._discarded_calls.discard(request_id)
                return
            raise ProtocolError(
                f"ERROR for {_type_name(message.request_type)} request {request_id},"
                " which is not pending"
            )
        if request.request_type != message.request_type:
            raise ProtocolError(
                f"ERROR names request {request_id} as {_type_name(message.request_type)},"
                f" but it is a {request.request_type.name} request"
            )
        del self._pending[request_id]
        release = self._releases.get(request.request_type)
        if release is not None:
            handles, gone = release
            if message.error == gone:
                handles.remove(request.target_id)
            else:
                handles.stop_leaving(request.target_id)
        self._events.append(
            ev.RequestFailed(
                request_id,
                request.request_type,
                message.error,
                message.args,
                message.kwargs,
                message.details,
            )
        )

    def _on_result(self, message: Result) -> None:
        request_id = message.request_id
        progress = message.details.get("progress") is True
        request = self._pending.get(request_id)
        if request is None and request_id in self._discarded_calls:
            # A late result for a call we completed locally by a cancel
            # (advanced/rpc_call_canceling.md: skip/killnowait discard results).
            if not progress:
                self._discarded_calls.discard(request_id)
            return
        if request is None or request.request_type is not T.CALL:
            request = self._pending_reply(request_id, T.CALL, "RESULT")  # raises
        if not progress:
            del self._pending[request_id]
        elif not request.receive_progress:
            # advanced/rpc_progressive_call_results.md: only for callers that asked.
            raise ProtocolError(
                f"progressive RESULT for call {request_id}, which did not ask for progress"
            )
        self._events.append(
            ev.CallResult(request_id, message.args, message.kwargs, message.details, progress)
        )

    def _on_published(self, message: Published) -> None:
        self._pending_reply(message.request_id, T.PUBLISH, "PUBLISHED")
        del self._pending[message.request_id]
        self._events.append(ev.Published(message.request_id, message.publication_id))

    def _on_subscribed(self, message: Subscribed) -> None:
        request = self._pending_reply(message.request_id, T.SUBSCRIBE, "SUBSCRIBED")
        del self._pending[message.request_id]
        # A broker may answer with an id we already hold (same topic and options):
        # basic/publish_subscribe.md, SUBSCRIBED note.
        self._subscriptions.add(message.subscription_id)
        self._events.append(ev.Subscribed(message.request_id, message.subscription_id, request.uri))

    def _on_unsubscribed(self, message: Unsubscribed) -> None:
        if message.request_id == 0:
            # advanced/pubsub_subscription_revocation.md: [UNSUBSCRIBED, 0, Details]
            details = message.details
            handle = self._revoked(details, "subscription", self._subscriptions, "UNSUBSCRIBED")
            self._events.append(ev.SubscriptionRevoked(handle, _text(details, "reason"), details))
            return
        request = self._pending_reply(message.request_id, T.UNSUBSCRIBE, "UNSUBSCRIBED")
        del self._pending[message.request_id]
        self._subscriptions.remove(request.target_id)
        self._events.append(ev.Unsubscribed(message.request_id, request.target_id))

    def _on_registered(self, message: Registered) -> None:
        request = self._pending_reply(message.request_id, T.REGISTER, "REGISTERED")
        if message.registration_id in self._registrations:
            # A dealer refuses a second registration of one procedure by one session.
            raise ProtocolError(
                f"REGISTERED for request {message.request_id} gives registration"
                f" {message.registration_id}, which this session already holds"
            )
        del self._pending[message.request_id]
        self._registrations.add(message.registration_id)
        self._events.append(ev.Registered(message.request_id, message.registration_id, request.uri))

    def _on_unregistered(self, message: Unregistered) -> None:
        if message.request_id == 0:
            # advanced/rpc_registration_revocation.md: [UNREGISTERED, 0, Details]
            details = message.details
            handle = self._revoked(details, "registration", self._registrations, "UNREGISTERED")
            self._events.append(ev.RegistrationRevoked(handle, _text(details, "reason"), details))
            return
        request = self._pending_reply(message.request_id, T.UNREGISTER, "UNREGISTERED")
        del self._pending[message.request_id]
        self._registrations.remove(request.target_id)
        self._events.append(ev.Unregistered(message.request_id, request.target_id))

    # --- handlers: work the router brings ------------------------------------------------

    def _on_event(self, message: Event) -> None:
        subscription = message.subscription_id
        if not self._subscriptions.is_active(subscription):  # one call on the hot path
            if self._subscriptions.is_leaving(subscription):
                # Sent before the broker saw our UNSUBSCRIBE: the user no longer wants it.
                return
            raise ProtocolError(
                f"EVENT for subscription {subscription}, which this session does not hold"
            )
        acknowledge = message.details.get("x_acknowledged_delivery") is True and role_supports(
            self._router_roles, "broker", "x_acknowledged_event_delivery"
        )
        self._events.append(
            ev.EventDelivered(
                subscription,
                message.publication_id,
                message.args,
                message.kwargs,
                message.details,
                acknowledge,
            )
        )

    def _on_invocation(self, message: Invocation) -> None:
        request_id = message.request_id
        progress = message.details.get("progress") is True
        invocation = self._invocations.get(request_id)
        if invocation is not None:
            self._continue_invocation(invocation, message, progress)
            return
        if request_id in self._finished_invocations:
            # advanced/rpc_progressive_call_invocations.md, "Continuations on Completed
            # Calls": a chunk the dealer sent before it saw our final answer: discard.
            if not progress:
                self._finished_invocations.discard(request_id)
            return
        registration = message.registration_id
        if not self._registrations.is_active(registration):  # one call on the hot path
            if self._registrations.is_leaving(registration):
                # Sent before the dealer saw our UNREGISTER. Answer at once, so the caller
                # is not left waiting (as when a callee leaves: basic RPC "Callee Leaving").
                why = f"registration {registration} is being unregistered"
                self._outbox.append(Error(T.INVOCATION, request_id, {}, CANCELED, [why]))
                if progress:
                    self._finished_invocations.add(request_id)
                return
            raise ProtocolError(
                f"INVOCATION for registration {registration}, which this session does not hold"
            )
        receive_progress = message.details.get("receive_progress") is True
        self._invocations[request_id] = ActiveInvocation(registration, receive_progress, progress)
        self._events.append(
            ev.Invoked(
                request_id,
                registration,
                message.args,
                message.kwargs,
                message.details,
                receive_progress,
                progress,
            )
        )

    def _continue_invocation(
        self, invocation: ActiveInvocation, message: Invocation, progress: bool
    ) -> None:
        request_id = message.request_id
        if not invocation.expecting_chunks:
            raise ProtocolError(
                f"INVOCATION reuses request id {request_id} of an invocation in progress"
            )
        if message.registration_id != invocation.registration_id:
            raise ProtocolError(
                f"INVOCATION continues request {request_id} under registration"
                f" {message.registration_id}, but it started under {invocation.registration_id}"
            )
        if not progress:
            invocation.expecting_chunks = False
        if invocation.interrupt_mode is not None:
            return  # the handler is being canceled: nobody will read the chunk
        self._events.append(
            ev.InvocationChunk(request_id, message.args, message.kwargs, message.details, progress)
        )

    def _on_interrupt(self, message: Interrupt) -> None:
        invocation = self._invocations.get(message.request_id)
        if invocation is None or invocation.interrupt_mode is not None:
            # Our final YIELD/ERROR crossed the INTERRUPT, or a repeated INTERRUPT: the
            # dealer discards late answers anyway (advanced/rpc_call_canceling.md).
            return
        mode = "killnowait" if message.options.get("mode") == "killnowait" else "kill"
        invocation.interrupt_mode = mode
        reason = _text(message.options, "reason")
        self._events.append(ev.Interrupted(message.request_id, mode, reason))


Handler = Callable[[SessionBase, Message], None]
M = TypeVar("M", bound=Message)


def _h(method: Callable[[SessionBase, M], None]) -> Handler:
    """Type a handler taking one message class as a table entry."""
    return cast(Handler, method)


_REPLIES: dict[MessageType, Handler] = {
    T.ERROR: _h(SessionBase._on_error),
    T.RESULT: _h(SessionBase._on_result),
    T.PUBLISHED: _h(SessionBase._on_published),
    T.SUBSCRIBED: _h(SessionBase._on_subscribed),
    T.UNSUBSCRIBED: _h(SessionBase._on_unsubscribed),
    T.REGISTERED: _h(SessionBase._on_registered),
    T.UNREGISTERED: _h(SessionBase._on_unregistered),
}

TRANSITIONS: Final[dict[tuple[SessionState, MessageType], Handler]] = {
    # Joining (basic/sessions.md; advanced/authentication.md allows several
    # CHALLENGE/AUTHENTICATE rounds, e.g. two-factor).
    (S.HELLO_SENT, T.WELCOME): _h(SessionBase._on_welcome),
    (S.HELLO_SENT, T.CHALLENGE): _h(SessionBase._on_challenge),
    (S.HELLO_SENT, T.ABORT): _h(SessionBase._on_abort),
    (S.CHALLENGED, T.ABORT): _h(SessionBase._on_abort),
    (S.AUTHENTICATE_SENT, T.WELCOME): _h(SessionBase._on_welcome),
    (S.AUTHENTICATE_SENT, T.CHALLENGE): _h(SessionBase._on_challenge),
    (S.AUTHENTICATE_SENT, T.ABORT): _h(SessionBase._on_abort),
    # Established.
    (S.ESTABLISHED, T.GOODBYE): _h(SessionBase._on_goodbye),
    (S.ESTABLISHED, T.ABORT): _h(SessionBase._on_abort),
    **{(S.ESTABLISHED, code): handler for code, handler in _REPLIES.items()},
    (S.ESTABLISHED, T.EVENT): _h(SessionBase._on_event),
    (S.ESTABLISHED, T.INVOCATION): _h(SessionBase._on_invocation),
    (S.ESTABLISHED, T.INTERRUPT): _h(SessionBase._on_interrupt),
    # Shutting down (transition 14): the echo ends it; replies the router sent before
    # it saw our GOODBYE are still matched (anything wrong there is ignored, see
    # _violation); new work is ignored: the dealer fails it when we are gone.
    (S.GOODBYE_SENT, T.GOODBYE): _h(SessionBase._on_goodbye_echo),
    (S.GOODBYE_SENT, T.ABORT): _h(SessionBase._on_abort),
    **{(S.GOODBYE_SENT, code): handler for code, handler in _REPLIES.items()},
    (S.GOODBYE_SENT, T.EVENT): SessionBase._ignore,
    (S.GOODBYE_SENT, T.INVOCATION): SessionBase._ignore,
    (S.GOODBYE_SENT, T.INTERRUPT): SessionBase._ignore,
    # No session: a late message after the session ended (or before HELLO) is ignored.
    **{(S.CLOSED, code): SessionBase._ignore for code in T},
    **{(S.FAILED, code): SessionBase._ignore for code in T},
}
"""Every (state, received message type) the client session accepts, and its handler."""

# The same, by state then type: receive() looks up two plain keys, no tuple per message.
_BY_STATE: Final[dict[SessionState, dict[MessageType, Handler]]] = {state: {} for state in S}
for (_state, _type), _handler in TRANSITIONS.items():
    _BY_STATE[_state][_type] = _handler
