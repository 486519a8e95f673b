"""Helpers of the CLI tests: the router they use, a Python callee, and the command as a process.

Every CLI run is a subprocess of the installed ``autostrada`` console script, bounded by
a timeout and killed (then reaped) in ``finally``. Long-running verbs (``subscribe``,
``register``) are :class:`CliProcess`: their output is read by threads into queues, and
tests wait for a line with a deadline, never for a fixed time.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import io
import os
import queue
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from unittest import mock

import autostrada
from autostrada import ApplicationError, CallDetails, CallResult, RegisterOptions
from autostrada.auth import CryptosignKey, ScramCredential
from autostrada.router.config import ListenerConfig, ServerConfig, TLSConfig
from autostrada.router.core import (
    AnonymousAuth,
    CryptosignAuth,
    CryptosignPrincipal,
    Permission,
    RealmConfig,
    RoleConfig,
    RouterConfig,
    ScramAuth,
    ScramPrincipal,
    TicketAuth,
    TicketPrincipal,
    WampCraAuth,
    WampCraPrincipal,
)

RUN_TIMEOUT = 20.0
"""Upper bound on one CLI run; a hang fails the test."""

LINE_TIMEOUT = 10.0
"""Upper bound on waiting for one line of a running CLI process."""

REALM = "realm1"


def command(*args: str) -> list[str]:
    """The installed ``autostrada`` console script with ``args``."""
    script = Path(sys.executable).with_name("autostrada")
    assert script.exists(), f"the console script is not installed next to {sys.executable}"
    return [str(script), *args]


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without AUTOSTRADA_* variables, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOSTRADA_")}
    env.update(extra)
    return env


@dataclass
class Result:
    """A finished CLI run."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def lines(self) -> list[str]:
        return self.stdout.splitlines()

    def __str__(self) -> str:  # what a failed assertion shows
        return f"{self.argv[1:]} -> {self.returncode}\nstdout: {self.stdout}\nstderr: {self.stderr}"


def run_cli(
    *args: str,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = RUN_TIMEOUT,
) -> Result:
    """Run ``autostrada ARGS`` to its end; return its exit code and output."""
    [result] = run_all([list(args)], env=env, stdin=stdin, timeout=timeout)
    return result


def run_all(
    runs: Sequence[Sequence[str]],
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = RUN_TIMEOUT,
) -> list[Result]:
    """Run several ``autostrada`` commands at once (they are independent); all results."""
    procs: list[subprocess.Popen[str]] = []
    try:
        for args in runs:
            procs.append(
                subprocess.Popen(
                    command(*args),
                    stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    env=dict(env if env is not None else clean_env()),
                )
            )
        deadline = time.monotonic() + timeout
        results = []
        for proc in procs:
            out, err = proc.communicate(stdin, timeout=max(0.1, deadline - time.monotonic()))
            results.append(Result(list(proc.args), proc.returncode, out, err))  # type: ignore[arg-type]
        return results
    finally:
        for proc in procs:
            if proc.returncode is None:  # a timeout (or an error) left it running
                proc.kill()
                proc.communicate()


def run_main(*args: str, env: Mapping[str, str] | None = None) -> Result:
    """``autostrada.cli.main(ARGS)`` in this process: for usage errors, which never connect."""
    from autostrada.cli import main

    out, err = io.StringIO(), io.StringIO()
    with (
        mock.patch.dict(os.environ, dict(env if env is not None else clean_env()), clear=True),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        try:
            code = main(list(args))
        except SystemExit as exited:  # argparse
            code = exited.code if isinstance(exited.code, int) else 2
    return Result(["autostrada", *args], code, out.getvalue(), err.getvalue())


class CliProcess:
    """A running ``autostrada`` command whose output lines are collected as they come."""

    def __init__(
        self, *args: str, env: Mapping[str, str] | None = None, read_stdout: bool = True
    ) -> None:
        self.argv = command(*args)
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(env if env is not None else clean_env()),
        )
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._queues: dict[str, queue.Queue[str | None]] = {
            "stdout": queue.Queue(),
            "stderr": queue.Queue(),
        }
        pipes = [("stderr", self.proc.stderr)]
        if read_stdout:  # else the test does what it wants with proc.stdout
            pipes.append(("stdout", self.proc.stdout))
        self._readers = [
            threading.Thread(target=self._read, args=(name, pipe), daemon=True)
            for name, pipe in pipes
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, name: str, pipe: IO[str] | None) -> None:
        assert pipe is not None
        with pipe:
            for line in pipe:
                getattr(self, name).append(line)
                self._queues[name].put(line)
        self._queues[name].put(None)

    def wait_line(self, pattern: str, stream: str = "stderr", timeout: float = LINE_TIMEOUT) -> str:
        """The next line of ``stream`` matching ``pattern`` (a regex); fail at the deadline."""
        deadline = time.monotonic() + timeout
        seen: list[str] = []
        while True:
            remaining = deadline - time.monotonic()
            try:
                line = self._queues[stream].get(timeout=max(0.0, remaining))
            except queue.Empty:
                raise AssertionError(
                    f"no {stream} line matching {pattern!r} within {timeout} s; saw {seen}; "
                    f"other stream: {self.stderr if stream == 'stdout' else self.stdout}"
                ) from None
            if line is None:
                raise AssertionError(
                    f"{self.argv[1:]} ended (exit {self.proc.wait()}) before a {stream} line "
                    f"matching {pattern!r}; saw {seen}; stderr: {''.join(self.stderr)}"
                )
            seen.append(line)
            if re.search(pattern, line):
                return line

    def wait_ready(self) -> None:
        """Wait for the ``subscribed to`` / ``registered`` info line (needs --log-level info)."""
        self.wait_line(r"INFO .*autostrada\.cli: (subscribed to|registered) ")

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def wait(self, timeout: float = LINE_TIMEOUT) -> int:
        """Wait for the exit; return the exit code once all output is read."""
        code = self.proc.wait(timeout)
        for reader in self._readers:
            reader.join(timeout)
        return code

    @property
    def output(self) -> str:
        return "".join(self.stdout) + "".join(self.stderr)

    def close(self) -> None:
        """Stop it: SIGTERM (register then stops its commands), SIGKILL if that takes long."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(LINE_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc.wait(LINE_TIMEOUT)
        for reader in self._readers:
            reader.join(LINE_TIMEOUT)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None and not pipe.closed:  # one no thread reads
                pipe.close()

    def __enter__(self) -> CliProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@contextlib.contextmanager
def running(
    *args: str, env: Mapping[str, str] | None = None, read_stdout: bool = True
) -> Iterator[CliProcess]:
    """``autostrada VERB --log-level info ARGS``, ready (subscribed or registered); killed after."""
    verb, *rest = args
    with CliProcess(verb, "--log-level", "info", *rest, env=env, read_stdout=read_stdout) as proc:
        proc.wait_ready()
        yield proc


def free_port() -> int:
    """A port that was free a moment ago (nothing listens on it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie waiting to be reaped does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # no procfs, or gone meanwhile
        return not sys.platform.startswith("linux")
    return stat.rpartition(")")[2].split()[0] != "Z"


def eventually(condition: Any, timeout: float = LINE_TIMEOUT, what: str = "condition") -> None:
    """Poll ``condition()`` until true; fail at the deadline (for state outside our reach)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not true within {timeout} s")
        time.sleep(0.02)


# ------------------------------------------------------------------ the router


@dataclass(frozen=True)
class Creds:
    """The principals of the CLI tests' realm; secrets fresh for each router."""

    ticket: str = field(default_factory=lambda: "tkt-" + secrets.token_urlsafe(12))
    cra_secret: str = field(default_factory=lambda: "cra-" + secrets.token_urlsafe(12))
    scram_password: str = field(default_factory=lambda: "scr-" + secrets.token_urlsafe(12))
    seed: str = field(default_factory=lambda: CryptosignKey.generate().seed_hex())

    @property
    def pubkey(self) -> str:
        return CryptosignKey.from_hex(self.seed).public_key_hex

    @property
    def secrets(self) -> list[str]:
        return [self.ticket, self.cra_secret, self.scram_password, self.seed]


def router_config(
    creds: Creds, extra_pubkeys: Sequence[str] = (), tls: TLSConfig | None = None
) -> ServerConfig:
    """realm1: anonymous and user may do anything (disclosed) but ``com.denied.*``."""
    rights = (
        Permission(
            "",
            "prefix",
            call=True,
            register=True,
            publish=True,
            subscribe=True,
            disclose_caller=True,
            disclose_publisher=True,
        ),
        Permission("com.denied.", "prefix"),
    )
    scram = ScramCredential.from_password(creds.scram_password, kdf="pbkdf2", iterations=1000)
    realm = RealmConfig(
        name=REALM,
        roles=(RoleConfig("anonymous", rights), RoleConfig("user", rights)),
        auth=(
            AnonymousAuth(role="anonymous"),
            TicketAuth(principals={"ticket-user": TicketPrincipal(creds.ticket, "user")}),
            WampCraAuth(principals={"cra-user": WampCraPrincipal(creds.cra_secret, "user")}),
            CryptosignAuth(
                principals={"key-user": CryptosignPrincipal((creds.pubkey, *extra_pubkeys), "user")}
            ),
            ScramAuth(
                principals={
                    "scram-user": ScramPrincipal(
                        scram.kdf,
                        scram.iterations,
                        scram.salt.hex(),
                        scram.stored_key.hex(),
                        scram.server_key.hex(),
                        "user",
                        scram.memory,
                    )
                }
            ),
        ),
    )
    return ServerConfig(
        router=RouterConfig(realms=(realm,)),
        listeners=(ListenerConfig(kind="universal", host="127.0.0.1", port=0, tls=tls),),
    )


# ------------------------------------------------------------------ a Python callee


def _whoami(details: CallDetails) -> dict[str, Any]:
    return {"authid": details.caller_authid, "authrole": details.caller_authrole}


async def _countdown(n: int, details: CallDetails) -> str:
    for i in range(n, 0, -1):
        if details.progress is not None:
            details.progress(i)
        await asyncio.sleep(0)
    return "liftoff"


def _fail(*args: Any, **kwargs: Any) -> None:
    raise ApplicationError("com.test.error.failed", "it went wrong", code=7)


PROCEDURES: dict[str, Any] = {
    "com.test.add": lambda a, b: a + b,
    "com.test.echo": CallResult,
    "com.test.nothing": lambda *args, **kwargs: None,
    "com.test.bytes": lambda: b"\x00\x01binary\xff",
    "com.test.slow": asyncio.sleep,
    "com.test.fail": _fail,
}
WITH_DETAILS: dict[str, Any] = {"com.test.whoami": _whoami, "com.test.countdown": _countdown}


class Callee:
    """A Python session, in a thread, that registers the test procedures (PROCEDURES)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="cli-callee")

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported by start()
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with await autostrada.connect(self.url, REALM) as session:
            for uri, endpoint in PROCEDURES.items():
                await session.register(endpoint, uri)
            for uri, endpoint in WITH_DETAILS.items():
                await session.register(endpoint, uri, RegisterOptions(details_arg="details"))
            self._ready.set()
            await self._stop.wait()

    def start(self) -> Callee:
        self._thread.start()
        assert self._ready.wait(RUN_TIMEOUT), "the callee did not register in time"
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop.set)
        self._thread.join(RUN_TIMEOUT)


class TcpRelay:
    """A TCP relay to a local port, in threads: :meth:`cut` ends every relayed connection."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._spawn(self._accept_loop)

    def _spawn(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True, name="cli-relay")
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:  # closed
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            self._spawn(self._pump, client, upstream)
            self._spawn(self._pump, upstream, client)

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(1 << 16):
                target.sendall(data)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        """End every relayed connection (both sides see it closed)."""
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes accept()
        self._listener.close()
        self.cut()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(LINE_TIMEOUT)
        for sock in self._sockets:
            sock.close()

    def __enter__(self) -> TcpRelay:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def make_certificates(directory: Path) -> Any:
    """A throwaway CA and a server certificate for 127.0.0.1 (tests/aio/helpers.py's).

    That module is loaded under a name of its own: its directory is not on our path.
    """
    name = "cli_tests_aio_helpers"
    module = sys.modules.get(name)
    if module is None:
        path = Path(__file__).resolve().parents[1] / "aio" / "helpers.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return module.make_certificates(directory)


def tcp_blackhole() -> tuple[socket.socket, int]:
    """A listening socket that accepts (in the kernel) and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    return sock, int(sock.getsockname()[1])


SIGINT = signal.SIGINT
SIGTERM = signal.SIGTERM
