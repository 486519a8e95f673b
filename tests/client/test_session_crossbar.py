"""The core paths of the client against Crossbar, over every transport and serializer.

call / register / publish / subscribe with payloads, Autobahn's result rules, errors
with URI and payload, and a 1 MiB payload each way: ws, rs (TCP) and rs (Unix socket),
each with json, msgpack and cbor (the ``cb_target`` fixture).
"""

from __future__ import annotations

import asyncio
import os
import secrets
from typing import Any

import pytest
from clientkit import Target, async_test, sessions, within

from autostrada import (
    ApplicationError,
    CallResult,
    EventDetails,
    Publication,
    PublishOptions,
    Registration,
    SessionDetails,
    SubscribeOptions,
    Subscription,
)

MiB = 1 << 20


def unique(uri: str) -> str:
    """A URI no other test uses (Crossbar's realm outlives each test)."""
    return f"{uri}.{secrets.token_hex(4)}"


def echo(*args: Any, **kwargs: Any) -> CallResult:
    return CallResult(*args, **kwargs)


@async_test
async def test_join_details(cb_target: Target) -> None:
    async with sessions(cb_target.url, 1, serializer=cb_target.serializer) as [session]:
        details = session.details
        assert isinstance(details, SessionDetails)
        assert details.realm == cb_target.realm
        assert details.serializer == cb_target.serializer
        assert details.authmethod == "anonymous"
        assert details.authrole == "anonymous"
        assert session.session_id == details.session
        assert isinstance(session.session_id, int)
        assert session.is_attached() and session.is_connected()
        transport = session.transport_details
        assert transport.peer == cb_target.url
        assert transport.is_secure is False
        if cb_target.transport == "ws":
            assert transport.channel_type == "WebSocketChannel"
            assert transport.websocket_protocol == f"wamp.2.{cb_target.serializer}"
        else:
            assert transport.channel_type == "RawSocketChannel"
        assert session.router_supports("dealer", "call_canceling")
        assert not session.router_supports("dealer", "no_such_feature")


@async_test
async def test_call_result_rules_and_errors(cb_target: Target) -> None:
    async with sessions(cb_target.url, 2, serializer=cb_target.serializer) as [caller, callee]:
        procedure = unique("com.test.echo")
        reg = await callee.register(echo, procedure)
        assert isinstance(reg, Registration) and reg.active and reg.procedure == procedure

        # Autobahn's rules: nothing -> None; one value -> the value; else a CallResult.
        assert await caller.call(procedure) is None
        assert await caller.call(procedure, 7) == 7
        assert await caller.call(procedure, [1, 2]) == [1, 2]
        assert await caller.call(procedure, {"a": [1, None]}) == {"a": [1, None]}
        several = await caller.call(procedure, 1, "two")
        assert isinstance(several, CallResult)
        assert several.results == [1, "two"] and several.kwresults == {}
        keywords = await caller.call(procedure, x=1)
        assert isinstance(keywords, CallResult)
        assert keywords.results == [] and keywords.kwresults == {"x": 1}
        assert await caller.call(procedure, 1, y="z") == CallResult(1, y="z")

        # A plain return value is one result; None is no result.
        single = unique("com.test.single")
        await callee.register(lambda a, b: a + b, single)
        assert await caller.call(single, 2, 3) == 5
        nothing = unique("com.test.nothing")
        await callee.register(lambda: None, nothing)
        assert await caller.call(nothing) is None

        # ApplicationError: URI, args and kwargs travel both ways.
        def fail(*args: Any, **kwargs: Any) -> None:
            raise ApplicationError("com.test.error.bad", *args, **kwargs)

        failing = unique("com.test.fail")
        await callee.register(fail, failing)
        with pytest.raises(ApplicationError) as caught:
            await caller.call(failing, 1, "a", why="because")
        assert caught.value.error == "com.test.error.bad"
        assert caught.value.args_ == [1, "a"]
        assert caught.value.kwargs == {"why": "because"}

        with pytest.raises(ApplicationError) as missing:
            await caller.call(unique("com.test.nobody"))
        assert missing.value.error == ApplicationError.NO_SUCH_PROCEDURE

        await reg.unregister()
        assert not reg.active
        with pytest.raises(ApplicationError) as gone:
            await caller.call(procedure)
        assert gone.value.error == ApplicationError.NO_SUCH_PROCEDURE


@async_test
async def test_publish_subscribe(cb_target: Target) -> None:
    async with sessions(cb_target.url, 2, serializer=cb_target.serializer) as [pub, sub]:
        topic = unique("com.test.topic")
        received: asyncio.Queue[tuple[tuple[Any, ...], dict[str, Any]]] = asyncio.Queue()

        def handler(*args: Any, **kwargs: Any) -> None:
            received.put_nowait((args, kwargs))

        subscription = await sub.subscribe(handler, topic, SubscribeOptions(details=True))
        assert isinstance(subscription, Subscription) and subscription.active

        publication = await pub.publish(
            topic, 1, [2], k="v", options=PublishOptions(acknowledge=True)
        )
        assert isinstance(publication, Publication) and isinstance(publication.id, int)
        args, kwargs = await within(received.get())
        assert args == (1, [2])
        details = kwargs.pop("details")
        assert kwargs == {"k": "v"}
        assert isinstance(details, EventDetails)
        assert details.publication == publication.id
        assert details.subscription is subscription
        # The Crossbar fixture discloses publishers.
        assert details.publisher == pub.session_id
        assert details.publisher_authrole == "anonymous"

        # Unacknowledged publish returns None; the publisher is excluded by default.
        assert pub.publish(topic, "quiet") is None
        got: asyncio.Queue[Any] = asyncio.Queue()
        await pub.subscribe(got.put_nowait, topic)
        pub.publish(topic, "excluded")
        pub.publish(topic, "included", options=PublishOptions(exclude_me=False))
        assert await within(got.get()) == "included"
        assert (await within(received.get()))[0] == ("quiet",)

        await subscription.unsubscribe()
        assert not subscription.active


@async_test
async def test_megabyte_payload_round_trip(cb_target: Target) -> None:
    options = {"serializer": cb_target.serializer, "max_message_size": 2 * MiB}
    async with sessions(cb_target.url, 2, **options) as [caller, callee]:
        procedure = unique("com.test.big")
        await callee.register(lambda data: data[::-1], procedure)
        blob = os.urandom(MiB)
        assert await caller.call(procedure, blob) == blob[::-1]

        topic = unique("com.test.big")
        events: asyncio.Queue[str] = asyncio.Queue()
        await callee.subscribe(events.put_nowait, topic)
        text = "x" * (MiB - 1) + "!"
        await caller.publish(topic, text, options=PublishOptions(acknowledge=True))
        assert await within(events.get()) == text
