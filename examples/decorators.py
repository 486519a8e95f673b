"""Decorators on objects: ``@wamp.register`` and ``@wamp.subscribe`` mark methods.

``session.register(obj)`` registers every method of ``obj`` marked with
``@wamp.register`` (``prefix=`` goes in front of each URI); ``session.subscribe(obj)``
subscribes every method marked with ``@wamp.subscribe``. The decorators return the
method unchanged: it stays an ordinary method of the class.

Run a router (``autostrada router``), then::

    python examples/decorators.py
"""

from __future__ import annotations

import asyncio
import os

from autostrada import Component, Session, SessionDetails, run, wamp

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")
REALM = os.environ.get("AUTOSTRADA_REALM", "realm1")


class Calculator:
    """A calculator with a running total: procedures and an event handler in one object."""

    def __init__(self) -> None:
        self.total = 0

    @wamp.register("add")  # registered as com.example.calculator.add (see prefix= below)
    def add(self, x: int) -> int:
        self.total += x
        return self.total

    @wamp.register("total")
    def get_total(self) -> int:
        return self.total

    @wamp.subscribe("com.example.calculator.reset")
    def on_reset(self, reason: str) -> None:
        print(f"calculator: reset ({reason}); the total was {self.total}")
        self.total = 0
        reset_seen.set()  # only so that this example can wait for it


reset_seen = asyncio.Event()


backend = Component(transports=URL, realm=REALM)
backend_ready = asyncio.Event()


@backend.on_join
async def serve(session: Session, details: SessionDetails) -> None:
    calculator = Calculator()  # a fresh one for every session
    registrations = await session.register(calculator, prefix="com.example.calculator.")
    subscriptions = await session.subscribe(calculator)
    print(f"backend: {len(registrations)} procedures, {len(subscriptions)} subscription")
    backend_ready.set()


async def main(loop: asyncio.AbstractEventLoop, session: Session) -> None:
    await backend_ready.wait()
    for x in (2, 3, 4):
        print(f"add({x}) ->", await session.call("com.example.calculator.add", x))
    session.publish("com.example.calculator.reset", "the frontend asked")
    await reset_seen.wait()
    print("total ->", await session.call("com.example.calculator.total"))

    # The method is still a plain method.
    print("a local Calculator: add(1) ->", Calculator().add(1))
    await backend.stop()


frontend = Component(main=main, transports=URL, realm=REALM)

if __name__ == "__main__":
    run([backend, frontend])
