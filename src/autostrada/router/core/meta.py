"""The WAMP meta API of a realm: procedures the router answers itself, and testaments.

Spec: advanced/meta_api_sessions.md, meta_api_registrations.md,
meta_api_subscriptions.md and pubsub_testament.md. Argument and result shapes follow
the spec; where it is vague they follow Crossbar's ``RouterServiceAgent``:

* ``wamp.session.get`` returns ``{session, realm, authid, authrole, authmethod,
  authprovider, authextra?, transport}`` (``transport``: the scalar items of the
  driver's transport info).
* ``wamp.session.on_leave`` carries the session id only (as Crossbar; the spec text
  lists authid and authrole too, which would break deployed one-argument handlers).
* ``wamp.registration.list``/``wamp.subscription.list`` accept an optional session id.
* ``wamp.session.flush_testaments`` returns the number of testaments removed
  (Crossbar; the spec says "no value"), ``add_testament`` returns nothing (spec).

Meta procedures are authorized like any call (``call`` permission on their URI), and
are looked up before registrations, which can never use ``wamp.*`` URIs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias

from autostrada.exceptions import ApplicationError, ProtocolError
from autostrada.fields import PUBLISH_OPTIONS, check_dict
from autostrada.messages import Call, MessageType, Result
from autostrada.uri import is_valid_uri

from .authorizer import Action
from .replies import LIMIT_EXCEEDED, TESTAMENT_ERROR, error_reply
from .session import Outgoing, RouterSession

if TYPE_CHECKING:
    from .realm import Realm

__all__ = ["PROCEDURES", "MetaApi", "MetaError"]

_MISSING: Any = object()
_SCOPES = ("detached", "destroyed")


class MetaError(Exception):
    """A meta procedure's ERROR answer: ``error`` URI and a text."""

    def __init__(self, error: str, text: str) -> None:
        super().__init__(error, text)
        self.error = error
        self.text = text


def _arg(
    args: list[Any],
    kwargs: dict[str, Any],
    index: int,
    name: str,
    kind: type | tuple[type, ...],
    default: Any = _MISSING,
) -> Any:
    """Argument ``name`` (position ``index`` or keyword), checked against ``kind``."""
    if index < len(args):
        value = args[index]
    elif name in kwargs:
        value = kwargs[name]
    elif default is not _MISSING:
        return default
    else:
        raise MetaError(ApplicationError.INVALID_ARGUMENT, f"missing argument {name!r}")
    if value is None and default is None:
        return None
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if type(value) not in kinds:
        expected = " or ".join(k.__name__ for k in kinds)
        raise MetaError(
            ApplicationError.INVALID_ARGUMENT,
            f"argument {name!r} must be {expected}, got {type(value).__name__}",
        )
    return value


def _close_reason(args: list[Any], kwargs: dict[str, Any], index: int) -> tuple[str, str | None]:
    reason = _arg(args, kwargs, index, "reason", str, None) or ApplicationError.KILLED
    if not is_valid_uri(reason):
        raise MetaError(ApplicationError.INVALID_URI, f"reason {reason!r} is not a valid URI")
    text = _arg(args, kwargs, index + 1, "message", str, None)
    return reason, text


Handler: TypeAlias = Callable[
    ["MetaApi", RouterSession, list[Any], dict[str, Any], float], tuple[list[Any], Outgoing]
]
PROCEDURES: dict[str, Handler] = {}


def _procedure(uri: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        PROCEDURES[uri] = handler
        return handler

    return register


class MetaApi:
    """Meta procedures of one realm."""

    def __init__(self, realm: Realm) -> None:
        self.realm = realm

    def call(self, session: RouterSession, message: Call, now: float) -> Outgoing | None:
        """Answer a CALL to a meta procedure; ``None`` if ``message`` is not one."""
        handler = PROCEDURES.get(message.procedure)
        if handler is None:
            return None
        try:
            result, extra = handler(self, session, message.args or [], message.kwargs or {}, now)
        except MetaError as exc:
            return [error_reply(session, MessageType.CALL, message.request_id, exc.error, exc.text)]
        out: Outgoing = [(session, Result(message.request_id, {}, result or None))]
        out.extend(extra)
        return out

    # ----------------------------------------------------------------------------------
    # helpers

    def _sessions(self, args: list[Any], kwargs: dict[str, Any]) -> list[RouterSession]:
        roles = _arg(args, kwargs, 0, "filter_authroles", list, None)
        sessions = list(self.realm.sessions.values())
        if roles is None:
            return sessions
        return [s for s in sessions if s.authrole in roles]

    def _other_session(self, caller: RouterSession, session_id: int) -> RouterSession:
        target = self.realm.sessions.get(session_id)
        if target is None or target is caller:
            # Spec: killing one's own session is "no such session" (no *other* session).
            raise MetaError(
                ApplicationError.NO_SUCH_SESSION, f"no session with id {session_id} in this realm"
            )
        return target

    def _kill(
        self, targets: list[RouterSession], reason: str, text: str | None, now: float
    ) -> Outgoing:
        # Ending one session never ends another established one, so the list stays valid.
        out: Outgoing = []
        for target in targets:
            out.extend(self.realm.kill(target, reason, text, now))
        return out

    def testaments(self, session: RouterSession) -> Outgoing:
        """Publish the testaments of a session that ended: ``detached`` then ``destroyed``.

        Spec pubsub_testament.md: without session resumption a session is detached and
        destroyed at once; the ``detached`` scope is published first. Crossbar publishes
        them on every end of a session, a clean GOODBYE included, and so do we.
        """
        out: Outgoing = []
        for scope in _SCOPES:
            for topic, args, kwargs, options in session.testaments[scope]:
                out.extend(
                    self.realm.broker.publish_testament(session, topic, args, kwargs, options)
                )
            session.testaments[scope] = []
        return out


# --------------------------------------------------------------------------------------
# wamp.session.*


@_procedure("wamp.session.count")
def _session_count(
    api: MetaApi, session: RouterSession, args: list[Any], kwargs: dict[str, Any], now: float
) -> tuple[list[Any], Outgoing]:
    return [len(api._sessions(args, kwargs))], []


@_procedure("wamp.session.list")
def _session_list(
    api: MetaApi, session: RouterSession, args: list[Any], kwargs: dict[str, Any], now: float
) -> tuple[list[Any], Outgoing]:
    return [[s.session_id for s in api._sessions(args, kwargs)]], []


@_procedure("wamp.session.get")
def _session_get(
    api: MetaApi, session: RouterSession, args: list[Any], kwargs: dict[str, Any], now: float
) -> tuple[list[Any], Outgoing]:
    session_id = _arg(args, kwargs, 0, "session_id", int)
    target = api.realm.sessions.get(session_id)
    if target is None:
        raise MetaError(
            ApplicationError.NO_SUCH_SESSION, f"no session with id {session_id} in this realm"
        )
    return [target.identity()], []


@_procedure("wamp.session.kill")
def _session_kill(
    api: MetaApi, session: RouterSession, args: list[Any], kwargs: dict[str, Any], now: float
) -> tuple[list[Any], Outgoing]:
    target = api._other_session(session, _arg(args, kwargs, 0, "session_id", int))
    reason, text = _close_reason(args, kwargs, 1)
    return [], api._kill([target], reason, text, now)


@_procedure("wamp.session.kill_by_authid")
def _session_kill_by_authid(
    api: MetaApi, session: RouterSession, args: list[Any], kwargs: dict[str, Any], now: float
) -> tuple[list[Any], Outgoing]:
    authid = _arg(args, kwargs, 0, "authid", str)
    reason, text = _close_reason(args, kwargs, 1)
    targets = [s for s in api.realm.sessions.values() if s.authid == authid and s is not session]
    return [[s.session_id for s in targets]], api._kill(targets, reason, text, now)


@_procedure("wamp.session.kill_by_authrole")
def _session_kill_by_authrole(
    api: MetaApi, session: RouterSession, args: list[Any], kwargs: dict[str, Any], now: float
) -> tuple[list[Any], Outgoing]:
    authrole = _arg(args, kwargs, 0, "authrole", str)
    reason, text = _close_reason(args, kwargs, 1)
    targets = [
        s for s in api.realm.sessions.values() if s.authrole == authrole and s is not session
    ]
    return [len(targets)], api._kill(targets, reason, text, now)


@_procedure("wamp.session.kill_all")
def _session_kill_all(
    api: MetaApi, session: RouterSession, args: list[Any], kwargs: dict[str, Any], now: float
) -> tuple[list[Any], Outgoing]:
    reason, text = _close_reason(args, kwargs, 0)
    targets = [s for s in api.realm.sessions.values() if s is not session]
    return [len(targets)], api._kill(targets, reason, text, now)


def _scope(args: list[Any], kwargs: dict[str, Any], index: int) -> str:
    scope = _arg(args, kwargs, index, "scope", str, None) or "destroyed"
    if scope not in _SCOPES:
        raise MetaError(TESTAMENT_ERROR, "scope must be destroyed or detached")
    return scope


@_procedure("wamp.session.add_testament")
def _add_testament(
    api: MetaApi, session: RouterSession, args: list[Any], kwargs: dict[str, Any], now: float
) -> tuple[list[Any], Outgoing]:
    topic = _arg(args, kwargs, 0, "topic", str)
    event_args = _arg(args, kwargs, 1, "args", list, None) or []
    event_kwargs = _arg(args, kwargs, 2, "kwargs", dict, None) or {}
    options = dict(_arg(args, kwargs, 3, "publish_options", dict, None) or {})
    scope = _scope(args, kwargs, 4)
    if not is_valid_uri(topic) or topic.startswith("wamp."):
        raise MetaError(
            ApplicationError.INVALID_URI, f"{topic!r} is not a topic one may publish to"
        )
    try:
        check_dict(options, "publish_options", PUBLISH_OPTIONS)
    except ProtocolError as exc:
        raise MetaError(ApplicationError.INVALID_ARGUMENT, str(exc)) from None
    # Authorized now, as if the session published it now: a testament is published by
    # the router later, and must not let a session reach topics it may not publish to.
    if not api.realm.authorizer.allows(session.authrole, topic, Action.PUBLISH):
        raise MetaError(
            ApplicationError.NOT_AUTHORIZED, f"session is not authorized to publish to {topic!r}"
        )
    limit = api.realm.limits.max_testaments_per_session
    if sum(len(kept) for kept in session.testaments.values()) >= limit:
        raise MetaError(
            LIMIT_EXCEEDED,
            f"a session may hold at most {limit} testaments"
            " (RouterLimits.max_testaments_per_session)",
        )
    for ignored in ("acknowledge", "exclude_me"):  # meaningless for a testament
        options.pop(ignored, None)
    session.testaments[scope].append((topic, event_args, event_kwargs, options))
    return [], []


@_procedure("wamp.session.flush_testaments")
def _flush_testaments(
    api: MetaApi, session: RouterSession, args: list[Any], kwargs: dict[str, Any], now: float
) -> tuple[list[Any], Outgoing]:
    scope = _scope(args, kwargs, 0)
    flushed = len(session.testaments[scope])
    session.testaments[scope] = []
    return [flushed], []


# --------------------------------------------------------------------------------------
# wamp.registration.* and wamp.subscription.*


def _by_match(items: Any) -> dict[str, list[int]]:
    lists: dict[str, list[int]] = {"exact": [], "prefix": [], "wildcard": []}
    for item in items:
        lists[item.match].append(item.id)
    return lists


def _owner_items(api: MetaApi, args: list[Any], kwargs: dict[str, Any], attribute: str) -> Any:
    session_id = _arg(args, kwargs, 0, "session_id", int, None)
    if session_id is None:
        return None
    owner = api.realm.sessions.get(session_id)
    if owner is None:
        raise MetaError(
            ApplicationError.NO_SUCH_SESSION, f"no session with id {session_id} in this realm"
        )
    return getattr(owner, attribute).values()


@_procedure("wamp.registration.list")
def _registration_list(
    api: MetaApi, session: RouterSession, args: list[Any], kwargs: dict[str, Any], now: float
) -> tuple[list[Any], Outgoing]:
    items = _owner_items(api, args, kwargs, "registrations")
    return [_by_match(api.realm.dealer.by_id.values() if items is None else items)], []


@_procedure("wamp.subscription.list")
def _subscription_list(
    api: MetaApi, session: RouterSession, args: list[Any], kwargs: dict[str, Any], now: float
) -> tuple[list[Any], Outgoing]:
    items = _owner_items(api, args, kwargs, "subscriptions")
    return [_by_match(api.realm.broker.by_id.values() if items is None else items)], []


def _lookup_options(args: list[Any], kwargs: dict[str, Any]) -> str:
    options = _arg(args, kwargs, 1, "options", dict, None) or {}
    match = options.get("match", "exact")
    if match not in ("exact", "prefix", "wildcard"):
        raise MetaError(ApplicationError.INVALID_ARGUMENT, f"unknown match policy {match!r}")
    return str(match)


@_procedure("wamp.registration.lookup")
def _registration_lookup(
    api: MetaApi, session: RouterSession, args: list[Any], kwargs: dict[str, Any], now: float
) -> tuple[list[Any], Outgoing]:
    procedure = _arg(args, kwargs, 0, "procedure", str)
    found = api.realm.dealer.table.get(procedure, _lookup_options(args, kwargs))
    return [None if found is None else found.id], []


@_procedure("wamp.subscription.lookup")
def _subscription_lookup(
    api: MetaApi, session: RouterSession, args: list[Any], kwargs: dict[str, Any], now: float
) -> tuple[list[Any], Outgoing]:
    topic = _arg(args, kwargs, 0, "topic", str)
    found = api.realm.broker.table.get(topic, _lookup_options(args, kwargs))
    return [None if found is None else found.id], []


@_procedure("wamp.registration.match")
def _registration_match(
    api: MetaApi, session: RouterSession, args: list[Any], kwargs: dict[str, Any], now: float
) -> tuple[list[Any], Outgoing]:
    found = api.realm.dealer.table.best(_arg(args, kwargs, 0, "procedure", str))
    return [None if found is None else found.id], []


@_procedure("wamp.subscription.match")
def _subscription_match(
    api: MetaApi, session: RouterSession, args: list[Any], kwargs: dict[str, Any], now: float
) -> tuple[list[Any], Outgoing]:
    found = api.realm.broker.table.matches(_arg(args, kwargs, 0, "topic", str))
    return [[s.id for s in found] or None], []


def _registration(api: MetaApi, args: list[Any], kwargs: dict[str, Any]) -> Any:
    registration_id = _arg(args, kwargs, 0, "registration_id", int)
    registration = api.realm.dealer.by_id.get(registration_id)
    if registration is None:
        raise MetaError(
            ApplicationError.NO_SUCH_REGISTRATION, f"no registration with id {registration_id}"
        )
    return registration


def _subscription(api: MetaApi, args: list[Any], kwargs: dict[str, Any]) -> Any:
    subscription_id = _arg(args, kwargs, 0, "subscription_id", int)
    subscription = api.realm.broker.by_id.get(subscription_id)
    if subscription is None:
        raise MetaError(
            ApplicationError.NO_SUCH_SUBSCRIPTION, f"no subscription with id {subscription_id}"
        )
    return subscription


@_procedure("wamp.registration.get")
def _registration_get(
    api: MetaApi, session: RouterSession, args: list[Any], kwargs: dict[str, Any], now: float
) -> tuple[list[Any], Outgoing]:
    return [_registration(api, args, kwargs).details()], []


@_procedure("wamp.subscription.get")
def _subscription_get(
    api: MetaApi, session: RouterSession, args: list[Any], kwargs: dict[str, Any], now: float
) -> tuple[list[Any], Outgoing]:
    return [_subscription(api, args, kwargs).details()], []


@_procedure("wamp.registration.list_callees")
def _registration_list_callees(
    api: MetaApi, session: RouterSession, args: list[Any], kwargs: dict[str, Any], now: float
) -> tuple[list[Any], Outgoing]:
    registration = _registration(api, args, kwargs)
    return [[callee.session.session_id for callee in registration.callees]], []


@_procedure("wamp.registration.count_callees")
def _registration_count_callees(
    api: MetaApi, session: RouterSession, args: list[Any], kwargs: dict[str, Any], now: float
) -> tuple[list[Any], Outgoing]:
    return [len(_registration(api, args, kwargs).callees)], []


@_procedure("wamp.subscription.list_subscribers")
def _subscription_list_subscribers(
    api: MetaApi, session: RouterSession, args: list[Any], kwargs: dict[str, Any], now: float
) -> tuple[list[Any], Outgoing]:
    subscription = _subscription(api, args, kwargs)
    return [[s.session_id for s in subscription.subscribers]], []


@_procedure("wamp.subscription.count_subscribers")
def _subscription_count_subscribers(
    api: MetaApi, session: RouterSession, args: list[Any], kwargs: dict[str, Any], now: float
) -> tuple[list[Any], Outgoing]:
    return [len(_subscription(api, args, kwargs).subscribers)], []
