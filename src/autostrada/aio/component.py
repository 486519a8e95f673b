"""``Component``: Autobahn's asyncio Component API, without its known bugs (``run()`` is in
:mod:`autostrada.aio.runner`).

A component knows how to connect (one or more transports, tried round-robin), how to
authenticate, and what to do once joined; it reconnects with backoff until it is done::

    from autostrada import Component, run

    component = Component(transports="ws://127.0.0.1:8080/ws", realm="realm1")

    @component.register("com.example.add")
    def add(a, b):
        return a + b

    @component.on_join
    async def joined(session, details):
        print("joined", details.realm)

    run([component])          # until Ctrl-C / SIGTERM: then GOODBYE, and exit

In an asyncio program: ``await component.run()``, ``async with component: ...``, or
``await run([component], start_loop=False)`` (``asyncio.run()`` takes that too).

**Lifecycle.** :meth:`Component.start` fires ``start``, then connects: each attempt opens
a transport (``connect``), joins the realm (``join``, then ``ready`` once every join
handler — including the decorated registrations and subscriptions — is done), and runs
``main(loop, session)`` if given. A failed attempt fires ``connectfailure`` and is
retried after the transport's backoff delay (:mod:`autostrada.backoff`), unless
``is_fatal`` says it cannot succeed. A lost session fires ``leave`` and ``disconnect``
and is reconnected at once; the attempt count (``max_retries``) and the delays restart
after every join. All registrations and subscriptions made by the decorators are made
again on every join.

**Sessions dropped at once.** Sessions lost less than a second after they joined, one
after another (a router that accepts, then drops every session), are not reconnected
in a tight loop: only the first at once, the next after ``initial_retry_delay``, then
longer, growing as for failed attempts, until a session stays joined for a second
(:class:`~autostrada.backoff.LostSessionBackoff`).

**A procedure still registered.** A registration refused with
``wamp.error.procedure_already_exists`` — typically by the component's previous
session, which the router has not noticed is gone yet (a half-open connection) — is
retried in the background (``ready`` and ``main`` do not wait for it), with the
delays of :attr:`Component.registration_retry`, until it succeeds or the session ends.
Other refusals are logged, and the session carries on.

The component is **done** (the future :meth:`start` returned resolves to ``None``) when
``main`` returns, when :meth:`stop` is called, or when the session is closed normally
(``wamp.close.normal`` / ``wamp.close.goodbye_and_out``, e.g. after your own
``session.leave()``). It **fails** (the future raises) when ``main`` raises — with that
exception, after leaving the realm: never a reconnect loop — when a ``start`` handler
raises, or when no transport can be tried any more: the fatal error itself when every
transport failed fatally, else a :class:`~autostrada.exceptions.TransportError` whose
``__cause__`` is the last error.

**Default is_fatal** (:func:`default_is_fatal`): refused authentication, no usable
authentication method, no such realm, TLS certificate errors and programming errors
are fatal; network errors, timeouts and other ABORTs are retried. A fatal error
retires that transport; pass ``is_fatal`` to decide otherwise (as in Autobahn).

**Events and handler signatures** (Autobahn's; handlers may be coroutine functions):
``start(loop, component)``, ``connect(session, transport)``, ``join(session, details)``,
``ready(session)``, ``leave(session, details)``, ``disconnect(session, was_clean=...)``,
``connectfailure(component, exception)``. ``leave`` fires only for a session that had
joined; ``disconnect`` for every transport that was opened. Handler errors are logged,
except in ``start`` handlers, which fail the component.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import inspect
import logging
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any, TypeVar

from autostrada.aio.channel import Channel
from autostrada.aio.component_config import (
    TransportConfig,
    parse_authentication,
    parse_transports,
)
from autostrada.aio.connect import connect, is_certificate_error, warn_if_ticket_in_clear_text
from autostrada.aio.session import Session
from autostrada.aio.session_end import (
    CLEAN_REASONS,
    LEAVE_NOTICE_GRACE,
    cancel_all,
    close_channel,
    end_session,
    note_leave,
)
from autostrada.authenticators import Authenticator, create_authenticator
from autostrada.backoff import Backoff, LostSessionBackoff, RetryPolicy, is_fatal_by_default
from autostrada.exceptions import ApplicationError, TransportError, WampError
from autostrada.types import (
    CloseDetails,
    ComponentConfig,
    RegisterOptions,
    SessionDetails,
    SubscribeOptions,
)
from autostrada.uri import validate_uri

__all__ = ["EVENTS", "Component", "default_is_fatal"]

log = logging.getLogger("autostrada.component")

EVENTS = ("start", "connect", "join", "ready", "leave", "disconnect", "connectfailure")
"""The events a Component fires (Autobahn's names)."""

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
Handler = Callable[..., Any]


def default_is_fatal(error: BaseException) -> bool:
    """The default ``is_fatal``: :func:`autostrada.backoff.is_fatal_by_default`, with
    TLS certificate errors recognised by :func:`autostrada.aio.connect.is_certificate_error`.
    """
    return is_fatal_by_default(error, is_certificate_error)


class _Stopped(Exception):
    """Internal: stop() was called while the runner waited."""


class _Outcome(enum.Enum):
    FAILED = "failed"  # the attempt did not join
    LOST = "lost"  # joined, then the session ended: reconnect
    DONE = "done"  # finished on purpose
    STOPPED = "stopped"  # stop() was called


class _Finished:
    """What :meth:`Component.stop` returns when there is nothing to stop."""

    def __await__(self) -> Generator[Any, None, None]:
        yield from ()


class Component:
    """A WAMP application component: transports, authentication, realm, and what to run.

    Args:
        main: ``main(loop, session)``, run after each join (once the decorated
            registrations and subscriptions are made); its return ends the component,
            its exception ends it with that exception.
        transports: ``None`` (``ws://127.0.0.1:8080/ws``), a URL, a transport dict, or
            a list of them (see :mod:`autostrada.aio.component_config` for the keys).
        config: a :class:`~autostrada.types.ComponentConfig` whose ``extra`` (when
            ``extra`` is not given) and other fields go to each session.
        realm: the realm to join.
        extra: handed to each session as ``session.config.extra``.
        authentication: ``{method: {key: value}}`` for anonymous, ticket, wampcra,
            cryptosign, scram (values may also be authenticator objects).
        session_factory: builds each session from a ``ComponentConfig`` (default
            :class:`~autostrada.aio.session.Session`).
        is_fatal: ``is_fatal(exception) -> bool`` for a failed connection attempt;
            default :func:`default_is_fatal`.

    Raises:
        ValueError: a bad argument, transport key or authentication setting (named),
            before anything connects.
    """

    session_factory: Callable[[ComponentConfig], Session] = Session
    """Builds the session of each connection (Autobahn's class attribute)."""

    registration_retry: RetryPolicy | None = RetryPolicy(
        initial_retry_delay=0.5, retry_delay_growth=2.0, max_retry_delay=10.0
    )
    """The delays between attempts at a registration refused with
    ``wamp.error.procedure_already_exists`` (0.5 s, doubling up to 10 s, ±10 %; for as
    long as the session lasts, unless ``max_retries`` says otherwise). ``None``: no
    retry, the refusal is logged as any other. Set it on the class or on a component."""

    def __init__(
        self,
        main: Callable[[asyncio.AbstractEventLoop, Session], Any] | None = None,
        transports: Any = None,
        config: ComponentConfig | None = None,
        realm: str = "realm1",
        extra: Any = None,
        authentication: Any = None,
        session_factory: Callable[[ComponentConfig], Session] | None = None,
        is_fatal: Callable[[BaseException], bool] | None = None,
    ) -> None:
        for name, value in (
            ("main", main),
            ("session_factory", session_factory),
            ("is_fatal", is_fatal),
        ):
            if value is not None and not callable(value):
                raise ValueError(f"{name} must be callable or None, got {value!r}")
        if not isinstance(realm, str) or not realm:
            raise ValueError(f"realm must be a non-empty string, got {realm!r}")
        if config is not None and not isinstance(config, ComponentConfig):
            raise ValueError(f"config must be a ComponentConfig or None, got {config!r}")
        self._main = main
        self._transports = parse_transports(transports)
        self._authentication = parse_authentication(authentication)
        self.realm = realm
        self.extra = extra if extra is not None or config is None else config.extra
        self._config = config
        if session_factory is not None:
            self.session_factory = session_factory
        self._is_fatal = is_fatal if is_fatal is not None else default_is_fatal
        self._handlers: dict[str, list[Handler]] = {event: [] for event in EVENTS}
        self._decorated: set[Handler] = set()  # join handlers that main waits for
        self._task: asyncio.Task[None] | None = None
        self._stop_event: asyncio.Event | None = None
        self._session: Session | None = None
        self._random: Callable[[], float] | None = None  # jitter source (tests)
        self._warned_clear_text = False  # ticket over a plain transport: said once
        self._background: set[asyncio.Task[None]] = set()  # the session's retries

    def __repr__(self) -> str:
        urls = ", ".join(t.url for t in self._transports)
        return f"<Component realm={self.realm!r} transports=[{urls}]>"

    @property
    def transports(self) -> list[TransportConfig]:
        """The checked transport configurations, in the order they are tried."""
        return list(self._transports)

    @property
    def session(self) -> Session | None:
        """The joined session, or ``None`` between sessions."""
        return self._session

    # ------------------------------------------------------------------ events

    def on(self, event: str, handler: Handler) -> None:
        """Call ``handler`` on ``event`` (one of :data:`EVENTS`), after earlier handlers.

        Raises:
            ValueError: unknown event.
        """
        _check_event(event)
        if not callable(handler):
            raise TypeError(f"handler must be callable, got {handler!r}")
        self._handlers[event].append(handler)

    def off(self, event: str | None = None, handler: Handler | None = None) -> None:
        """Remove ``handler`` from ``event``; every handler of ``event``; or (no args) all."""
        if event is None:
            if handler is not None:
                raise ValueError("off(): name the event of the handler to remove")
            for handlers in self._handlers.values():
                handlers.clear()
            return
        _check_event(event)
        handlers = self._handlers[event]
        if handler is None:
            handlers.clear()
        elif handler in handlers:
            handlers.remove(handler)

    def on_join(self, fn: F) -> F:
        """Decorator: ``fn(session, details)`` runs after each join."""
        self.on("join", fn)
        return fn

    def on_leave(self, fn: F) -> F:
        """Decorator: ``fn(session, details)`` runs when a joined session ends."""
        self.on("leave", fn)
        return fn

    def on_connect(self, fn: F) -> F:
        """Decorator: ``fn(session, transport)`` runs when a transport is open."""
        self.on("connect", fn)
        return fn

    def on_disconnect(self, fn: F) -> F:
        """Decorator: ``fn(session, was_clean=...)`` runs when a transport is gone."""
        self.on("disconnect", fn)
        return fn

    def on_ready(self, fn: F) -> F:
        """Decorator: ``fn(session)`` runs once every join handler is done."""
        self.on("ready", fn)
        return fn

    def on_connectfailure(self, fn: F) -> F:
        """Decorator: ``fn(component, exception)`` runs after each failed attempt."""
        self.on("connectfailure", fn)
        return fn

    def register(
        self, uri: str, options: RegisterOptions | None = None, check_types: bool | None = None
    ) -> Callable[[F], F]:
        """Decorator: register the function as procedure ``uri`` on every join.

        A registration that the router refuses is logged and the session carries on
        (as in Autobahn); one refused because the procedure is already registered is
        also retried in the background (see :attr:`registration_retry`).
        """
        if options is not None and not isinstance(options, RegisterOptions):
            raise TypeError(f"options must be RegisterOptions, got {options!r}")
        validate_uri(uri, "register", match=(options.match if options else None) or "exact")

        def decorate(fn: F) -> F:
            async def register_on_join(session: Session, details: SessionDetails) -> None:
                try:
                    await session.register(fn, uri, options, check_types=check_types)
                except WampError as exc:
                    policy = self.registration_retry
                    if policy is None or not _already_registered(exc):
                        log.error("could not register procedure %s: %s", uri, exc)
                        return
                    register = functools.partial(
                        session.register, fn, uri, options, check_types=check_types
                    )
                    self._in_background(
                        session, f"register {uri}", _register_later(uri, register, policy)
                    )

            self._decorated.add(register_on_join)
            self.on("join", register_on_join)
            return fn

        return decorate

    def subscribe(
        self, topic: str, options: SubscribeOptions | None = None, check_types: bool | None = None
    ) -> Callable[[F], F]:
        """Decorator: subscribe the function to ``topic`` on every join."""
        if options is not None and not isinstance(options, SubscribeOptions):
            raise TypeError(f"options must be SubscribeOptions, got {options!r}")
        validate_uri(topic, "subscribe", match=(options.match if options else None) or "exact")

        def decorate(fn: F) -> F:
            async def subscribe_on_join(session: Session, details: SessionDetails) -> None:
                try:
                    await session.subscribe(fn, topic, options, check_types=check_types)
                except WampError as exc:
                    log.error("could not subscribe to topic %s: %s", topic, exc)

            self._decorated.add(subscribe_on_join)
            self.on("join", subscribe_on_join)
            return fn

        return decorate

    # ------------------------------------------------------------------ start / stop

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> asyncio.Task[None]:
        """Start connecting on ``loop`` (default: the running loop); return the run's future.

        The future resolves to ``None`` when the component is done and raises when it
        failed (module docstring). Cancelling it stops the component (GOODBYE first).
        While a run is in progress, calling this again returns the same future.

        Raises:
            RuntimeError: no ``loop`` given and none is running.
            ValueError: ``loop`` is not the loop running in this thread.
        """
        task = self._task
        if task is not None and not task.done():
            return task
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is None:
            if running is None:
                raise RuntimeError(
                    "Component.start(): no event loop is running; pass the loop, "
                    "`await component.run()`, or call autostrada.run([component])"
                )
            loop = running
        elif running is not None and loop is not running:
            raise ValueError("Component.start(loop): another event loop runs in this thread")
        if not self._warned_clear_text:  # once, and only now that logging is set up
            for transport in self._transports:
                self._warned_clear_text |= warn_if_ticket_in_clear_text(
                    self._authentication, transport.url, transport.connect_options, str(transport)
                )
        self._stop_event = asyncio.Event()
        self._task = loop.create_task(self._run(loop), name=f"autostrada {self!r}")
        return self._task

    def stop(self) -> Awaitable[None]:
        """Stop the component: cancel a connection attempt or a backoff delay in flight;
        if joined, leave the realm (GOODBYE) and close the transport (both bounded by the
        transport's close timeout).

        Idempotent. Returns an awaitable that resolves once the component is done
        (it does not raise the component's error: :meth:`start`'s future does).
        Call it in the component's event loop (from another thread, through
        ``loop.call_soon_threadsafe``).
        """
        task = self._task
        if task is None or task.done() or self._stop_event is None:
            return _Finished()
        self._stop_event.set()
        waiter: asyncio.Future[None] = task.get_loop().create_future()
        task.add_done_callback(functools.partial(_resolve, waiter))
        return waiter

    async def run(self) -> None:
        """Run the component on the running loop until it is done (for ``asyncio.run``).

        Cancelling this coroutine stops the component gracefully (GOODBYE first).

        Raises:
            Exception: why the component failed (see the module docstring).
        """
        await self.start()

    async def __aenter__(self) -> Component:
        self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        task = self._task
        await self.stop()
        if task is None or task.cancelled():
            return
        error = task.exception()  # retrieved even when not raised: no "never retrieved"
        if error is not None and exc_type is None:
            raise error

    # ------------------------------------------------------------------ the run

    async def _run(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            await self._interruptible(self._fire_start(loop))
        except _Stopped:
            return
        transports = self._transports
        backoffs = [Backoff(t.retry, self._random) for t in transports]
        # Sessions lost before they were stable, in a row: their own delays (the hot-loop guard).
        losses = [LostSessionBackoff(t.retry, self._random) for t in transports]
        pause = 0.0  # the wait owed for a session lost too soon
        last_error: BaseException | None = None
        index = 0
        while not self._stopping():
            if all(b.exhausted for b in backoffs):
                raise _gave_up(transports, backoffs, last_error)
            transport, backoff = transports[index], backoffs[index]
            delay = backoff.next_delay()
            if delay is None:
                index = (index + 1) % len(transports)
                continue
            delay, pause = max(delay, pause), 0.0
            if delay > 0:
                log.info("%s: next attempt in %.3g s", transport, delay)
                try:
                    await self._interruptible(asyncio.sleep(delay))
                except _Stopped:
                    return
            outcome, error, lasted = await self._attempt(transport)
            if outcome is _Outcome.FAILED:
                assert error is not None
                last_error = error
                if self._fatal(error):
                    log.error("%s: %s (fatal: not retrying this transport)", transport, error)
                    backoff.give_up()
                else:
                    log.warning("%s: %s", transport, error)
                index = (index + 1) % len(transports)
                continue
            for each in backoffs:  # joined: every transport starts afresh
                each.reset()
            last_error = None
            if outcome is not _Outcome.LOST:
                return
            pause = losses[index].next_delay(lasted)
            if pause > 0:
                log.warning(
                    "%s: session lost %.3g s after joining, again: backing off", transport, lasted
                )
            else:
                log.info("%s: session lost; reconnecting", transport)

    def _stopping(self) -> bool:
        return self._stop_event is not None and self._stop_event.is_set()

    def _fatal(self, error: BaseException) -> bool:
        try:
            return bool(self._is_fatal(error))
        except Exception:
            log.exception("is_fatal(%r) failed; treating the error as fatal", error)
            return True

    async def _interruptible(self, awaitable: Awaitable[T]) -> T:
        """Await ``awaitable`` unless stop() comes first (then cancel it, raise _Stopped)."""
        assert self._stop_event is not None
        work = asyncio.ensure_future(awaitable)
        stopper = asyncio.ensure_future(self._stop_event.wait())
        try:
            await asyncio.wait({work, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
            if not work.done():
                work.cancel()
                await asyncio.wait({work})  # let it drop what it opened
        if work.cancelled():
            raise _Stopped
        return work.result()

    async def _attempt(
        self, transport: TransportConfig
    ) -> tuple[_Outcome, BaseException | None, float]:
        """One connection: connect and join, then live until the session ends.

        Returns:
            How it ended, the error of a failed attempt, and how long it stayed joined.
        """
        log.info("connecting to %s", transport)
        loop = asyncio.get_running_loop()
        ended: asyncio.Future[CloseDetails] = loop.create_future()
        channel: Channel | None = None
        session: Session | None = None
        connected = False
        try:
            channel = await self._interruptible(connect(transport.url, **transport.connect_options))
            session = self._new_session()
            session.on("leave", functools.partial(note_leave, ended))
            await session.attach(channel)
            connected = True
            await self._interruptible(self._fire("connect", session, channel))
            details = await self._interruptible(session.join(self.realm))
        except _Stopped:
            await self._abandon(session, channel, connected)
            return _Outcome.STOPPED, None, 0.0
        except Exception as exc:
            await self._abandon(session, channel, connected)
            try:  # awaited before the next attempt (as in Autobahn), unless stop() comes
                await self._interruptible(self._fire("connectfailure", self, exc))
            except _Stopped:
                return _Outcome.STOPPED, None, 0.0
            return _Outcome.FAILED, exc, 0.0
        except BaseException:  # cancelled: drop the connection, then let it through
            await self._abandon(session, channel, connected)
            raise
        outcome, lasted = await self._joined(transport, session, channel, details, ended)
        return outcome, None, lasted

    def _new_session(self) -> Session:
        base = self._config or ComponentConfig()
        config = ComponentConfig(
            realm=self.realm,
            extra=self.extra,
            keyring=base.keyring,
            controller=base.controller,
            shared=base.shared,
            runner=base.runner,
        )
        session = self.session_factory(config)
        for method, settings in self._authentication.items():
            if isinstance(settings, Authenticator):
                session.add_authenticator(settings)
            else:  # a fresh one per session: authenticators may keep per-handshake state
                session.add_authenticator(create_authenticator(method, **settings))
        return session

    async def _abandon(
        self, session: Session | None, channel: Channel | None, connected: bool
    ) -> None:
        """Close what a failed or stopped attempt opened."""
        if channel is None:
            return
        was_clean = await close_channel(channel)
        if connected:
            await self._fire("disconnect", session, was_clean=was_clean)

    async def _joined(
        self,
        transport: TransportConfig,
        session: Session,
        channel: Channel,
        details: SessionDetails,
        ended: asyncio.Future[CloseDetails],
    ) -> tuple[_Outcome, float]:
        """Live with a joined session until it ends, main returns, or stop() is called.

        Returns:
            How it ended, and for how many seconds it was joined.
        """
        loop = asyncio.get_running_loop()
        joined_at = loop.time()
        log.info(
            "joined realm %s on %s (session %s, authid %s, authrole %s)",
            details.realm,
            transport,
            details.session,
            details.authid,
            details.authrole,
        )
        assert self._stop_event is not None
        self._session = session
        started = self._start_handlers("join", (session, details), {})
        handler_tasks = [task for _, task in started]
        decorated = [task for handler, task in started if handler in self._decorated]
        tasks = [*handler_tasks, asyncio.ensure_future(self._ready_after(handler_tasks, session))]
        main_task = None
        if self._main is not None:
            main_task = asyncio.ensure_future(self._run_main(decorated, session))
            tasks.append(main_task)
        stopper = asyncio.ensure_future(self._stop_event.wait())
        closed = asyncio.ensure_future(channel.wait_closed())
        watched: set[asyncio.Future[Any]] = {ended, stopper, closed}
        if main_task is not None:
            watched.add(main_task)
        error: BaseException | None = None
        try:
            await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
            lasted = loop.time() - joined_at
            if main_task is not None and main_task.done():
                outcome, error = _main_outcome(main_task, session)
            elif stopper.done():
                outcome = _Outcome.STOPPED
            else:
                if not ended.done():  # transport gone: the session's leave notice follows
                    await asyncio.wait({ended}, timeout=LEAVE_NOTICE_GRACE)
                reason = ended.result().reason if ended.done() else None
                outcome = _Outcome.DONE if reason in CLEAN_REASONS else _Outcome.LOST
        finally:
            for task in (stopper, closed):
                task.cancel()
            await cancel_all(tasks)  # the handlers first: they start background tasks
            await cancel_all(list(self._background))
            close_details, was_clean = await end_session(session, channel, ended)
            self._session = None
            await self._fire("leave", session, close_details)
            await self._fire("disconnect", session, was_clean=was_clean)
        if error is not None:
            log.error("main(loop, session) failed: %r", error)
            raise error
        return outcome, lasted

    def _in_background(self, session: Session, what: str, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` while ``session`` is the joined one; cancelled when it ends."""
        if self._session is not session:  # it ended meanwhile
            work.close()
            return
        task = asyncio.get_running_loop().create_task(
            _guarded_background(what, work), name=f"autostrada {what} (retrying)"
        )
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _ready_after(self, handler_tasks: list[asyncio.Task[None]], session: Session) -> None:
        if handler_tasks:
            await asyncio.wait(handler_tasks)
        await self._fire("ready", session)

    async def _run_main(self, decorated: list[asyncio.Task[None]], session: Session) -> Any:
        if decorated:  # what main may call must be registered first
            await asyncio.wait(decorated)
        assert self._main is not None
        result = self._main(asyncio.get_running_loop(), session)
        if inspect.isawaitable(result):
            result = await result
        return result

    # ------------------------------------------------------------------ handlers

    def _start_handlers(
        self, event: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> list[tuple[Handler, asyncio.Task[None]]]:
        """Call every handler of ``event`` in order; return the tasks of the async ones."""
        started = []
        for handler in list(self._handlers[event]):
            try:
                result = handler(*args, **kwargs)
            except Exception:
                log.exception("the %r handler %s failed", event, _name(handler))
                continue
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(_guarded(event, handler, result))
                started.append((handler, task))
        return started

    async def _fire(self, event: str, *args: Any, **kwargs: Any) -> None:
        """Call the handlers of ``event`` and wait for the async ones (errors are logged)."""
        tasks = [task for _, task in self._start_handlers(event, args, kwargs)]
        if tasks:
            await asyncio.gather(*tasks)

    async def _fire_start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Fire ``start``: unlike the other events, a handler's error fails the component."""
        pending = []
        for handler in list(self._handlers["start"]):
            result = handler(loop, self)
            if inspect.isawaitable(result):
                pending.append(asyncio.ensure_future(result))
        if pending:
            results = await asyncio.gather(*pending, return_exceptions=True)
            for result in results:
                if isinstance(result, BaseException):
                    raise result


# ---------------------------------------------------------------------- helpers


def _check_event(event: str) -> None:
    if event not in EVENTS:
        raise ValueError(f"unknown event {event!r} (events: {', '.join(EVENTS)})")


def _name(handler: Handler) -> str:
    return getattr(handler, "__qualname__", None) or repr(handler)


def _resolve(waiter: asyncio.Future[None], _task: object) -> None:
    if not waiter.done():
        waiter.set_result(None)


async def _guarded(event: str, handler: Handler, awaitable: Awaitable[Any]) -> None:
    try:
        await awaitable
    except Exception:
        log.exception("the %r handler %s failed", event, _name(handler))


async def _guarded_background(what: str, awaitable: Awaitable[None]) -> None:
    try:
        await awaitable
    except Exception:
        log.exception("%s failed", what)


def _already_registered(error: WampError) -> bool:
    return (
        isinstance(error, ApplicationError)
        and error.error == ApplicationError.PROCEDURE_ALREADY_EXISTS
    )


async def _register_later(
    uri: str, register: Callable[[], Awaitable[object]], policy: RetryPolicy
) -> None:
    """Retry registering ``uri`` while it is already registered, with ``policy``'s delays.

    Ends when the registration is made, refused for another reason, or the session
    ends (the caller also cancels it then).
    """
    log.warning(
        "procedure %s is already registered by another session (maybe this component's "
        "previous one, not yet dropped by the router): retrying in the background",
        uri,
    )
    backoff = Backoff(policy)
    backoff.next_delay()  # the first attempt, made at join
    while (delay := backoff.next_delay()) is not None:
        await asyncio.sleep(delay)
        try:
            await register()
        except WampError as exc:
            if _already_registered(exc):
                continue
            if isinstance(exc, ApplicationError):
                log.error("could not register procedure %s: %s", uri, exc)
            else:  # the session ended: the next one registers afresh
                log.debug("stopped retrying to register %s: %r", uri, exc)
            return
        log.info("registered procedure %s after %d retries", uri, backoff.attempts - 1)
        return
    log.error("could not register procedure %s: still registered by another session", uri)


def _main_outcome(
    main_task: asyncio.Task[Any], session: Session
) -> tuple[_Outcome, BaseException | None]:
    if main_task.cancelled():
        return _Outcome.DONE, RuntimeError("main(loop, session) was cancelled")
    error = main_task.exception()
    if error is None:
        log.info("main(loop, session) returned: leaving")
        return _Outcome.DONE, None
    if session.is_attached():
        return _Outcome.DONE, error
    # The session ended under main, which failed because of that: reconnect (and run
    # main again after the next join), as for any lost session.
    log.warning("main(loop, session) failed as the session ended: %r", error)
    return _Outcome.LOST, None


def _gave_up(
    transports: list[TransportConfig], backoffs: list[Backoff], last_error: BaseException | None
) -> BaseException:
    if last_error is not None and all(b.given_up for b in backoffs):
        return last_error
    attempts = sum(b.attempts for b in backoffs)
    names = ", ".join(t.url for t in transports)
    error = TransportError(
        f"gave up after {attempts} connection attempt(s) to {names}: {last_error}"
    )
    error.__cause__ = last_error
    return error
