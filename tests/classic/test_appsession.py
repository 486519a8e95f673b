"""ApplicationSession: Autobahn's hooks, their order and arguments, join/leave, hook errors.

Each test runs a session class against the embedded router with
``ApplicationRunner.run(..., start_loop=False)`` and records what the hooks saw. The
orders asserted here are Autobahn|Python 26.10's (test_classic_parity.py runs the same
scenarios with Autobahn itself).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from classic_kit import async_test, within

import autostrada
from autostrada import (
    ApplicationError,
    ApplicationRunner,
    ApplicationSession,
    AuthenticationFailed,
    Challenge,
    CloseDetails,
    Component,
    ComponentConfig,
    InvalidState,
    PublishOptions,
    SessionClosed,
    SessionDetails,
    wamp,
)
from autostrada import auth as auth_math
from autostrada.aio.appsession import Failure, SessionLog
from autostrada.aio.channel import Channel
from autostrada.aio.session import Session as BaseSession
from autostrada.authenticators import create_authenticator
from autostrada.testing import RouterThread

Events = list[tuple[str, Any]]


async def run_session(
    url: str, make: Any, realm: str | None = "realm1", extra: Any = None, **kwargs: Any
) -> None:
    """Run ``make`` with an ApplicationRunner until it is done (bounded)."""
    runner = ApplicationRunner(url, realm, extra=extra, **kwargs)
    task = runner.run(make, start_loop=False, log_level=None)
    assert isinstance(task, asyncio.Task)
    await within(task, 10.0)


class Recording(ApplicationSession):
    """Records each hook call in ``config.extra["events"]``, with what it saw."""

    @property
    def events(self) -> Events:
        events: Events = self.config.extra["events"]
        return events

    def record(self, name: str, *args: Any) -> None:
        self.events.append((name, (*args, self.is_connected(), self.is_attached())))

    def onUserError(self, fail: Failure, msg: str) -> None:
        self.events.append(("onUserError", (fail, msg)))


def names(events: Events) -> list[str]:
    return [name for name, _ in events]


# ------------------------------------------------------------------------ hook order


class SyncHooks(Recording):
    def onConnect(self) -> None:
        self.record("onConnect")
        self.join(self.config.realm)

    def onJoin(self, details: SessionDetails) -> None:
        self.record("onJoin", details)
        self.leave()  # Autobahn style: not awaited

    def onLeave(self, details: CloseDetails) -> None:
        self.record("onLeave", details)
        self.disconnect()

    def onDisconnect(self) -> None:
        self.record("onDisconnect")


class AsyncHooks(Recording):
    async def onConnect(self) -> None:
        await asyncio.sleep(0)
        self.record("onConnect")
        details = await self.join(self.config.realm)  # join() may be awaited too
        self.record("joined", details)

    async def onJoin(self, details: SessionDetails) -> None:
        await asyncio.sleep(0)
        self.record("onJoin", details)
        closed = await self.leave("wamp.close.normal", "bye")
        self.record("left", closed)

    async def onLeave(self, details: CloseDetails) -> None:
        await asyncio.sleep(0)
        self.record("onLeave", details)
        self.disconnect()

    async def onDisconnect(self) -> None:
        await asyncio.sleep(0)
        self.record("onDisconnect")


@pytest.mark.parametrize("cls", [SyncHooks, AsyncHooks], ids=["sync", "async"])
def test_hooks_run_in_autobahns_order_with_its_arguments(
    router: RouterThread, cls: type[Recording]
) -> None:
    @async_test
    async def scenario() -> None:
        events: Events = []
        extra = {"events": events}
        await run_session(router.url, cls, extra=extra)
        hooks = [name for name in names(events) if name.startswith("on")]
        assert hooks == ["onConnect", "onJoin", "onLeave", "onDisconnect"]
        seen = dict(events)
        assert seen["onConnect"] == (True, False)  # connected, not attached
        details, _, attached = seen["onJoin"]
        assert isinstance(details, SessionDetails)
        assert (details.realm, details.authid is not None, attached) == ("realm1", True, True)
        assert details.authrole == "anonymous" and details.authmethod == "anonymous"
        closed, _, attached = seen["onLeave"]
        assert isinstance(closed, CloseDetails)
        assert closed.reason == "wamp.close.goodbye_and_out"  # the router's GOODBYE reply
        assert not attached
        assert seen["onDisconnect"] == (False, False)
        if cls is AsyncHooks:
            assert seen["joined"][0] is details  # await join() -> the details of onJoin
            assert seen["left"][0].reason == "wamp.close.goodbye_and_out"

    scenario()


def test_the_config_carries_realm_extra_and_runner(router: RouterThread) -> None:
    @async_test
    async def scenario() -> None:
        configs: list[ComponentConfig] = []
        extra: dict[str, Any] = {"key": "value"}

        class Session(ApplicationSession):
            def onJoin(self, details: SessionDetails) -> None:
                configs.append(self.config)
                self.leave()

        runner = ApplicationRunner(router.url, "realm1", extra)
        task = runner.run(Session, start_loop=False, log_level=None)
        assert isinstance(task, asyncio.Task)
        await within(task)
        [config] = configs
        assert (config.realm, config.runner) == ("realm1", runner)
        assert config.extra is extra  # the runner's dict, as in Autobahn

    scenario()


def test_the_default_hooks_join_the_configs_realm_and_disconnect(router: RouterThread) -> None:
    @async_test
    async def scenario() -> None:
        joined: list[SessionDetails] = []

        class Session(ApplicationSession):
            def onJoin(self, details: SessionDetails) -> None:
                joined.append(details)
                self.leave()

        await run_session(router.url, Session)  # returns: onLeave closed the transport
        assert [d.realm for d in joined] == ["realm1"]
        session = ApplicationSession()
        assert session.config.realm == "realm1"  # as Autobahn's default config

    scenario()


def test_session_attributes_of_autobahn(router: RouterThread) -> None:
    @async_test
    async def scenario() -> None:
        seen: dict[str, Any] = {}

        class Session(ApplicationSession):
            def onConnect(self) -> None:
                seen["before"] = (self.realm, self.authid, self.session_details)
                seen["transport"] = self.transport
                self.join(self.config.realm)

            def onJoin(self, details: SessionDetails) -> None:
                seen["joined"] = (
                    self.realm,
                    self.session_id,
                    self.authid,
                    self.authrole,
                    self.authmethod,
                    self.authprovider,
                    self.authextra,
                    self.session_details,
                )
                seen["details"] = details
                self.leave()

            def onDisconnect(self) -> None:
                seen["after"] = (self.transport, self.realm, self.session_id)

        await run_session(router.url, Session)
        assert seen["before"] == (None, None, None)
        assert isinstance(seen["transport"], Channel)
        details = seen["details"]
        assert seen["joined"] == (
            "realm1",
            details.session,
            details.authid,
            "anonymous",
            "anonymous",
            details.authprovider,
            details.authextra,
            details,
        )
        # After the end: no transport, no session id; what WELCOME said is kept.
        assert seen["after"] == (None, "realm1", None)

    scenario()


# ------------------------------------------------------------------------ join / leave


def test_join_and_leave_misuse(router: RouterThread, caplog: pytest.LogCaptureFixture) -> None:
    @async_test
    async def scenario() -> None:
        outcomes: dict[str, Any] = {}

        class Session(ApplicationSession):
            async def onConnect(self) -> None:
                outcomes["leave before join"] = await self.leave()
                first = self.join(self.config.realm)
                outcomes["join again while joining"] = self.join() is first
                with pytest.raises(InvalidState, match="is joining realm 'realm1' already"):
                    self.join("another.realm")
                await first

            async def onJoin(self, details: SessionDetails) -> None:
                outcomes["join again when joined"] = await self.join() is details
                with pytest.raises(InvalidState, match="has joined realm 'realm1' already"):
                    self.join("another.realm")
                leaving = self.leave()
                outcomes["leave while leaving"] = self.leave() is leaving
                await asyncio.sleep(0)  # GOODBYE sent
                with pytest.raises(InvalidState, match="cannot join now"):
                    self.join()
                outcomes["closed"] = await leaving

        await run_session(router.url, Session)
        assert outcomes["leave before join"] is None
        assert outcomes["join again while joining"] is True
        assert outcomes["join again when joined"] is True
        assert outcomes["leave while leaving"] is True
        assert outcomes["closed"].reason == "wamp.close.goodbye_and_out"
        assert "nothing to leave" in caplog.text

        with pytest.raises(InvalidState, match="no transport"):
            ApplicationSession().join("realm1")

        class ByHand(ApplicationSession):
            async def onConnect(self) -> None:
                await BaseSession.join(self, "realm1")  # not the wrapper

            async def onJoin(self, details: SessionDetails) -> None:
                with pytest.raises(InvalidState, match="joined a realm already"):
                    self.join()
                leaving = BaseSession.leave(self)
                task = asyncio.ensure_future(leaving)
                await asyncio.sleep(0)  # GOODBYE sent
                outcomes["pending leave"] = await self.leave()
                await task

        await run_session(router.url, ByHand)
        assert outcomes["pending leave"].reason == "wamp.close.goodbye_and_out"

    scenario()


def test_join_without_a_realm_is_a_hook_error(router: RouterThread) -> None:
    @async_test
    async def scenario() -> None:
        events: Events = []
        with pytest.raises(ValueError, match="no realm given"):
            await run_session(router.url, Recording, realm=None, extra={"events": events})
        assert names(events) == ["onUserError"]

    scenario()


def test_a_join_that_fails_to_start_closes_the_transport(
    router: RouterThread, caplog: pytest.LogCaptureFixture
) -> None:
    @async_test
    async def scenario() -> None:
        disconnected = []

        class Session(ApplicationSession):
            def onConnect(self) -> None:
                self.join(self.config.realm, authmethods="ticket")  # type: ignore[arg-type]

            def onDisconnect(self) -> None:
                disconnected.append(True)

        with pytest.raises(TypeError, match="authmethods must be a list"):
            await run_session(router.url, Session)
        assert disconnected == [True]
        assert "join failed" in caplog.text

    scenario()


def test_a_refused_join_goes_to_on_leave(router: RouterThread) -> None:
    @async_test
    async def scenario() -> None:
        events: Events = []

        class Session(Recording):
            def onConnect(self) -> None:
                self.join("no.such.realm")

            def onLeave(self, details: CloseDetails) -> None:
                self.record("onLeave", details)
                super().onLeave(details)

            def onDisconnect(self) -> None:
                self.record("onDisconnect")

        with pytest.raises(SessionClosed) as refused:
            await run_session(router.url, Session, extra={"events": events})
        assert refused.value.reason == "wamp.error.no_such_realm"
        assert names(events) == ["onLeave", "onDisconnect"]  # as in Autobahn
        details = events[0][1][0]
        assert details.reason == "wamp.error.no_such_realm" and details.message

    scenario()


def test_join_leave_and_join_again_over_the_same_transport(crossbar: Any) -> None:
    # Our router closes the transport after GOODBYE; Crossbar lets it carry a new session.
    @async_test
    async def scenario() -> None:
        events: Events = []

        class Session(Recording):
            def onConnect(self) -> None:
                self.record("onConnect", self.transport)
                self.join(self.config.realm)

            async def onJoin(self, details: SessionDetails) -> None:
                self.record("onJoin", details.session, self.transport)
                self.leave()

            def onLeave(self, details: CloseDetails) -> None:
                self.record("onLeave", details.reason)
                if names(self.events).count("onJoin") < 2:
                    self.join(self.config.realm)
                else:
                    self.disconnect()

            def onDisconnect(self) -> None:
                self.record("onDisconnect")

        await run_session(crossbar.ws_url, Session, extra={"events": events})
        assert names(events) == [
            "onConnect",
            "onJoin",
            "onLeave",
            "onJoin",
            "onLeave",
            "onDisconnect",
        ]
        transport = events[0][1][0]
        first, second = (args for name, args in events if name == "onJoin")
        assert first[1] is transport and second[1] is transport
        assert first[0] != second[0]  # two sessions
        assert [args[0] for name, args in events if name == "onLeave"] == ["wamp.close.normal"] * 2

    scenario()


# ------------------------------------------------------------------------ authentication


def authenticator(method: str, creds: Any) -> Any:
    """An autostrada authenticator for one of the router's principals."""
    settings = {
        "ticket": {"authid": creds.ticket_authid, "ticket": creds.ticket},
        "wampcra": {"authid": creds.cra_authid, "secret": creds.cra_secret},
        "wampcra-salted": {"authid": creds.cra_salted_authid, "secret": creds.cra_salted_password},
        "cryptosign": {"authid": creds.cryptosign_authid, "privkey": creds.cryptosign_seed},
        "scram": {"authid": creds.scram_authid, "password": creds.scram_password},
        "scram-pbkdf2": {
            "authid": creds.scram_pbkdf2_authid,
            "password": creds.scram_pbkdf2_password,
        },
    }[method]
    return create_authenticator(method.split("-", maxsplit=1)[0], **settings)


METHODS = ["ticket", "wampcra", "wampcra-salted", "cryptosign", "scram", "scram-pbkdf2"]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_on_challenge_answers_each_method(
    router: RouterThread, creds: Any, method: str, flavour: str
) -> None:
    @async_test
    async def scenario() -> None:
        challenges: list[Challenge] = []
        joined: list[SessionDetails] = []
        answer = authenticator(method, creds)

        class Session(ApplicationSession):
            def onConnect(self) -> None:
                self.join(self.config.realm, [answer.name], answer.authid, None, answer.authextra)

            def onChallenge(self, challenge: Challenge) -> Any:
                challenges.append(challenge)
                signature = answer.on_challenge(challenge, {})
                if flavour == "sync":
                    return signature

                async def later() -> str:
                    await asyncio.sleep(0)
                    return str(signature)

                return later()

            def onJoin(self, details: SessionDetails) -> None:
                joined.append(details)
                self.leave()

        await run_session(router.url, Session)
        [challenge] = challenges
        assert challenge.method == answer.name
        [details] = joined
        assert (details.authmethod, details.authid) == (answer.name, answer.authid)
        role = creds.cryptosign_role if method == "cryptosign" else creds.role
        assert details.authrole == role

    scenario()


def test_on_challenge_by_hand_as_in_autobahn(router: RouterThread, creds: Any) -> None:
    @async_test
    async def scenario() -> None:
        joined: list[SessionDetails] = []

        class Session(ApplicationSession):
            def onConnect(self) -> None:
                self.join(self.config.realm, ["wampcra"], creds.cra_salted_authid)

            def onChallenge(self, challenge: Challenge) -> bytes:
                extra = challenge.extra
                key = auth_math.derive_key(
                    creds.cra_salted_password, extra["salt"], extra["iterations"], extra["keylen"]
                )
                # Autobahn accepts bytes from onChallenge too.
                return auth_math.compute_wcs(key, extra["challenge"]).encode()

            def onJoin(self, details: SessionDetails) -> None:
                joined.append(details)
                self.leave()

        await run_session(router.url, Session)
        assert [d.authid for d in joined] == [creds.cra_salted_authid]

    scenario()


def test_the_default_on_challenge_uses_the_added_authenticators(
    router: RouterThread, creds: Any
) -> None:
    @async_test
    async def scenario() -> None:
        joined: list[SessionDetails] = []

        class Session(ApplicationSession):
            def __init__(self, config: ComponentConfig | None = None) -> None:
                super().__init__(config)
                self.add_authenticator(authenticator("scram", creds))  # checks the router's proof

            def onJoin(self, details: SessionDetails) -> None:
                joined.append(details)
                self.leave()

        await run_session(router.url, Session)
        assert [(d.authmethod, d.authid) for d in joined] == [("scram", creds.scram_authid)]

    scenario()


# ------------------------------------------------------------------------ hook errors


class Failing(Recording):
    """Raises in the hook named by ``config.extra["fail"]``; records every hook."""

    def _maybe_fail(self, hook: str) -> None:
        if self.config.extra["fail"] == hook:
            raise RuntimeError(f"boom in {hook}")

    def onConnect(self) -> None:
        self.record("onConnect")
        self._maybe_fail("onConnect")
        self.join(self.config.realm, ["ticket"], self.config.extra["authid"])

    async def onChallenge(self, challenge: Challenge) -> str:
        self.record("onChallenge")
        self._maybe_fail("onChallenge")
        ticket: str = self.config.extra["ticket"]
        return ticket

    async def onJoin(self, details: SessionDetails) -> None:
        self.record("onJoin")
        await asyncio.sleep(0)
        self._maybe_fail("onJoin")
        self.leave()

    def onLeave(self, details: CloseDetails) -> None:
        self.record("onLeave", details.reason, details.message)
        self._maybe_fail("onLeave")
        self.disconnect()

    async def onDisconnect(self) -> None:
        self.record("onDisconnect")
        self._maybe_fail("onDisconnect")


ORDERS = {
    # What follows the failing hook: the session always ends, never half-open.
    "onConnect": ["onConnect", "onUserError", "onDisconnect"],
    "onChallenge": ["onConnect", "onChallenge", "onUserError", "onLeave", "onDisconnect"],
    "onJoin": ["onConnect", "onChallenge", "onJoin", "onUserError", "onLeave", "onDisconnect"],
    "onLeave": ["onConnect", "onChallenge", "onJoin", "onLeave", "onUserError", "onDisconnect"],
    "onDisconnect": [
        "onConnect",
        "onChallenge",
        "onJoin",
        "onLeave",
        "onDisconnect",
        "onUserError",
    ],
}


@pytest.mark.parametrize("hook", list(ORDERS))
def test_a_hook_error_goes_to_on_user_error_and_ends_the_session(
    router: RouterThread, creds: Any, hook: str
) -> None:
    @async_test
    async def scenario() -> None:
        events: Events = []
        extra = {
            "events": events,
            "fail": hook,
            "authid": creds.ticket_authid,
            "ticket": creds.ticket,
        }
        with pytest.raises(RuntimeError, match=f"boom in {hook}") as raised:
            await run_session(router.url, Failing, extra=extra)
        assert names(events) == ORDERS[hook]
        [(fail, msg)] = [args for name, args in events if name == "onUserError"]
        assert isinstance(fail, Failure) and fail.value is raised.value
        assert hook in msg
        leaves = [args for name, args in events if name == "onLeave"]
        if hook == "onChallenge":  # the join was aborted, as Autobahn does
            assert leaves[0][:2] == ("wamp.error.cannot_authenticate", "boom in onChallenge")
        if hook == "onJoin":  # the session left the realm: the router answered GOODBYE
            assert leaves[0][0] == "wamp.close.goodbye_and_out"

    scenario()


def test_the_default_on_user_error_logs_with_the_hooks_name(
    router: RouterThread, caplog: pytest.LogCaptureFixture
) -> None:
    @async_test
    async def scenario() -> None:
        class Broken(ApplicationSession):
            def onJoin(self, details: SessionDetails) -> None:
                raise KeyError("missing")

        class Refused(ApplicationSession):
            async def onJoin(self, details: SessionDetails) -> None:
                raise ApplicationError("com.example.refused", "not today")

        with pytest.raises(KeyError):
            await run_session(router.url, Broken)
        with pytest.raises(ApplicationError):
            await run_session(router.url, Refused)

    with caplog.at_level(logging.INFO, logger="autostrada"):
        scenario()
    errors = [r for r in caplog.records if r.name == "autostrada.appsession"]
    broken, refused = errors
    assert broken.levelno == logging.ERROR and broken.exc_info is not None
    assert broken.getMessage() == "Broken.onUserError(): While firing onJoin"
    assert refused.levelno == logging.WARNING and refused.exc_info is None
    assert refused.getMessage() == (
        "Refused.onUserError(): While firing onJoin: com.example.refused: not today"
    )


def test_on_user_error_may_be_async_and_may_fail(
    router: RouterThread, caplog: pytest.LogCaptureFixture
) -> None:
    @async_test
    async def scenario() -> None:
        handled: list[BaseException] = []

        class Async(ApplicationSession):
            def onJoin(self, details: SessionDetails) -> None:
                raise RuntimeError("first")

            async def onUserError(self, fail: Failure, msg: str) -> None:
                await asyncio.sleep(0)
                handled.append(fail.value)

        class Failing(ApplicationSession):
            def onJoin(self, details: SessionDetails) -> None:
                raise RuntimeError("second")

            def onUserError(self, fail: Failure, msg: str) -> None:
                raise ValueError("onUserError is broken too")

        with pytest.raises(RuntimeError, match="first"):
            await run_session(router.url, Async)
        assert [str(e) for e in handled] == ["first"]
        with pytest.raises(RuntimeError, match="second"):
            await run_session(router.url, Failing)

    scenario()
    assert "Failing.onUserError() failed" in caplog.text


def test_the_first_of_several_hook_errors_ends_the_run(router: RouterThread) -> None:
    @async_test
    async def scenario() -> None:
        errors: list[str] = []

        class Session(ApplicationSession):
            def onJoin(self, details: SessionDetails) -> None:
                raise RuntimeError("first")

            def onLeave(self, details: CloseDetails) -> None:
                raise RuntimeError("second")  # the transport is closed all the same

            def onUserError(self, fail: Failure, msg: str) -> None:
                errors.append(msg)

        with pytest.raises(RuntimeError, match="first"):
            await run_session(router.url, Session)
        assert errors == ["While firing onJoin", "While firing onLeave"]

    scenario()


@pytest.mark.parametrize("answer", [None, 42])
def test_on_challenge_must_return_a_signature(
    router: RouterThread, creds: Any, answer: Any
) -> None:
    @async_test
    async def scenario() -> None:
        errors: list[BaseException] = []

        class Session(ApplicationSession):
            def onConnect(self) -> None:
                self.join(self.config.realm, ["ticket"], creds.ticket_authid)

            def onChallenge(self, challenge: Challenge) -> Any:
                return answer

            def onUserError(self, fail: Failure, msg: str) -> None:
                errors.append(fail.value)

        with pytest.raises(TypeError, match="onChallenge must return the signature"):
            await run_session(router.url, Session)
        assert len(errors) == 1

    scenario()


def test_without_on_challenge_or_authenticator_the_join_fails(
    router: RouterThread, creds: Any
) -> None:
    @async_test
    async def scenario() -> None:
        left: list[CloseDetails] = []

        class Session(ApplicationSession):
            def onConnect(self) -> None:
                self.join(self.config.realm, ["ticket"], creds.ticket_authid)

            def onLeave(self, details: CloseDetails) -> None:
                left.append(details)
                self.disconnect()

        with pytest.raises(AuthenticationFailed, match="no credentials"):
            await run_session(router.url, Session)
        assert [d.reason for d in left] == ["wamp.error.cannot_authenticate"]

    scenario()


# ------------------------------------------------------------------------ the session API


def test_register_self_and_subscribe_self(router: RouterThread) -> None:
    @async_test
    async def scenario() -> None:
        seen: dict[str, Any] = {}

        class Session(ApplicationSession):
            heard: asyncio.Queue[str]

            @wamp.register("com.example.add2")
            def add2(self, a: int, b: int) -> int:
                return a + b

            @wamp.register()
            async def shout(self, text: str) -> str:
                return text.upper()

            @wamp.subscribe("com.example.news")
            def on_news(self, text: str) -> None:
                self.heard.put_nowait(text)

            async def onJoin(self, details: SessionDetails) -> None:
                self.heard = asyncio.Queue()
                registrations = await self.register(self)
                subscriptions = await self.subscribe(self)
                seen["procedures"] = sorted(r.procedure for r in registrations)
                seen["topics"] = [s.topic for s in subscriptions]
                seen["add2"] = await self.call("com.example.add2", 2, 3)
                seen["shout"] = await self.call("shout", "hi")
                self.publish("com.example.news", "hello", options=PublishOptions(exclude_me=False))
                seen["news"] = await self.heard.get()
                self.leave()

        await run_session(router.url, Session)
        assert seen == {
            "procedures": ["com.example.add2", "shout"],
            "topics": ["com.example.news"],
            "add2": 5,
            "shout": "HI",
            "news": "hello",
        }

    scenario()


def test_an_application_session_works_with_connect_and_component(router: RouterThread) -> None:
    @async_test
    async def scenario() -> None:
        # autostrada.connect() joins after onConnect started the join: one join, not two.
        session = await within(autostrada.connect(router.url, session_factory=ApplicationSession))
        assert isinstance(session, ApplicationSession) and session.is_attached()
        closed = await within(session.leave())
        assert closed is not None and closed.reason == "wamp.close.goodbye_and_out"
        await within(session.wait_disconnected())

        ready = asyncio.Event()
        component = Component(transports=router.url, session_factory=ApplicationSession)
        component.on("ready", lambda session: ready.set())
        task = component.start()
        await within(ready.wait())
        await within(component.stop())
        assert task.done() and task.exception() is None

    scenario()


# ------------------------------------------------------------------------ Failure, log


def test_failure_is_shaped_like_txaios() -> None:
    try:
        raise ZeroDivisionError("nope")
    except ZeroDivisionError as exc:
        fail = Failure(exc)
    assert fail.value.args == ("nope",) and fail.type is ZeroDivisionError
    assert fail.tb is fail.value.__traceback__
    assert str(fail) == "nope" and repr(fail) == "<Failure ZeroDivisionError('nope')>"
    assert fail.format_traceback().endswith("ZeroDivisionError: nope\n")


def test_self_log_takes_txaio_style_messages(caplog: pytest.LogCaptureFixture) -> None:
    log = ApplicationSession().log
    assert isinstance(log, SessionLog)
    assert log.logger.name == "autostrada.aio.appsession.ApplicationSession"
    with caplog.at_level(logging.DEBUG, logger=log.logger.name):
        log.info("joined {realm} as {authid}", realm="realm1", authid="joe")
        log.warn("a {missing} field", other=1)  # printed as is, with the fields
        log.warning("plain")
        log.debug("debug {n}", n=1)
        log.trace("trace")
        log.error("error")
        log.critical("critical")
        try:
            raise ValueError("bad")
        except ValueError:
            log.failure("failed: {log_failure.value}")
        log.failure(failure=Failure(KeyError("k")))
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "joined realm1 as joe",
        "a {missing} field {'other': 1}",
        "plain",
        "debug 1",
        "trace",
        "error",
        "critical",
        "failed: bad",
        "'k'",
    ]
    assert caplog.records[-2].exc_info is not None
    caplog.clear()
    log.debug("not {shown}", shown=1)  # below the logger's level: not formatted
    assert not caplog.records
