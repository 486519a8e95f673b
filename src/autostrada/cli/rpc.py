"""``autostrada call`` and ``autostrada register``: RPC from the shell."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shlex
import shutil
import signal
from collections import deque
from collections.abc import Callable
from typing import Any

from autostrada.aio.session import Session
from autostrada.cli.common import (
    StdoutClosed,
    Stopper,
    add_connection_arguments,
    add_payload_arguments,
    check_keywords,
    emit,
    lost,
    non_negative_float,
    non_negative_int,
    open_session,
    operation_error,
    parse_value,
    payload,
    positive_float,
    result_value,
    session_end,
    to_json,
)
from autostrada.cli.credentials import SECRET_VARIABLES
from autostrada.cli.exits import EXIT_CODES_HELP, EXIT_OK, EXIT_USAGE, CliError, Interrupted
from autostrada.exceptions import ApplicationError
from autostrada.request import Registration
from autostrada.types import CallDetails, CallOptions, RegisterOptions

__all__ = [
    "COMMAND_FAILED",
    "COMMAND_TIMEOUT",
    "CommandProcedure",
    "add_call_parser",
    "add_register_parser",
]

log = logging.getLogger("autostrada.cli")

COMMAND_FAILED = "autostrada.error.command_failed"
COMMAND_TIMEOUT = "autostrada.error.command_timeout"
MAX_OUTPUT = 16 << 20
"""Bytes of stdout a command may write before it is killed (the result must fit a message)."""
STDERR_TAIL = 2000
"""Characters of a failed command's stderr sent to the caller."""
KILL_GRACE = 1.0
"""Seconds between SIGTERM and SIGKILL when a command is stopped."""
DRAIN_TIMEOUT = 5.0
"""Seconds ``register`` lets running commands finish after Ctrl-C, before it leaves."""
_DETAILS = "_autostrada_call_details"
_CALL_VARIABLES = frozenset(
    f"AUTOSTRADA_{name}"
    for name in ("PROCEDURE", "ARGS", "KWARGS", "CALLER", "CALLER_AUTHID", "CALLER_AUTHROLE")
)

Adder = Callable[..., argparse.ArgumentParser]

CALL_EPILOG = f"""\
The result is printed on stdout as one line of JSON: a single result as itself
(null for none), several or keyword results as {{"args": [...], "kwargs": {{...}}}}
(always that with --envelope). Bytes are printed as "\\u0000" + base64 (WAMP's JSON
convention). With --progress, each progressive result is printed as a line as it
arrives, then the final result.

ARG and VALUE are JSON when they parse, else strings: 5 is a number, '"5"' the
string "5", {{"a": 1}} an object, hello a string, and a malformed '{{"a": 1' the
string {{"a": 1 (use --json to make that an error). Put -- before arguments that
start with a dash.

examples:
  autostrada call com.example.add 2 3
  autostrada call com.example.greet -k name=Alice -k polite=true
  autostrada call com.example.echo '{{"a": [1, 2]}}' --envelope
  autostrada call com.example.countdown 3 --progress
  autostrada call com.example.slow --timeout 2.5 --url wss://router.example.com/ws \\
      --authmethod ticket --authid joe --ticket-file ~/.wamp-ticket

{EXIT_CODES_HELP}
"""

REGISTER_EPILOG = f"""\
Each call runs COMMAND (never through a shell) with the call's positional arguments
appended as separate arguments: strings as they are, anything else as JSON. The
command's environment also has:
  AUTOSTRADA_PROCEDURE   the procedure called (useful with --match prefix)
  AUTOSTRADA_ARGS        the positional arguments as a JSON array
  AUTOSTRADA_KWARGS      the keyword arguments as a JSON object
  AUTOSTRADA_KW_<key>    each keyword argument whose key is an identifier
                         (a string as it is, anything else as JSON)
  AUTOSTRADA_CALLER, AUTOSTRADA_CALLER_AUTHID, AUTOSTRADA_CALLER_AUTHROLE
                         when the router discloses the caller
The secrets of this command ($AUTOSTRADA_TICKET, $AUTOSTRADA_SECRET,
$AUTOSTRADA_PRIVATE_KEY) are removed from it. Its stdin is empty.

Result: stdout with surrounding whitespace removed, as JSON when it parses, else as
a string (always a string with --text); empty stdout is no result; stdout that is
not UTF-8 is returned as bytes. A non-zero exit status is an ERROR for the caller:
{COMMAND_FAILED}, with kwargs status (negative: killed by that signal)
and stderr (its last {STDERR_TAIL} characters; not with --hide-stderr).
A command running longer than --timeout is killed: {COMMAND_TIMEOUT}.
A cancelled call (or the end of the session) kills the command: SIGTERM to its
process group, SIGKILL {KILL_GRACE:g} s later.
Calls run concurrently (at most N at once with --concurrency N).

Ctrl-C or SIGTERM: unregister, let running commands finish (up to {DRAIN_TIMEOUT:g} s),
leave, exit 0. A second Ctrl-C stops at once.

Callers choose the arguments: end COMMAND with -- when it takes options, so that an
argument such as "-rf" cannot become one (e.g. register com.x.grep -- grep -e X --).

examples:
  autostrada register com.example.date -- date +%s
  autostrada register com.example.wc -- wc -c      # calls get: wc -c ARG...
  autostrada register com.example.disk --timeout 10 -- df -h --
  autostrada register com.example.tools. --match prefix -- ./dispatch.sh

{EXIT_CODES_HELP}
"""


# ------------------------------------------------------------------ call


def add_call_parser(add: Adder) -> None:
    parser = add(
        "call",
        help="call a procedure and print its result",
        description="Call procedure URI with ARGs and -k KEY=VALUE keyword arguments; "
        "print the result as JSON.",
        epilog=CALL_EPILOG,
    )
    parser.add_argument("procedure", metavar="URI", help="the procedure to call")
    add_payload_arguments(parser, "call")
    parser.add_argument(
        "--timeout",
        type=positive_float,
        metavar="SECONDS",
        help="give up (and cancel the call) after SECONDS: error wamp.error.timeout",
    )
    parser.add_argument(
        "--progress",
        action="store_true",
        help="ask for progressive results and print each as it arrives",
    )
    parser.add_argument(
        "--envelope",
        action="store_true",
        help='print every result as {"args": [...], "kwargs": {...}}',
    )
    add_connection_arguments(parser)
    parser.set_defaults(run=run_call, prepare=prepare_call, takes_extras=True)


def prepare_call(args: argparse.Namespace) -> None:
    args.payload = payload(args)
    check_keywords(args.payload[1], Session.call_iter if args.progress else Session.call)


async def run_call(args: argparse.Namespace, stopper: Stopper) -> int:
    positional, keywords = args.payload
    options = CallOptions(timeout=args.timeout) if args.timeout else None
    async with open_session(args, stopper) as session:
        try:
            if args.progress:
                await stopper.race(_call_progressive(session, args, positional, keywords, options))
            else:
                result = await stopper.race(
                    session.call(args.procedure, *positional, options=options, **keywords)
                )
                emit(to_json(result_value(result, args.envelope)))
        except (Interrupted, CliError, StdoutClosed):
            raise
        except Exception as exc:
            raise operation_error(exc) from None
    return EXIT_OK


async def _call_progressive(
    session: Session,
    args: argparse.Namespace,
    positional: list[Any],
    keywords: dict[str, Any],
    options: CallOptions | None,
) -> None:
    results = session.call_iter(args.procedure, *positional, options=options, **keywords)
    try:
        async for result in results:
            emit(to_json(result_value(result, args.envelope)))
    finally:  # an async generator: close it now, not when it is collected
        close = getattr(results, "aclose", None)
        if close is not None:
            await close()


# ------------------------------------------------------------------ register


def add_register_parser(add: Adder) -> None:
    parser = add(
        "register",
        help="expose a shell command as a procedure",
        description="Register procedure URI; each call runs COMMAND with the call's "
        "arguments and returns its stdout. Runs until interrupted.",
        epilog=REGISTER_EPILOG,
    )
    parser.add_argument("procedure", metavar="URI", help="the procedure (or pattern) to register")
    parser.add_argument(
        "command", nargs="+", metavar="COMMAND", help="the command and its first arguments"
    )
    parser.add_argument(
        "--timeout",
        type=non_negative_float,
        default=60.0,
        metavar="SECONDS",
        help="kill a command running longer (default: 60; 0: no limit)",
    )
    parser.add_argument(
        "--concurrency",
        type=non_negative_int,
        default=0,
        metavar="N",
        help="run at most N commands at once; more calls wait (default: no limit)",
    )
    parser.add_argument(
        "--match", choices=("exact", "prefix", "wildcard"), help="URI is a prefix or a pattern"
    )
    parser.add_argument(
        "--invoke",
        choices=("single", "roundrobin", "random", "first", "last"),
        help="shared registration: how the router picks among callees",
    )
    parser.add_argument(
        "--text", action="store_true", help="return stdout as a string, never parsed as JSON"
    )
    parser.add_argument(
        "--hide-stderr",
        action="store_true",
        help="do not send a failed command's stderr to the caller",
    )
    add_connection_arguments(parser)
    parser.set_defaults(run=run_register, prepare=prepare_register)


def _check_command(command: list[str]) -> list[str]:
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise CliError(EXIT_USAGE, "no COMMAND given")
    executable = command[0]
    if os.sep in executable:
        if not (os.path.isfile(executable) and os.access(executable, os.X_OK)):
            raise CliError(EXIT_USAGE, f"{executable}: not an executable file")
    elif shutil.which(executable) is None:
        raise CliError(EXIT_USAGE, f"{executable}: command not found")
    return command


def prepare_register(args: argparse.Namespace) -> None:
    args.command = _check_command(args.command)


async def run_register(args: argparse.Namespace, stopper: Stopper) -> int:
    command = args.command
    procedure = CommandProcedure(
        command,
        timeout=args.timeout or None,
        concurrency=args.concurrency or None,
        text=args.text,
        hide_stderr=args.hide_stderr,
    )
    options = RegisterOptions(match=args.match, invoke=args.invoke, details_arg=_DETAILS)
    try:
        async with open_session(args, stopper) as session:
            ended = session_end(session)
            try:
                registration = await stopper.race(
                    session.register(procedure.invoke, args.procedure, options)
                )
            except (Interrupted, CliError):
                raise
            except Exception as exc:
                raise operation_error(exc) from None
            assert isinstance(registration, Registration)
            log.info("registered %s: %s", args.procedure, shlex.join(command))
            await stopper.until(ended)
            if not stopper.stopping:
                raise lost(ended.result())
            await _drain(registration, procedure)
    except Interrupted:
        pass  # Ctrl-C while connecting: the normal way to stop
    finally:
        await procedure.kill_all()
    return EXIT_OK


async def _drain(registration: Registration, procedure: CommandProcedure) -> None:
    """Stop taking calls; give the running ones a moment to finish."""
    try:
        async with asyncio.timeout(DRAIN_TIMEOUT):
            with contextlib.suppress(Exception):
                await registration.unregister()
            await procedure.idle()
    except TimeoutError:
        log.warning("%d command(s) still running: stopping them", procedure.running)


class CommandProcedure:
    """The endpoint that runs a command for each invocation (rules: REGISTER_EPILOG)."""

    def __init__(
        self,
        command: list[str],
        *,
        timeout: float | None,
        concurrency: int | None,
        text: bool,
        hide_stderr: bool,
    ) -> None:
        self.command = command
        self.timeout = timeout
        self.text = text
        self.hide_stderr = hide_stderr
        self._slots = asyncio.Semaphore(concurrency) if concurrency else None
        self._processes: set[asyncio.subprocess.Process] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self.running = 0

    async def idle(self) -> None:
        """Return once no invocation is running."""
        await self._idle.wait()

    async def invoke(self, /, *args: Any, **kwargs: Any) -> Any:
        # Positional-only self: a caller's keyword argument "self" is just a keyword.
        details = kwargs.pop(_DETAILS, None)
        self.running += 1
        self._idle.clear()
        try:
            if self._slots is None:
                return await self._run(args, kwargs, details)
            async with self._slots:
                return await self._run(args, kwargs, details)
        finally:
            self.running -= 1
            if not self.running:
                self._idle.set()

    def _environment(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], details: CallDetails | None
    ) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in SECRET_VARIABLES
            and k not in _CALL_VARIABLES
            and not k.startswith("AUTOSTRADA_KW_")
        }
        procedure = details.procedure if details is not None else None
        env["AUTOSTRADA_PROCEDURE"] = procedure or ""
        env["AUTOSTRADA_ARGS"] = to_json(list(args))
        env["AUTOSTRADA_KWARGS"] = to_json(kwargs)
        for key, value in kwargs.items():
            if key.isidentifier() and key.isascii():
                env[f"AUTOSTRADA_KW_{key}"] = value if isinstance(value, str) else to_json(value)
        if details is not None:
            for name, value in (
                ("CALLER", details.caller),
                ("CALLER_AUTHID", details.caller_authid),
                ("CALLER_AUTHROLE", details.caller_authrole),
            ):
                if value is not None:
                    env[f"AUTOSTRADA_{name}"] = str(value)
        return env

    async def _run(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], details: CallDetails | None
    ) -> Any:
        argv = [*self.command, *(a if isinstance(a, str) else to_json(a) for a in args)]
        name = self.command[0]
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=self._environment(args, kwargs, details),
                start_new_session=True,  # its own process group: we can stop all of it
            )
        except ValueError as exc:  # e.g. a NUL character in an argument
            raise ApplicationError(
                ApplicationError.INVALID_ARGUMENT, f"cannot pass that to {name}: {exc}"
            ) from None
        except OSError as exc:
            raise ApplicationError(
                COMMAND_FAILED, f"cannot run {name}: {exc.strerror or exc}"
            ) from None
        self._processes.add(process)
        try:
            async with asyncio.timeout(self.timeout):
                stdout, stderr = await _collect(process)
                status = await process.wait()
        except TimeoutError:
            await _terminate(process)
            raise ApplicationError(
                COMMAND_TIMEOUT, f"{name} did not finish within {self.timeout:g} s"
            ) from None
        except _OutputTooLarge:
            await _terminate(process)
            raise ApplicationError(
                COMMAND_FAILED, f"{name} wrote more than {MAX_OUTPUT} bytes"
            ) from None
        except asyncio.CancelledError:
            await _terminate(process)
            raise
        finally:
            if process.returncode is None:  # cancelled again while terminating
                _signal_group(process, signal.SIGKILL)
            self._processes.discard(process)
        if status != 0:
            raise self._failure(name, status, stderr)
        return self._result(stdout)

    def _failure(self, name: str, status: int, stderr: str) -> ApplicationError:
        if status < 0:
            try:
                message = f"{name} was killed by {signal.Signals(-status).name}"
            except ValueError:
                message = f"{name} was killed by signal {-status}"
        else:
            message = f"{name} exited with status {status}"
        log.warning("%s", message)
        if self.hide_stderr:
            return ApplicationError(COMMAND_FAILED, message, status=status)
        return ApplicationError(COMMAND_FAILED, message, status=status, stderr=stderr)

    def _result(self, stdout: bytes) -> Any:
        try:
            text = stdout.decode("utf-8")
        except UnicodeDecodeError:
            return stdout  # binary output: sent as bytes
        text = text.strip()
        if not text:
            return None
        return text if self.text else parse_value(text, "auto", "output")

    async def kill_all(self) -> None:
        """Stop every command still running (at the end of ``register``)."""
        processes = list(self._processes)
        if processes:
            await asyncio.gather(*(_terminate(p) for p in processes), return_exceptions=True)


class _OutputTooLarge(Exception):
    pass


async def _collect(process: asyncio.subprocess.Process) -> tuple[bytes, str]:
    """All of stdout (at most MAX_OUTPUT bytes), and the tail of stderr."""
    assert process.stdout is not None and process.stderr is not None
    stdout_pipe, stderr_pipe = process.stdout, process.stderr

    async def read_stdout() -> bytes:
        chunks: list[bytes] = []
        size = 0
        while chunk := await stdout_pipe.read(1 << 16):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise _OutputTooLarge
            chunks.append(chunk)
        return b"".join(chunks)

    async def read_stderr() -> str:
        tail: deque[bytes] = deque()
        size = 0
        while chunk := await stderr_pipe.read(1 << 16):
            tail.append(chunk)
            size += len(chunk)
            while size - len(tail[0]) >= 4 * STDERR_TAIL:
                size -= len(tail.popleft())
        text = b"".join(tail).decode("utf-8", "replace")
        return text[-STDERR_TAIL:]

    out = asyncio.ensure_future(read_stdout())
    err = asyncio.ensure_future(read_stderr())
    try:
        return await out, await err
    finally:  # on an error or a cancellation, stop reading the other pipe too
        out.cancel()
        err.cancel()


def _signal_group(process: asyncio.subprocess.Process, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


async def _terminate(process: asyncio.subprocess.Process) -> None:
    """SIGTERM to the command's process group, SIGKILL if it is still there after a grace."""
    _signal_group(process, signal.SIGTERM)
    try:
        async with asyncio.timeout(KILL_GRACE):
            await process.wait()
    except TimeoutError:
        pass
    _signal_group(process, signal.SIGKILL)  # also what is left of the group
    await process.wait()
