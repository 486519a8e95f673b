"""Install the Autobahn peers and run their scripts as bounded subprocesses.

Each peer lives in a directory of its own under ``.peers/`` at the repository root (or
``$AUTOSTRADA_PEERS_DIR``), never in the project's virtual environment:

* ``.peers/autobahn-venv``: a virtual environment with :data:`AUTOBAHN_PY_REQUIREMENTS`
  (pip from PyPI, about 20 s and 70 MB the first time);
* ``.peers/autobahn-js``: ``npm ci`` of ``tests/peers/autobahn_js/package.json`` and its
  ``package-lock.json`` (a few seconds and 5 MB); scripts find it through ``NODE_PATH``.

Both are installed on first use under a file lock (concurrent test runs install once),
marked with a stamp naming what was installed, and reused while the stamp matches. A
failed install raises :class:`PeerError` with the tail of the installer's log: the tests
that need the peer then fail with that reason, they never skip.

:class:`PeerProcess` runs one peer script. The script and the test talk in JSON lines:
the script prints ``{"event": NAME, ...}`` objects on stdout and reads commands from its
stdin; a script that fails prints ``{"event": "failed", "error": TEXT}`` and exits
non-zero. Every wait is bounded, and the process is killed when the test is done.

Nothing here depends on pytest; ``conftest.py`` wires it into fixtures.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "AUTOBAHN_JS_DIR",
    "AUTOBAHN_PY_DIR",
    "AUTOBAHN_PY_REQUIREMENTS",
    "NodeMissing",
    "PeerError",
    "PeerKind",
    "PeerProcess",
    "ensure_autobahn_js",
    "ensure_autobahn_python",
    "node_command",
    "peers_dir",
]

AUTOBAHN_PY_REQUIREMENTS = (
    # encryption: PyNaCl for WAMP-Cryptosign; scram: argon2-cffi and passlib for WAMP-SCRAM.
    # msgpack and cbor2 are dependencies of autobahn itself; named here to be explicit.
    "autobahn[encryption,scram]==26.10.2",
    "msgpack",
    "cbor2",
)
"""What pip installs into ``.peers/autobahn-venv``."""

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
AUTOBAHN_PY_DIR = HERE / "autobahn_py"
AUTOBAHN_JS_DIR = HERE / "autobahn_js"
INSTALL_TIMEOUT = 10 * 60.0
_STAMP = "autostrada-installed.txt"

Progress = Callable[[str], None]


class PeerError(RuntimeError):
    """A peer could not be installed or misbehaved; the message says why."""


class NodeMissing(PeerError):
    """``node`` (or ``npm``) is not on PATH: the only reason to skip the JS peer tests."""


def peers_dir() -> Path:
    """Where the peers are installed."""
    override = os.environ.get("AUTOSTRADA_PEERS_DIR")
    return Path(override).resolve() if override else REPO / ".peers"


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no {path})"
    return "\n".join(text.splitlines()[-lines:])


def _run_logged(
    argv: Sequence[str], log: Path, what: str, deadline: float, progress: Progress, **kw: Any
) -> None:
    """Run an installer with its output in ``log``, reporting progress every 15 s."""
    start = time.monotonic()
    with log.open("ab") as out:
        out.write(f"$ {' '.join(argv)}\n".encode())
        out.flush()
        proc = subprocess.Popen(
            list(argv), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, **kw
        )
    with proc:
        while True:
            try:
                proc.wait(timeout=min(15.0, max(0.1, deadline - time.monotonic())))
                break
            except subprocess.TimeoutExpired:
                if time.monotonic() >= deadline:
                    proc.kill()
                    proc.wait()
                    raise PeerError(
                        f"{what} took longer than {INSTALL_TIMEOUT:.0f} s; log {log}:\n"
                        + _tail(log)
                    ) from None
                last = _tail(log, 1).strip()[:100]
                progress(f"  ... {time.monotonic() - start:.0f} s: {last}")
    if proc.returncode != 0:
        raise PeerError(
            f"{what} failed (exit {proc.returncode}); is the package registry reachable? "
            f"log {log}:\n" + _tail(log)
        )


class _Locked:
    """An exclusive file lock next to ``target`` (``target.lock``)."""

    def __init__(self, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(target.with_name(target.name + ".lock"), "w")  # noqa: SIM115

    def __enter__(self) -> None:
        fcntl.flock(self._file, fcntl.LOCK_EX)

    def __exit__(self, *exc_info: object) -> None:
        self._file.close()  # releases the lock


# --- Autobahn|Python --------------------------------------------------------------------

_PY_CHECK = "import autobahn, nacl, argon2, passlib, msgpack, cbor2; print(autobahn.__version__)"


def _python_runs(venv: Path) -> bool:
    try:
        result = subprocess.run(
            [str(venv / "bin" / "python"), "-c", _PY_CHECK],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def ensure_autobahn_python(progress: Progress = lambda line: None) -> Path:
    """Return the Python interpreter of the Autobahn venv, installing it first if needed.

    Raises:
        PeerError: pip failed (the message holds its log tail), or the installed
            Autobahn does not import.
    """
    venv = peers_dir() / "autobahn-venv"
    stamp = venv / _STAMP
    wanted = "\n".join(AUTOBAHN_PY_REQUIREMENTS)
    with _Locked(venv):
        if stamp.is_file() and stamp.read_text().strip() == wanted and _python_runs(venv):
            return venv / "bin" / "python"
        progress(
            f"Installing {AUTOBAHN_PY_REQUIREMENTS[0]} into {venv} (first run only: "
            "about 20 s and 70 MB from PyPI) ..."
        )
        start = time.monotonic()
        shutil.rmtree(venv, ignore_errors=True)
        venv.mkdir(parents=True)
        stamp.write_text("installing\n")
        deadline = start + INSTALL_TIMEOUT
        log = venv.with_name(venv.name + "-install.log")
        log.unlink(missing_ok=True)
        # From a venv, "python -m venv" builds on the base interpreter.
        _run_logged([sys.executable, "-m", "venv", str(venv)], log, "venv", deadline, progress)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check"]
        _run_logged([*pip, *AUTOBAHN_PY_REQUIREMENTS], log, "pip install", deadline, progress)
        if not _python_runs(venv):
            raise PeerError(f"the installed Autobahn|Python does not import: {_PY_CHECK!r}")
        stamp.write_text(wanted + "\n")
        progress(f"Autobahn|Python installed in {time.monotonic() - start:.0f} s.")
        return venv / "bin" / "python"


# --- Autobahn|JS ------------------------------------------------------------------------

AUTOBAHN_JS_VERSION = "26.3.1"


def node_command() -> list[str]:
    """``node`` with the flags Autobahn|JS needs, or raise :class:`NodeMissing`.

    Autobahn|JS 26 uses the global ``WebSocket`` of Node 22; Node 20.10+ has the same
    implementation (undici) behind ``--experimental-websocket``.

    Raises:
        NodeMissing: ``node`` is not on PATH.
        PeerError: this Node is too old for Autobahn|JS 26.
    """
    node = shutil.which("node")
    if node is None:
        raise NodeMissing("Node.js is not on PATH (the Autobahn|JS peer tests need `node`)")
    try:
        version = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        raise PeerError(f"`{node} --version` failed: {exc}") from None
    parts = version.lstrip("v").split(".")
    major, minor = int(parts[0]), int(parts[1])
    if major >= 22:
        return [node]
    if (major, minor) >= (20, 10):
        return [node, "--experimental-websocket"]
    raise PeerError(
        f"Autobahn|JS {AUTOBAHN_JS_VERSION} needs Node >= 22 (or >= 20.10 with "
        f"--experimental-websocket); {node} is {version}"
    )


def _lock_digest() -> str:
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        digest.update((AUTOBAHN_JS_DIR / name).read_bytes())
    return digest.hexdigest()


def _js_runs(directory: Path, node: list[str]) -> bool:
    check = "process.stdout.write(require('autobahn').version)"
    try:
        result = subprocess.run(
            [*node, "-e", check],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "NODE_PATH": str(directory / "node_modules")},
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0 and result.stdout == AUTOBAHN_JS_VERSION


def ensure_autobahn_js(progress: Progress = lambda line: None) -> Path:
    """Return the ``node_modules`` directory holding Autobahn|JS, installing it if needed.

    Raises:
        NodeMissing: ``node`` or ``npm`` is not on PATH.
        PeerError: ``npm ci`` failed (with its log tail) or Autobahn|JS does not load.
    """
    node = node_command()
    npm = shutil.which("npm")
    if npm is None:
        raise NodeMissing("npm is not on PATH (the Autobahn|JS peer tests install with npm)")
    directory = peers_dir() / "autobahn-js"
    stamp = directory / _STAMP
    wanted = _lock_digest()
    with _Locked(directory):
        if stamp.is_file() and stamp.read_text().strip() == wanted and _js_runs(directory, node):
            return directory / "node_modules"
        progress(
            f"Installing autobahn@{AUTOBAHN_JS_VERSION} (npm ci) into {directory} "
            "(first run only: a few seconds, 5 MB from npm) ..."
        )
        start = time.monotonic()
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        stamp.write_text("installing\n")
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(AUTOBAHN_JS_DIR / name, directory / name)
        log = directory.with_name(directory.name + "-install.log")
        log.unlink(missing_ok=True)
        argv = [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"]
        _run_logged(argv, log, "npm ci", start + INSTALL_TIMEOUT, progress, cwd=directory)
        if not _js_runs(directory, node):
            raise PeerError(f"the installed Autobahn|JS does not load ({directory})")
        stamp.write_text(wanted + "\n")
        progress(f"Autobahn|JS installed in {time.monotonic() - start:.0f} s.")
        return directory / "node_modules"


# --- running a peer script --------------------------------------------------------------


class PeerProcess:
    """One peer script in a subprocess, spoken to in JSON lines.

    Use as ``async with PeerProcess(argv, env) as peer:``; leaving the block kills the
    process if it still runs. ``name`` appears in every error message.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        timeout: float = 20.0,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env) if env is not None else None
        self.timeout = timeout
        self.events: list[dict[str, Any]] = []
        self._proc: asyncio.subprocess.Process | None = None
        self._stderr: asyncio.Task[bytes] | None = None

    async def __aenter__(self) -> PeerProcess:
        self._proc = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self.env,
            limit=1 << 22,
        )
        assert self._proc.stderr is not None
        self._stderr = asyncio.ensure_future(self._proc.stderr.read())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Kill the process if it still runs, and reap it."""
        proc = self._proc
        if proc is None:
            return
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        with contextlib.suppress(Exception):
            if proc.stdin is not None:
                proc.stdin.close()
        await proc.wait()
        if self._stderr is not None:
            with contextlib.suppress(Exception):
                await self._stderr

    def stderr_text(self) -> str:
        if self._stderr is not None and self._stderr.done() and not self._stderr.cancelled():
            exc = self._stderr.exception()
            if exc is None:
                return self._stderr.result().decode(errors="replace")[-4000:]
        return "(stderr not available yet)"

    async def _fail(self, problem: str, *, exiting: bool = False) -> PeerError:
        proc = self._proc
        if exiting and proc is not None:
            with contextlib.suppress(TimeoutError):  # let it finish its stderr
                await asyncio.wait_for(proc.wait(), 5)
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        if proc is not None:
            await proc.wait()
        if self._stderr is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._stderr), 5)
        seen = "\n".join(json.dumps(e)[:300] for e in self.events[-10:]) or "(none)"
        return PeerError(
            f"{self.name}: {problem}\nlast events:\n{seen}\nstderr:\n{self.stderr_text()}"
        )

    async def next_event(self, timeout: float | None = None) -> dict[str, Any]:
        """The next JSON object the script printed (bounded by ``timeout``)."""
        assert self._proc is not None and self._proc.stdout is not None
        limit = self.timeout if timeout is None else timeout
        try:
            line = await asyncio.wait_for(self._proc.stdout.readline(), limit)
        except TimeoutError:
            raise await self._fail(f"printed nothing within {limit} s") from None
        if not line:
            code = await self._proc.wait()
            raise await self._fail(f"exited (code {code}) without the expected output")
        try:
            event = json.loads(line)
        except ValueError:
            raise await self._fail(f"printed a line that is not JSON: {line[:300]!r}") from None
        if not isinstance(event, dict) or "event" not in event:
            raise await self._fail(f"printed {line[:300]!r}, not an event object")
        self.events.append(event)
        if event["event"] == "failed":
            raise await self._fail(f"failed: {event.get('error')}", exiting=True)
        return event

    async def expect(self, name: str, timeout: float | None = None) -> dict[str, Any]:
        """Wait for the event ``name``; any other event first is an error."""
        event = await self.next_event(timeout)
        if event["event"] != name:
            raise await self._fail(f"expected event {name!r}, got {event!r:.300}")
        return event

    async def expect_matching(
        self, name: str, wanted: Callable[[dict[str, Any]], bool], timeout: float | None = None
    ) -> dict[str, Any]:
        """Wait for an event ``name`` that ``wanted`` accepts, passing over other ``name``
        events (meta events about sessions of earlier tests, say); any other event first
        is an error."""
        while True:
            event = await self.expect(name, timeout)
            if wanted(event):
                return event

    def send(self, command: Mapping[str, Any]) -> None:
        """Write one JSON command line to the script's stdin."""
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write(json.dumps(command).encode() + b"\n")

    async def finish(self, timeout: float | None = None) -> dict[str, Any]:
        """Wait for the ``done`` event, then for a zero exit; return the ``done`` event.

        ``done["notes"]`` lists peer misbehaviour the script worked around.
        """
        done = await self.expect("done", timeout)
        assert self._proc is not None
        limit = self.timeout if timeout is None else timeout
        try:
            code = await asyncio.wait_for(self._proc.wait(), limit)
        except TimeoutError:
            raise await self._fail(f"did not exit within {limit} s after 'done'") from None
        if code != 0:
            raise await self._fail(f"exited with code {code} after 'done'")
        return done


@dataclass
class PeerKind:
    """One of the peers, and how to start its scenarios.

    Attributes:
        name: ``autobahn-python`` or ``autobahn-js``.
        argv: the command before the config argument.
        env: the environment of its processes.
        rawsocket_serializers: the serializers it speaks over RawSocket.
        feature_transport: (transport, serializer) of the feature tests; serializer
            ``None`` is the peer's default list.
        default_serializers: what it offers over WebSocket when given none.
        auth_methods: the authentication methods it implements.
        callee_canceling: does it announce call canceling as a callee (INTERRUPT)?
        ws_url, rs_url, realm, creds: the router it talks to, and its principals.
    """

    name: str
    argv: list[str]
    env: dict[str, str]
    rawsocket_serializers: tuple[str, ...]
    feature_transport: tuple[str, str | None]
    default_serializers: tuple[str, ...]
    auth_methods: tuple[str, ...]
    callee_canceling: bool
    ws_url: str
    rs_url: str
    realm: str
    creds: dict[str, Any]

    def start(
        self,
        scenario: str,
        *,
        transport: str | None = None,
        serializer: str | None = "feature",
        timeout: float = 20.0,
        **params: Any,
    ) -> PeerProcess:
        """A :class:`PeerProcess` running ``scenario`` (use it with ``async with``)."""
        if transport is None:
            transport = self.feature_transport[0]
        if serializer == "feature":
            serializer = self.feature_transport[1]
        config = {
            "scenario": scenario,
            "ws_url": self.ws_url,
            "rs_url": self.rs_url,
            "transport": transport,
            "serializer": serializer,
            "realm": self.realm,
            "creds": self.creds,
            "params": params,
            "timeout": timeout * 2,
        }
        name = f"{self.name} {scenario} ({transport}, {serializer or 'default serializers'})"
        return PeerProcess(name, [*self.argv, json.dumps(config)], self.env, timeout)
