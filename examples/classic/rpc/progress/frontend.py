"""RPC progressive results, frontend: receive progress with ``CallOptions(on_progress=...)``.

Start ``backend.py`` first.
"""

from __future__ import annotations

import os

from autostrada import ApplicationRunner, ApplicationSession, CallOptions, SessionDetails

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")
REALM = os.environ.get("AUTOSTRADA_REALM", "realm1")


class Frontend(ApplicationSession):
    async def onJoin(self, details: SessionDetails) -> None:
        def on_progress(step: int) -> None:
            print(f"progress: {step}")

        result = await self.call(
            "com.myapp.longop", 3, options=CallOptions(on_progress=on_progress)
        )
        print(f"final result: {result}")
        print("without progress:", await self.call("com.myapp.longop", 2))
        self.leave()

    def onDisconnect(self) -> None:
        print("frontend: disconnected")


if __name__ == "__main__":
    ApplicationRunner(URL, REALM).run(Frontend)
