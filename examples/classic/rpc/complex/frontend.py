"""RPC complex results, frontend: take several positional and keyword results apart.

Start ``backend.py`` first.
"""

from __future__ import annotations

import os

from autostrada import ApplicationRunner, ApplicationSession, SessionDetails

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")
REALM = os.environ.get("AUTOSTRADA_REALM", "realm1")


class Frontend(ApplicationSession):
    async def onJoin(self, details: SessionDetails) -> None:
        res = await self.call("com.myapp.add_complex", 2, 3, 4, 5)
        print(f"add_complex: {res.kwresults['c']} + {res.kwresults['ci']}i")

        res = await self.call("com.myapp.split_name", "Homer Simpson")
        print(f"split_name: forename {res.results[0]}, surname {res.results[1]}")

        res = await self.call("com.myapp.profile", "ada")
        print(f"profile: results {res.results} kwresults {res.kwresults}")
        self.leave()

    def onDisconnect(self) -> None:
        print("frontend: disconnected")


if __name__ == "__main__":
    ApplicationRunner(URL, REALM).run(Frontend)
