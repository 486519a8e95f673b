"""The asyncio WAMP session: Autobahn's session API over a :class:`~autostrada.aio.channel.Channel`.

This is the thin driver of the sans-I/O :class:`~autostrada.session.ClientSession`:
it turns the machine's events into resolved futures and handler calls, and user calls
into machine calls. It owns the clock (call timeouts) and the tasks (invocations).

Lifecycle::

    session = Session(ComponentConfig(realm="realm1"))
    await session.attach(channel)          # a connected channel (see aio.connect)
    details = await session.join("realm1")
    result = await session.call("com.example.add", 2, 3)
    await session.leave()

Guarantees: every pending call/subscribe/register/publish fails at once with a
:class:`~autostrada.exceptions.SessionClosed` (or the error that ended the session)
when the session ends for any reason; invocation tasks are cancelled; subscriptions
and registrations become inactive; nothing waits forever. After the end, call,
publish, subscribe and register raise :class:`~autostrada.exceptions.SessionClosed`.
A message that cannot be serialized, or is larger than the router accepts, is never
half-sent: the operation raises, and a procedure's unsendable result becomes an ERROR
for its caller.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from autostrada import session as core
from autostrada.aio.channel import Channel
from autostrada.aio.endpoints import ErrorMap, call_result, invoke, yield_payload
from autostrada.aio.tls import channel_ids
from autostrada.authenticators import Authenticator
from autostrada.exceptions import (
    ApplicationError,
    AuthenticationFailed,
    InvalidState,
    ProtocolError,
    SessionClosed,
    TransportError,
    WampError,
)
from autostrada.messages import Call, Cancel, Error, Message, MessageType, Yield
from autostrada.request import Publication, Registration, Subscription
from autostrada.serializers import Serializer
from autostrada.types import (
    CallDetails,
    CallOptions,
    Challenge,
    CloseDetails,
    ComponentConfig,
    EventDetails,
    PublishOptions,
    RegisterOptions,
    SessionDetails,
    SubscribeOptions,
    TransportDetails,
)
from autostrada.wamp import marks_of

__all__ = ["CallStream", "Session"]

log = logging.getLogger("autostrada.session")

Handler = Callable[..., Any]


class _Call:
    """A call in flight: its future, progress handling and timer."""

    __slots__ = ("future", "on_progress", "procedure", "queue", "request_id", "tail", "timer")

    def __init__(self, future: asyncio.Future[Any], procedure: str, request_id: int) -> None:
        self.future = future
        self.procedure = procedure
        self.request_id = request_id
        self.on_progress: Handler | None = None
        self.queue: asyncio.Queue[Any] | None = None  # for call_iter()
        self.tail: asyncio.Future[None] | None = None  # last on_progress still running
        self.timer: asyncio.TimerHandle | None = None


class Session:
    """A WAMP session: call, register, publish, subscribe (Autobahn's names and results).

    Subclass it and override the ``on_*`` hooks, or register observers with
    :meth:`on`. Hooks and observers may be plain functions or coroutine functions.

    Args:
        config: realm and extra data (Autobahn's ``ComponentConfig``).
    """

    def __init__(self, config: ComponentConfig | None = None) -> None:
        self.config = config if config is not None else ComponentConfig(realm="realm1")
        self._core = core.ClientSession()
        self._channel: Channel | None = None
        self._serializer: Serializer | None = None
        self._authenticators: dict[str, Authenticator] = {}
        self._authenticator: Authenticator | None = None
        self._errors = ErrorMap()
        self._calls: dict[int, _Call] = {}
        self._requests: dict[int, tuple[asyncio.Future[Any], Any]] = {}
        self._subscriptions: dict[int, list[Subscription]] = {}
        self._registrations: dict[int, Registration] = {}
        self._invocations: dict[int, asyncio.Task[None]] = {}
        self._chunks: dict[int, asyncio.Queue[tuple[Any, Any, bool]]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._join_future: asyncio.Future[SessionDetails] | None = None
        self._leave_future: asyncio.Future[CloseDetails] | None = None
        self._details: SessionDetails | None = None
        self._ended: CloseDetails | None = None  # how the last session ended
        self._transport_error: Exception | None = None  # why the transport went away
        self._observers: dict[str, list[Handler]] = {}
        self._dispatch: dict[type, Callable[[Any], None]] = {
            core.CallResult: self._on_call_result,
            core.RequestFailed: self._on_request_failed,
            core.RequestAborted: self._on_request_aborted,
            core.EventDelivered: self._on_event,
            core.Invoked: self._on_invocation,
            core.InvocationChunk: self._on_invocation_chunk,
            core.Interrupted: self._on_interrupt,
            core.Published: self._on_ack,
            core.Subscribed: self._on_ack,
            core.Unsubscribed: self._on_ack,
            core.Registered: self._on_ack,
            core.Unregistered: self._on_ack,
            core.SubscriptionRevoked: self._on_subscription_revoked,
            core.RegistrationRevoked: self._on_registration_revoked,
            core.Challenged: self._on_challenge_event,
            core.Joined: self._on_joined,
            core.ProtocolViolation: self._on_violation,
            core.Closed: self._on_closed,
        }

    # ------------------------------------------------------------------ hooks

    def on_connect(self) -> Any:
        """Called when the transport is attached. Default: nothing."""

    def on_challenge(self, challenge: Challenge) -> Any:
        """Answer a CHALLENGE: return the signature (or an awaitable of it).

        Default: the authenticator added for ``challenge.method``.
        """
        authenticator = self._authenticators.get(challenge.method)
        if authenticator is None:
            raise AuthenticationFailed(
                f"the router asked for {challenge.method!r} authentication, which this "
                "session has no credentials for"
            )
        self._authenticator = authenticator
        channel_id = self.transport_details.channel_id if self._channel else {}
        return authenticator.on_challenge(challenge, channel_id)

    def on_join(self, details: SessionDetails) -> Any:
        """Called when the session has joined. Default: nothing."""

    def on_leave(self, details: CloseDetails) -> Any:
        """Called when the session has ended. Default: close the transport."""
        self.disconnect()

    def on_disconnect(self) -> Any:
        """Called when the transport is gone. Default: nothing."""

    def on(self, event: str, handler: Handler) -> None:
        """Observe ``event``: join, leave, ready, connect or disconnect.

        Observers are called with the session first, then the event's arguments.
        """
        if event not in ("join", "leave", "ready", "connect", "disconnect"):
            raise ValueError(f"unknown session event {event!r}")
        self._observers.setdefault(event, []).append(handler)

    # ------------------------------------------------------------------ properties

    @property
    def session_id(self) -> int | None:
        """The WAMP session id while joined, else ``None``."""
        return self._core.session_id if self.is_attached() else None

    @property
    def details(self) -> SessionDetails | None:
        """What the router said when we joined (``None`` before)."""
        return self._details

    @property
    def transport_details(self) -> TransportDetails:
        """What is known about the transport."""
        channel = self._channel
        if channel is None:
            return TransportDetails()
        transport = channel.transport
        return TransportDetails(
            peer=channel.endpoint,
            is_secure=bool(transport and transport.get_extra_info("ssl_object")),
            channel_type=type(channel).__name__,
            websocket_protocol=channel.serializer.subprotocol if channel.serializer else None,
            channel_id=channel_ids(transport),
        )

    def is_connected(self) -> bool:
        """True while a transport is attached and open."""
        return self._channel is not None and self._channel.is_open

    def is_attached(self) -> bool:
        """True while joined to a realm."""
        return self._core.state is core.SessionState.ESTABLISHED

    def _require_joined(self, what: str) -> None:
        """Raise unless joined: SessionClosed once a session has ended, else InvalidState."""
        state = self._core.state
        if state is core.SessionState.ESTABLISHED:
            return
        ended = self._ended
        if state is core.SessionState.GOODBYE_SENT:
            raise SessionClosed(f"{what}: the session is leaving", CloseDetails.REASON_DEFAULT)
        if ended is not None:
            said = f"{ended.reason}: {ended.message}" if ended.message else ended.reason
            raise SessionClosed(f"{what}: the session has ended ({said})", ended.reason)
        raise InvalidState(f"{what}: the session is not joined (join a realm first)")

    def router_supports(self, role: str, feature: str) -> bool:
        """Whether the router announced ``feature`` for ``role`` (e.g. dealer, call_canceling)."""
        return self._core.router_supports(role, feature)

    # ------------------------------------------------------------------ transport

    async def attach(self, channel: Channel) -> None:
        """Run this session over ``channel`` (an open channel from :func:`aio.connect`)."""
        if self._channel is not None:
            raise InvalidState("this session already has a transport")
        serializer = await channel.opened
        self._channel = channel
        self._serializer = serializer
        channel.set_receiver(self._on_frame, self._on_transport_closed)
        await self._fire("connect")

    def disconnect(self) -> None:
        """Close the transport (without GOODBYE: use :meth:`leave` for a clean end)."""
        if self._channel is not None:
            self._channel.close()

    async def wait_disconnected(self) -> None:
        """Wait until the transport is gone."""
        if self._channel is not None:
            await self._channel.wait_closed()

    def _flush(self) -> None:
        """Send what the core queued; raise the error of a message that could not go.

        Used right after a local operation (call, publish, ...): the error belongs
        to its caller. A message that cannot be serialized, or that is larger than
        the peer accepts, never leaves the session in limbo: see :meth:`_unsendable`.
        """
        error = self._send_outgoing()
        if error is not None:
            raise error

    def _flush_quietly(self, what: str) -> None:
        """Send what the core queued where nobody can take an error (callbacks, tasks)."""
        error = self._send_outgoing()
        if error is not None:
            log.error("%s: a message for %s was not sent: %s", what, self._endpoint(), error)

    def _send_outgoing(self) -> Exception | None:
        outgoing = self._core.take_outgoing()
        if not outgoing:
            return None
        channel, serializer = self._channel, self._serializer
        if channel is None or serializer is None:
            return None
        encode, send = serializer.encode, channel.send
        first_error: Exception | None = None
        queue = collections.deque(outgoing)
        while queue:
            message = queue.popleft()
            try:
                data = encode(message)
            except (ValueError, TypeError) as exc:
                error = self._unsendable(message, exc, oversize=False)
            else:
                try:
                    send(data)
                    continue
                except TransportError as exc:
                    # The transport is gone: the session ends with it (transport_lost),
                    # which fails whatever is pending.
                    log.debug("could not send to %s: %s", channel.endpoint, exc)
                    return first_error
                except ValueError as exc:  # larger than the peer accepts (RawSocket)
                    error = self._unsendable(message, exc, oversize=True)
            queue.extend(self._core.take_outgoing())
            first_error = first_error or error
        return first_error

    def _unsendable(self, message: Message, exc: Exception, *, oversize: bool) -> Exception | None:
        """Deal with a message that cannot be sent; return the error for the local caller.

        The core already counts the message as sent, so it is settled here:

        * an answer to an INVOCATION (final YIELD, ERROR) is replaced by an ERROR
          (``wamp.error.payload_size_exceeded`` or ``wamp.error.runtime_error``), so
          that the caller is never left waiting; nothing to raise;
        * the first CALL of a call is forgotten by the core without a CANCEL (the
          router never saw it); a later chunk of a progressive call invocation
          cancels the call, which fails with the error;
        * anything else (a progressive YIELD, PUBLISH, SUBSCRIBE, ...): the error is
          raised to the caller of the operation.
        """
        name = message.TYPE.name
        if oversize:
            text = f"{name} not sent to {self._endpoint()}: {exc}"
            error: Exception = ApplicationError(ApplicationError.PAYLOAD_SIZE_EXCEEDED, text)
        else:
            kind = TypeError if isinstance(exc, TypeError) else ValueError
            error = kind(f"{name} cannot be serialized: {exc}")
        error.__cause__ = exc
        if isinstance(message, Yield | Error) and not (
            isinstance(message, Yield) and message.options.get("progress") is True
        ):
            uri = (
                ApplicationError.PAYLOAD_SIZE_EXCEEDED
                if oversize
                else ApplicationError.RUNTIME_ERROR
            )
            log.error("the answer to invocation %s was not sent: %s", message.request_id, error)
            self._send_direct(
                Error(MessageType.INVOCATION, message.request_id, {}, uri, [str(error)])
            )
            return None
        if isinstance(message, Call):
            call = self._calls.get(message.request_id)
            if call is None:  # the first CALL: the router never saw the call
                self._core.cancel(message.request_id, "skip")
                for extra in self._core.take_outgoing():
                    if not (isinstance(extra, Cancel) and extra.request_id == message.request_id):
                        self._send_direct(extra)
            elif not call.future.done():
                call.future.set_exception(error)
                call.future.exception()  # raised to the sender; the awaiter may be gone
                self._handle(self._core.cancel(message.request_id, "killnowait"))
        return error

    def _send_direct(self, message: Message) -> None:
        """Send one message the core does not track (a replacement answer)."""
        channel, serializer = self._channel, self._serializer
        if channel is None or serializer is None:
            return
        try:
            channel.send(serializer.encode(message))
        except (TransportError, ValueError, TypeError) as exc:
            log.debug("could not send %s to %s: %s", message.TYPE.name, channel.endpoint, exc)

    def _on_frame(self, data: bytes) -> None:
        assert self._serializer is not None
        try:
            messages = self._serializer.decode(data)
        except ProtocolError as exc:
            log.warning("protocol violation by %s: %s", self._endpoint(), exc)
            future = self._join_future
            if future is not None and not future.done():
                future.set_exception(exc)  # say what was wrong, not just "aborted"
            self._handle(self._core.abort(ApplicationError.PROTOCOL_VIOLATION, str(exc)))
            self.disconnect()
            return
        receive = self._core.receive
        for message in messages:
            self._handle(receive(message))

    def _on_transport_closed(self, error: Exception | None) -> None:
        # What the pending requests' SessionClosed and CloseDetails will name.
        self._transport_error = error or TransportError(f"connection to {self._endpoint()} closed")
        self._handle(self._core.transport_lost())
        self._spawn(self._fire("disconnect"), "on_disconnect")

    def _handle(self, events: list[core.SessionEvent]) -> None:
        dispatch = self._dispatch
        for event in events:
            dispatch[type(event)](event)
        self._flush_quietly("session")

    def _endpoint(self) -> str:
        return self._channel.endpoint if self._channel is not None else "(no transport)"

    # ------------------------------------------------------------------ join / leave

    def add_authenticator(self, authenticator: Authenticator) -> None:
        """Offer ``authenticator``'s method when joining (one per method)."""
        self._authenticators[authenticator.name] = authenticator

    async def join(
        self,
        realm: str | None = None,
        authmethods: list[str] | None = None,
        authid: str | None = None,
        authrole: str | None = None,
        authextra: dict[str, Any] | None = None,
        resumable: bool | None = None,
        resume_session: int | None = None,
        resume_token: str | None = None,
    ) -> SessionDetails:
        """Join ``realm`` (default: the config's realm) and return the session details.

        Without ``authmethods``, the methods of the added authenticators are offered
        (``anonymous`` when there are none), with their authid and authextra.

        Raises:
            AuthenticationFailed: the router refused our credentials.
            SessionClosed: the router aborted for another reason (e.g. no such realm).
            TransportError: the transport was lost.
        """
        realm = realm or self.config.realm
        if realm is None:
            raise ValueError("join: no realm given and none in the config")
        if self._channel is None:
            raise InvalidState("join: attach a transport first")
        if not self._channel.is_open:
            raise TransportError(f"join: the connection to {self._endpoint()} is closed")
        if authmethods is None:
            authmethods = list(self._authenticators) or ["anonymous"]
            extra: dict[str, Any] = {}
            for authenticator in self._authenticators.values():
                extra.update(authenticator.authextra)
                authid = authid or authenticator.authid
                authrole = authrole or authenticator.authrole
            authextra = {**extra, **(authextra or {})} or None
        future: asyncio.Future[SessionDetails] = asyncio.get_running_loop().create_future()
        self._join_future = future
        self._details = None
        self._ended = None
        self._core.hello(
            realm,
            authmethods=authmethods,
            authid=authid,
            authrole=authrole,
            authextra=authextra,
            agent="autostrada",
        )
        self._flush()
        return await future

    async def leave(self, reason: str | None = None, message: str | None = None) -> CloseDetails:
        """Send GOODBYE and wait (bounded by the transport's close timeout) for the echo."""
        if not self.is_attached():
            raise InvalidState("leave: the session is not joined")
        loop = asyncio.get_running_loop()
        future = self._leave_future
        if future is None or future.done():
            self._leave_future = future = loop.create_future()
        self._core.leave(reason or CloseDetails.REASON_DEFAULT, message)
        self._flush()
        timeout = self._channel.close_timeout if self._channel is not None else 5.0
        try:
            async with asyncio.timeout(timeout):
                return await asyncio.shield(future)
        except TimeoutError:
            log.warning("%s did not answer GOODBYE within %s s", self._endpoint(), timeout)
            self.disconnect()
            return CloseDetails(reason or CloseDetails.REASON_DEFAULT, "no GOODBYE echo")

    def _on_challenge_event(self, event: core.Challenged) -> None:
        self._spawn(
            self._answer_challenge(Challenge(event.method, dict(event.extra))), "on_challenge"
        )

    async def _answer_challenge(self, challenge: Challenge) -> None:
        try:
            signature = self.on_challenge(challenge)
            if inspect.isawaitable(signature):
                signature = await signature
            extra: dict[str, Any] | None = None
            if isinstance(signature, tuple):
                signature, extra = signature
            if not isinstance(signature, str):
                raise AuthenticationFailed("on_challenge must return the signature as a string")
            self._core.authenticate(signature, extra)
            self._flush()
        except WampError as exc:
            self._fail_join(
                exc if isinstance(exc, AuthenticationFailed) else AuthenticationFailed(str(exc))
            )
        except Exception as exc:
            log.exception("on_challenge failed")
            self._fail_join(AuthenticationFailed(f"on_challenge failed: {exc}"))

    def _fail_join(self, error: WampError) -> None:
        future = self._join_future
        if future is not None and not future.done():
            future.set_exception(error)
        self._handle(self._core.abort("wamp.error.authentication_failed", str(error)))

    def _on_joined(self, event: core.Joined) -> None:
        authenticator = self._authenticator or self._authenticators.get(event.authmethod or "")
        if authenticator is not None:
            try:
                authenticator.on_welcome(event.authextra)
            except AuthenticationFailed as exc:
                self._fail_join(exc)
                return
        self._details = SessionDetails(
            realm=event.realm,
            session=event.session_id,
            authid=event.authid,
            authrole=event.authrole,
            authmethod=event.authmethod,
            authprovider=event.authprovider,
            authextra=event.authextra,
            serializer=self._serializer.name if self._serializer else None,
            transport=self.transport_details,
        )
        future = self._join_future
        if future is not None and not future.done():
            future.set_result(self._details)
        self._spawn(self._fire("join", self._details), "on_join")

    def _on_violation(self, event: core.ProtocolViolation) -> None:
        log.warning("protocol violation by %s: %s", self._endpoint(), event.error)

    def _on_closed(self, event: core.Closed) -> None:
        message = event.message
        if event.reason == CloseDetails.REASON_TRANSPORT_LOST and self._transport_error:
            message = str(self._transport_error)
        details = CloseDetails(event.reason, message)
        self._ended = details
        for task in list(self._invocations.values()):
            task.cancel()
        # The router forgets our subscriptions and registrations with the session.
        for subs in self._subscriptions.values():
            for sub in subs:
                sub.active = False
        for reg in self._registrations.values():
            reg.active = False
        self._subscriptions.clear()
        self._registrations.clear()
        future = self._join_future
        if future is not None and not future.done():
            error = event.error or SessionClosed(
                f"session ended before it was joined: {event.reason}", event.reason
            )
            future.set_exception(error)
        leave = self._leave_future
        if leave is not None and not leave.done():
            leave.set_result(details)
        self._authenticator = None
        if event.joined or self._details is not None:
            self._spawn(self._fire("leave", details), "on_leave")
        elif self._channel is not None and not self._channel.is_open:
            return
        else:
            self._flush_quietly("session")  # e.g. our ABORT: before the close, not after
            self.disconnect()

    # ------------------------------------------------------------------ events to hooks

    async def _fire(self, event: str, *args: Any) -> None:
        # The on_<event> hook gets the event's arguments; observers get the session first.
        hook: Handler | None = getattr(self, f"on_{event}", None) if event != "ready" else None
        calls: list[tuple[Handler, tuple[Any, ...]]] = [(hook, args)] if hook is not None else []
        calls += [(observer, (self, *args)) for observer in self._observers.get(event, [])]
        for handler, handler_args in calls:
            try:
                result = handler(*handler_args)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("the %r handler %r failed", event, handler)

    def _spawn(self, coro: Awaitable[Any], what: str) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ------------------------------------------------------------------ caller

    def define(self, exception: type[BaseException], error: str | None = None) -> None:
        """Map an error URI to an exception class for this session (both directions)."""
        self._errors.define(exception, error)

    async def call(
        self, procedure: str, *args: Any, options: CallOptions | None = None, **kwargs: Any
    ) -> Any:
        """Call ``procedure`` and return its result (Autobahn's result rules).

        Returns ``None`` for no result, the value for a single positional result, and a
        :class:`~autostrada.types.CallResult` for several or keyword results.

        Raises:
            ApplicationError: the callee or router answered with an error (or the
                exception class mapped to its URI); ``wamp.error.timeout`` when
                ``options.timeout`` expired; ``wamp.error.payload_size_exceeded``
                when the CALL is larger than the router accepts (RawSocket).
            SessionClosed: the session ended before the result arrived, or had
                ended (or was leaving) when the call was made.
            InvalidState: the session has not joined yet.
            ValueError, TypeError: the payload cannot be serialized.
        """
        call = self._start_call(procedure, args, kwargs, options)
        return await self._await_call(call, options)

    async def call_iter(
        self, procedure: str, *args: Any, options: CallOptions | None = None, **kwargs: Any
    ) -> AsyncIterator[Any]:
        """Call ``procedure`` with progressive results: yield each one, then the final result."""
        queue: asyncio.Queue[Any] = asyncio.Queue()
        call = self._start_call(procedure, args, kwargs, options, progress_queue=queue)
        final = asyncio.ensure_future(self._await_call(call, options))
        getter: asyncio.Future[Any] | None = None
        try:
            while True:
                getter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({getter, final}, return_when=asyncio.FIRST_COMPLETED)
                if getter in done:
                    yield getter.result()
                    continue
                getter.cancel()
                while not queue.empty():
                    yield queue.get_nowait()
                yield final.result()
                return
        finally:
            if getter is not None and not getter.done():
                getter.cancel()
            if not final.done():
                final.cancel()
            elif not final.cancelled():
                final.exception()  # the consumer may have stopped before the end

    async def call_stream(
        self, procedure: str, *args: Any, options: CallOptions | None = None, **kwargs: Any
    ) -> CallStream:
        """Start a progressive call invocation; send more chunks with :meth:`CallStream.send`."""
        call = self._start_call(procedure, args, kwargs, options, progress_invocation=True)
        return CallStream(self, call, options)

    def _start_call(
        self,
        procedure: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        options: CallOptions | None,
        *,
        progress_queue: asyncio.Queue[Any] | None = None,
        progress_invocation: bool = False,
    ) -> _Call:
        wire = options.message_attr() if options is not None else {}
        if progress_queue is not None:
            wire["receive_progress"] = True
        if progress_invocation:
            wire["progress"] = True
        self._require_joined("call")
        request_id = self._core.call(procedure, list(args) if args else None, kwargs or None, wire)
        self._flush()
        call = _Call(asyncio.get_running_loop().create_future(), procedure, request_id)
        call.queue = progress_queue
        if options is not None:
            call.on_progress = options.on_progress
            if options.timeout:
                call.timer = call.future.get_loop().call_later(
                    options.timeout, self._call_timed_out, request_id, options.timeout
                )
        self._calls[request_id] = call
        call.future.add_done_callback(functools.partial(self._call_done, request_id))
        return call

    def _call_done(self, request_id: int, _future: object = None) -> None:
        call = self._calls.pop(request_id, None)
        if call is not None and call.timer is not None:
            call.timer.cancel()

    async def _await_call(self, call: _Call, options: CallOptions | None) -> Any:
        try:
            return await call.future
        except asyncio.CancelledError:
            # The awaiting task was cancelled: cancel the call. (call.future is
            # cancelled with the task, so the call has left self._calls by now; the
            # core still knows whether it is pending, and ignores it otherwise.)
            mode = (options.cancel_mode if options else None) or "killnowait"
            self._handle(self._core.cancel(call.request_id, mode))
            raise

    def _call_timed_out(self, request_id: int, timeout: float) -> None:
        call = self._calls.get(request_id)
        if call is None or call.future.done():
            return
        call.future.set_exception(
            ApplicationError(
                ApplicationError.TIMEOUT, f"call to {call.procedure} timed out after {timeout} s"
            )
        )
        self._handle(self._core.cancel(request_id, "killnowait"))

    def _on_call_result(self, event: core.CallResult) -> None:
        call = self._calls.get(event.request_id)
        if call is None:
            return
        if event.progress:
            self._progress(call, event.args, event.kwargs)
            return
        value = call_result(event.args, event.kwargs)
        if call.tail is None or call.tail.done():
            if not call.future.done():
                call.future.set_result(value)
        else:  # deliver the final result after the last on_progress has run
            call.tail.add_done_callback(functools.partial(_resolve, call.future, value))

    def _progress(self, call: _Call, args: list[Any] | None, kwargs: dict[str, Any] | None) -> None:
        if call.queue is not None:
            call.queue.put_nowait(call_result(args, kwargs))
        handler = call.on_progress
        if handler is None:
            return
        previous = call.tail

        async def run() -> None:
            if previous is not None and not previous.done():
                await previous
            try:
                await invoke(handler, args, kwargs)
            except Exception:
                log.exception("on_progress of call to %s failed", call.procedure)

        call.tail = self._spawn(run(), "on_progress")

    def _on_request_failed(self, event: core.RequestFailed) -> None:
        error = self._errors.to_exception(event.error, event.args, event.kwargs)
        self._fail_request(event.request_id, event.request_type, error)

    def _on_request_aborted(self, event: core.RequestAborted) -> None:
        error = event.error
        lost = self._transport_error
        if lost is not None and error.reason == CloseDetails.REASON_TRANSPORT_LOST:
            error = SessionClosed(f"{error} ({lost})", error.reason)
            error.__cause__ = lost
        self._fail_request(event.request_id, event.request_type, error)

    def _fail_request(
        self, request_id: int, request_type: MessageType, error: BaseException
    ) -> None:
        if request_type is MessageType.CALL:
            call = self._calls.get(request_id)
            if call is not None and not call.future.done():
                call.future.set_exception(error)
                call.future.exception()  # the caller may have stopped waiting
            return
        entry = self._requests.pop(request_id, None)
        if entry is not None and not entry[0].done():
            entry[0].set_exception(error)
            entry[0].exception()

    # ------------------------------------------------------------------ publisher

    def publish(
        self, topic: str, *args: Any, options: PublishOptions | None = None, **kwargs: Any
    ) -> asyncio.Future[Publication] | None:
        """Publish an event. Returns ``None``, or with ``acknowledge=True`` an awaitable
        resolving to a :class:`~autostrada.request.Publication` (or failing with the
        broker's error).
        """
        self._require_joined("publish")
        wire = options.message_attr() if options is not None else {}
        request_id = self._core.publish(topic, list(args) if args else None, kwargs or None, wire)
        self._flush()
        if request_id is None:
            return None
        return self._track(request_id, None)

    def _track(self, request_id: int, context: Any) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._requests[request_id] = (future, context)
        return future

    def _on_ack(self, event: Any) -> None:
        entry = self._requests.pop(event.request_id, None)
        if entry is None:
            return
        future, context = entry
        if future.done():
            return
        if isinstance(event, core.Published):
            future.set_result(Publication(event.publication_id))
        elif isinstance(event, core.Subscribed):
            future.set_result(self._add_subscription(event.subscription_id, context))
        elif isinstance(event, core.Registered):
            future.set_result(self._add_registration(event.registration_id, context))
        else:
            future.set_result(None)

    # ------------------------------------------------------------------ subscriber

    async def subscribe(
        self,
        handler: Any,
        topic: str | None = None,
        options: SubscribeOptions | None = None,
        check_types: bool | None = None,
    ) -> Subscription | list[Subscription]:
        """Subscribe ``handler`` to ``topic``; or every ``@wamp.subscribe`` method of an object.

        Several handlers may subscribe to the same topic: they share the broker's
        subscription, and each gets its own :class:`~autostrada.request.Subscription`.
        """
        if not callable(handler) or (topic is None and marks_of(handler, "subscribe")):
            subscriptions = []
            for method, mark in marks_of(handler, "subscribe"):
                uri = mark.uri or method.__name__
                assert not isinstance(mark.options, RegisterOptions)
                sub = await self.subscribe(method, uri, mark.options)
                assert isinstance(sub, Subscription)
                subscriptions.append(sub)
            return subscriptions
        if topic is None:
            raise ValueError("subscribe: no topic given")
        self._require_joined("subscribe")
        wire = options.message_attr() if options is not None else {}
        request_id = self._core.subscribe(topic, wire)
        self._flush()
        context = (handler, topic, options)
        return await self._track(request_id, context)  # type: ignore[no-any-return]

    def _add_subscription(self, subscription_id: int, context: Any) -> Subscription:
        handler, topic, options = context
        sub = Subscription(
            subscription_id,
            topic,
            self,
            handler,
            match=(options.match if options else None) or "exact",
            details_arg=options.details_arg if options else None,
        )
        self._subscriptions.setdefault(subscription_id, []).append(sub)
        return sub

    async def _unsubscribe(self, sub: Subscription) -> None:
        if not sub.active:
            return
        sub.active = False
        handlers = self._subscriptions.get(sub.id, [])
        if sub in handlers:
            handlers.remove(sub)
        if handlers or not self.is_attached():
            return
        del self._subscriptions[sub.id]
        request_id = self._core.unsubscribe(sub.id)
        self._flush()
        await self._track(request_id, None)

    def _on_event(self, event: core.EventDelivered) -> None:
        subs = self._subscriptions.get(event.subscription_id)
        if not subs:
            return
        pending: list[Awaitable[Any]] = []
        details = event.details
        for sub in subs:
            kwargs = event.kwargs
            if sub.details_arg:
                kwargs = dict(kwargs or {})
                kwargs[sub.details_arg] = EventDetails(
                    subscription=sub,
                    publication=event.publication_id,
                    publisher=details.get("publisher"),
                    publisher_authid=details.get("publisher_authid"),
                    publisher_authrole=details.get("publisher_authrole"),
                    topic=details.get("topic", sub.topic),
                    retained=details.get("retained"),
                    transaction_hash=details.get("transaction_hash"),
                    forward_for=details.get("forward_for"),
                )
            try:
                result = sub.handler(*(event.args or ()), **(kwargs or {}))
            except Exception:
                log.exception("event handler %r for topic %s failed", sub.handler, sub.topic)
                continue
            if inspect.isawaitable(result):
                pending.append(self._guard_handler(result, sub))
        if pending or event.acknowledge:
            self._spawn(self._finish_event(pending, event), "event handler")

    async def _guard_handler(self, result: Awaitable[Any], sub: Subscription) -> None:
        try:
            await result
        except Exception:
            log.exception("event handler %r for topic %s failed", sub.handler, sub.topic)

    async def _finish_event(
        self, pending: list[Awaitable[Any]], event: core.EventDelivered
    ) -> None:
        for awaitable in pending:
            await awaitable
        if event.acknowledge and self._core.send_event_received(event.publication_id):
            self._flush_quietly("event acknowledgement")

    def _on_subscription_revoked(self, event: core.SubscriptionRevoked) -> None:
        for sub in self._subscriptions.pop(event.subscription_id, []):
            sub.active = False
        log.info("the router revoked subscription %s: %s", event.subscription_id, event.reason)

    # ------------------------------------------------------------------ callee

    async def register(
        self,
        endpoint: Any,
        procedure: str | None = None,
        options: RegisterOptions | None = None,
        prefix: str | None = None,
        check_types: bool | None = None,
    ) -> Registration | list[Registration]:
        """Register ``endpoint`` as ``procedure``; or every ``@wamp.register`` method of an object.

        Each invocation runs as its own task; its return value or exception becomes
        the YIELD or ERROR (see :mod:`autostrada.aio.endpoints`).
        """
        if not callable(endpoint) or (procedure is None and marks_of(endpoint, "register")):
            registrations = []
            for method, mark in marks_of(endpoint, "register"):
                uri = (prefix or "") + (mark.uri or method.__name__)
                assert not isinstance(mark.options, SubscribeOptions)
                reg = await self.register(method, uri, mark.options)
                assert isinstance(reg, Registration)
                registrations.append(reg)
            return registrations
        if procedure is None:
            raise ValueError("register: no procedure given")
        procedure = (prefix or "") + procedure
        self._require_joined("register")
        wire = options.message_attr() if options is not None else {}
        request_id = self._core.register(procedure, wire)
        self._flush()
        context = (endpoint, procedure, options)
        return await self._track(request_id, context)  # type: ignore[no-any-return]

    def _add_registration(self, registration_id: int, context: Any) -> Registration:
        endpoint, procedure, options = context
        reg = Registration(
            self, registration_id, procedure, endpoint, options.details_arg if options else None
        )
        self._registrations[registration_id] = reg
        return reg

    async def _unregister(self, reg: Registration) -> None:
        if not reg.active:
            return
        reg.active = False
        self._registrations.pop(reg.id, None)
        if not self.is_attached():
            return
        request_id = self._core.unregister(reg.id)
        self._flush()
        await self._track(request_id, None)

    def _on_registration_revoked(self, event: core.RegistrationRevoked) -> None:
        reg = self._registrations.pop(event.registration_id, None)
        if reg is not None:
            reg.active = False
        log.info("the router revoked registration %s: %s", event.registration_id, event.reason)

    def _on_invocation(self, event: core.Invoked) -> None:
        reg = self._registrations.get(event.registration_id)
        request_id = event.request_id
        if reg is None:  # registration gone meanwhile: answer, never leave the caller hanging
            self._core.invocation_error(request_id, ApplicationError.NO_SUCH_REGISTRATION)
            return  # sent by _handle()
        kwargs = event.kwargs
        if reg.details_arg:
            kwargs = dict(kwargs or {})
            kwargs[reg.details_arg] = self._call_details(reg, event)
        if event.progress:  # progressive call invocation: more chunks follow
            queue: asyncio.Queue[tuple[Any, Any, bool]] = asyncio.Queue()
            self._chunks[request_id] = queue
            queue.put_nowait((event.args, kwargs, False))
            coro = self._run_stream(reg, request_id, queue)
        else:
            coro = self._run_invocation(reg, request_id, event.args, kwargs)
        task = asyncio.ensure_future(coro)
        self._invocations[request_id] = task
        task.add_done_callback(lambda _t: self._invocations.pop(request_id, None))

    def _call_details(self, reg: Registration, event: core.Invoked) -> CallDetails:
        details = event.details
        progress = None
        if event.receive_progress:
            request_id = event.request_id

            def progress(*args: Any, **kwargs: Any) -> None:
                if self._core.yield_result(
                    request_id, list(args) or None, kwargs or None, progress=True
                ):
                    self._flush()

        return CallDetails(
            registration=reg,
            progress=progress,
            caller=details.get("caller"),
            caller_authid=details.get("caller_authid"),
            caller_authrole=details.get("caller_authrole"),
            procedure=details.get("procedure", reg.procedure),
            transaction_hash=details.get("transaction_hash"),
            forward_for=details.get("forward_for"),
        )

    def _on_invocation_chunk(self, event: core.InvocationChunk) -> None:
        queue = self._chunks.get(event.request_id)
        if queue is not None:
            queue.put_nowait((event.args, event.kwargs, not event.progress))

    async def _run_stream(
        self, reg: Registration, request_id: int, queue: asyncio.Queue[tuple[Any, Any, bool]]
    ) -> None:
        # Progressive call invocation: the endpoint is called once per chunk, in order;
        # the return value of the call for the final chunk is the result.
        try:
            while True:
                args, kwargs, final = await queue.get()
                if reg.details_arg:
                    kwargs = dict(kwargs or {})
                    details = kwargs.get(reg.details_arg)
                    if not isinstance(details, CallDetails):
                        kwargs[reg.details_arg] = CallDetails(
                            registration=reg, procedure=reg.procedure
                        )
                if final:
                    await self._run_invocation(reg, request_id, args, kwargs)
                    return
                await invoke(reg.endpoint, args, kwargs)
        except asyncio.CancelledError:
            self._answer_error(request_id, ApplicationError.CANCELED, None, None)
            raise
        except Exception as exc:
            self._answer_error(
                request_id, *self._errors.to_error(exc, f"procedure {reg.procedure}")
            )
        finally:
            self._chunks.pop(request_id, None)

    async def _run_invocation(
        self, reg: Registration, request_id: int, args: Any, kwargs: Any
    ) -> None:
        try:
            result = await invoke(reg.endpoint, args, kwargs)
        except asyncio.CancelledError:
            # INTERRUPT (or the session ended): answer wamp.error.canceled
            # (DIVERGENCES.md: not runtime_error as Autobahn does).
            self._answer_error(request_id, ApplicationError.CANCELED, None, None)
            raise
        except Exception as exc:
            self._answer_error(
                request_id, *self._errors.to_error(exc, f"procedure {reg.procedure}")
            )
            return
        result_args, result_kwargs = yield_payload(result)
        try:
            sent = self._core.yield_result(request_id, result_args, result_kwargs)
        except (InvalidState, ValueError, TypeError) as exc:  # e.g. the session is gone
            log.debug("result of %s not sent: %s", reg.procedure, exc)
            return
        if sent:
            self._flush_quietly(f"procedure {reg.procedure}")

    def _answer_error(self, request_id: int, error: str, args: Any, kwargs: Any) -> None:
        try:
            if self._core.invocation_error(request_id, error, args, kwargs):
                self._flush_quietly("invocation error")
        except (InvalidState, ValueError, TypeError) as exc:
            log.debug("error for invocation %s not sent: %s", request_id, exc)

    def _on_interrupt(self, event: core.Interrupted) -> None:
        task = self._invocations.get(event.request_id)
        if task is not None:
            task.cancel()

    # ------------------------------------------------------------------ context manager

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self.is_attached():
            await self.leave()
        self.disconnect()
        await self.wait_disconnected()


def _resolve(future: asyncio.Future[Any], value: Any, _done: object = None) -> None:
    if not future.done():
        future.set_result(value)


class CallStream:
    """A progressive call invocation in flight (the caller streams input chunks).

    Use :meth:`send` for each further chunk and :meth:`finish` for the last one,
    which returns the call's result.
    """

    def __init__(self, session: Session, call: _Call, options: CallOptions | None) -> None:
        self._session = session
        self._call = call
        self._options = options
        self._request_id = call.request_id
        self._finished = False

    def send(self, *args: Any, **kwargs: Any) -> None:
        """Send one more input chunk.

        Raises:
            InvalidState: the stream was finished, or the call has ended (failed,
                cancelled, or answered early): :meth:`finish` tells how.
        """
        if self._finished:
            raise InvalidState("call_stream: the stream is already finished")
        if self._call.future.done():
            raise InvalidState("call_stream: the call has ended (finish() tells how)")
        self._session._core.call_progress(self._request_id, list(args) or None, kwargs or None)
        self._session._flush()

    async def finish(self, *args: Any, **kwargs: Any) -> Any:
        """Send the final chunk and return the call's result."""
        if not self._finished and not self._call.future.done():
            self._finished = True
            self._session._core.call_progress(
                self._request_id, list(args) or None, kwargs or None, final=True
            )
            self._session._flush()
        return await self._session._await_call(self._call, self._options)
