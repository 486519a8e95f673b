"""Helpers of the documentation tests: code blocks of the pages, and documented commands.

The rule the tests enforce (issue 6): every fenced code block of ``docs/**/*.md`` and
``README.md`` is either included from a file that a test runs (``--8<-- "path"``), or a
shell block whose commands a test runs, or a block that a named test checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import shutil
import signal
import socket
import sys
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from autostrada.router.config import load_crossbar, load_toml

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SNIPPETS = DOCS / "snippets"
BIN = Path(sys.executable).parent  # the venv that runs the tests (.venv under `make test`)
DEFAULT_URL = "ws://127.0.0.1:8080/ws"
TIMEOUT = 30.0
"""Seconds any one step may take: a broken example fails, it never hangs the suite."""

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
INCLUDE = re.compile(r'^--8<-- "(?P<path>[^":]+)(?::(?P<section>[a-z][-_0-9a-z]*))?"$')


def pages() -> list[Path]:
    """Every page whose code blocks count: the docs and the README."""
    return [*sorted(DOCS.rglob("*.md")), ROOT / "README.md"]


def relative(path: Path) -> str:
    return path.resolve().relative_to(ROOT).as_posix()


@dataclass(frozen=True)
class Block:
    """A fenced code block: its page (relative to the repository), line, language, text."""

    page: str
    line: int
    lang: str
    text: str

    def where(self) -> str:
        return f"{self.page}:{self.line}"

    def includes(self) -> list[tuple[str, str | None]] | None:
        """The ``(path, section)`` of each ``--8<--`` line, or ``None`` if it is not only that."""
        lines = [line.strip() for line in self.text.splitlines() if line.strip()]
        found = [INCLUDE.match(line) for line in lines]
        if not lines or not all(found):
            return None
        return [(m["path"], m["section"]) for m in found if m is not None]


def fenced_blocks(path: Path) -> list[Block]:
    """The fenced code blocks of a Markdown page, in order.

    Raises:
        AssertionError: a fence is never closed.
    """
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if match is None:
            index += 1
            continue
        fence, indent = match["fence"], len(match["indent"])
        info = match["info"].strip()
        end = index + 1
        while end < len(lines):
            stripped = lines[end].strip()
            if stripped.startswith(fence) and set(stripped) == {fence[0]}:
                break
            end += 1
        assert end < len(lines), f"{relative(path)}:{index + 1}: unclosed code fence"
        body = "\n".join(line[indent:] for line in lines[index + 1 : end])
        lang = info.split()[0] if info else ""
        blocks.append(Block(relative(path), index + 1, lang, body + "\n" if body else ""))
        index = end + 1
    return blocks


def section_names(path: Path) -> set[str]:
    """The ``--8<-- [start:name]`` sections a file defines (with a matching end)."""
    text = path.read_text(encoding="utf-8")
    starts = set(re.findall(r"--8<-- \[start:([a-z][-_0-9a-z]*)\]", text))
    ends = set(re.findall(r"--8<-- \[end:([a-z][-_0-9a-z]*)\]", text))
    return starts & ends


# ------------------------------------------------------------------ documented commands


@dataclass
class Command:
    """A command a page shows: the line after ``$ `` and the output lines shown below it."""

    line: str
    output: list[str] = field(default_factory=list)

    @property
    def words(self) -> list[str]:
        return shlex.split(self.line)


def block_commands(block: Block) -> list[Command]:
    """The commands of a ``console`` block (``$ `` lines) or an ``sh`` block (every line)."""
    commands: list[Command] = []
    for raw in block.text.splitlines():
        if block.lang == "console":
            if raw.startswith("$ "):
                commands.append(Command(raw[2:].strip()))
            elif raw.strip():
                assert commands, f"{block.where()}: output before any command"
                commands[-1].output.append(raw)
        elif raw.strip() and not raw.lstrip().startswith("#"):
            commands.append(Command(raw.split(" #", 1)[0].strip()))
    return commands


SHELL_LANGS = ("console", "sh")


def page_commands(page: str) -> list[Command]:
    """Every documented command of ``page`` (relative to the repository), in order."""
    return [
        command
        for block in fenced_blocks(ROOT / page)
        if block.lang in SHELL_LANGS
        for command in block_commands(block)
    ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_is_free(port: int) -> bool:
    """Whether a server could listen on ``port`` (as asyncio's does: with SO_REUSEADDR)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def make_workspace(tmp_path: Path) -> Path:
    """A copy of ``docs/snippets`` and ``examples`` where documented commands run.

    Relative paths in the commands work there as in the repository, and whatever the
    commands write (certificates, Unix sockets) stays out of the repository.
    """
    workspace = tmp_path / "workspace"
    shutil.copytree(SNIPPETS, workspace / "docs" / "snippets")
    shutil.copytree(ROOT / "examples", workspace / "examples")
    return workspace


def rewrite_ports(path: Path) -> None:
    """Give every TCP listener of a router config file a free port on 127.0.0.1."""
    text = path.read_text()
    text = re.sub(r'(?m)^(\s*"?port"?\s*[=:]\s*)\d+', lambda m: f"{m[1]}{free_port()}", text)
    text = text.replace('"0.0.0.0"', '"127.0.0.1"')
    path.write_text(text)


class Process:
    """A documented long-running command (a router, a component) as a subprocess."""

    def __init__(self, proc: asyncio.subprocess.Process, line: str) -> None:
        self.proc = proc
        self.line = line
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._changed = asyncio.Condition()
        assert proc.stdout is not None and proc.stderr is not None
        self._readers = [
            asyncio.ensure_future(self._read(proc.stdout, self.stdout)),
            asyncio.ensure_future(self._read(proc.stderr, self.stderr)),
        ]

    async def _read(self, stream: asyncio.StreamReader, into: list[str]) -> None:
        while line := await stream.readline():
            async with self._changed:
                into.append(line.decode(errors="replace").rstrip("\n"))
                self._changed.notify_all()
        async with self._changed:
            self._changed.notify_all()

    def describe(self) -> str:
        out, err = "\n".join(self.stdout[-20:]), "\n".join(self.stderr[-20:])
        return f"`{self.line}`\n--- stdout:\n{out}\n--- stderr:\n{err}"

    async def wait_for(self, pattern: str, *, stream: str = "stdout", count: int = 1) -> list[str]:
        """Wait until ``count`` lines of ``stream`` match ``pattern``; return them."""
        lines = self.stdout if stream == "stdout" else self.stderr
        regex = re.compile(pattern)

        def matching() -> list[str]:
            return [line for line in lines if regex.search(line)]

        try:
            async with asyncio.timeout(TIMEOUT), self._changed:
                while len(matching()) < count:
                    if all(reader.done() for reader in self._readers):
                        raise AssertionError(f"exited before {pattern!r}: {self.describe()}")
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(f"no {pattern!r} in time: {self.describe()}") from None
        return matching()

    async def interrupt(self) -> int:
        """Ctrl-C: SIGINT, then the exit status (the output is read to its end)."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGINT)
        async with asyncio.timeout(TIMEOUT):
            status = await self.proc.wait()
            await asyncio.gather(*self._readers)
        return status

    async def close(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(TIMEOUT):
                await self.proc.wait()
                await asyncio.gather(*self._readers)


class Shell:
    """Runs documented commands as a user would type them.

    ``.venv/bin/X``, ``python`` and ``autostrada`` are the test venv's programs; leading
    ``NAME=value`` words set the environment of that command, ``export NAME=value`` the
    environment of the commands after it.
    """

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.env = dict(os.environ)
        self.env["PATH"] = f"{BIN}{os.pathsep}{self.env.get('PATH', '')}"
        self.env["PYTHONUNBUFFERED"] = "1"  # output line by line, as on a terminal
        for name in ("AUTOSTRADA_URL", "AUTOSTRADA_RS_URL", "AUTOSTRADA_REALM"):
            self.env.pop(name, None)
        self.processes: list[Process] = []

    def argv(self, command: Command) -> tuple[dict[str, str], list[str]]:
        words = command.words
        env: dict[str, str] = {}
        while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
            name, _, value = words.pop(0).partition("=")
            env[name] = value
        assert words, f"no command in {command.line!r}"
        program = words[0].removeprefix(".venv/bin/")
        if program in ("python", "python3"):
            words[0] = sys.executable
        elif program == "autostrada" or words[0].startswith(".venv/bin/"):
            words[0] = str(BIN / program)
        return env, words

    def export(self, command: Command) -> bool:
        """Handle ``export NAME=value``; ``False`` if the command is something else."""
        words = command.words
        if words[:1] != ["export"]:
            return False
        for word in words[1:]:
            name, _, value = word.partition("=")
            self.env[name] = value
        return True

    async def run(self, command: Command, *, cwd: Path | None = None) -> str:
        """Run a command to its end; it must exit 0 and print the documented output."""
        extra, argv = self.argv(command)
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd or self.cwd,
            env={**self.env, **extra},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            async with asyncio.timeout(TIMEOUT * 4):
                out, err = await proc.communicate()
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        stdout, stderr = out.decode(errors="replace"), err.decode(errors="replace")
        assert proc.returncode == 0, f"`{command.line}` exited {proc.returncode}:\n{stderr}"
        if command.output:
            assert stdout.strip().splitlines() == command.output, (
                f"`{command.line}` printed\n{stdout}\nwhere the page shows\n"
                + "\n".join(command.output)
            )
        return stdout + stderr

    async def start(self, command: Command) -> Process:
        """Start a long-running command; wait for the output the page shows."""
        extra, argv = self.argv(command)
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=self.cwd,
            env={**self.env, **extra},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # a Ctrl-C of the test run does not reach it
        )
        process = Process(proc, command.line)
        self.processes.append(process)
        for line in command.output:
            await process.wait_for(re.escape(line))
        return process

    async def start_router(self, command: Command) -> tuple[Process, list[str]]:
        """Start an ``autostrada router`` command; return it and the URLs it listens on.

        A configuration file of the command is copied with free ports (and 127.0.0.1 for
        "every interface"), so that the tests never depend on ports 8080 and up being
        free; URLs the clients need then go into ``AUTOSTRADA_URL`` / ``AUTOSTRADA_RS_URL``.
        Without a configuration file (the development router on 8080 and 8081), the
        command runs as it is when both ports are free, else with an equivalent config
        on free ports.
        """
        extra, words = self.argv(command)
        listeners = 0
        for option, load in (("--config", load_toml), ("--crossbar-config", load_crossbar)):
            if option in words:
                path = self.cwd / words[words.index(option) + 1]
                rewrite_ports(path)
                with environment({**self.env, **extra}):
                    config = load(path)
                listeners = sum(len(listener.urls()) for listener in config.listeners)
        literal = listeners == 0 and port_is_free(8080) and port_is_free(8081)
        if listeners == 0 and literal:
            process = await self.start(command)
            try:
                lines = await process.wait_for(r"listening on ", stream="stderr", count=2)
            except AssertionError:
                # Another program (a parallel test run?) took 8080 or 8081 just now.
                assert await process.interrupt() == 1, process.describe()
                assert "cannot listen on 127.0.0.1:808" in "\n".join(process.stderr)
                literal = False
        if listeners == 0 and not literal:
            config = self.cwd / "development.toml"
            config.write_text(DEVELOPMENT_TOML.format(ws=free_port(), rs=free_port()))
            command = Command(f"{command.line} --config {config}", command.output)
            listeners = 2
        if listeners:
            process = await self.start(command)
            lines = await process.wait_for(r"listening on ", stream="stderr", count=listeners)
        urls = [line.split("listening on ", 1)[1].strip() for line in lines]
        ws = next((u for u in urls if u.startswith("ws")), "")
        rs = next((u for u in urls if u.startswith("rs")), "")
        if ws != DEFAULT_URL:
            self.env["AUTOSTRADA_URL"] = ws
            self.env["AUTOSTRADA_RS_URL"] = rs
        return process, urls

    async def close(self) -> None:
        for process in self.processes:
            await process.close()


DEVELOPMENT_TOML = """\
[[realms]]
name = "realm1"
[[realms.roles]]
name = "anonymous"
[[realms.roles.permissions]]
uri = ""
match = "prefix"
call = true
register = true
publish = true
subscribe = true
[[listeners]]
kind = "websocket"
port = {ws}
[[listeners]]
kind = "rawsocket"
port = {rs}
"""
"""``autostrada router``'s development config, on other ports."""


@contextlib.contextmanager
def environment(env: dict[str, str]) -> Iterator[None]:
    """``os.environ`` is ``env`` inside the block (config files read secrets from it)."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.asynccontextmanager
async def shell(cwd: Path) -> AsyncIterator[Shell]:
    """A :class:`Shell` whose processes are all ended (killed if need be) at the end."""
    sh = Shell(cwd)
    try:
        yield sh
    finally:
        await sh.close()


def lines_match(actual: Iterable[str], expected: Iterable[str]) -> bool:
    """Each expected line is a regular expression that must match the line in its place."""
    actual, expected = list(actual), list(expected)
    return len(actual) == len(expected) and all(
        re.fullmatch(pattern, line) for line, pattern in zip(actual, expected, strict=True)
    )
