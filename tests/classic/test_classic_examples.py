"""Every backend/frontend pair in examples/classic/ runs as two processes and does its job.

The backend is started first; once it prints ``backend: ready`` the frontend runs to its
end (it leaves, and ``ApplicationRunner.run()`` returns when the session disconnects).
Its output must hold the expected lines, in order (``*`` matches any text). Then the
backend gets SIGINT and must leave and exit 0. Both run with warnings as errors.

The pairs run against the embedded router; ``rejoin`` against Crossbar.io, since our
router closes a transport after GOODBYE (no transport reuse).
"""

from __future__ import annotations

import re
import signal
from dataclasses import dataclass
from typing import Any

import pytest
from classic_kit import EXAMPLES, REPO, Script, find_in_order

from autostrada.testing import RouterThread


@dataclass(frozen=True)
class Pair:
    """One example: its directory, the frontend lines expected, and what must not appear."""

    name: str
    expected: tuple[str, ...]
    absent: tuple[str, ...] = ()
    crossbar: bool = False


PAIRS = [
    Pair(
        "rpc/arguments",
        (
            "ping() -> None",
            "add2(2, 3) -> 5",
            "stars() -> somebody starred 0x",
            "stars(nick='Homer') -> Homer starred 0x",
            "stars(stars=5) -> somebody starred 5x",
            "stars(nick='Homer', stars=5) -> Homer starred 5x",
            "orders('coffee') -> ['coffee #0', 'coffee #1', 'coffee #2', 'coffee #3', 'coffee #4']",
            "orders('tea', limit=2) -> ['tea #0', 'tea #1']",
            "arglen() -> [0, 0]",
            "arglen(1, 2, 3) -> [3, 0]",
            "arglen(a=1, b=2) -> [0, 2]",
            "arglen(1, 2, 3, a=1, b=2) -> [3, 2]",
        ),
    ),
    Pair(
        "rpc/complex",
        (
            "add_complex: 6 + 8i",
            "split_name: forename Homer, surname Simpson",
            "profile: results ['ada'] kwresults {'roles': ['admin', 'dev'], 'active': True}",
        ),
    ),
    Pair(
        "rpc/errors",
        (
            "sqrt(4) -> 2.0",
            "sqrt(0) raised wamp.error.runtime_error: don't ask foolish questions ;)",
            "sqrt(-1) raised wamp.error.runtime_error: math domain error",
            "checkname('Ada') raised com.myapp.error.mixed_case args ['ada', 'ADA'] kwargs {}",
            "checkname('foo') raised com.myapp.error.reserved args [] kwargs {}",
            "checkname('ada') -> ok",
            "checkname('a') raised com.myapp.error.invalid_length args [] "
            "kwargs {'min': 3, 'max': 10}",
            "checkname('adaadaadaada') raised com.myapp.error.invalid_length args [] "
            "kwargs {'min': 3, 'max': 10}",
            "compare(3, 17) raised AppError1(14,)",
            "compare(17, 3) -> 14",
        ),
    ),
    Pair(
        "rpc/progress",
        (
            "progress: 3",
            "progress: 2",
            "progress: 1",
            "final result: liftoff",
            "without progress: liftoff",
        ),
        absent=("progress: 0",),
    ),
    Pair(
        "rpc/slowsquare",
        (
            "com.math.square(4) -> 16",  # called second, answered first
            "com.math.slowsquare(3) -> 9",
            "both done",
        ),
    ),
    Pair(
        "rpc/options",
        (
            "whoami() -> my session id: True",
            "square(2) -> 4",
            "square(0) -> 0",
            "event: square_on_nonpositive -2",
            "square(-2) -> 4",
        ),
        absent=("event: square_on_nonpositive 0",),
    ),
    Pair(
        "pubsub/basic",
        (
            "frontend: subscribed",
            *(f"event {n}: counter is an int: True" for n in range(1, 6)),
            "frontend: left after 5 events",
        ),
    ),
    Pair(
        "pubsub/complex",
        (
            "frontend: subscribed",
            "heartbeat on com.myapp.heartbeat, publication id is an int: True",
            *(
                "topic2: values [1, 2.5, 'three'] c 'Hello' d.foo [1, 2, 3] d.nested {'ok': True}",
                "topic2: counter matches d.counter: True",
            )
            * 3,
            "frontend: disconnected after 3 topic2 events",
        ),
    ),
    Pair(
        "pubsub/options",
        (
            "ping 1 acknowledged: True",
            "pong 1",
            "ping 2 acknowledged: True",
            "pong 2",
            "heard my own pings: [2]",
        ),
    ),
    Pair(
        "pubsub/unsubscribe",
        tuple(
            line
            for n in (1, 2)
            for line in (
                f"round {n}: subscribed (active: True)",
                f"round {n}: 3 events, increasing: True",
                f"round {n}: unsubscribed (active: False)",
            )
        ),
    ),
    Pair(
        "decorators",
        ("add2(2, 3) -> 5", "greet('Ada') -> Hello, Ada!", "greet('Ada') -> Bonjour, Ada!"),
    ),
    Pair(
        "rejoin",
        (
            "session 1: joined, visit 1, same transport: True",
            "session 1: left (wamp.close.normal)",
            "session 2: joined, visit 2, same transport: True",
            "session 2: left (wamp.close.normal)",
            "frontend: disconnected after 2 sessions",
        ),
        crossbar=True,
    ),
]


def test_every_pair_is_tested() -> None:
    found = {str(p.parent.relative_to(EXAMPLES)) for p in EXAMPLES.rglob("frontend.py")}
    backends = {str(p.parent.relative_to(EXAMPLES)) for p in EXAMPLES.rglob("backend.py")}
    assert found == backends == {pair.name for pair in PAIRS}
    assert {p.name for p in EXAMPLES.rglob("*.py")} == {"backend.py", "frontend.py"}


def test_the_readme_and_the_porting_guide_list_every_pair() -> None:
    pairs = {pair.name for pair in PAIRS}
    readme = (EXAMPLES.parent / "README.md").read_text()
    in_readme = dict(re.findall(r"^\| `classic/([\w/]+)/` \| (.*) \|$", readme, re.M))
    guide = (REPO / "docs" / "porting-from-autobahn.md").read_text()
    in_guide = dict(re.findall(r"^\| `([\w/]+)/` \| (.*) \|$", guide, re.M))
    assert set(in_readme) == set(in_guide) == pairs
    for name, text in in_readme.items():
        assert text.startswith(in_guide[name]), name


@pytest.mark.parametrize("pair", PAIRS, ids=[pair.name for pair in PAIRS])
def test_pair(pair: Pair, request: pytest.FixtureRequest) -> None:
    if pair.crossbar:
        node: Any = request.getfixturevalue("crossbar")
        url, realm = node.ws_url, node.realm
    else:
        router: RouterThread = request.getfixturevalue("router")
        url, realm = router.url, router.realm
    env = {"AUTOSTRADA_URL": url, "AUTOSTRADA_REALM": realm}
    directory = EXAMPLES / pair.name
    with Script([str(directory / "backend.py")], env) as backend:
        backend.wait_for_line("backend: ready")
        with Script([str(directory / "frontend.py")], env) as frontend:
            code = frontend.finish()
            explain = f"frontend:\n{frontend.stdout}\n{frontend.stderr}"
            assert code == 0, explain
            missing = find_in_order(frontend.stdout, pair.expected)
            assert missing is None, f"missing {missing!r} in\n{explain}"
            assert frontend.stdout[-1].startswith("frontend: disconnected"), explain
            for text in pair.absent:
                assert not [line for line in frontend.stdout if text in line], explain
            assert not frontend.noise(), explain
        backend.proc.send_signal(signal.SIGINT)
        assert backend.finish() == 0, backend.stderr
        assert "SIGINT: stopping the session" in backend.stderr
        assert not backend.noise(), backend.stderr
