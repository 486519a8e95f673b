"""Timeouts and cancellation: the caller stops waiting, the callee's task is cancelled."""

import asyncio
import os

import autostrada
from autostrada import ApplicationError, CallOptions

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")


async def main():
    async with (
        await autostrada.connect(URL, "realm1") as callee,
        await autostrada.connect(URL, "realm1") as caller,
    ):
        # --8<-- [start:callee]
        started, cancelled = asyncio.Event(), asyncio.Event()

        async def slow():
            started.set()
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:  # the router sent INTERRUPT
                cancelled.set()
                raise  # the caller is answered wamp.error.canceled
            return "done"

        await callee.register(slow, "com.example.slow")
        # --8<-- [end:callee]

        # --8<-- [start:timeout]
        try:
            await caller.call("com.example.slow", options=CallOptions(timeout=0.5))  # seconds
        except ApplicationError as error:
            print(error.error)  # wamp.error.timeout
        await cancelled.wait()
        print("the callee's task was cancelled")
        # --8<-- [end:timeout]

        # --8<-- [start:cancel]
        started.clear()
        cancelled.clear()
        call = asyncio.create_task(caller.call("com.example.slow"))
        await started.wait()
        call.cancel()  # or asyncio.timeout(), asyncio.wait_for(): same effect
        try:
            await call
        except asyncio.CancelledError:
            print("call cancelled")
        await cancelled.wait()
        print("the callee's task was cancelled")
        # --8<-- [end:cancel]


asyncio.run(main())
