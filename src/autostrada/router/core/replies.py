"""ERROR replies and the error URIs the router uses beyond :class:`ApplicationError`'s."""

from __future__ import annotations

from autostrada.messages import Error

from .session import RouterSession

__all__ = [
    "CALLEE_LOST",
    "INVOCATION_POLICY_CONFLICT",
    "LIMIT_EXCEEDED",
    "TESTAMENT_ERROR",
    "error_reply",
]

LIMIT_EXCEEDED = "autostrada.error.limit_exceeded"
"""A configured per-session limit (pending calls, registrations, ...) was reached."""

INVOCATION_POLICY_CONFLICT = "wamp.error.procedure_exists_with_different_invocation_policy"
"""A shared registration was asked for with another ``invoke`` policy (Crossbar's URI)."""

TESTAMENT_ERROR = "wamp.error.testament_error"
"""Bad ``scope`` for ``wamp.session.add_testament``/``flush_testaments`` (Crossbar's URI)."""

CALLEE_LOST = "the callee left before answering (its session ended)"
"""Text of the ``wamp.error.canceled`` sent to callers of a callee that went away.

Spec "Callee Leaving During an RPC Invocation" asks for ``wamp.error.canceled``; Crossbar
sends the same URI with the text "callee disconnected from in-flight request".
"""


def error_reply(
    session: RouterSession, request_type: int, request_id: int, error: str, text: str
) -> tuple[RouterSession, Error]:
    """``(session, ERROR)`` answering a request, with a human-readable first argument."""
    # int(): the wire carries plain integers, not MessageType members.
    return session, Error(int(request_type), request_id, {}, error, [text])
