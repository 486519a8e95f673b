"""Batched framing: several WAMP messages in one WebSocket message.

Spec: Advanced Profile, transport_batched_websocket.md "Message Batching".

* ``wamp.2.json.batched``: every serialized message is followed by the ASCII record
  separator 0x1E (also the last one). 0x1E cannot occur inside JSON text (it is a
  control character, escaped inside strings and not whitespace), so splitting on it
  is exact.
* ``wamp.2.msgpack.batched`` and ``wamp.2.cbor.batched``: every serialized message is
  preceded by its length as a 32-bit unsigned big-endian integer.

A batch of zero messages is illegal: "a Peer MUST fail the transport upon receiving
such a transport message".
"""

from __future__ import annotations

import struct

from autostrada.exceptions import ProtocolError

__all__ = [
    "RECORD_SEPARATOR",
    "frame_length_prefixed",
    "frame_record",
    "require_binary",
    "require_text",
    "split_length_prefixed",
    "split_records",
]

RECORD_SEPARATOR = b"\x1e"
_LENGTH = struct.Struct(">I")
_MAX_LENGTH = 2**32 - 1


def require_binary(data: object, fmt: str) -> bytes:
    """Return ``data`` as ``bytes`` for a binary format's decoder.

    ``bytearray`` and ``memoryview`` are copied to ``bytes``. A ``str`` is a text
    WebSocket message, which the binary subprotocols forbid (Basic Profile,
    building_blocks.md "WebSocket Transport": all messages MUST be binary).

    Raises:
        ProtocolError: ``data`` is text.
        TypeError: ``data`` is not bytes-like at all (a caller's mistake).
    """
    if type(data) is bytes:
        return data
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    if isinstance(data, str):
        raise ProtocolError(f"{fmt}: WAMP messages must be binary, got text")
    raise TypeError(f"{fmt}: can only decode bytes, got {type(data).__name__}")


def require_text(data: object) -> bytes:
    """Return JSON input as UTF-8 ``bytes``.

    JSON arrives as ``str`` from a WebSocket text message, or as ``bytes`` from
    RawSocket (or from a WebSocket library asked not to decode text).

    Raises:
        ProtocolError: a ``str`` that cannot be UTF-8 (lone surrogates).
        TypeError: ``data`` is neither text nor bytes-like (a caller's mistake).
    """
    if type(data) is bytes:
        return data
    if isinstance(data, str):
        try:
            return data.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ProtocolError(f"json: the text is not valid Unicode: {exc.reason}") from None
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"json: can only decode bytes or str, got {type(data).__name__}")


def frame_record(encoded: bytes) -> bytes:
    """Frame one JSON message for a ``wamp.2.json.batched`` batch."""
    return encoded + RECORD_SEPARATOR


def split_records(data: bytes | str) -> list[bytes]:
    """Split a ``wamp.2.json.batched`` WebSocket message into serialized messages.

    Raises:
        ProtocolError: the batch is empty, does not end with 0x1E, or holds an empty
            record.
    """
    data = require_text(data)
    if not data:
        raise ProtocolError("json.batched: an empty batch is not allowed")
    if data[-1] != 0x1E:
        raise ProtocolError("json.batched: every message must be followed by 0x1E")
    records = data.split(RECORD_SEPARATOR)
    records.pop()  # the empty text after the final separator
    if b"" in records:
        raise ProtocolError("json.batched: empty message in batch")
    return records


def frame_length_prefixed(encoded: bytes) -> bytes:
    """Frame one message for a msgpack/cbor batch: a 4-byte big-endian length first.

    Raises:
        ValueError: the message is 4 GiB or longer (the prefix cannot say so).
    """
    size = len(encoded)
    if size > _MAX_LENGTH:
        raise ValueError(f"a batched message must be shorter than 4 GiB, got {size} bytes")
    return _LENGTH.pack(size) + encoded


def split_length_prefixed(data: bytes, fmt: str) -> list[bytes]:
    """Split a length-prefixed batch (``wamp.2.msgpack.batched``, ``wamp.2.cbor.batched``).

    Lengths are checked against the bytes actually present before anything is
    sliced, so a prefix claiming gigabytes costs nothing.

    Raises:
        ProtocolError: the batch is empty, a prefix is truncated, a length exceeds
            the data left, or a message is empty.
    """
    data = require_binary(data, fmt)
    size = len(data)
    if not size:
        raise ProtocolError(f"{fmt}.batched: an empty batch is not allowed")
    messages = []
    position = 0
    unpack_from = _LENGTH.unpack_from
    while position < size:
        if size - position < 4:
            raise ProtocolError(f"{fmt}.batched: truncated length prefix at byte {position}")
        (length,) = unpack_from(data, position)
        position += 4
        end = position + length
        if not length:
            raise ProtocolError(f"{fmt}.batched: empty message in batch")
        if end > size:
            raise ProtocolError(
                f"{fmt}.batched: message length {length} exceeds the {size - position} "
                "bytes left in the batch"
            )
        messages.append(data[position:end])
        position = end
    return messages
