"""A long-running service: reconnects with backoff and registers again after every join."""

import os

from autostrada import Component, RegisterOptions, run

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")
RS_URL = os.environ.get("AUTOSTRADA_RS_URL", "rs://127.0.0.1:8081")

# --8<-- [start:transports]
component = Component(
    transports=[
        {
            "url": URL,  # tried first
            "serializers": ["cbor", "json"],  # offered in this order
            "max_retries": -1,  # retry forever (the default)
            "initial_retry_delay": 1.0,  # seconds before the first retry
            "retry_delay_growth": 1.5,  # each further retry waits 1.5 times longer ...
            "retry_delay_jitter": 0.1,  # ... give or take 10 %
            "max_retry_delay": 30.0,  # ... but never more than this
        },
        RS_URL,  # the next transport, tried when the one before it failed
    ],
    realm="realm1",
)
# --8<-- [end:transports]


# --8<-- [start:register]
@component.register("com.example.add")
def add(a, b):
    return a + b


@component.register("com.example.slow_add", RegisterOptions(concurrency=4))
async def slow_add(a, b):  # coroutine functions work everywhere a function does
    return a + b


@component.subscribe("com.example.hello")
def hello(name):
    print(f"hello, {name}")
    # --8<-- [end:register]


# --8<-- [start:events]
@component.on_connect
def connected(session, transport):
    print("connected")


@component.on_join
async def joined(session, details):
    print(f"joined {details.realm} as {details.authrole}")


@component.on_ready  # after every join handler, including the registrations above
def ready(session):
    print("ready")


@component.on_leave
def left(session, details):
    print(f"left: {details.reason}")


@component.on_disconnect
def disconnected(session, was_clean):
    print(f"disconnected (clean: {was_clean})")


@component.on_connectfailure
def connect_failed(component, error):
    print(f"could not connect: {error}")
    # --8<-- [end:events]


if __name__ == "__main__":
    run([component])  # until Ctrl-C or SIGTERM
