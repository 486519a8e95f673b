"""RPC errors, frontend: catch ApplicationError (URI, args, kwargs) and a defined exception.

Start ``backend.py`` first.
"""

from __future__ import annotations

import os

from autostrada import ApplicationError, ApplicationRunner, ApplicationSession, SessionDetails

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")
REALM = os.environ.get("AUTOSTRADA_REALM", "realm1")


class AppError1(Exception):
    """The caller's class for the error URI com.myapp.error1."""


class Frontend(ApplicationSession):
    async def onJoin(self, details: SessionDetails) -> None:
        # An ERROR com.myapp.error1 is raised here as AppError1.
        self.define(AppError1, "com.myapp.error1")

        for x in (4, 0, -1):
            try:
                print(f"sqrt({x}) ->", await self.call("com.myapp.sqrt", x))
            except ApplicationError as error:
                print(f"sqrt({x}) raised {error.error}: {error.args[0]}")

        for name in ("Ada", "foo", "ada", "a", "ada" * 4):
            try:
                await self.call("com.myapp.checkname", name)
                print(f"checkname({name!r}) -> ok")
            except ApplicationError as error:
                print(
                    f"checkname({name!r}) raised {error.error} "
                    f"args {list(error.args)} kwargs {error.kwargs}"
                )

        try:
            await self.call("com.myapp.compare", 3, 17)
        except AppError1 as error:
            print(f"compare(3, 17) raised AppError1{error.args}")
        print("compare(17, 3) ->", await self.call("com.myapp.compare", 17, 3))
        self.leave()

    def onDisconnect(self) -> None:
        print("frontend: disconnected")


if __name__ == "__main__":
    ApplicationRunner(URL, REALM).run(Frontend)
