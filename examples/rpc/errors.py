"""Errors: what a procedure raises is what its caller catches.

* ``ApplicationError(uri, *args, **kwargs)``: the caller gets an ``ApplicationError``
  with the same ``error`` URI, ``args`` and ``kwargs``;
* an exception class mapped to a URI with ``@wamp.error(uri)``: the caller gets an
  instance of that class (both sides import the same mapping);
* any other exception: ``wamp.error.runtime_error`` with the exception's text (the
  traceback stays in the callee's log);
* errors from the router, e.g. ``wamp.error.no_such_procedure``.

Run a router (``autostrada router``), then::

    python examples/rpc/errors.py
"""

from __future__ import annotations

import asyncio
import math
import os

from autostrada import ApplicationError, Component, Session, run, wamp

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")
REALM = os.environ.get("AUTOSTRADA_REALM", "realm1")


@wamp.error("com.example.error.negative_number")
class NegativeNumber(Exception):
    """Raised by the callee, re-raised as this class in the caller."""


backend = Component(transports=URL, realm=REALM)
backend_ready = asyncio.Event()


@backend.register("com.example.sqrt")
def sqrt(x: float) -> float:
    if x < 0:
        raise NegativeNumber(f"cannot take the square root of {x}")
    return math.sqrt(x)


@backend.register("com.example.check_name")
def check_name(name: str) -> str:
    if len(name) > 10:
        raise ApplicationError(
            "com.example.error.invalid_length", "name too long", length=len(name), limit=10
        )
    return name


@backend.register("com.example.divide")
def divide(a: float, b: float) -> float:
    return a / b  # ZeroDivisionError for b == 0: a runtime error for the caller


@backend.on_ready
def announce(session: Session) -> None:
    print("backend: procedures registered")
    backend_ready.set()


async def main(loop: asyncio.AbstractEventLoop, session: Session) -> None:
    await backend_ready.wait()

    print("sqrt(16) ->", await session.call("com.example.sqrt", 16))
    try:
        await session.call("com.example.sqrt", -1)
    except NegativeNumber as exc:
        print("sqrt(-1) raised NegativeNumber:", exc)

    try:
        await session.call("com.example.check_name", "a rather long name")
    except ApplicationError as exc:
        print("check_name raised", exc.error, "args", list(exc.args), "kwargs", exc.kwargs)

    try:
        await session.call("com.example.divide", 1, 0)
    except ApplicationError as exc:
        print("divide(1, 0) raised", exc.error, "-", exc.args[0])

    try:
        await session.call("com.example.no_such_thing")
    except ApplicationError as exc:
        # Compare with the constants rather than spelling URIs out.
        assert exc.error == ApplicationError.NO_SUCH_PROCEDURE
        print("no_such_thing raised", exc.error)

    await backend.stop()


frontend = Component(main=main, transports=URL, realm=REALM)

if __name__ == "__main__":
    run([backend, frontend])
