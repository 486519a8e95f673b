"""Helpers of the example tests: run an example as a subprocess, match its output, routers.

Every example is a script a user runs with ``python examples/<name>.py``; the tests run
it the same way (with ``-W error``: a warning fails it), pointed at a router of the test
through ``AUTOSTRADA_*`` environment variables, bounded by :data:`EXAMPLE_TIMEOUT`
(``subprocess.run`` kills the process when the time is up, or when the test is
interrupted).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autostrada.router.config import ListenerConfig, ServerConfig, TLSConfig, load_toml
from autostrada.router.core import RouterConfig

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
DOC = REPO / "docs" / "porting-from-autobahn.md"
EXAMPLE_TIMEOUT = 30.0
"""Upper bound on one example's run (they take well under a second)."""

# Output that no example may leave on stderr (the log lines there are expected).
NOISE = ("Task was destroyed", "never retrieved", "was never awaited", "Unclosed", "Warning")


@dataclass
class Result:
    """What an example did: exit code, stdout lines, stderr text."""

    path: Path
    returncode: int
    stdout: list[str]
    stderr: str

    def explain(self) -> str:
        name, lines = self.path.relative_to(REPO), "\n".join(self.stdout)
        return f"{name} exited {self.returncode}\n--- stdout\n{lines}\n--- stderr\n{self.stderr}"


def run_script(
    argv: Sequence[str], env: Mapping[str, str], timeout: float = EXAMPLE_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """Run a Python script to its end (killed if it outlives ``timeout``)."""
    return subprocess.run(
        list(argv),
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        check=False,
    )


def run_example(relative: str, env: Mapping[str, str]) -> Result:
    """Run ``examples/<relative>`` with the test's interpreter, warnings as errors."""
    path = EXAMPLES / relative
    done = run_script([sys.executable, "-W", "error", str(path)], env)
    return Result(path, done.returncode, done.stdout.splitlines(), done.stderr)


def _pattern(expected: str) -> re.Pattern[str]:
    """``*`` matches any text; everything else literally."""
    return re.compile(".*".join(re.escape(part) for part in expected.split("*")) + r"\Z")


def find_in_order(lines: Sequence[str], expected: Sequence[str]) -> str | None:
    """Check that ``expected`` lines occur in ``lines`` in this order (others may be
    between them); return the first one missing, else ``None``."""
    position = 0
    for wanted in expected:
        pattern = _pattern(wanted)
        while position < len(lines) and not pattern.match(lines[position]):
            position += 1
        if position == len(lines):
            return wanted
        position += 1
    return None


# ----------------------------------------------------------------------------- routers


def auth_router_config() -> ServerConfig:
    """examples/auth/router.toml, listening on a free port instead of 8080."""
    config = load_toml(EXAMPLES / "auth" / "router.toml")
    return dataclasses.replace(config, listeners=(ListenerConfig(kind="universal", port=0),))


def tls_router_config(certificates: Any) -> ServerConfig:
    """realm1 for anyone, on a TLS WebSocket listener that wants a client certificate."""
    tls = TLSConfig(
        cert_file=str(certificates.server_cert),
        key_file=str(certificates.server_key),
        ca_file=str(certificates.ca),
        require_client_cert=True,
    )
    return ServerConfig(
        router=RouterConfig.development("realm1"),
        listeners=(ListenerConfig(kind="websocket", port=0, tls=tls),),
    )


def _load(name: str, path: Path) -> Any:
    """Load a helper module of another test directory under a name of its own."""
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    return module


def make_certificates(directory: Path) -> Any:
    """A throwaway CA, a server certificate (127.0.0.1, localhost) and a client one.

    Returns tests/aio/helpers.py's ``Certificates`` (``ca``, ``server_cert``,
    ``server_key``, ``client_cert``, ``client_key``).
    """
    helpers = _load("examples_tests_aio_helpers", REPO / "tests" / "aio" / "helpers.py")
    return helpers.make_certificates(directory)


def autobahn_python() -> Path:
    """The interpreter of the Autobahn|Python peer venv (tests/peers/peer_env.py)."""
    peer_env = _load("examples_tests_peer_env", REPO / "tests" / "peers" / "peer_env.py")
    path: Path = peer_env.ensure_autobahn_python()
    return path
