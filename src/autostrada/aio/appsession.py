"""``ApplicationSession``: Autobahn's class-based session (``autobahn.asyncio.wamp``).

Most Autobahn asyncio code is a subclass of ``ApplicationSession`` with camelCase hooks,
run by :class:`~autostrada.aio.apprunner.ApplicationRunner`::

    from autostrada import ApplicationRunner, ApplicationSession

    class Backend(ApplicationSession):
        async def onJoin(self, details):
            await self.register(lambda a, b: a + b, "com.example.add2")

    ApplicationRunner("ws://127.0.0.1:8080/ws", "realm1").run(Backend)

**Hooks, in the order Autobahn calls them** (each may be a plain or a coroutine
function): ``onConnect()`` once the transport is open (default: join
``self.config.realm``); ``onChallenge(challenge)`` for each CHALLENGE, returning the
signature; ``onJoin(details)`` once joined; ``onLeave(details)`` when the session
ends — also when the router refused the join (ABORT) — (default: close the
transport); ``onDisconnect()`` once the transport is gone, after ``onLeave`` has
returned. ``onUserError(fail, msg)`` gets the exception of a failed hook.

**A failed hook never leaves the session half-open**: its exception is handed to
``onUserError`` (whose default logs it with the hook's name), then the session ends —
``onConnect``: the transport is closed; ``onChallenge``: the join is aborted
(``wamp.error.cannot_authenticate``); ``onJoin``: the session leaves the realm
(GOODBYE); ``onLeave``: the transport is closed. The runner then stops with that
exception.

**join() and leave() work with or without await.** Autobahn's send HELLO or GOODBYE
and return at once (ported code calls ``self.leave()`` without ``await``); here they
start the join or leave and return a future: ``await self.join(realm)`` gives the
:class:`~autostrada.types.SessionDetails`, ``await self.leave()`` the
:class:`~autostrada.types.CloseDetails` of the end.

Everything else is :class:`~autostrada.aio.session.Session`'s: ``call``, ``register``,
``publish``, ``subscribe`` (``register(self)`` and ``subscribe(self)`` pick up the
instance's ``@wamp.register`` / ``@wamp.subscribe`` methods), ``define``, the session
attributes. In a subclass, override the camelCase hooks: the snake_case ones of
``Session`` are what calls them.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import sys
import traceback
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

from autostrada import session as core
from autostrada.aio.session import Session
from autostrada.exceptions import (
    ApplicationError,
    AuthenticationFailed,
    InvalidState,
    ProtocolError,
    SessionClosed,
    TransportError,
)
from autostrada.types import Challenge, CloseDetails, ComponentConfig, SessionDetails

__all__ = ["ApplicationSession", "Failure", "SessionLog"]

log = logging.getLogger("autostrada.appsession")

CANNOT_AUTHENTICATE = "wamp.error.cannot_authenticate"
"""The ABORT reason when ``onChallenge`` fails (Autobahn's and Crossbar's)."""

# How a join ends when the router or the transport said no: reported to onLeave /
# onDisconnect, not logged as a programming error.
_JOIN_ENDINGS = (AuthenticationFailed, SessionClosed, TransportError, ProtocolError)


class Failure:
    """What :meth:`ApplicationSession.onUserError` gets: a failed hook's exception.

    Shaped like the txaio ``IFailedFuture`` Autobahn passes there: ``fail.value`` is
    the exception.

    Args:
        value: the exception.
    """

    __slots__ = ("value",)

    def __init__(self, value: BaseException) -> None:
        self.value = value

    @property
    def type(self) -> type[BaseException]:
        """The exception's class."""
        return type(self.value)

    @property
    def tb(self) -> TracebackType | None:
        """The exception's traceback."""
        return self.value.__traceback__

    def format_traceback(self) -> str:
        """The traceback as text, as Python prints it."""
        return "".join(traceback.format_exception(self.value))

    def __str__(self) -> str:
        return str(self.value)

    def __repr__(self) -> str:
        return f"<Failure {self.value!r}>"


class SessionLog:
    """``self.log`` of an :class:`ApplicationSession`: txaio's logger methods on :mod:`logging`.

    Messages use txaio's format, with keyword arguments::

        self.log.info("joined {realm} as {authid}", realm=details.realm, authid=details.authid)

    Args:
        logger: where the records go (the session class's module and name).
    """

    __slots__ = ("logger",)

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger

    def _emit(self, level: int, text: str, fields: dict[str, Any], exc: Any = None) -> None:
        if not self.logger.isEnabledFor(level):
            return
        try:
            message = text.format(**fields)
        except (KeyError, IndexError, ValueError, AttributeError):
            message = f"{text} {fields}" if fields else text
        self.logger.log(level, "%s", message, exc_info=exc)

    def critical(self, text: str, **fields: Any) -> None:
        """Log at CRITICAL."""
        self._emit(logging.CRITICAL, text, fields)

    def error(self, text: str, **fields: Any) -> None:
        """Log at ERROR."""
        self._emit(logging.ERROR, text, fields)

    def warn(self, text: str, **fields: Any) -> None:
        """Log at WARNING (txaio's name)."""
        self._emit(logging.WARNING, text, fields)

    warning = warn

    def info(self, text: str, **fields: Any) -> None:
        """Log at INFO."""
        self._emit(logging.INFO, text, fields)

    def debug(self, text: str, **fields: Any) -> None:
        """Log at DEBUG."""
        self._emit(logging.DEBUG, text, fields)

    def trace(self, text: str, **fields: Any) -> None:
        """Log at DEBUG (there is no TRACE level in :mod:`logging`)."""
        self._emit(logging.DEBUG, text, fields)

    def failure(
        self, text: str = "{log_failure.value}", failure: Failure | None = None, **fields: Any
    ) -> None:
        """Log an exception at ERROR with its traceback: ``failure``, else the one being handled.

        ``{log_failure}`` in ``text`` is the :class:`Failure`, as in txaio.
        """
        exc = failure.value if failure is not None else sys.exc_info()[1]
        fields.setdefault("log_failure", failure or (Failure(exc) if exc else None))
        self._emit(logging.ERROR, text, fields, exc)


class ApplicationSession(Session):
    """Autobahn's class-based session: subclass it and override the camelCase hooks.

    See the module documentation for the hooks' order and what a failing hook does.
    Hooks may be plain or coroutine functions.

    Args:
        config: realm and extra data; :class:`~autostrada.aio.apprunner.ApplicationRunner`
            passes ``ComponentConfig(realm, extra)``. Default: realm ``realm1``.

    Attributes:
        config: the :class:`~autostrada.types.ComponentConfig` (``realm``, ``extra``).
        log: a :class:`SessionLog` named after the class, as Autobahn's ``self.log``.
    """

    def __init__(self, config: ComponentConfig | None = None) -> None:
        super().__init__(config)
        cls = type(self)
        self.log = SessionLog(logging.getLogger(f"{cls.__module__}.{cls.__qualname__}"))
        self._hook_error: BaseException | None = None  # the first exception of a hook
        self._join_error: BaseException | None = None  # why the last join failed
        self._join_task: asyncio.Task[SessionDetails] | None = None  # the last join()
        self._joining: str | None = None  # its realm
        self._leave_task: asyncio.Task[CloseDetails] | None = None  # the last leave()
        self._joins = 0  # sessions joined over this transport
        self._joined_at: float | None = None  # loop time of the last join (onJoin's start)
        self._left_at: float | None = None  # loop time of the last leave (onLeave's start)
        self._last_close: CloseDetails | None = None  # what onLeave got last
        self._dropped = False  # disconnect() while joined: the application's own end
        self._left: asyncio.Event | None = None  # set once onLeave returned
        self._disconnected = asyncio.Event()  # set once onDisconnect returned

    # ------------------------------------------------------------------ Autobahn's hooks

    def onConnect(self) -> Any:
        """The transport is open. Default: ``self.join(self.config.realm)``.

        Override it to join with authentication, e.g.
        ``self.join(self.config.realm, ["ticket"], "joe")`` (and answer in
        :meth:`onChallenge`).
        """
        self.join(self.config.realm)

    def onChallenge(self, challenge: Challenge) -> Any:
        """Answer a CHALLENGE: return the signature (a string, or an awaitable of one).

        Default: the answer of the authenticator added for ``challenge.method``
        (:meth:`~autostrada.aio.session.Session.add_authenticator`); without one, the
        join fails (Autobahn's default raises too).
        """
        return Session.on_challenge(self, challenge)

    def onJoin(self, details: SessionDetails) -> Any:
        """The session has joined a realm: register, subscribe, call... Default: nothing."""

    def onLeave(self, details: CloseDetails) -> Any:
        """The session has ended (or the router refused the join). Default: :meth:`disconnect`.

        Call :meth:`join` here instead to join again over the same transport.
        """
        self.disconnect()

    def onDisconnect(self) -> Any:
        """The transport is gone (after :meth:`onLeave` has returned). Default: nothing."""

    def onUserError(self, fail: Failure, msg: str) -> Any:
        """A hook raised ``fail.value``; ``msg`` names the hook. Default: log it.

        An :class:`~autostrada.exceptions.ApplicationError` is logged as a warning, any
        other exception as an error with its traceback (as in Autobahn).
        """
        name = type(self).__name__
        if isinstance(fail.value, ApplicationError):
            log.warning("%s.onUserError(): %s: %s", name, msg, fail.value.error_message())
        else:
            log.error("%s.onUserError(): %s", name, msg, exc_info=fail.value)

    # ------------------------------------------------------------------ join / leave

    def join(  # type: ignore[override]  # a future, not a coroutine: usable without await
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
    ) -> asyncio.Task[SessionDetails]:
        """Send HELLO for ``realm`` (default: the config's); return the join as a task.

        The task resolves to the :class:`~autostrada.types.SessionDetails` (as
        :meth:`onJoin` is called) or fails with why the join failed (as :meth:`onLeave`
        is called). Awaiting it is optional. The other arguments are those of
        :meth:`autostrada.aio.session.Session.join`.

        While a join is in progress, or has succeeded and the session has not left,
        ``join()`` and ``join(that_realm)`` return that join: so ``autostrada.connect()``
        and a ``Component`` can run an ``ApplicationSession`` whose ``onConnect`` joins.

        Raises:
            InvalidState: no transport; or the session has joined (or is joining)
                another realm, or is leaving.
            ValueError: no realm given and none in the config.
        """
        state = self._core.state
        if self._channel is None:
            raise InvalidState("join: the session has no transport")
        last = self._join_task
        joined = state is core.SessionState.ESTABLISHED
        if last is not None and (joined or not last.done()):
            # onConnect's join, when autostrada.connect() or a Component joins too.
            if realm is not None and realm != self._joining:
                doing = "has joined" if joined else "is joining"
                raise InvalidState(f"join: the session {doing} realm {self._joining!r} already")
            return last
        if joined:
            raise InvalidState("join: the session has joined a realm already (leave it first)")
        if state is not core.SessionState.CLOSED:
            raise InvalidState(f"join: the session cannot join now (state {state.value})")
        self._joining = realm or self.config.realm
        if self._joining is None:
            raise ValueError("join: no realm given and none in the config")
        self._join_error = None
        joining = Session.join(
            self,
            realm,
            authmethods,
            authid,
            authrole,
            authextra,
            resumable,
            resume_session,
            resume_token,
            timeout=timeout,
        )
        task = self._join_task = asyncio.ensure_future(joining)
        task.add_done_callback(self._join_done)
        return task

    def _join_done(self, task: asyncio.Task[SessionDetails]) -> None:
        if task.cancelled():
            return
        error = task.exception()  # retrieved here: awaiting the task is optional
        if error is None:
            return
        self._join_error = error
        if isinstance(error, _JOIN_ENDINGS):
            log.debug("join failed: %s", error)  # onLeave / onDisconnect tell the application
        else:
            log.error("join failed: %r", error, exc_info=error)
            self.disconnect()

    def leave(  # type: ignore[override]  # a future, not a coroutine: usable without await
        self, reason: str | None = None, message: str | None = None
    ) -> Awaitable[CloseDetails | None]:
        """Send GOODBYE (default reason ``wamp.close.normal``); return a future of the end.

        The future resolves to the :class:`~autostrada.types.CloseDetails` once the
        router has answered (:meth:`onLeave` is called then); awaiting it is optional.
        When the session has not joined, a warning is logged and the future resolves
        to ``None`` (Autobahn also just warns).
        """
        leaving = self._leave_task
        if leaving is not None and not leaving.done():
            return leaving  # Autobahn: "already requested to leave"
        if self.is_attached():
            leaving = self._leave_task = asyncio.ensure_future(Session.leave(self, reason, message))
            leaving.add_done_callback(_retrieve)
            return leaving
        pending = self._leave_future  # a leave started by Session.leave
        if pending is not None and not pending.done():
            return pending
        log.warning("leave: the session has not joined a realm: nothing to leave")
        done: asyncio.Future[CloseDetails | None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    def disconnect(self) -> None:
        """Close the transport (no GOODBYE: :meth:`leave` first for a clean end)."""
        if self.is_attached():
            self._dropped = True
        super().disconnect()

    # ------------------------------------------------------------------ Session's hooks

    async def on_connect(self) -> None:
        """Calls :meth:`onConnect` (override that one)."""
        if not await self._hook("onConnect", self.onConnect):
            self._end_after_error()

    async def on_challenge(self, challenge: Challenge) -> Any:
        """Calls :meth:`onChallenge` (override that one)."""
        try:
            signature = self.onChallenge(challenge)
            if inspect.isawaitable(signature):
                signature = await signature
            if isinstance(signature, bytes):
                signature = signature.decode()
            if not isinstance(signature, str | tuple):  # (signature, authextra): ours too
                raise TypeError(f"onChallenge must return the signature, got {signature!r}")
        except Exception as exc:
            await self._user_error(exc, "While firing onChallenge: authentication failed")
            error = AuthenticationFailed(str(exc), CANNOT_AUTHENTICATE)
            self._fail_join(error, CANNOT_AUTHENTICATE)  # ABORT, then onLeave
            raise error from exc
        return signature

    async def on_join(self, details: SessionDetails) -> None:
        """Calls :meth:`onJoin` (override that one)."""
        self._joins += 1
        self._joined_at = asyncio.get_running_loop().time()
        if not await self._hook("onJoin", self.onJoin, details):
            self._end_after_error()

    async def on_leave(self, details: CloseDetails) -> None:
        """Calls :meth:`onLeave` (override that one)."""
        self._last_close = details
        self._left_at = asyncio.get_running_loop().time()
        try:
            if not await self._hook("onLeave", self.onLeave, details):
                self.disconnect()
        finally:
            if self._left is not None:
                self._left.set()

    async def on_disconnect(self) -> None:
        """Calls :meth:`onDisconnect` once :meth:`onLeave` has returned (override that one)."""
        try:
            if self._left is not None:
                await self._left.wait()
            await self._hook("onDisconnect", self.onDisconnect)
        finally:
            self._disconnected.set()

    def _on_closed(self, event: core.Closed) -> None:
        # The session ended. Session fires "leave" for a session that had joined; as in
        # Autobahn, onLeave also hears of a join the router (or we) aborted. Not of a
        # join cut by the transport: onDisconnect tells that.
        fires_leave = event.joined or self._details is not None
        refused = not fires_leave and event.reason != CloseDetails.REASON_TRANSPORT_LOST
        if fires_leave or refused:
            self._left = asyncio.Event()
        super()._on_closed(event)
        if refused:
            details = CloseDetails(event.reason, event.message)
            self._spawn(self._fire("leave", details), "on_leave")

    # ------------------------------------------------------------------ hook errors

    async def _hook(self, name: str, hook: Callable[..., Any], *args: Any) -> bool:
        """Call a hook (and await what it returns); False when it raised."""
        try:
            result = hook(*args)
            if inspect.isawaitable(result):
                await result
        except Exception as exc:
            await self._user_error(exc, f"While firing {name}")
            return False
        return True

    async def _user_error(self, exc: BaseException, msg: str) -> None:
        if self._hook_error is None:
            self._hook_error = exc
        try:
            result = self.onUserError(Failure(exc), msg)
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("%s.onUserError() failed on %r", type(self).__name__, exc)

    def _end_after_error(self) -> None:
        """A hook failed: end the session rather than leave it half-open."""
        if self.is_attached():
            self.leave()
        else:
            self.disconnect()

    # ------------------------------------------------------------------ for the runner

    async def _settled(self, timeout: float) -> None:
        """Wait (bounded) for the last join started by :meth:`join` to finish."""
        if self._join_task is not None:
            await asyncio.wait({self._join_task}, timeout=timeout)


def _retrieve(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.debug("leave failed: %r", task.exception())
