"""The ``autostrada`` command: a router, a demo, and WAMP from the shell.

Verbs::

    autostrada router [--config router.toml | --crossbar-config .crossbar/config.json]
    autostrada demo [--quiet]
    autostrada call URI [ARG...] [-k KEY=VALUE...] [--timeout S] [--progress] [--envelope]
    autostrada publish TOPIC [ARG...] [-k KEY=VALUE...] [--acknowledge] [--retain]
    autostrada subscribe TOPIC [--match prefix|wildcard] [--count N] [--details]
    autostrada register URI [--timeout S] [--concurrency N] -- COMMAND [ARG...]
    autostrada keygen PATH [--format openssh|hex] [--force]   (or --public KEYFILE)
    autostrada --version

``autostrada router`` with no arguments serves realm ``realm1`` on
``ws://127.0.0.1:8080/ws`` and ``rs://127.0.0.1:8081`` (anonymous may do anything —
for development; it says so). ``--config router.toml`` reads our TOML format;
``--crossbar-config .crossbar/config.json`` reads the subset of a Crossbar.io node
config that maps.

The client verbs (``call``, ``publish``, ``subscribe``, ``register``) work with any WAMP
router and share ``--url`` (default ``$AUTOSTRADA_URL``, else the development router's
``ws://127.0.0.1:8080/ws``), ``--realm`` (``$AUTOSTRADA_REALM``, else ``realm1``),
``--serializer``, ``--connect-timeout``, ``--ca-file`` and the authentication options of
:mod:`autostrada.cli.credentials` (where secrets come from, and how they are kept out of
every output). Payloads in and out: :mod:`autostrada.cli.common`. ``--log-level`` goes
before or after the verb; the client verbs log at ``warning`` by default, and at
``info`` say when they have joined, subscribed or registered.

Input: ``ARG`` and ``-k KEY=VALUE`` values are JSON when they parse, else strings
(``--json``: must parse; ``--strings``: never parsed); ``NaN``/``Infinity`` stay strings.

Output, always one JSON document per line on stdout, flushed per line:

* ``call``: the result; a single positional result as itself (``null`` for none),
  several or keyword results as ``{"args": [...], "kwargs": {...}}`` (always that with
  ``--envelope``); with ``--progress`` each progressive result first, one per line.
* ``publish --acknowledge``: the publication id; nothing without ``--acknowledge``.
* ``subscribe``: ``{"topic": ..., "args": [...], "kwargs": {...}, "publication": id}``
  per event (``--details`` adds ``publisher``, ``publisher_authid``,
  ``publisher_authrole``, ``retained``).
* ``keygen``: the public key, 64 hex characters.
* bytes anywhere: ``"\u0000"`` + base64 (WAMP's JSON convention for binary).

``register URI -- COMMAND...`` runs COMMAND (no shell) per call with the positional
arguments appended, keyword arguments in ``AUTOSTRADA_KWARGS`` and ``AUTOSTRADA_KW_<key>``;
stdout (stripped; JSON if it parses; bytes if not UTF-8) is the result; a non-zero exit
is the error ``autostrada.error.command_failed`` (kwargs ``status``, ``stderr``); see
:data:`autostrada.cli.rpc.REGISTER_EPILOG` for every rule.

Exit codes (:mod:`autostrada.cli.exits`):

====  ==================================================================================
0     success; also ``subscribe`` and ``register`` stopped by Ctrl-C or SIGTERM (they
      leave cleanly first), and ``subscribe --count N`` after N events
1     application error: the router or the callee answered with an ERROR (stderr:
      ``autostrada VERB: error: <uri>: <args>``); or another runtime failure (the
      router failed to start, a key file could not be written)
2     usage or configuration error (bad options, malformed ``-k``, missing or
      unreadable secret or key file, a file ``keygen`` would overwrite)
3     connection failed or lost (unreachable URL, refused handshake, TLS failure,
      no session within ``--connect-timeout``, or the router ended the session)
4     the router refused the session: authentication failed, or the join was refused
130   ``call`` or ``publish`` interrupted by Ctrl-C (143 for SIGTERM); the call is
      cancelled first
====  ==================================================================================
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from autostrada import __version__
from autostrada.cli.common import (
    StdoutClosed,
    Stopper,
    connection_options,
    extra_positionals,
)
from autostrada.cli.exits import EXIT_ERROR, EXIT_OK, EXIT_USAGE, CliError, Interrupted
from autostrada.cli.keygen import add_keygen_parser, run_keygen
from autostrada.cli.pubsub import add_publish_parser, add_subscribe_parser
from autostrada.cli.rpc import add_call_parser, add_register_parser

if TYPE_CHECKING:  # the router is imported only when it runs: quicker client verbs
    from autostrada.router.config import ServerConfig

__all__ = ["load_config", "main", "run_router"]

log = logging.getLogger("autostrada.cli")

EXIT_FAILURE = EXIT_ERROR
LOG_LEVELS = ("debug", "info", "warning", "error")

ROUTER_EPILOG = """\
examples:
  autostrada router                      # realm1 on ws://127.0.0.1:8080/ws, rs://127.0.0.1:8081
  autostrada router --config router.toml
  autostrada router --crossbar-config .crossbar/config.json

exit codes: 0 stopped by Ctrl-C or SIGTERM, 1 runtime failure (e.g. a port in use),
2 configuration error"""

DEMO_EPILOG = """\
examples:
  autostrada demo
  autostrada demo --quiet

exit codes: 0 every check passed, 1 a check failed"""

MAIN_EPILOG = """\
examples:
  autostrada router &
  autostrada register com.example.date -- date +%s &
  autostrada call com.example.date
  autostrada subscribe com.example.news --count 1 &
  autostrada publish com.example.news hello

"autostrada COMMAND --help" tells more about each command."""


def _parser() -> argparse.ArgumentParser:
    # --log-level before or after the verb: the verbs' copy has no default, so that it
    # does not overwrite a value given before the verb.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        default=argparse.SUPPRESS,
        help="logging level (default: info for the router, warning otherwise)",
    )
    parser = argparse.ArgumentParser(
        prog="autostrada",
        description=f"WAMP router and tools (autostrada {__version__}).",
        epilog=MAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"autostrada {__version__}")
    parser.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        help="logging level (default: info for the router, warning otherwise)",
    )
    verbs = parser.add_subparsers(dest="verb", metavar="COMMAND")

    def add(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        sub = verbs.add_parser(
            name,
            parents=[common],
            formatter_class=argparse.RawDescriptionHelpFormatter,
            **kwargs,
        )
        sub.set_defaults(parser=sub)
        return sub

    router = add(
        "router",
        help="run the embedded WAMP router",
        description="Run the embedded WAMP router until interrupted (Ctrl-C or SIGTERM).",
        epilog=ROUTER_EPILOG,
    )
    source = router.add_mutually_exclusive_group()
    source.add_argument("--config", metavar="PATH", help="our TOML configuration file")
    source.add_argument("--crossbar-config", metavar="PATH", help="a Crossbar.io node config.json")
    demo = add(
        "demo",
        help="start a router and a few components that show RPC and PubSub",
        description="Start the embedded router on free ports, run a callee, a caller, a "
        "subscriber, a publisher and a progressive call, print what happens, and exit.",
        epilog=DEMO_EPILOG,
    )
    demo.add_argument("--quiet", action="store_true", help="print only the summary line")
    add_call_parser(add)
    add_publish_parser(add)
    add_subscribe_parser(add)
    add_register_parser(add)
    add_keygen_parser(add)
    return parser


def load_config(args: argparse.Namespace) -> ServerConfig:
    """The server config the command line asks for."""
    from autostrada.router.config import default_config, load_crossbar, load_toml  # noqa: PLC0415

    if args.config:
        return load_toml(args.config)
    if args.crossbar_config:
        return load_crossbar(args.crossbar_config)
    return default_config()


async def run_router(config: ServerConfig) -> None:
    """Serve until SIGINT/SIGTERM, then shut down gracefully (GOODBYE to every session)."""
    from autostrada.router.server import RouterServer  # noqa: PLC0415

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(signum, stop.set)
    server = RouterServer(config)
    await server.start()  # logs "listening on <url>" for each listener
    try:
        await stop.wait()
        log.info("shutting down")
    finally:
        await server.stop()


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _router(args: argparse.Namespace) -> int:
    from autostrada.router.config import ConfigError  # noqa: PLC0415

    try:
        config = load_config(args)
    except (ConfigError, OSError) as exc:
        print(f"autostrada router: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        asyncio.run(run_router(config))
    except OSError as exc:
        print(f"autostrada router: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


def _client(args: argparse.Namespace) -> int:
    """Run a client verb; turn its outcome into the exit code (module docstring)."""
    try:  # usage errors first: before any event loop or connection
        prepare = getattr(args, "prepare", None)
        if prepare is not None:
            prepare(args)
        args.connection = connection_options(args)
    except CliError as exc:
        print(f"autostrada {args.verb}: {exc.message}", file=sys.stderr)
        return exc.code
    stopper = Stopper()

    async def verb() -> int:
        stopper.install()
        code: int = await args.run(args, stopper)
        return code

    try:
        return asyncio.run(verb())
    except CliError as exc:
        print(f"autostrada {args.verb}: {exc.message}", file=sys.stderr)
        return exc.code
    except Interrupted as exc:
        return 128 + exc.signum
    except StdoutClosed:  # the reader of our output is gone (| head): nothing to report
        return EXIT_OK
    except (KeyboardInterrupt, asyncio.CancelledError):  # a second Ctrl-C
        return 128 + (stopper.signum or signal.SIGINT)
    except Exception as exc:  # a bug: one line, the traceback at debug level
        log.debug("%s failed", args.verb, exc_info=exc)
        print(
            f"autostrada {args.verb}: unexpected error: {type(exc).__name__}: {exc} "
            "(--log-level debug shows where)",
            file=sys.stderr,
        )
        return EXIT_ERROR


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = _parser()
    args, extras = parser.parse_known_args(argv)
    if args.verb is None:
        if extras:
            parser.error(f"unrecognized arguments: {' '.join(extras)}")
        parser.print_help()
        return EXIT_USAGE
    if extras:
        if not getattr(args, "takes_extras", False):
            args.parser.error(f"unrecognized arguments: {' '.join(extras)}")
        try:
            args.args += extra_positionals(args.verb, extras)
        except CliError as exc:
            args.parser.error(exc.message)
    level = getattr(args, "log_level", None)
    _configure_logging(level or ("info" if args.verb == "router" else "warning"))
    if args.verb == "router":
        return _router(args)
    if args.verb == "demo":
        from autostrada.demo import run_demo  # noqa: PLC0415

        return asyncio.run(run_demo(quiet=args.quiet))
    if args.verb == "keygen":
        try:
            return run_keygen(args)
        except CliError as exc:
            print(f"autostrada keygen: {exc.message}", file=sys.stderr)
            return exc.code
    return _client(args)
