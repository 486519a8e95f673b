"""The ``autostrada`` command: router (defaults, TOML, Crossbar config), demo, version, errors.

Long-running commands run as subprocesses (always killed in ``finally``); what returns
at once runs in-process through :func:`autostrada.cli.main`.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from server_kit import (
    async_test,
    eventually,
    listener,
    server_config,
    session_count,
    sessions,
    within,
)

from autostrada import __version__
from autostrada.cli import main, run_router

SHUTDOWN = "wamp.close.system_shutdown"

TOML = """\
[router]
shutdown_timeout = 2

[[realms]]
name = "realm1"

[[realms.roles]]
name = "anonymous"

[[realms.roles.permissions]]
uri = ""
match = "prefix"
call = true
register = true
publish = true
subscribe = true
"""

UNIVERSAL = '\n[[listeners]]\nkind = "universal"\nport = 0\n'


def command(*args: str) -> list[str]:
    """The installed ``autostrada`` console script (the entry point users run)."""
    script = Path(sys.executable).with_name("autostrada")
    assert script.exists(), f"the console script is not installed next to {sys.executable}"
    return [str(script), *args]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def router_process(*args: str) -> AsyncIterator[asyncio.subprocess.Process]:
    """``autostrada router ...`` as a subprocess; killed (and reaped) when the block ends."""
    proc = await asyncio.create_subprocess_exec(
        *command("router", *args),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
        await within(proc.communicate(), 10)  # reads the pipes to their end: no leak


async def read_until_listening(proc: asyncio.subprocess.Process, count: int) -> list[str]:
    """stderr lines up to the ``count``-th "listening on" (or the process's exit)."""
    assert proc.stderr is not None
    lines: list[str] = []
    listening = 0
    while listening < count:
        line = (await within(proc.stderr.readline(), 10)).decode()
        if not line:
            break  # exited
        lines.append(line)
        listening += "listening on " in line
    return lines


def urls_in(lines: list[str]) -> list[str]:
    return [m.group(1) for line in lines if (m := re.search(r"listening on (\S+)", line))]


def leave_reason(session: Any) -> asyncio.Future[str]:
    future: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def on_leave(_session: Any, details: Any) -> None:
        if not future.done():
            future.set_result(details.reason)

    session.on("leave", on_leave)
    return future


# ------------------------------------------------------------------ autostrada router


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
@async_test
async def test_router_with_a_toml_config_stops_gracefully_on_a_signal(
    tmp_path: Path, stop_signal: signal.Signals
) -> None:
    config = tmp_path / "router.toml"
    config.write_text(TOML + UNIVERSAL)
    async with router_process("--config", str(config)) as proc:
        lines = await read_until_listening(proc, 2)
        ws, rs = urls_in(lines)
        assert re.fullmatch(r"ws://127\.0\.0\.1:\d+/ws", ws)
        assert rs == "rs" + ws[2:].removesuffix("/ws")
        async with sessions(ws) as [over_ws], sessions(rs) as [over_rs]:
            assert await session_count(over_ws) == 2
            reasons = [leave_reason(over_ws), leave_reason(over_rs)]
            proc.send_signal(stop_signal)
            assert [await within(r) for r in reasons] == [SHUTDOWN, SHUTDOWN]
            assert await within(proc.wait(), 10) == 0
        _, rest = await within(proc.communicate(), 10)
        stderr = "".join(lines) + rest.decode()
        assert "shutting down" in stderr and "stopped listening on " + ws in stderr
        assert "Traceback" not in stderr


@async_test
async def test_router_without_arguments_is_the_development_router() -> None:
    """realm1 on 8080 (ws) and 8081 (rs), announced in one warning line.

    The ports are fixed: if something else holds one of them on this machine, the
    command must fail cleanly (exit 1, naming the address) instead.
    """
    async with router_process() as proc:
        lines = await read_until_listening(proc, 2)
        warnings = [line for line in lines if "WARNING" in line]
        assert len(warnings) == 1, lines
        assert (
            "development mode: realm 'realm1' on ws://127.0.0.1:8080/ws and "
            "rs://127.0.0.1:8081, where anonymous sessions may do everything" in warnings[0]
        )
        if urls_in(lines) == ["ws://127.0.0.1:8080/ws", "rs://127.0.0.1:8081"]:
            async with sessions("rs://127.0.0.1:8081") as [session]:
                await within(session.register(lambda: "dev", "com.dev"))
                async with sessions("ws://127.0.0.1:8080/ws") as [caller]:
                    assert await within(caller.call("com.dev")) == "dev"
                proc.send_signal(signal.SIGINT)
                assert await within(proc.wait(), 10) == 0
        else:  # pragma: no cover - only when 8080 or 8081 is taken on this machine
            assert await within(proc.wait(), 10) == 1
            _, rest = await within(proc.communicate(), 10)
            assert re.search(r"cannot listen on 127\.0\.0\.1:808[01]", rest.decode())


@async_test
async def test_router_with_a_crossbar_config(tmp_path: Path) -> None:
    ws_port, rs_port = free_port(), free_port()
    endpoint = {"type": "tcp", "interface": "127.0.0.1"}
    node = {
        "version": 2,
        "controller": {},
        "workers": [
            {
                "type": "router",
                "realms": [
                    {
                        "name": "realm1",
                        "roles": [
                            {
                                "name": "anonymous",
                                "permissions": [
                                    {
                                        "uri": "",
                                        "match": "prefix",
                                        "allow": {
                                            "call": True,
                                            "register": True,
                                            "publish": True,
                                            "subscribe": True,
                                        },
                                        "disclose": {"caller": False, "publisher": False},
                                        "cache": True,
                                    }
                                ],
                            }
                        ],
                    }
                ],
                "transports": [
                    {"type": "websocket", "endpoint": {**endpoint, "port": ws_port}},
                    {"type": "rawsocket", "endpoint": {**endpoint, "port": rs_port}},
                ],
            }
        ],
    }
    cbdir = tmp_path / ".crossbar"
    cbdir.mkdir()
    config = cbdir / "config.json"
    config.write_text(json.dumps(node))
    async with router_process("--crossbar-config", str(config)) as proc:
        lines = await read_until_listening(proc, 2)
        # A Crossbar websocket transport serves every path, and the batched serializers.
        assert urls_in(lines) == [f"ws://127.0.0.1:{ws_port}/", f"rs://127.0.0.1:{rs_port}"]
        async with (
            sessions(f"ws://127.0.0.1:{ws_port}/any", serializers=["json.batched"]) as [ws],
            sessions(f"rs://127.0.0.1:{rs_port}") as [rs],
        ):
            await within(rs.register(lambda a, b: a + b, "com.add"))
            assert await within(ws.call("com.add", 2, 3)) == 5
            proc.send_signal(signal.SIGTERM)
            assert await within(proc.wait(), 10) == 0


BAD_TOML = [
    (
        TOML.replace('name = "realm1"', 'name = "realm1"\ncolour = "red"'),
        "realms[0].colour: unknown key 'colour'",
    ),
    (TOML + '\n[[listeners]]\nkind = "universal"\nport = "80"\n', "listeners[0].port: must be"),
    (TOML + '\n[[listeners]]\nkind = "sideways"\nport = 0\n', "listeners[0].kind: must be"),
    ("[[[ not toml", "not valid TOML"),
]


@pytest.mark.parametrize(("text", "key"), BAD_TOML)
def test_a_bad_toml_config_exits_2_naming_the_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, key: str
) -> None:
    config = tmp_path / "router.toml"
    config.write_text(text)
    assert main(["router", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"autostrada router: {config}: ")
    assert key in err
    assert err.count("\n") == 1  # one line, no traceback


def test_a_missing_or_bad_crossbar_config_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nothing.toml"
    assert main(["router", "--config", str(missing)]) == 2
    assert str(missing) in capsys.readouterr().err
    crossbar = tmp_path / "config.json"
    crossbar.write_text(json.dumps({"version": 2, "workers": [{"type": "router", "realms": 5}]}))
    assert main(["router", "--crossbar-config", str(crossbar)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"autostrada router: {crossbar}: workers[0].realms")


def test_config_and_crossbar_config_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["router", "--config", "a.toml", "--crossbar-config", "b.json"])
    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_a_port_in_use_exits_1_naming_the_address(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = tmp_path / "router.toml"
        config.write_text(TOML + f'\n[[listeners]]\nkind = "websocket"\nport = {port}\n')
        with restored_signal_handlers():
            assert main(["router", "--config", str(config)]) == 1
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


@contextmanager
def restored_signal_handlers() -> Iterator[None]:
    """run_router installs SIGINT/SIGTERM handlers; put back what the test process had."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def test_run_router_in_process_stops_on_sigterm(caplog: pytest.LogCaptureFixture) -> None:
    @async_test
    async def scenario() -> None:
        caplog.set_level("INFO", logger="autostrada.router")
        running = asyncio.ensure_future(run_router(server_config(listener("universal"))))
        # The signal handlers are installed before the listeners start.
        await eventually(lambda: "listening on ws://" in caplog.text, 5)
        [url] = re.findall(r"listening on (ws://\S+)", caplog.text)
        async with sessions(url) as [session]:
            reason = leave_reason(session)
            os.kill(os.getpid(), signal.SIGTERM)
            await within(running)
            assert await within(reason) == SHUTDOWN

    with restored_signal_handlers():
        scenario()


# ------------------------------------------------------------------ demo, version, help


def test_demo_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "caller    com.demo.add(2, 3) -> 5" in out
    assert "subscriber got 'third' on com.demo.news" in out
    assert re.search(r"^demo ok: 4 checks passed in [\d.]+ s$", out, re.MULTILINE)
    assert main(["demo", "--quiet"]) == 0
    assert re.fullmatch(r"demo ok: 4 checks passed in [\d.]+ s\n", capsys.readouterr().out)


def test_demo_command_exits_0() -> None:
    done = subprocess.run(command("demo"), check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "demo ok" in done.stdout
    assert done.stderr == ""


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"autostrada {__version__}\n"
    done = subprocess.run(
        command("--version"), check=False, capture_output=True, text=True, timeout=30
    )
    assert (done.returncode, done.stdout) == (0, f"autostrada {__version__}\n")


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    out = capsys.readouterr().out
    assert out.startswith("usage: autostrada")
    assert "router" in out and "demo" in out
