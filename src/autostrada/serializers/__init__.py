"""WAMP serializers: JSON, MessagePack and CBOR, plain and batched.

Spec: Basic Profile building_blocks.md "Serializers" and "WebSocket Transport"
(subprotocols ``wamp.2.json``, ``wamp.2.msgpack``, ``wamp.2.cbor``); Advanced Profile
transport_batched_websocket.md (``wamp.2.<format>.batched``) and transport_rawsocket.md
(serializer ids 1 JSON, 2 MessagePack, 3 CBOR).

A :class:`Serializer` turns messages into the bytes of one transport message and
back::

    serializer = by_subprotocol("wamp.2.cbor")
    data = serializer.encode(Call(1, {}, "com.example.add", [2, 3]))
    [message] = serializer.decode(data)

* ``decode`` takes whatever a peer sent and returns messages, or raises
  :class:`~autostrada.exceptions.ProtocolError` -- nothing else, whatever the bytes.
  Every message is strictly validated by :func:`autostrada.messages.parse`, and
  payloads hold only JSON types and ``bytes`` (see :mod:`.datamodel`).
* ``encode`` takes messages built by this library; a value the format cannot
  carry (a NaN in JSON, an integer beyond 64 bits in MessagePack, an unsupported
  type...) is a :class:`ValueError`. Payloads are not walked before encoding (that
  would cost as much as encoding): what a format accepts but our decoders refuse
  (CBOR writes a ``datetime`` as a tag, MessagePack an ``int`` map key) is the
  application's mistake, and a peer may reject the message.

Text or binary: ``binary`` is ``False`` for JSON, whose WebSocket messages must be
text frames (its bytes are UTF-8); the JSON decoder also accepts ``str``, the binary
decoders refuse it as a protocol error. Checking the WebSocket frame type is the
transport's job.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from autostrada.exceptions import ProtocolError
from autostrada.messages import Message, parse

from . import cbor_codec, json_codec, msgpack_codec
from .framing import frame_length_prefixed, frame_record, split_length_prefixed, split_records

__all__ = [
    "CBOR",
    "CBOR_BATCHED",
    "DEFAULT_SUBPROTOCOLS",
    "JSON",
    "JSON_BATCHED",
    "MSGPACK",
    "MSGPACK_BATCHED",
    "SERIALIZERS",
    "BatchedSerializer",
    "Serializer",
    "by_rawsocket_id",
    "by_subprotocol",
    "get_serializer",
    "json_serializer",
    "negotiate",
    "subprotocols",
]

Dumps = Callable[[Any], bytes]
Loads = Callable[[Any], Any]


def _parse(value: Any) -> Message:
    try:
        return parse(value)
    except RecursionError:
        # The decoders accept about 1000 levels of nesting; a field check that
        # prints such a value in its error message can run out of stack.
        raise ProtocolError("message nested too deeply") from None


class Serializer:
    """One serialization format, one WAMP message per transport message.

    Serializers hold no state: one instance serves every session, in any thread.

    Attributes:
        name: the format: ``"json"``, ``"msgpack"`` or ``"cbor"``.
        subprotocol: the WebSocket subprotocol, e.g. ``"wamp.2.json"``.
        rawsocket_id: the RawSocket serializer id (1, 2, 3), or ``None`` for the
            batched variants, which RawSocket does not have.
        binary: ``True`` when WebSocket messages are binary frames, ``False`` for
            JSON (text frames).
        batched: ``True`` for the ``.batched`` variants.
    """

    __slots__ = ("_dumps", "_loads", "batched", "binary", "name", "rawsocket_id", "subprotocol")

    def __init__(
        self, name: str, dumps: Dumps, loads: Loads, *, binary: bool, rawsocket_id: int | None
    ) -> None:
        self.name = name
        self.subprotocol = f"wamp.2.{name}"
        self.rawsocket_id = rawsocket_id
        self.binary = binary
        self.batched = False
        self._dumps = dumps
        self._loads = loads

    def encode(self, message: Message) -> bytes:
        """Serialize one message into the bytes of one transport message.

        Raises:
            ValueError: the message holds a value this format cannot carry.
        """
        return self._dumps(message.to_list())

    def decode(self, data: bytes) -> list[Message]:
        """Deserialize and validate the messages in one transport message.

        Returns:
            The messages (exactly one for a non-batched serializer).

        Raises:
            ProtocolError: the data is not a valid message in this format.
        """
        value = self._loads(data)
        try:  # _parse(), inlined: this is the hot path
            return [parse(value)]
        except RecursionError:
            raise ProtocolError("message nested too deeply") from None

    def encode_obj(self, value: Any) -> bytes:
        """Serialize a plain value (a message's list form) as one transport message.

        Raises:
            ValueError: the value holds something this format cannot carry.
        """
        return self._dumps(value)

    def decode_obj(self, data: bytes) -> list[Any]:
        """Deserialize one transport message into plain values, without parsing them.

        The values are checked against the data model (JSON types and bytes), but not
        as WAMP messages.

        Raises:
            ProtocolError: the data is not valid in this format.
        """
        return [self._loads(data)]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.subprotocol}>"


class BatchedSerializer(Serializer):
    """A batched variant: one transport message carries one or more WAMP messages.

    ``encode`` frames a single message (a batch of one); :meth:`encode_batch` packs
    several. ``decode`` returns every message of the batch, in order.
    """

    __slots__ = ("_frame", "_split")

    def __init__(
        self,
        name: str,
        dumps: Dumps,
        loads: Loads,
        *,
        binary: bool,
        frame: Callable[[bytes], bytes],
        split: Callable[[Any], list[bytes]],
    ) -> None:
        super().__init__(name, dumps, loads, binary=binary, rawsocket_id=None)
        self.subprotocol = f"wamp.2.{name}.batched"
        self.batched = True
        self._frame = frame
        self._split = split

    def encode(self, message: Message) -> bytes:
        return self._frame(self._dumps(message.to_list()))

    def encode_batch(self, messages: Iterable[Message]) -> bytes:
        """Serialize several messages into one transport message.

        Raises:
            ValueError: ``messages`` is empty (a batch of zero messages is illegal),
                or a message holds a value this format cannot carry.
        """
        frame = self._frame
        dumps = self._dumps
        batch = b"".join([frame(dumps(message.to_list())) for message in messages])
        if not batch:
            raise ValueError(f"{self.subprotocol}: a batch needs at least one message")
        return batch

    def decode(self, data: bytes) -> list[Message]:
        loads = self._loads
        return [_parse(loads(part)) for part in self._split(data)]

    def encode_obj(self, value: Any) -> bytes:
        return self._frame(self._dumps(value))

    def decode_obj(self, data: bytes) -> list[Any]:
        loads = self._loads
        return [loads(part) for part in self._split(data)]


def _split_msgpack(data: Any) -> list[bytes]:
    return split_length_prefixed(data, "msgpack")


def _split_cbor(data: Any) -> list[bytes]:
    return split_length_prefixed(data, "cbor")


def json_serializer(backend: str | None = None, *, batched: bool = False) -> Serializer:
    """Build a JSON serializer on a given backend (for tests and benchmarks).

    Args:
        backend: ``"orjson"`` or ``"stdlib"``; ``None`` for the default
            (:data:`autostrada.serializers.json_codec.BACKEND`).
        batched: build the ``wamp.2.json.batched`` variant.

    Raises:
        ValueError: the backend is unknown or not installed.
    """
    name = json_codec.BACKEND if backend is None else backend
    try:
        dumps, loads = json_codec.BACKENDS[name]
    except KeyError:
        available = ", ".join(sorted(json_codec.BACKENDS))
        raise ValueError(f"unknown JSON backend {name!r} (available: {available})") from None
    if batched:
        return BatchedSerializer(
            "json", dumps, loads, binary=False, frame=frame_record, split=split_records
        )
    return Serializer("json", dumps, loads, binary=False, rawsocket_id=1)


JSON = json_serializer()
MSGPACK = Serializer(
    "msgpack", msgpack_codec.dumps, msgpack_codec.loads, binary=True, rawsocket_id=2
)
CBOR = Serializer("cbor", cbor_codec.dumps, cbor_codec.loads, binary=True, rawsocket_id=3)
JSON_BATCHED = json_serializer(batched=True)
MSGPACK_BATCHED = BatchedSerializer(
    "msgpack",
    msgpack_codec.dumps,
    msgpack_codec.loads,
    binary=True,
    frame=frame_length_prefixed,
    split=_split_msgpack,
)
CBOR_BATCHED = BatchedSerializer(
    "cbor",
    cbor_codec.dumps,
    cbor_codec.loads,
    binary=True,
    frame=frame_length_prefixed,
    split=_split_cbor,
)

SERIALIZERS: dict[str, Serializer] = {
    s.subprotocol: s for s in (JSON, MSGPACK, CBOR, JSON_BATCHED, MSGPACK_BATCHED, CBOR_BATCHED)
}
"""Every supported serializer, by WebSocket subprotocol."""

DEFAULT_SUBPROTOCOLS = ("wamp.2.json", "wamp.2.msgpack", "wamp.2.cbor")
"""What a client offers by default, in order of preference."""

_BY_RAWSOCKET_ID = {s.rawsocket_id: s for s in (JSON, MSGPACK, CBOR)}
_RAWSOCKET_NAMES = {1: "json", 2: "msgpack", 3: "cbor", 4: "ubjson", 5: "flatbuffers"}


def by_subprotocol(subprotocol: str) -> Serializer:
    """Return the serializer of a WebSocket subprotocol, e.g. ``"wamp.2.msgpack"``.

    Raises:
        ValueError: naming the unknown subprotocol and the supported ones.
    """
    serializer = SERIALIZERS.get(subprotocol) if isinstance(subprotocol, str) else None
    if serializer is None:
        supported = ", ".join(SERIALIZERS)
        raise ValueError(f"unknown WAMP subprotocol {subprotocol!r} (supported: {supported})")
    return serializer


def by_rawsocket_id(serializer_id: int) -> Serializer:
    """Return the serializer of a RawSocket serializer id (1 JSON, 2 MessagePack, 3 CBOR).

    Raises:
        ValueError: naming the unsupported id (4 UBJSON and 5 FlatBuffers exist but
            are not supported).
    """
    serializer = _BY_RAWSOCKET_ID.get(serializer_id) if type(serializer_id) is int else None
    if serializer is None:
        known = (
            _RAWSOCKET_NAMES.get(serializer_id, "undefined")
            if type(serializer_id) is int
            else "not an integer"
        )
        raise ValueError(
            f"unsupported RawSocket serializer id {serializer_id!r} ({known}); "
            "supported: 1 (json), 2 (msgpack), 3 (cbor)"
        )
    return serializer


def get_serializer(name: str) -> Serializer:
    """Return a serializer by name, as transport configurations spell it.

    Accepts ``"json"``, ``"msgpack"``, ``"cbor"``, the same with ``".batched"``, and
    full subprotocols (``"wamp.2.json"``).

    Raises:
        ValueError: naming the unknown serializer and the supported names.
    """
    if isinstance(name, str):
        serializer = SERIALIZERS.get(name) or SERIALIZERS.get(f"wamp.2.{name}")
        if serializer is not None:
            return serializer
    supported = ", ".join(subprotocol[len("wamp.2.") :] for subprotocol in SERIALIZERS)
    raise ValueError(f"unknown WAMP serializer {name!r} (supported: {supported})")


def subprotocols(names: Iterable[str] | None = None) -> list[str]:
    """Return the WebSocket subprotocols to offer for serializer names, in order.

    Args:
        names: serializer names as :func:`get_serializer` accepts them; ``None`` for
            :data:`DEFAULT_SUBPROTOCOLS`.

    Raises:
        ValueError: a name is unknown.
    """
    if names is None:
        return list(DEFAULT_SUBPROTOCOLS)
    if isinstance(names, str):
        raise ValueError(f"serializer names must be a list of names, got the string {names!r}")
    offered: list[str] = []
    for name in names:
        subprotocol = get_serializer(name).subprotocol
        if subprotocol not in offered:
            offered.append(subprotocol)
    return offered


def negotiate(offered: Iterable[str], supported: Iterable[str] | None = None) -> Serializer | None:
    """Pick the serializer for a WebSocket handshake (the server side).

    RFC 6455 section 4.2.2: the server selects one of the client's subprotocols. We
    take the first one, in the client's order of preference, that we support.

    Args:
        offered: the client's ``Sec-WebSocket-Protocol`` values, in order.
        supported: the subprotocols this server accepts (names as
            :func:`get_serializer` accepts them); ``None`` for all of
            :data:`SERIALIZERS`.

    Returns:
        The chosen serializer, or ``None`` if nothing offered is acceptable.

    Raises:
        ValueError: a name in ``supported`` is unknown.
    """
    accepted = set(SERIALIZERS) if supported is None else set(subprotocols(supported))
    for subprotocol in offered:
        if subprotocol in accepted:
            return SERIALIZERS[subprotocol]
    return None
