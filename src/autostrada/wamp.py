"""Decorators that mark methods for registration or subscription, as ``autobahn.wamp`` does.

::

    class Backend:
        @wamp.register("com.example.add")
        def add(self, a, b):
            return a + b

        @wamp.subscribe("com.example.tick")
        def tick(self, n):
            ...

    await session.register(Backend())   # registers every @wamp.register method
    await session.subscribe(Backend())  # subscribes every @wamp.subscribe method

Each decorator returns the function it decorates (a method stays callable as before).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from autostrada.exceptions import ApplicationError
from autostrada.types import RegisterOptions, SubscribeOptions
from autostrada.uri import validate_uri

__all__ = ["WampMark", "error", "marks_of", "register", "subscribe"]

F = TypeVar("F", bound=Callable[..., Any])
E = TypeVar("E", bound=type[BaseException])

_MARKS = "_autostrada_wamp"


@dataclass(frozen=True, slots=True)
class WampMark:
    """What a decorator recorded on a function: ``kind`` is "register" or "subscribe"."""

    kind: str
    uri: str | None
    options: RegisterOptions | SubscribeOptions | None


def _mark(func: Any, mark: WampMark) -> None:
    marks: list[WampMark] = list(getattr(func, _MARKS, ()))
    marks.append(mark)
    setattr(func, _MARKS, marks)


def register(
    uri: str | None = None, options: RegisterOptions | None = None, check_types: bool | None = None
) -> Callable[[F], F]:
    """Mark a function or method as a procedure; ``uri`` defaults to the function's name."""
    if options is not None and not isinstance(options, RegisterOptions):
        raise TypeError(f"options must be RegisterOptions, got {options!r}")
    if uri is not None:
        validate_uri(uri, "register", match=(options.match if options else None) or "exact")

    def decorate(func: F) -> F:
        _mark(func, WampMark("register", uri, options))
        return func

    return decorate


def subscribe(
    uri: str | None = None, options: SubscribeOptions | None = None, check_types: bool | None = None
) -> Callable[[F], F]:
    """Mark a function or method as an event handler for topic ``uri``."""
    if options is not None and not isinstance(options, SubscribeOptions):
        raise TypeError(f"options must be SubscribeOptions, got {options!r}")
    if uri is not None:
        validate_uri(uri, "subscribe", match=(options.match if options else None) or "exact")

    def decorate(func: F) -> F:
        _mark(func, WampMark("subscribe", uri, options))
        return func

    return decorate


def error(uri: str) -> Callable[[E], E]:
    """Map an error URI to an exception class (same as :meth:`ApplicationError.define`)."""
    validate_uri(uri, "error")
    return ApplicationError.define(uri)


def marks_of(obj: Any, kind: str) -> list[tuple[Callable[..., Any], WampMark]]:
    """The (bound method, mark) pairs of ``obj`` decorated with ``kind``, in name order."""
    found: list[tuple[Callable[..., Any], WampMark]] = []
    for name in sorted(dir(obj)):
        if name.startswith("__"):
            continue
        try:
            attr = getattr(obj, name)
        except AttributeError:  # a property that raises
            continue
        for mark in getattr(attr, _MARKS, ()):
            if mark.kind == kind:
                found.append((attr, mark))
    return found
