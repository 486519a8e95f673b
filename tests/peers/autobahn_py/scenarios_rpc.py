"""RPC scenarios of the Autobahn|Python peer (the test drives the other side).

Each scenario's steps and the events it prints are described next to the test that
runs it, in ``tests/peers/test_peers.py``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import (
    CallOptions,
    CallResult,
    PublishOptions,
    RegisterOptions,
    SubscribeOptions,
)
from peer import Context, emit, error_of, result_of, scenario


@scenario
async def basic(ctx: Context) -> dict[str, Any]:
    peer = await ctx.join()
    s = peer.session

    def echo(*args: Any, **kwargs: Any) -> CallResult:
        return CallResult(*args, **kwargs)

    def on_event(*args: Any, details: Any, **kwargs: Any) -> None:
        emit(
            "event",
            args=list(args),
            kwargs=kwargs,
            topic=details.topic,
            publisher=details.publisher,
        )

    await s.register(echo, "peer.echo")
    await s.subscribe(on_event, "peer.topic", options=SubscribeOptions(details_arg="details"))
    emit("ready", **peer.describe())
    cmd = await ctx.command()
    result = await s.call("test.echo", *cmd["args"], **cmd["kwargs"])
    publication = await s.publish(
        "test.topic", *cmd["args"], options=PublishOptions(acknowledge=True), **cmd["kwargs"]
    )
    emit("called", result=result_of(result), publication=publication.id)
    await peer.leave()
    return {}


@scenario
async def errors(ctx: Context) -> dict[str, Any]:
    peer = await ctx.join()
    s = peer.session

    def fail(*args: Any, **kwargs: Any) -> None:
        raise ApplicationError("com.peer.error.custom", "peer says no", 7, detail={"k": "v"})

    def crash() -> None:
        raise RuntimeError("kaput")

    await s.register(fail, "peer.fail")
    await s.register(crash, "peer.crash")
    seen: dict[str, Any] = {}
    for name, procedure in (
        ("custom", "test.fail"),
        ("runtime", "test.crash"),
        ("missing", "com.nobody.here"),
        ("denied", "com.denied.proc"),
    ):
        try:
            value = await s.call(procedure, "x", n=1)
        except Exception as exc:
            seen[name] = error_of(exc)
        else:
            seen[name] = {"unexpected_result": result_of(value)}
    emit("ready", errors=seen)
    await ctx.command()
    await peer.leave()
    return {}


@scenario
async def progress(ctx: Context) -> dict[str, Any]:
    peer = await ctx.join()
    s = peer.session

    async def progressive(count: int, details: Any) -> str:
        for index in range(count):
            details.progress(index, of=count)
        return "peer-final"

    await s.register(progressive, "peer.progress", options=RegisterOptions(details_arg="details"))
    updates: list[Any] = []

    def on_progress(*args: Any, **kwargs: Any) -> None:
        updates.append({"args": list(args), "kwargs": kwargs})

    result = await s.call("test.progress", 3, options=CallOptions(on_progress=on_progress))
    emit("ready", updates=updates, result=result_of(result))
    await ctx.command()
    await peer.leave()
    return {}


@scenario
async def cancel(ctx: Context) -> dict[str, Any]:
    peer = await ctx.join()
    s = peer.session

    async def slow() -> str:
        emit("invoked")
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            emit("interrupted")
            raise
        return "never"

    await s.register(slow, "peer.slow")
    await s.register(lambda: "pong", "peer.ping")
    emit("ready")
    # 1. We call the test's slow procedure, and cancel when the test says so.
    call = s.call("test.slow")
    emit("calling")
    await ctx.command()
    call.cancel()
    try:
        value = await call
    except BaseException as exc:  # CancelledError is what Autobahn gives
        outcome: dict[str, Any] = {"exception": type(exc).__name__}
    else:
        outcome = {"unexpected_result": result_of(value)}
    ping = await s.call("test.ping")
    emit("canceled", outcome=outcome, ping=ping)
    # 2. The test calls peer.slow and cancels it: "invoked", then "interrupted".
    await ctx.command()
    await peer.leave()
    return {}


@scenario
async def timeout(ctx: Context) -> dict[str, Any]:
    peer = await ctx.join()
    s = peer.session

    async def slow() -> str:
        emit("invoked")
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            emit("interrupted")
            raise
        return "never"

    await s.register(slow, "peer.slow")
    try:
        # CALL.Options.timeout in ms on the wire, as Crossbar reads it.
        value = await s.call("test.slow", options=CallOptions(timeout=ctx.params["timeout_ms"]))
    except Exception as exc:
        outcome = error_of(exc)
    else:
        outcome = {"unexpected_result": result_of(value)}
    emit("ready", outcome=outcome)
    await ctx.command()
    await peer.leave()
    return {}


@scenario
async def patterns(ctx: Context) -> dict[str, Any]:
    peer = await ctx.join()
    s = peer.session

    def by_prefix(*args: Any, details: Any, **kwargs: Any) -> CallResult:
        return CallResult(details.procedure, "prefix")

    def by_wildcard(*args: Any, details: Any, **kwargs: Any) -> CallResult:
        return CallResult(details.procedure, "wildcard")

    def on_event(*args: Any, details: Any, **kwargs: Any) -> None:
        emit("event", args=list(args), topic=details.topic)

    await s.register(
        by_prefix,
        "com.peer.pfx.",
        options=RegisterOptions(match="prefix", details_arg="details"),
    )
    await s.register(
        by_wildcard,
        "com.peer..wild",
        options=RegisterOptions(match="wildcard", details_arg="details"),
    )
    await s.subscribe(
        on_event, "com.peer.tpfx.", options=SubscribeOptions(match="prefix", details_arg="details")
    )
    await s.subscribe(
        on_event,
        "com.peer..twild",
        options=SubscribeOptions(match="wildcard", details_arg="details"),
    )
    emit("ready")
    await ctx.command()
    result = await s.call("test.pfx.deep.name", 1)
    emit("called", result=result_of(result))
    await ctx.command()
    await peer.leave()
    return {}


@scenario
async def shared(ctx: Context) -> dict[str, Any]:
    first = await ctx.join()
    second = await ctx.join()
    third = await ctx.join()
    options = RegisterOptions(invoke="roundrobin")
    await first.session.register(lambda: "first", "com.peer.shared", options=options)
    await second.session.register(lambda: "second", "com.peer.shared", options=options)
    try:
        await third.session.register(
            lambda: "third", "com.peer.shared", options=RegisterOptions(invoke="random")
        )
    except Exception as exc:
        conflict = error_of(exc)
    else:
        conflict = {"unexpected": "registered"}
    emit("ready", conflict=conflict)
    await ctx.command()
    await first.leave()
    emit("first_left")
    await ctx.command()
    await second.leave()
    await third.leave()
    return {}


@scenario
async def disclosure(ctx: Context) -> dict[str, Any]:
    peer = await ctx.join()
    s = peer.session

    def who(details: Any) -> dict[str, Any]:
        return {
            "caller": details.caller,
            "caller_authid": details.caller_authid,
            "caller_authrole": details.caller_authrole,
        }

    def on_event(details: Any) -> None:
        emit(
            "event",
            publisher=details.publisher,
            publisher_authid=details.publisher_authid,
            publisher_authrole=details.publisher_authrole,
        )

    await s.register(who, "peer.who", options=RegisterOptions(details_arg="details"))
    await s.subscribe(on_event, "peer.whotopic", options=SubscribeOptions(details_arg="details"))
    emit("ready", **peer.describe())
    await ctx.command()
    # As "anonymous" (a disclosing role), then as the cryptosign principal ("backend",
    # not disclosing).
    ack = PublishOptions(acknowledge=True)
    seen_by_test = await s.call("test.who")
    await s.publish("test.whotopic", options=ack)
    key = ctx.creds
    backend = await ctx.join(
        {
            "cryptosign": {
                "authid": key["cryptosign_authid"],
                "privkey": key["cryptosign_seed"],
            }
        }
    )
    seen_backend = await backend.session.call("test.who")
    await backend.session.publish("test.whotopic", options=ack)
    emit(
        "called",
        anonymous=seen_by_test,
        backend=seen_backend,
        backend_session=backend.id,
    )
    await ctx.command()
    await backend.leave()
    await peer.leave()
    return {}
