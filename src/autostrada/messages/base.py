"""What every WAMP message class shares: the type codes, the base class, and the
parsing of UNSUBSCRIBED/UNREGISTERED (both revocable by the router).
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, ClassVar, Self

from autostrada.fields import (
    Check,
    check_dict,
    check_id,
    check_length,
)


class MessageType(IntEnum):
    """WAMP message type codes (the first element of every message)."""

    HELLO = 1
    WELCOME = 2
    ABORT = 3
    CHALLENGE = 4
    AUTHENTICATE = 5
    GOODBYE = 6
    ERROR = 8
    PUBLISH = 16
    PUBLISHED = 17
    SUBSCRIBE = 32
    SUBSCRIBED = 33
    UNSUBSCRIBE = 34
    UNSUBSCRIBED = 35
    EVENT = 36
    CALL = 48
    CANCEL = 49
    RESULT = 50
    REGISTER = 64
    REGISTERED = 65
    UNREGISTER = 66
    UNREGISTERED = 67
    INVOCATION = 68
    INTERRUPT = 69
    YIELD = 70
    EVENT_RECEIVED = 337  # Autobahn/Crossbar "acknowledged event delivery"


# --------------------------------------------------------------------------------------
# Message classes


class Message:
    """Base class of all WAMP messages. Subclasses are slotted and compare by value."""

    __slots__ = ()
    TYPE: ClassVar[MessageType]

    def to_list(self) -> list[Any]:
        """Return the message as the list that goes on the wire."""
        raise NotImplementedError

    @classmethod
    def from_list(cls, wmsg: list[Any]) -> Self:
        """Parse and validate a decoded message whose first element is ``cls.TYPE``.

        Raises:
            ProtocolError: naming the message and the field that is wrong.
        """
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        fields: tuple[str, ...] = self.__slots__
        return all(getattr(self, f) == getattr(other, f) for f in fields)

    __hash__ = None  # type: ignore[assignment]  # mutable payloads: not hashable

    def __repr__(self) -> str:
        fields: tuple[str, ...] = self.__slots__
        shown = ", ".join(f"{f}={getattr(self, f)!r}" for f in fields)
        return f"{type(self).__name__}({shown})"


def revocable(wmsg: list[Any], name: str, known: dict[str, Check]) -> tuple[int, dict[str, Any]]:
    """Parse ``[UNSUBSCRIBED|UNREGISTERED, Request|id (, Details|dict)]``.

    Request 0 with Details is a router-initiated revocation (Advanced Profile
    "Subscription Revocation" / "Registration Revocation").
    """
    check_length(wmsg, 2, 3, name)
    details = check_dict(wmsg[2], f"{name}.Details", known) if len(wmsg) == 3 else {}
    request_id = wmsg[1]
    if request_id == 0 and type(request_id) is int and len(wmsg) == 3:
        return 0, details
    return check_id(request_id, f"{name}.Request"), details
