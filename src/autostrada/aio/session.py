"""The asyncio WAMP session: Autobahn's session API over a :class:`~autostrada.aio.channel.Channel`.

This is the thin driver of the sans-I/O :class:`~autostrada.session.ClientSession`:
it turns the machine's events into resolved futures and handler calls, and user calls
into machine calls. It owns the clock (call and join timeouts) and the tasks
(invocations, event handlers).

:class:`Session` is made of its WAMP roles, one module each:
:class:`~autostrada.aio.caller.Caller` (call, call_iter, call_stream),
:class:`~autostrada.aio.callee.Callee` (register, invocations),
:class:`~autostrada.aio.pubsub.Publisher` and :class:`~autostrada.aio.pubsub.Subscriber`
(publish, subscribe, events); and :class:`~autostrada.aio.wire.Wire`, which moves the
messages between the core and the channel. This module holds what they share: the
lifecycle (attach, join, authenticate, leave, the end), acknowledged requests, and the
dispatch of the core's events to the roles.

Lifecycle::

    session = Session(ComponentConfig(realm="realm1"))
    await session.attach(channel)          # a connected channel (see aio.connect)
    details = await session.join("realm1")
    result = await session.call("com.example.add", 2, 3)
    await session.leave()

Guarantees: every pending call/subscribe/register/publish fails at once with a
:class:`~autostrada.exceptions.SessionClosed` (or the error that ended the session)
when the session ends for any reason; invocation and event handler tasks are
cancelled; subscriptions and registrations become inactive; nothing waits forever
(a join is bounded too). After the end, call, publish, subscribe and register raise
:class:`~autostrada.exceptions.SessionClosed`. A message that cannot be serialized,
or is larger than the router accepts, is never half-sent: the operation raises, and
a procedure's unsendable result becomes an ERROR for its caller.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Sized
from typing import TYPE_CHECKING, Any, TypeVar, overload

from autostrada import session as core
from autostrada.aio.callee import Callee
from autostrada.aio.caller import Caller, CallStream
from autostrada.aio.channel import Channel
from autostrada.aio.endpoints import ErrorMap
from autostrada.aio.pubsub import Publisher, Subscriber
from autostrada.aio.tls import channel_ids
from autostrada.aio.wire import Wire, ready_queue
from autostrada.authenticators import Authenticator
from autostrada.exceptions import (
    ApplicationError,
    AuthenticationFailed,
    InvalidState,
    SessionClosed,
    TransportError,
    WampError,
)
from autostrada.messages import (
    MessageType,
)
from autostrada.request import Registration, Subscription
from autostrada.serializers import Serializer
from autostrada.types import (
    Challenge,
    CloseDetails,
    ComponentConfig,
    RegisterOptions,
    SessionDetails,
    SubscribeOptions,
    TransportDetails,
)

__all__ = ["CallStream", "Session"]

log = logging.getLogger("autostrada.session")

Handler = Callable[..., Any]
T = TypeVar("T")

Acknowledgement = (
    core.Published | core.Subscribed | core.Unsubscribed | core.Registered | core.Unregistered
)

_ESTABLISHED = core.SessionState.ESTABLISHED


class Session(Caller, Callee, Publisher, Subscriber, Wire):
    """A WAMP session: call, register, publish, subscribe (Autobahn's names and results).

    Subclass it and override the ``on_*`` hooks, or register observers with
    :meth:`on`. Hooks and observers may be plain functions or coroutine functions.

    Args:
        config: realm and extra data (Autobahn's ``ComponentConfig``).
    """

    def __init__(self, config: ComponentConfig | None = None) -> None:
        super().__init__()
        self.config = config if config is not None else ComponentConfig(realm="realm1")
        self._core = core.ClientSession()
        self._channel: Channel | None = None
        self._serializer: Serializer | None = None
        self._authenticators: dict[str, Authenticator] = {}
        self._authenticator: Authenticator | None = None
        self._errors = ErrorMap()
        self._requests: dict[int, tuple[asyncio.Future[Any], Callable[[Any], Any]]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._join_future: asyncio.Future[SessionDetails] | None = None
        self._challenge_task: asyncio.Task[Any] | None = None
        self._leaving: set[asyncio.Task[Any]] = set()  # tasks awaiting leave()
        self._leave_future: asyncio.Future[CloseDetails] | None = None
        self._details: SessionDetails | None = None
        self._ended: CloseDetails | None = None  # how the last session ended
        self._transport_error: Exception | None = None  # why the transport went away
        self._observers: dict[str, list[Handler]] = {}
        # Sending in batches (see aio.wire): inside a read, and in one turn of the loop.
        self._reading = False
        self._corked = False
        self._unanswered = False  # see Wire._on_batch
        self._loop_ready: Sized | None = None  # see wire.ready_queue()
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

    # Autobahn's session attributes: what the router said in WELCOME (kept after the
    # session ends, until the next join), and the transport.

    @property
    def session_details(self) -> SessionDetails | None:
        """Autobahn's name for :attr:`details`."""
        return self._details

    @property
    def realm(self) -> str | None:
        """The realm joined (``None`` before the first WELCOME)."""
        return self._details.realm if self._details is not None else None

    @property
    def authid(self) -> str | None:
        """The authid the router assigned."""
        return self._details.authid if self._details is not None else None

    @property
    def authrole(self) -> str | None:
        """The authrole the router assigned."""
        return self._details.authrole if self._details is not None else None

    @property
    def authmethod(self) -> str | None:
        """The authentication method the router accepted (``anonymous``, ``ticket``, ...)."""
        return self._details.authmethod if self._details is not None else None

    @property
    def authprovider(self) -> str | None:
        """Who authenticated the session, as the router names it (``static``, ...)."""
        return self._details.authprovider if self._details is not None else None

    @property
    def authextra(self) -> dict[str, Any] | None:
        """The ``authextra`` of WELCOME."""
        return self._details.authextra if self._details is not None else None

    @property
    def transport(self) -> Channel | None:
        """The transport (a :class:`~autostrada.aio.channel.Channel`) until it is gone."""
        channel = self._channel
        return channel if channel is not None and not channel.closed.done() else None

    if TYPE_CHECKING:  # for the type checker: one Registration / Subscription, or a list

        @overload
        async def register(
            self,
            endpoint: Callable[..., Any],
            procedure: str,
            options: RegisterOptions | None = None,
            prefix: str | None = None,
            check_types: bool | None = None,
        ) -> Registration: ...

        @overload
        async def register(
            self,
            endpoint: object,
            procedure: None = None,
            options: RegisterOptions | None = None,
            prefix: str | None = None,
            check_types: bool | None = None,
        ) -> list[Registration]: ...

        @overload
        async def register(
            self,
            endpoint: Any,
            procedure: str | None = None,
            options: RegisterOptions | None = None,
            prefix: str | None = None,
            check_types: bool | None = None,
        ) -> Registration | list[Registration]: ...

        async def register(
            self,
            endpoint: Any,
            procedure: str | None = None,
            options: RegisterOptions | None = None,
            prefix: str | None = None,
            check_types: bool | None = None,
        ) -> Registration | list[Registration]:
            """Register ``endpoint`` as ``procedure``: one ``Registration``.

            Without ``procedure``, register every ``@wamp.register`` method of the object
            ``endpoint`` (``prefix`` before each URI): a list of them. See
            :meth:`autostrada.aio.callee.Callee.register`.
            """

        @overload
        async def subscribe(
            self,
            handler: Callable[..., Any],
            topic: str,
            options: SubscribeOptions | None = None,
            check_types: bool | None = None,
        ) -> Subscription: ...

        @overload
        async def subscribe(
            self,
            handler: object,
            topic: None = None,
            options: SubscribeOptions | None = None,
            check_types: bool | None = None,
        ) -> list[Subscription]: ...

        @overload
        async def subscribe(
            self,
            handler: Any,
            topic: str | None = None,
            options: SubscribeOptions | None = None,
            check_types: bool | None = None,
        ) -> Subscription | list[Subscription]: ...

        async def subscribe(
            self,
            handler: Any,
            topic: str | None = None,
            options: SubscribeOptions | None = None,
            check_types: bool | None = None,
        ) -> Subscription | list[Subscription]:
            """Subscribe ``handler`` to ``topic``: one ``Subscription``.

            Without ``topic``, subscribe every ``@wamp.subscribe`` method of the object
            ``handler``: a list of them. See :meth:`autostrada.aio.pubsub.Subscriber.subscribe`.
            """

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
        if state is _ESTABLISHED:
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
        self._loop = channel.loop
        self._loop_ready = ready_queue(channel.loop)
        channel.set_receiver(self._on_frame, self._on_transport_closed, self._on_batch)
        await self._fire("connect")

    def disconnect(self) -> None:
        """Close the transport (without GOODBYE: use :meth:`leave` for a clean end)."""
        if self._channel is not None:
            self._channel.close()

    async def wait_disconnected(self) -> None:
        """Wait until the transport is gone."""
        if self._channel is not None:
            await self._channel.wait_closed()

    # ------------------------------------------------------------------ transport end

    def _on_transport_closed(self, error: Exception | None) -> None:
        # What the pending requests' SessionClosed and CloseDetails will name.
        self._transport_error = error or TransportError(f"connection to {self._endpoint()} closed")
        self._reading = False
        self._handle(self._core.transport_lost())
        self._spawn(self._fire("disconnect"), "on_disconnect")

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
        *,
        timeout: float | None = None,
    ) -> SessionDetails:
        """Join ``realm`` (default: the config's realm) and return the session details.

        Without ``authmethods``, the methods of the added authenticators are offered
        (``anonymous`` when there are none), with their authid and authextra.

        ``timeout`` bounds the whole join, authentication included, in seconds; the
        default is the channel's ``open_timeout``. When it expires, the session is
        aborted (ABORT ``wamp.error.timeout``) and the transport closed.

        Raises:
            AuthenticationFailed: the router refused our credentials.
            SessionClosed: the router aborted for another reason (e.g. no such realm).
            TransportError: the transport was lost, or no WELCOME came in time.
        """
        realm = realm or self.config.realm
        if realm is None:
            raise ValueError("join: no realm given and none in the config")
        if timeout is not None and not timeout > 0:
            raise ValueError(f"join: timeout must be a positive number, got {timeout!r}")
        if self._channel is None:
            raise InvalidState("join: attach a transport first")
        if not self._channel.is_open:
            raise TransportError(f"join: the connection to {self._endpoint()} is closed")
        if timeout is None:
            timeout = self._channel.open_timeout
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
        try:
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError:
            if not future.cancelled():  # the answer came just as the time ran out
                return future.result()
            error = TransportError(f"join: no WELCOME from {self._endpoint()} within {timeout:g} s")
            self._fail_join(error, ApplicationError.TIMEOUT)
            raise error from None

    async def leave(self, reason: str | None = None, message: str | None = None) -> CloseDetails:
        """Send GOODBYE and wait (bounded by the transport's close timeout) for the echo.

        An event handler awaiting ``leave()`` is not cancelled by the end it asked for.
        """
        if not self.is_attached():
            raise InvalidState("leave: the session is not joined")
        loop = asyncio.get_running_loop()
        future = self._leave_future
        if future is None or future.done():
            self._leave_future = future = loop.create_future()
        self._core.leave(reason or CloseDetails.REASON_DEFAULT, message)
        self._flush()
        timeout = self._channel.close_timeout if self._channel is not None else 5.0
        leaving = asyncio.current_task()
        if leaving is not None:
            self._leaving.add(leaving)
        try:
            async with asyncio.timeout(timeout):
                return await asyncio.shield(future)
        except TimeoutError:
            log.warning("%s did not answer GOODBYE within %s s", self._endpoint(), timeout)
            self.disconnect()
            return CloseDetails(reason or CloseDetails.REASON_DEFAULT, "no GOODBYE echo")
        finally:
            self._leaving.discard(leaving)

    def _on_challenge_event(self, event: core.Challenged) -> None:
        self._challenge_task = self._spawn(
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

    def _fail_join(
        self, error: WampError, reason: str = ApplicationError.AUTHENTICATION_FAILED
    ) -> None:
        future = self._join_future
        if future is not None and not future.done():
            future.set_exception(error)
        self._handle(self._core.abort(reason, str(error)))

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
        self._end_callee()
        self._end_subscriber(spare=self._leaving)
        challenge = self._challenge_task
        if challenge is not None and challenge is not asyncio.current_task():
            challenge.cancel()  # e.g. the join timed out while on_challenge was running
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

    # ------------------------------------------------------------------ requests

    def define(self, exception: type[BaseException], error: str | None = None) -> None:
        """Map an error URI to an exception class for this session (both directions)."""
        self._errors.define(exception, error)

    def _track(self, request_id: int, settle: Callable[[Any], T]) -> asyncio.Future[T]:
        """A future for an acknowledged request (PUBLISH, [UN]SUBSCRIBE, [UN]REGISTER).

        The router's acknowledgement resolves it with ``settle(event)``; an ERROR or the
        end of the session fails it.
        """
        future: asyncio.Future[T] = self._loop.create_future()
        self._requests[request_id] = (future, settle)
        return future

    def _on_ack(self, event: Acknowledgement) -> None:
        entry = self._requests.pop(event.request_id, None)
        if entry is not None and not entry[0].done():
            future, settle = entry
            future.set_result(settle(event))

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
            self._fail_call(request_id, error)
            return
        entry = self._requests.pop(request_id, None)
        if entry is not None and not entry[0].done():
            entry[0].set_exception(error)
            entry[0].exception()

    # ------------------------------------------------------------------ context manager

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self.is_attached():
            await self.leave()
        self.disconnect()
        await self.wait_disconnected()
