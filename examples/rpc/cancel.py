"""Cancelling a call: cancel the task that awaits it.

``session.call()`` is a coroutine: run it as a task and ``task.cancel()`` it (or let
``asyncio.timeout()`` / ``asyncio.wait_for()`` cancel it). The session sends CANCEL; the
router sends INTERRUPT to the callee, whose handler task is cancelled; the callee
answers ``wamp.error.canceled``. ``CallOptions(cancel_mode=...)`` picks the WAMP cancel
mode: ``"killnowait"`` (default), ``"kill"`` or ``"skip"`` (the callee is not told).

Run a router (``autostrada router``), then::

    python examples/rpc/cancel.py
"""

from __future__ import annotations

import asyncio
import os

from autostrada import CallOptions, Component, Session, run

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")
REALM = os.environ.get("AUTOSTRADA_REALM", "realm1")

backend = Component(transports=URL, realm=REALM)
backend_ready = asyncio.Event()
working = asyncio.Event()  # the slow procedure has started
interrupted = asyncio.Event()  # ... and has been interrupted


@backend.register("com.example.slow_square")
async def slow_square(x: int) -> int:
    working.set()
    try:
        await asyncio.sleep(60)  # far longer than the caller is willing to wait
    except asyncio.CancelledError:
        print("backend: interrupted; answering wamp.error.canceled")
        interrupted.set()
        raise  # a cancelled handler answers wamp.error.canceled
    return x * x


@backend.on_ready
def announce(session: Session) -> None:
    print("backend: procedures registered")
    backend_ready.set()


async def main(loop: asyncio.AbstractEventLoop, session: Session) -> None:
    await backend_ready.wait()

    call = asyncio.ensure_future(
        session.call("com.example.slow_square", 7, options=CallOptions(cancel_mode="kill"))
    )
    await working.wait()
    print("frontend: cancelling the call")
    call.cancel()
    try:
        await call
    except asyncio.CancelledError:
        print("frontend: the call was cancelled")

    await interrupted.wait()  # the example waits to show the callee's side too
    await backend.stop()


frontend = Component(main=main, transports=URL, realm=REALM)

if __name__ == "__main__":
    run([backend, frontend])
