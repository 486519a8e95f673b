"""A job: main(loop, session) runs after the join; when it returns, the component is done."""

import os

from autostrada import Component, SessionClosed, run
from autostrada.aio.component import default_is_fatal

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")


async def main(loop, session):
    await session.register(lambda a, b: a + b, "com.example.add")
    print("2 + 3 =", await session.call("com.example.add", 2, 3))
    # Returning ends the component: it leaves the realm and run() returns.
    # An exception ends it too, with that exception: run() raises it.


# --8<-- [start:is_fatal]
def is_fatal(error):
    """Keep trying while the realm does not exist yet (e.g. started later by the router)."""
    if isinstance(error, SessionClosed) and error.reason == "wamp.error.no_such_realm":
        return False
    return default_is_fatal(error)  # bad credentials, TLS certificate errors...
    # --8<-- [end:is_fatal]


component = Component(
    main=main,
    transports={"url": URL, "max_retries": 5},  # give up after 1 + 5 attempts
    realm="realm1",
    is_fatal=is_fatal,
)

if __name__ == "__main__":
    run([component], log_level="warning")
