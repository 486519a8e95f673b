"""The 25 WAMP message types as slotted classes, with strict parsing.

One module per group: :mod:`.base` (type codes, the base class), :mod:`.session`,
:mod:`.pubsub`, :mod:`.rpc`; everything is imported from here.

Spec: Basic Profile "Messages" (basic/messages.md) and Advanced Profile "Messages"
(advanced/messages.md); EVENT_RECEIVED (337) as Autobahn and Crossbar deploy it.

* ``parse(wmsg)`` turns a decoded list (what a serializer produced) into a message
  object, validating every element: ids in ``1..2**53``, URIs (loose rule), dicts and
  lists where the spec says so, element counts, and the types of every *known*
  option/detail key (a bool sent as an int is rejected). Unknown keys are kept as they
  are. Any violation raises :class:`~autostrada.exceptions.ProtocolError` naming the
  message and the field, e.g. ``CALL.Options.timeout``.
* ``message.to_list()`` gives the list to serialize. Constructors do not validate:
  messages built by this library are correct by construction, and the public API
  checks its arguments before building them.

Payloads: ``args`` (list) and ``kwargs`` (dict) are omitted from the wire list when
empty. A *transparent payload* (payload passthru mode: ``enc_algo`` in the options or
details, and a bytes/str in place of ``Arguments``) is kept in ``payload``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from autostrada.exceptions import ProtocolError
from autostrada.fields import show

from .base import Message, MessageType
from .pubsub import (
    Event,
    EventReceived,
    Publish,
    Published,
    Subscribe,
    Subscribed,
    Unsubscribe,
    Unsubscribed,
)
from .rpc import (
    Call,
    Cancel,
    Interrupt,
    Invocation,
    Register,
    Registered,
    Result,
    Unregister,
    Unregistered,
    Yield,
)
from .session import Abort, Authenticate, Challenge, Error, Goodbye, Hello, Welcome

__all__ = [
    "Abort",
    "Authenticate",
    "Call",
    "Cancel",
    "Challenge",
    "Error",
    "Event",
    "EventReceived",
    "Goodbye",
    "Hello",
    "Interrupt",
    "Invocation",
    "Message",
    "MessageType",
    "Publish",
    "Published",
    "Register",
    "Registered",
    "Result",
    "Subscribe",
    "Subscribed",
    "Unregister",
    "Unregistered",
    "Unsubscribe",
    "Unsubscribed",
    "Welcome",
    "Yield",
    "parse",
]


MESSAGE_CLASSES: dict[int, type[Message]] = {
    cls.TYPE: cls
    for cls in (
        Hello,
        Welcome,
        Abort,
        Challenge,
        Authenticate,
        Goodbye,
        Error,
        Publish,
        Published,
        Subscribe,
        Subscribed,
        Unsubscribe,
        Unsubscribed,
        Event,
        EventReceived,
        Call,
        Cancel,
        Result,
        Register,
        Registered,
        Unregister,
        Unregistered,
        Invocation,
        Interrupt,
        Yield,
    )
}
_PARSERS: dict[object, Callable[[list[Any]], Message]] = {
    code: cls.from_list for code, cls in MESSAGE_CLASSES.items()
}


def parse(wmsg: object) -> Message:
    """Turn one decoded WAMP message (a list) into a validated message object.

    Raises:
        ProtocolError: the value is not a WAMP message, its type code is unknown, or a
            field is invalid (the error names the message and field).
    """
    if type(wmsg) is not list or not wmsg:
        raise ProtocolError(f"a WAMP message must be a non-empty list, got {show(wmsg)}")
    code = wmsg[0]
    parser = _PARSERS.get(code) if type(code) is int else None
    if parser is None:
        raise ProtocolError(f"unknown WAMP message type {show(code)}")
    return parser(wmsg)
