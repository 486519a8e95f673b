"""Meta API and authentication scenarios of the Autobahn|Python peer."""

from __future__ import annotations

import os
from typing import Any

from autobahn.wamp.types import SubscribeOptions
from peer import Context, JoinFailed, emit, error_of, scenario

META_TOPICS = (
    "wamp.session.on_join",
    "wamp.session.on_leave",
    "wamp.registration.on_create",
    "wamp.registration.on_register",
    "wamp.subscription.on_create",
    "wamp.subscription.on_subscribe",
)


@scenario
async def hello(ctx: Context) -> dict[str, Any]:
    peer = await ctx.join()
    emit("ready", **peer.describe())
    await peer.leave()
    return {}


@scenario
async def meta(ctx: Context) -> dict[str, Any]:
    peer = await ctx.join()
    s = peer.session
    for topic in META_TOPICS:

        def on_meta(*args: Any, details: Any, topic: str = topic, **kwargs: Any) -> None:
            emit("meta", topic=topic, args=list(args))

        await s.subscribe(on_meta, topic, options=SubscribeOptions(details_arg="details"))
    emit("ready", **peer.describe())
    cmd = await ctx.command()  # the test's session joined, registered and subscribed
    other = cmd["session"]
    answers: dict[str, Any] = {}

    async def ask(name: str, procedure: str, *args: Any) -> Any:
        try:
            answers[name] = await s.call(procedure, *args)
        except Exception as exc:
            answers[name] = error_of(exc)
        return answers[name]

    await ask("count", "wamp.session.count")
    await ask("list", "wamp.session.list")
    await ask("get", "wamp.session.get", other)
    await ask("get_missing", "wamp.session.get", 1)
    registration = await ask("reg_lookup", "wamp.registration.lookup", "test.meta.proc")
    await ask("reg_match", "wamp.registration.match", "test.meta.proc")
    await ask("reg_get", "wamp.registration.get", registration)
    await ask("reg_callees", "wamp.registration.list_callees", registration)
    subscription = await ask("sub_lookup", "wamp.subscription.lookup", "test.meta.topic")
    await ask("sub_match", "wamp.subscription.match", "test.meta.topic")
    await ask("sub_get", "wamp.subscription.get", subscription)
    await ask("sub_subscribers", "wamp.subscription.list_subscribers", subscription)
    await ask("sub_count", "wamp.subscription.count_subscribers", subscription)
    emit("answers", **answers)
    await ctx.command()  # the test's session left; its on_leave has been printed
    await peer.leave()
    return {}


def _auth_cases(c: dict[str, Any], method: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    """(good authentication, bad authentication, realm for the bad one)."""
    realm = "realm1"
    if method == "anonymous":
        return {}, {}, "com.no.such.realm"
    if method == "ticket":
        good = {"authid": c["ticket_authid"], "ticket": c["ticket"]}
        return {"ticket": good}, {"ticket": {**good, "ticket": "wrong"}}, realm
    if method in ("wampcra", "wampcra_salted"):
        if method == "wampcra":
            good = {"authid": c["cra_authid"], "secret": c["cra_secret"]}
        else:
            good = {"authid": c["cra_salted_authid"], "secret": c["cra_salted_password"]}
        return {"wampcra": good}, {"wampcra": {**good, "secret": "wrong"}}, realm
    if method == "cryptosign":
        good = {"authid": c["cryptosign_authid"], "privkey": c["cryptosign_seed"]}
        other_key = os.urandom(32).hex()
        return {"cryptosign": good}, {"cryptosign": {**good, "privkey": other_key}}, realm
    if method in ("scram", "scram_pbkdf2"):
        prefix = "scram" if method == "scram" else "scram_pbkdf2"
        good = {"authid": c[f"{prefix}_authid"], "password": c[f"{prefix}_password"]}
        return {"scram": good}, {"scram": {**good, "password": "wrong"}}, realm
    raise ValueError(f"unknown auth method {method!r}")


@scenario
async def auth(ctx: Context) -> dict[str, Any]:
    good, bad, bad_realm = _auth_cases(ctx.creds, ctx.params["method"])
    try:
        peer = await ctx.join(good)
    except JoinFailed as exc:
        emit("join_failed", reason=exc.reason, message=exc.message)
        return {}
    emit("joined", **peer.describe())
    await peer.leave()
    try:
        intruder = await ctx.join(bad, realm=bad_realm)
    except JoinFailed as exc:
        emit("refused", reason=exc.reason, message=exc.message)
    else:
        emit("joined_unexpectedly", **intruder.describe())
        await intruder.leave()
    return {}
