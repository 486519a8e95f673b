"""The same ApplicationSession program, run with Autobahn|Python 26.10 and with autostrada.

The program is Autobahn code; the autostrada run differs only in its import lines.
Both print every hook call with its arguments; the hook lines must be the same — the
call order and arguments of Autobahn's hooks. Where autostrada differs on purpose
(docs/porting-from-autobahn.md), the test says so.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from classic_kit import Script

PROGRAM = """
import asyncio
import sys

from autobahn.asyncio.wamp import ApplicationRunner, ApplicationSession

URL, MODE, AUTHID, TICKET = sys.argv[1:5]


class Session(ApplicationSession):
    def onConnect(self):
        print("onConnect", self.config.realm, self.config.extra, self.is_connected(),
              self.is_attached())
        if MODE in ("ticket", "challenge-error"):
            self.join(self.config.realm, ["ticket"], AUTHID)
        elif MODE == "no-such-realm":
            self.join("no.such.realm")
        else:
            self.join(self.config.realm)

    def onChallenge(self, challenge):
        print("onChallenge", challenge.method, challenge.extra)
        if MODE == "challenge-error":
            raise RuntimeError("no ticket today")
        return TICKET

    async def onJoin(self, details):
        print("onJoin", type(details).__name__, details.realm, details.authid == self.authid,
              details.authrole, details.authmethod, self.is_attached())
        print("attributes", self.realm, self.authrole, self.authmethod,
              self.session_id == details.session, self.session_details is details)
        self.sessions = getattr(self, "sessions", 0) + 1
        self.leave()

    def onLeave(self, details):
        print("onLeave", type(details).__name__, details.reason, details.message,
              self.is_attached())
        if MODE == "rejoin" and self.sessions < 2:
            self.join(self.config.realm)
        else:
            super().onLeave(details)

    def onDisconnect(self):
        print("onDisconnect", self.is_connected(), self.is_attached())
        asyncio.get_event_loop().stop()  # Autobahn's runner needs this to return

    def onUserError(self, fail, msg):
        print("onUserError", type(fail.value).__name__, fail.value)


ApplicationRunner(URL, "realm1", extra={"k": 1}).run(Session)
print("run returned")
"""

IMPORTS = "from autostrada import ApplicationRunner, ApplicationSession\n"


def run(interpreter: str, program: str, directory: Path, argv: list[str]) -> tuple[int, list[str]]:
    path = directory / f"program_{Path(interpreter).parent.parent.name}.py"
    path.write_text(program)
    with Script([str(path), *argv], interpreter=interpreter) as running:
        code = running.finish()
        assert not running.noise() or interpreter != sys.executable, running.stderr
        return code, running.stdout


@pytest.mark.parametrize(
    "mode", ["anonymous", "ticket", "challenge-error", "no-such-realm", "rejoin"]
)
def test_autobahn_and_autostrada_call_the_same_hooks(
    mode: str,
    request: pytest.FixtureRequest,
    autobahn_interpreter: Path,
    creds: Any,
    tmp_path: Path,
) -> None:
    if mode == "rejoin":  # a new session over the same transport: Crossbar allows it
        url = request.getfixturevalue("crossbar").ws_url
    else:
        url = request.getfixturevalue("router").url
    argv = [url, mode, creds.ticket_authid, creds.ticket]
    ported = PROGRAM.replace(
        "from autobahn.asyncio.wamp import ApplicationRunner, ApplicationSession\n", IMPORTS
    )
    assert ported != PROGRAM and "autobahn" not in ported

    autobahn_code, autobahn = run(str(autobahn_interpreter), PROGRAM, tmp_path, argv)
    code, ours = run(sys.executable, ported, tmp_path, argv)

    hooks = [line for line in autobahn if line.startswith(("on", "attributes"))]
    assert len(hooks) >= 3, autobahn
    assert [line for line in ours if line.startswith(("on", "attributes"))] == hooks
    assert autobahn_code == 0 and autobahn[-1] == "run returned"
    if mode == "challenge-error":
        # Deliberate: a hook's exception ends the run with it (the script exits 1).
        assert code == 1 and "run returned" not in ours
    else:
        assert code == 0 and ours[-1] == "run returned"
