"""Session messages: HELLO, WELCOME, ABORT, CHALLENGE, AUTHENTICATE, GOODBYE, and ERROR."""

from __future__ import annotations

from typing import Any, Self

from autostrada.exceptions import ProtocolError
from autostrada.fields import (
    CLOSE_DETAILS,
    HELLO_DETAILS,
    NO_KNOWN_KEYS,
    PASSTHRU,
    WELCOME_DETAILS,
    append_payload,
    check_dict,
    check_id,
    check_length,
    check_string,
    check_uri,
    fail,
    parse_payload,
)

from .base import Message, MessageType


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
