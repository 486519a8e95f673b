"""The router inside your own program, configured in code."""

import asyncio

import autostrada
from autostrada.router.config import ListenerConfig, ServerConfig
from autostrada.router.core import AnonymousAuth, Permission, RealmConfig, RoleConfig, RouterConfig
from autostrada.router.server import RouterServer

config = ServerConfig(
    router=RouterConfig(
        realms=[
            RealmConfig(
                name="realm1",
                roles=[
                    RoleConfig(
                        "anonymous",
                        [Permission("com.example.", "prefix", call=True, register=True)],
                    )
                ],
                auth=[AnonymousAuth(role="anonymous")],
            )
        ]
    ),
    listeners=[ListenerConfig("universal", host="127.0.0.1", port=0)],  # 0: a free port
)


async def main():
    async with RouterServer(config) as server:  # stops gracefully when the block ends
        ws_url, rs_url = server.urls  # the actual addresses
        async with (
            await autostrada.connect(ws_url, "realm1") as callee,
            await autostrada.connect(rs_url, "realm1") as caller,
        ):
            await callee.register(lambda a, b: a + b, "com.example.add")
            print(await caller.call("com.example.add", 2, 3))  # 5
        # To serve until cancelled (Ctrl-C in asyncio.run): await server.serve_forever()


asyncio.run(main())
