"""The client side of every authentication method (the router: auth_router.toml)."""

import asyncio
import os

import autostrada
from autostrada import ApplicationError, AuthenticationFailed, Component

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")


async def join(realm, authentication):
    """Join, print who the router says we are, leave."""
    async with await autostrada.connect(URL, realm, authentication=authentication) as session:
        details = session.details
        print(f"{details.authmethod}: {details.authid} as {details.authrole}")


async def main():
    # --8<-- [start:anonymous]
    await join("realm1", None)  # no authentication: anonymous
    async with await autostrada.connect(URL, "realm1") as session:
        try:
            await session.call("com.example.add", 2, 3)  # not allowed for "anonymous"
        except ApplicationError as error:
            print(error.error)
    # --8<-- [end:anonymous]

    # --8<-- [start:ticket]
    await join("realm1", {"ticket": {"authid": "alice", "ticket": os.environ["ALICE_TICKET"]}})
    # --8<-- [end:ticket]

    # --8<-- [start:wampcra]
    await join("realm1", {"wampcra": {"authid": "backend-1", "secret": "backend-secret"}})
    await join("realm1", {"wampcra": {"authid": "carol", "secret": "carol-password"}})  # salted
    # --8<-- [end:wampcra]

    # --8<-- [start:cryptosign]
    privkey = "5d7c9e140ea1d882f57530d8af4e7d618806099c40b64b6ee071c9283c06b76c"  # the seed, hex
    await join("realm1", {"cryptosign": {"authid": "device-1", "privkey": privkey}})
    # --8<-- [end:cryptosign]

    # --8<-- [start:scram]
    await join("realm1", {"scram": {"authid": "dave", "password": "dave-password"}})
    # --8<-- [end:scram]

    # --8<-- [start:refused]
    try:
        await join("realm1", {"ticket": {"authid": "alice", "ticket": "wrong"}})
    except AuthenticationFailed as error:
        print("refused:", error.reason)
    # --8<-- [end:refused]

    # --8<-- [start:dynamic]
    async def authenticate(realm, authid, details):
        """Called by the router for each client joining "devices" with a ticket."""
        if details["ticket"] != f"{authid}-ticket":  # look it up in your own database
            raise ApplicationError(ApplicationError.NOT_AUTHORIZED, "unknown device or ticket")
        return {"role": "device", "extra": {"greeting": f"welcome, {authid}"}}

    backend = {"wampcra": {"authid": "backend-1", "secret": "backend-secret"}}
    async with await autostrada.connect(URL, "realm1", authentication=backend) as session:
        await session.register(authenticate, "com.example.authenticate")
        await join("devices", {"ticket": {"authid": "sensor-7", "ticket": "sensor-7-ticket"}})
        try:
            await join("devices", {"ticket": {"authid": "sensor-7", "ticket": "guess"}})
        except AuthenticationFailed as error:
            print("refused:", error.reason)
    # --8<-- [end:dynamic]


asyncio.run(main())


# --8<-- [start:component]
async def show(loop, session):
    print(f"component: {session.details.authid} as {session.details.authrole}")


component = Component(
    main=show,
    transports=URL,
    realm="realm1",
    authentication={"wampcra": {"authid": "backend-1", "secret": "backend-secret"}},
)
autostrada.run([component], log_level="warning")
# --8<-- [end:component]
