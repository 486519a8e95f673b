"""A real Crossbar.io router for tests: install it, configure a node, start and stop it.

Crossbar pins its own autobahn and Twisted, so it lives in a virtual environment of its
own (``.crossbar-venv`` at the repository root, or ``$AUTOSTRADA_CROSSBAR_VENV``), never in
the project's. :func:`ensure_crossbar` creates it on first use (pip from PyPI, ~2 minutes,
~380 MB) and reuses it after. :class:`CrossbarNode` writes a node configuration with every
transport and authentication method our client speaks, starts ``crossbar start`` on free
127.0.0.1 ports, waits (bounded) until every listener accepts, and stops the node by its
process id: SIGTERM, then SIGKILL to its process group after a bounded wait. On Linux the
node also gets SIGTERM if the test process dies without cleaning up (``PR_SET_PDEATHSIG``).

Nothing here depends on pytest; ``conftest.py`` wires it into the ``crossbar`` fixture.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autostrada.auth import CryptosignKey, ScramCredential

__all__ = [
    "CROSSBAR_REQUIREMENT",
    "REALM",
    "CrossbarError",
    "CrossbarNode",
    "CryptosignPrincipal",
    "ScramPrincipal",
    "TicketPrincipal",
    "WampcraPrincipal",
    "crossbar_venv",
    "ensure_crossbar",
]

CROSSBAR_REQUIREMENT = "crossbar==26.10.1"
"""What pip installs. The behaviours in docs/testing-against-crossbar.md were seen on it."""

REALM = "realm1"
REPO = Path(__file__).resolve().parent.parent
INSTALL_TIMEOUT = 20 * 60.0
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
_STAMP = "autostrada-installed.txt"

Progress = Callable[[str], None]


class CrossbarError(RuntimeError):
    """Crossbar could not be installed, started or stopped; the message says why."""


# --- install --------------------------------------------------------------------------


def crossbar_venv() -> Path:
    """Where the Crossbar virtual environment lives."""
    override = os.environ.get("AUTOSTRADA_CROSSBAR_VENV")
    return Path(override).resolve() if override else REPO / ".crossbar-venv"


def _executable(venv: Path) -> Path:
    return venv / "bin" / "crossbar"


def _runs(venv: Path) -> bool:
    """Does ``crossbar version`` run?"""
    try:
        result = subprocess.run(
            [str(_executable(venv)), "version"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no {path})"
    return "\n".join(text.splitlines()[-lines:])


def _run_logged(argv: list[str], log: Path, what: str, deadline: float, progress: Progress) -> None:
    """Run a command with its output in ``log``, reporting progress every 15 s."""
    start = time.monotonic()
    with log.open("ab") as out:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
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
                    raise CrossbarError(
                        f"{what} took longer than {INSTALL_TIMEOUT:.0f} s; log {log}:\n"
                        + _tail(log)
                    ) from None
                last = _tail(log, 1).strip()[:100]
                progress(f"  ... {time.monotonic() - start:.0f} s: {last}")
    if proc.returncode != 0:
        raise CrossbarError(
            f"{what} failed (exit {proc.returncode}); is PyPI reachable? log {log}:\n" + _tail(log)
        )


def ensure_crossbar(progress: Progress = lambda line: None) -> Path:
    """Return the ``crossbar`` executable, installing Crossbar.io first if needed.

    A venv we installed carries a stamp file: it is reused when the stamp names
    :data:`CROSSBAR_REQUIREMENT` and ``crossbar version`` runs, else deleted and built
    again. A venv without our stamp (``$AUTOSTRADA_CROSSBAR_VENV`` pointing at one made by
    hand) is used as it is if Crossbar runs there, and never deleted. Installs happen
    under a file lock, so concurrent test runs install once.

    Raises:
        CrossbarError: the install failed (the message holds pip's log tail), or the
            directory holds something that is not a working Crossbar and is not ours.
    """
    venv = crossbar_venv()
    stamp = venv / _STAMP
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.with_name(venv.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        ours = stamp.is_file()
        if ours and stamp.read_text().strip() == CROSSBAR_REQUIREMENT and _runs(venv):
            return _executable(venv)
        if not ours and venv.exists() and any(venv.iterdir()):
            if _runs(venv):
                return _executable(venv)
            raise CrossbarError(f"{venv} exists, is not our Crossbar venv and has no crossbar")
        progress(
            f"Installing {CROSSBAR_REQUIREMENT} into {venv} (first run only: "
            "about 2 minutes and 380 MB from PyPI) ..."
        )
        start = time.monotonic()
        shutil.rmtree(venv, ignore_errors=True)
        venv.mkdir()
        stamp.write_text("installing\n")  # ours from now on, even if interrupted
        deadline = start + INSTALL_TIMEOUT
        log = venv.with_name(venv.name + "-install.log")
        log.unlink(missing_ok=True)
        # From a venv, "python -m venv" builds on the base interpreter (sys._base_executable).
        _run_logged([sys.executable, "-m", "venv", str(venv)], log, "venv", deadline, progress)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check"]
        _run_logged([*pip, CROSSBAR_REQUIREMENT], log, "pip install", deadline, progress)
        if not _runs(venv):
            raise CrossbarError(f"installed Crossbar does not run: {_executable(venv)} version")
        stamp.write_text(CROSSBAR_REQUIREMENT + "\n")
        progress(f"Crossbar.io installed in {time.monotonic() - start:.0f} s.")
        return _executable(venv)


# --- principals -----------------------------------------------------------------------


@dataclass(frozen=True)
class TicketPrincipal:
    authid: str
    authrole: str
    ticket: str


@dataclass(frozen=True)
class WampcraPrincipal:
    """A WAMP-CRA user; with ``salt`` the key is PBKDF2(secret, salt, iterations, keylen)."""

    authid: str
    authrole: str
    secret: str
    salt: str | None = None
    iterations: int | None = None
    keylen: int | None = None


@dataclass(frozen=True)
class CryptosignPrincipal:
    authid: str
    authrole: str
    seed_hex: str
    """The Ed25519 private key seed (Autobahn's ``privkey``)."""
    pubkey_hex: str


@dataclass(frozen=True)
class ScramPrincipal:
    authid: str
    authrole: str
    password: str
    kdf: str
    iterations: int
    memory: int


def _free_ports(count: int) -> list[int]:
    """Ports the kernel just handed out on 127.0.0.1 (free now; nobody reserves them)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


# Run by the venv's python: get SIGTERM when the test process dies (Linux), then become
# crossbar. The kernel sends it when the *thread* that started us ends, so it is asked
# for only when the main thread starts the node (argv[1] is then the parent's pid).
_LAUNCHER = """\
import ctypes, os, signal, sys
parent = int(sys.argv[1])
if parent and sys.platform.startswith("linux"):
    ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        sys.exit("crossbar launcher: the test process is gone")
os.execv(sys.argv[2], sys.argv[2:])
"""


class CrossbarNode:
    """One Crossbar.io node on 127.0.0.1 with realm ``realm1``.

    Attributes:
        realm: ``"realm1"``.
        ws_url: WebSocket URL, ``ws://127.0.0.1:PORT/ws`` (the listener takes any path).
        ws_port, rs_host, rs_port: the TCP listeners (RawSocket on ``rs_host:rs_port``).
        rs_unix_path: RawSocket on a Unix domain socket.
        serializers: what every listener offers: json, msgpack, cbor.
        ticket, wampcra, wampcra_salted, cryptosign, scram, scram_pbkdf2: the static
            principals (scram uses argon2id).
        anonymous_role, roles: the role of anonymous sessions; all roles on the realm.
        node_dir: the node directory (``config.json``, ``node.log``, ``console.log``).
        pid: the controller's process id while running, else ``None``.
    """

    serializers = ("json", "msgpack", "cbor")
    anonymous_role = "anonymous"
    roles = ("anonymous", "user", "backend")

    def __init__(self, executable: Path, node_dir: Path) -> None:
        self.executable = executable
        self.node_dir = node_dir
        self.realm = REALM
        self.rs_host = "127.0.0.1"
        self.ws_port, self.rs_port = _free_ports(2)
        self.ws_url = f"ws://127.0.0.1:{self.ws_port}/ws"
        unix_path = node_dir / "rs.sock"
        if len(str(unix_path)) > 100:  # sun_path holds 108 bytes
            unix_path = Path(tempfile.mkdtemp(prefix="cb-")) / "rs.sock"
        self.rs_unix_path = str(unix_path)
        self.ticket = TicketPrincipal("ticket-user", "user", secrets.token_urlsafe(16))
        self.wampcra = WampcraPrincipal("cra-user", "user", secrets.token_urlsafe(16))
        self.wampcra_salted = WampcraPrincipal(
            "cra-salted-user", "user", secrets.token_urlsafe(16), "salt123", 100, 32
        )
        key = CryptosignKey.generate()
        self.cryptosign = CryptosignPrincipal(
            "cryptosign-user", "backend", key.seed_hex(), key.public_key_hex
        )
        # Low argon2id costs keep the test fast; the math is the same at any cost.
        self.scram = ScramPrincipal(
            "scram-user", "user", secrets.token_urlsafe(16), "argon2id-13", 16, 512
        )
        self.scram_pbkdf2 = ScramPrincipal(
            "scram-pbkdf2-user", "user", secrets.token_urlsafe(16), "pbkdf2", 1000, 0
        )
        self._proc: subprocess.Popen[bytes] | None = None
        self._write_config()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def log_path(self) -> Path:
        return self.node_dir / "node.log"

    def config(self) -> dict[str, Any]:
        """The node configuration (``node_dir/config.json``)."""
        salted = self.wampcra_salted
        auth = {
            "anonymous": {"type": "static", "role": self.anonymous_role},
            "ticket": {
                "type": "static",
                "principals": {
                    self.ticket.authid: {"ticket": self.ticket.ticket, "role": self.ticket.authrole}
                },
            },
            "wampcra": {
                "type": "static",
                "users": {
                    self.wampcra.authid: {
                        "secret": self.wampcra.secret,
                        "role": self.wampcra.authrole,
                    },
                    # Crossbar salts only when salt, iterations and keylen are all given.
                    salted.authid: {
                        "secret": salted.secret,
                        "role": salted.authrole,
                        "salt": salted.salt,
                        "iterations": salted.iterations,
                        "keylen": salted.keylen,
                    },
                },
            },
            "cryptosign": {
                "type": "static",
                "principals": {
                    self.cryptosign.authid: {
                        "authorized_keys": [self.cryptosign.pubkey_hex],
                        "role": self.cryptosign.authrole,
                    }
                },
            },
            "scram": {
                "type": "static",
                "principals": {p.authid: _scram_config(p) for p in (self.scram, self.scram_pbkdf2)},
            },
        }
        allow_all = {
            "uri": "",
            "match": "prefix",
            "allow": {"call": True, "register": True, "publish": True, "subscribe": True},
            "disclose": {"caller": True, "publisher": True},
            "cache": True,
        }
        serializers = list(self.serializers)
        return {
            "$schema": "https://raw.githubusercontent.com/crossbario/crossbar/master/crossbar.json",
            "version": 2,
            "controller": {},
            "workers": [
                {
                    "type": "router",
                    "realms": [
                        {
                            "name": self.realm,
                            "options": {"enable_meta_api": True},
                            "roles": [
                                {"name": role, "permissions": [allow_all]} for role in self.roles
                            ],
                        }
                    ],
                    "transports": [
                        # A plain "websocket" transport serves WAMP on every path; a "web"
                        # transport with a "/" node-info page would need a path map.
                        {
                            "type": "websocket",
                            "endpoint": _tcp(self.ws_port),
                            "serializers": serializers,
                            "options": {"enable_webstatus": False},
                            "auth": auth,
                        },
                        {
                            "type": "rawsocket",
                            "endpoint": _tcp(self.rs_port),
                            "serializers": serializers,
                            "auth": auth,
                        },
                        {
                            "type": "rawsocket",
                            "endpoint": {"type": "unix", "path": self.rs_unix_path},
                            "serializers": serializers,
                            "auth": auth,
                        },
                    ],
                }
            ],
        }

    def _write_config(self) -> None:
        cbdir = self.node_dir / ".crossbar"
        cbdir.mkdir(parents=True, exist_ok=True)
        (cbdir / "config.json").write_text(json.dumps(self.config(), indent=2))

    # --- lifecycle ----------------------------------------------------------------------

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start the node and wait until every listener accepts connections.

        Raises:
            CrossbarError: it exited or did not listen within ``timeout`` (with its log tail).
        """
        if self._proc is not None:
            raise CrossbarError(f"Crossbar is already running (pid {self._proc.pid})")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.rs_unix_path)  # a stale socket file from a killed node
        cbdir = self.node_dir / ".crossbar"
        argv = [
            str(self.executable.parent / "python"),
            "-c",
            _LAUNCHER,
            str(os.getpid() if threading.current_thread() is threading.main_thread() else 0),
            str(self.executable),
            "start",
            "--cbdir",
            str(cbdir),
            "--loglevel",
            "info",
            "--logtofile",
            "--logdir",
            str(self.node_dir),
            "--color",
            "false",
        ]
        with (self.node_dir / "console.log").open("ab") as console:
            # Its own session: Ctrl-C in the terminal reaches pytest, not Crossbar, and
            # the process group (id = pid) holds the workers too.
            self._proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_listening(time.monotonic() + timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_listening(self, deadline: float) -> None:
        assert self._proc is not None
        pending: list[tuple[int, Any]] = [
            (socket.AF_INET, ("127.0.0.1", self.ws_port)),
            (socket.AF_INET, ("127.0.0.1", self.rs_port)),
            (socket.AF_UNIX, self.rs_unix_path),
        ]
        while pending:
            family, address = pending[0]
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                sock.settimeout(1.0)
                try:
                    sock.connect(address)
                except OSError:
                    pass
                else:
                    pending.pop(0)
                    continue
            try:
                code = self._proc.wait(timeout=0.1)  # poll every 100 ms
            except subprocess.TimeoutExpired:
                if time.monotonic() > deadline:
                    raise CrossbarError(
                        f"Crossbar did not listen on {address} in time; " + self.log_tail()
                    ) from None
            else:
                raise CrossbarError(f"Crossbar exited with code {code}; " + self.log_tail())

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop the node: SIGTERM, SIGKILL to its process group after ``timeout``. Idempotent."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with proc:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    _kill_group(proc.pid)
                    proc.wait(timeout=timeout)
            # The controller stops its workers on SIGTERM; make sure none outlives it.
            _kill_group(proc.pid)

    def restart(self, timeout: float = START_TIMEOUT) -> None:
        """Stop and start again on the same ports, with the same principals."""
        self.stop()
        self.start(timeout)

    def log_tail(self, lines: int = 40) -> str:
        """The end of Crossbar's log and console output, for error messages.

        Error lines from anywhere in the log come first: a failing listener's cause is
        often further up than the shutdown chatter that follows it.
        """
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            text = ""
        errors = [
            line
            for line in text.splitlines()
            if ("Error: " in line or "Invalid node configuration" in line)
            and "_ARRAY_API" not in line  # bjdata vs NumPy 2 noise at every start
        ]
        console = self.node_dir / "console.log"
        return (
            "errors in the node log:\n" + "\n".join(errors[-5:] or ["(none)"]) + "\n"
            f"node log {self.log_path}:\n{_tail(self.log_path, lines)}\n"
            f"console {console}:\n{_tail(console, 10)}"
        )


def _scram_config(p: ScramPrincipal) -> dict[str, Any]:
    credential = ScramCredential.from_password(
        p.password, kdf=p.kdf, iterations=p.iterations, memory=p.memory or None
    )
    return {**credential.to_config(), "role": p.authrole}


def _tcp(port: int) -> dict[str, Any]:
    return {"type": "tcp", "interface": "127.0.0.1", "port": port}


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
