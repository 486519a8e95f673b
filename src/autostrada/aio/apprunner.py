"""``ApplicationRunner``: run an ``ApplicationSession`` class on a connection (Autobahn's).

::

    from autostrada import ApplicationRunner, ApplicationSession

    class Frontend(ApplicationSession):
        async def onJoin(self, details):
            print(await self.call("com.example.add2", 2, 3))
            self.leave()

    ApplicationRunner("ws://127.0.0.1:8080/ws", "realm1").run(Frontend)

``run()`` connects (``ws://``, ``wss://``, ``rs://``, ``rss://``, ``tcp://`` and the
``+unix`` URLs), makes a session for the connection with ``make(ComponentConfig(realm,
extra))`` and lets its hooks do the rest (the default ``onConnect`` joins the realm).
It returns once the transport is gone and ``onDisconnect`` has returned — unless
``auto_reconnect=True``: then a lost session (network, router restart) is reconnected
with a new session from ``make``, with backoff (the retry settings of
:class:`~autostrada.backoff.RetryPolicy`, reset after every join), until the session
ends on purpose (the application's own ``leave()`` or ``disconnect()``) or
:meth:`ApplicationRunner.stop` is called. As for a Component, sessions lost less than a
second after they joined, one after another (a router that accepts, then drops every
session), are not reconnected in a tight loop: only the first at once, the next after
``initial_retry_delay``, then longer, growing as for failed attempts, until a session
stays joined for a second (:class:`~autostrada.backoff.LostSessionBackoff`).

``run()`` raises — so a script exits non-zero — when the router cannot be reached
(with ``auto_reconnect``: when it cannot be reached any more, or the error is fatal,
see :func:`~autostrada.aio.component.default_is_fatal`), when the session never joined
because the router refused it, when ``make`` fails, and when a hook raised (after
``onUserError`` had it and the session was ended; never a reconnect loop).

With ``start_loop=True`` (the default), ``run()`` owns a new event loop: SIGINT and
SIGTERM make the session leave (GOODBYE) and ``run()`` return; a second signal cuts
the connection. Code that stops the loop itself (``asyncio.get_event_loop().stop()``
in ``onDisconnect``, as many Autobahn examples do) stops the runner the same way.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import ssl as ssl_module
from collections.abc import Awaitable, Callable, Coroutine, Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from autostrada.aio.appsession import ApplicationSession
from autostrada.aio.channel import Channel
from autostrada.aio.component import default_is_fatal
from autostrada.aio.component_config import TransportConfig, parse_transports
from autostrada.aio.connect import connect, parse_url
from autostrada.aio.runner import _configure_logging
from autostrada.aio.session import Session
from autostrada.aio.session_end import CLEAN_REASONS, close_channel
from autostrada.backoff import Backoff, LostSessionBackoff
from autostrada.exceptions import TransportError, WampError
from autostrada.serializers import Serializer
from autostrada.types import ComponentConfig

__all__ = ["ApplicationRunner"]

log = logging.getLogger("autostrada.apprunner")

SessionFactory = Callable[[ComponentConfig], ApplicationSession]

_GRACE = 5.0
"""Seconds the end of a session may take once the runner stops it (then it is cut)."""


class _Stopped(Exception):
    """Internal: stop() was called while the runner waited."""


@dataclass(frozen=True, slots=True)
class _Ending:
    """How one connection ended."""

    joined: bool  # its session joined a realm (at least once)
    error: BaseException | None = None  # why it could not connect, or the join failed
    hook_error: BaseException | None = None  # the first exception of a hook
    on_purpose: bool = False  # the application ended it: leave(), or disconnect() joined
    lasted: float = 0.0  # seconds its (last) session stayed joined


class _Done:
    """What :meth:`ApplicationRunner.stop` returns: awaits the end of the run."""

    def __init__(self, task: asyncio.Task[None] | None) -> None:
        self._task = task

    def __await__(self) -> Generator[Any, None, None]:
        if self._task is not None and not self._task.done():
            yield from asyncio.wait({self._task}).__await__()


class ApplicationRunner:
    """Connect to a router and run a session class on the connection (Autobahn's runner).

    The arguments are Autobahn's (the asyncio runner's, plus the Twisted runner's
    ``websocket_options`` and retry settings); they are checked here, before any
    connection is made.

    Args:
        url: the router's URL: ``ws://``, ``wss://``, ``rs://``, ``rss://``, ``tcp://``,
            or a ``+unix`` form such as ``rs+unix:///run/router.sock``.
        realm: the realm the default ``onConnect`` joins (``config.realm``).
        extra: handed to each session as ``config.extra`` (default: a new ``dict``,
            shared by the sessions of this runner, as in Autobahn).
        serializers: serializer names in order of preference (``json``, ``msgpack``,
            ``cbor``), or :class:`~autostrada.serializers.Serializer` objects; a
            RawSocket URL uses the first. Default: all three for WebSocket, ``json``
            for RawSocket.
        ssl: ``None``: TLS as the URL says. An :class:`ssl.SSLContext` (or ``True``)
            for a ``wss://`` / ``rss://`` URL: TLS with it.
        proxy: an HTTP proxy for WebSocket: ``{"host": ..., "port": ...}``.
        headers: extra HTTP headers for the WebSocket handshake.
        websocket_options: Autobahn's WebSocket options that have an equivalent here
            (``autoPingInterval``, ``autoPingTimeout``, ``openHandshakeTimeout``,
            ``closeHandshakeTimeout``, ``maxMessagePayloadSize``).
        max_retries: with ``auto_reconnect``: retries after a failed attempt
            (``-1``, the default: forever; ``0``: none), counted since the last join.
        initial_retry_delay: seconds before the first retry (default 1.5).
        max_retry_delay: the longest delay, in seconds (default 300).
        retry_delay_growth: each retry waits this many times longer (default 1.5).
        retry_delay_jitter: relative spread of each delay, 0..1 (default 0.1).

    Raises:
        ValueError: an argument is invalid (named in the message).
    """

    def __init__(
        self,
        url: str,
        realm: str | None = None,
        extra: Any = None,
        serializers: Sequence[str | Serializer] | None = None,
        ssl: ssl_module.SSLContext | bool | None = None,
        proxy: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        websocket_options: Mapping[str, Any] | None = None,
        max_retries: int | None = None,
        initial_retry_delay: float | None = None,
        max_retry_delay: float | None = None,
        retry_delay_growth: float | None = None,
        retry_delay_jitter: float | None = None,
    ) -> None:
        if not isinstance(url, str):
            raise ValueError(f"ApplicationRunner: url must be a string, got {url!r}")
        if realm is not None and not isinstance(realm, str):
            raise ValueError(f"ApplicationRunner: realm must be a string, got {realm!r}")
        self.url = url
        self.realm = realm
        self.extra = extra if extra is not None else {}
        self.serializers = serializers
        self.ssl = ssl
        self.proxy = proxy
        self.headers = headers
        self.websocket_options = websocket_options
        self.max_retries = max_retries
        self.initial_retry_delay = initial_retry_delay
        self.max_retry_delay = max_retry_delay
        self.retry_delay_growth = retry_delay_growth
        self.retry_delay_jitter = retry_delay_jitter
        self._transport, self._connect_options = self._checked_transport()
        self._stop_event: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self.session: ApplicationSession | None = None
        """The session of the current connection, or ``None`` between connections."""

    def __repr__(self) -> str:
        return f"<ApplicationRunner {self.url} realm={self.realm!r}>"

    def _checked_transport(self) -> tuple[TransportConfig, dict[str, Any]]:
        """The transport, in the form a Component's transport dict is checked in."""
        try:
            secure = parse_url(self.url).secure
        except (ValueError, TypeError) as exc:
            raise ValueError(f"ApplicationRunner: url: {exc}") from None
        if self.ssl is not None and not isinstance(self.ssl, bool | ssl_module.SSLContext):
            raise ValueError(f"ApplicationRunner: ssl must be an SSLContext, got {self.ssl!r}")
        if self.ssl is not None and bool(self.ssl) != secure:
            # As in Autobahn: ssl= must agree with the URL's scheme.
            raise ValueError(
                f"ApplicationRunner: ssl={self.ssl!r} contradicts the URL {self.url!r} "
                f"(use {'ws:// or rs://' if secure else 'wss:// or rss://'} or leave ssl out)"
            )
        item: dict[str, Any] = {"url": self.url}
        rawsocket = self.url.lower().startswith(("rs", "tcp"))
        if self.serializers is not None:
            names = [s.name if isinstance(s, Serializer) else s for s in self.serializers]
            if rawsocket and names:
                item["serializer"] = names[0]
            else:
                item["serializers"] = names
        for key in ("proxy", "headers"):
            if getattr(self, key) is not None:
                item[key] = getattr(self, key)
        if self.websocket_options is not None:
            item["options"] = self.websocket_options
        for key in (
            "max_retries",
            "initial_retry_delay",
            "max_retry_delay",
            "retry_delay_growth",
            "retry_delay_jitter",
        ):
            if getattr(self, key) is not None:
                item[key] = getattr(self, key)
        try:
            [transport] = parse_transports(item)
        except ValueError as exc:
            raise ValueError(str(exc).replace("transports[0]", "ApplicationRunner", 1)) from None
        options = dict(transport.connect_options)
        if isinstance(self.ssl, ssl_module.SSLContext):
            options["ssl"] = self.ssl
        return transport, options

    # ------------------------------------------------------------------ run / stop

    def run(
        self,
        make: type[ApplicationSession] | SessionFactory,
        start_loop: bool = True,
        log_level: str | int | None = "info",
        auto_reconnect: bool = False,
    ) -> Coroutine[Any, Any, None] | asyncio.Task[None] | None:
        """Run sessions made by ``make`` until done (see the module documentation).

        Args:
            make: an :class:`~autostrada.aio.appsession.ApplicationSession` subclass, or
                a factory taking a :class:`~autostrada.types.ComponentConfig` and
                returning one. Called once per connection.
            start_loop: ``True``: run a new event loop, handle SIGINT and SIGTERM, and
                return when done. ``False``: return an awaitable of the run — a task
                when a loop is running (the runner has started), else a coroutine for
                :func:`asyncio.run`; cancelling it ends the session gracefully.
            log_level: as for :func:`autostrada.run`: ``"critical"``, ``"error"``,
                ``"warn"``, ``"info"``, ``"debug"``, a :mod:`logging` level, or ``None``
                to leave logging alone.
            auto_reconnect: reconnect, with a new session, when a session is lost
                (with backoff: see the module documentation).

        Raises:
            ValueError: ``make`` is not callable, or an unknown log level.
            RuntimeError: ``start_loop=True`` while an event loop is running.
            Exception: why the run failed (see the module documentation).
        """
        if not callable(make):
            raise ValueError(f"make must be an ApplicationSession class or factory, got {make!r}")
        if log_level is not None:
            _configure_logging(log_level)
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if not start_loop:
            coro = self._main(make, auto_reconnect, handle_signals=False)
            return coro if running is None else running.create_task(coro)
        if running is not None:
            raise RuntimeError(
                "ApplicationRunner.run(start_loop=True) cannot run inside a running event "
                "loop: use `await runner.run(make, start_loop=False)`"
            )
        with asyncio.Runner() as runner:
            loop = runner.get_loop()
            task = loop.create_task(self._main(make, auto_reconnect, handle_signals=True))
            while True:
                try:
                    loop.run_until_complete(task)
                except RuntimeError:
                    if task.done():
                        raise
                    # Someone stopped the loop (Autobahn's examples do, in onDisconnect):
                    # end the session as on SIGINT, then return.
                    log.info("the event loop was stopped: stopping the runner")
                    self.stop()
                else:
                    return None

    def stop(self) -> Awaitable[None]:
        """Stop: the session leaves (GOODBYE), the transport closes, nothing reconnects.

        Idempotent; returns an awaitable that resolves once the run has ended.
        """
        if self._stop_event is not None:
            self._stop_event.set()
        return _Done(self._task)

    async def _main(self, make: SessionFactory, auto_reconnect: bool, handle_signals: bool) -> None:
        self._stop_event = stop = asyncio.Event()
        work = asyncio.ensure_future(self._connect_loop(make, auto_reconnect))
        self._task = work
        loop = asyncio.get_running_loop()
        installed = _install_signal_handlers(loop, stop, work) if handle_signals else []
        try:
            try:
                await asyncio.wait({work})
            except asyncio.CancelledError:  # the awaitable of run(start_loop=False)
                stop.set()
                try:
                    await asyncio.wait({work})
                except asyncio.CancelledError:  # again: cut the connection
                    work.cancel()
                    await asyncio.wait({work})
                raise
        finally:
            for signum in installed:
                loop.remove_signal_handler(signum)
        if not work.cancelled():
            work.result()

    # ------------------------------------------------------------------ connections

    async def _connect_loop(self, make: SessionFactory, auto_reconnect: bool) -> None:
        backoff = Backoff(self._transport.retry)
        losses = LostSessionBackoff(self._transport.retry)  # sessions lost at once: the guard
        pause = 0.0  # the wait owed for a session lost too soon
        last_error: BaseException | None = None
        while not self._stopping():
            delay = backoff.next_delay()
            if delay is None:
                raise TransportError(
                    f"gave up after {backoff.attempts} connection attempt(s) to {self.url}: "
                    f"{last_error}"
                ) from last_error
            delay, pause = max(delay, pause), 0.0
            if delay > 0:
                log.info("%s: next attempt in %.3g s", self.url, delay)
                try:
                    await self._until_stopped(asyncio.sleep(delay))
                except _Stopped:
                    return
            ending = await self._attempt(make)
            if ending.joined:
                backoff.reset()
            if ending.hook_error is not None:  # onUserError had it; never a reconnect loop
                raise ending.hook_error
            if self._stopping():
                return
            if ending.joined:
                if not auto_reconnect or ending.on_purpose:
                    return
                pause = losses.next_delay(ending.lasted)
                if pause > 0:
                    log.warning(
                        "%s: session lost %.3g s after joining, again: backing off",
                        self.url,
                        ending.lasted,
                    )
                else:
                    log.info("%s: the session was lost; reconnecting", self.url)
                continue
            error = ending.error
            if error is None:  # the session never asked to join
                if not auto_reconnect:
                    return
                error = TransportError(f"the connection to {self.url} closed before a join")
            if not auto_reconnect or default_is_fatal(error):
                raise error
            log.warning("%s: %s", self.url, error)
            last_error = error

    async def _attempt(self, make: SessionFactory) -> _Ending:
        """One connection and its session, until the session is over."""
        log.info("connecting to %s", self.url)
        try:
            channel = await self._until_stopped(connect(self.url, **self._connect_options))
        except _Stopped:
            return _Ending(joined=False)
        except (WampError, OSError) as exc:
            return _Ending(joined=False, error=exc)
        try:
            session = self._new_session(make)
        except BaseException:
            await close_channel(channel)
            raise
        self.session = session
        try:
            await self._live(session, channel)
        finally:
            self.session = None
            if not channel.closed.done():
                channel.abort()
        close = session._last_close
        return _Ending(
            joined=session._joins > 0,
            error=session._join_error,
            hook_error=session._hook_error,
            on_purpose=session._dropped or (close is not None and close.reason in CLEAN_REASONS),
            lasted=_lasted(session),
        )

    def _new_session(self, make: SessionFactory) -> ApplicationSession:
        config = ComponentConfig(realm=self.realm, extra=self.extra, runner=self)
        try:
            session = make(config)
        except Exception:
            log.exception("%r could not make a session", make)
            raise
        if not isinstance(session, ApplicationSession):
            raise TypeError(f"make must return an ApplicationSession, got {session!r}")
        return session

    async def _live(self, session: ApplicationSession, channel: Channel) -> None:
        """Run ``session`` over ``channel`` until its onDisconnect has returned, or stop()."""
        assert self._stop_event is not None
        attaching = asyncio.ensure_future(session.attach(channel))
        finished = asyncio.ensure_future(session._disconnected.wait())
        stopper = asyncio.ensure_future(self._stop_event.wait())
        try:
            await asyncio.wait({finished, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if not finished.done():  # stop(): leave, close, let onDisconnect run (bounded)
                await _end(session, channel)
                await asyncio.wait({finished}, timeout=_GRACE)
        finally:
            for waiter in (finished, stopper):
                waiter.cancel()
            if not attaching.done():
                attaching.cancel()
            await asyncio.wait({attaching}, timeout=_GRACE)
            await session._settled(_GRACE)

    def _stopping(self) -> bool:
        return self._stop_event is not None and self._stop_event.is_set()

    async def _until_stopped(self, awaitable: Awaitable[Any]) -> Any:
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
                await asyncio.wait({work})
        if work.cancelled():
            raise _Stopped
        return work.result()


async def _end(session: Session, channel: Channel) -> None:
    """Leave (GOODBYE, bounded) if joined, then close the transport (bounded)."""
    if session.is_attached():
        try:
            async with asyncio.timeout(channel.close_timeout + 1.0):
                await Session.leave(session)
        except (WampError, TimeoutError) as exc:
            log.debug("leave failed: %r", exc)
    await close_channel(channel)


def _install_signal_handlers(
    loop: asyncio.AbstractEventLoop, stop: asyncio.Event, work: asyncio.Task[None]
) -> list[signal.Signals]:
    """SIGINT / SIGTERM: the first stops gracefully, the next cuts the connection."""
    received = 0

    def on_signal(signum: signal.Signals) -> None:
        nonlocal received
        received += 1
        if received == 1:
            log.info("%s: stopping the session", signum.name)
            stop.set()
        else:
            log.warning("%s again: cutting the connection", signum.name)
            work.cancel()

    installed = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, on_signal, signum)
        except (NotImplementedError, RuntimeError, ValueError):  # Windows, not main thread
            continue
        installed.append(signum)
    return installed


def _lasted(session: ApplicationSession) -> float:
    """Seconds the session's last join lasted (from the start of ``onJoin`` to the start
    of ``onLeave``, or to now); 0 if it never joined."""
    joined = session._joined_at
    if joined is None:
        return 0.0
    left = session._left_at
    end = left if left is not None and left >= joined else asyncio.get_running_loop().time()
    return end - joined
