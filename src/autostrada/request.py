"""Handles for what a session did: a publication, a subscription, a registration.

Same names and attributes as ``autobahn.wamp.request``, so ported code that keeps
``sub = await session.subscribe(...)`` and later calls ``await sub.unsubscribe()``
works unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autostrada.aio.session import Session

__all__ = ["Publication", "Registration", "Subscription"]


class Publication:
    """An acknowledged publication: ``id`` is the broker's publication id."""

    __slots__ = ("id", "was_encrypted")

    def __init__(self, publication_id: int, was_encrypted: bool = False) -> None:
        self.id = publication_id
        self.was_encrypted = was_encrypted

    def __repr__(self) -> str:
        return f"Publication(id={self.id})"


class Subscription:
    """One handler subscribed to a topic. Several handlers may share one broker subscription.

    Attributes:
        id: the broker's subscription id.
        topic: the topic (or pattern) subscribed to.
        handler: the function called for each event.
        active: False once unsubscribed (by us or revoked by the router).
    """

    __slots__ = ("active", "details_arg", "handler", "id", "match", "session", "topic")

    def __init__(
        self,
        subscription_id: int,
        topic: str,
        session: Session,
        handler: Callable[..., Any],
        match: str = "exact",
        details_arg: str | None = None,
    ) -> None:
        self.id = subscription_id
        self.topic = topic
        self.session = session
        self.handler = handler
        self.match = match
        self.details_arg = details_arg
        self.active = True

    async def unsubscribe(self) -> None:
        """Remove this handler; the broker subscription ends with its last handler."""
        await self.session._unsubscribe(self)

    def __repr__(self) -> str:
        return f"Subscription(id={self.id}, topic={self.topic!r}, active={self.active})"


class Registration:
    """A procedure registered by this session.

    Attributes:
        id: the dealer's registration id.
        procedure: the procedure URI (or pattern).
        endpoint: the function called for each invocation.
        active: False once unregistered (by us or revoked by the router).
    """

    __slots__ = ("active", "details_arg", "endpoint", "id", "procedure", "session")

    def __init__(
        self,
        session: Session,
        registration_id: int,
        procedure: str,
        endpoint: Callable[..., Any],
        details_arg: str | None = None,
    ) -> None:
        self.session = session
        self.id = registration_id
        self.procedure = procedure
        self.endpoint = endpoint
        self.details_arg = details_arg
        self.active = True

    async def unregister(self) -> None:
        """Unregister the procedure."""
        await self.session._unregister(self)

    def __repr__(self) -> str:
        return f"Registration(id={self.id}, procedure={self.procedure!r}, active={self.active})"
