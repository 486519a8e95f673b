"""PubSub scenarios of the Autobahn|Python peer (see ``tests/peers/test_peers.py``)."""

from __future__ import annotations

import asyncio
from typing import Any

from autobahn.wamp.types import PublishOptions, SubscribeOptions
from peer import Context, emit, scenario


@scenario
async def exclusion(ctx: Context) -> dict[str, Any]:
    peer = await ctx.join()
    s = peer.session
    received: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()

    def on_event(*args: Any) -> None:
        if not received.done():
            received.set_result(list(args))

    await s.subscribe(on_event, "peer.excl")
    emit("ready")
    await ctx.command()  # the test subscribed too
    # Publisher exclusion is the default: we must not get "excluded", but "included".
    await s.publish("peer.excl", "excluded", options=PublishOptions(acknowledge=True))
    await s.publish(
        "peer.excl", "included", options=PublishOptions(acknowledge=True, exclude_me=False)
    )
    first = await asyncio.wait_for(received, 10)
    emit("received", first=first)
    await peer.leave()
    return {}


@scenario
async def blackwhite(ctx: Context) -> dict[str, Any]:
    peer = await ctx.join()
    s = peer.session
    emit("ready")
    cmd = await ctx.command()
    ids = cmd["sessions"]  # {"ticket": id, "wampcra": id, "cryptosign": id}
    c = ctx.creds
    filters: list[tuple[str, dict[str, Any]]] = [
        ("exclude", {"exclude": [ids["ticket"]]}),
        ("eligible", {"eligible": [ids["wampcra"]]}),
        ("exclude_authid", {"exclude_authid": [c["cra_authid"]]}),
        ("eligible_authid", {"eligible_authid": [c["ticket_authid"]]}),
        ("exclude_authrole", {"exclude_authrole": ["user"]}),
        ("eligible_authrole", {"eligible_authrole": ["backend"]}),
        ("eligible_and_exclude", {"eligible": list(ids.values()), "exclude": [ids["wampcra"]]}),
        ("end", {}),
    ]
    for name, options in filters:
        await s.publish("com.test.bw", name, options=PublishOptions(acknowledge=True, **options))
    emit("published", names=[name for name, _ in filters])
    await peer.leave()
    return {}


@scenario
async def retention(ctx: Context) -> dict[str, Any]:
    peer = await ctx.join()
    s = peer.session
    ack = PublishOptions(acknowledge=True, retain=True)
    await s.publish("peer.retained", "kept", 1, options=ack, note="retained by the peer")
    emit("ready")
    await ctx.command()  # the test published test.retained with retain=True
    got: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

    def on_event(*args: Any, details: Any, **kwargs: Any) -> None:
        if not got.done():
            got.set_result({"args": list(args), "kwargs": kwargs, "retained": details.retained})

    await s.subscribe(
        on_event,
        "test.retained",
        options=SubscribeOptions(get_retained=True, details_arg="details"),
    )
    emit("event", **await asyncio.wait_for(got, 10))
    await peer.leave()
    return {}
