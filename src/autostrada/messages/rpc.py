"""Remote procedure call messages: CALL ... YIELD."""

from __future__ import annotations

from typing import Any, Self

from autostrada.fields import (
    CALL_OPTIONS,
    CANCEL_OPTIONS,
    INTERRUPT_OPTIONS,
    INVOCATION_DETAILS,
    REGISTER_OPTIONS,
    RESULT_DETAILS,
    UNREGISTERED_DETAILS,
    YIELD_OPTIONS,
    append_payload,
    check_dict,
    check_id,
    check_length,
    check_uri,
    parse_payload,
)
from autostrada.ids import MAX_ID

from .base import Message, MessageType, revocable


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
        return cls(*revocable(wmsg, "UNREGISTERED", UNREGISTERED_DETAILS))


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
