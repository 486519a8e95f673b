"""RPC arguments: positional and keyword arguments, defaults, and what the caller gets back.

Two components in one program: a backend that registers procedures, and a frontend
that calls them once the backend is ready. Each could run in its own process.

Run a router (``autostrada router``), then::

    python examples/rpc/arguments.py

``AUTOSTRADA_URL`` and ``AUTOSTRADA_REALM`` override where to connect.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from autostrada import Component, Session, run

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")
REALM = os.environ.get("AUTOSTRADA_REALM", "realm1")

backend = Component(transports=URL, realm=REALM)
backend_ready = asyncio.Event()  # set once the backend's procedures are registered


@backend.register("com.example.ping")
def ping() -> None:
    """No arguments, no result: the caller gets None."""


@backend.register("com.example.add2")
def add2(a: int, b: int) -> int:
    """Positional arguments; one result value."""
    return a + b


@backend.register("com.example.stars")
def stars(nick: str = "somebody", stars: int = 0) -> str:
    """Keyword arguments with defaults: the caller may leave any of them out."""
    return f"{nick} starred {stars}x"


@backend.register("com.example.orders")
def orders(product: str, limit: int = 3) -> list[str]:
    """A list is one value: the caller gets the list."""
    return [f"{product} #{n}" for n in range(limit)]


@backend.register("com.example.arglen")
def arglen(*args: Any, **kwargs: Any) -> list[int]:
    """Any number of arguments: count them."""
    return [len(args), len(kwargs)]


@backend.on_ready
def announce(session: Session) -> None:
    print("backend: procedures registered")
    backend_ready.set()


async def main(loop: asyncio.AbstractEventLoop, session: Session) -> None:
    await backend_ready.wait()

    print("ping() ->", await session.call("com.example.ping"))
    print("add2(2, 3) ->", await session.call("com.example.add2", 2, 3))
    print("stars() ->", await session.call("com.example.stars"))
    print("stars(nick='Homer') ->", await session.call("com.example.stars", nick="Homer"))
    print("stars(stars=5) ->", await session.call("com.example.stars", stars=5))
    print(
        "stars(nick='Homer', stars=5) ->",
        await session.call("com.example.stars", nick="Homer", stars=5),
    )
    print("orders('coffee') ->", await session.call("com.example.orders", "coffee"))
    print("orders('tea', limit=1) ->", await session.call("com.example.orders", "tea", limit=1))
    print("arglen() ->", await session.call("com.example.arglen"))
    print("arglen(1, 2, 3) ->", await session.call("com.example.arglen", 1, 2, 3))
    print("arglen(a=1, b=2) ->", await session.call("com.example.arglen", a=1, b=2))
    print(
        "arglen(1, 2, 3, a=1, b=2) ->", await session.call("com.example.arglen", 1, 2, 3, a=1, b=2)
    )

    await backend.stop()  # the example is over: the backend leaves too


frontend = Component(main=main, transports=URL, realm=REALM)

if __name__ == "__main__":
    run([backend, frontend])
