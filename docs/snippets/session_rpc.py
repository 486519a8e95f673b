"""Remote procedure calls: register, call, several results, errors."""

import asyncio
import os

import autostrada
from autostrada import ApplicationError, CallResult, RegisterOptions

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")


# --8<-- [start:define]
@ApplicationError.define("com.example.error.not_found")
class NotFound(Exception):
    pass  # raise it in a procedure: the caller gets com.example.error.not_found, as NotFound
    # --8<-- [end:define]


# --8<-- [start:procedures]
def add(a, b):  # a plain function ...
    return a + b


async def greet(name, greeting="hello"):  # ... or a coroutine function
    await asyncio.sleep(0)
    return f"{greeting}, {name}"


def split(a, b):
    return CallResult(a // b, a % b)  # several positional results


def stats(*values):
    return CallResult(count=len(values), total=sum(values))  # keyword results


def nothing():
    return None  # no result at all


def whoami(details):  # CallDetails, asked for with RegisterOptions(details=True)
    return details.procedure  # and details.caller*, when the router discloses the caller


def find(key):
    raise NotFound(key)  # error com.example.error.not_found, args [key]


def check(n):
    if n < 0:
        raise ApplicationError("com.example.error.negative", n, hint="use n >= 0")
    return n
    # --8<-- [end:procedures]


async def main():
    async with await autostrada.connect(URL, "realm1") as session:
        # --8<-- [start:register]
        await session.register(add, "com.example.add")
        await session.register(greet, "com.example.greet")
        await session.register(split, "com.example.split")
        await session.register(stats, "com.example.stats")
        await session.register(nothing, "com.example.nothing")
        await session.register(whoami, "com.example.whoami", RegisterOptions(details=True))
        await session.register(find, "com.example.find")
        registration = await session.register(check, "com.example.check")
        # --8<-- [end:register]

        # --8<-- [start:call]
        print(await session.call("com.example.add", 2, 3))  # 5
        print(await session.call("com.example.greet", "Ada", greeting="hi"))  # hi, Ada
        result = await session.call("com.example.split", 7, 2)  # a CallResult
        print(result.results)  # [3, 1]
        result = await session.call("com.example.stats", 1, 2, 3)
        print(result.kwresults)  # {'count': 3, 'total': 6}
        print(await session.call("com.example.nothing"))  # None
        print(await session.call("com.example.whoami"))
        # --8<-- [end:call]

        # --8<-- [start:errors]
        try:
            await session.call("com.example.check", -1)
        except ApplicationError as error:
            print(error.error, error.args, error.kwargs)
            # com.example.error.negative (-1,) {'hint': 'use n >= 0'}
        try:
            await session.call("com.example.find", "x")
        except NotFound as error:
            print("not found:", error.args)  # not found: ('x',)
        await registration.unregister()
        try:
            await session.call("com.example.check", 1)
        except ApplicationError as error:
            print(error.error)  # wamp.error.no_such_procedure
        # --8<-- [end:errors]


asyncio.run(main())
