"""Progressive results (the callee reports progress) and progressive call invocations."""

import asyncio
import os

import autostrada
from autostrada import CallOptions, RegisterOptions

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")


# --8<-- [start:callee]
async def countdown(n, details):
    for i in range(n, 0, -1):
        if details.progress is not None:  # the caller asked for progressive results
            details.progress(i)
        await asyncio.sleep(0)
    return "liftoff"
    # --8<-- [end:callee]


async def main():
    async with await autostrada.connect(URL, "realm1") as session:
        await session.register(countdown, "com.example.countdown", RegisterOptions(details=True))

        # --8<-- [start:call_iter]
        async for value in session.call_iter("com.example.countdown", 3):
            print(value)  # 3, 2, 1, then the result: liftoff
        # --8<-- [end:call_iter]

        # --8<-- [start:on_progress]
        def on_progress(i):  # may be a coroutine function: awaited in order
            print("progress", i)

        result = await session.call(
            "com.example.countdown", 2, options=CallOptions(on_progress=on_progress)
        )
        print(result)  # progress 2, progress 1, then: liftoff
        # --8<-- [end:on_progress]

        # --8<-- [start:call_stream]
        chunks = []

        def collect(*numbers, details):  # called once per chunk, in order
            chunks.append(sum(numbers))
            return sum(chunks)  # what it returns for the last chunk is the result

        await session.register(collect, "com.example.sum", RegisterOptions(details=True))
        stream = await session.call_stream("com.example.sum", 1, 2)  # the first chunk
        stream.send(3)
        print(await stream.finish(4))  # the last chunk, then the result: 10
        # --8<-- [end:call_stream]


asyncio.run(main())
