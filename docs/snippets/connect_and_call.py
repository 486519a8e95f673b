"""A script: connect, register, call, leave (no reconnection: see Component for that)."""

import asyncio
import os

import autostrada

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")


async def main():
    async with await autostrada.connect(URL, "realm1") as session:
        await session.register(lambda a, b: a + b, "com.example.add")
        print(await session.call("com.example.add", 2, 3))  # 5


asyncio.run(main())
