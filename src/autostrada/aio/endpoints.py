"""Calling user code from a session: endpoints, event handlers, results and errors.

Kept apart from :mod:`autostrada.aio.session` so that the rules about what a user's
function gets and what its return value or exception becomes on the wire read in one
place:

* a procedure's return value: ``None`` → no payload; :class:`CallResult` → its
  ``results``/``kwresults``; anything else → one positional result;
* a procedure's exception: :class:`ApplicationError` → its URI and payload; an
  exception class mapped to a URI (``ApplicationError.define`` / ``session.define``) →
  that URI with the exception's args; anything else → ``wamp.error.runtime_error``
  with the exception's text (the traceback is logged, not sent);
* a caller receives: no payload → ``None``; one positional value and no keywords →
  that value; otherwise a :class:`CallResult`.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping
from typing import Any

from autostrada.exceptions import ERROR_CLASSES, ApplicationError
from autostrada.types import CallResult

__all__ = [
    "PLAIN_RESULTS",
    "ErrorMap",
    "call_result",
    "invoke",
    "yield_payload",
]

log = logging.getLogger("autostrada.session")

Payload = tuple[list[Any] | None, dict[str, Any] | None]

# Results that cannot be awaitable (exact types: a subclass may define __await__),
# so that the common case skips inspect.isawaitable(), which costs a few calls.
PLAIN_RESULTS = frozenset({int, str, float, bool, list, dict, tuple, bytes})


async def invoke(
    func: Callable[..., Any], args: list[Any] | None, kwargs: dict[str, Any] | None
) -> Any:
    """Call a sync or async user function and return its (awaited) result."""
    result = func(*(args or ()), **(kwargs or {}))
    if inspect.isawaitable(result):
        result = await result
    return result


def call_result(args: list[Any] | None, kwargs: dict[str, Any] | None) -> Any:
    """What ``await session.call()`` returns for a RESULT payload (Autobahn's rule)."""
    if kwargs:
        return CallResult(*(args or ()), **kwargs)
    if not args:
        return None
    if len(args) == 1:
        return args[0]
    return CallResult(*args)


def yield_payload(result: Any) -> Payload:
    """The YIELD payload for a procedure's return value."""
    if result is None:
        return None, None
    if isinstance(result, CallResult):
        return result.results or None, result.kwresults or None
    return [result], None


class ErrorMap:
    """Error URI ↔ exception class, per session on top of the global ``define()`` map."""

    def __init__(self) -> None:
        self._by_uri: dict[str, type[BaseException]] = {}
        self._by_class: dict[type[BaseException], str] = {}

    def define(self, exception: type[BaseException], error: str | None = None) -> None:
        """Map ``error`` to ``exception`` for this session (Autobahn's ``session.define``).

        Raises:
            ValueError: no URI given and the class carries none from a decorator.
        """
        if not (isinstance(exception, type) and issubclass(exception, BaseException)):
            raise TypeError(f"define: {exception!r} is not an exception class")
        uri = error or getattr(exception, "_wamp_error_uri", None)
        if not isinstance(uri, str):
            raise ValueError(
                f"define: no error URI for {exception.__name__} (pass error= or decorate it "
                "with @wamp.error(uri))"
            )
        self._by_uri[uri] = exception
        self._by_class[exception] = uri

    def to_exception(
        self, error: str, args: list[Any] | None, kwargs: Mapping[str, Any] | None
    ) -> BaseException:
        """The exception to raise in a caller for an ERROR message."""
        cls = self._by_uri.get(error) or ERROR_CLASSES.get(error)
        if cls is not None:
            try:
                exc = cls(*(args or ()), **(kwargs or {}))
            except Exception:  # the class does not take this payload
                log.debug("could not build %s from the payload of %s", cls.__name__, error)
            else:
                return exc
        return ApplicationError(error, *(args or ()), **(kwargs or {}))

    def to_error(
        self, exc: BaseException, where: str
    ) -> tuple[str, list[Any] | None, dict[str, Any] | None]:
        """The ERROR (uri, args, kwargs) to send for an exception a procedure raised."""
        if isinstance(exc, ApplicationError):
            return exc.error, exc.args_ or None, exc.kwargs or None
        uri = self._by_class.get(type(exc)) or getattr(type(exc), "_wamp_error_uri", None)
        if uri is not None:
            return uri, list(exc.args) or None, None
        log.error("%s raised %s", where, type(exc).__name__, exc_info=exc)
        return ApplicationError.RUNTIME_ERROR, [str(exc) or type(exc).__name__], None
