"""RPC arguments, frontend: call with positional and keyword arguments, then leave.

Start ``backend.py`` first. The runner returns once the session has disconnected.
"""

from __future__ import annotations

import os

from autostrada import ApplicationRunner, ApplicationSession, SessionDetails

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")
REALM = os.environ.get("AUTOSTRADA_REALM", "realm1")


class Frontend(ApplicationSession):
    async def onJoin(self, details: SessionDetails) -> None:
        print("ping() ->", await self.call("com.arguments.ping"))
        print("add2(2, 3) ->", await self.call("com.arguments.add2", 2, 3))
        print("stars() ->", await self.call("com.arguments.stars"))
        print("stars(nick='Homer') ->", await self.call("com.arguments.stars", nick="Homer"))
        print("stars(stars=5) ->", await self.call("com.arguments.stars", stars=5))
        print(
            "stars(nick='Homer', stars=5) ->",
            await self.call("com.arguments.stars", nick="Homer", stars=5),
        )
        print("orders('coffee') ->", await self.call("com.arguments.orders", "coffee"))
        print("orders('tea', limit=2) ->", await self.call("com.arguments.orders", "tea", limit=2))
        print("arglen() ->", await self.call("com.arguments.arglen"))
        print("arglen(1, 2, 3) ->", await self.call("com.arguments.arglen", 1, 2, 3))
        print("arglen(a=1, b=2) ->", await self.call("com.arguments.arglen", a=1, b=2))
        print(
            "arglen(1, 2, 3, a=1, b=2) ->",
            await self.call("com.arguments.arglen", 1, 2, 3, a=1, b=2),
        )
        self.leave()

    def onDisconnect(self) -> None:
        print("frontend: disconnected")


if __name__ == "__main__":
    ApplicationRunner(URL, REALM).run(Frontend)
