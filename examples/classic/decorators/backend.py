"""Decorators, backend: ``@wamp.register`` / ``@wamp.subscribe`` on the session's methods.

``self.register(self)`` registers every decorated method of the session, and
``self.subscribe(self)`` subscribes every decorated handler.

Run a router (``autostrada router``), this backend, then ``frontend.py`` next to it.
``AUTOSTRADA_URL`` and ``AUTOSTRADA_REALM`` say where to connect instead.
"""

from __future__ import annotations

import os

from autostrada import ApplicationRunner, ApplicationSession, SessionDetails, wamp

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")
REALM = os.environ.get("AUTOSTRADA_REALM", "realm1")


class Backend(ApplicationSession):
    greeting = "Hello"

    @wamp.register("com.example.add2")
    def add2(self, a: int, b: int) -> int:
        return a + b

    @wamp.register("com.example.greet")
    async def greet(self, name: str) -> str:
        return f"{self.greeting}, {name}!"

    @wamp.subscribe("com.example.set_greeting")
    def set_greeting(self, greeting: str) -> None:
        self.greeting = greeting

    async def onJoin(self, details: SessionDetails) -> None:
        registrations = await self.register(self)
        subscriptions = await self.subscribe(self)
        procedures = sorted(r.procedure for r in registrations)
        print(f"backend: registered {procedures}, subscribed {len(subscriptions)}")
        print("backend: ready", flush=True)


if __name__ == "__main__":
    ApplicationRunner(URL, REALM).run(Backend)
