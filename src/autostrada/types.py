"""The option, detail and result classes of the session API, with Autobahn's names.

Everything ``autobahn.wamp.types`` offers an asyncio application (``CallOptions``,
``CallResult``, ``RegisterOptions``, ``SessionDetails``, ...) exists here with the same
constructor arguments and attributes, so that ported code keeps working. Options
classes validate their arguments at construction (a wrong type is a ``TypeError`` or
``ValueError`` naming the argument) and know how to become the wire ``Options`` dict.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from autostrada.uri import Match

__all__ = [
    "CallDetails",
    "CallOptions",
    "CallResult",
    "Challenge",
    "CloseDetails",
    "ComponentConfig",
    "EventDetails",
    "PublishOptions",
    "RegisterOptions",
    "SessionDetails",
    "SubscribeOptions",
    "TransportDetails",
]


def _check(name: str, value: Any, kind: type | tuple[type, ...], what: str) -> None:
    if value is not None and (
        not isinstance(value, kind) or (isinstance(value, bool) and kind is int)
    ):
        raise TypeError(f"{name} must be {what}, got {value!r}")


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value is not None and value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


def _check_list(name: str, value: Any, item: type, what: str) -> None:
    if value is None:
        return
    if not isinstance(value, list | tuple) or not all(
        isinstance(v, item) and not isinstance(v, bool) for v in value
    ):
        raise TypeError(f"{name} must be a list of {what}, got {value!r}")


def _wire(pairs: dict[str, Any]) -> dict[str, Any]:
    """The wire Options dict: keys whose value is ``None`` are left out."""
    return {k: v for k, v in pairs.items() if v is not None}


class ComponentConfig:
    """What a session is started with (Autobahn's ``ComponentConfig``).

    Args:
        realm: the realm to join.
        extra: anything the application wants to hand to its session.
        keyring: kept for Autobahn compatibility.
        controller: kept for Autobahn compatibility.
        shared: kept for Autobahn compatibility.
        runner: kept for Autobahn compatibility.
    """

    def __init__(
        self,
        realm: str | None = None,
        extra: Any = None,
        keyring: Any = None,
        controller: Any = None,
        shared: Any = None,
        runner: Any = None,
    ) -> None:
        _check("realm", realm, str, "a string")
        self.realm = realm
        self.extra = extra
        self.keyring = keyring
        self.controller = controller
        self.shared = shared
        self.runner = runner

    def __repr__(self) -> str:
        return f"ComponentConfig(realm={self.realm!r}, extra={self.extra!r})"


@dataclass(slots=True)
class TransportDetails:
    """What is known about the transport a session runs on."""

    peer: str | None = None
    is_secure: bool | None = None
    channel_type: str | None = None
    websocket_protocol: str | None = None
    channel_id: dict[str, bytes] = field(default_factory=dict)


@dataclass(slots=True)
class SessionDetails:
    """The outcome of a successful join (Autobahn's ``SessionDetails``)."""

    realm: str | None = None
    session: int | None = None
    authid: str | None = None
    authrole: str | None = None
    authmethod: str | None = None
    authprovider: str | None = None
    authextra: dict[str, Any] | None = None
    serializer: str | None = None
    transport: TransportDetails | None = None
    resumed: bool | None = None
    resumable: bool | None = None
    resume_token: str | None = None


@dataclass(slots=True)
class CloseDetails:
    """Why a session ended (Autobahn's ``CloseDetails``): a reason URI and a message."""

    REASON_DEFAULT = "wamp.close.normal"
    REASON_TRANSPORT_LOST = "wamp.close.transport_lost"

    reason: str | None = None
    message: str | None = None


@dataclass(slots=True)
class Challenge:
    """A CHALLENGE from the router: the auth method and its extra data."""

    method: str
    extra: dict[str, Any] = field(default_factory=dict)


class CallResult:
    """Several positional and/or keyword results of one call (Autobahn's ``CallResult``).

    A procedure returns a ``CallResult`` to send several values; a caller receives
    one when the result has more than one positional value or any keyword values.
    """

    __slots__ = ("callback", "enc_algo", "kwresults", "progress", "results")

    def __init__(self, *results: Any, **kwresults: Any) -> None:
        self.enc_algo = kwresults.pop("enc_algo", None)
        self.callback = kwresults.pop("callback", None)
        self.progress = kwresults.pop("progress", None)
        self.results = list(results)
        self.kwresults = kwresults

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CallResult):
            return NotImplemented
        return self.results == other.results and self.kwresults == other.kwresults

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"CallResult(results={self.results!r}, kwresults={self.kwresults!r})"


class CallOptions:
    """Options of one call (Autobahn's ``CallOptions``).

    Args:
        on_progress: called with each progressive result (``*args, **kwargs``); may be
            a coroutine function, awaited in order. Asks the callee for progressive
            results (``receive_progress``).
        timeout: seconds (float). Sent to the router as integer milliseconds AND
            enforced locally: when it expires the call fails with
            ``wamp.error.timeout`` and a CANCEL is sent.
        cancel_mode: how cancelling the awaiting task cancels the call:
            ``"skip"``, ``"kill"`` or ``"killnowait"`` (default).
        details: pass ``True`` to get the RESULT details (``CallResult`` with them).

    Other arguments are sent as they are (``transaction_hash``, ``caller``...).
    """

    __slots__ = (
        "caller",
        "caller_authid",
        "caller_authrole",
        "cancel_mode",
        "correlation_id",
        "correlation_is_anchor",
        "correlation_is_last",
        "correlation_uri",
        "details",
        "disclose_me",
        "forward_for",
        "on_progress",
        "timeout",
        "transaction_hash",
    )

    def __init__(
        self,
        on_progress: Callable[..., Any] | None = None,
        timeout: float | None = None,
        transaction_hash: str | None = None,
        caller: int | None = None,
        caller_authid: str | None = None,
        caller_authrole: str | None = None,
        forward_for: list[dict[str, Any]] | None = None,
        correlation_id: str | None = None,
        correlation_uri: str | None = None,
        correlation_is_anchor: bool | None = None,
        correlation_is_last: bool | None = None,
        details: bool | None = None,
        *,
        cancel_mode: str | None = None,
        disclose_me: bool | None = None,
    ) -> None:
        if on_progress is not None and not callable(on_progress):
            raise TypeError(f"on_progress must be callable, got {on_progress!r}")
        if timeout is not None:
            if isinstance(timeout, bool) or not isinstance(timeout, int | float):
                raise TypeError(f"timeout must be a number of seconds, got {timeout!r}")
            if not timeout >= 0:
                raise ValueError(f"timeout must be >= 0 seconds, got {timeout!r}")
        _check("transaction_hash", transaction_hash, str, "a string")
        _check_choice("cancel_mode", cancel_mode, ("skip", "kill", "killnowait"))
        _check("disclose_me", disclose_me, bool, "a bool")
        self.on_progress = on_progress
        self.timeout = timeout
        self.transaction_hash = transaction_hash
        self.caller = caller
        self.caller_authid = caller_authid
        self.caller_authrole = caller_authrole
        self.forward_for = forward_for
        self.correlation_id = correlation_id
        self.correlation_uri = correlation_uri
        self.correlation_is_anchor = correlation_is_anchor
        self.correlation_is_last = correlation_is_last
        self.details = details
        self.cancel_mode = cancel_mode
        self.disclose_me = disclose_me

    def message_attr(self) -> dict[str, Any]:
        """The CALL.Options dict for the wire (timeout in integer milliseconds)."""
        return _wire(
            {
                # Spec: CALL.Options.timeout is integer milliseconds (0 = no timeout).
                "timeout": None if self.timeout is None else max(1, round(self.timeout * 1000)),
                "receive_progress": True if self.on_progress is not None else None,
                "transaction_hash": self.transaction_hash,
                "disclose_me": self.disclose_me,
                "forward_for": self.forward_for,
            }
        )

    def __repr__(self) -> str:
        return f"CallOptions(timeout={self.timeout!r}, on_progress={self.on_progress!r})"


class RegisterOptions:
    """Options of a registration (Autobahn's ``RegisterOptions``).

    Args:
        match: ``"exact"`` (default), ``"prefix"`` or ``"wildcard"``.
        invoke: shared registration policy: ``"single"`` (default), ``"roundrobin"``,
            ``"random"``, ``"first"``, ``"last"``.
        concurrency: at most this many invocations in flight at once (router-enforced).
        force_reregister: take the procedure over from another registration.
        details: pass :class:`CallDetails` to the endpoint as keyword ``details``.
        details_arg: pass :class:`CallDetails` as this keyword argument.
    """

    __slots__ = (
        "concurrency",
        "correlation_id",
        "correlation_is_anchor",
        "correlation_is_last",
        "correlation_uri",
        "details",
        "details_arg",
        "force_reregister",
        "forward_for",
        "invoke",
        "match",
    )

    def __init__(
        self,
        match: str | None = None,
        invoke: str | None = None,
        concurrency: int | None = None,
        force_reregister: bool | None = None,
        forward_for: list[dict[str, Any]] | None = None,
        details: bool | None = None,
        details_arg: str | None = None,
        correlation_id: str | None = None,
        correlation_uri: str | None = None,
        correlation_is_anchor: bool | None = None,
        correlation_is_last: bool | None = None,
    ) -> None:
        _check_choice("match", match, tuple(Match))
        _check_choice("invoke", invoke, ("single", "roundrobin", "random", "first", "last"))
        _check("concurrency", concurrency, int, "a positive integer")
        if concurrency is not None and concurrency < 1:
            raise ValueError(f"concurrency must be a positive integer, got {concurrency!r}")
        _check("force_reregister", force_reregister, bool, "a bool")
        _check("details_arg", details_arg, str, "a keyword name")
        self.match = match
        self.invoke = invoke
        self.concurrency = concurrency
        self.force_reregister = force_reregister
        self.forward_for = forward_for
        self.details = details
        self.details_arg = details_arg or ("details" if details else None)
        self.correlation_id = correlation_id
        self.correlation_uri = correlation_uri
        self.correlation_is_anchor = correlation_is_anchor
        self.correlation_is_last = correlation_is_last

    def message_attr(self) -> dict[str, Any]:
        """The REGISTER.Options dict for the wire."""
        return _wire(
            {
                "match": self.match,
                "invoke": self.invoke,
                "concurrency": self.concurrency,
                "force_reregister": self.force_reregister,
                "forward_for": self.forward_for,
            }
        )

    def __repr__(self) -> str:
        return f"RegisterOptions({self.message_attr()!r}, details_arg={self.details_arg!r})"


class SubscribeOptions:
    """Options of a subscription (Autobahn's ``SubscribeOptions``).

    Args:
        match: ``"exact"`` (default), ``"prefix"`` or ``"wildcard"``.
        details: pass :class:`EventDetails` to the handler as keyword ``details``.
        details_arg: pass :class:`EventDetails` as this keyword argument.
        get_retained: ask the broker for the retained event, if any.
    """

    __slots__ = (
        "correlation_id",
        "correlation_is_anchor",
        "correlation_is_last",
        "correlation_uri",
        "details",
        "details_arg",
        "forward_for",
        "get_retained",
        "match",
    )

    def __init__(
        self,
        match: str | None = None,
        details: bool | None = None,
        details_arg: str | None = None,
        forward_for: list[dict[str, Any]] | None = None,
        get_retained: bool | None = None,
        correlation_id: str | None = None,
        correlation_uri: str | None = None,
        correlation_is_anchor: bool | None = None,
        correlation_is_last: bool | None = None,
    ) -> None:
        _check_choice("match", match, tuple(Match))
        _check("details_arg", details_arg, str, "a keyword name")
        _check("get_retained", get_retained, bool, "a bool")
        self.match = match
        self.details = details
        self.details_arg = details_arg or ("details" if details else None)
        self.forward_for = forward_for
        self.get_retained = get_retained
        self.correlation_id = correlation_id
        self.correlation_uri = correlation_uri
        self.correlation_is_anchor = correlation_is_anchor
        self.correlation_is_last = correlation_is_last

    def message_attr(self) -> dict[str, Any]:
        """The SUBSCRIBE.Options dict for the wire."""
        return _wire(
            {
                "match": self.match,
                "get_retained": self.get_retained,
                "forward_for": self.forward_for,
            }
        )

    def __repr__(self) -> str:
        return f"SubscribeOptions({self.message_attr()!r}, details_arg={self.details_arg!r})"


class PublishOptions:
    """Options of a publication (Autobahn's ``PublishOptions``).

    Args:
        acknowledge: ask the broker to acknowledge; ``publish()`` then returns an
            awaitable resolving to a ``Publication`` (or failing with the error).
        exclude_me: whether the publisher is excluded from receiving it (default True).
        exclude: session ids that must not receive the event.
        exclude_authid: authids that must not receive the event.
        exclude_authrole: authroles that must not receive the event.
        eligible: only these session ids may receive it.
        eligible_authid: only these authids may receive it.
        eligible_authrole: only these authroles may receive it.
        retain: ask the broker to keep this event for later subscribers.
    """

    __slots__ = (
        "acknowledge",
        "correlation_id",
        "correlation_is_anchor",
        "correlation_is_last",
        "correlation_uri",
        "disclose_me",
        "eligible",
        "eligible_authid",
        "eligible_authrole",
        "exclude",
        "exclude_authid",
        "exclude_authrole",
        "exclude_me",
        "forward_for",
        "retain",
        "transaction_hash",
    )

    def __init__(
        self,
        acknowledge: bool | None = None,
        exclude_me: bool | None = None,
        exclude: int | list[int] | None = None,
        exclude_authid: str | list[str] | None = None,
        exclude_authrole: str | list[str] | None = None,
        eligible: int | list[int] | None = None,
        eligible_authid: str | list[str] | None = None,
        eligible_authrole: str | list[str] | None = None,
        retain: bool | None = None,
        forward_for: list[dict[str, Any]] | None = None,
        transaction_hash: str | None = None,
        correlation_id: str | None = None,
        correlation_uri: str | None = None,
        correlation_is_anchor: bool | None = None,
        correlation_is_last: bool | None = None,
        *,
        disclose_me: bool | None = None,
    ) -> None:
        for name, flag in (
            ("acknowledge", acknowledge),
            ("exclude_me", exclude_me),
            ("retain", retain),
            ("disclose_me", disclose_me),
        ):
            _check(name, flag, bool, "a bool")
        # Autobahn accepts a single value where a list is meant.
        exclude = [exclude] if isinstance(exclude, int) else exclude
        eligible = [eligible] if isinstance(eligible, int) else eligible
        exclude_authid = [exclude_authid] if isinstance(exclude_authid, str) else exclude_authid
        exclude_authrole = (
            [exclude_authrole] if isinstance(exclude_authrole, str) else exclude_authrole
        )
        eligible_authid = [eligible_authid] if isinstance(eligible_authid, str) else eligible_authid
        eligible_authrole = (
            [eligible_authrole] if isinstance(eligible_authrole, str) else eligible_authrole
        )
        _check_list("exclude", exclude, int, "session ids")
        _check_list("eligible", eligible, int, "session ids")
        _check_list("exclude_authid", exclude_authid, str, "strings")
        _check_list("exclude_authrole", exclude_authrole, str, "strings")
        _check_list("eligible_authid", eligible_authid, str, "strings")
        _check_list("eligible_authrole", eligible_authrole, str, "strings")
        self.acknowledge = acknowledge
        self.exclude_me = exclude_me
        self.exclude = exclude
        self.exclude_authid = exclude_authid
        self.exclude_authrole = exclude_authrole
        self.eligible = eligible
        self.eligible_authid = eligible_authid
        self.eligible_authrole = eligible_authrole
        self.retain = retain
        self.forward_for = forward_for
        self.transaction_hash = transaction_hash
        self.correlation_id = correlation_id
        self.correlation_uri = correlation_uri
        self.correlation_is_anchor = correlation_is_anchor
        self.correlation_is_last = correlation_is_last
        self.disclose_me = disclose_me

    def message_attr(self) -> dict[str, Any]:
        """The PUBLISH.Options dict for the wire."""
        lists = {
            "exclude": self.exclude,
            "exclude_authid": self.exclude_authid,
            "exclude_authrole": self.exclude_authrole,
            "eligible": self.eligible,
            "eligible_authid": self.eligible_authid,
            "eligible_authrole": self.eligible_authrole,
        }
        return _wire(
            {
                "acknowledge": self.acknowledge,
                "exclude_me": self.exclude_me,
                **{k: list(v) for k, v in lists.items() if v is not None},
                "retain": self.retain,
                "disclose_me": self.disclose_me,
                "transaction_hash": self.transaction_hash,
                "forward_for": self.forward_for,
            }
        )

    def __repr__(self) -> str:
        return f"PublishOptions({self.message_attr()!r})"


@dataclass(slots=True)
class CallDetails:
    """What a procedure learns about the call (Autobahn's ``CallDetails``).

    ``progress`` is a callable (``progress(*args, **kwargs)``) when the caller asked
    for progressive results, else ``None``.
    """

    registration: Any = None
    progress: Callable[..., Any] | None = None
    caller: int | None = None
    caller_authid: str | None = None
    caller_authrole: str | None = None
    procedure: str | None = None
    transaction_hash: str | None = None
    enc_algo: str | None = None
    forward_for: list[dict[str, Any]] | None = None


@dataclass(slots=True)
class EventDetails:
    """What a subscriber learns about an event (Autobahn's ``EventDetails``)."""

    subscription: Any = None
    publication: int | None = None
    publisher: int | None = None
    publisher_authid: str | None = None
    publisher_authrole: str | None = None
    topic: str | None = None
    retained: bool | None = None
    transaction_hash: str | None = None
    enc_algo: str | None = None
    forward_for: list[dict[str, Any]] | None = None
