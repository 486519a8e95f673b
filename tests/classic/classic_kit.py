"""Helpers of the class-based API tests: bounded async tests, scripts as subprocesses, routers.

Every wait is bounded; every subprocess is killed when its test is done (or fails).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import queue
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Awaitable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from async_kit import async_runner, bounded
from autostrada.router.config import ListenerConfig, ServerConfig

TEST_TIMEOUT = 15.0
"""Upper bound on every async test."""

SCRIPT_TIMEOUT = 20.0
"""Upper bound on one subprocess's run."""

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "classic"

# Output that no script may leave on stderr.
NOISE = ("Task was destroyed", "never retrieved", "was never awaited", "Unclosed", "Warning")

async_test = async_runner(TEST_TIMEOUT)
"""Run an ``async def`` test in a fresh loop, bounded by :data:`TEST_TIMEOUT` (see async_kit)."""


async def within(awaitable: Awaitable[Any], seconds: float = 5.0) -> Any:
    """Await with a bound shorter than the test's, so that a failure names the step."""
    return await bounded(awaitable, seconds)


def load(name: str, path: Path) -> Any:
    """Load a helper module of another test directory under a name of its own."""
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    return module


peer_router = load("classic_tests_peer_router", REPO / "tests" / "peers" / "peer_router.py")
peer_env = load("classic_tests_peer_env", REPO / "tests" / "peers" / "peer_env.py")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def unix_socket_path() -> str:
    """A path for a Unix socket, short enough for ``sun_path``."""
    return str(Path(tempfile.mkdtemp(prefix="as-classic-")) / "router.sock")


def router_config(creds: Any, port: int = 0, unix_path: str | None = None) -> ServerConfig:
    """tests/peers' realm (a principal for every auth method) on TCP (and a Unix socket)."""
    config: ServerConfig = peer_router.router_config(creds)
    listeners = [ListenerConfig(kind="universal", host="127.0.0.1", port=port)]
    if unix_path is not None:
        listeners.append(ListenerConfig(kind="universal", unix_path=unix_path))
    return dataclasses.replace(config, listeners=tuple(listeners))


# ----------------------------------------------------------------------------- scripts


def find_in_order(lines: Sequence[str], expected: Sequence[str]) -> str | None:
    """Check that ``expected`` lines occur in ``lines`` in this order (``*``: any text);
    return the first one missing, else ``None``."""
    position = 0
    for wanted in expected:
        parts = wanted.split("*")
        while position < len(lines) and not _matches(lines[position], parts):
            position += 1
        if position == len(lines):
            return wanted
        position += 1
    return None


def _matches(line: str, parts: list[str]) -> bool:
    if len(parts) == 1:
        return line == parts[0]
    if not (line.startswith(parts[0]) and line.endswith(parts[-1])):
        return False
    position = len(parts[0])
    for part in parts[1:-1]:
        found = line.find(part, position)
        if found < 0:
            return False
        position = found + len(part)
    return position <= len(line) - len(parts[-1])


class Script:
    """A Python script in a subprocess: its stdout lines as they come, stderr at the end.

    Use as a context manager: the process is killed on exit if it still runs.
    """

    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        interpreter: str = sys.executable,
    ) -> None:
        warnings = ["-W", "error"] if interpreter == sys.executable else []
        self.proc = subprocess.Popen(
            [interpreter, *warnings, *argv],
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        self.stdout: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr: list[str] = []
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True),
            threading.Thread(target=self._drain, args=(self.proc.stderr,), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def _drain(self, stream: IO[str]) -> None:
        self._stderr.extend(stream)

    def wait_for_line(self, text: str, timeout: float = SCRIPT_TIMEOUT) -> None:
        """Read stdout until the line ``text`` (bounded)."""
        while True:
            try:
                line = self._lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(
                    f"no line {text!r} within {timeout} s: {self.stdout}"
                ) from None
            if line is None:
                self._lines.put(None)
                raise AssertionError(
                    f"the script ended before printing {text!r}:\n{self.stdout}\n{self.stderr}"
                )
            self.stdout.append(line)
            if line == text:
                return

    def finish(self, timeout: float = SCRIPT_TIMEOUT) -> int:
        """Wait for the exit (bounded, then kill); collect the output; return the status."""
        try:
            self.proc.wait(timeout=timeout)
        finally:
            self.kill()
        while (line := self._lines.get(timeout=timeout)) is not None:
            self.stdout.append(line)
        self._lines.put(None)
        for reader in self._readers:
            reader.join(timeout)
        return self.proc.returncode

    @property
    def stderr(self) -> str:
        return "".join(self._stderr)

    def noise(self) -> list[str]:
        """What no script may leave on stderr (asyncio leaks, warnings)."""
        return [word for word in NOISE if word in self.stderr]

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> Script:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.kill()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
