"""The sans-I/O WAMP client session: messages in, events out, messages to send.

The driver (the asyncio ``Session``) owns the transport, the futures, the handler tasks
and the clock. It uses this class like so::

    session = ClientSession()
    session.hello("realm1", authmethods=["anonymous"])
    send(session.take_outgoing())
    for event in session.receive(parse(decode(frame))):
        ...  # Joined, Challenged, CallResult, Invoked, Closed, ...
    send(session.take_outgoing())  # automatic replies (GOODBYE echo, ABORT, ...)

    request_id = session.call("com.example.add", [1, 2])
    send(session.take_outgoing())

Local misuse (a call in the wrong state, an invalid URI, an unknown id) raises at once
(:class:`~autostrada.exceptions.InvalidState`, :class:`ValueError`, :class:`TypeError`)
and changes nothing. What the router does wrong never raises: see ``receive()``.

Races with the router are settled like this:

* a call completed locally by ``cancel()`` (skip, killnowait) ignores its late
  RESULT/ERROR;
* EVENTs for a subscription whose UNSUBSCRIBE is in flight are dropped; INVOCATIONs for
  a registration whose UNREGISTER is in flight are answered ERROR
  ``wamp.error.canceled`` at once, so that the caller does not hang;
* an INTERRUPT for an invocation we already answered is ignored;
* the answer to an invocation interrupted with mode killnowait is dropped (the
  dealer discards it anyway), and ``yield_result``/``invocation_error`` return False;
* after our GOODBYE, and once the session has ended, answers to its invocations are
  dropped the same way (the dealer has failed those calls when we left).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from autostrada.exceptions import InvalidState, TransportError, WampError
from autostrada.fields import (
    CALL_OPTIONS,
    PUBLISH_OPTIONS,
    REGISTER_OPTIONS,
    SUBSCRIBE_OPTIONS,
    Check,
)
from autostrada.ids import SequentialIds, is_valid_id
from autostrada.messages import (
    Abort,
    Authenticate,
    Call,
    Cancel,
    Error,
    EventReceived,
    Goodbye,
    Hello,
    Message,
    MessageType,
    Publish,
    Register,
    Subscribe,
    Unregister,
    Unsubscribe,
    Yield,
)
from autostrada.uri import validate_uri

from . import events as ev
from .features import client_roles, role_supports
from .inbound import CANCELED, SessionBase
from .state import ActiveInvocation, PendingRequest, SessionState

__all__ = ["CANCEL_MODES", "ClientSession"]

T = MessageType
S = SessionState
_ESTABLISHED = S.ESTABLISHED  # an Enum member lookup costs a descriptor call each time

CANCEL_MODES = frozenset({"skip", "kill", "killnowait"})
"""The modes of CANCEL (advanced/rpc_call_canceling.md)."""

TRANSPORT_LOST = "wamp.close.transport_lost"
_CLIENT_ROLE_NAMES = frozenset({"publisher", "subscriber", "caller", "callee"})

Payload = tuple[list[Any] | None, dict[str, Any] | None]


def _payload(args: Sequence[Any] | None, kwargs: Mapping[str, Any] | None, what: str) -> Payload:
    """Check a call's ``args``/``kwargs`` and return them as a list and a dict."""
    if args is None or type(args) is list:
        checked_args = args
    elif isinstance(args, list | tuple):
        checked_args = list(args)
    else:
        raise TypeError(f"{what}: args must be a list or tuple, got {type(args).__name__}")
    if kwargs is None:
        return checked_args, None
    if not isinstance(kwargs, Mapping):
        raise TypeError(f"{what}: kwargs must be a dict, got {type(kwargs).__name__}")
    for key in kwargs:
        if type(key) is not str:
            raise TypeError(f"{what}: kwargs keys must be strings, got {key!r}")
    return checked_args, dict(kwargs)


def _options(
    options: Mapping[str, Any] | None, known: dict[str, Check], what: str
) -> dict[str, Any]:
    """Copy ``options``, dropping None values and checking the types of known keys.

    Unknown keys pass through (custom ``x_...`` options); a key with the value None
    counts as not given.
    """
    if options is None or (type(options) is dict and not options):
        return {}
    if not isinstance(options, Mapping):
        raise TypeError(f"{what} must be a dict, got {type(options).__name__}")
    checked: dict[str, Any] = {}
    for key, value in options.items():
        if type(key) is not str:
            raise TypeError(f"{what}: keys must be strings, got {key!r}")
        if value is None:
            continue
        check = known.get(key)
        if check is not None and not check[0](value):
            raise ValueError(f"{what}.{key} must be {check[1]}, got {value!r}")
        checked[key] = value
    return checked


def _optional(value: Any, expected: type, what: str) -> None:
    if value is not None and not isinstance(value, expected):
        raise TypeError(f"{what} must be a {expected.__name__} or None, got {value!r}")


class ClientSession(SessionBase):
    """A WAMP client session as a state machine, without I/O (DESIGN.md §2, §3).

    Feed it the router's messages with :meth:`receive`; call the local methods for
    what the application wants; send what :meth:`take_outgoing` returns after each.
    One instance serves one transport; after a GOODBYE handshake or an ABORT the
    same transport may join again with :meth:`hello`.
    """

    __slots__ = ()

    # --- read-only views ---------------------------------------------------------------

    @property
    def state(self) -> SessionState:
        """The current state."""
        return self._state

    @property
    def session_id(self) -> int | None:
        """The session id from WELCOME while established, else None."""
        return self._session_id

    @property
    def realm(self) -> str:
        """The realm asked for in HELLO (or the one WELCOME named)."""
        return self._realm

    @property
    def router_roles(self) -> Mapping[str, Any]:
        """``WELCOME.Details.roles`` of the current session (empty when not joined)."""
        return self._router_roles

    @property
    def welcome_details(self) -> Mapping[str, Any]:
        """``WELCOME.Details`` of the last session joined."""
        return self._welcome_details

    @property
    def error(self) -> WampError | None:
        """What ended the last session badly (as in its Closed event), or None."""
        return self._error

    @property
    def pending_requests(self) -> dict[int, MessageType]:
        """Our requests awaiting a reply: request id to request type (a copy)."""
        return {rid: request.request_type for rid, request in self._pending.items()}

    @property
    def active_invocations(self) -> frozenset[int]:
        """Request ids of the router's invocations not answered finally yet."""
        return frozenset(self._invocations)

    @property
    def subscriptions(self) -> frozenset[int]:
        """Subscription ids held (including those being unsubscribed)."""
        return self._subscriptions.ids()

    @property
    def registrations(self) -> frozenset[int]:
        """Registration ids held (including those being unregistered)."""
        return self._registrations.ids()

    def router_supports(self, role: str, feature: str) -> bool:
        """Tell whether the router announced ``feature`` for ``role`` in WELCOME.

        Example: ``session.router_supports("dealer", "call_canceling")``.
        """
        return role_supports(self._router_roles, role, feature)

    def take_outgoing(self) -> list[Message]:
        """Return the messages to send, in order, and empty the outbox."""
        outgoing = self._outbox
        self._outbox = []
        return outgoing

    def discard_unsent(self, request_id: int) -> bool:
        """Forget a request whose message :meth:`take_outgoing` returned but never left.

        For a driver that could not send the message that started a request (it
        cannot be serialized, or is larger than the router accepts): the router
        never saw it, so no reply will come. The driver reports the failure to the
        request's caller itself; no event follows. A subscription or registration
        whose UNSUBSCRIBE/UNREGISTER was not sent is active again.

        Not for a later chunk of a progressive call invocation (the router has that
        call): :meth:`cancel` it.

        Returns:
            True if the request was pending and is forgotten; False if it was not
            (an unacknowledged PUBLISH, a request that completed, an unknown id).
        """
        request = self._pending.pop(request_id, None)
        if request is None:
            return False
        release = self._releases.get(request.request_type)
        if release is not None:
            release[0].stop_leaving(request.target_id)
        return True

    def _require(self, state: SessionState, what: str) -> None:
        if self._state is not state:
            raise InvalidState(
                f"{what}() needs session state {state.name}, but it is {self._state.name}"
            )

    # --- joining and leaving (basic/sessions.md) ----------------------------------------

    def hello(
        self,
        realm: str,
        *,
        authmethods: Sequence[str] | None = None,
        authid: str | None = None,
        authrole: str | None = None,
        authextra: Mapping[str, Any] | None = None,
        roles: Mapping[str, Any] | None = None,
        agent: str | None = None,
    ) -> None:
        """Send HELLO to join ``realm``.

        Args:
            realm: the realm URI.
            authmethods: the authentication methods offered, e.g. ``["cryptosign"]``.
            authid, authrole: the identity and role asked for.
            authextra: method-specific data (e.g. the cryptosign public key).
            roles: the roles and features to announce; default :data:`CLIENT_ROLES`.
            agent: the client's name and version (``HELLO.Details.agent``).

        Raises:
            InvalidState: not in state ``CLOSED``.
            ValueError, TypeError: an argument is invalid (the message names it).
        """
        self._require(S.CLOSED, "hello")
        validate_uri(realm, "hello: realm")
        details: dict[str, Any] = {"roles": self._checked_roles(roles)}
        if authmethods is not None:
            if isinstance(authmethods, str) or not all(isinstance(m, str) for m in authmethods):
                raise TypeError(
                    f"hello: authmethods must be a list of strings, got {authmethods!r}"
                )
            details["authmethods"] = list(authmethods)
        for key, value in (("authid", authid), ("authrole", authrole), ("agent", agent)):
            _optional(value, str, f"hello: {key}")
            if value is not None:
                details[key] = value
        if authextra is not None:
            _optional(authextra, Mapping, "hello: authextra")
            details["authextra"] = dict(authextra)
        self._request_ids = SequentialIds()  # session-scope request ids restart at 1
        self._error = None
        self._welcome_details = {}
        self._realm = realm
        self._outbox.append(Hello(realm, details))
        self._state = S.HELLO_SENT

    @staticmethod
    def _checked_roles(roles: Mapping[str, Any] | None) -> dict[str, Any]:
        if roles is None:
            return client_roles()
        if not isinstance(roles, Mapping) or not roles:
            raise ValueError(f"hello: roles must be a non-empty dict, got {roles!r}")
        for name, features in roles.items():
            if name not in _CLIENT_ROLE_NAMES:
                raise ValueError(f"hello: roles: {name!r} is not a client role")
            if not isinstance(features, Mapping):
                raise TypeError(f"hello: roles.{name} must be a dict, got {features!r}")
        return copy.deepcopy(dict(roles))

    def authenticate(self, signature: str, extra: Mapping[str, Any] | None = None) -> None:
        """Answer the CHALLENGE with AUTHENTICATE.

        Raises:
            InvalidState: no CHALLENGE is waiting for an answer.
            TypeError: ``signature`` is not a string or ``extra`` not a dict.
        """
        self._require(S.CHALLENGED, "authenticate")
        if not isinstance(signature, str):
            raise TypeError(f"authenticate: signature must be a string, got {type(signature)}")
        _optional(extra, Mapping, "authenticate: extra")
        self._outbox.append(Authenticate(signature, dict(extra or {})))
        self._state = S.AUTHENTICATE_SENT

    def leave(self, reason: str = "wamp.close.normal", message: str | None = None) -> None:
        """Send GOODBYE; the router's echo ends the session (a :class:`Closed` event).

        The default reason is the one Autobahn sends. Pending requests stay pending
        until the echo, then fail; replies arriving meanwhile still complete them.

        Raises:
            InvalidState: not established.
            ValueError: ``reason`` is not a URI.
        """
        self._require(S.ESTABLISHED, "leave")
        validate_uri(reason, "leave: reason")
        _optional(message, str, "leave: message")
        self._outbox.append(Goodbye({"message": message} if message else {}, reason))
        self._state = S.GOODBYE_SENT

    def abort(self, reason: str, message: str | None = None) -> list[ev.SessionEvent]:
        """Send ABORT and end the session at once (e.g. a bad router proof in WELCOME).

        A no-op returning ``[]`` when there is no session (``CLOSED``, ``FAILED``).

        Returns:
            The events failing everything pending, then :class:`Closed`.

        Raises:
            ValueError: ``reason`` is not a URI.
        """
        if self._state is S.CLOSED or self._state is S.FAILED:
            return []
        validate_uri(reason, "abort: reason")
        _optional(message, str, "abort: message")
        self._outbox.append(Abort({"message": message} if message else {}, reason))
        self._end(reason, message, {}, False, None, S.CLOSED)
        return self._take_events()

    def transport_lost(self) -> list[ev.SessionEvent]:
        """The transport is gone: fail everything pending and enter ``FAILED``.

        Unsent messages are discarded. Calling it again is harmless.

        Returns:
            The events failing everything pending, then :class:`Closed` (none when
            there was no session).
        """
        self._outbox.clear()
        if self._state is S.CLOSED or self._state is S.FAILED:
            self._state = S.FAILED
            return []
        error = TransportError("the transport was lost before the session was closed")
        self._end(TRANSPORT_LOST, str(error), {}, False, error, S.FAILED)
        return self._take_events()

    # --- caller (basic/remote_procedure_call.md; advanced rpc_*) ------------------------

    def call(
        self,
        procedure: str,
        args: Sequence[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> int:
        """Send CALL and return its request id.

        Args:
            procedure: the procedure URI.
            args, kwargs: the call's payload.
            options: ``CALL.Options``: ``timeout`` (int ms, as on the wire; the driver
                converts seconds), ``receive_progress``, ``disclose_me``, ``progress``
                (progressive call invocations: continue with :meth:`call_progress`).
                None values count as absent.

        Raises:
            InvalidState: not established.
            ValueError: invalid procedure or option, or ``progress`` while the dealer
                does not announce progressive_call_invocations (the spec makes that
                CALL a protocol violation).
            TypeError: args/kwargs/options of the wrong type.
        """
        if self._state is not _ESTABLISHED:
            self._require(S.ESTABLISHED, "call")
        validate_uri(procedure, "call: procedure")
        if kwargs is not None or not (args is None or type(args) is list):
            args, kwargs = _payload(args, kwargs, "call")  # else nothing to check
        opts = {} if options is None else _options(options, CALL_OPTIONS, "call: options")
        streaming = opts.get("progress") is True
        if streaming and not self.router_supports("dealer", "progressive_call_invocations"):
            raise ValueError(
                "call: options.progress needs a dealer announcing progressive_call_invocations"
            )
        request_id = self._request_ids.next()
        receive_progress = opts.get("receive_progress") is True
        # Positional: half the cost of keywords, once per call.
        self._pending[request_id] = PendingRequest(
            T.CALL, procedure, 0, receive_progress, streaming
        )
        self._outbox.append(Call(request_id, opts, procedure, args, kwargs))
        return request_id

    def call_progress(
        self,
        request_id: int,
        args: Sequence[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        *,
        final: bool = False,
    ) -> None:
        """Send a further chunk of a progressive call invocation (same request id).

        Spec: advanced/rpc_progressive_call_invocations.md. Later chunks carry only
        the ``progress`` option; the options of the first CALL hold for the whole call.

        Args:
            request_id: the id :meth:`call` returned (with ``options.progress``).
            args, kwargs: this chunk's payload.
            final: this is the last chunk.

        Raises:
            InvalidState: not established.
            ValueError: the call is not pending, was not progressive, was canceled,
                or its final chunk was already sent.
        """
        self._require(S.ESTABLISHED, "call_progress")
        request = self._pending.get(request_id)
        if request is None or request.request_type is not T.CALL or not request.streaming:
            raise ValueError(
                f"call_progress: request {request_id!r} is not a call sending progressive"
                " invocations (unknown, completed, canceled or its final chunk was sent)"
            )
        args, kwargs = _payload(args, kwargs, "call_progress")
        if final:
            request.streaming = False
        options = {} if final else {"progress": True}
        self._outbox.append(Call(request_id, options, request.uri, args, kwargs))

    def cancel(self, request_id: int, mode: str = "killnowait") -> list[ev.SessionEvent]:
        """Cancel a pending call (advanced/rpc_call_canceling.md).

        * ``skip`` and ``killnowait``: send CANCEL and complete the call at once with
          :class:`RequestFailed` ``wamp.error.canceled``; its late RESULT/ERROR is
          ignored.
        * ``kill``: send CANCEL; the call completes when the router's ERROR (or a
          RESULT that won the race) arrives.

        When CANCEL cannot be sent (the dealer does not announce call_canceling, or
        we are leaving), every mode completes the call locally as ``skip`` does.
        A second cancel never sends a second CANCEL, but skip/killnowait after kill
        still completes the call at once (e.g. the driver's timeout fired).

        Returns:
            The events: ``[RequestFailed]`` when the call completed locally, ``[]``
            for kill, or when ``request_id`` is not a pending call (a no-op).

        Raises:
            ValueError: ``mode`` is not skip, kill or killnowait.
        """
        if mode not in CANCEL_MODES:
            raise ValueError(f"cancel: mode must be skip, kill or killnowait, got {mode!r}")
        request = self._pending.get(request_id)
        if request is None or request.request_type is not T.CALL:
            return []
        can_send = self._state is S.ESTABLISHED and self.router_supports("dealer", "call_canceling")
        request.streaming = False
        if can_send and request.cancel_mode is None:
            self._outbox.append(Cancel(request_id, {"mode": mode}))
        if mode == "kill" and can_send:
            request.cancel_mode = mode
            return []
        del self._pending[request_id]
        self._discarded_calls.add(request_id)
        why = f"call {request_id} was canceled (mode {mode})"
        return [ev.RequestFailed(request_id, T.CALL, CANCELED, [why], None, {"mode": mode})]

    # --- publisher and subscriber (basic/publish_subscribe.md) --------------------------

    def publish(
        self,
        topic: str,
        args: Sequence[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> int | None:
        """Send PUBLISH.

        Args:
            topic: the topic URI.
            args, kwargs: the event's payload.
            options: ``PUBLISH.Options`` (``acknowledge``, ``exclude_me``,
                ``exclude``, ``eligible``, ``retain``, ...).

        Returns:
            The request id when ``options.acknowledge`` is true (a
            :class:`Published` or :class:`RequestFailed` follows), else None: an
            unacknowledged publication tracks nothing.

        Raises:
            InvalidState: not established.
            ValueError, TypeError: an invalid argument.
        """
        if self._state is not _ESTABLISHED:
            self._require(S.ESTABLISHED, "publish")
        validate_uri(topic, "publish: topic")
        if kwargs is not None or not (args is None or type(args) is list):
            args, kwargs = _payload(args, kwargs, "publish")  # else nothing to check
        opts = {} if options is None else _options(options, PUBLISH_OPTIONS, "publish: options")
        request_id = self._request_ids.next()
        acknowledged = opts.get("acknowledge") is True
        if acknowledged:
            self._pending[request_id] = PendingRequest(T.PUBLISH, uri=topic)
        self._outbox.append(Publish(request_id, opts, topic, args, kwargs))
        return request_id if acknowledged else None

    def subscribe(self, topic: str, options: Mapping[str, Any] | None = None) -> int:
        """Send SUBSCRIBE and return its request id.

        Args:
            topic: the topic URI, or a pattern for ``options.match`` prefix/wildcard.
            options: ``SUBSCRIBE.Options`` (``match``, ``get_retained``).

        Raises:
            InvalidState: not established.
            ValueError, TypeError: an invalid argument.
        """
        self._require(S.ESTABLISHED, "subscribe")
        opts = _options(options, SUBSCRIBE_OPTIONS, "subscribe: options")
        validate_uri(topic, "subscribe: topic", match=opts.get("match", "exact"))
        request_id = self._request_ids.next()
        self._pending[request_id] = PendingRequest(T.SUBSCRIBE, uri=topic)
        self._outbox.append(Subscribe(request_id, opts, topic))
        return request_id

    def unsubscribe(self, subscription_id: int) -> int:
        """Send UNSUBSCRIBE and return its request id.

        EVENTs for the subscription arriving before UNSUBSCRIBED are dropped.

        Raises:
            InvalidState: not established.
            ValueError: not an active subscription (unknown, or already being
                unsubscribed).
        """
        self._require(S.ESTABLISHED, "unsubscribe")
        if not self._subscriptions.is_active(subscription_id):
            raise ValueError(
                f"unsubscribe: {subscription_id!r} is not an active subscription of this session"
            )
        request_id = self._request_ids.next()
        self._pending[request_id] = PendingRequest(T.UNSUBSCRIBE, target_id=subscription_id)
        self._subscriptions.start_leaving(subscription_id)
        self._outbox.append(Unsubscribe(request_id, subscription_id))
        return request_id

    def send_event_received(self, publication_id: int) -> bool:
        """Acknowledge an EVENT (``EventDelivered.acknowledge``): send EVENT_RECEIVED.

        Returns:
            True if sent; False when the session is not established any more.

        Raises:
            ValueError: ``publication_id`` is not a valid id.
        """
        if not is_valid_id(publication_id):
            raise ValueError(f"send_event_received: {publication_id!r} is not a valid id")
        if self._state is not S.ESTABLISHED:
            return False
        self._outbox.append(EventReceived(publication_id))
        return True

    # --- callee (basic/remote_procedure_call.md; advanced rpc_*) ------------------------

    def register(self, procedure: str, options: Mapping[str, Any] | None = None) -> int:
        """Send REGISTER and return its request id.

        Args:
            procedure: the procedure URI, or a pattern for ``options.match``.
            options: ``REGISTER.Options`` (``match``, ``invoke``, ``concurrency``,
                ``force_reregister``, ...).

        Raises:
            InvalidState: not established.
            ValueError, TypeError: an invalid argument.
        """
        self._require(S.ESTABLISHED, "register")
        opts = _options(options, REGISTER_OPTIONS, "register: options")
        validate_uri(procedure, "register: procedure", match=opts.get("match", "exact"))
        request_id = self._request_ids.next()
        self._pending[request_id] = PendingRequest(T.REGISTER, uri=procedure)
        self._outbox.append(Register(request_id, opts, procedure))
        return request_id

    def unregister(self, registration_id: int) -> int:
        """Send UNREGISTER and return its request id.

        INVOCATIONs for the registration arriving before UNREGISTERED are answered
        ERROR ``wamp.error.canceled`` automatically. Invocations already running may
        still be answered.

        Raises:
            InvalidState: not established.
            ValueError: not an active registration.
        """
        self._require(S.ESTABLISHED, "unregister")
        if not self._registrations.is_active(registration_id):
            raise ValueError(
                f"unregister: {registration_id!r} is not an active registration of this session"
            )
        request_id = self._request_ids.next()
        self._pending[request_id] = PendingRequest(T.UNREGISTER, target_id=registration_id)
        self._registrations.start_leaving(registration_id)
        self._outbox.append(Unregister(request_id, registration_id))
        return request_id

    def yield_result(
        self,
        request_id: int,
        args: Sequence[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        *,
        progress: bool = False,
    ) -> bool:
        """Answer an invocation with YIELD (``progress=True``: a progressive result).

        Returns:
            True if the YIELD was sent; False if it was dropped: we are leaving or the
            session has ended, or the dealer interrupted the invocation with
            killnowait (it wants no answer). A final answer ends the invocation
            either way.

        Raises:
            ValueError: ``request_id`` is not an active invocation (checked while the
                session is established or leaving), or ``progress`` though the caller
                did not ask for progressive results.
            TypeError: args/kwargs of the wrong type.
        """
        # Once per invocation: the common case of each helper is inlined (established,
        # a plain list or no payload, a final answer, an answer the dealer wants).
        invocation = self._invocations.get(request_id) if self._state is _ESTABLISHED else None
        if invocation is None:
            invocation = self._answerable(request_id, "yield_result")
            if invocation is None:
                return False
        if kwargs is not None or not (args is None or type(args) is list):
            args, kwargs = _payload(args, kwargs, "yield_result")
        if progress:
            if not invocation.receive_progress:
                raise ValueError(
                    f"yield_result: invocation {request_id} did not ask for progressive results"
                )
        elif invocation.expecting_chunks:
            self._finish_invocation(request_id, invocation)
        else:
            del self._invocations[request_id]
        if (
            self._state is not _ESTABLISHED or invocation.interrupt_mode is not None
        ) and not self._wants_answer(invocation):
            return False
        self._outbox.append(Yield(request_id, {"progress": True} if progress else {}, args, kwargs))
        return True

    def invocation_error(
        self,
        request_id: int,
        error: str,
        args: Sequence[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
    ) -> bool:
        """Answer an invocation with ERROR (after an INTERRUPT: ``wamp.error.canceled``).

        Returns:
            True if the ERROR was sent; False if it was dropped (as for
            :meth:`yield_result`).

        Raises:
            ValueError: ``error`` is not a URI, or ``request_id`` is not an active
                invocation (checked while the session is established or leaving).
            TypeError: args/kwargs of the wrong type.
        """
        validate_uri(error, "invocation_error: error")
        invocation = self._answerable(request_id, "invocation_error")
        if invocation is None:
            return False
        args, kwargs = _payload(args, kwargs, "invocation_error")
        self._finish_invocation(request_id, invocation)
        if not self._wants_answer(invocation):
            return False
        self._outbox.append(Error(T.INVOCATION, request_id, {}, error, args, kwargs))
        return True

    def _answerable(self, request_id: int, what: str) -> ActiveInvocation | None:
        """Return the invocation being answered, None after the session ended, or raise."""
        if self._state is not _ESTABLISHED and self._state is not S.GOODBYE_SENT:
            return None  # the session ended: its invocations were dropped with it
        invocation = self._invocations.get(request_id)
        if invocation is None:
            raise ValueError(f"{what}: {request_id!r} is not an active invocation")
        return invocation

    def _wants_answer(self, invocation: ActiveInvocation) -> bool:
        # After our GOODBYE the dealer has failed our invocations already (a callee
        # leaving); after INTERRUPT killnowait it discards answers
        # (advanced/rpc_call_canceling.md). Either way, sending would be noise.
        return self._state is _ESTABLISHED and invocation.interrupt_mode != "killnowait"

    def _finish_invocation(self, request_id: int, invocation: ActiveInvocation) -> None:
        del self._invocations[request_id]
        if invocation.expecting_chunks:
            # Chunks the dealer sent before our answer reaches it must be discarded.
            self._finished_invocations.add(request_id)
