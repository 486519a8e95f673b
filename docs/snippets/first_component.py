"""A first component: a procedure and an event handler, running until Ctrl-C."""

import os

from autostrada import Component, run

# Where the router listens: `autostrada router` serves ws://127.0.0.1:8080/ws.
URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")

component = Component(transports=URL, realm="realm1")


@component.register("com.example.add")
def add(a, b):
    return a + b


@component.subscribe("com.example.hello")
def hello(name):
    print(f"hello, {name}")


@component.on_ready
def ready(session):
    print("ready: com.example.add is registered")


if __name__ == "__main__":
    run([component])  # until Ctrl-C: then it leaves the realm and exits
