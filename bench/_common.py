"""Shared plumbing for the end-to-end benchmarks (``client.py``, ``router.py``).

Standard library only: the Autobahn venv imports it too.

*Orchestrator side*: locate or create ``bench/.venv-autobahn``; load
``tests/crossbar.py`` by path (it is not a package) to run a Crossbar.io node; read a
process's CPU time and RSS from ``/proc``; spawn worker processes and talk to them.

*Worker protocol*: a worker is this script re-run with ``--worker SPEC`` (JSON). It
connects, prepares its sessions, prints ``{"ready": ...}`` on stdout and then reads
commands, one JSON object a line, on stdin: ``{"run": WORKLOAD, "t0": T0, "t1": T1}``
where ``t0``/``t1`` are absolute ``time.monotonic()`` instants (the clock is shared by
all processes of the machine). The worker starts the load at once, so ``t0 - now`` is
the warm-up; it counts what completes between ``t0`` and ``t1``, with its own CPU time
over that window, stops the load at ``t1`` and answers one JSON line. The orchestrator
reads the router's CPU time from ``/proc`` at the same two instants. End of stdin ends
the worker. A worker's stderr goes to a log file; its tail is shown if it fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import math
import os
import resource
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

ROOT = Path(__file__).resolve().parent.parent
BENCH_VENV = ROOT / "bench" / ".venv-autobahn"
AUTOBAHN = "autobahn==26.10.2"  # as in core.py
REALM = "realm1"
_CLK_TCK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")
_STARTED = time.monotonic()


def progress(message: str) -> None:
    """A progress line on stderr, with the seconds since the script started."""
    print(f"[{time.monotonic() - _STARTED:6.1f} s] {message}", file=sys.stderr, flush=True)


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def machine_line() -> str:
    return (
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"load average {load_average()} (1/5/15 min) at start"
    )


# --------------------------------------------------------------------------------------
# Environments


def autobahn_python() -> Path:
    """The interpreter of ``bench/.venv-autobahn``, created (once) with Autobahn in it."""
    python = BENCH_VENV / "bin" / "python"
    if not python.exists():
        progress(f"creating {BENCH_VENV} ...")
        subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
    probe = subprocess.run(
        [str(python), "-c", "import autobahn, txaio, msgpack"],
        capture_output=True,
        check=False,
    )
    if probe.returncode != 0:
        progress("installing autobahn and autostrada[fast] into it ...")
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", AUTOBAHN, "-e", f"{ROOT}[fast]"],
            check=True,
        )
    return python


def crossbar_module() -> ModuleType:
    """``tests/crossbar.py``, imported by path (it needs only autostrada, not pytest)."""
    name = "_autostrada_bench_crossbar"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "tests" / "crossbar.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def start_crossbar(node_dir: Path) -> Any:
    """Install (first time only) and start a Crossbar.io node; return the CrossbarNode."""
    cb = crossbar_module()
    executable = cb.ensure_crossbar(progress)
    node = cb.CrossbarNode(executable, node_dir)
    started = time.monotonic()
    node.start()
    progress(f"Crossbar.io started in {time.monotonic() - started:.1f} s (pid {node.pid})")
    return node


def raise_fd_limit() -> None:
    """Soft RLIMIT_NOFILE up to the hard limit; children (routers, workers) inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = 65536 if hard == resource.RLIM_INFINITY else hard
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with socket.socket() as sock:
            sock.settimeout(1.0)
            try:
                sock.connect(("127.0.0.1", port))
            except OSError:
                pass
            else:
                return
        if proc.poll() is not None:
            raise RuntimeError(f"process {proc.pid} exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")
        time.sleep(0.05)


# --------------------------------------------------------------------------------------
# /proc


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (all its threads)."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        stat = f.read()
    fields = stat[stat.rindex(b")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK  # utime, stime


def proc_rss(pid: int) -> int:
    """Resident set size of ``pid`` in bytes."""
    with open(f"/proc/{pid}/statm", "rb") as f:
        return int(f.read().split()[1]) * _PAGE


def proc_cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def group_pids(pgid: int) -> list[int]:
    """Every live process whose process group is ``pgid``."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2 :].split()
        if int(fields[2]) == pgid:  # state, ppid, pgrp
            pids.append(int(entry))
    return sorted(pids)


def total_cpu(pids: Iterable[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            total += proc_cpu(pid)
    return total


# --------------------------------------------------------------------------------------
# Orchestrator: workers


class WorkerError(RuntimeError):
    pass


class Worker:
    """A worker process: ``argv`` plus ``--worker SPEC``; stdout/stdin carry JSON lines."""

    def __init__(self, argv: Sequence[str], spec: dict[str, Any], log_path: Path) -> None:
        self.name = spec.get("name", "worker")
        self.ready_message: dict[str, Any] = {}
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.proc = subprocess.Popen(
            [*argv, "--worker", json.dumps(spec)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            bufsize=1,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _fail(self, what: str) -> WorkerError:
        try:
            tail = "\n".join(self.log_path.read_text(errors="replace").splitlines()[-15:])
        except OSError:
            tail = ""
        return WorkerError(f"worker {self.name} (pid {self.pid}) {what}; its log:\n{tail}")

    def receive(self, timeout: float) -> dict[str, Any]:
        stdout = self.proc.stdout
        assert stdout is not None
        ready, _, _ = select.select([stdout], [], [], timeout)
        if not ready:
            raise self._fail(f"sent nothing in {timeout:.0f} s")
        line = stdout.readline()
        if not line:
            raise self._fail(f"exited with code {self.proc.wait()}")
        message: dict[str, Any] = json.loads(line)
        if "error" in message:
            raise self._fail(f"failed: {message['error']}")
        return message

    def send(self, message: dict[str, Any]) -> None:
        stdin = self.proc.stdin
        assert stdin is not None
        try:
            stdin.write(json.dumps(message) + "\n")
            stdin.flush()
        except BrokenPipeError:
            raise self._fail("is gone") from None

    def close(self, timeout: float = 10.0) -> None:
        """End of stdin, then wait; SIGKILL after ``timeout``. Idempotent."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._log.close()


def run_window(
    workers: Sequence[Worker],
    workload: str,
    warmup: float,
    duration: float,
    cpu_groups: dict[str, Sequence[int]] | None = None,
    extra: dict[str, Any] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, float], float]:
    """Run ``workload`` on every worker over one shared window.

    ``cpu_groups`` names groups of processes (a router's) whose CPU time is read at the
    window's two ends.

    Returns:
        (one answer per worker, CPU seconds per group over the window, window seconds).
    """
    t0 = time.monotonic() + warmup
    t1 = t0 + duration
    for worker in workers:
        worker.send({"run": workload, "t0": t0, "t1": t1, **(extra or {})})
    groups = cpu_groups or {}
    time.sleep(max(0.0, t0 - time.monotonic()))
    start = time.monotonic()
    cpu0 = {name: total_cpu(pids) for name, pids in groups.items()}
    time.sleep(max(0.0, t1 - time.monotonic()))
    cpu = {name: total_cpu(pids) - cpu0[name] for name, pids in groups.items()}
    window = time.monotonic() - start
    answers = [w.receive(timeout=warmup + duration + 30.0) for w in workers]
    return answers, cpu, window


def spawn_ready(
    argv: Sequence[str], specs: Sequence[dict[str, Any]], log_dir: Path, timeout: float = 60.0
) -> list[Worker]:
    """Start one worker per spec (in parallel) and wait until each says it is ready."""
    workers = [Worker(argv, spec, log_dir / f"{spec['name']}.log") for spec in specs]
    try:
        for worker in workers:
            worker.ready_message = worker.receive(timeout)
    except BaseException:
        close_all(workers)
        raise
    return workers


def close_all(workers: Iterable[Worker]) -> None:
    for worker in workers:
        with contextlib.suppress(Exception):
            worker.close()


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --------------------------------------------------------------------------------------
# Worker side


def worker_reply(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def worker_commands() -> Any:
    """Yield the orchestrator's commands until end of stdin (read in a helper thread)."""
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        yield json.loads(line)


class Meter:
    """Counts completions; snapshots count and this process's CPU at ``t0`` and ``t1``.

    ``count`` is bumped by the load; ``done`` turns true at ``t1`` (the load stops);
    ``active`` is true between ``t0`` and ``t1`` (for latency samples).
    """

    def __init__(self, t0: float, t1: float) -> None:
        self.count = 0
        self.active = False
        self.done = False
        self.stopped = asyncio.Event()
        self.on_start: Callable[[], Any] | None = None  # e.g. a profiler's enable/disable
        self.on_stop: Callable[[], Any] | None = None
        self._marks: list[tuple[int, float, float, int, float]] = []
        loop = asyncio.get_running_loop()
        now = time.monotonic()
        loop.call_later(max(0.0, t0 - now), self._mark)
        loop.call_later(max(0.0, t1 - now), self._mark)

    def _mark(self) -> None:
        if len(self._marks) == 1 and self.on_stop is not None:
            self.on_stop()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        self._marks.append(
            (self.count, usage.ru_utime, usage.ru_stime, usage.ru_nvcsw, time.monotonic())
        )
        if len(self._marks) == 1:
            self.active = True
            if self.on_start is not None:
                self.on_start()
        else:
            self.active = False
            self.done = True
            self.stopped.set()

    def result(self) -> dict[str, float]:
        """count, wall (s), cpu = user + sys (s), sys (s), vcsw (voluntary context switches)."""
        (n0, u0, s0, v0, w0), (n1, u1, s1, v1, w1) = self._marks
        return {
            "count": n1 - n0,
            "cpu": (u1 - u0) + (s1 - s0),
            "sys": s1 - s0,
            "vcsw": v1 - v0,
            "wall": w1 - w0,
        }


def quantile(sorted_values: Sequence[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


# --------------------------------------------------------------------------------------
# Results


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]], out: TextIO) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    out.write("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |\n")
    out.write("|" + "|".join("-" * (w + 2) for w in widths) + "|\n")
    for row in rows:
        pairs = enumerate(zip(row, widths, strict=True))
        cells = [cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in pairs]
        out.write("| " + " | ".join(cells) + " |\n")


def fmt_rate(value: float) -> str:
    if math.isnan(value):
        return "-"
    return f"{value / 1000:.2f}k" if value >= 1000 else f"{value:.0f}"


def fmt_num(value: float, digits: int = 1) -> str:
    return "-" if math.isnan(value) else f"{value:.{digits}f}"


def which(name: str) -> str | None:
    return shutil.which(name)


def goal_status(met: bool, *figures: float) -> str:
    """ "met" / "MISSED", or "-" when a figure is missing (NaN)."""
    if any(math.isnan(f) for f in figures):
        return "-"
    return "met" if met else "MISSED"


# --------------------------------------------------------------------------------------
# Sampling profiles (py-spy, optional: pass its path; it is not a project dependency)


def start_py_spy(exe: str, pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    """Sample ``pid`` for ``seconds`` into ``out`` (collapsed stacks, on-CPU only)."""
    argv = [exe, "record", "--pid", str(pid), "--duration", str(max(1, round(seconds)))]
    argv += ["--rate", "250", "--format", "raw", "--nonblocking", "--output", str(out)]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def summarize_collapsed(path: Path, top: int = 20) -> str:
    """The functions with most samples in a collapsed-stack file: self and inclusive."""
    own: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        leaf = _short(frames[-1])
        own[leaf] = own.get(leaf, 0) + count
        for frame in {_short(f) for f in frames}:
            inclusive[frame] = inclusive.get(frame, 0) + count
    if not total:
        return "(no samples)"
    lines = [f"{total} samples; self% / incl% per function:"]
    for name, count in sorted(own.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"  {100 * count / total:5.1f}% {100 * inclusive[name] / total:5.1f}%  {name}")
    return "\n".join(lines)


def _short(frame: str) -> str:
    """``func (path/to/file.py:12)`` -> ``func (file.py)``: lines merged, paths dropped."""
    name, _, where = frame.partition(" (")
    file = where.rsplit(":", 1)[0].rsplit("/", 1)[-1].rstrip(")")
    return f"{name} ({file})" if file else name
