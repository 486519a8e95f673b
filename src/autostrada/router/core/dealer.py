"""The dealer of one realm: registrations, calls, invocations, cancel, timeouts.

Spec: basic/remote_procedure_call.md and the advanced RPC features (pattern-based and
shared registration, progressive call results and invocations, call canceling, call
timeout, caller identification, registration meta events).

Every call in flight is one :class:`PendingCall`, indexed twice: by the caller's
``CALL.Request`` in ``caller.calls`` and by the callee's ``INVOCATION.Request`` in
``callee.invocations``. Invocation request ids are sequential per callee session, so a
YIELD or ERROR for an id at or below the last one issued, but no longer pending (the call
was canceled, timed out or its caller left), is a late answer and is discarded; an id
never issued is a protocol violation.

The router itself can be a caller (dynamic authentication): such a call has no caller
session but an ``on_done`` continuation that receives the final answer.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable
from typing import Any, TypeAlias

from autostrada.exceptions import ApplicationError, ProtocolError
from autostrada.ids import random_id
from autostrada.messages import (
    Call,
    Cancel,
    Error,
    Interrupt,
    Invocation,
    MessageType,
    Register,
    Registered,
    Result,
    Unregister,
    Unregistered,
    Yield,
)

from .authorizer import Action, Authorizer
from .config import RouterLimits
from .patterns import UriTable
from .replies import CALLEE_LOST, INVOCATION_POLICY_CONFLICT, LIMIT_EXCEEDED, error_reply
from .session import Outgoing, RouterSession

__all__ = ["Callee", "Dealer", "OnDone", "PendingCall", "Registration"]

OnDone: TypeAlias = Callable[[str | None, list[Any], dict[str, Any], float], Outgoing]
"""Continuation of a router-internal call: ``(error or None, args, kwargs, now)``."""

MetaCall: TypeAlias = Callable[[RouterSession, Call, float], "Outgoing | None"]
PublishMeta: TypeAlias = Callable[[str, list[Any]], Outgoing]

_PASSTHRU_KEYS = ("enc_algo", "enc_serializer", "enc_key")
_CANCELING = "call_canceling"


def _passthru(options: dict[str, Any]) -> dict[str, Any]:
    """Payload passthru keys to carry over (DIVERGENCES: never crash on them).

    Callers check ``"enc_algo" in options`` first (a new ``{}`` otherwise): the common
    case then costs no call.
    """
    return {key: options[key] for key in _PASSTHRU_KEYS if key in options}


def _call_error(session: RouterSession, request_id: int, error: str, text: str) -> Outgoing:
    """An ERROR answering a CALL, as the only message to send."""
    return [error_reply(session, MessageType.CALL, request_id, error, text)]


class Registration:
    """A procedure URI (or pattern) with its callees (several for shared registrations)."""

    __slots__ = ("callees", "created", "id", "invoke", "match", "next_index", "uri")

    def __init__(
        self, registration_id: int, uri: str, match: str, invoke: str, created: str
    ) -> None:
        self.id = registration_id
        self.uri = uri
        self.match = match
        self.invoke = invoke
        self.created = created
        self.callees: list[Callee] = []  # in order of registration
        self.next_index = 0  # roundrobin position

    def details(self) -> dict[str, Any]:
        """``RegistrationDetails`` of the meta API."""
        return {
            "id": self.id,
            "created": self.created,
            "uri": self.uri,
            "match": self.match,
            "invoke": self.invoke,
        }


class Callee:
    """One session attached to a registration, with its per-registration options."""

    __slots__ = ("active", "concurrency", "disclose_caller", "forward_timeout", "session")

    def __init__(self, session: RouterSession, options: dict[str, Any]) -> None:
        self.session = session
        self.concurrency: int | None = options.get("concurrency")
        self.disclose_caller = options.get("disclose_caller") is True
        self.forward_timeout = options.get("forward_timeout") is True
        self.active = 0  # invocations in flight

    def available(self) -> bool:
        """Whether the callee's ``concurrency`` allows one more invocation."""
        return self.concurrency is None or self.active < self.concurrency


class PendingCall:
    """One call in flight, from CALL (or an internal call) to its final answer."""

    __slots__ = (
        "callee",
        "callee_entry",
        "caller",
        "deadline",
        "details",
        "done",
        "invocation_id",
        "kill_pending",
        "on_done",
        "receive_progress",
        "registration_id",
        "request_id",
        "streaming",
        "timeout",
    )

    def __init__(
        self,
        caller: RouterSession | None,
        request_id: int,
        callee_entry: Callee,
        invocation_id: int,
        registration_id: int,
        details: dict[str, Any],
    ) -> None:
        self.caller = caller
        self.request_id = request_id
        self.callee_entry = callee_entry
        self.callee = callee_entry.session
        self.invocation_id = invocation_id
        self.registration_id = registration_id
        self.details = details  # INVOCATION.Details of the initiating CALL, without progress
        self.receive_progress = False
        self.streaming = False  # the caller is still sending progressive CALL chunks
        self.kill_pending = False  # canceled with mode=kill: waiting for the callee
        self.timeout = 0.0  # seconds; 0: no dealer-side timeout
        self.deadline: float | None = None
        self.on_done: OnDone | None = None
        self.done = False


class Dealer:
    """Registrations and calls of one realm."""

    def __init__(
        self,
        authorizer: Authorizer,
        limits: RouterLimits,
        clock: Callable[[float], str],
        publish_meta: PublishMeta,
        meta_call: MetaCall,
        rng: random.Random,
    ) -> None:
        self._authorizer = authorizer
        self._limits = limits
        self._clock = clock
        self._publish_meta = publish_meta
        self._meta_call = meta_call
        self._rng = rng
        self.table: UriTable[Registration] = UriTable()
        self.by_id: dict[int, Registration] = {}
        # Timeouts: a heap of (deadline, sequence, call), cleaned lazily.
        self._deadlines: list[tuple[float, int, PendingCall]] = []
        self._sequence = itertools.count()
        self._timed = 0  # pending calls that have a deadline

    # ----------------------------------------------------------------------------------
    # REGISTER / UNREGISTER

    def register(self, session: RouterSession, message: Register, now: float) -> Outgoing:
        """Handle REGISTER: REGISTERED or ERROR."""
        options = message.options
        uri = message.procedure
        match = options.get("match", "exact")
        invoke = options.get("invoke", "single")
        request_id = message.request_id

        def fail(error: str, text: str) -> Outgoing:
            return [error_reply(session, MessageType.REGISTER, request_id, error, text)]

        if uri.startswith("wamp."):
            return fail(ApplicationError.INVALID_URI, f"{uri!r} is reserved for the router")
        if not self._authorizer.allows(session.authrole, uri, Action.REGISTER):
            return fail(
                ApplicationError.NOT_AUTHORIZED, f"session is not authorized to register {uri!r}"
            )
        if len(session.registrations) >= self._limits.max_registrations_per_session:
            return fail(
                LIMIT_EXCEEDED,
                f"a session may hold at most {self._limits.max_registrations_per_session}"
                " registrations (RouterLimits.max_registrations_per_session)",
            )
        out: Outgoing = []
        registration = self.table.get(uri, match)
        if registration is not None:
            if any(callee.session is session for callee in registration.callees):
                return fail(
                    ApplicationError.PROCEDURE_ALREADY_EXISTS,
                    f"this session already registered {uri!r} (match={match})",
                )
            if options.get("force_reregister") is True:
                out.extend(self._kick(registration))
                registration = None
            elif registration.invoke == "single":
                return fail(
                    ApplicationError.PROCEDURE_ALREADY_EXISTS,
                    f"{uri!r} (match={match}) is already registered",
                )
            elif registration.invoke != invoke:
                return fail(
                    INVOCATION_POLICY_CONFLICT,
                    f"{uri!r} is registered with invoke={registration.invoke!r}, not {invoke!r}",
                )
        created = registration is None
        if registration is None:
            registration_id = random_id()
            while registration_id in self.by_id:  # pragma: no cover - 1 in 2**53
                registration_id = random_id()
            registration = Registration(registration_id, uri, match, invoke, self._clock(now))
            self.table.add(uri, match, registration)
            self.by_id[registration_id] = registration
        registration.callees.append(Callee(session, options))
        session.registrations[registration.id] = registration
        out.append((session, Registered(request_id, registration.id)))
        if created:
            out.extend(
                self._publish_meta(
                    "wamp.registration.on_create", [session.session_id, registration.details()]
                )
            )
        out.extend(
            self._publish_meta(
                "wamp.registration.on_register", [session.session_id, registration.id]
            )
        )
        return out

    def unregister(self, session: RouterSession, message: Unregister) -> Outgoing:
        """Handle UNREGISTER: UNREGISTERED or ERROR ``wamp.error.no_such_registration``."""
        registration = session.registrations.get(message.registration_id)
        if registration is None:
            return [
                error_reply(
                    session,
                    MessageType.UNREGISTER,
                    message.request_id,
                    ApplicationError.NO_SUCH_REGISTRATION,
                    f"session has no registration {message.registration_id}",
                )
            ]
        out: Outgoing = [(session, Unregistered(message.request_id))]
        out.extend(self._drop(session, registration))
        return out

    def _drop(self, session: RouterSession, registration: Registration) -> Outgoing:
        """Detach ``session`` from ``registration``; its invocations in flight go on."""
        registration.callees = [c for c in registration.callees if c.session is not session]
        del session.registrations[registration.id]
        deleted = not registration.callees
        if deleted:
            self.table.remove(registration.uri, registration.match)
            del self.by_id[registration.id]
        out = self._publish_meta(
            "wamp.registration.on_unregister", [session.session_id, registration.id]
        )
        if deleted:
            out.extend(
                self._publish_meta(
                    "wamp.registration.on_delete", [session.session_id, registration.id]
                )
            )
        return out

    def _kick(self, registration: Registration) -> Outgoing:
        """Remove every callee (``force_reregister``), revoking where the callee supports it."""
        out: Outgoing = []
        for callee in list(registration.callees):
            session = callee.session
            if session.supports("callee", "registration_revocation"):
                details = {"registration": registration.id, "reason": "wamp.error.unregistered"}
                out.append((session, Unregistered(0, details)))
            out.extend(self._drop(session, registration))
        return out

    # ----------------------------------------------------------------------------------
    # CALL

    def call(self, session: RouterSession, message: Call, now: float) -> Outgoing:
        """Handle CALL: a new call, or a chunk of a progressive call in flight."""
        # The hot path of the router (with yield_): no closures, no helper calls that
        # the common case does not need.
        request_id = message.request_id
        calls = session.calls
        pending = calls.get(request_id)
        if pending is not None:
            return self._continue(pending, message)
        if request_id in session.recent_progressive:
            # A chunk for a progressive call that already completed (spec "Continuations
            # on Completed Calls"): discarded, the caller gets the final answer anyway.
            return []
        limits = self._limits
        if limits.strict_request_ids and not session.next_request_id(request_id):
            raise ProtocolError(f"CALL request id {request_id} is not sequential")
        options = message.options
        progress = options.get("progress") is True
        if progress and not session.supports("caller", "progressive_call_invocations"):
            # Spec "Progressive Call Invocations": a protocol error, not an ERROR reply.
            raise ProtocolError(
                "CALL with options.progress=true, but the caller did not announce"
                " progressive_call_invocations"
            )
        procedure = message.procedure
        if len(calls) >= limits.max_pending_calls_per_session:
            return _call_error(
                session,
                request_id,
                LIMIT_EXCEEDED,
                f"a session may have at most {limits.max_pending_calls_per_session}"
                " calls in flight (RouterLimits.max_pending_calls_per_session)",
            )
        permission = self._authorizer.permission(session.authrole, procedure)
        if permission is None or not permission.call:
            return _call_error(
                session,
                request_id,
                ApplicationError.NOT_AUTHORIZED,
                f"session is not authorized to call {procedure!r}",
            )
        if procedure.startswith("wamp."):
            if progress:
                return _call_error(
                    session,
                    request_id,
                    ApplicationError.FEATURE_NOT_SUPPORTED,
                    "meta procedures take no progressive invocations",
                )
            answer = self._meta_call(session, message, now)
            if answer is not None:
                return answer
        registration = self.table.best(procedure)
        if registration is None:
            return _call_error(
                session,
                request_id,
                ApplicationError.NO_SUCH_PROCEDURE,
                f"no callee registered for {procedure!r}",
            )
        callee = self._pick(registration)
        if callee is None:
            return _call_error(
                session,
                request_id,
                ApplicationError.NO_AVAILABLE_CALLEE,
                f"every callee of {procedure!r} is at its concurrency limit",
            )
        callee_session = callee.session
        if progress and not callee_session.supports("callee", "progressive_call_invocations"):
            return _call_error(
                session,
                request_id,
                ApplicationError.FEATURE_NOT_SUPPORTED,
                "the callee does not support progressive call invocations",
            )
        # INVOCATION.Details
        details: dict[str, Any] = _passthru(options) if "enc_algo" in options else {}
        if registration.match != "exact":
            # Spec "Pattern-based Registration": the concrete procedure called.
            details["procedure"] = procedure
        # Caller identification: the role's disclose_caller (router config), the caller's
        # own disclose_me, or the callee's disclose_caller registration option.
        if (
            permission.disclose_caller
            or callee.disclose_caller
            or options.get("disclose_me") is True
        ):
            details["caller"] = session.session_id
            details["caller_authid"] = session.authid
            details["caller_authrole"] = session.authrole
        receive_progress = options.get("receive_progress") is True
        if receive_progress:
            details["receive_progress"] = True
        timeout_ms = options.get("timeout", 0)
        if timeout_ms and callee.forward_timeout:
            details["timeout"] = timeout_ms  # spec: the callee handles the timeout
        # The PendingCall, as _start makes it (inlined).
        invocation_id = callee_session.invocation_ids.next()
        call = PendingCall(session, request_id, callee, invocation_id, registration.id, details)
        callee_session.invocations[invocation_id] = call
        callee.active += 1
        call.receive_progress = receive_progress
        call.streaming = progress
        if timeout_ms and not callee.forward_timeout:
            call.timeout = timeout_ms / 1000
            self._arm(call, now)
        calls[request_id] = call
        sent = {**details, "progress": True} if progress else details
        invocation = Invocation(
            invocation_id, registration.id, sent, message.args, message.kwargs, message.payload
        )
        return [(callee_session, invocation)]

    def _start(
        self,
        caller: RouterSession | None,
        request_id: int,
        registration: Registration,
        callee: Callee,
        details: dict[str, Any],
    ) -> PendingCall:
        invocation_id = callee.session.invocation_ids.next()
        call = PendingCall(caller, request_id, callee, invocation_id, registration.id, details)
        callee.session.invocations[invocation_id] = call
        callee.active += 1
        return call

    def _continue(self, call: PendingCall, message: Call) -> Outgoing:
        """Forward one more chunk of a progressive call to the same callee (spec)."""
        if not call.streaming:
            raise ProtocolError(f"CALL reuses request id {message.request_id} of a call in flight")
        if call.kill_pending:
            return []
        # Spec "Freezing of Options": only `progress` of a continuation is considered.
        progress = message.options.get("progress") is True
        call.streaming = progress
        details = {**call.details, "progress": True} if progress else call.details
        invocation = Invocation(
            call.invocation_id,
            call.registration_id,
            details,
            message.args,
            message.kwargs,
            message.payload,
        )
        return [(call.callee, invocation)]

    def _pick(self, registration: Registration) -> Callee | None:
        """Choose the callee per the registration's ``invoke`` policy and concurrency."""
        callees = registration.callees
        policy = registration.invoke
        if policy in ("single", "first"):
            candidate = callees[0]
        elif policy == "last":
            candidate = callees[-1]
        elif policy == "roundrobin":
            count = len(callees)
            for step in range(count):
                index = (registration.next_index + step) % count
                if callees[index].available():
                    registration.next_index = index + 1
                    return callees[index]
            return None
        else:  # random
            available = [callee for callee in callees if callee.available()]
            return self._rng.choice(available) if available else None
        return candidate if candidate.available() else None

    def call_internal(
        self,
        procedure: str,
        args: list[Any],
        kwargs: dict[str, Any],
        timeout: float,
        on_done: OnDone,
        now: float,
    ) -> Outgoing:
        """Call ``procedure`` as the router itself; ``on_done`` gets the final answer."""
        registration = self.table.best(procedure)
        if registration is None:
            return on_done(ApplicationError.NO_SUCH_PROCEDURE, [procedure], {}, now)
        callee = self._pick(registration)
        if callee is None:
            return on_done(ApplicationError.NO_AVAILABLE_CALLEE, [procedure], {}, now)
        details: dict[str, Any] = {}
        if registration.match != "exact":
            details["procedure"] = procedure
        call = self._start(None, 0, registration, callee, details)
        call.on_done = on_done
        call.timeout = timeout
        self._arm(call, now)
        return [
            (
                callee.session,
                Invocation(
                    call.invocation_id, registration.id, details, args or None, kwargs or None
                ),
            )
        ]

    # ----------------------------------------------------------------------------------
    # YIELD / ERROR from callees, CANCEL from callers

    def _check_late(self, session: RouterSession, request_id: int, kind: str) -> None:
        """An answer to no pending INVOCATION: late (discarded) or never sent (violation)."""
        # Late: the call was canceled, timed out or its caller left; it is discarded.
        if not 1 <= request_id <= session.invocation_ids.last:
            raise ProtocolError(f"{kind} for INVOCATION request {request_id}, which was never sent")

    def yield_(self, session: RouterSession, message: Yield, now: float) -> Outgoing:
        """Handle YIELD: a (progressive or final) RESULT for the caller."""
        call = session.invocations.get(message.request_id)
        if call is None:
            self._check_late(session, message.request_id, "YIELD")
            return []
        options = message.options
        details: dict[str, Any] = _passthru(options) if "enc_algo" in options else {}
        if options.get("progress") is True:
            # Progressive results only go to callers that asked for them.
            if not call.receive_progress or call.kill_pending or call.caller is None:
                return []
            if call.timeout:
                self._arm(call, now)  # spec: the timeout runs between results
            details["progress"] = True
            result = Result(call.request_id, details, message.args, message.kwargs, message.payload)
            return [(call.caller, result)]
        self._complete(call)
        if call.on_done is not None:
            return call.on_done(None, message.args or [], message.kwargs or {}, now)
        assert call.caller is not None
        result = Result(call.request_id, details, message.args, message.kwargs, message.payload)
        return [(call.caller, result)]

    def invocation_error(self, session: RouterSession, message: Error, now: float) -> Outgoing:
        """Handle ERROR for an INVOCATION: an ERROR for the caller."""
        call = session.invocations.get(message.request_id)
        if call is None:
            self._check_late(session, message.request_id, "ERROR")
            return []
        self._complete(call)
        if call.on_done is not None:
            return call.on_done(message.error, message.args or [], message.kwargs or {}, now)
        assert call.caller is not None
        error = Error(
            int(MessageType.CALL),
            call.request_id,
            _passthru(message.details) if "enc_algo" in message.details else {},
            message.error,
            message.args,
            message.kwargs,
            message.payload,
        )
        return [(call.caller, error)]

    def cancel(self, session: RouterSession, message: Cancel) -> Outgoing:
        """Handle CANCEL (spec "Call Canceling"): modes skip, kill, killnowait."""
        call = session.calls.get(message.request_id)
        if call is None or call.kill_pending:
            return []  # already answered, or already being killed
        callee = call.callee
        # Autobahn sends no mode and Crossbar then behaves as killnowait.
        mode = message.options.get("mode", "killnowait")
        if not callee.supports("callee", _CANCELING):
            mode = "skip"  # spec: a callee without call canceling gets no INTERRUPT
        if mode == "kill":
            call.kill_pending = True  # the ERROR waits for the callee's answer
            options = {"mode": "kill", "reason": ApplicationError.CANCELED}
            return [(callee, Interrupt(call.invocation_id, options))]
        self._complete(call)
        out: Outgoing = [
            error_reply(
                session,
                MessageType.CALL,
                call.request_id,
                ApplicationError.CANCELED,
                f"the call was canceled (mode={mode})",
            )
        ]
        if mode == "killnowait":
            options = {"mode": "killnowait", "reason": ApplicationError.CANCELED}
            out.append((callee, Interrupt(call.invocation_id, options)))
        return out

    def _complete(self, call: PendingCall) -> None:
        """Forget a call that got (or will get) its final answer."""
        call.done = True
        caller = call.caller
        if caller is not None:
            del caller.calls[call.request_id]
            if call.streaming:
                caller.recent_progressive.append(call.request_id)
        del call.callee.invocations[call.invocation_id]
        call.callee_entry.active -= 1
        if call.deadline is not None:
            self._timed -= 1

    # ----------------------------------------------------------------------------------
    # Sessions leaving

    def remove_session(self, session: RouterSession, now: float) -> Outgoing:
        """Clean up after a session that ended: its calls, invocations and registrations.

        * calls it made: INTERRUPT (killnowait) to callees that support canceling;
        * invocations it had to answer: ERROR ``wamp.error.canceled`` to the callers at
          once (spec "Callee Leaving During an RPC Invocation");
        * its registrations: dropped, with meta events.
        """
        out: Outgoing = []
        for call in list(session.calls.values()):
            self._complete(call)
            callee = call.callee
            if callee is not session and callee.supports("callee", _CANCELING):
                options = {"mode": "killnowait", "reason": ApplicationError.CANCELED}
                out.append((callee, Interrupt(call.invocation_id, options)))
        for call in list(session.invocations.values()):
            self._complete(call)
            if call.on_done is not None:
                out.extend(call.on_done(ApplicationError.CANCELED, [CALLEE_LOST], {}, now))
            else:
                assert call.caller is not None
                out.append(
                    error_reply(
                        call.caller,
                        MessageType.CALL,
                        call.request_id,
                        ApplicationError.CANCELED,
                        CALLEE_LOST,
                    )
                )
        for registration in list(session.registrations.values()):
            out.extend(self._drop(session, registration))
        session.recent_progressive.clear()
        return out

    # ----------------------------------------------------------------------------------
    # Timeouts

    def _arm(self, call: PendingCall, now: float) -> None:
        if call.deadline is None:
            self._timed += 1
        call.deadline = deadline = now + call.timeout
        heapq.heappush(self._deadlines, (deadline, next(self._sequence), call))
        # Entries of completed or re-armed calls stay until popped; rebuild the heap when
        # they outnumber the live ones, so it stays proportional to the calls in flight.
        if len(self._deadlines) > 64 + 2 * self._timed:
            live = {id(c): c for _, _, c in self._deadlines if not c.done}
            self._deadlines = [
                (c.deadline, next(self._sequence), c)
                for c in live.values()
                if c.deadline is not None
            ]
            heapq.heapify(self._deadlines)

    def next_deadline(self) -> float | None:
        """The earliest time at which :meth:`tick` has something to do, or ``None``."""
        heap = self._deadlines
        while heap and (heap[0][2].done or heap[0][2].deadline != heap[0][0]):
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def tick(self, now: float) -> Outgoing:
        """Fire the call timeouts due at ``now`` (spec "Call Timeouts", dealer-initiated).

        The caller gets ERROR ``wamp.error.timeout``; the callee gets INTERRUPT
        (killnowait) if it supports call canceling, and any late answer is discarded.
        """
        out: Outgoing = []
        heap = self._deadlines
        while heap and heap[0][0] <= now:
            deadline, _, call = heapq.heappop(heap)
            if call.done or call.deadline != deadline:
                continue
            self._complete(call)
            callee = call.callee
            if not call.kill_pending and callee.supports("callee", _CANCELING):
                options = {"mode": "killnowait", "reason": ApplicationError.TIMEOUT}
                out.append((callee, Interrupt(call.invocation_id, options)))
            text = f"the call timed out after {call.timeout:g} s"
            if call.on_done is not None:
                out.extend(call.on_done(ApplicationError.TIMEOUT, [text], {}, now))
            else:
                assert call.caller is not None
                out.append(
                    error_reply(
                        call.caller,
                        MessageType.CALL,
                        call.request_id,
                        ApplicationError.TIMEOUT,
                        text,
                    )
                )
        return out
