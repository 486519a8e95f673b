"""Fixtures shared by the whole test suite."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from crossbar import CrossbarError, CrossbarNode, ensure_crossbar


@pytest.fixture(scope="session")
def crossbar(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CrossbarNode]:
    """A running Crossbar.io node for the session (see ``tests/crossbar.py``).

    Installs Crossbar into ``.crossbar-venv`` on first use (about 2 minutes). When it
    cannot be installed or started, every test using it fails with the reason.
    """
    plugins = request.config.pluginmanager
    capture, reporter = plugins.getplugin("capturemanager"), plugins.getplugin("terminalreporter")

    def progress(line: str) -> None:
        with capture.global_and_fixture_disabled():
            if reporter is not None:
                reporter.write_line(line)
            else:
                print(line, file=sys.stderr, flush=True)

    try:
        node = CrossbarNode(ensure_crossbar(progress), tmp_path_factory.mktemp("crossbar"))
        node.start()
    except CrossbarError as exc:
        message = f"Crossbar.io is needed by this test and unavailable: {exc}"
        raise pytest.fail.Exception(message, pytrace=False) from None
    try:
        yield node
    finally:
        node.stop()
