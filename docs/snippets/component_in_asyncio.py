"""A component inside an asyncio application that does other things too."""

import asyncio
import os

import autostrada
from autostrada import Component

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")

component = Component(transports=URL, realm="realm1")


@component.register("com.example.add")
def add(a, b):
    return a + b


async def application():
    ready = asyncio.Event()
    component.on("ready", lambda session: ready.set())
    async with component:  # starts it; leaving the block stops it (GOODBYE first)
        await ready.wait()
        async with await autostrada.connect(URL, "realm1") as session:
            print(await session.call("com.example.add", 2, 3))
    # Or run it to its end: await component.run(), or
    # await autostrada.run([component], start_loop=False).


asyncio.run(application())
