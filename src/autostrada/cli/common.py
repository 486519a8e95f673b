"""What the client verbs share: options, payloads in and out, signals, the session.

Values on the command line (positional ``ARGS`` and ``-k key=value``) are parsed as
JSON when they parse, and are strings otherwise; ``--json`` makes unparsable input
an error, ``--strings`` turns parsing off. ``NaN`` and ``Infinity`` stay strings (they
are not JSON).

Values printed are JSON on one line; binary payloads (bytes) use WAMP's JSON
convention: a string of ``"\\u0000"`` followed by the base64 of the bytes.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import inspect
import json
import logging
import math
import os
import signal
import ssl
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, NoReturn, TypeVar

import autostrada
from autostrada.aio.session import Session
from autostrada.cli.credentials import add_auth_arguments, authentication
from autostrada.cli.exits import (
    EXIT_AUTH,
    EXIT_CONNECTION,
    EXIT_ERROR,
    EXIT_USAGE,
    CliError,
    Interrupted,
)
from autostrada.exceptions import (
    ApplicationError,
    AuthenticationFailed,
    SessionClosed,
    TransportError,
    WampError,
)
from autostrada.types import CallResult, CloseDetails

__all__ = [
    "StdoutClosed",
    "Stopper",
    "add_connection_arguments",
    "add_payload_arguments",
    "application_error",
    "check_keywords",
    "close_session",
    "connection_options",
    "emit",
    "extra_positionals",
    "lost",
    "open_session",
    "operation_error",
    "parse_value",
    "payload",
    "non_negative_float",
    "non_negative_int",
    "positive_float",
    "positive_int",
    "result_value",
    "session_end",
    "to_json",
]

log = logging.getLogger("autostrada.cli")

DEFAULT_URL = "ws://127.0.0.1:8080/ws"
DEFAULT_REALM = "realm1"
SERIALIZER_CHOICES = (
    "json",
    "msgpack",
    "cbor",
    "json.batched",
    "msgpack.batched",
    "cbor.batched",
)

T = TypeVar("T")


# ------------------------------------------------------------------ options


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """``--url``, ``--realm``, ``--serializer``, TLS and authentication options."""
    group = parser.add_argument_group("connection")
    group.add_argument(
        "--url",
        default=os.environ.get("AUTOSTRADA_URL", DEFAULT_URL),
        help="router URL: ws://, wss://, rs://, rss://, tcp://, ws+unix:///path ... "
        f"(default: $AUTOSTRADA_URL, else {DEFAULT_URL})",
    )
    group.add_argument(
        "--realm",
        default=os.environ.get("AUTOSTRADA_REALM", DEFAULT_REALM),
        help=f"realm to join (default: $AUTOSTRADA_REALM, else {DEFAULT_REALM})",
    )
    group.add_argument(
        "--serializer",
        choices=SERIALIZER_CHOICES,
        help="serializer to use (default: offer json, msgpack and cbor; the router picks)",
    )
    group.add_argument(
        "--connect-timeout",
        type=positive_float,
        default=10.0,
        metavar="SECONDS",
        help="limit on connecting and joining (default: 10)",
    )
    group.add_argument(
        "--ca-file",
        metavar="PATH",
        help="trust the CA certificates in this PEM file (for wss:// and rss://)",
    )
    add_auth_arguments(parser)


def add_payload_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    """Positional ``ARGS``, ``-k key=value`` and the JSON parsing switches."""
    parser.add_argument(
        "args",
        nargs="*",
        metavar="ARG",
        help=f"positional {what} argument: JSON if it parses, else a string",
    )
    parser.add_argument(
        "-k",
        "--kwarg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"keyword {what} argument (repeatable); VALUE as for ARG",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--json",
        dest="parse",
        action="store_const",
        const="json",
        default="auto",
        help="every ARG and VALUE must be valid JSON (else exit 2)",
    )
    mode.add_argument(
        "--strings",
        dest="parse",
        action="store_const",
        const="string",
        help="take every ARG and VALUE as a string, without parsing",
    )


def _number(text: str, kind: type[float] | type[int]) -> float:
    try:
        value = kind(text)
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"not {what}: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def positive_float(text: str) -> float:
    """argparse type: seconds > 0."""
    value = _number(text, float)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def non_negative_float(text: str) -> float:
    """argparse type: seconds >= 0."""
    value = _number(text, float)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text}")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = int(_number(text, int))
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    value = int(_number(text, int))
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text}")
    return value


# ------------------------------------------------------------------ payloads in


def _not_json_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def parse_value(text: str, mode: str, where: str) -> Any:
    """One command-line value: JSON when it parses (``mode`` "auto"), see the module doc."""
    if mode == "string":
        return text
    try:
        return json.loads(text, parse_constant=_not_json_constant)
    except ValueError as exc:
        if mode == "json":
            raise CliError(EXIT_USAGE, f"{where} is not valid JSON ({exc}): {text!r}") from None
        return text


def reserved_keywords(*functions: Callable[..., Any]) -> frozenset[str]:
    """Keyword names ``functions`` take themselves: a payload cannot use them.

    ``session.call(procedure, *args, options=None, **kwargs)`` cannot pass a keyword
    argument named ``options`` (nor any other parameter that is not positional-only).
    """
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return frozenset(
        p.name
        for function in functions
        for p in inspect.signature(function).parameters.values()
        if p.kind in kinds
    )


def check_keywords(keywords: Mapping[str, Any], *functions: Callable[..., Any]) -> None:
    """Raise a usage error for a ``-k`` name the session API cannot pass on."""
    clash = sorted(reserved_keywords(*functions) & keywords.keys())
    if clash:
        names = ", ".join(f"-k {name}=" for name in clash)
        raise CliError(EXIT_USAGE, f"{names}: cannot be sent (the session API reserves it)")


def payload(args: argparse.Namespace) -> tuple[list[Any], dict[str, Any]]:
    """The positional and keyword payload the command line gives.

    Raises:
        CliError: a malformed ``-k`` (no ``=``, empty or repeated key), or invalid
            JSON with ``--json`` (exit 2).
    """
    positional = [
        parse_value(text, args.parse, f"argument {i}") for i, text in enumerate(args.args, 1)
    ]
    keywords: dict[str, Any] = {}
    for item in args.kwarg:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise CliError(EXIT_USAGE, f"-k expects KEY=VALUE, got {item!r}")
        if key in keywords:
            raise CliError(EXIT_USAGE, f"-k {key}= is given twice")
        keywords[key] = parse_value(text, args.parse, f"-k {key}")
    return positional, keywords


# ------------------------------------------------------------------ payloads out


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return "\x00" + base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    return str(value)


def _string_keys(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k if isinstance(k, str) else to_json(k): _string_keys(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_string_keys(v) for v in value]
    return value


def to_json(value: Any) -> str:
    """``value`` as one line of JSON (bytes as ``"\\u0000" + base64``)."""
    try:
        return json.dumps(value, default=_json_default)
    except TypeError:  # a map key JSON cannot have (msgpack and CBOR allow any)
        return json.dumps(_string_keys(value), default=_json_default)


def result_value(result: Any, envelope: bool = False) -> Any:
    """What ``call`` prints for a result: the value, or ``{"args": ..., "kwargs": ...}``.

    A single positional result is printed as itself (``null`` for none); several
    results or keyword results (a :class:`CallResult`) as the envelope. With
    ``envelope``, every result is printed as the envelope.
    """
    if isinstance(result, CallResult):
        return {"args": result.results, "kwargs": result.kwresults}
    if envelope:
        return {"args": [] if result is None else [result], "kwargs": {}}
    return result


def application_error(exc: ApplicationError) -> str:
    """``<uri>: <args>, key=<value>``: strings as they are, anything else as JSON."""
    parts = [a if isinstance(a, str) else to_json(a) for a in exc.args_]
    parts += [f"{k}={to_json(v)}" for k, v in exc.kwargs.items()]
    return f"error: {exc.error}: {', '.join(parts)}" if parts else f"error: {exc.error}"


class StdoutClosed(Exception):
    """The reader of our stdout went away (``... | head -1``)."""


def emit(line: str) -> None:
    """Print one line on stdout and flush it (pipes get every line at once).

    Raises:
        StdoutClosed: the reader closed the pipe.
    """
    try:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        # Point stdout at /dev/null so that the interpreter's final flush is quiet.
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        raise StdoutClosed from None


# ------------------------------------------------------------------ signals


class Stopper:
    """SIGINT and SIGTERM as a stop request; a second signal cancels the verb at once."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._event = asyncio.Event()
        self._task: asyncio.Task[Any] | None = None

    def install(self) -> None:
        """Handle SIGINT and SIGTERM in the running loop (where the platform allows)."""
        loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, self._signalled, signum)

    def _signalled(self, signum: int) -> None:
        if self._event.is_set():  # asked twice: do not wait for a clean end
            if self._task is not None:
                self._task.cancel()
            return
        log.info("%s: stopping", signal.Signals(signum).name)
        self.signum = signum
        self._event.set()

    def stop(self) -> None:
        """Ask to stop without a signal (e.g. ``--count`` reached)."""
        self._event.set()

    @property
    def stopping(self) -> bool:
        return self._event.is_set()

    async def wait(self) -> None:
        await self._event.wait()

    async def until(self, future: asyncio.Future[Any]) -> None:
        """Wait until ``future`` is done or a stop is asked for, whichever comes first."""
        stopping = asyncio.ensure_future(self._event.wait())
        try:
            await asyncio.wait([future, stopping], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()

    async def race(self, awaitable: Awaitable[T]) -> T:
        """Await ``awaitable`` unless a stop comes first: then cancel it.

        Raises:
            Interrupted: a signal came first.
        """
        operation = asyncio.ensure_future(awaitable)
        stopped = asyncio.ensure_future(self._event.wait())
        try:
            await asyncio.wait({operation, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
            if not operation.done():
                operation.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await operation
        if operation.cancelled():
            raise Interrupted(self.signum or signal.SIGINT)
        return operation.result()


# ------------------------------------------------------------------ the session


def _ssl_context(args: argparse.Namespace) -> ssl.SSLContext | None:
    if not args.ca_file:
        return None
    try:
        return ssl.create_default_context(cafile=args.ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise CliError(EXIT_USAGE, f"--ca-file {args.ca_file}: {exc}") from None


def connection_options(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of :func:`autostrada.connect` the options ask for.

    Raises:
        CliError: exit 2 for a missing or unreadable credential or CA file.
    """
    options: dict[str, Any] = {
        "authentication": authentication(args),
        "open_timeout": args.connect_timeout,
    }
    if args.serializer:
        options["serializers"] = [args.serializer]
    context = _ssl_context(args)
    if context is not None:
        options["ssl"] = context
    return options


@contextlib.asynccontextmanager
async def open_session(args: argparse.Namespace, stopper: Stopper) -> AsyncIterator[Session]:
    """Connect and join as the options say; leave (bounded) when the block ends.

    ``args.connection`` holds :func:`connection_options` (computed before the event
    loop starts, so that a usage error never touches the network).

    Raises:
        CliError: exit 2 (bad options), 3 (could not connect), 4 (join refused).
        Interrupted: a signal came while connecting.
    """
    options = getattr(args, "connection", None)
    if options is None:
        options = connection_options(args)
    try:
        async with asyncio.timeout(args.connect_timeout + 1.0):
            session = await stopper.race(autostrada.connect(args.url, args.realm, **options))
    except TimeoutError:
        raise CliError(
            EXIT_CONNECTION, f"{args.url}: no session within {args.connect_timeout} s"
        ) from None
    except TransportError as exc:
        raise CliError(EXIT_CONNECTION, str(exc)) from None
    except AuthenticationFailed as exc:
        raise CliError(EXIT_AUTH, f"authentication failed: {exc}") from None
    except SessionClosed as exc:
        code = EXIT_CONNECTION if exc.reason == CloseDetails.REASON_TRANSPORT_LOST else EXIT_AUTH
        raise CliError(code, str(exc)) from None
    except ValueError as exc:  # a bad URL or authentication option
        raise CliError(EXIT_USAGE, str(exc)) from None
    log.info(
        "joined %s on %s as %s (authid %s, role %s)",
        args.realm,
        args.url,
        session.details.authmethod if session.details else "?",
        session.details.authid if session.details else "?",
        session.details.authrole if session.details else "?",
    )
    try:
        yield session
    finally:
        await close_session(session)


async def close_session(session: Session) -> None:
    """Leave (bounded by the transport's close timeout) and close the transport."""
    try:
        if session.is_attached():
            await session.leave()
    except WampError as exc:
        log.debug("leave failed: %s", exc)
    finally:
        session.disconnect()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5.0):
                await session.wait_disconnected()


def session_end(session: Session) -> asyncio.Future[CloseDetails]:
    """A future that resolves with the close details when the session ends."""
    ended: asyncio.Future[CloseDetails] = asyncio.get_running_loop().create_future()

    def on_leave(_session: Session, details: CloseDetails) -> None:
        if not ended.done():
            ended.set_result(details)

    session.on("leave", on_leave)
    return ended


def lost(details: CloseDetails) -> CliError:
    """The error for a session the router (or the network) ended: exit 3."""
    said = f"{details.reason}: {details.message}" if details.message else details.reason
    return CliError(EXIT_CONNECTION, f"the session ended ({said})")


def operation_error(exc: Exception) -> CliError:
    """Map what a call, publish, subscribe or register raised to an exit code."""
    if isinstance(exc, ApplicationError):
        return CliError(EXIT_ERROR, application_error(exc))
    if isinstance(exc, SessionClosed | TransportError):
        return CliError(EXIT_CONNECTION, str(exc))
    if isinstance(exc, ValueError | TypeError):  # a payload that cannot be serialized
        return CliError(EXIT_USAGE, f"cannot send that: {exc}")
    return CliError(EXIT_ERROR, f"{type(exc).__name__}: {exc}")


def extra_positionals(verb: str, extras: Sequence[str]) -> list[str]:
    """Positional arguments argparse left over after an option in the middle.

    ``call URI 1 -k a=1 2``: argparse takes ``1`` as ARGS and leaves ``2``; they are
    appended in order. An unknown option is an error.
    """
    positionals: list[str] = []
    after_dashes = False
    for item in extras:
        if item == "--" and not after_dashes:
            after_dashes = True
        elif item.startswith("-") and not after_dashes and not _is_number(item):
            raise CliError(EXIT_USAGE, f"unrecognized argument: {item}")
        else:
            positionals.append(item)
    return positionals


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
