"""The caller role of :class:`~autostrada.aio.session.Session`: calls, their results and timeouts.

A call in flight is a future in ``_calls``, by request id: the core's
:class:`~autostrada.session.CallResult` resolves it; :class:`RequestFailed` and
:class:`RequestAborted` (dispatched by the session) fail it through :meth:`Caller._fail_call`.
On top: progressive results (``on_progress`` handlers run in order, and the final
result waits for the last one; :meth:`Caller.call_iter` yields them), a local timeout
(``CallOptions.timeout``: ``wamp.error.timeout`` and a CANCEL), cancelling the awaiting
task (a CANCEL with ``CallOptions.cancel_mode``), and progressive call invocations
(:class:`CallStream`: the caller streams its input).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from autostrada import session as core
from autostrada.aio.endpoints import call_result, invoke
from autostrada.aio.role import Role
from autostrada.exceptions import ApplicationError, InvalidState
from autostrada.types import CallOptions

__all__ = ["CallStream", "Caller"]

log = logging.getLogger("autostrada.session")


class _Call:
    """A call in flight: its future, progress handling and timer."""

    __slots__ = ("future", "on_progress", "procedure", "queue", "request_id", "tail", "timer")

    def __init__(self, future: asyncio.Future[Any], procedure: str, request_id: int) -> None:
        self.future = future
        self.procedure = procedure
        self.request_id = request_id
        self.on_progress: Callable[..., Any] | None = None
        self.queue: asyncio.Queue[Any] | None = None  # for call_iter()
        self.tail: asyncio.Future[None] | None = None  # last on_progress still running
        self.timer: asyncio.TimerHandle | None = None


class Caller(Role):
    """The caller role: :meth:`call`, :meth:`call_iter` and :meth:`call_stream`."""

    def __init__(self) -> None:
        super().__init__()
        self._calls: dict[int, _Call] = {}

    async def call(
        self, procedure: str, /, *args: Any, options: CallOptions | None = None, **kwargs: Any
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
        try:  # _await_call(), inlined: one coroutine less per call
            return await call.future
        except asyncio.CancelledError:
            self._call_cancelled(call, options)
            raise

    async def call_iter(
        self, procedure: str, /, *args: Any, options: CallOptions | None = None, **kwargs: Any
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
        self, procedure: str, /, *args: Any, options: CallOptions | None = None, **kwargs: Any
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
        wire: dict[str, Any] | None = None
        if options is not None:
            wire = options.message_attr()
        if progress_queue is not None or progress_invocation:
            wire = wire if wire is not None else {}
            if progress_queue is not None:
                wire["receive_progress"] = True
            if progress_invocation:
                wire["progress"] = True
        try:
            request_id = self._core.call(
                procedure, list(args) if args else None, kwargs or None, wire
            )
        except InvalidState:
            self._require_joined("call")  # SessionClosed once ended, else InvalidState
            raise
        self._flush()
        call = _Call(self._loop.create_future(), procedure, request_id)
        if options is not None or progress_queue is not None:
            call.queue = progress_queue
            if options is not None:
                call.on_progress = options.on_progress
                if options.timeout:
                    call.timer = call.future.get_loop().call_later(
                        options.timeout, self._call_timed_out, request_id, options.timeout
                    )
        # Leaves the map where the call ends: its result, _fail_call, its timeout, or
        # the cancellation of the awaiting task (_call_cancelled).
        self._calls[request_id] = call
        return call

    async def _await_call(self, call: _Call, options: CallOptions | None) -> Any:
        try:
            return await call.future
        except asyncio.CancelledError:
            self._call_cancelled(call, options)
            raise

    def _call_cancelled(self, call: _Call, options: CallOptions | None) -> None:
        # The awaiting task was cancelled: cancel the call (call.future is cancelled
        # with the task). The core knows whether the call is still pending, and
        # ignores the cancel otherwise.
        _forget(self._calls.pop(call.request_id, None))
        mode = (options.cancel_mode if options else None) or "killnowait"
        self._handle(self._core.cancel(call.request_id, mode))

    def _call_timed_out(self, request_id: int, timeout: float) -> None:
        call = self._calls.pop(request_id, None)
        if call is None or call.future.done():
            return
        call.future.set_exception(
            ApplicationError(
                ApplicationError.TIMEOUT, f"call to {call.procedure} timed out after {timeout} s"
            )
        )
        self._handle(self._core.cancel(request_id, "killnowait"))

    def _on_call_result(self, event: core.CallResult) -> None:
        if event.progress:
            progressing = self._calls.get(event.request_id)
            if progressing is not None:
                self._progress(progressing, event.args, event.kwargs)
            return
        call = self._calls.pop(event.request_id, None)
        if call is None:
            return
        if call.timer is not None:
            call.timer.cancel()
        args = event.args
        if event.kwargs is None and args is not None and len(args) == 1:
            value = args[0]  # the common case of call_result()
        else:
            value = call_result(args, event.kwargs)
        future = call.future
        if call.tail is None or call.tail.done():
            if not future.done():
                future.set_result(value)
        else:  # deliver the final result after the last on_progress has run
            call.tail.add_done_callback(functools.partial(_resolve, future, value))

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

    def _fail_call(self, request_id: int, error: BaseException) -> None:
        """Fail the call ``request_id`` with ``error`` (unless it is over already)."""
        call = self._calls.pop(request_id, None)
        if call is not None:
            if call.timer is not None:
                call.timer.cancel()
            if not call.future.done():
                call.future.set_exception(error)
                call.future.exception()  # the caller may have stopped waiting


def _forget(call: _Call | None) -> None:
    """A call that left the map: stop its timer."""
    if call is not None and call.timer is not None:
        call.timer.cancel()


def _resolve(future: asyncio.Future[Any], value: Any, _done: object = None) -> None:
    if not future.done():
        future.set_result(value)


class CallStream:
    """A progressive call invocation in flight (the caller streams input chunks).

    Use :meth:`send` for each further chunk and :meth:`finish` for the last one,
    which returns the call's result.
    """

    def __init__(self, session: Caller, call: _Call, options: CallOptions | None) -> None:
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
