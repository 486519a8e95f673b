"""WAMP-Ticket (spec "Ticket-based Authentication"): the router's check of a ticket."""

from __future__ import annotations

from typing import Final

from .primitives import equal_text

__all__ = ["TICKET", "verify_ticket"]

TICKET: Final = "ticket"


def verify_ticket(expected: str, received: object) -> bool:
    """Router side: is ``received`` (the AUTHENTICATE signature, anything) the ticket?

    The client sends its ticket verbatim as the AUTHENTICATE signature.
    """
    return equal_text(expected, received)
