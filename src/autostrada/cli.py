"""The ``autostrada`` command: run a router, run the demo.

``autostrada router`` with no arguments serves realm ``realm1`` on
``ws://127.0.0.1:8080/ws`` and ``rs://127.0.0.1:8081`` (anonymous may do anything —
for development; it says so). ``--config router.toml`` reads our TOML format;
``--crossbar-config .crossbar/config.json`` reads the subset of a Crossbar.io node
config that maps.

Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence

from autostrada import __version__
from autostrada.demo import run_demo
from autostrada.router.config import (
    ConfigError,
    ServerConfig,
    default_config,
    load_crossbar,
    load_toml,
)
from autostrada.router.server import RouterServer

__all__ = ["main"]

log = logging.getLogger("autostrada.cli")

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="autostrada",
        description=f"WAMP router and tools (autostrada {__version__}).",
    )
    parser.add_argument("--version", action="version", version=f"autostrada {__version__}")
    parser.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error"],
        help="logging level (default: info for the router, warning otherwise)",
    )
    verbs = parser.add_subparsers(dest="verb", metavar="COMMAND")
    router = verbs.add_parser(
        "router",
        help="run the embedded WAMP router",
        description="Run the embedded WAMP router until interrupted (Ctrl-C or SIGTERM).",
        epilog="examples:\n"
        "  autostrada router                      # realm1 on ws://127.0.0.1:8080/ws, rs://127.0.0.1:8081\n"
        "  autostrada router --config router.toml\n"
        "  autostrada router --crossbar-config .crossbar/config.json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = router.add_mutually_exclusive_group()
    source.add_argument("--config", metavar="PATH", help="our TOML configuration file")
    source.add_argument("--crossbar-config", metavar="PATH", help="a Crossbar.io node config.json")
    demo = verbs.add_parser(
        "demo",
        help="start a router and a few components that show RPC and PubSub",
        description="Start the embedded router on free ports, run a callee, a caller, a "
        "subscriber, a publisher and a progressive call, print what happens, and exit.",
    )
    demo.add_argument("--quiet", action="store_true", help="print only the summary line")
    return parser


def load_config(args: argparse.Namespace) -> ServerConfig:
    """The server config the command line asks for."""
    if args.config:
        return load_toml(args.config)
    if args.crossbar_config:
        return load_crossbar(args.crossbar_config)
    return default_config()


async def run_router(config: ServerConfig) -> None:
    """Serve until SIGINT/SIGTERM, then shut down gracefully (GOODBYE to every session)."""
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.verb is None:
        parser.print_help()
        return EXIT_USAGE
    _configure_logging(args.log_level or ("info" if args.verb == "router" else "warning"))
    if args.verb == "router":
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
    assert args.verb == "demo"
    return asyncio.run(run_demo(quiet=args.quiet))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
