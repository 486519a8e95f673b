"""``autostrada register URI -- COMMAND``: a shell command as a procedure, called by ``call``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from cli_kit import (
    SIGINT,
    SIGTERM,
    Callee,
    CliProcess,
    Creds,
    TcpRelay,
    clean_env,
    eventually,
    pid_alive,
    router_config,
    run_all,
    run_cli,
    run_main,
    running,
)

from autostrada.testing import RouterThread

# Small commands written in Python, so that the tests do not depend on a shell's quirks.
PY = sys.executable
ECHO_ENV = (
    "import json, os, sys; print(json.dumps({'argv': sys.argv[1:], "
    "'env': {k: v for k, v in os.environ.items() if k.startswith('AUTOSTRADA_')}}))"
)


# Starts a child (same process group), writes "<pid> <child pid>" to argv[1], sleeps.
SLEEPER = (
    "import os, pathlib, subprocess, sys, time\n"
    "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
    "path = pathlib.Path(sys.argv[1])\n"
    "path.with_suffix('.tmp').write_text(f'{os.getpid()} {child.pid}')\n"
    "path.with_suffix('.tmp').rename(path)\n"
    "time.sleep(60)"
)


def test_arguments_in_stdout_out(cli_router: RouterThread, cli_creds: Creds) -> None:
    url = cli_router.url
    with running("register", "com.reg.env", "--url", url, "--", PY, "-c", ECHO_ENV):
        done = run_cli(
            "call", "com.reg.env", "text", "5", '{"a": [1]}', "-k", "name=joe", "-k", "n=[1]",
            "-k", "bad key=1", "--url", url, "--authid", "ticket-user",
            "--ticket-file", "-", stdin=cli_creds.ticket,
        )  # fmt: skip
    assert done.returncode == 0, done
    result = json.loads(done.stdout)  # the command's stdout was JSON: the result is the object
    assert result["argv"] == ["text", "5", '{"a": [1]}']
    env = result["env"]
    assert json.loads(env.pop("AUTOSTRADA_ARGS")) == ["text", 5, {"a": [1]}]
    kwargs = {"name": "joe", "n": [1], "bad key": 1}
    assert json.loads(env.pop("AUTOSTRADA_KWARGS")) == kwargs
    assert isinstance(int(env.pop("AUTOSTRADA_CALLER")), int)
    assert env == {
        "AUTOSTRADA_PROCEDURE": "com.reg.env",
        "AUTOSTRADA_KW_name": "joe",
        "AUTOSTRADA_KW_n": "[1]",
        "AUTOSTRADA_CALLER_AUTHID": "ticket-user",
        "AUTOSTRADA_CALLER_AUTHROLE": "user",
    }


def test_output_rules_text_empty_binary(cli_router: RouterThread) -> None:
    url = cli_router.url
    emit = "import sys; sys.stdout.buffer.write(sys.argv[1].encode().decode('unicode_escape')"
    emit += ".encode('latin-1'))"
    with (
        running("register", "com.reg.out", "--url", url, "--", PY, "-c", emit),
        running("register", "com.reg.text", "--text", "--url", url, "--", PY, "-c", emit),
    ):
        results = run_all(
            [
                ["call", "com.reg.out", "--strings", r"  [1, 2]\n", "--url", url],
                ["call", "com.reg.text", "--strings", r"  [1, 2]\n", "--url", url],
                ["call", "com.reg.out", "--strings", r"plain words\n\n", "--url", url],
                ["call", "com.reg.out", "--strings", r" \n ", "--url", url],
                ["call", "com.reg.out", "--strings", r"\xff\xfe\x00", "--url", url],
            ]
        )
    for done in results:
        assert done.returncode == 0, done
    assert [done.stdout for done in results] == [
        "[1, 2]\n",
        '"[1, 2]"\n',
        '"plain words"\n',
        "null\n",
        '"\\u0000//4A"\n',  # not UTF-8: bytes
    ]


def test_a_failing_command_is_an_error_for_the_caller(cli_router: RouterThread) -> None:
    url = cli_router.url
    fail = "import sys; print('partial'); print('it broke', file=sys.stderr); sys.exit(3)"
    with (
        running("register", "com.reg.fail", "--url", url, "--", PY, "-c", fail) as callee,
        running("register", "com.reg.hidden", "--hide-stderr", "--url", url, "--", PY, "-c", fail),
    ):
        shown, hidden = run_all(
            [["call", "com.reg.fail", "--url", url], ["call", "com.reg.hidden", "--url", url]]
        )
        callee.wait_line("exited with status 3")
    assert shown.returncode == 1, shown
    assert shown.stderr == (
        "autostrada call: error: autostrada.error.command_failed: "
        f'{PY} exited with status 3, status=3, stderr="it broke\\n"\n'
    )
    assert hidden.returncode == 1, hidden
    assert hidden.stderr == (
        "autostrada call: error: autostrada.error.command_failed: "
        f"{PY} exited with status 3, status=3\n"
    )


def test_calls_run_concurrently(cli_router: RouterThread, tmp_path: Path) -> None:
    # Each call creates its own file and waits for the other's: both finish only if
    # they run at the same time.
    meet = (
        "import pathlib, sys, time; d = pathlib.Path(sys.argv[1]); (d / sys.argv[2]).touch()\n"
        "while not (d / sys.argv[3]).exists(): time.sleep(0.01)\n"
        "print(sys.argv[2])"
    )
    url = cli_router.url
    with running("register", "com.reg.meet", "--url", url, "--", PY, "-c", meet):
        a, b = run_all(
            [
                ["call", "com.reg.meet", str(tmp_path), "a", "b", "--timeout", "10", "--url", url],
                ["call", "com.reg.meet", str(tmp_path), "b", "a", "--timeout", "10", "--url", url],
            ]
        )
    assert (a.returncode, a.stdout, b.returncode, b.stdout) == (0, '"a"\n', 0, '"b"\n')


def test_concurrency_limit_queues_calls(cli_router: RouterThread, tmp_path: Path) -> None:
    log = tmp_path / "log"
    step = (
        "import sys, time\n"
        "def note(what):\n"
        "    with open(sys.argv[1], 'a') as f: f.write(what + chr(10))\n"
        "note('start'); time.sleep(0.1); note('end')"
    )
    url = cli_router.url
    with running("register", "com.reg.one", "--concurrency", "1", "--url", url, "--", PY,
                 "-c", step):  # fmt: skip
        results = run_all([["call", "com.reg.one", str(log), "--url", url]] * 3)
    assert [r.returncode for r in results] == [0, 0, 0], results
    assert log.read_text().split() == ["start", "end"] * 3  # one at a time


def test_timeout_and_cancellation_kill_the_command(
    cli_router: RouterThread, tmp_path: Path
) -> None:
    url = cli_router.url
    with running(
        "register", "com.reg.sleep", "--timeout", "0.5", "--url", url, "--", PY, "-c", SLEEPER
    ):
        timed_out = run_cli("call", "com.reg.sleep", str(tmp_path / "t"), "--url", url)
        assert timed_out.returncode == 1, timed_out
        assert "error: autostrada.error.command_timeout: " in timed_out.stderr
        assert "did not finish within 0.5 s" in timed_out.stderr
        assert_gone(tmp_path / "t")
    with running("register", "com.reg.sleep", "--url", url, "--", PY, "-c", SLEEPER):
        cancelled = run_cli(
            "call", "com.reg.sleep", str(tmp_path / "c"), "--timeout", "1.5", "--url", url
        )
        assert cancelled.returncode == 1, cancelled
        assert "error: wamp.error.timeout" in cancelled.stderr
        assert_gone(tmp_path / "c")


def started(pid_file: Path) -> None:
    """Wait until the SLEEPER command has written its pid file."""
    eventually(lambda: len(pid_file.read_text().split()) == 2 if pid_file.exists() else False,
               what="the command started")  # fmt: skip


def assert_gone(pid_file: Path) -> None:
    """Both processes of the SLEEPER command have ended."""
    started(pid_file)
    for pid in map(int, pid_file.read_text().split()):
        eventually(lambda pid=pid: not pid_alive(pid), what=f"process {pid} stopped")


def test_ctrl_c_unregisters_and_exits_0(cli_router: RouterThread) -> None:
    url = cli_router.url
    with running("register", "com.reg.stop", "--url", url, "--", "true") as callee:
        assert run_cli("call", "com.reg.stop", "--url", url).stdout == "null\n"
        callee.signal(SIGINT)
        assert callee.wait() == 0, callee.output
    assert "Traceback" not in callee.output
    gone = run_cli("call", "com.reg.stop", "--url", url)
    assert gone.returncode == 1 and "wamp.error.no_such_procedure" in gone.stderr, gone


def test_prefix_registration_passes_the_procedure(cli_router: RouterThread) -> None:
    url = cli_router.url
    show = "import os; print(os.environ['AUTOSTRADA_PROCEDURE'])"
    with running("register", "com.reg.tools.", "--match", "prefix", "--url", url, "--", PY,
                 "-c", show):  # fmt: skip
        done = run_cli("call", "com.reg.tools.hammer", "--url", url)
    assert (done.returncode, done.stdout) == (0, '"com.reg.tools.hammer"\n'), done


def test_secrets_are_not_passed_to_the_command(cli_router: RouterThread, cli_creds: Creds) -> None:
    url = cli_router.url
    secret = cli_creds.ticket
    env = clean_env(AUTOSTRADA_TICKET=secret, AUTOSTRADA_SECRET="x", AUTOSTRADA_PRIVATE_KEY="y")
    leak = "import json, os; print(json.dumps(sorted(os.environ)))"
    with running(
        "register", "com.reg.leak", "--url", url, "--authid", "ticket-user",
        "--authmethod", "ticket", "--", PY, "-c", leak, env=env,
    ) as callee:  # fmt: skip
        done = run_cli("call", "com.reg.leak", "--url", url)
    assert done.returncode == 0, done
    names = json.loads(done.stdout)
    assert not {"AUTOSTRADA_TICKET", "AUTOSTRADA_SECRET", "AUTOSTRADA_PRIVATE_KEY"} & set(names)
    assert secret not in callee.output


def test_register_usage_and_connection_errors(
    cli_router: RouterThread, cli_callee: Callee, tmp_path: Path
) -> None:
    url = cli_router.url
    not_executable = tmp_path / "script"
    not_executable.write_text("#!/bin/sh\n")
    not_executable.chmod(0o644)
    missing = run_main("register", "com.reg.x", "--url", url, "--", "no-such-command-here")
    not_exec = run_main("register", "com.reg.x", "--url", url, "--", str(not_executable))
    no_command = run_main("register", "com.reg.x", "--url", url, "--")
    bad_timeout = run_main("register", "com.reg.x", "--timeout", "nan", "--", "true")
    bad_concurrency = run_main("register", "com.reg.x", "--concurrency", "-1", "--", "true")
    assert bad_timeout.returncode == 2 and "must be a finite number" in bad_timeout.stderr
    assert bad_concurrency.returncode == 2 and "must not be negative" in bad_concurrency.stderr
    taken, denied = run_all(
        [
            ["register", "com.test.add", "--url", url, "--", "true"],  # the callee has it
            ["register", "com.denied.x", "--url", url, "--", "true"],
        ]
    )
    assert missing.returncode == 2 and "no-such-command-here: command not found" in missing.stderr
    assert not_exec.returncode == 2 and "not an executable file" in not_exec.stderr, not_exec
    assert no_command.returncode == 2, no_command
    assert taken.returncode == 1, taken
    assert "error: wamp.error.procedure_already_exists" in taken.stderr
    assert denied.returncode == 1 and "wamp.error.not_authorized" in denied.stderr, denied


def test_ctrl_c_or_sigterm_cancel_a_call_and_its_command(
    cli_router: RouterThread, tmp_path: Path
) -> None:
    url = cli_router.url
    with running("register", "com.reg.slow", "--url", url, "--", PY, "-c", SLEEPER):
        for signum, code in ((SIGINT, 130), (SIGTERM, 143)):
            marker = tmp_path / signum.name
            with CliProcess("call", "com.reg.slow", str(marker), "--url", url) as caller:
                started(marker)  # the call is in flight
                caller.signal(signum)
                assert caller.wait() == code, caller.output
            assert caller.output == ""
            assert_gone(marker)  # the router interrupted the callee, which stopped it


def test_callee_exits_3_when_the_router_goes_away() -> None:
    router = RouterThread(router_config(Creds())).start()
    try:
        with running("register", "com.x", "--url", router.url, "--", "true") as callee:
            router.stop()
            assert callee.wait() == 3, callee.output
    finally:
        router.stop()
    assert "autostrada register: the session ended (wamp.close.system_shutdown" in callee.output


def test_a_caller_whose_connection_is_lost_exits_3(
    cli_router: RouterThread, tmp_path: Path
) -> None:
    marker = tmp_path / "pids"
    port = int(cli_router.url.split(":")[2].split("/")[0])
    with (
        running("register", "com.reg.lost", "--url", cli_router.url, "--", PY, "-c", SLEEPER),
        TcpRelay(port) as relay,
        CliProcess(
            "call", "com.reg.lost", str(marker), "--url", f"ws://127.0.0.1:{relay.port}/ws"
        ) as caller,
    ):
        started(marker)
        relay.cut()
        assert caller.wait() == 3, caller.output
    assert "autostrada call: " in caller.output and "transport_lost" in caller.output
    assert_gone(marker)  # the router cancelled the call: the callee stopped the command
