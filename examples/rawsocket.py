"""RawSocket transport: WAMP over plain TCP framing, without WebSocket.

A transport dict with ``"type": "rawsocket"`` (or just an ``rs://`` / ``tcp://`` URL;
``rss://`` for TLS, ``rs+unix:///path`` for a Unix socket) and one ``serializer``
(RawSocket negotiates a single one: json, msgpack or cbor).

``autostrada router`` serves RawSocket on port 8081. Run it, then::

    python examples/rawsocket.py

``AUTOSTRADA_RS_URL`` overrides where to connect.
"""

from __future__ import annotations

import asyncio
import os

from autostrada import Component, Session, run

RS_URL = os.environ.get("AUTOSTRADA_RS_URL", "rs://127.0.0.1:8081")
REALM = os.environ.get("AUTOSTRADA_REALM", "realm1")


async def main(loop: asyncio.AbstractEventLoop, session: Session) -> None:
    details = session.details
    assert details is not None and details.transport is not None
    print(f"joined via {details.transport.peer} with serializer {details.serializer}")
    # msgpack carries bytes as they are.
    print("echo ->", await session.call("com.example.echo", b"\x00binary\xff"))


component = Component(
    main=main,
    transports=[
        {
            "type": "rawsocket",
            "url": RS_URL,
            "serializer": "msgpack",
            "max_retries": 3,  # retry settings work as with WebSocket
        }
    ],
    realm=REALM,
)


@component.register("com.example.echo")  # main runs once this is registered
def echo(value: object) -> object:
    return value


if __name__ == "__main__":
    run([component])
