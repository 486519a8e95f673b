"""Help, ``--log-level`` in either position, and the module entry point."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cli_kit import RUN_TIMEOUT, Callee, clean_env, run_all

from autostrada import __version__
from autostrada.cli import main
from autostrada.testing import RouterThread

VERBS = ["router", "demo", "call", "publish", "subscribe", "register", "keygen"]


@pytest.mark.parametrize("verb", VERBS)
def test_every_verb_has_help_with_examples(verb: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([verb, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: autostrada {verb}")
    examples = out.split("examples:\n", 1)[1]
    assert f"  autostrada {verb}" in examples
    assert "exit codes" in out
    assert "--log-level" in out


def test_main_help_lists_every_verb(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for verb in VERBS:
        assert f"    {verb} " in out
    assert "examples:" in out


def test_log_level_before_or_after_the_verb(
    cli_router: RouterThread, cli_callee: Callee, tmp_path: Path
) -> None:
    url = cli_router.url
    before, after, default, both = run_all(
        [
            ["--log-level", "info", "call", "com.test.add", "1", "2", "--url", url],
            ["call", "com.test.add", "1", "2", "--url", url, "--log-level", "info"],
            ["call", "com.test.add", "1", "2", "--url", url],
            ["--log-level", "info", "call", "com.test.add", "1", "2", "--log-level", "error",
             "--url", url],
        ]
    )  # fmt: skip
    for done in (before, after):
        assert (done.returncode, done.stdout) == (0, "3\n"), done
        assert "INFO    autostrada.cli: joined realm1" in done.stderr
    assert (default.stdout, default.stderr) == ("3\n", ""), default
    assert both.stderr == "", both  # the one after the verb wins
    # The router takes it after the verb too (a missing config file: exit 2, not a usage error).
    assert main(["router", "--log-level", "warning", "--config", str(tmp_path / "none")]) == 2


def test_the_module_runs_as_python_m() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "autostrada.cli", "--version"],
        check=False,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        env=clean_env(),
    )
    assert (done.returncode, done.stdout) == (0, f"autostrada {__version__}\n"), done.stderr


def test_unknown_arguments_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["router", "--bogus"], ["register", "com.x", "true", "--bogus"], ["bogus"]):
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 2
        assert "error:" in capsys.readouterr().err
