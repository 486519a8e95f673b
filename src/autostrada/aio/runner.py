"""``run()``: run components until they are done, as ``autobahn.asyncio.component.run`` does.

::

    from autostrada import Component, run

    run([Component(main=main, transports="ws://127.0.0.1:8080/ws")])

``run()`` owns a new event loop by default: SIGINT/SIGTERM stop every component
gracefully (GOODBYE reaches the router), a failed component makes it raise (so a
script exits non-zero), and no task is left pending at exit. From an asyncio program,
``await run(components, start_loop=False)`` (or ``asyncio.run()`` of it).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import signal
from collections.abc import Coroutine, Iterable
from typing import Any

from autostrada.aio.component import Component

__all__ = ["run"]

log = logging.getLogger("autostrada.component")

_LOG_LEVELS = {
    "critical": logging.CRITICAL,
    "error": logging.ERROR,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
    "trace": logging.DEBUG,
}


def run(
    components: Component | Iterable[Component],
    start_loop: bool = True,
    log_level: str | int | None = "info",
) -> Coroutine[Any, Any, None] | asyncio.Task[None] | None:
    """Run components until all are done (Autobahn's ``run``).

    With ``start_loop=True`` (default): run them on a new event loop; SIGINT and SIGTERM
    stop every component gracefully (GOODBYE reaches the router; a second signal
    cancels them); return once all are done, or raise if any failed — its exception,
    or an :class:`ExceptionGroup` when several did — so that a script exits non-zero.

    With ``start_loop=False``: return an awaitable. Inside a running loop the
    components start at once and the awaitable is a task; otherwise it is a coroutine
    for ``asyncio.run()``. No signal handlers are installed (the application owns the
    loop): cancelling the awaitable stops the components gracefully.

    Args:
        components: a :class:`Component` or a list of them.
        start_loop: run a new event loop (see above).
        log_level: ``"critical"``, ``"error"``, ``"warn"``, ``"info"``, ``"debug"``
            (or a :mod:`logging` level number), or ``None`` to leave logging alone. When
            the root logger has no handler, one is added (:func:`logging.basicConfig`);
            otherwise only the level of the ``autostrada`` logger is set.

    Raises:
        ValueError: not components, or an unknown log level.
        RuntimeError: ``start_loop=True`` while an event loop is running.
    """
    checked = _component_list(components)
    if log_level is not None:
        _configure_logging(log_level)
    try:
        running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if start_loop:
        if running is not None:
            raise RuntimeError(
                "run(start_loop=True) cannot run inside a running event loop: "
                "use `await run(components, start_loop=False)`"
            )
        asyncio.run(_run_all(checked, handle_signals=True))
        return None
    coro = _run_all(checked, handle_signals=False)
    return coro if running is None else running.create_task(coro)


def _component_list(components: Any) -> list[Component]:
    if isinstance(components, Component):
        return [components]
    if isinstance(components, str | bytes) or not isinstance(components, Iterable):
        raise ValueError(f"components must be a Component or a list of them, got {components!r}")
    checked = list(components)
    for item in checked:
        if not isinstance(item, Component):
            raise ValueError(f"components must be Component objects, got {item!r}")
    return checked


def _configure_logging(level: str | int) -> None:
    if isinstance(level, str) and level.lower() in _LOG_LEVELS:
        number = _LOG_LEVELS[level.lower()]
    elif isinstance(level, int) and not isinstance(level, bool):
        number = level
    else:
        raise ValueError(f"log_level must be one of {', '.join(_LOG_LEVELS)}, got {level!r}")
    if logging.getLogger().handlers:
        logging.getLogger("autostrada").setLevel(number)
    else:
        logging.basicConfig(
            level=number, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s"
        )


async def _run_all(components: list[Component], *, handle_signals: bool) -> None:
    loop = asyncio.get_running_loop()
    tasks = [component.start(loop) for component in components]
    for component, task in zip(components, tasks, strict=True):
        task.add_done_callback(functools.partial(_report, component))
    installed: list[signal.Signals] = []
    if handle_signals:
        received = 0

        def on_signal(signum: signal.Signals) -> None:
            nonlocal received
            received += 1
            if received == 1:
                log.info("%s: stopping %d component(s)", signum.name, len(components))
                for component in components:
                    component.stop()
            else:
                log.warning("%s again: cancelling the components", signum.name)
                for task in tasks:
                    task.cancel()

        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, on_signal, signum)
            except (NotImplementedError, RuntimeError, ValueError):  # Windows, not main thread
                continue
            installed.append(signum)
    try:
        await asyncio.wait(tasks)
    except asyncio.CancelledError:
        for component in components:
            component.stop()
        await asyncio.wait(tasks)
        raise
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)
    errors = [task.exception() for task in tasks if not task.cancelled()]
    failures = [error for error in errors if error is not None]
    if len(failures) == 1:
        raise failures[0]
    if failures:
        raise BaseExceptionGroup(f"{len(failures)} components failed", failures)


def _report(component: Component, task: asyncio.Task[None]) -> None:
    if task.cancelled():
        log.warning("%r was cancelled", component)
    elif task.exception() is not None:
        log.error("%r failed: %s", component, task.exception())
    else:
        log.info("%r is done", component)
