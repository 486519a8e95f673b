"""A realm: its sessions, broker, dealer, meta API and authorizer.

The router hands every message of an established session to :meth:`Realm.dispatch`,
which routes it through a ``{message class: handler}`` table.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from types import MethodType
from typing import Any

from autostrada.exceptions import ProtocolError
from autostrada.messages import (
    Call,
    Cancel,
    Error,
    EventReceived,
    Goodbye,
    Message,
    MessageType,
    Publish,
    Register,
    Subscribe,
    Unregister,
    Unsubscribe,
    Yield,
)

from .authorizer import Authorizer
from .broker import Broker
from .config import RealmConfig, RouterLimits
from .dealer import Dealer
from .meta import MetaApi
from .session import Outgoing, RouterSession

__all__ = ["Realm"]

_Handler = Callable[["Realm", RouterSession, Any, float], Outgoing]
Handler = Callable[[RouterSession, Any, float], Outgoing]
"""A handler bound to its realm: ``(session, message, now) -> Outgoing``."""


class Realm:
    """One realm of the router.

    Attributes:
        name: the realm URI.
        config: its :class:`RealmConfig`.
        sessions: established sessions by session id.
        authorizer, broker, dealer, meta: the realm's parts.
        handlers: message class -> bound handler, for every message an established
            session may send to the realm (the router calls them directly: this is
            the path of every CALL and YIELD).
    """

    def __init__(
        self,
        config: RealmConfig,
        limits: RouterLimits,
        clock: Callable[[float], str],
        rng: random.Random,
        close_session: Callable[[RouterSession, float], Outgoing],
    ) -> None:
        self.name = config.name
        self.config = config
        self.limits = limits
        self.sessions: dict[int, RouterSession] = {}
        self.authorizer = Authorizer(config.roles)
        self.broker = Broker(self.authorizer, limits, clock)
        self.meta = MetaApi(self)
        self.dealer = Dealer(
            self.authorizer, limits, clock, self.broker.publish_meta, self.meta.call, rng
        )
        self._close_session = close_session
        self.handlers: dict[type[Message], Handler] = {
            cls: MethodType(handler, self) for cls, handler in _HANDLERS.items()
        }
        # The hottest ones go straight to the dealer, one call less per message.
        self.handlers[Call] = self.dealer.call
        self.handlers[Yield] = self.dealer.yield_

    # ----------------------------------------------------------------------------------
    # Joining and leaving

    def join(self, session: RouterSession) -> Outgoing:
        """Add a session that was just welcomed; return the ``on_join`` meta event."""
        self.sessions[session.session_id] = session
        session.realm = self
        return self.broker.publish_meta("wamp.session.on_join", [session.identity()])

    def leave(self, session: RouterSession, now: float) -> Outgoing:
        """Clean up after a session that ended, however it ended (the router calls this).

        Order: calls/invocations/registrations (dealer), subscriptions (broker), then the
        testaments, then ``wamp.session.on_leave``. Nothing is sent to ``session``.
        """
        del self.sessions[session.session_id]
        out = self.dealer.remove_session(session, now)
        out.extend(self.broker.remove_session(session))
        out.extend(self.meta.testaments(session))
        out.extend(self.broker.publish_meta("wamp.session.on_leave", [session.session_id]))
        return out

    def kill(
        self, session: RouterSession, reason: str, message: str | None, now: float
    ) -> Outgoing:
        """End ``session`` from the router side: GOODBYE, then close the transport.

        The router does not wait for the peer's GOODBYE reply: the session is cleaned up
        at once and marked closing, so the driver sends the GOODBYE and closes.
        """
        details = {} if message is None else {"message": message}
        out: Outgoing = [(session, Goodbye(details, reason))]
        out.extend(self._close_session(session, now))
        return out

    # ----------------------------------------------------------------------------------
    # Messages of established sessions

    def dispatch(self, session: RouterSession, message: Message, now: float) -> Outgoing:
        """Handle one message from an established session of this realm.

        Raises:
            ProtocolError: the message breaks the protocol; the router aborts the session.
        """
        handler = self.handlers.get(type(message))
        if handler is None:
            raise ProtocolError(f"{message.TYPE.name} is not a message a client sends to a router")
        return handler(session, message, now)

    def _check_request(self, session: RouterSession, request_id: int, kind: str) -> None:
        # Spec "Protocol Errors": request ids must be sequential (one counter for all
        # request types). Opt-in: some deployed clients send random ids.
        if self.limits.strict_request_ids and not session.next_request_id(request_id):
            raise ProtocolError(f"{kind} request id {request_id} is not sequential")

    def _publish(self, session: RouterSession, message: Publish, now: float) -> Outgoing:
        self._check_request(session, message.request_id, "PUBLISH")
        return self.broker.publish(session, message)

    def _subscribe(self, session: RouterSession, message: Subscribe, now: float) -> Outgoing:
        self._check_request(session, message.request_id, "SUBSCRIBE")
        return self.broker.subscribe(session, message, now)

    def _unsubscribe(self, session: RouterSession, message: Unsubscribe, now: float) -> Outgoing:
        self._check_request(session, message.request_id, "UNSUBSCRIBE")
        return self.broker.unsubscribe(session, message)

    def _register(self, session: RouterSession, message: Register, now: float) -> Outgoing:
        self._check_request(session, message.request_id, "REGISTER")
        return self.dealer.register(session, message, now)

    def _unregister(self, session: RouterSession, message: Unregister, now: float) -> Outgoing:
        self._check_request(session, message.request_id, "UNREGISTER")
        return self.dealer.unregister(session, message)

    def _cancel(self, session: RouterSession, message: Cancel, now: float) -> Outgoing:
        return self.dealer.cancel(session, message)

    def _error(self, session: RouterSession, message: Error, now: float) -> Outgoing:
        if message.request_type != MessageType.INVOCATION:
            raise ProtocolError(
                f"a client sends ERROR only for an INVOCATION, got REQUEST.Type"
                f" {message.request_type}"
            )
        return self.dealer.invocation_error(session, message, now)

    def _event_received(
        self, session: RouterSession, message: EventReceived, now: float
    ) -> Outgoing:
        # Acknowledged event delivery (DIVERGENCES.md): accepted and dropped. Crossbar
        # does the same (its processEventReceived is a stub); WAMP defines no message to
        # relay the acknowledgement to the publisher, and keeping it would be state that
        # grows with the traffic.
        return []


# Call and Yield are added per realm (bound to its dealer): see Realm.handlers.
_HANDLERS: dict[type[Message], _Handler] = {
    Publish: Realm._publish,
    Subscribe: Realm._subscribe,
    Unsubscribe: Realm._unsubscribe,
    Register: Realm._register,
    Unregister: Realm._unregister,
    Cancel: Realm._cancel,
    Error: Realm._error,
    EventReceived: Realm._event_received,
}
