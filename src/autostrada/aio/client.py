"""``autostrada.connect()``: a joined session in one call, for scripts, tools and tests.

::

    async with await autostrada.connect("ws://127.0.0.1:8080/ws", "realm1") as session:
        print(await session.call("com.example.add", 2, 3))

For long-running services that must survive router restarts, use
:class:`autostrada.Component` instead: it reconnects, rejoins and re-registers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from autostrada.aio.connect import connect as connect_channel
from autostrada.aio.connect import warn_if_ticket_in_clear_text
from autostrada.aio.session import Session
from autostrada.authenticators import create_authenticator
from autostrada.types import ComponentConfig

__all__ = ["connect"]


async def connect(
    url: str = "ws://127.0.0.1:8080/ws",
    realm: str = "realm1",
    *,
    authentication: Mapping[str, Mapping[str, Any]] | None = None,
    session_factory: Callable[[ComponentConfig], Session] = Session,
    extra: Any = None,
    **transport_options: Any,
) -> Session:
    """Connect to a router, join ``realm`` and return the session.

    Args:
        url: the router's URL (``ws``, ``wss``, ``rs``, ``rss``, ``tcp``, ``+unix``).
        realm: the realm to join.
        authentication: Autobahn's form, ``{method: {key: value}}``, e.g.
            ``{"ticket": {"authid": "joe", "ticket": "secret"}}``; several methods
            may be offered. Checked before connecting.
        session_factory: builds the session from a ``ComponentConfig`` (a subclass
            of :class:`Session` with hooks, for instance).
        extra: handed to the session as ``config.extra``.
        **transport_options: passed to :func:`autostrada.aio.connect.connect`
            (``serializers``, ``ssl``, ``proxy``, ``headers``, timeouts, ...);
            ``open_timeout`` (default 10 s) bounds the opening and then the join.

    Raises:
        ValueError: bad arguments or authentication config (before any connection).
        TransportError: the router could not be reached, or did not welcome the
            session within ``open_timeout``.
        AuthenticationFailed: the router refused the credentials.
        SessionClosed: the router refused the join for another reason.
    """
    authenticators = [
        create_authenticator(m, **dict(kw)) for m, kw in (authentication or {}).items()
    ]
    warn_if_ticket_in_clear_text(authentication or {}, url, transport_options)
    channel = await connect_channel(url, **transport_options)
    try:
        session = session_factory(ComponentConfig(realm=realm, extra=extra))
        for authenticator in authenticators:
            session.add_authenticator(authenticator)
        await session.attach(channel)
        await session.join(realm)
    except Exception:
        # Close, not abort: an abort (RST) can destroy the ABORT we just sent the
        # router, and waiting (bounded by close_timeout) leaves no socket behind.
        channel.close()
        await channel.wait_closed()
        raise
    except BaseException:  # cancelled: drop the connection at once
        channel.abort()
        raise
    return session
