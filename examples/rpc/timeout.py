"""Call timeouts: ``CallOptions(timeout=seconds)``.

The timeout is in seconds (a float, as Autobahn documents it). The router gets it as
integer milliseconds, and the session enforces it as well: when it expires the call
fails with ``ApplicationError`` ``wamp.error.timeout``, and the callee's handler is
interrupted (its task is cancelled). A call that answers in time is not affected.

Run a router (``autostrada router``), then::

    python examples/rpc/timeout.py
"""

from __future__ import annotations

import asyncio
import os

from autostrada import ApplicationError, CallOptions, Component, Session, run

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")
REALM = os.environ.get("AUTOSTRADA_REALM", "realm1")

backend = Component(transports=URL, realm=REALM)
backend_ready = asyncio.Event()
interrupted = asyncio.Event()


@backend.register("com.example.sleep")
async def sleep(seconds: float) -> str:
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        print(f"backend: sleep({seconds}) interrupted")
        interrupted.set()
        raise
    return f"slept {seconds} s"


@backend.on_ready
def announce(session: Session) -> None:
    print("backend: procedures registered")
    backend_ready.set()


async def main(loop: asyncio.AbstractEventLoop, session: Session) -> None:
    await backend_ready.wait()
    options = CallOptions(timeout=1.0)

    print(
        "sleep(0.01), timeout 1 s ->",
        await session.call("com.example.sleep", 0.01, options=options),
    )

    try:
        await session.call("com.example.sleep", 30, options=options)
    except ApplicationError as exc:
        assert exc.error == ApplicationError.TIMEOUT
        print("sleep(30), timeout 1 s -> raised", exc.error)

    await interrupted.wait()
    await backend.stop()


frontend = Component(main=main, transports=URL, realm=REALM)

if __name__ == "__main__":
    run([backend, frontend])
