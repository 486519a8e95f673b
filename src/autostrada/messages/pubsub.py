"""Publish & subscribe messages: PUBLISH ... EVENT, and EVENT_RECEIVED."""

from __future__ import annotations

from typing import Any, Self

from autostrada.fields import (
    EVENT_DETAILS,
    PUBLISH_OPTIONS,
    SUBSCRIBE_OPTIONS,
    UNSUBSCRIBED_DETAILS,
    append_payload,
    check_dict,
    check_id,
    check_length,
    check_uri,
    parse_payload,
)
from autostrada.ids import MAX_ID

from .base import Message, MessageType, revocable


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
        return cls(*revocable(wmsg, "UNSUBSCRIBED", UNSUBSCRIBED_DETAILS))


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
