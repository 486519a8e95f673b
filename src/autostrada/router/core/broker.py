"""The broker of one realm: subscriptions, publications, event fan-out, retention.

Spec: basic/publish_subscribe.md and the advanced PubSub features (pattern-based
subscription, subscriber black/whitelisting, publisher exclusion and identification,
event retention, subscription meta events) plus acknowledged event delivery as deployed
by Autobahn (DIVERGENCES.md).

Fan-out shares one :class:`~autostrada.messages.Event` object among all receivers of one
subscription (at most two: with and without ``x_acknowledged_delivery``), so a driver can
serialize it once per serializer. Returned messages must never be mutated.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from autostrada.exceptions import ApplicationError
from autostrada.ids import random_id
from autostrada.messages import (
    Event,
    MessageType,
    Publish,
    Published,
    Subscribe,
    Subscribed,
    Unsubscribe,
    Unsubscribed,
)
from autostrada.uri import uri_matches

from .authorizer import Action, Authorizer
from .config import RouterLimits
from .patterns import UriTable
from .replies import LIMIT_EXCEEDED, error_reply
from .session import Outgoing, RouterSession

__all__ = ["Broker", "Subscription", "publication_filter"]

_ACK_FEATURE = "x_acknowledged_event_delivery"
_PASSTHRU_KEYS = ("enc_algo", "enc_serializer", "enc_key")


class Subscription:
    """One subscription: a ``(topic, match)`` shared by all its subscribers (spec)."""

    __slots__ = ("created", "id", "match", "subscribers", "uri")

    def __init__(self, subscription_id: int, uri: str, match: str, created: str) -> None:
        self.id = subscription_id
        self.uri = uri
        self.match = match
        self.created = created
        # An ordered set: dispatch order is subscription order.
        self.subscribers: dict[RouterSession, None] = {}

    def details(self) -> dict[str, Any]:
        """``SubscriptionDetails`` of the meta API."""
        return {"id": self.id, "created": self.created, "uri": self.uri, "match": self.match}


class _Filter:
    """Subscriber black/whitelisting of one publication (spec pubsub_bw_listing)."""

    __slots__ = ("checks",)

    def __init__(self, options: dict[str, Any]) -> None:
        self.checks: list[tuple[str, bool, frozenset[Any]]] = []
        for key, attribute, eligible in (
            ("eligible", "session_id", True),
            ("eligible_authid", "authid", True),
            ("eligible_authrole", "authrole", True),
            ("exclude", "session_id", False),
            ("exclude_authid", "authid", False),
            ("exclude_authrole", "authrole", False),
        ):
            values = options.get(key)
            if values is not None:
                self.checks.append((attribute, eligible, frozenset(values)))

    def __call__(self, session: RouterSession) -> bool:
        return all(
            (getattr(session, attribute) in values) is eligible
            for attribute, eligible, values in self.checks
        )


def publication_filter(options: dict[str, Any]) -> Callable[[RouterSession], bool] | None:
    """Return the receiver filter of a publication's options, or ``None`` if unfiltered."""
    filt = _Filter(options)
    return filt if filt.checks else None


class _Retained:
    """The retained event of one topic (spec pubsub_event_retention.md)."""

    __slots__ = (
        "args",
        "details",
        "excluded",
        "filter",
        "kwargs",
        "payload",
        "publication_id",
        "topic",
    )

    def __init__(
        self,
        topic: str,
        publication_id: int,
        details: dict[str, Any],
        message: Publish,
        excluded: int | None,
        filt: Callable[[RouterSession], bool] | None,
    ) -> None:
        self.topic = topic
        self.publication_id = publication_id
        self.details = details
        self.args = message.args
        self.kwargs = message.kwargs
        self.payload = message.payload
        self.excluded = excluded  # the publisher's session id when it excluded itself
        self.filter = filt

    def eligible(self, session: RouterSession) -> bool:
        # "MUST NOT send the Subscriber a Retained Event that they would not be eligible
        # to receive if they were subscribing when it was published."
        if self.excluded == session.session_id:
            return False
        return self.filter is None or self.filter(session)


class Broker:
    """Subscriptions and publications of one realm."""

    def __init__(
        self, authorizer: Authorizer, limits: RouterLimits, clock: Callable[[float], str]
    ) -> None:
        self._authorizer = authorizer
        self._limits = limits
        self._clock = clock
        self.table: UriTable[Subscription] = UriTable()
        self.by_id: dict[int, Subscription] = {}
        # topic -> retained event, least recently published first (bounded).
        self.retained: dict[str, _Retained] = {}

    # ----------------------------------------------------------------------------------
    # SUBSCRIBE / UNSUBSCRIBE

    def subscribe(self, session: RouterSession, message: Subscribe, now: float) -> Outgoing:
        """Handle SUBSCRIBE: SUBSCRIBED (plus retained events) or ERROR."""
        options = message.options
        match = options.get("match", "exact")
        uri = message.topic
        if not self._authorizer.allows(session.authrole, uri, Action.SUBSCRIBE):
            return [
                error_reply(
                    session,
                    MessageType.SUBSCRIBE,
                    message.request_id,
                    ApplicationError.NOT_AUTHORIZED,
                    f"session is not authorized to subscribe to {uri!r}",
                )
            ]
        subscription = self.table.get(uri, match)
        if subscription is not None and session in subscription.subscribers:
            # Spec: a repeated SUBSCRIBE gets the existing subscription id.
            out: Outgoing = [(session, Subscribed(message.request_id, subscription.id))]
            if options.get("get_retained") is True:
                out.extend(self._retained_for(session, subscription))
            return out
        if len(session.subscriptions) >= self._limits.max_subscriptions_per_session:
            return [
                error_reply(
                    session,
                    MessageType.SUBSCRIBE,
                    message.request_id,
                    LIMIT_EXCEEDED,
                    f"a session may hold at most {self._limits.max_subscriptions_per_session}"
                    " subscriptions (RouterLimits.max_subscriptions_per_session)",
                )
            ]
        created = subscription is None
        if subscription is None:
            subscription_id = random_id()
            while subscription_id in self.by_id:  # pragma: no cover - 1 in 2**53
                subscription_id = random_id()
            subscription = Subscription(subscription_id, uri, match, self._clock(now))
            self.table.add(uri, match, subscription)
            self.by_id[subscription_id] = subscription
        subscription.subscribers[session] = None
        session.subscriptions[subscription.id] = subscription
        out = [(session, Subscribed(message.request_id, subscription.id))]
        if options.get("get_retained") is True:
            out.extend(self._retained_for(session, subscription))
        # Meta events follow the reply; none for the meta topics themselves (as Crossbar).
        if not uri.startswith("wamp."):
            if created:
                out.extend(
                    self.publish_meta(
                        "wamp.subscription.on_create",
                        [session.session_id, subscription.details()],
                    )
                )
            out.extend(
                self.publish_meta(
                    "wamp.subscription.on_subscribe", [session.session_id, subscription.id]
                )
            )
        return out

    def unsubscribe(self, session: RouterSession, message: Unsubscribe) -> Outgoing:
        """Handle UNSUBSCRIBE: UNSUBSCRIBED or ERROR ``wamp.error.no_such_subscription``."""
        subscription = session.subscriptions.get(message.subscription_id)
        if subscription is None:
            return [
                error_reply(
                    session,
                    MessageType.UNSUBSCRIBE,
                    message.request_id,
                    ApplicationError.NO_SUCH_SUBSCRIPTION,
                    f"session has no subscription {message.subscription_id}",
                )
            ]
        out: Outgoing = [(session, Unsubscribed(message.request_id))]
        out.extend(self._drop(session, subscription))
        return out

    def remove_session(self, session: RouterSession) -> Outgoing:
        """Drop every subscription of a session that ended; return the meta events."""
        out: Outgoing = []
        for subscription in list(session.subscriptions.values()):
            out.extend(self._drop(session, subscription))
        return out

    def _drop(self, session: RouterSession, subscription: Subscription) -> Outgoing:
        del subscription.subscribers[session]
        del session.subscriptions[subscription.id]
        deleted = not subscription.subscribers
        if deleted:
            self.table.remove(subscription.uri, subscription.match)
            del self.by_id[subscription.id]
        if subscription.uri.startswith("wamp."):
            return []
        out = self.publish_meta(
            "wamp.subscription.on_unsubscribe", [session.session_id, subscription.id]
        )
        if deleted:
            out.extend(
                self.publish_meta(
                    "wamp.subscription.on_delete", [session.session_id, subscription.id]
                )
            )
        return out

    def _retained_for(self, session: RouterSession, subscription: Subscription) -> Outgoing:
        if subscription.match == "exact":
            found = self.retained.get(subscription.uri)
            candidates = [] if found is None else [found]
        else:
            # A pattern subscription gets the retained event of every matching topic.
            candidates = [
                r
                for topic, r in self.retained.items()
                if uri_matches(subscription.uri, subscription.match, topic)
            ]
        out: Outgoing = []
        for retained in candidates:
            if not retained.eligible(session):
                continue
            details = {**retained.details, "retained": True}
            if subscription.match != "exact":
                details["topic"] = retained.topic
            event = Event(
                subscription.id,
                retained.publication_id,
                details,
                retained.args,
                retained.kwargs,
                retained.payload,
            )
            out.append((session, event))
        return out

    # ----------------------------------------------------------------------------------
    # PUBLISH

    def publish(self, session: RouterSession, message: Publish) -> Outgoing:
        """Handle PUBLISH: PUBLISHED (if acknowledged), then the EVENTs."""
        options = message.options
        acknowledge = options.get("acknowledge") is True
        topic = message.topic
        if topic.startswith("wamp."):
            # The wamp.* topics carry the router's meta events (as Crossbar restricts them).
            if not acknowledge:
                return []
            return [
                error_reply(
                    session,
                    MessageType.PUBLISH,
                    message.request_id,
                    ApplicationError.INVALID_URI,
                    f"topic {topic!r} is reserved for the router (wamp.*)",
                )
            ]
        permission = self._authorizer.permission(session.authrole, topic)
        if permission is None or not permission.publish:
            if not acknowledge:
                return []
            return [
                error_reply(
                    session,
                    MessageType.PUBLISH,
                    message.request_id,
                    ApplicationError.NOT_AUTHORIZED,
                    f"session is not authorized to publish to {topic!r}",
                )
            ]
        publication_id = random_id()
        out: Outgoing = []
        if acknowledge:  # acknowledge before dispatching, as Crossbar does
            out.append((session, Published(message.request_id, publication_id)))
        details: dict[str, Any] = {}
        if permission.disclose_publisher or options.get("disclose_me") is True:
            details["publisher"] = session.session_id
            details["publisher_authid"] = session.authid
            details["publisher_authrole"] = session.authrole
        if "enc_algo" in options:
            for key in _PASSTHRU_KEYS:
                if key in options:
                    details[key] = options[key]
        excluded = session if options.get("exclude_me") is not False else None
        filt = publication_filter(options)
        if options.get("retain") is True:
            self._retain(topic, publication_id, details, message, excluded, filt)
        self._dispatch(out, topic, publication_id, details, message, excluded, filt, acknowledge)
        return out

    def publish_testament(
        self,
        session: RouterSession,
        topic: str,
        args: list[Any],
        kwargs: dict[str, Any],
        options: dict[str, Any],
    ) -> Outgoing:
        """Publish a testament of a session that ended (authorized when it was added)."""
        message = Publish(0, options, topic, args or None, kwargs or None)
        details: dict[str, Any] = {}
        if options.get("disclose_me") is True:
            details["publisher"] = session.session_id
            details["publisher_authid"] = session.authid
            details["publisher_authrole"] = session.authrole
        filt = publication_filter(options)
        publication_id = random_id()
        if options.get("retain") is True:
            self._retain(topic, publication_id, details, message, None, filt)
        out: Outgoing = []
        self._dispatch(out, topic, publication_id, details, message, None, filt, False)
        return out

    def publish_meta(
        self, topic: str, args: list[Any], kwargs: dict[str, Any] | None = None
    ) -> Outgoing:
        """Publish a meta event from the router itself (no publisher, no filter)."""
        if not self.table.could_match(topic):
            return []  # nobody listens: the common case costs one dict lookup
        out: Outgoing = []
        message = Publish(0, {}, topic, args, kwargs)
        self._dispatch(out, topic, random_id(), {}, message, None, None, False)
        return out

    def _retain(
        self,
        topic: str,
        publication_id: int,
        details: dict[str, Any],
        message: Publish,
        excluded: RouterSession | None,
        filt: Callable[[RouterSession], bool] | None,
    ) -> None:
        retained = self.retained
        retained.pop(topic, None)
        excluded_id = None if excluded is None else excluded.session_id
        retained[topic] = _Retained(topic, publication_id, details, message, excluded_id, filt)
        if len(retained) > self._limits.max_retained_topics:
            del retained[next(iter(retained))]  # the least recently published topic

    def _dispatch(
        self,
        out: Outgoing,
        topic: str,
        publication_id: int,
        details: dict[str, Any],
        message: Publish,
        excluded: RouterSession | None,
        filt: Callable[[RouterSession], bool] | None,
        acknowledge: bool,
    ) -> None:
        args, kwargs, payload = message.args, message.kwargs, message.payload
        for subscription in self.table.matches(topic):
            # Spec "Pattern-based Subscription": pattern subscribers get the concrete topic.
            sub_details = details if subscription.match == "exact" else {**details, "topic": topic}
            event: Event | None = None
            acked: Event | None = None
            for receiver in subscription.subscribers:
                if receiver is excluded or (filt is not None and not filt(receiver)):
                    continue
                if acknowledge and (
                    receiver.supports("subscriber", _ACK_FEATURE)
                    or receiver.supports("publisher", _ACK_FEATURE)  # where Autobahn puts it
                ):
                    if acked is None:
                        acked_details = {**sub_details, "x_acknowledged_delivery": True}
                        acked = Event(
                            subscription.id, publication_id, acked_details, args, kwargs, payload
                        )
                    out.append((receiver, acked))
                    continue
                if event is None:
                    event = Event(
                        subscription.id, publication_id, sub_details, args, kwargs, payload
                    )
                out.append((receiver, event))
