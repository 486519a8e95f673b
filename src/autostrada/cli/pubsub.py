"""``autostrada publish`` and ``autostrada subscribe``: PubSub from the shell."""

from __future__ import annotations

import argparse
import logging
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
    open_session,
    operation_error,
    payload,
    positive_int,
    session_end,
    to_json,
)
from autostrada.cli.exits import EXIT_CODES_HELP, EXIT_OK, CliError, Interrupted
from autostrada.types import EventDetails, PublishOptions, SubscribeOptions

__all__ = ["EventPrinter", "add_publish_parser", "add_subscribe_parser"]

log = logging.getLogger("autostrada.cli")

_DETAILS = "_autostrada_event_details"

Adder = Callable[..., argparse.ArgumentParser]

PUBLISH_EPILOG = f"""\
Without --acknowledge, publish exits once the router has the event (after a clean
GOODBYE) and cannot tell whether the router accepted it. With --acknowledge it
waits for the router's answer and prints the publication id on stdout; a refusal
is an error (exit 1).

ARG and VALUE are JSON when they parse, else strings (see "autostrada call --help").

examples:
  autostrada publish com.example.news "hello world"
  autostrada publish com.example.temperature 21.5 -k unit=C --acknowledge
  autostrada publish com.example.state '{{"on": true}}' --retain

{EXIT_CODES_HELP}
"""

SUBSCRIBE_EPILOG = f"""\
Each event is printed on stdout as one line of JSON, flushed at once (for pipes):
  {{"topic": "com.example.news", "args": [...], "kwargs": {{...}}, "publication": 123}}
--details adds "publisher", "publisher_authid", "publisher_authrole" (null unless
the router discloses them) and "retained". Bytes are "\\u0000" + base64.

Runs until Ctrl-C or SIGTERM (then leaves cleanly and exits 0), or until --count
events were printed (exit 0). If the router ends the session: exit 3.

examples:
  autostrada subscribe com.example.news
  autostrada subscribe com.example. --match prefix --details
  autostrada subscribe com..status --match wildcard --count 1
  autostrada subscribe com.example.temperature | jq --unbuffered '.args[0]'

{EXIT_CODES_HELP}
"""


# ------------------------------------------------------------------ publish


def add_publish_parser(add: Adder) -> None:
    parser = add(
        "publish",
        help="publish an event",
        description="Publish an event to TOPIC with ARGs and -k KEY=VALUE keyword arguments.",
        epilog=PUBLISH_EPILOG,
    )
    parser.add_argument("topic", metavar="TOPIC", help="the topic to publish to")
    add_payload_arguments(parser, "event")
    parser.add_argument(
        "--acknowledge",
        action="store_true",
        help="wait for the router's acknowledgement; print the publication id",
    )
    parser.add_argument(
        "--exclude-me",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="exclude this session from the receivers (the router's default: yes)",
    )
    parser.add_argument(
        "--retain",
        action="store_true",
        help="ask the router to keep the event for late subscribers",
    )
    add_connection_arguments(parser)
    parser.set_defaults(run=run_publish, prepare=prepare_publish, takes_extras=True)


def prepare_publish(args: argparse.Namespace) -> None:
    args.payload = payload(args)
    check_keywords(args.payload[1], Session.publish)


async def run_publish(args: argparse.Namespace, stopper: Stopper) -> int:
    positional, keywords = args.payload
    options = PublishOptions(
        acknowledge=args.acknowledge or None,
        exclude_me=args.exclude_me,
        retain=args.retain or None,
    )
    async with open_session(args, stopper) as session:
        try:
            acknowledged = session.publish(args.topic, *positional, options=options, **keywords)
            if acknowledged is not None:
                publication = await stopper.race(acknowledged)
                emit(str(publication.id))
        except (Interrupted, CliError, StdoutClosed):
            raise
        except Exception as exc:
            raise operation_error(exc) from None
    return EXIT_OK


# ------------------------------------------------------------------ subscribe


def add_subscribe_parser(add: Adder) -> None:
    parser = add(
        "subscribe",
        help="print events as JSON lines",
        description="Subscribe to TOPIC and print each event as a line of JSON, "
        "until interrupted or --count events.",
        epilog=SUBSCRIBE_EPILOG,
    )
    parser.add_argument("topic", metavar="TOPIC", help="the topic (or pattern) to subscribe to")
    parser.add_argument(
        "--match",
        choices=("exact", "prefix", "wildcard"),
        help="TOPIC is a prefix or a wildcard pattern (default: exact)",
    )
    parser.add_argument(
        "--count", type=positive_int, metavar="N", help="exit after N events (exit code 0)"
    )
    parser.add_argument(
        "--details", action="store_true", help="also print the publisher and retained flag"
    )
    parser.add_argument(
        "--get-retained",
        action="store_true",
        help="ask the router for the retained event first, if there is one",
    )
    add_connection_arguments(parser)
    parser.set_defaults(run=run_subscribe)


class EventPrinter:
    """The event handler of ``subscribe``: one JSON line per event, up to ``count``."""

    def __init__(self, stopper: Stopper, count: int | None, details: bool) -> None:
        self.stopper = stopper
        self.remaining = count
        self.details = details

    def on_event(self, /, *args: Any, **kwargs: Any) -> None:
        details: EventDetails | None = kwargs.pop(_DETAILS, None)
        if self.remaining == 0 or self.stopper.stopping:
            return  # --count reached, or leaving: not one line more
        event: dict[str, Any] = {
            "topic": details.topic if details else None,
            "args": list(args),
            "kwargs": kwargs,
            "publication": details.publication if details else None,
        }
        if self.details:
            event["publisher"] = details.publisher if details else None
            event["publisher_authid"] = details.publisher_authid if details else None
            event["publisher_authrole"] = details.publisher_authrole if details else None
            event["retained"] = bool(details.retained) if details else False
        try:
            emit(to_json(event))
        except StdoutClosed:  # the reader is gone: nobody wants more
            self.remaining = 0
            self.stopper.stop()
            return
        if self.remaining is not None:
            self.remaining -= 1
            if self.remaining == 0:
                self.stopper.stop()


async def run_subscribe(args: argparse.Namespace, stopper: Stopper) -> int:
    printer = EventPrinter(stopper, args.count, args.details)
    options = SubscribeOptions(
        match=args.match, details_arg=_DETAILS, get_retained=args.get_retained or None
    )
    try:
        async with open_session(args, stopper) as session:
            ended = session_end(session)
            try:
                await stopper.race(session.subscribe(printer.on_event, args.topic, options))
            except (Interrupted, CliError):
                raise
            except Exception as exc:
                raise operation_error(exc) from None
            log.info("subscribed to %s", args.topic)
            await stopper.until(ended)
            if not stopper.stopping:
                raise lost(ended.result())
    except Interrupted:
        pass  # Ctrl-C before the subscription was made: the normal way to stop
    return EXIT_OK
