"""run(): new loop or running loop, signals, exit status, logging — in-process and as a script."""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import IO, Any

import pytest
from component_helpers import Recorder, async_test, free_port, within

from autostrada import CloseDetails, Component, Session, run
from autostrada.testing import RouterThread


def bounded(component: Component, seconds: float = 10.0) -> Component:
    """run(start_loop=True) has no timeout of its own: stop the component after a while,
    so that a regression fails the test instead of hanging the suite."""
    component.on("start", lambda loop, comp: loop.call_later(seconds, comp.stop))
    return component


def finishing(url: str, result: list[str]) -> Component:
    def main(loop: asyncio.AbstractEventLoop, session: Session) -> None:
        result.append("main")

    return bounded(Component(main, url))


def failing(url: str, error: BaseException) -> Component:
    async def main(loop: asyncio.AbstractEventLoop, session: Session) -> None:
        raise error

    return bounded(Component(main, url))


# ----------------------------------------------------------------------- in-process


def test_run_starts_a_loop_and_returns_when_all_are_done(component_router: RouterThread) -> None:
    result: list[str] = []
    url = component_router.url
    assert run([finishing(url, result), finishing(url, result)], log_level=None) is None
    assert result == ["main", "main"]
    assert run(finishing(url, result), log_level=None) is None  # one component, no list
    assert len(result) == 3


def test_run_raises_the_failure(component_router: RouterThread) -> None:
    result: list[str] = []
    url = component_router.url
    with pytest.raises(ZeroDivisionError, match="one failed"):
        run([finishing(url, result), failing(url, ZeroDivisionError("one failed"))], log_level=None)
    assert result == ["main"]  # the other one ran to its end


def test_run_raises_a_group_when_several_fail(component_router: RouterThread) -> None:
    url = component_router.url
    with pytest.raises(ExceptionGroup) as caught:
        run([failing(url, KeyError("a")), failing(url, ValueError("b"))], log_level=None)
    assert caught.value.message == "2 components failed"
    assert sorted(type(e).__name__ for e in caught.value.exceptions) == ["KeyError", "ValueError"]


@pytest.mark.parametrize("components", ["ws://127.0.0.1:8080/ws", 42, [Component(), "x"]])
def test_run_wants_components(components: Any) -> None:
    with pytest.raises(ValueError, match="components must be"):
        run(components)


def test_start_loop_true_inside_a_running_loop_is_refused() -> None:
    @async_test
    async def scenario() -> None:
        with pytest.raises(RuntimeError, match="start_loop=False"):
            run([Component()], log_level=None)

    scenario()


def test_start_loop_false_inside_a_loop_starts_at_once(component_router: RouterThread) -> None:
    @async_test
    async def scenario() -> None:
        recorder = Recorder()
        component = Component(transports=component_router.url)
        component.on("ready", lambda session: recorder.add("ready", session))
        awaitable = run([component], start_loop=False, log_level=None)
        assert isinstance(awaitable, asyncio.Task)
        await recorder.wait_for("ready")  # started without being awaited (as in Autobahn)
        component.stop()
        assert await within(awaitable) is None

    scenario()


def test_start_loop_false_without_a_loop_is_for_asyncio_run(component_router: RouterThread) -> None:
    result: list[str] = []
    coro = run([finishing(component_router.url, result)], start_loop=False, log_level=None)
    assert asyncio.iscoroutine(coro)
    asyncio.run(coro)
    assert result == ["main"]


def test_cancelling_run_stops_the_components_gracefully(component_router: RouterThread) -> None:
    @async_test
    async def scenario() -> None:
        recorder = Recorder()
        components = [Component(transports=component_router.url) for _ in range(2)]
        for component in components:
            component.on("ready", lambda session: recorder.add("ready", session))

            @component.on_leave
            def left(session: Session, details: CloseDetails) -> None:
                recorder.add("leave", details.reason)

        task = run(components, start_loop=False, log_level=None)
        assert isinstance(task, asyncio.Task)
        await recorder.wait_for("ready", 2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await within(task)
        assert recorder.args("leave") == [("wamp.close.goodbye_and_out",)] * 2

    scenario()


def test_log_level_with_existing_root_handlers(component_router: RouterThread) -> None:
    root = logging.getLogger()
    assert root.handlers  # pytest's capture handlers
    handlers, level = list(root.handlers), root.level
    run([finishing(component_router.url, [])], log_level="debug")
    assert root.handlers == handlers and root.level == level  # root left alone
    assert logging.getLogger("autostrada").level == logging.DEBUG
    run([finishing(component_router.url, [])], log_level="warn")
    assert logging.getLogger("autostrada").level == logging.WARNING
    run([finishing(component_router.url, [])], log_level=logging.ERROR)
    assert logging.getLogger("autostrada").level == logging.ERROR


@pytest.mark.parametrize("level", ["loud", True, 2.5])
def test_bad_log_level(level: Any) -> None:
    with pytest.raises(ValueError, match="log_level"):
        run([Component()], log_level=level)


# ------------------------------------------------------------------------ as scripts

SCRIPT = """
import logging, sys
from autostrada import Component, run

component = Component(transports=sys.argv[1])

@component.on_ready
def ready(session):
    print("READY", flush=True)

@component.on_leave
def left(session, details):
    print("LEAVE", details.reason, flush=True)

{extra}
run([component]{run_args})
print("RUN RETURNED", len(logging.getLogger().handlers), flush=True)
"""


class Script:
    """A Python script in a subprocess, with its stdout read line by line (bounded)."""

    def __init__(self, tmp_path: Path, url: str, extra: str = "", run_args: str = "") -> None:
        path = tmp_path / "app.py"
        path.write_text(SCRIPT.format(extra=textwrap.dedent(extra), run_args=run_args))
        self.proc = subprocess.Popen(
            [sys.executable, str(path), url],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.stdout: list[str] = []
        assert self.proc.stdout is not None
        threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_for_line(self, text: str, timeout: float = 10.0) -> None:
        while True:
            line = self.lines.get(timeout=timeout)
            if line is None:
                raise AssertionError(f"the script ended before printing {text!r}")
            self.stdout.append(line)
            if line == text:
                return

    def finish(self, timeout: float = 10.0) -> tuple[int, list[str], str]:
        try:
            self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        while (line := self.lines.get(timeout=timeout)) is not None:
            self.stdout.append(line)
        assert self.proc.stderr is not None
        stderr = self.proc.stderr.read()
        self.proc.stderr.close()
        self.proc.stdout.close()  # type: ignore[union-attr]
        return self.proc.returncode, self.stdout, stderr


NOISE = ("Traceback", "Task was destroyed", "never retrieved", "was never awaited", "Unclosed")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_run_gracefully_and_exits_0(
    component_router: RouterThread, tmp_path: Path, signum: signal.Signals
) -> None:
    script = Script(tmp_path, component_router.url)
    script.wait_for_line("READY")
    script.proc.send_signal(signum)
    code, stdout, stderr = script.finish()
    assert code == 0, stderr
    # The router answered our GOODBYE: it saw it.
    assert "LEAVE wamp.close.goodbye_and_out" in stdout
    assert stdout[-1] == "RUN RETURNED 1"  # one root handler, added by run(log_level="info")
    assert f"{signum.name}: stopping 1 component(s)" in stderr
    assert not [word for word in NOISE if word in stderr], stderr


def test_a_second_signal_cancels(component_router: RouterThread, tmp_path: Path) -> None:
    # A leave handler that never returns: the first SIGINT cannot finish, the second cuts.
    extra = """
        import asyncio

        @component.on_leave
        async def stuck(session, details):
            print("STUCK", flush=True)
            await asyncio.Future()
    """
    script = Script(tmp_path, component_router.url, extra)
    script.wait_for_line("READY")
    script.proc.send_signal(signal.SIGINT)
    script.wait_for_line("STUCK")
    script.proc.send_signal(signal.SIGINT)
    code, _, stderr = script.finish()
    assert code == 0, stderr
    assert "SIGINT again: cancelling the components" in stderr
    assert "was cancelled" in stderr


def test_a_failing_main_makes_the_script_exit_non_zero(
    component_router: RouterThread, tmp_path: Path
) -> None:
    extra = """
        async def main(loop, session):
            raise RuntimeError("main is broken")

        component._main = main
    """
    script = Script(tmp_path, component_router.url, extra)
    code, stdout, stderr = script.finish()
    assert code == 1
    assert "RuntimeError: main is broken" in stderr
    assert "LEAVE wamp.close.goodbye_and_out" in stdout  # it still said GOODBYE
    assert "RUN RETURNED" not in " ".join(stdout)


def test_an_unreachable_router_with_max_retries_exits_non_zero(tmp_path: Path) -> None:
    url = f"ws://127.0.0.1:{free_port()}/ws"
    extra = """
        from autostrada.aio.component_config import parse_transports
        component._transports = parse_transports(
            {"url": sys.argv[1], "max_retries": 1, "initial_retry_delay": 0.01}
        )
    """
    script = Script(tmp_path, url, extra)
    code, _, stderr = script.finish()
    assert code == 1
    assert "gave up after 2 connection attempt(s)" in stderr


def test_log_level_none_and_repeated_runs_add_no_handlers(
    component_router: RouterThread, tmp_path: Path
) -> None:
    extra = """
        component._main = lambda loop, session: None
        run([component], log_level=None)
        print("NO HANDLERS", len(logging.getLogger().handlers), flush=True)
        run([component], log_level="debug")
    """
    script = Script(tmp_path, component_router.url, extra, run_args=', log_level="debug"')
    code, stdout, stderr = script.finish()
    assert code == 0, stderr
    assert "NO HANDLERS 0" in stdout
    assert stdout[-1] == "RUN RETURNED 1"
    assert "DEBUG" in stderr


def test_start_loop_false_with_asyncio_run_in_a_script(
    component_router: RouterThread, tmp_path: Path
) -> None:
    extra = """
        import asyncio
        component._main = lambda loop, session: print("MAIN", flush=True)
        asyncio.run(run([component], start_loop=False))
    """
    script = Script(tmp_path, component_router.url, extra, run_args=", log_level=None")
    code, stdout, stderr = script.finish()
    assert code == 0, stderr
    assert stdout.count("MAIN") == 2  # asyncio.run(run(..., start_loop=False)), then run()
    assert not [word for word in NOISE if word in stderr], stderr


def test_signals_in_process(component_router: RouterThread) -> None:
    """SIGINT to this process while run() runs: the first stops, a second cancels."""
    recorder = Recorder()
    graceful = bounded(Component(transports=component_router.url))

    @graceful.on_ready
    def interrupt(session: Session) -> None:
        os.kill(os.getpid(), signal.SIGINT)

    @graceful.on_leave
    def left(session: Session, details: CloseDetails) -> None:
        recorder.add("leave", details.reason)

    assert run([graceful], log_level=None) is None
    assert recorder.args("leave") == [("wamp.close.goodbye_and_out",)]

    stubborn = bounded(Component(transports=component_router.url))
    stubborn.on("ready", lambda session: os.kill(os.getpid(), signal.SIGINT))

    @stubborn.on_leave
    async def stuck(session: Session, details: CloseDetails) -> None:
        os.kill(os.getpid(), signal.SIGINT)
        await asyncio.Future()

    assert run([stubborn], log_level=None) is None  # cancelled by the second signal


def test_run_outside_the_main_thread(component_router: RouterThread) -> None:
    """No signal handlers there (asyncio allows them only in the main thread)."""
    result: list[str] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            run([finishing(component_router.url, result)], log_level=None)
        except BaseException as exc:  # reported below
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(10)
    assert not thread.is_alive() and errors == [] and result == ["main"]
