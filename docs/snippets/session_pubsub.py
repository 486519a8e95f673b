"""Publish and subscribe: topics, options, acknowledgements, retained events."""

import asyncio
import os

import autostrada
from autostrada import PublishOptions, SubscribeOptions

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")


async def main():
    async with (
        await autostrada.connect(URL, "realm1") as subscriber,
        await autostrada.connect(URL, "realm1") as publisher,
    ):
        received = asyncio.Queue()

        # --8<-- [start:subscribe]
        def on_news(text, priority="normal"):
            received.put_nowait(f"news: {text} ({priority})")

        def on_sensor(value, details):  # EventDetails, asked for with details=True
            received.put_nowait(f"{details.topic}: {value}")

        news = await subscriber.subscribe(on_news, "com.example.news")
        await subscriber.subscribe(
            on_sensor, "com.example.sensor.", SubscribeOptions(match="prefix", details=True)
        )
        # --8<-- [end:subscribe]

        # --8<-- [start:publish]
        publisher.publish("com.example.news", "fire and forget")  # returns None
        publication = await publisher.publish(
            "com.example.news",
            "acknowledged",
            priority="high",
            options=PublishOptions(acknowledge=True),  # the broker confirms (or refuses)
        )
        print(type(publication).__name__)  # Publication
        publisher.publish("com.example.sensor.kitchen", 21.5)
        for _ in range(3):
            print(await received.get())
        # news: fire and forget (normal)
        # news: acknowledged (high)
        # com.example.sensor.kitchen: 21.5
        # --8<-- [end:publish]

        # --8<-- [start:exclude_me]
        subscriber.publish(
            "com.example.news", "to myself", options=PublishOptions(exclude_me=False)
        )
        print(await received.get())  # news: to myself (normal)
        # --8<-- [end:exclude_me]

        # --8<-- [start:retain]
        await publisher.publish(
            "com.example.status", "up", options=PublishOptions(retain=True, acknowledge=True)
        )
        await subscriber.subscribe(
            lambda state: received.put_nowait(f"status: {state}"),
            "com.example.status",
            SubscribeOptions(get_retained=True),  # the last retained event arrives at once
        )
        print(await received.get())  # status: up
        # --8<-- [end:retain]

        # --8<-- [start:unsubscribe]
        await news.unsubscribe()
        # --8<-- [end:unsubscribe]


asyncio.run(main())
