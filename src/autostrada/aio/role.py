"""What the role mixins of :class:`~autostrada.aio.session.Session` use of the session.

:class:`Session` is one class made of its WAMP roles: :class:`~autostrada.aio.caller.Caller`,
:class:`~autostrada.aio.callee.Callee`, :class:`~autostrada.aio.pubsub.Publisher` and
:class:`~autostrada.aio.pubsub.Subscriber` (one module each), plus the session lifecycle
in :mod:`autostrada.aio.session`. Each role keeps its own state and turns the core's
events for its role into futures and handler calls; what they share — the core
machine, sending, acknowledged requests, tasks — is the session's, declared here for
the type checker only (nothing of it exists at run time).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Awaitable, Callable

    from autostrada import session as core
    from autostrada.aio.endpoints import ErrorMap

__all__ = ["Role"]

T = TypeVar("T")


class Role:
    """Base class of the role mixins: the session members they rely on.

    Implemented by :class:`~autostrada.aio.session.Session`; a role never runs on
    its own.
    """

    if TYPE_CHECKING:
        _core: core.ClientSession
        # The channel's loop, from attach() on (asyncio.get_running_loop() costs a
        # getpid() syscall: not once per call).
        _loop: asyncio.AbstractEventLoop
        _errors: ErrorMap
        _reading: bool  # inside a read: what the core queues is sent at its end
        _unanswered: bool  # this read got messages that no write answers now

        def is_attached(self) -> bool:
            """True while joined to a realm."""

        def _require_joined(self, what: str) -> None:
            """Raise unless joined (SessionClosed once ended, else InvalidState)."""

        def _flush(self, *, hold: bool = False) -> None:
            """Send what the core queued; raise the error of a message that could not go."""

        def _flush_quietly(self, what: str) -> None:
            """Send what the core queued; log (not raise) a message that could not go."""

        def _handle(self, events: list[core.SessionEvent]) -> None:
            """Dispatch the core's events, then send what they queued."""

        def _track(self, request_id: int, settle: Callable[[Any], T]) -> asyncio.Future[T]:
            """A future for an acknowledged request, resolved with ``settle(ack_event)``."""

        def _spawn(self, coro: Awaitable[Any], what: str) -> asyncio.Task[Any]:
            """Run ``coro`` as a task the session keeps a reference to."""
