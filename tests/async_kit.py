"""How every test directory runs ``async def`` tests: a fresh loop, bounded, strict.

Each directory's kit makes its own runner with its bound
(``async_test = async_runner(TEST_TIMEOUT)``) and its own step bound for :func:`within`.
"""

from __future__ import annotations

import asyncio
import functools
import gc
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ParamSpec

P = ParamSpec("P")

Test = Callable[P, Coroutine[Any, Any, None]]


def async_runner(
    timeout: float, *, no_leftover_tasks: bool = False
) -> Callable[[Callable[P, Coroutine[Any, Any, None]]], Callable[P, None]]:
    """A decorator running an ``async def`` test with ``asyncio.run``, bounded by ``timeout``.

    The test fails when the loop reports an unhandled error (an exception escaping a
    protocol callback, a future's exception never retrieved: the code under test must
    report failures through its futures), and with ``no_leftover_tasks`` also when a
    task the test started is still running at its end (after up to 2 s to finish).
    """

    def decorate(fn: Callable[P, Coroutine[Any, Any, None]]) -> Callable[P, None]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
            unhandled: list[dict[str, Any]] = []
            leftovers: list[str] = []

            async def bounded() -> None:
                asyncio.get_running_loop().set_exception_handler(
                    lambda loop, context: unhandled.append(context)
                )
                async with asyncio.timeout(timeout):
                    await fn(*args, **kwargs)
                    if no_leftover_tasks:
                        me = asyncio.current_task()
                        others = [t for t in asyncio.all_tasks() if t is not me]
                        if others:  # e.g. a disconnect hook that is just about to run
                            await asyncio.wait(others, timeout=2.0)
                        leftovers.extend(repr(t) for t in others if not t.done())
                gc.collect()  # "exception never retrieved" is reported on collection

            asyncio.run(bounded())
            assert not unhandled, f"the event loop reported unhandled errors: {unhandled}"
            assert not leftovers, f"tasks still running at the end of the test: {leftovers}"

        return wrapper

    return decorate


async def bounded(awaitable: Awaitable[Any], seconds: float) -> Any:
    """Await with a bound shorter than the test's, so that a failure names the step."""
    async with asyncio.timeout(seconds):
        return await awaitable
