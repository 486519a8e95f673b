"""The callee role of :class:`~autostrada.aio.session.Session`: registrations and invocations.

An INVOCATION calls the endpoint at once; when it returns an awaitable (a coroutine
function), that runs as a task of its own (in ``_invocations``, by the router's
request id). The return value or exception becomes the YIELD or ERROR (the rules are
in :mod:`autostrada.aio.endpoints`). An INTERRUPT, or the end of the session, cancels
the task, which answers ``wamp.error.canceled``. A progressive call
invocation (the caller streams its input) feeds its chunks through a queue to one
task that calls the endpoint once per chunk, in order. Progressive results go out
through ``CallDetails.progress``.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import Awaitable, Coroutine
from typing import TYPE_CHECKING, Any, cast

from autostrada import session as core
from autostrada.aio.endpoints import PLAIN_RESULTS, invoke, yield_payload
from autostrada.aio.role import Role
from autostrada.exceptions import ApplicationError, InvalidState
from autostrada.request import Registration
from autostrada.types import CallDetails, CallResult, RegisterOptions, SubscribeOptions
from autostrada.wamp import marks_of

if TYPE_CHECKING:
    from autostrada.aio.session import Session

__all__ = ["Callee"]

log = logging.getLogger("autostrada.session")

Chunk = tuple[Any, Any, bool]
"""One chunk of a progressive call invocation: args, kwargs, and whether it is the last."""


class Callee(Role):
    """The callee role: :meth:`register`, and running the invocations."""

    def __init__(self) -> None:
        super().__init__()
        self._registrations: dict[int, Registration] = {}
        self._invocations: dict[int, asyncio.Task[None]] = {}
        self._chunks: dict[int, asyncio.Queue[Chunk]] = {}

    async def register(
        self,
        endpoint: Any,
        procedure: str | None = None,
        options: RegisterOptions | None = None,
        prefix: str | None = None,
        check_types: bool | None = None,
    ) -> Registration | list[Registration]:
        """Register ``endpoint`` as ``procedure``; or every ``@wamp.register`` method of an object.

        A coroutine function's invocations run as tasks of their own (a caller's
        cancel interrupts them); a plain function is called when the invocation
        arrives. Its return value or exception becomes the YIELD or ERROR (see
        :mod:`autostrada.aio.endpoints`).
        """
        if not callable(endpoint) or (procedure is None and marks_of(endpoint, "register")):
            registrations = []
            for method, mark in marks_of(endpoint, "register"):
                uri = (prefix or "") + (mark.uri or method.__name__)
                assert not isinstance(mark.options, SubscribeOptions)
                reg = await self.register(method, uri, mark.options)
                assert isinstance(reg, Registration)
                registrations.append(reg)
            return registrations
        if procedure is None:
            raise ValueError("register: no procedure given")
        procedure = (prefix or "") + procedure
        self._require_joined("register")
        wire = options.message_attr() if options is not None else {}
        request_id = self._core.register(procedure, wire)
        self._flush()
        settle = functools.partial(self._add_registration, endpoint, procedure, options)
        return await self._track(request_id, settle)

    def _add_registration(
        self,
        endpoint: Any,
        procedure: str,
        options: RegisterOptions | None,
        event: core.Registered,
    ) -> Registration:
        session = cast("Session", self)  # a role only ever runs as part of a Session
        details_arg = options.details_arg if options else None
        reg = Registration(session, event.registration_id, procedure, endpoint, details_arg)
        self._registrations[event.registration_id] = reg
        return reg

    async def _unregister(self, reg: Registration) -> None:
        if not reg.active:
            return
        reg.active = False
        self._registrations.pop(reg.id, None)
        if not self.is_attached():
            return
        request_id = self._core.unregister(reg.id)
        self._flush()
        await self._track(request_id, lambda _event: None)

    def _on_registration_revoked(self, event: core.RegistrationRevoked) -> None:
        reg = self._registrations.pop(event.registration_id, None)
        if reg is not None:
            reg.active = False
        log.info("the router revoked registration %s: %s", event.registration_id, event.reason)

    def _end_callee(self) -> None:
        """The session ended: cancel the invocations; the registrations are gone."""
        for task in list(self._invocations.values()):
            task.cancel()
        # The router forgets our registrations with the session.
        for reg in self._registrations.values():
            reg.active = False
        self._registrations.clear()

    # ------------------------------------------------------------------ invocations

    def _on_invocation(self, event: core.Invoked) -> None:
        reg = self._registrations.get(event.registration_id)
        request_id = event.request_id
        if reg is None:  # registration gone meanwhile: answer, never leave the caller hanging
            self._core.invocation_error(request_id, ApplicationError.NO_SUCH_REGISTRATION)
            return  # sent by _handle()
        kwargs = event.kwargs
        if reg.details_arg:
            kwargs = dict(kwargs or {})
            kwargs[reg.details_arg] = self._call_details(reg, event)
        if event.progress:  # progressive call invocation: more chunks follow
            queue: asyncio.Queue[Chunk] = asyncio.Queue()
            self._chunks[request_id] = queue
            queue.put_nowait((event.args, kwargs, False))
            self._run_as_task(request_id, self._run_stream(reg, request_id, queue))
            return
        # A plain function runs here and now (as in Autobahn): a task would not make
        # it any less blocking. A coroutine (or other awaitable) runs as a task of its
        # own, so that one slow handler never holds up the others, and INTERRUPT
        # can cancel it.
        try:
            result = reg.endpoint(*(event.args or ()), **(kwargs or {}))
        except Exception as exc:
            self._answer_error(
                request_id, *self._errors.to_error(exc, f"procedure {reg.procedure}")
            )
            return
        if result is not None and type(result) not in PLAIN_RESULTS and inspect.isawaitable(result):
            self._run_as_task(request_id, self._await_result(reg, request_id, result))
        else:
            self._send_result(reg, request_id, result)

    def _run_as_task(self, request_id: int, coro: Coroutine[Any, Any, None]) -> None:
        self._unanswered = True  # answered later: ACK the read now
        task = self._loop.create_task(coro)
        self._invocations[request_id] = task
        task.add_done_callback(lambda _t: self._invocations.pop(request_id, None))

    def _call_details(self, reg: Registration, event: core.Invoked) -> CallDetails:
        details = event.details
        progress = None
        if event.receive_progress:
            request_id = event.request_id

            def progress(*args: Any, **kwargs: Any) -> None:
                if self._core.yield_result(
                    request_id, list(args) or None, kwargs or None, progress=True
                ):
                    self._flush()

        return CallDetails(
            registration=reg,
            progress=progress,
            caller=details.get("caller"),
            caller_authid=details.get("caller_authid"),
            caller_authrole=details.get("caller_authrole"),
            procedure=details.get("procedure", reg.procedure),
            transaction_hash=details.get("transaction_hash"),
            forward_for=details.get("forward_for"),
        )

    def _on_invocation_chunk(self, event: core.InvocationChunk) -> None:
        queue = self._chunks.get(event.request_id)
        if queue is not None:
            queue.put_nowait((event.args, event.kwargs, not event.progress))

    async def _run_stream(
        self, reg: Registration, request_id: int, queue: asyncio.Queue[Chunk]
    ) -> None:
        # Progressive call invocation: the endpoint is called once per chunk, in order;
        # the return value of the call for the final chunk is the result.
        try:
            while True:
                args, kwargs, final = await queue.get()
                if reg.details_arg:
                    kwargs = dict(kwargs or {})
                    details = kwargs.get(reg.details_arg)
                    if not isinstance(details, CallDetails):
                        kwargs[reg.details_arg] = CallDetails(
                            registration=reg, procedure=reg.procedure
                        )
                if final:
                    await self._await_result(reg, request_id, invoke(reg.endpoint, args, kwargs))
                    return
                await invoke(reg.endpoint, args, kwargs)
        except asyncio.CancelledError:
            self._answer_error(request_id, ApplicationError.CANCELED, None, None)
            raise
        except Exception as exc:
            self._answer_error(
                request_id, *self._errors.to_error(exc, f"procedure {reg.procedure}")
            )
        finally:
            self._chunks.pop(request_id, None)

    async def _await_result(
        self, reg: Registration, request_id: int, awaitable: Awaitable[Any]
    ) -> None:
        try:
            result = await awaitable
        except asyncio.CancelledError:
            # INTERRUPT (or the session ended): answer wamp.error.canceled
            # (DIVERGENCES.md: not runtime_error as Autobahn does).
            self._answer_error(request_id, ApplicationError.CANCELED, None, None)
            raise
        except Exception as exc:
            self._answer_error(
                request_id, *self._errors.to_error(exc, f"procedure {reg.procedure}")
            )
            return
        self._send_result(reg, request_id, result)

    def _send_result(self, reg: Registration, request_id: int, result: Any) -> None:
        result_args: list[Any] | None
        if result is not None and not isinstance(result, CallResult):
            result_args, result_kwargs = [result], None  # yield_payload()'s common case
        else:
            result_args, result_kwargs = yield_payload(result)
        try:
            sent = self._core.yield_result(request_id, result_args, result_kwargs)
        except (InvalidState, ValueError, TypeError) as exc:  # e.g. the session is gone
            log.debug("result of %s not sent: %s", reg.procedure, exc)
            return
        if sent and not self._reading:  # inside a read, its end sends it
            self._flush_quietly(f"procedure {reg.procedure}")

    def _answer_error(self, request_id: int, error: str, args: Any, kwargs: Any) -> None:
        try:
            if self._core.invocation_error(request_id, error, args, kwargs):
                self._flush_quietly("invocation error")
        except (InvalidState, ValueError, TypeError) as exc:
            log.debug("error for invocation %s not sent: %s", request_id, exc)

    def _on_interrupt(self, event: core.Interrupted) -> None:
        task = self._invocations.get(event.request_id)
        if task is not None:
            task.cancel()
