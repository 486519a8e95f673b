"""The shell commands of the docs work as written: each page's commands, run in order.

Each test takes its page's commands from the page itself (so page and test cannot drift
apart) and runs them in a workspace, a copy of ``docs/snippets`` and ``examples`` (see
``docs_kit.Shell``); it fails on a command it does not expect, so a new command on a page
needs a test step here. Output a page shows under a command is compared with what the
command prints.

The shell verbs that another change adds to the ``autostrada`` command (``call``,
``publish``...) are run when the installed command has them; until then the test runs
everything else and is reported as an expected failure naming the missing verbs.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from docs_kit import (
    ROOT,
    Command,
    lines_match,
    make_workspace,
    page_commands,
    shell,
)

import autostrada

AUTH_CLIENTS_OUTPUT = [
    "anonymous: [A-Z0-9-]+ as anonymous",
    "wamp.error.not_authorized",
    "ticket: alice as user",
    "wampcra: backend-1 as backend",
    "wampcra: carol as user",
    "cryptosign: device-1 as user",
    "scram: dave as user",
    "refused: wamp.error.not_authorized",
    "ticket: sensor-7 as device",
    "refused: wamp.error.not_authorized",
    "component: backend-1 as backend",
]


def is_router(command: Command) -> bool:
    words = [w for w in command.words if "=" not in w or w.startswith("-")]
    return [Path(w).name for w in words[:2]] == ["autostrada", "router"]


def verb(command: Command) -> str | None:
    """The ``autostrada`` verb of a command (``call``, ``publish``...), if it is one."""
    words = [w for w in command.words if not re.fullmatch(r"[A-Z_]+=.*", w)]
    return words[1] if len(words) > 1 and Path(words[0]).name == "autostrada" else None


def test_readme_commands() -> None:
    """``make demo`` and ``make test`` exist (a dry run: ``make test`` is this suite)."""
    commands = page_commands("README.md")
    assert [c.line for c in commands] == ["make demo", "make test"]

    async def scenario() -> None:
        async with shell(ROOT) as sh:
            for command in commands:
                target = command.words[1]
                dry = await sh.run(Command(f"make -n {target}"))
                assert dry.strip(), target
            assert "autostrada demo" in await sh.run(Command("make -n demo"))

    asyncio.run(scenario())


def test_quickstart(tmp_path: Path) -> None:
    """quickstart.md, step by step: demo, router, component, restart, call, publish, Ctrl-C."""
    commands = page_commands("docs/quickstart.md")
    workspace = make_workspace(tmp_path)

    async def scenario() -> None:
        async with shell(workspace) as sh:
            router = component = None
            router_command = None
            for command in commands:
                if command.line == "make demo":
                    assert "autostrada demo" in await sh.run(Command("make -n demo"), cwd=ROOT)
                    assert "demo ok: 4 checks passed" in await sh.run(
                        Command(".venv/bin/autostrada demo")
                    )
                elif is_router(command):
                    router_command = command
                    router, _ = await sh.start_router(command)
                elif command.line.endswith("docs/snippets/first_component.py"):
                    component = await sh.start(command)
                    # "Stop the router now and start it again": it comes back by itself.
                    assert router is not None and router_command is not None
                    assert await router.interrupt() == 0, router.describe()
                    router, _ = await sh.start_router(router_command)
                    await component.wait_for("^ready: ", count=2)
                elif command.words[1:2] == ["call"]:
                    await sh.run(command)
                elif command.words[1:2] == ["publish"]:
                    await sh.run(command)
                    assert component is not None
                    await component.wait_for("^hello, Alice$")
                else:
                    raise AssertionError(f"quickstart.md: no test step for `{command.line}`")
            assert component is not None and router is not None
            assert await component.interrupt() == 0, component.describe()
            assert await router.interrupt() == 0, router.describe()
            assert "Traceback" not in "\n".join(component.stderr + router.stderr)

    asyncio.run(scenario())


def test_authentication_page(tmp_path: Path) -> None:
    commands = page_commands("docs/authentication.md")
    workspace = make_workspace(tmp_path)

    async def scenario() -> None:
        async with shell(workspace) as sh:
            backend = None
            try:
                for command in commands:
                    if is_router(command):
                        await sh.start_router(command)
                        backend = await autostrada.connect(
                            sh.env["AUTOSTRADA_URL"],
                            authentication={
                                "wampcra": {"authid": "backend-1", "secret": "backend-secret"}
                            },
                        )
                        await backend.register(lambda a, b: a + b, "com.example.add")
                    elif command.line.endswith("docs/snippets/auth_clients.py"):
                        out = await sh.run(command)
                        printed = [line for line in out.splitlines() if not _is_log(line)]
                        assert lines_match(printed, AUTH_CLIENTS_OUTPUT), out
                    elif sh.export(command):
                        continue
                    elif command.words[1:2] == ["call"]:
                        await sh.run(command)
                    else:
                        raise AssertionError(f"authentication.md: no step for `{command.line}`")
            finally:
                if backend is not None:
                    await backend.leave()

    asyncio.run(scenario())


def _is_log(line: str) -> bool:
    return bool(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", line))


def test_tls_page(tmp_path: Path) -> None:
    commands = page_commands("docs/tls.md")
    workspace = make_workspace(tmp_path)

    async def scenario() -> None:
        async with shell(workspace) as sh:
            steps = []
            for command in commands:
                if is_router(command):
                    _, urls = await sh.start_router(command)
                    assert [u.split(":")[0] for u in urls] == ["wss", "rss"]
                    steps.append("router")
                elif command.line.endswith("make_test_certs.py docs/snippets/certs"):
                    await sh.run(command)
                    steps.append("certs")
                elif command.line.endswith("docs/snippets/tls_client.py"):
                    await sh.run(command)
                    steps.append("client")
                else:
                    raise AssertionError(f"tls.md: no test step for `{command.line}`")
            assert steps == ["certs", "router", "client"]

    asyncio.run(scenario())


def test_router_page(tmp_path: Path) -> None:
    """Each router command starts, serves its realm, and stops on Ctrl-C with status 0."""
    commands = page_commands("docs/router.md")
    workspace = make_workspace(tmp_path)
    realms = {
        "autostrada router": "realm1",
        "autostrada router --config examples/router.toml": "com.example.app",
    }

    async def scenario() -> None:
        for command in commands:
            assert is_router(command), command.line
            async with shell(workspace) as sh:
                router, urls = await sh.start_router(command)
                ws_url = next(u for u in urls if u.startswith("ws://"))
                if "--crossbar-config" in command.line:
                    await check_crossbar_config(ws_url)
                else:
                    async with await autostrada.connect(ws_url, realms[command.line]) as session:
                        assert session.details is not None
                        assert session.details.authrole == "anonymous"
                assert await router.interrupt() == 0, router.describe()
                assert "Traceback" not in "\n".join(router.stderr)

    asyncio.run(scenario())


async def check_crossbar_config(url: str) -> None:
    """The Crossbar config of router.md: anonymous sessions, and backend-1 with WAMP-CRA."""
    backend = {"wampcra": {"authid": "backend-1", "secret": "backend-secret"}}
    async with (
        await autostrada.connect(url, "realm1") as anonymous,
        await autostrada.connect(url, "realm1", authentication=backend) as callee,
    ):
        assert callee.details is not None and callee.details.authrole == "backend"
        await callee.register(lambda: "hi", "com.example.hello")
        assert await anonymous.call("com.example.hello") == "hi"


def test_testing_page(tmp_path: Path) -> None:
    commands = page_commands("docs/testing.md")
    assert len(commands) == 2

    async def scenario() -> None:
        async with shell(make_workspace(tmp_path)) as sh:
            for command in commands:
                out = await sh.run(command)
                if "pytest" in command.line:
                    assert re.search(r"\b2 passed\b", out), out
                elif "unittest" in command.line:
                    assert re.search(r"Ran 1 test.*\n\s*OK", out, re.DOTALL), out
                else:
                    raise AssertionError(f"testing.md: no test step for `{command.line}`")

    asyncio.run(scenario())


def test_performance_page() -> None:
    """The benchmark commands exist and take the options shown (they are never run here)."""
    commands = page_commands("docs/performance.md")

    async def scenario() -> None:
        async with shell(ROOT) as sh:
            for command in commands:
                if command.words[0] == "make":
                    dry = await sh.run(Command(f"make -n {command.words[1]}"))
                    assert "bench/core.py" in dry
                    continue
                script = command.words[1]
                assert re.fullmatch(r"bench/\w+\.py", script), command.line
                usage = await sh.run(Command(f"python {script} --help"))
                for option in (w for w in command.words if w.startswith("--")):
                    assert option in usage, f"{script} has no {option}"

    asyncio.run(scenario())


def test_reliability_page() -> None:
    """The reliability commands name test files that exist and options the soak takes.

    The tests themselves run in the suite (tests/reliability); the soak runs on demand.
    """
    commands = page_commands("docs/reliability.md")
    assert commands

    async def scenario() -> None:
        async with shell(ROOT) as sh:
            for command in commands:
                words = command.words
                if "pytest" in words:
                    targets = [w for w in words if w.startswith("tests/")]
                    assert targets, command.line
                    for target in targets:
                        assert (ROOT / target.split("::", 1)[0]).exists(), target
                    continue
                script = next(w for w in words if w.startswith("bench/"))
                assert script == "bench/soak.py", command.line
                usage = await sh.run(Command(f"python {script} --help"))
                for option in (w for w in words if w.startswith("--")):
                    assert option in usage, f"{script} has no {option}"

    asyncio.run(scenario())
