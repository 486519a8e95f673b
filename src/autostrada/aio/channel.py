"""The asyncio side of a WAMP connection: a byte pump between a socket and a framing engine.

A :class:`Channel` is an :class:`asyncio.BufferedProtocol` that carries whole WAMP messages
(bytes) over one connection, whatever the framing (WebSocket or RawSocket — see the
subclasses). It does no WAMP parsing: the session driver (client or router) reads
frames through :meth:`Channel.set_receiver` and writes them with :meth:`Channel.send`.

Shared here: handshake and close futures, keepalive pings with a timeout, write
flow control (``drain``), bounded close, and the rule that every failure is reported
once, as a :class:`~autostrada.exceptions.TransportError` naming the endpoint.

For a server that sends one message to many connections (the router's fan-out),
channels also offer: :meth:`Channel.frame` / :meth:`Channel.send_framed` (frame a
message once, send the same bytes to every channel of equal :attr:`Channel.framing`),
:meth:`Channel.cork` / :meth:`Channel.uncork` (one write for the messages of a
batch), an ``on_batch`` callback after the messages of one read, and
:meth:`Channel.limit_write_buffer` (a callback once too many bytes are queued).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import socket
import threading
from collections.abc import Callable
from typing import Any

from autostrada.exceptions import TransportError
from autostrada.serializers import Serializer

__all__ = ["Channel", "FrameReceiver"]

log = logging.getLogger("autostrada.transport")

# A corked channel writes what it holds once it holds this much: one write per batch
# of small messages, without holding a large batch (a fan-out to many connections)
# in memory for every connection at once.
CORK_LIMIT = 16 * 1024

# Reads land in one buffer per thread (asyncio's read size), and only the bytes read are
# copied out. A plain Protocol gets a fresh 256 KiB object from every recv(), which
# glibc may serve with mmap + mremap + munmap: three syscalls and a page fault per read,
# ~8 µs on every message of a request/response exchange.
READ_SIZE = 256 * 1024


class _ReadBuffer(threading.local):
    def __init__(self) -> None:
        self.view = memoryview(bytearray(READ_SIZE))


_read_buffer = _ReadBuffer()

FrameReceiver = Callable[[bytes], None]
CloseReceiver = Callable[[Exception | None], None]
BatchReceiver = Callable[[], None]


class Channel(asyncio.BufferedProtocol):
    """Base class of WebSocket and RawSocket channels (one per connection).

    Lifecycle: ``opened`` resolves with the negotiated WAMP
    :class:`~autostrada.serializers.Serializer` once the transport handshake is done, or fails with
    :class:`TransportError`. ``closed`` resolves (``None`` for a clean close, else the
    error) when the connection is gone. Frames that arrive before a receiver is set
    are buffered, so a message in the same packet as the handshake is never lost.

    Args:
        endpoint: a human-readable name of the peer (URL or address) for messages.
        max_message_size: the largest message accepted from the peer, in bytes.
        keepalive_interval: seconds between keepalive pings (``None``: no pings).
        keepalive_timeout: seconds to wait for the pong before failing the connection.
        close_timeout: seconds to wait for the peer during a closing handshake.
        open_timeout: seconds the opening may take: the handshake (bounded by
            :func:`~autostrada.aio.connect.connect`), then a session's join.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        max_message_size: int,
        keepalive_interval: float | None = None,
        keepalive_timeout: float | None = None,
        close_timeout: float = 5.0,
        open_timeout: float = 10.0,
    ) -> None:
        self.endpoint = endpoint
        self.max_message_size = max_message_size
        self.keepalive_interval = keepalive_interval
        self.keepalive_timeout = keepalive_timeout
        self.close_timeout = close_timeout
        self.open_timeout = open_timeout
        self.loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[Serializer] = self.loop.create_future()
        self.closed: asyncio.Future[Exception | None] = self.loop.create_future()
        self.transport: asyncio.Transport | None = None
        self.serializer: Serializer | None = None
        self._receiver: FrameReceiver | None = None
        self._on_close: CloseReceiver | None = None
        self._on_batch: BatchReceiver | None = None
        self._corked: list[bytes] | None = None  # held writes, between cork and uncork
        self._corked_size = 0
        self._on_write_limit: Callable[[], None] | None = None
        self._early_frames: list[bytes] = []
        self._error: Exception | None = None
        self._write_paused = False
        self._drain_waiters: list[asyncio.Future[None]] = []
        self._ping_timer: asyncio.TimerHandle | None = None
        self._pong_deadline: asyncio.TimerHandle | None = None
        self._ping_payload: bytes | None = None
        self._close_timer: asyncio.TimerHandle | None = None
        self._aborted = False  # dropped on purpose: no closing handshake to check
        self._ack_now: Callable[[], None] | None = None
        self._wrote = False  # written to the transport since the last read

    # ------------------------------------------------------------------ public API

    def set_receiver(
        self,
        on_frame: FrameReceiver,
        on_close: CloseReceiver | None = None,
        on_batch: BatchReceiver | None = None,
    ) -> None:
        """Deliver incoming messages to ``on_frame`` and the end of the connection to ``on_close``.

        Frames buffered before this call are delivered at once, in order.
        ``on_batch`` (optional) is called after the messages of one read from the
        socket (one or more, or none) have gone to ``on_frame``, and after the
        buffered ones: the moment to write what they caused in one go.
        """
        self._receiver = on_frame
        self._on_close = on_close
        self._on_batch = on_batch
        early, self._early_frames = self._early_frames, []
        for frame in early:
            on_frame(frame)
        if early and on_batch is not None:
            on_batch()
        if self.closed.done() and on_close is not None:
            on_close(self.closed.result())

    def send(self, data: bytes) -> None:
        """Send one WAMP message (already serialized). Never blocks; see :meth:`drain`.

        Raises:
            TransportError: the connection is not open.
        """
        raise NotImplementedError

    @property
    def framing(self) -> object:
        """A key for sharing frames, or ``None`` when :meth:`frame` is not available.

        Channels whose ``framing`` is equal (and not ``None``) put the same bytes on
        the wire for the same message: a message framed once by one of them may be
        sent by all with :meth:`send_framed`. Known once the handshake is done.
        """
        return None

    def frame(self, data: bytes) -> bytes:
        """The bytes on the wire for one WAMP message (see :attr:`framing`)."""
        raise NotImplementedError

    def send_framed(self, frame: bytes) -> None:
        """Send one message as framed by :meth:`frame` (of this or an equal channel).

        Raises:
            TransportError: the connection is not open.
            ValueError: the message is longer than the peer accepts (RawSocket).
        """
        raise NotImplementedError

    def cork(self) -> None:
        """Hold the messages sent from now on until :meth:`uncork`, then write them at once.

        At most about :data:`CORK_LIMIT` bytes are held: more are written as they
        come, in chunks of that size. Anything else the channel writes meanwhile (a
        PONG, a close frame) first uncorks it, so the order on the wire is always the
        order of the calls.
        """
        if self._corked is None:
            self._corked = []
            self._corked_size = 0

    def uncork(self) -> None:
        """Write the messages held since :meth:`cork` (one write); no-op when not corked."""
        corked = self._corked
        if corked is None:
            return
        self._corked = None
        transport = self.transport
        if corked and transport is not None and not transport.is_closing():
            transport.write(corked[0] if len(corked) == 1 else b"".join(corked))
            self._wrote = True

    def limit_write_buffer(self, limit: int, on_exceeded: Callable[[], None]) -> None:
        """Call ``on_exceeded`` when more than ``limit`` bytes are queued for the socket.

        It is the transport's high-water mark, so the check costs nothing per write;
        ``on_exceeded`` runs from inside the write that crossed it (it should only
        take note), and again on every later crossing.
        """
        self._on_write_limit = on_exceeded
        if self.transport is not None:
            self.transport.set_write_buffer_limits(high=limit)

    async def drain(self) -> None:
        """Wait until the write buffer is below its high-water mark (flow control)."""
        if self._error is not None:
            raise self._error
        if not self._write_paused:
            return
        if self.closed.done():
            # connection_lost does not call resume_writing: a waiter added now
            # would never be woken.
            raise TransportError(f"connection to {self.endpoint} closed")
        waiter: asyncio.Future[None] = self.loop.create_future()
        self._drain_waiters.append(waiter)
        await waiter

    def write_buffer_size(self) -> int:
        """Bytes queued in the socket's write buffer (the router bounds this per session)."""
        return self.transport.get_write_buffer_size() if self.transport is not None else 0

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Start closing the connection; ``closed`` resolves when it is gone (bounded)."""
        raise NotImplementedError

    def abort(self, error: Exception | None = None) -> None:
        """Drop the connection at once, without a closing handshake.

        ``closed`` then resolves with ``error``: ``None`` (a deliberate, clean end)
        unless an error is given or the connection had failed already.
        """
        self._aborted = True
        self._corked = None
        if error is not None:
            self._fail(error)
        if self.transport is not None:
            self.transport.abort()

    async def wait_closed(self) -> Exception | None:
        """Wait until the connection is gone; return ``None`` if it closed cleanly."""
        return await asyncio.shield(self.closed)

    @property
    def is_open(self) -> bool:
        """True between a completed handshake and the start of closing."""
        return self.opened.done() and not self.opened.cancelled() and self._is_open()

    def acknowledge(self) -> None:
        """Acknowledge the bytes read so far at once, unless a write since the last read did.

        For a reader that will send nothing back for a while (it got events): a peer
        that leaves Nagle's algorithm on (Crossbar's listeners do) holds back its next
        small message until our kernel's delayed ACK (40 ms and more; on a loaded VM
        a call through Crossbar was seen waiting seconds). TCP_QUICKACK on TCP
        connections (Linux); a no-op elsewhere. A reply carries the ACK anyway, and a
        lone ACK costs about as much as a small write: call it only when no reply is due.
        """
        ack = self._ack_now
        if ack is None or self._wrote or self._corked:
            return
        try:
            ack()
        except OSError:  # closed meanwhile, or the option is refused: stop trying
            self._ack_now = None

    # -------------------------------------------------------- asyncio.Protocol API

    def get_buffer(self, sizehint: int) -> memoryview:
        # Filled and handed to buffer_updated() by the same callback of this thread's
        # loop, so channels share it.
        return _read_buffer.view

    def buffer_updated(self, nbytes: int) -> None:
        data = _read_buffer.view[:nbytes].tobytes()
        self._wrote = False
        self.data_received(data)

    def data_received(self, data: bytes) -> None:
        """The bytes of one read (subclasses)."""
        raise NotImplementedError

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._ack_now = _acknowledger(transport)
        self.start()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timers()
        if exc is not None:
            error = TransportError(f"connection to {self.endpoint} lost: {exc}")
            # Keep the OSError / ssl.SSLError: callers tell certificate problems
            # (fatal) from network trouble (retried) by it.
            error.__cause__ = exc
            self._fail(error)
        elif not self.opened.done():
            self._fail(TransportError(f"connection to {self.endpoint} closed during the handshake"))
        self._finish()

    def pause_writing(self) -> None:
        self._write_paused = True
        if self._on_write_limit is not None:
            self._on_write_limit()

    def resume_writing(self) -> None:
        self._write_paused = False
        self._wake_drainers(None)

    # ---------------------------------------------------------- for subclasses

    def start(self) -> None:
        """Called when the socket is connected: begin the handshake (client) or wait."""

    def _is_open(self) -> bool:
        raise NotImplementedError

    def _send_ping(self, payload: bytes) -> None:
        raise NotImplementedError

    def _handshake_done(self, serializer: Serializer) -> None:
        """Subclasses call this once the transport handshake succeeded."""
        self.serializer = serializer
        if not self.opened.done():
            self.opened.set_result(serializer)
        if self.keepalive_interval:
            self._ping_timer = self.loop.call_later(self.keepalive_interval, self._keepalive)

    def _write(self, data: bytes) -> None:
        """Write (or hold, when corked) the bytes of messages; subclasses send through it."""
        corked = self._corked
        if corked is not None:
            corked.append(data)
            self._corked_size += len(data)
            if self._corked_size > CORK_LIMIT:
                self.uncork()
                self.cork()
        else:
            transport = self.transport
            assert transport is not None
            transport.write(data)
            self._wrote = True

    def _batch_done(self) -> None:
        """Subclasses call this at the end of every ``data_received``."""
        if self._on_batch is not None:
            self._on_batch()

    def _deliver(self, frame: bytes) -> None:
        """Subclasses call this for every complete incoming message."""
        if self._receiver is not None:
            self._receiver(frame)
        else:
            self._early_frames.append(frame)

    def _pong_received(self, payload: bytes) -> None:
        if payload == self._ping_payload:
            self._ping_payload = None
            if self._pong_deadline is not None:
                self._pong_deadline.cancel()
                self._pong_deadline = None

    def _fail(self, error: Exception) -> None:
        """Record the first error; fail the handshake future if still pending."""
        if self._error is None:
            self._error = error
        if not self.opened.done():
            self.opened.set_exception(error)
            self.opened.exception()  # mark retrieved: the caller may be gone
        self._wake_drainers(error)

    def _schedule_close_timeout(self) -> None:
        if self._close_timer is None and self.transport is not None:
            self._close_timer = self.loop.call_later(self.close_timeout, self._close_timed_out)

    # ------------------------------------------------------------------ internals

    def _close_timed_out(self) -> None:
        log.debug("closing handshake with %s timed out; dropping the connection", self.endpoint)
        if self.transport is not None:
            self.transport.abort()

    def _keepalive(self) -> None:
        self._ping_timer = None
        if not self._is_open():
            return
        if self._ping_payload is None:
            self._ping_payload = os.urandom(4)
            self._send_ping(self._ping_payload)
            if self.keepalive_timeout:
                self._pong_deadline = self.loop.call_later(
                    self.keepalive_timeout, self._keepalive_timed_out
                )
        assert self.keepalive_interval is not None
        self._ping_timer = self.loop.call_later(self.keepalive_interval, self._keepalive)

    def _keepalive_timed_out(self) -> None:
        self._pong_deadline = None
        error = TransportError(
            f"{self.endpoint} did not answer a keepalive ping within {self.keepalive_timeout} s"
        )
        log.warning("%s", error)
        self.abort(error)

    def _stop_timers(self) -> None:
        for timer in (self._ping_timer, self._pong_deadline, self._close_timer):
            if timer is not None:
                timer.cancel()
        self._ping_timer = self._pong_deadline = self._close_timer = None

    def _wake_drainers(self, error: Exception | None) -> None:
        waiters, self._drain_waiters = self._drain_waiters, []
        for waiter in waiters:
            if not waiter.done():
                if error is None:
                    waiter.set_result(None)
                else:
                    waiter.set_exception(error)

    def _finish(self) -> None:
        if self.closed.done():
            return
        if not self.opened.done():
            self._fail(TransportError(f"connection to {self.endpoint} closed"))
        self._wake_drainers(self._error or TransportError(f"connection to {self.endpoint} closed"))
        self.closed.set_result(self._error)
        if self._on_close is not None:
            self._on_close(self._error)

    def __repr__(self) -> str:
        state = "open" if self.is_open else "closed" if self.closed.done() else "opening"
        return f"<{type(self).__name__} {self.endpoint} {state}>"


def _acknowledger(transport: asyncio.BaseTransport) -> Callable[[], None] | None:
    """What sends a TCP connection's pending ACK now (Linux): see :meth:`Channel.acknowledge`."""
    option = getattr(socket, "TCP_QUICKACK", None)
    sock = transport.get_extra_info("socket")
    if (
        option is None
        or sock is None
        or sock.family not in (socket.AF_INET, socket.AF_INET6)
        or sock.type != socket.SOCK_STREAM
    ):
        return None
    return functools.partial(sock.setsockopt, socket.IPPROTO_TCP, option, 1)


def describe(value: Any) -> str:
    """Short printable form of a peer-provided value for log and error messages."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
