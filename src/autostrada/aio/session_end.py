"""The end of a session, bounded: cancel its tasks, leave, close the transport.

The helpers with which a :class:`~autostrada.aio.component.Component` ends a session
(:class:`~autostrada.aio.apprunner.ApplicationRunner` closes its transports with
:func:`close_channel` too), and how to tell a session ended on purpose. Every wait here
is bounded: a handler that ignores cancellation, a router that never answers GOODBYE
or a transport that never closes cannot hang the caller.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from typing import Any

from autostrada.aio.channel import Channel
from autostrada.aio.session import Session
from autostrada.exceptions import TransportError, WampError
from autostrada.types import CloseDetails

__all__ = [
    "CANCEL_GRACE",
    "CLEAN_REASONS",
    "LEAVE_NOTICE_GRACE",
    "cancel_all",
    "close_channel",
    "end_session",
    "note_leave",
]

# What is logged here is the component's doing: under its logger, as before the split.
log = logging.getLogger("autostrada.component")

CLEAN_REASONS = frozenset({CloseDetails.REASON_DEFAULT, "wamp.close.goodbye_and_out"})
"""A session closed for one of these reasons has ended on purpose (the component is done)."""

# How long the tasks of a finished session (join/ready handlers, main) get to end once
# cancelled, and how long to wait for the session's own leave notice once the
# transport is gone: bounds, so that nothing here waits forever.
CANCEL_GRACE = 5.0
LEAVE_NOTICE_GRACE = 1.0


def note_leave(ended: asyncio.Future[CloseDetails], session: Session, details: Any) -> None:
    """A session's ``leave`` observer: resolve ``ended`` with the first leave's details."""
    if not ended.done():
        ended.set_result(details)


async def cancel_all(tasks: Collection[asyncio.Future[Any]]) -> None:
    """Cancel ``tasks`` and wait (up to :data:`CANCEL_GRACE`) for them to end."""
    pending = [task for task in tasks if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        _, still = await asyncio.wait(pending, timeout=CANCEL_GRACE)
        for task in still:
            log.warning("a handler task ignored cancellation: %r", task)
    for task in tasks:  # mark every outcome retrieved: all are logged already
        if task.done() and not task.cancelled():
            task.exception()


async def close_channel(channel: Channel) -> bool:
    """Close ``channel`` (bounded) and tell whether it closed cleanly."""
    if not channel.closed.done():
        channel.close()
    try:
        async with asyncio.timeout(channel.close_timeout + 1.0):
            return await channel.wait_closed() is None
    except TimeoutError:
        channel.abort(TransportError(f"{channel.endpoint} did not close in time"))
        return False


async def end_session(
    session: Session, channel: Channel, ended: asyncio.Future[CloseDetails]
) -> tuple[CloseDetails, bool]:
    """Leave (GOODBYE) if still joined, close the transport; return why it ended."""
    details: CloseDetails | None = None
    if session.is_attached():
        try:
            async with asyncio.timeout(channel.close_timeout + 1.0):
                details = await session.leave()
        except (WampError, TimeoutError) as exc:
            log.debug("leave failed: %r", exc)
    was_clean = await close_channel(channel)
    if ended.done():
        details = ended.result()
    if details is None:
        details = CloseDetails(CloseDetails.REASON_TRANSPORT_LOST, "the transport was lost")
    return details, was_clean
