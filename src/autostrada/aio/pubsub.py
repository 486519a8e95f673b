"""The publisher and subscriber roles of :class:`~autostrada.aio.session.Session`.

Publishing is fire-and-forget unless ``PublishOptions(acknowledge=True)`` asks for the
broker's answer. A subscriber's handlers are called for each EVENT as it arrives:
plain functions at once, in order; the awaitables that coroutine functions return
are awaited in order by one task per event (in ``_handler_tasks``), which then sends
EVENT_RECEIVED when the broker asked for acknowledged delivery. Those tasks are
cancelled when the session ends (but not one awaiting its own ``leave()``). Several
handlers may subscribe to one topic: they share the broker's subscription.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import Awaitable, Collection
from typing import TYPE_CHECKING, Any, cast

from autostrada import session as core
from autostrada.aio.role import Role
from autostrada.exceptions import InvalidState
from autostrada.request import Publication, Subscription
from autostrada.types import EventDetails, PublishOptions, RegisterOptions, SubscribeOptions
from autostrada.wamp import marks_of

if TYPE_CHECKING:
    from autostrada.aio.session import Session

__all__ = ["Publisher", "Subscriber"]

log = logging.getLogger("autostrada.session")

Pending = list[tuple[Awaitable[Any], Subscription]]
"""What an event's coroutine handlers returned, in order, with their subscriptions."""


class Publisher(Role):
    """The publisher role: :meth:`publish`."""

    def publish(
        self, topic: str, /, *args: Any, options: PublishOptions | None = None, **kwargs: Any
    ) -> asyncio.Future[Publication] | None:
        """Publish an event. Returns ``None``, or with ``acknowledge=True`` an awaitable
        resolving to a :class:`~autostrada.request.Publication` (or failing with the
        broker's error).
        """
        wire = options.message_attr() if options is not None else None
        try:
            request_id = self._core.publish(
                topic, list(args) if args else None, kwargs or None, wire
            )
        except InvalidState:
            self._require_joined("publish")  # SessionClosed once ended, else InvalidState
            raise
        self._flush(hold=request_id is None)  # unacknowledged: bursts share a write
        if request_id is None:
            return None
        return self._track(request_id, _publication)


def _publication(event: core.Published) -> Publication:
    return Publication(event.publication_id)


class Subscriber(Role):
    """The subscriber role: :meth:`subscribe`, and calling the handlers of each event."""

    def __init__(self) -> None:
        super().__init__()
        self._subscriptions: dict[int, list[Subscription]] = {}
        self._handler_tasks: set[asyncio.Task[None]] = set()

    async def subscribe(
        self,
        handler: Any,
        topic: str | None = None,
        options: SubscribeOptions | None = None,
        check_types: bool | None = None,
    ) -> Subscription | list[Subscription]:
        """Subscribe ``handler`` to ``topic``; or every ``@wamp.subscribe`` method of an object.

        Several handlers may subscribe to the same topic: they share the broker's
        subscription, and each gets its own :class:`~autostrada.request.Subscription`.
        """
        if not callable(handler) or (topic is None and marks_of(handler, "subscribe")):
            subscriptions = []
            for method, mark in marks_of(handler, "subscribe"):
                uri = mark.uri or method.__name__
                assert not isinstance(mark.options, RegisterOptions)
                sub = await self.subscribe(method, uri, mark.options)
                assert isinstance(sub, Subscription)
                subscriptions.append(sub)
            return subscriptions
        if topic is None:
            raise ValueError("subscribe: no topic given")
        self._require_joined("subscribe")
        wire = options.message_attr() if options is not None else {}
        request_id = self._core.subscribe(topic, wire)
        self._flush()
        settle = functools.partial(self._add_subscription, handler, topic, options)
        return await self._track(request_id, settle)

    def _add_subscription(
        self,
        handler: Any,
        topic: str,
        options: SubscribeOptions | None,
        event: core.Subscribed,
    ) -> Subscription:
        sub = Subscription(
            event.subscription_id,
            topic,
            cast("Session", self),  # a role only ever runs as part of a Session
            handler,
            match=(options.match if options else None) or "exact",
            details_arg=options.details_arg if options else None,
        )
        self._subscriptions.setdefault(event.subscription_id, []).append(sub)
        return sub

    async def _unsubscribe(self, sub: Subscription) -> None:
        if not sub.active:
            return
        sub.active = False
        handlers = self._subscriptions.get(sub.id, [])
        if sub in handlers:
            handlers.remove(sub)
        if handlers or not self.is_attached():
            return
        del self._subscriptions[sub.id]
        request_id = self._core.unsubscribe(sub.id)
        self._flush()
        await self._track(request_id, lambda _event: None)

    def _on_subscription_revoked(self, event: core.SubscriptionRevoked) -> None:
        for sub in self._subscriptions.pop(event.subscription_id, []):
            sub.active = False
        log.info("the router revoked subscription %s: %s", event.subscription_id, event.reason)

    def _end_subscriber(self, spare: Collection[asyncio.Task[Any]] = ()) -> None:
        """The session ended: the subscriptions are gone; cancel the running handlers.

        Args:
            spare: tasks not to cancel (handlers that are ending the session themselves).
        """
        # The router forgets our subscriptions with the session.
        for subs in self._subscriptions.values():
            for sub in subs:
                sub.active = False
        self._subscriptions.clear()
        running = [task for task in self._handler_tasks if task not in spare]
        if running:
            log.debug("the session ended: cancelling %d event handler task(s)", len(running))
            for task in running:
                task.cancel()

    # ------------------------------------------------------------------ events

    def _on_event(self, event: core.EventDelivered) -> None:
        self._unanswered = True  # nothing goes back for an event: ACK the read
        subs = self._subscriptions.get(event.subscription_id)
        if not subs:
            return
        pending: Pending = []
        details = event.details
        for sub in subs:
            kwargs = event.kwargs
            if sub.details_arg:
                kwargs = dict(kwargs or {})
                kwargs[sub.details_arg] = EventDetails(
                    subscription=sub,
                    publication=event.publication_id,
                    publisher=details.get("publisher"),
                    publisher_authid=details.get("publisher_authid"),
                    publisher_authrole=details.get("publisher_authrole"),
                    topic=details.get("topic", sub.topic),
                    retained=details.get("retained"),
                    transaction_hash=details.get("transaction_hash"),
                    forward_for=details.get("forward_for"),
                )
            try:
                result = sub.handler(*(event.args or ()), **(kwargs or {}))
            except Exception:
                log.exception("event handler %r for topic %s failed", sub.handler, sub.topic)
                continue
            if result is not None and inspect.isawaitable(result):
                pending.append((result, sub))
        if pending or event.acknowledge:
            task = self._loop.create_task(self._finish_event(pending, event))
            self._handler_tasks.add(task)
            task.add_done_callback(self._handler_tasks.discard)

    async def _finish_event(self, pending: Pending, event: core.EventDelivered) -> None:
        for index, (awaitable, sub) in enumerate(pending):
            try:
                await awaitable
            except Exception:
                log.exception("event handler %r for topic %s failed", sub.handler, sub.topic)
            except asyncio.CancelledError:  # the session ended
                for later, _ in pending[index + 1 :]:
                    _drop(later)
                raise
        if event.acknowledge and self._core.send_event_received(event.publication_id):
            self._flush_quietly("event acknowledgement")


def _drop(awaitable: Awaitable[Any]) -> None:
    """Dispose of a handler's awaitable that will not be awaited (no "never awaited" noise)."""
    if inspect.iscoroutine(awaitable):
        awaitable.close()
    elif asyncio.isfuture(awaitable):
        awaitable.cancel()
