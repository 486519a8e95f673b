"""Register and subscribe the decorated methods of an object (autobahn.wamp's decorators)."""

import asyncio
import os

import autostrada
from autostrada import wamp


# --8<-- [start:class]
class Thermostat:
    def __init__(self):
        self.target = 20.0
        self.changed = asyncio.Event()

    @wamp.register("com.example.thermostat.get")
    def get(self):
        return self.target

    @wamp.register("com.example.thermostat.set")
    async def set(self, value):
        self.target = value
        return value

    @wamp.subscribe("com.example.thermostat.reset")
    def reset(self):
        self.target = 20.0
        self.changed.set()
        # --8<-- [end:class]


URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")


async def main():
    async with (
        await autostrada.connect(URL, "realm1") as service,
        await autostrada.connect(URL, "realm1") as client,
    ):
        # --8<-- [start:use]
        thermostat = Thermostat()
        registrations = await service.register(thermostat)  # every @wamp.register method
        subscriptions = await service.subscribe(thermostat)  # every @wamp.subscribe method
        print(len(registrations), len(subscriptions))  # 2 1

        print(await client.call("com.example.thermostat.set", 22.5))  # 22.5
        client.publish("com.example.thermostat.reset")
        await thermostat.changed.wait()
        print(await client.call("com.example.thermostat.get"))  # 20.0
        # --8<-- [end:use]


asyncio.run(main())
