"""Complex results: several positional and keyword results with ``CallResult``.

A procedure returns one value (the caller gets that value), or a ``CallResult`` to send
several positional values and/or keyword values (the caller gets a ``CallResult`` with
``results`` and ``kwresults``). Autobahn's rules, unchanged.

Run a router (``autostrada router``), then::

    python examples/rpc/complex_results.py
"""

from __future__ import annotations

import asyncio
import os

from autostrada import CallResult, Component, Session, run

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")
REALM = os.environ.get("AUTOSTRADA_REALM", "realm1")

backend = Component(transports=URL, realm=REALM)
backend_ready = asyncio.Event()


@backend.register("com.example.split_name")
def split_name(full_name: str) -> CallResult:
    """Two positional results."""
    first, _, last = full_name.partition(" ")
    return CallResult(first, last)


@backend.register("com.example.add_complex")
def add_complex(a: float, ai: float, b: float, bi: float) -> CallResult:
    """Keyword results only."""
    return CallResult(c=a + b, ci=ai + bi)


@backend.register("com.example.stats")
def stats(*values: float) -> CallResult:
    """Positional and keyword results together."""
    ordered = sorted(values)
    return CallResult(*ordered, count=len(values), mean=sum(values) / len(values))


@backend.register("com.example.profile")
def profile(user: str) -> dict[str, object]:
    """A dict is one positional value, not keyword results."""
    return {"user": user, "roles": ["admin", "dev"]}


@backend.on_ready
def announce(session: Session) -> None:
    print("backend: procedures registered")
    backend_ready.set()


async def main(loop: asyncio.AbstractEventLoop, session: Session) -> None:
    await backend_ready.wait()

    result = await session.call("com.example.split_name", "Ada Lovelace")
    print("split_name: results", result.results, "kwresults", result.kwresults)

    result = await session.call("com.example.add_complex", 2, 3, 4, 5)
    print(f"add_complex: {result.kwresults['c']} + {result.kwresults['ci']}i")

    result = await session.call("com.example.stats", 3, 1, 2)
    print("stats: sorted", result.results, "count", result.kwresults["count"])

    # One positional value and no keywords: the value itself, not a CallResult.
    value = await session.call("com.example.profile", "ada")
    print("profile:", value)

    await backend.stop()


frontend = Component(main=main, transports=URL, realm=REALM)

if __name__ == "__main__":
    run([backend, frontend])
