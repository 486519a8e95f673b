"""Between a session's core and its channel: sending what the core queues, reading frames.

:class:`Wire` is the part of :class:`~autostrada.aio.session.Session` that moves
messages (a mixin, like the roles). Sending is batched: inside a read, what the
messages cause waits in the core's outbox for the end of the read (``_reading``,
:meth:`Wire._on_frame` and :meth:`Wire._on_batch`), and what one turn of the event
loop sends (every task woken in it) is held by the channel (``_corked``) and written
at once when the turn is over: one write syscall per turn, not one per message.
A message that cannot be serialized, or is larger than the peer accepts, is never
half-sent (:meth:`Wire._unsendable`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sized
from typing import TYPE_CHECKING, Any

from autostrada import session as core
from autostrada.aio.channel import Channel
from autostrada.aio.role import Role
from autostrada.exceptions import ApplicationError, ProtocolError, TransportError
from autostrada.messages import (
    Call,
    Error,
    Message,
    MessageType,
    Publish,
    Register,
    Subscribe,
    Unregister,
    Unsubscribe,
    Yield,
)
from autostrada.serializers import Serializer

if TYPE_CHECKING:
    from autostrada.types import SessionDetails

__all__ = ["Wire", "ready_queue"]

log = logging.getLogger("autostrada.session")

_REQUESTS = (Call, Publish, Subscribe, Unsubscribe, Register, Unregister)
"""The messages that start a request of ours (a reply is expected for their id)."""


class Wire(Role):
    """Sending and receiving for :class:`~autostrada.aio.session.Session` (never on its own)."""

    if TYPE_CHECKING:
        _channel: Channel | None
        _serializer: Serializer | None
        _corked: bool  # the channel holds this turn's writes
        _unanswered: bool  # this read got messages that no write answers now
        _loop_ready: Sized | None  # see ready_queue()
        _dispatch: dict[type, Callable[[Any], None]]
        _join_future: asyncio.Future[SessionDetails] | None
        _calls: dict[int, Any]  # the caller's calls in flight

        def _fail_call(self, request_id: int, error: BaseException) -> None:
            """Fail the call in flight with ``error`` (the caller role)."""

        def disconnect(self) -> None:
            """Close the transport."""

    def _flush(self, *, hold: bool = False) -> None:
        """Send what the core queued; raise the error of a message that could not go.

        Used right after a local operation (call, publish, ...): the error belongs
        to its caller. A message that cannot be serialized, or that is larger than
        the peer accepts, never leaves the session in limbo: see :meth:`_unsendable`.
        ``hold``: write at the end of this turn of the loop even when nothing else is
        ready (a fire-and-forget PUBLISH: the next ones of a burst share the write).
        """
        error = self._send_outgoing(hold)
        if error is not None:
            raise error

    def _flush_quietly(self, what: str) -> None:
        """Send what the core queued where nobody can take an error (callbacks, tasks)."""
        error = self._send_outgoing()
        if error is not None:
            log.error("%s: a message for %s was not sent: %s", what, self._endpoint(), error)

    def _send_outgoing(self, hold: bool = False) -> Exception | None:
        outgoing = self._core.take_outgoing()
        if not outgoing:
            return None
        channel, serializer = self._channel, self._serializer
        if channel is None or serializer is None:
            return None
        ready = self._loop_ready
        if not self._corked and (hold or ready is None or len(ready) > 0):
            # Callbacks and tasks are ready to run in this turn of the loop (e.g. the
            # tasks woken by one read): they may send too, so hold the writes until
            # they have run, then write once. The release is queued behind them: a
            # message waits at most one turn, never for a timer. The channel writes
            # early past CORK_LIMIT, and before anything else it writes (close frame).
            # With nothing else ready (a lone sequential call), write now: holding
            # would only cost another turn of the loop; unless told to hold (an
            # unacknowledged PUBLISH, often one of a burst from the same task).
            self._corked = True
            channel.cork()
            channel.loop.call_soon(self._release_cork, channel)
        elif not self._corked and len(outgoing) > 1:
            # Several at once (the answers to the invocations of one read): one write.
            channel.cork()
            try:
                return self._send_messages(channel, serializer, outgoing)
            finally:
                channel.uncork()
        return self._send_messages(channel, serializer, outgoing)

    def _send_messages(
        self, channel: Channel, serializer: Serializer, outgoing: list[Message]
    ) -> Exception | None:
        """Encode and send ``outgoing``; after a message that could not go, whatever
        the core queued meanwhile too (e.g. the CANCEL of a call whose chunk could not go)."""
        first_error: Exception | None = None
        while True:
            trouble = False
            for message in outgoing:
                try:
                    data = serializer.encode(message)
                except (ValueError, TypeError) as exc:
                    error = self._unsendable(message, exc, oversize=False)
                else:
                    try:
                        channel.send(data)
                        continue
                    except TransportError as exc:
                        # The transport is gone: the session ends with it
                        # (transport_lost), which fails whatever is pending.
                        log.debug("could not send to %s: %s", channel.endpoint, exc)
                        return first_error
                    except ValueError as exc:  # larger than the peer accepts (RawSocket)
                        error = self._unsendable(message, exc, oversize=True)
                trouble = True
                first_error = first_error or error
            if not trouble:
                return first_error
            outgoing = self._core.take_outgoing()

    def _unsendable(self, message: Message, exc: Exception, *, oversize: bool) -> Exception | None:
        """Deal with a message that cannot be sent; return the error for the local caller.

        The core already counts the message as sent, so it is settled here:

        * an answer to an INVOCATION (final YIELD, ERROR) is replaced by an ERROR
          (``wamp.error.payload_size_exceeded`` or ``wamp.error.runtime_error``), so
          that the caller is never left waiting; nothing to raise;
        * a request the router never saw (CALL, acknowledged PUBLISH, SUBSCRIBE,
          REGISTER, ...) is forgotten by the core (``discard_unsent``), and the
          error raised to the caller of the operation;
        * a later chunk of a progressive call invocation cancels the call (the
          router has it), which fails with the error;
        * anything else (a progressive YIELD, an unacknowledged PUBLISH, ...): the
          error is raised to the caller of the operation.
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
        if isinstance(message, Call) and message.request_id in self._calls:
            # A later chunk (the first CALL has no _Call yet): the router has the call.
            self._fail_call(message.request_id, error)
            self._handle(self._core.cancel(message.request_id, "killnowait"))
        elif isinstance(message, _REQUESTS):
            self._core.discard_unsent(message.request_id)
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
        # Inside a read, what the messages cause is sent at its end (_on_batch), in
        # one write: the core's replies wait in its outbox until then.
        self._reading = True
        assert self._serializer is not None
        try:
            messages = self._serializer.decode(data)
        except ProtocolError as exc:
            log.warning("protocol violation by %s: %s", self._endpoint(), exc)
            future = self._join_future
            if future is not None and not future.done():
                future.set_exception(exc)  # say what was wrong, not just "aborted"
            self._handle(self._core.abort(ApplicationError.PROTOCOL_VIOLATION, str(exc)))
            self._flush_quietly("session")  # the ABORT, before the close
            self.disconnect()
            return
        receive = self._core.receive
        dispatch = self._dispatch
        for message in messages:
            for event in receive(message):
                dispatch[type(event)](event)

    def _on_batch(self) -> None:
        """The end of a read: send what its messages caused, in one write.

        A read answered later or never (events, an invocation run as a task) is
        acknowledged at once (:meth:`Channel.acknowledge`): else a router that leaves
        Nagle's algorithm on (Crossbar) holds its next message for our delayed ACK.
        """
        self._reading = False
        self._flush_quietly("session")
        if self._unanswered:
            self._unanswered = False
            channel = self._channel
            if channel is not None:
                channel.acknowledge()

    def _release_cork(self, channel: Channel) -> None:
        self._corked = False
        channel.uncork()

    def _handle(self, events: list[core.SessionEvent]) -> None:
        dispatch = self._dispatch
        for event in events:
            dispatch[type(event)](event)
        if not self._reading:  # else the end of the read sends it
            self._flush_quietly("session")

    def _endpoint(self) -> str:
        return self._channel.endpoint if self._channel is not None else "(no transport)"


def ready_queue(loop: asyncio.AbstractEventLoop) -> Sized | None:
    """The queue of callbacks ready to run in this turn of ``loop``, if it shows it.

    Asyncio's own loops keep one (``BaseEventLoop._ready``, there since Python 3.4,
    one deque for the loop's life); a loop without one (uvloop) is assumed busy, so
    writes are always held for the turn there.
    """
    ready: Sized | None = getattr(loop, "_ready", None)
    return ready
