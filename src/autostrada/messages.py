"""The 25 WAMP message types as slotted classes, with strict parsing.

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
from enum import IntEnum
from typing import Any, ClassVar, Self

from .exceptions import ProtocolError
from .fields import (
    CALL_OPTIONS,
    CANCEL_OPTIONS,
    CLOSE_DETAILS,
    EVENT_DETAILS,
    HELLO_DETAILS,
    INTERRUPT_OPTIONS,
    INVOCATION_DETAILS,
    NO_KNOWN_KEYS,
    PASSTHRU,
    PUBLISH_OPTIONS,
    REGISTER_OPTIONS,
    RESULT_DETAILS,
    SUBSCRIBE_OPTIONS,
    UNREGISTERED_DETAILS,
    UNSUBSCRIBED_DETAILS,
    WELCOME_DETAILS,
    YIELD_OPTIONS,
    Check,
    append_payload,
    check_dict,
    check_id,
    check_length,
    check_string,
    check_uri,
    fail,
    parse_payload,
    show,
)
from .ids import MAX_ID

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
    "Yield",
    "parse",
]


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


class Hello(Message):
    """``[HELLO, Realm|uri, Details|dict]`` — a client asks to join a realm."""

    __slots__ = ("details", "realm")
    TYPE = MessageType.HELLO

    def __init__(self, realm: str, details: dict[str, Any]) -> None:
        self.realm = realm
        self.details = details

    def to_list(self) -> list[Any]:
        return [1, self.realm, self.details]

    @classmethod
    def from_list(cls, wmsg: list[Any]) -> Self:
        check_length(wmsg, 3, 3, "HELLO")
        details = check_dict(wmsg[2], "HELLO.Details", HELLO_DETAILS)
        if "roles" not in details:
            raise ProtocolError("HELLO.Details.roles is missing (a client must announce roles)")
        return cls(check_uri(wmsg[1], "HELLO.Realm"), details)


class Welcome(Message):
    """``[WELCOME, Session|id, Details|dict]`` — the router accepts the session."""

    __slots__ = ("details", "session_id")
    TYPE = MessageType.WELCOME

    def __init__(self, session_id: int, details: dict[str, Any]) -> None:
        self.session_id = session_id
        self.details = details

    def to_list(self) -> list[Any]:
        return [2, self.session_id, self.details]

    @classmethod
    def from_list(cls, wmsg: list[Any]) -> Self:
        check_length(wmsg, 3, 3, "WELCOME")
        details = check_dict(wmsg[2], "WELCOME.Details", WELCOME_DETAILS)
        if "roles" not in details:
            raise ProtocolError("WELCOME.Details.roles is missing (a router must announce roles)")
        return cls(check_id(wmsg[1], "WELCOME.Session"), details)


class Abort(Message):
    """``[ABORT, Details|dict, Reason|uri, Arguments|list, ArgumentsKw|dict]``."""

    __slots__ = ("args", "details", "kwargs", "reason")
    TYPE = MessageType.ABORT

    def __init__(
        self,
        details: dict[str, Any],
        reason: str,
        args: list[Any] | None = None,
        kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.details = details
        self.reason = reason
        self.args = args
        self.kwargs = kwargs

    def to_list(self) -> list[Any]:
        return append_payload([3, self.details, self.reason], self.args, self.kwargs, None)

    @classmethod
    def from_list(cls, wmsg: list[Any]) -> Self:
        check_length(wmsg, 3, 5, "ABORT")
        details = check_dict(wmsg[1], "ABORT.Details", CLOSE_DETAILS)
        args, kwargs, _ = parse_payload(wmsg, 3, {}, "ABORT")
        return cls(details, check_uri(wmsg[2], "ABORT.Reason"), args, kwargs)


class Challenge(Message):
    """``[CHALLENGE, AuthMethod|string, Extra|dict]`` — the router asks for a proof."""

    __slots__ = ("extra", "method")
    TYPE = MessageType.CHALLENGE

    def __init__(self, method: str, extra: dict[str, Any]) -> None:
        self.method = method
        self.extra = extra

    def to_list(self) -> list[Any]:
        return [4, self.method, self.extra]

    @classmethod
    def from_list(cls, wmsg: list[Any]) -> Self:
        check_length(wmsg, 3, 3, "CHALLENGE")
        method = check_string(wmsg[1], "CHALLENGE.AuthMethod")
        return cls(method, check_dict(wmsg[2], "CHALLENGE.Extra", NO_KNOWN_KEYS))


class Authenticate(Message):
    """``[AUTHENTICATE, Signature|string, Extra|dict]`` — the client's proof."""

    __slots__ = ("extra", "signature")
    TYPE = MessageType.AUTHENTICATE

    def __init__(self, signature: str, extra: dict[str, Any]) -> None:
        self.signature = signature
        self.extra = extra

    def to_list(self) -> list[Any]:
        return [5, self.signature, self.extra]

    def __repr__(self) -> str:  # never print a secret
        return f"Authenticate(signature=<{len(self.signature)} chars>, extra={self.extra!r})"

    @classmethod
    def from_list(cls, wmsg: list[Any]) -> Self:
        check_length(wmsg, 3, 3, "AUTHENTICATE")
        signature = wmsg[1]
        if type(signature) is not str:  # the value may be a secret: name only its type
            raise ProtocolError(
                f"AUTHENTICATE.Signature must be a string, got {type(signature).__name__}"
            )
        return cls(signature, check_dict(wmsg[2], "AUTHENTICATE.Extra", NO_KNOWN_KEYS))


class Goodbye(Message):
    """``[GOODBYE, Details|dict, Reason|uri]`` — either side closes the session."""

    __slots__ = ("details", "reason")
    TYPE = MessageType.GOODBYE

    def __init__(self, details: dict[str, Any], reason: str) -> None:
        self.details = details
        self.reason = reason

    def to_list(self) -> list[Any]:
        return [6, self.details, self.reason]

    @classmethod
    def from_list(cls, wmsg: list[Any]) -> Self:
        check_length(wmsg, 3, 3, "GOODBYE")
        details = check_dict(wmsg[1], "GOODBYE.Details", CLOSE_DETAILS)
        return cls(details, check_uri(wmsg[2], "GOODBYE.Reason"))


# Requests an ERROR may answer (spec: SUBSCRIBE, UNSUBSCRIBE, PUBLISH, REGISTER,
# UNREGISTER, CALL, INVOCATION).
_ERROR_REQUEST_TYPES = frozenset({16, 32, 34, 48, 64, 66, 68})


class Error(Message):
    """``[ERROR, REQUEST.Type|int, REQUEST.Request|id, Details|dict, Error|uri, Args, Kw]``."""

    __slots__ = ("args", "details", "error", "kwargs", "payload", "request_id", "request_type")
    TYPE = MessageType.ERROR

    def __init__(
        self,
        request_type: int,
        request_id: int,
        details: dict[str, Any],
        error: str,
        args: list[Any] | None = None,
        kwargs: dict[str, Any] | None = None,
        payload: bytes | str | None = None,
    ) -> None:
        self.request_type = request_type
        self.request_id = request_id
        self.details = details
        self.error = error
        self.args = args
        self.kwargs = kwargs
        self.payload = payload

    def to_list(self) -> list[Any]:
        wmsg = [8, self.request_type, self.request_id, self.details, self.error]
        return append_payload(wmsg, self.args, self.kwargs, self.payload)

    @classmethod
    def from_list(cls, wmsg: list[Any]) -> Self:
        check_length(wmsg, 5, 7, "ERROR")
        request_type = wmsg[1]
        if type(request_type) is not int or request_type not in _ERROR_REQUEST_TYPES:
            raise fail("ERROR.REQUEST.Type", "the type code of a request", request_type)
        details = check_dict(wmsg[3], "ERROR.Details", PASSTHRU)
        args, kwargs, payload = parse_payload(wmsg, 5, details, "ERROR")
        return cls(
            request_type,
            check_id(wmsg[2], "ERROR.REQUEST.Request"),
            details,
            check_uri(wmsg[4], "ERROR.Error"),
            args,
            kwargs,
            payload,
        )


class Publish(Message):
    """``[PUBLISH, Request|id, Options|dict, Topic|uri, Arguments|list, ArgumentsKw|dict]``."""

    __slots__ = ("args", "kwargs", "options", "payload", "request_id", "topic")
    TYPE = MessageType.PUBLISH

    def __init__(
        self,
        request_id: int,
        options: dict[str, Any],
        topic: str,
        args: list[Any] | None = None,
        kwargs: dict[str, Any] | None = None,
        payload: bytes | str | None = None,
    ) -> None:
        self.request_id = request_id
        self.options = options
        self.topic = topic
        self.args = args
        self.kwargs = kwargs
        self.payload = payload

    def to_list(self) -> list[Any]:
        wmsg = [16, self.request_id, self.options, self.topic]
        return append_payload(wmsg, self.args, self.kwargs, self.payload)

    @classmethod
    def from_list(cls, wmsg: list[Any]) -> Self:
        check_length(wmsg, 4, 6, "PUBLISH")
        options = check_dict(wmsg[2], "PUBLISH.Options", PUBLISH_OPTIONS)
        args, kwargs, payload = parse_payload(wmsg, 4, options, "PUBLISH")
        return cls(
            check_id(wmsg[1], "PUBLISH.Request"),
            options,
            check_uri(wmsg[3], "PUBLISH.Topic"),
            args,
            kwargs,
            payload,
        )


class Published(Message):
    """``[PUBLISHED, PUBLISH.Request|id, Publication|id]``."""

    __slots__ = ("publication_id", "request_id")
    TYPE = MessageType.PUBLISHED

    def __init__(self, request_id: int, publication_id: int) -> None:
        self.request_id = request_id
        self.publication_id = publication_id

    def to_list(self) -> list[Any]:
        return [17, self.request_id, self.publication_id]

    @classmethod
    def from_list(cls, wmsg: list[Any]) -> Self:
        check_length(wmsg, 3, 3, "PUBLISHED")
        return cls(
            check_id(wmsg[1], "PUBLISHED.PUBLISH.Request"),
            check_id(wmsg[2], "PUBLISHED.Publication"),
        )


class Subscribe(Message):
    """``[SUBSCRIBE, Request|id, Options|dict, Topic|uri]``."""

    __slots__ = ("options", "request_id", "topic")
    TYPE = MessageType.SUBSCRIBE

    def __init__(self, request_id: int, options: dict[str, Any], topic: str) -> None:
        self.request_id = request_id
        self.options = options
        self.topic = topic

    def to_list(self) -> list[Any]:
        return [32, self.request_id, self.options, self.topic]

    @classmethod
    def from_list(cls, wmsg: list[Any]) -> Self:
        check_length(wmsg, 4, 4, "SUBSCRIBE")
        options = check_dict(wmsg[2], "SUBSCRIBE.Options", SUBSCRIBE_OPTIONS)
        topic = check_uri(wmsg[3], "SUBSCRIBE.Topic", options.get("match", "exact"))
        return cls(check_id(wmsg[1], "SUBSCRIBE.Request"), options, topic)


class Subscribed(Message):
    """``[SUBSCRIBED, SUBSCRIBE.Request|id, Subscription|id]``."""

    __slots__ = ("request_id", "subscription_id")
    TYPE = MessageType.SUBSCRIBED

    def __init__(self, request_id: int, subscription_id: int) -> None:
        self.request_id = request_id
        self.subscription_id = subscription_id

    def to_list(self) -> list[Any]:
        return [33, self.request_id, self.subscription_id]

    @classmethod
    def from_list(cls, wmsg: list[Any]) -> Self:
        check_length(wmsg, 3, 3, "SUBSCRIBED")
        return cls(
            check_id(wmsg[1], "SUBSCRIBED.SUBSCRIBE.Request"),
            check_id(wmsg[2], "SUBSCRIBED.Subscription"),
        )


class Unsubscribe(Message):
    """``[UNSUBSCRIBE, Request|id, SUBSCRIBED.Subscription|id]``."""

    __slots__ = ("request_id", "subscription_id")
    TYPE = MessageType.UNSUBSCRIBE

    def __init__(self, request_id: int, subscription_id: int) -> None:
        self.request_id = request_id
        self.subscription_id = subscription_id

    def to_list(self) -> list[Any]:
        return [34, self.request_id, self.subscription_id]

    @classmethod
    def from_list(cls, wmsg: list[Any]) -> Self:
        check_length(wmsg, 3, 3, "UNSUBSCRIBE")
        return cls(
            check_id(wmsg[1], "UNSUBSCRIBE.Request"),
            check_id(wmsg[2], "UNSUBSCRIBE.SUBSCRIBED.Subscription"),
        )


def _revocable(wmsg: list[Any], name: str, known: dict[str, Check]) -> tuple[int, dict[str, Any]]:
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


class Unsubscribed(Message):
    """``[UNSUBSCRIBED, UNSUBSCRIBE.Request|id]`` or ``[UNSUBSCRIBED, 0, Details|dict]``."""

    __slots__ = ("details", "request_id")
    TYPE = MessageType.UNSUBSCRIBED

    def __init__(self, request_id: int, details: dict[str, Any] | None = None) -> None:
        self.request_id = request_id
        self.details = details if details is not None else {}

    def to_list(self) -> list[Any]:
        if self.details:
            return [35, self.request_id, self.details]
        return [35, self.request_id]

    @classmethod
    def from_list(cls, wmsg: list[Any]) -> Self:
        return cls(*_revocable(wmsg, "UNSUBSCRIBED", UNSUBSCRIBED_DETAILS))


class Event(Message):
    """``[EVENT, Subscription|id, Publication|id, Details|dict, Arguments, ArgumentsKw]``."""

    __slots__ = ("args", "details", "kwargs", "payload", "publication_id", "subscription_id")
    TYPE = MessageType.EVENT

    def __init__(
        self,
        subscription_id: int,
        publication_id: int,
        details: dict[str, Any],
        args: list[Any] | None = None,
        kwargs: dict[str, Any] | None = None,
        payload: bytes | str | None = None,
    ) -> None:
        self.subscription_id = subscription_id
        self.publication_id = publication_id
        self.details = details
        self.args = args
        self.kwargs = kwargs
        self.payload = payload

    def to_list(self) -> list[Any]:
        wmsg = [36, self.subscription_id, self.publication_id, self.details]
        return append_payload(wmsg, self.args, self.kwargs, self.payload)

    @classmethod
    def from_list(cls, wmsg: list[Any]) -> Self:
        # The checks of check_length() and check_id() inlined (they raise): EVENT,
        # RESULT and INVOCATION are the messages a client receives most.
        if not 4 <= len(wmsg) <= 6:
            check_length(wmsg, 4, 6, "EVENT")
        details = check_dict(wmsg[3], "EVENT.Details", EVENT_DETAILS)
        args, kwargs, payload = parse_payload(wmsg, 4, details, "EVENT")
        subscription_id, publication_id = wmsg[1], wmsg[2]
        if not (type(subscription_id) is int and 1 <= subscription_id <= MAX_ID):
            check_id(subscription_id, "EVENT.SUBSCRIBED.Subscription")
        if not (type(publication_id) is int and 1 <= publication_id <= MAX_ID):
            check_id(publication_id, "EVENT.PUBLISHED.Publication")
        return cls(subscription_id, publication_id, details, args, kwargs, payload)


class EventReceived(Message):
    """``[EVENT_RECEIVED, EVENT.Publication|id]`` — a subscriber acknowledges an EVENT.

    Autobahn's "acknowledged event delivery" (type 337, to become 37 on ratification).
    """

    __slots__ = ("publication_id",)
    TYPE = MessageType.EVENT_RECEIVED

    def __init__(self, publication_id: int) -> None:
        self.publication_id = publication_id

    def to_list(self) -> list[Any]:
        return [337, self.publication_id]

    @classmethod
    def from_list(cls, wmsg: list[Any]) -> Self:
        check_length(wmsg, 2, 2, "EVENT_RECEIVED")
        return cls(check_id(wmsg[1], "EVENT_RECEIVED.EVENT.Publication"))


class Call(Message):
    """``[CALL, Request|id, Options|dict, Procedure|uri, Arguments|list, ArgumentsKw|dict]``."""

    __slots__ = ("args", "kwargs", "options", "payload", "procedure", "request_id")
    TYPE = MessageType.CALL

    def __init__(
        self,
        request_id: int,
        options: dict[str, Any],
        procedure: str,
        args: list[Any] | None = None,
        kwargs: dict[str, Any] | None = None,
        payload: bytes | str | None = None,
    ) -> None:
        self.request_id = request_id
        self.options = options
        self.procedure = procedure
        self.args = args
        self.kwargs = kwargs
        self.payload = payload

    def to_list(self) -> list[Any]:
        wmsg = [48, self.request_id, self.options, self.procedure]
        return append_payload(wmsg, self.args, self.kwargs, self.payload)

    @classmethod
    def from_list(cls, wmsg: list[Any]) -> Self:
        check_length(wmsg, 4, 6, "CALL")
        options = check_dict(wmsg[2], "CALL.Options", CALL_OPTIONS)
        args, kwargs, payload = parse_payload(wmsg, 4, options, "CALL")
        return cls(
            check_id(wmsg[1], "CALL.Request"),
            options,
            check_uri(wmsg[3], "CALL.Procedure"),
            args,
            kwargs,
            payload,
        )


class Cancel(Message):
    """``[CANCEL, CALL.Request|id, Options|dict]`` — options.mode: skip, kill, killnowait."""

    __slots__ = ("options", "request_id")
    TYPE = MessageType.CANCEL

    def __init__(self, request_id: int, options: dict[str, Any] | None = None) -> None:
        self.request_id = request_id
        self.options = options if options is not None else {}

    def to_list(self) -> list[Any]:
        return [49, self.request_id, self.options]

    @classmethod
    def from_list(cls, wmsg: list[Any]) -> Self:
        check_length(wmsg, 3, 3, "CANCEL")
        options = check_dict(wmsg[2], "CANCEL.Options", CANCEL_OPTIONS)
        return cls(check_id(wmsg[1], "CANCEL.CALL.Request"), options)


class Result(Message):
    """``[RESULT, CALL.Request|id, Details|dict, YIELD.Arguments|list, YIELD.ArgumentsKw|dict]``."""

    __slots__ = ("args", "details", "kwargs", "payload", "request_id")
    TYPE = MessageType.RESULT

    def __init__(
        self,
        request_id: int,
        details: dict[str, Any],
        args: list[Any] | None = None,
        kwargs: dict[str, Any] | None = None,
        payload: bytes | str | None = None,
    ) -> None:
        self.request_id = request_id
        self.details = details
        self.args = args
        self.kwargs = kwargs
        self.payload = payload

    def to_list(self) -> list[Any]:
        wmsg = [50, self.request_id, self.details]
        return append_payload(wmsg, self.args, self.kwargs, self.payload)

    @classmethod
    def from_list(cls, wmsg: list[Any]) -> Self:
        if not 3 <= len(wmsg) <= 5:
            check_length(wmsg, 3, 5, "RESULT")
        details = check_dict(wmsg[2], "RESULT.Details", RESULT_DETAILS)
        args, kwargs, payload = parse_payload(wmsg, 3, details, "RESULT")
        request_id = wmsg[1]
        if not (type(request_id) is int and 1 <= request_id <= MAX_ID):
            check_id(request_id, "RESULT.CALL.Request")
        return cls(request_id, details, args, kwargs, payload)


class Register(Message):
    """``[REGISTER, Request|id, Options|dict, Procedure|uri]``."""

    __slots__ = ("options", "procedure", "request_id")
    TYPE = MessageType.REGISTER

    def __init__(self, request_id: int, options: dict[str, Any], procedure: str) -> None:
        self.request_id = request_id
        self.options = options
        self.procedure = procedure

    def to_list(self) -> list[Any]:
        return [64, self.request_id, self.options, self.procedure]

    @classmethod
    def from_list(cls, wmsg: list[Any]) -> Self:
        check_length(wmsg, 4, 4, "REGISTER")
        options = check_dict(wmsg[2], "REGISTER.Options", REGISTER_OPTIONS)
        procedure = check_uri(wmsg[3], "REGISTER.Procedure", options.get("match", "exact"))
        return cls(check_id(wmsg[1], "REGISTER.Request"), options, procedure)


class Registered(Message):
    """``[REGISTERED, REGISTER.Request|id, Registration|id]``."""

    __slots__ = ("registration_id", "request_id")
    TYPE = MessageType.REGISTERED

    def __init__(self, request_id: int, registration_id: int) -> None:
        self.request_id = request_id
        self.registration_id = registration_id

    def to_list(self) -> list[Any]:
        return [65, self.request_id, self.registration_id]

    @classmethod
    def from_list(cls, wmsg: list[Any]) -> Self:
        check_length(wmsg, 3, 3, "REGISTERED")
        return cls(
            check_id(wmsg[1], "REGISTERED.REGISTER.Request"),
            check_id(wmsg[2], "REGISTERED.Registration"),
        )


class Unregister(Message):
    """``[UNREGISTER, Request|id, REGISTERED.Registration|id]``."""

    __slots__ = ("registration_id", "request_id")
    TYPE = MessageType.UNREGISTER

    def __init__(self, request_id: int, registration_id: int) -> None:
        self.request_id = request_id
        self.registration_id = registration_id

    def to_list(self) -> list[Any]:
        return [66, self.request_id, self.registration_id]

    @classmethod
    def from_list(cls, wmsg: list[Any]) -> Self:
        check_length(wmsg, 3, 3, "UNREGISTER")
        return cls(
            check_id(wmsg[1], "UNREGISTER.Request"),
            check_id(wmsg[2], "UNREGISTER.REGISTERED.Registration"),
        )


class Unregistered(Message):
    """``[UNREGISTERED, UNREGISTER.Request|id]`` or ``[UNREGISTERED, 0, Details|dict]``."""

    __slots__ = ("details", "request_id")
    TYPE = MessageType.UNREGISTERED

    def __init__(self, request_id: int, details: dict[str, Any] | None = None) -> None:
        self.request_id = request_id
        self.details = details if details is not None else {}

    def to_list(self) -> list[Any]:
        if self.details:
            return [67, self.request_id, self.details]
        return [67, self.request_id]

    @classmethod
    def from_list(cls, wmsg: list[Any]) -> Self:
        return cls(*_revocable(wmsg, "UNREGISTERED", UNREGISTERED_DETAILS))


class Invocation(Message):
    """``[INVOCATION, Request|id, REGISTERED.Registration|id, Details|dict, Args, Kw]``."""

    __slots__ = ("args", "details", "kwargs", "payload", "registration_id", "request_id")
    TYPE = MessageType.INVOCATION

    def __init__(
        self,
        request_id: int,
        registration_id: int,
        details: dict[str, Any],
        args: list[Any] | None = None,
        kwargs: dict[str, Any] | None = None,
        payload: bytes | str | None = None,
    ) -> None:
        self.request_id = request_id
        self.registration_id = registration_id
        self.details = details
        self.args = args
        self.kwargs = kwargs
        self.payload = payload

    def to_list(self) -> list[Any]:
        wmsg = [68, self.request_id, self.registration_id, self.details]
        return append_payload(wmsg, self.args, self.kwargs, self.payload)

    @classmethod
    def from_list(cls, wmsg: list[Any]) -> Self:
        if not 4 <= len(wmsg) <= 6:
            check_length(wmsg, 4, 6, "INVOCATION")
        details = check_dict(wmsg[3], "INVOCATION.Details", INVOCATION_DETAILS)
        args, kwargs, payload = parse_payload(wmsg, 4, details, "INVOCATION")
        request_id, registration_id = wmsg[1], wmsg[2]
        if not (type(request_id) is int and 1 <= request_id <= MAX_ID):
            check_id(request_id, "INVOCATION.Request")
        if not (type(registration_id) is int and 1 <= registration_id <= MAX_ID):
            check_id(registration_id, "INVOCATION.REGISTERED.Registration")
        return cls(request_id, registration_id, details, args, kwargs, payload)


class Interrupt(Message):
    """``[INTERRUPT, INVOCATION.Request|id, Options|dict]`` — the dealer cancels an invocation."""

    __slots__ = ("options", "request_id")
    TYPE = MessageType.INTERRUPT

    def __init__(self, request_id: int, options: dict[str, Any] | None = None) -> None:
        self.request_id = request_id
        self.options = options if options is not None else {}

    def to_list(self) -> list[Any]:
        return [69, self.request_id, self.options]

    @classmethod
    def from_list(cls, wmsg: list[Any]) -> Self:
        check_length(wmsg, 3, 3, "INTERRUPT")
        options = check_dict(wmsg[2], "INTERRUPT.Options", INTERRUPT_OPTIONS)
        return cls(check_id(wmsg[1], "INTERRUPT.INVOCATION.Request"), options)


class Yield(Message):
    """``[YIELD, INVOCATION.Request|id, Options|dict, Arguments|list, ArgumentsKw|dict]``."""

    __slots__ = ("args", "kwargs", "options", "payload", "request_id")
    TYPE = MessageType.YIELD

    def __init__(
        self,
        request_id: int,
        options: dict[str, Any],
        args: list[Any] | None = None,
        kwargs: dict[str, Any] | None = None,
        payload: bytes | str | None = None,
    ) -> None:
        self.request_id = request_id
        self.options = options
        self.args = args
        self.kwargs = kwargs
        self.payload = payload

    def to_list(self) -> list[Any]:
        wmsg = [70, self.request_id, self.options]
        return append_payload(wmsg, self.args, self.kwargs, self.payload)

    @classmethod
    def from_list(cls, wmsg: list[Any]) -> Self:
        check_length(wmsg, 3, 5, "YIELD")
        options = check_dict(wmsg[2], "YIELD.Options", YIELD_OPTIONS)
        args, kwargs, payload = parse_payload(wmsg, 3, options, "YIELD")
        return cls(check_id(wmsg[1], "YIELD.INVOCATION.Request"), options, args, kwargs, payload)


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
