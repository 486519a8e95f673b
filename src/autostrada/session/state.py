"""Session states and the records the client session keeps per request.

Spec: Basic Profile "Sessions" (basic/sessions.md, the state chart), "Publish and
Subscribe" and "Remote Procedure Calls"; Advanced Profile "Call Canceling" and
"Progressive Call Invocations".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from autostrada.messages import MessageType

__all__ = ["ActiveInvocation", "Handles", "PendingRequest", "RecentIds", "SessionState"]


class SessionState(Enum):
    """Where a client session is in its life (basic/sessions.md, state chart).

    * ``CLOSED``: no session. The initial state, and the state after a GOODBYE
      handshake or an ABORT: the transport may carry a new HELLO (``hello()``).
    * ``HELLO_SENT``: waiting for WELCOME, CHALLENGE or ABORT (chart: ESTABLISHING).
    * ``CHALLENGED``: a CHALLENGE arrived; waiting for the local ``authenticate()``.
    * ``AUTHENTICATE_SENT``: waiting for WELCOME, ABORT or another CHALLENGE
      (two-factor authentication uses two rounds, advanced/authentication.md).
    * ``ESTABLISHED``: joined; requests may be made.
    * ``GOODBYE_SENT``: we sent GOODBYE and wait for the echo (chart: SHUTTING DOWN).
    * ``FAILED``: terminal. The transport was lost, or we aborted the session for a
      protocol violation (the ABORT is in the outbox; the driver then closes the
      transport). All input is ignored; a new session needs a new transport.
    """

    CLOSED = "closed"
    HELLO_SENT = "hello_sent"
    CHALLENGED = "challenged"
    AUTHENTICATE_SENT = "authenticate_sent"
    ESTABLISHED = "established"
    GOODBYE_SENT = "goodbye_sent"
    FAILED = "failed"

    # Members are singletons compared by identity: hash them by identity too. Enum's
    # own __hash__ (a Python method hashing the name) costs a call on every message
    # received, whose handler is looked up by (state, message type).
    __hash__ = object.__hash__


@dataclass(slots=True)
class PendingRequest:
    """A request we sent and whose reply has not arrived yet.

    Attributes:
        request_type: CALL, PUBLISH (acknowledged only), SUBSCRIBE, UNSUBSCRIBE,
            REGISTER or UNREGISTER: an ERROR must name the same type.
        uri: the procedure or topic (CALL, PUBLISH, SUBSCRIBE, REGISTER).
        target_id: the subscription or registration id (UNSUBSCRIBE, UNREGISTER).
        receive_progress: a CALL asked for progressive results.
        streaming: a CALL with progressive call invocations whose final chunk has
            not been sent yet.
        cancel_mode: ``"kill"`` once a CANCEL with mode kill was sent.
    """

    request_type: MessageType
    uri: str = ""
    target_id: int = 0
    receive_progress: bool = False
    streaming: bool = False
    cancel_mode: str | None = None


@dataclass(slots=True)
class ActiveInvocation:
    """An INVOCATION the callee has not answered with a final YIELD or ERROR yet.

    Attributes:
        registration_id: the registration it came under.
        receive_progress: the caller accepts progressive results (YIELD progress).
        expecting_chunks: progressive call invocation whose final chunk has not
            arrived yet: further INVOCATIONs with this request id continue it.
        interrupt_mode: the mode of the INTERRUPT received for it, if any.
    """

    registration_id: int
    receive_progress: bool
    expecting_chunks: bool
    interrupt_mode: str | None = None


class RecentIds(dict[int, None]):
    """A bounded set of ids, forgetting the oldest when full.

    Used for ids whose late messages must be ignored (calls completed locally by a
    cancel, progressive invocations answered before their final chunk): a router
    that never sends the final message must not make the set grow without bound.
    A dict underneath (insertion order is age), so that ``in`` costs no Python call:
    it is asked once per INVOCATION and per RESULT.
    """

    __slots__ = ("_limit",)

    def __init__(self, limit: int) -> None:
        super().__init__()
        self._limit = limit

    def add(self, item: int) -> None:
        """Remember ``item``, forgetting the oldest id when the set is full."""
        self[item] = None
        if len(self) > self._limit:
            del self[next(iter(self))]

    def discard(self, item: int) -> None:
        """Forget ``item`` if present."""
        self.pop(item, None)


class Handles:
    """The subscriptions (or registrations) a session holds, by router-given id.

    A handle is *active*, or *leaving* once UNSUBSCRIBE/UNREGISTER was sent for it
    and the reply has not arrived: EVENTs and INVOCATIONs may still be in flight for
    it then (the router sent them before it saw our request).
    """

    __slots__ = ("_active", "_leaving")

    def __init__(self) -> None:
        self._active: set[int] = set()
        self._leaving: set[int] = set()

    def add(self, handle: int) -> None:
        """Record ``handle`` as held (a repeated id is fine: brokers share ids)."""
        self._active.add(handle)

    def is_active(self, handle: int) -> bool:
        """Tell whether ``handle`` is held and not being released."""
        return handle in self._active and handle not in self._leaving

    def is_leaving(self, handle: int) -> bool:
        """Tell whether an UNSUBSCRIBE/UNREGISTER is in flight for ``handle``."""
        return handle in self._leaving

    def __contains__(self, handle: object) -> bool:
        return handle in self._active

    def start_leaving(self, handle: int) -> None:
        """Mark ``handle`` as being released."""
        self._leaving.add(handle)

    def stop_leaving(self, handle: int) -> None:
        """The release failed: ``handle`` is active again."""
        self._leaving.discard(handle)

    def remove(self, handle: int) -> None:
        """Forget ``handle`` (released, revoked, or gone at the router)."""
        self._active.discard(handle)
        self._leaving.discard(handle)

    def clear(self) -> None:
        """Forget every handle (the session ended)."""
        self._active.clear()
        self._leaving.clear()

    def ids(self) -> frozenset[int]:
        """Return the ids held, leaving or not."""
        return frozenset(self._active)
