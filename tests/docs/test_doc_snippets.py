"""The example programs of the docs (``docs/snippets/``) run, and print what they say."""

from __future__ import annotations

import asyncio
import configparser
import dataclasses
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from docs_kit import (
    ROOT,
    SNIPPETS,
    TIMEOUT,
    Command,
    free_port,
    lines_match,
    make_workspace,
    shell,
)

import autostrada
from autostrada.router.config import ListenerConfig, load_toml
from autostrada.testing import RouterThread, test_config

SNIPPET_OUTPUTS: dict[str, list[str]] = {
    # snippet -> its stdout against a development router, line by line (regular expressions)
    "connect_and_call.py": ["5"],
    "session_rpc.py": [
        "5",
        "hi, Ada",
        r"\[3, 1\]",
        r"\{'count': 3, 'total': 6\}",
        "None",
        "com.example.whoami",
        r"com.example.error.negative \(-1,\) \{'hint': 'use n >= 0'\}",
        r"not found: \('x',\)",
        "wamp.error.no_such_procedure",
    ],
    "session_pubsub.py": [
        "Publication",
        r"news: fire and forget \(normal\)",
        r"news: acknowledged \(high\)",
        "com.example.sensor.kitchen: 21.5",
        r"news: to myself \(normal\)",
        "status: up",
    ],
    "session_progress.py": ["3", "2", "1", "liftoff", "progress 2", "progress 1", "liftoff", "10"],
    "session_cancel.py": [
        "wamp.error.timeout",
        "the callee's task was cancelled",
        "call cancelled",
        "the callee's task was cancelled",
    ],
    "session_objects.py": ["2 1", "22.5", "20.0"],
    "component_main.py": ["2 \\+ 3 = 5"],
    "component_in_asyncio.py": ["5"],
    "router_embedded.py": ["5"],
}


def run_snippet(name: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SNIPPETS / name)],
        env={**os.environ, **env},
        cwd=ROOT,
        check=False,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


@pytest.mark.parametrize("name", sorted(SNIPPET_OUTPUTS))
def test_snippet_output(name: str, wamp_router: RouterThread) -> None:
    done = run_snippet(name, {"AUTOSTRADA_URL": wamp_router.url})
    assert done.returncode == 0, done.stderr
    assert lines_match(done.stdout.splitlines(), SNIPPET_OUTPUTS[name]), done.stdout
    assert "Traceback" not in done.stderr


def test_snippets_default_to_the_documented_url() -> None:
    """Without AUTOSTRADA_URL a snippet goes to autostrada router's address (none here)."""
    port = free_port()  # nothing listens there
    done = run_snippet("connect_and_call.py", {"AUTOSTRADA_URL": f"ws://127.0.0.1:{port}/ws"})
    assert done.returncode == 1
    assert f"127.0.0.1:{port}" in done.stderr  # the URL it was given, in the error


def test_component_reconnects(tmp_path: Path) -> None:
    """component_reconnect.py: joins, survives a router restart, stops on Ctrl-C."""
    port = free_port()
    config = test_config()
    config = dataclasses.replace(
        config, listeners=(ListenerConfig("universal", host="127.0.0.1", port=port),)
    )
    script = Command(f"python {SNIPPETS / 'component_reconnect.py'}")

    async def scenario() -> None:
        async with shell(tmp_path) as sh:
            sh.env["AUTOSTRADA_URL"] = f"ws://127.0.0.1:{port}/ws"
            sh.env["AUTOSTRADA_RS_URL"] = f"rs://127.0.0.1:{port}"
            with RouterThread(config) as router:
                component = await sh.start(script)
                await component.wait_for("^ready$")
                assert await add(router.url) == 5
            with RouterThread(config) as router:  # the same address again
                await component.wait_for("^ready$", count=2)
                assert await add(router.url) == 5
                status = await component.interrupt()
        assert status == 0, component.describe()
        out = component.stdout
        assert out[:3] == ["connected", "joined realm1 as anonymous", "ready"]
        restart = out.index("left: wamp.close.system_shutdown")
        assert out[restart + 1] == "disconnected (clean: True)"
        assert out[-3:] == [
            "ready",
            "left: wamp.close.goodbye_and_out",
            "disconnected (clean: True)",
        ]

    asyncio.run(scenario())


async def add(url: str) -> int:
    async with await autostrada.connect(url) as session:
        result: int = await session.call("com.example.add", 2, 3)
        return result


def test_production_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """production.toml, with its paths and ports moved into tmp_path, serves its clients."""
    workspace = make_workspace(tmp_path)
    certs = workspace / "certs"
    subprocess.run(
        [sys.executable, str(SNIPPETS / "make_test_certs.py"), str(certs)],
        check=True,
        capture_output=True,
        timeout=TIMEOUT,
    )
    (certs / "fullchain.pem").write_bytes((certs / "server.pem").read_bytes())
    (certs / "privkey.pem").write_bytes((certs / "server.key").read_bytes())
    socket_dir = Path(os.environ.get("TMPDIR", "/tmp")) / f"autostrada-docs-{os.getpid()}"
    socket_dir.mkdir(exist_ok=True)
    text = (SNIPPETS / "production.toml").read_text()
    text = text.replace("/etc/autostrada/tls/", f"{certs}/").replace(
        "/run/autostrada/", f"{socket_dir}/"
    )
    assert "port = 443\n" in text and 'host = "0.0.0.0"' in text
    text = text.replace("port = 443\n", "port = 0\n").replace('"0.0.0.0"', '"127.0.0.1"')
    path = workspace / "router.toml"
    path.write_text(text)
    monkeypatch.setenv("BACKEND_SECRET", "backend-secret")
    monkeypatch.setenv("WEB_TICKET", "web-ticket")
    config = load_toml(path)
    assert config.warnings == ()

    async def scenario(wss: str, unix: str) -> list[str]:
        import ssl

        context = ssl.create_default_context(cafile=str(certs / "ca.pem"))
        web = {"ticket": {"authid": "web", "ticket": "web-ticket"}}
        backend = {"wampcra": {"authid": "backend-1", "secret": "backend-secret"}}
        async with (
            await autostrada.connect(
                wss, "com.example.app", authentication=web, ssl=context
            ) as frontend,
            await autostrada.connect(unix, "com.example.app", authentication=backend) as back,
        ):
            await back.register(lambda: "ok", "com.example.api.status")
            assert await frontend.call("com.example.api.status") == "ok"
            return [s.details.authrole for s in (frontend, back) if s.details]

    try:
        with RouterThread(config, realm="com.example.app") as router:
            assert router.server is not None
            urls = router.server.urls
            wss = next(u for u in urls if u.startswith("wss://"))
            unix = next(u for u in urls if u.startswith("rs+unix://"))
            assert asyncio.run(scenario(wss, unix)) == ["frontend", "backend"]
    finally:
        for leftover in socket_dir.iterdir():
            leftover.unlink()
        socket_dir.rmdir()


def test_systemd_unit() -> None:
    """The unit file parses, and its ExecStart is an ``autostrada router`` command line."""
    unit = configparser.ConfigParser(strict=True, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    unit.read_string((SNIPPETS / "autostrada-router.service").read_text())
    service = unit["Service"]
    argv = shlex.split(service["ExecStart"])
    assert Path(argv[0]).name == "autostrada" and argv[0].startswith("/")
    assert argv[1:3] == ["router", "--config"]
    assert service["KillSignal"] == "SIGTERM"  # the router stops gracefully on it
    assert service["Type"] in ("simple", "exec")
    assert int(service["TimeoutStopSec"]) > 10  # more than production.toml's shutdown_timeout
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    done = subprocess.run(
        [str(Path(sys.executable).with_name("autostrada")), *argv[1:2], "--help"],
        check=False,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert done.returncode == 0, done.stderr
    assert "--config" in done.stdout
