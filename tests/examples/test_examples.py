"""Every program in examples/ runs to its end against a real router and says what it should.

Each example is run as a user runs it (``python examples/<name>.py``, here with warnings
as errors) and must exit 0 and print its key lines. A line pattern's ``*`` matches any
text (session ids, ports); each group of lines must appear in that order, other lines may
come between (two components of one program print concurrently).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from examples_kit import EXAMPLES, NOISE, find_in_order, run_example

from autostrada.router.config import load_toml
from autostrada.testing import RouterThread


@dataclass(frozen=True)
class Case:
    """One example: the router it needs, and what its output must hold."""

    path: str
    router: str  # the fixture: router, auth_router, tls_router
    groups: tuple[tuple[str, ...], ...]
    absent: tuple[str, ...] = ()  # substrings no stdout line may contain
    traceback_logged: bool = False  # the example logs a traceback on purpose
    env: dict[str, str] = field(default_factory=dict)


CASES = [
    Case(
        "rpc/arguments.py",
        "router",
        (
            (
                "backend: procedures registered",
                "ping() -> None",
                "add2(2, 3) -> 5",
                "stars() -> somebody starred 0x",
                "stars(nick='Homer') -> Homer starred 0x",
                "stars(stars=5) -> somebody starred 5x",
                "stars(nick='Homer', stars=5) -> Homer starred 5x",
                "orders('coffee') -> ['coffee #0', 'coffee #1', 'coffee #2']",
                "orders('tea', limit=1) -> ['tea #0']",
                "arglen() -> [0, 0]",
                "arglen(1, 2, 3) -> [3, 0]",
                "arglen(a=1, b=2) -> [0, 2]",
                "arglen(1, 2, 3, a=1, b=2) -> [3, 2]",
            ),
        ),
    ),
    Case(
        "rpc/complex_results.py",
        "router",
        (
            (
                "split_name: results ['Ada', 'Lovelace'] kwresults {}",
                "add_complex: 6 + 8i",
                "stats: sorted [1, 2, 3] count 3",
                "profile: {'user': 'ada', 'roles': ['admin', 'dev']}",
            ),
        ),
    ),
    Case(
        "rpc/errors.py",
        "router",
        (
            (
                "sqrt(16) -> 4.0",
                "sqrt(-1) raised NegativeNumber: cannot take the square root of -1",
                "check_name raised com.example.error.invalid_length args ['name too long'] "
                "kwargs {'length': 18, 'limit': 10}",
                "divide(1, 0) raised wamp.error.runtime_error - division by zero",
                "no_such_thing raised wamp.error.no_such_procedure",
            ),
        ),
        traceback_logged=True,  # the callee logs the ZeroDivisionError it turned into an ERROR
    ),
    Case(
        "rpc/progressive.py",
        "router",
        (
            (
                "progress: 3",
                "progress: 2",
                "progress: 1",
                "final result: liftoff",
                "without progress: liftoff",
                "call_iter: [2, 1, 'liftoff']",
            ),
        ),
        absent=("progress: 0",),
    ),
    Case(
        "rpc/cancel.py",
        "router",
        (
            ("frontend: cancelling the call", "frontend: the call was cancelled"),
            ("backend: interrupted; answering wamp.error.canceled",),
        ),
    ),
    Case(
        "rpc/timeout.py",
        "router",
        (
            (
                "sleep(0.01), timeout 1 s -> slept 0.01 s",
                "sleep(30), timeout 1 s -> raised wamp.error.timeout",
            ),
            ("backend: sleep(30) interrupted",),
        ),
        absent=("sleep(0.01) interrupted",),
    ),
    Case(
        "pubsub/basic.py",
        "router",
        (
            (
                "subscriber: tick 1",
                "subscriber: tick 2",
                "subscriber: tick 3",
                "subscriber: status 'done' {'ticks': 3}",
                "subscriber: unsubscribed from com.example.status",
            ),
            ("publisher: published tick 1", "publisher: published tick 3"),
        ),
    ),
    Case(
        "pubsub/options.py",
        "router",
        (
            (
                "listener: 'hello' (topic com.example.news)",
                "listener: 'for everyone, me too' (topic com.example.news)",
                "listener: 'only for the listener' (topic com.example.news)",
                "listener: 'bye' (topic com.example.news)",
            ),
            (
                "publisher: the broker acknowledged Publication(id=*)",
                "publisher: got my own event 'for everyone, me too'",
                "publisher: got my own event 'not for the listener'",
            ),
        ),
        absent=("listener: 'not for the listener'", "got my own event 'hello'"),
    ),
    Case(
        "pubsub/retained.py",
        "router",
        (
            (
                "publisher: published setpoint 19.5",
                "publisher: published setpoint 21.0",
                "publisher: leaving",
                "subscriber: setpoint 21.0 (retained: True)",
            ),
        ),
        absent=("subscriber: setpoint 19.5",),
    ),
    Case(
        "pubsub/pattern.py",
        "router",
        (
            (
                "prefix: com.example.sensors.kitchen.temperature = 21.5",
                "prefix: com.example.sensors.kitchen.humidity = 40",
                "prefix: com.example.sensors.garage.temperature = 12.0",
            ),
            (
                "wildcard: com.example.sensors.kitchen.temperature = 21.5",
                "wildcard: com.example.sensors.garage.temperature = 12.0",
            ),
        ),
        absent=("wildcard: com.example.sensors.kitchen.humidity",),
    ),
    Case(
        "decorators.py",
        "router",
        (
            (
                "backend: 2 procedures, 1 subscription",
                "add(2) -> 2",
                "add(3) -> 5",
                "add(4) -> 9",
                "calculator: reset (the frontend asked); the total was 9",
                "total -> 0",
                "a local Calculator: add(1) -> 1",
            ),
        ),
    ),
    Case(
        "auth/anonymous.py",
        "auth_router",
        (
            (
                "joined as '*', role 'anonymous', via anonymous",
                "subscribed to com.example.public.news",
                "publishing is refused: wamp.error.not_authorized",
            ),
        ),
    ),
    Case(
        "auth/ticket.py",
        "auth_router",
        (
            (
                "joined as 'ticket-user', role 'user', via ticket",
                "a wrong ticket is refused: wamp.error.not_authorized",
            ),
        ),
    ),
    Case(
        "auth/wampcra.py",
        "auth_router",
        (
            ("joined as 'cra-user', role 'user', via wampcra",),
            ("joined as 'cra-salted-user', role 'user', via wampcra",),
        ),
    ),
    Case(
        "auth/cryptosign.py",
        "auth_router",
        (("joined as 'cryptosign-user', role 'user', via cryptosign",),),
    ),
    Case(
        "auth/scram.py",
        "auth_router",
        (("joined as 'scram-user', role 'user', via scram",),),
    ),
    Case(
        "rawsocket.py",
        "router",
        (("joined via rs://127.0.0.1:* with serializer msgpack", "echo -> b'\\x00binary\\xff'"),),
    ),
    Case("tls.py", "tls_router", (("joined over TLS: True",),)),
]


def environment(case: Case, running: RouterThread, certificates: Any) -> dict[str, str]:
    env = {"AUTOSTRADA_URL": running.url, "AUTOSTRADA_REALM": "realm1"}
    if case.path == "rawsocket.py":
        env["AUTOSTRADA_RS_URL"] = running.rs_url
    if case.path == "tls.py":
        env["AUTOSTRADA_CA"] = str(certificates.ca)
        env["AUTOSTRADA_CLIENT_CERT"] = str(certificates.client_cert)
        env["AUTOSTRADA_CLIENT_KEY"] = str(certificates.client_key)
    return env


@pytest.mark.parametrize("case", CASES, ids=[case.path for case in CASES])
def test_example(case: Case, request: pytest.FixtureRequest) -> None:
    running: RouterThread = request.getfixturevalue(case.router)
    certificates = request.getfixturevalue("certificates") if case.path == "tls.py" else None
    result = run_example(case.path, environment(case, running, certificates))

    assert result.returncode == 0, result.explain()
    for group in case.groups:
        missing = find_in_order(result.stdout, group)
        assert missing is None, f"no line {missing!r} (in this order)\n{result.explain()}"
    for text in case.absent:
        assert not [line for line in result.stdout if text in line], result.explain()
    noise = [word for word in NOISE if word in result.stderr]
    if not case.traceback_logged:
        noise += ["Traceback"] if "Traceback" in result.stderr else []
    assert not noise, result.explain()


def test_a_wrong_certificate_authority_fails_at_once(tls_router: RouterThread) -> None:
    # Without AUTOSTRADA_CA the router's certificate is not trusted: a certificate error is
    # fatal by default, so the example fails after one attempt instead of retrying.
    result = run_example("tls.py", {"AUTOSTRADA_URL": tls_router.url})
    assert result.returncode == 1, result.explain()
    assert "certificate" in result.stderr
    assert result.stderr.count("connecting to transport 0") == 1, result.explain()
    assert "joined over TLS" not in "\n".join(result.stdout)


def test_every_example_is_tested() -> None:
    # examples/classic/ (the class-based API) has tests of its own.
    found = {
        str(path.relative_to(EXAMPLES))
        for path in EXAMPLES.rglob("*.py")
        if path.relative_to(EXAMPLES).parts[0] != "classic"
    }
    assert found == {case.path for case in CASES}


def test_examples_default_to_the_development_router() -> None:
    # `autostrada router` listens on ws://127.0.0.1:8080/ws and rs://127.0.0.1:8081.
    for case in CASES:
        text = (EXAMPLES / case.path).read_text()
        if case.path == "rawsocket.py":
            assert '"AUTOSTRADA_RS_URL", "rs://127.0.0.1:8081"' in text
        elif case.path == "tls.py":
            assert '"AUTOSTRADA_URL", "wss://localhost:8443/ws"' in text
        else:
            assert '"AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws"' in text, case.path
        assert 'if __name__ == "__main__":' in text, case.path


def test_example_secrets_are_labelled() -> None:
    for path in [*Path(EXAMPLES / "auth").glob("*.py"), EXAMPLES / "auth" / "router.toml"]:
        text = path.read_text()
        if path.name != "anonymous.py":
            assert "EXAMPLE" in text, path


def test_the_auth_router_config_loads_without_warnings() -> None:
    config = load_toml(EXAMPLES / "auth" / "router.toml")
    assert config.warnings == ()
    [realm] = config.router.realms
    assert realm.name == "realm1"
    methods = {type(method).__name__ for method in realm.auth}
    assert methods == {"AnonymousAuth", "TicketAuth", "WampCraAuth", "CryptosignAuth", "ScramAuth"}
