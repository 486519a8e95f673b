"""Progressive call results: a procedure sends partial results before its final one.

The callee asks for ``CallDetails`` (``RegisterOptions(details_arg="details")``); when
the caller wants progress, ``details.progress`` is a function that sends one partial
result. The caller passes ``CallOptions(on_progress=...)``: each partial result is
handed to it, in order (a coroutine function is awaited), and ``call()`` returns the
final result. ``session.call_iter()`` (an autostrada addition) yields them instead.

Run a router (``autostrada router``), then::

    python examples/rpc/progressive.py
"""

from __future__ import annotations

import asyncio
import os

from autostrada import CallDetails, CallOptions, Component, RegisterOptions, Session, run

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")
REALM = os.environ.get("AUTOSTRADA_REALM", "realm1")

backend = Component(transports=URL, realm=REALM)
backend_ready = asyncio.Event()


@backend.register("com.example.countdown", RegisterOptions(details_arg="details"))
async def countdown(start: int, details: CallDetails) -> str:
    for n in range(start, 0, -1):
        if details.progress is not None:  # None when the caller wants no progress
            details.progress(n)
        await asyncio.sleep(0.01)  # some work between the partial results
    return "liftoff"


@backend.on_ready
def announce(session: Session) -> None:
    print("backend: procedures registered")
    backend_ready.set()


async def main(loop: asyncio.AbstractEventLoop, session: Session) -> None:
    await backend_ready.wait()

    def on_progress(n: int) -> None:
        print("progress:", n)

    final = await session.call(
        "com.example.countdown", 3, options=CallOptions(on_progress=on_progress)
    )
    print("final result:", final)

    # Without on_progress the callee sends no partial results: just the final one.
    print("without progress:", await session.call("com.example.countdown", 3))

    # call_iter(): the partial results, then the final result, as an async iterator.
    values = [value async for value in session.call_iter("com.example.countdown", 2)]
    print("call_iter:", values)

    await backend.stop()


frontend = Component(main=main, transports=URL, realm=REALM)

if __name__ == "__main__":
    run([backend, frontend])
