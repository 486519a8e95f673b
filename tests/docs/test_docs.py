"""Every code block of the documentation is run by a test, or taken from a file that is.

The inventory test below fails for a block that nothing checks; the tables say which test
covers what, and the other test modules of this directory do the running.
"""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from docs_kit import (
    DOCS,
    ROOT,
    SHELL_LANGS,
    SNIPPETS,
    TIMEOUT,
    fenced_blocks,
    pages,
    relative,
    section_names,
)

from autostrada.router.config import ConfigError, load_crossbar, load_toml
from autostrada.testing import RouterThread

TESTED_FILES: dict[str, str] = {
    # file shown in the docs -> the test that runs (or loads) it
    "docs/snippets/first_component.py": "test_doc_commands.test_quickstart",
    "docs/snippets/connect_and_call.py": "test_doc_snippets.test_snippet_output",
    "docs/snippets/session_rpc.py": "test_doc_snippets.test_snippet_output",
    "docs/snippets/session_pubsub.py": "test_doc_snippets.test_snippet_output",
    "docs/snippets/session_progress.py": "test_doc_snippets.test_snippet_output",
    "docs/snippets/session_cancel.py": "test_doc_snippets.test_snippet_output",
    "docs/snippets/session_objects.py": "test_doc_snippets.test_snippet_output",
    "docs/snippets/component_main.py": "test_doc_snippets.test_snippet_output",
    "docs/snippets/component_in_asyncio.py": "test_doc_snippets.test_snippet_output",
    "docs/snippets/router_embedded.py": "test_doc_snippets.test_snippet_output",
    "docs/snippets/component_reconnect.py": "test_doc_snippets.test_component_reconnects",
    "docs/snippets/auth_router.toml": "test_doc_commands.test_authentication_page",
    "docs/snippets/auth_clients.py": "test_doc_commands.test_authentication_page",
    "docs/snippets/tls_router.toml": "test_doc_commands.test_tls_page",
    "docs/snippets/tls_client.py": "test_doc_commands.test_tls_page",
    "docs/snippets/make_test_certs.py": "test_doc_commands.test_tls_page",
    "docs/snippets/crossbar/.crossbar/config.json": "test_doc_commands.test_router_page",
    "docs/snippets/test_with_fixture.py": "test_doc_commands.test_testing_page",
    "docs/snippets/test_with_router_thread.py": "test_doc_commands.test_testing_page",
    "docs/snippets/production.toml": "test_doc_snippets.test_production_config",
    "docs/snippets/autostrada-router.service": "test_doc_snippets.test_systemd_unit",
    "examples/router.toml": "test_config_file.test_example_loads_completely",
}

SCENARIOS: dict[str, str] = {
    # page with shell blocks -> the test that runs its commands, in order
    "README.md": "test_doc_commands.test_readme_commands",
    "docs/quickstart.md": "test_doc_commands.test_quickstart",
    "docs/authentication.md": "test_doc_commands.test_authentication_page",
    "docs/tls.md": "test_doc_commands.test_tls_page",
    "docs/router.md": "test_doc_commands.test_router_page",
    "docs/testing.md": "test_doc_commands.test_testing_page",
    "docs/performance.md": "test_doc_commands.test_performance_page",
    "docs/reliability.md": "test_doc_commands.test_reliability_page",
}

CHECKED_BLOCKS: dict[tuple[str, str], str] = {
    # (page, language) -> the test that checks that page's one block of that language
    ("README.md", "python"): "test_docs.test_readme_example",
    ("docs/router-config.md", "text"): "test_docs.test_router_config_error_examples",
    ("docs/testing-against-crossbar.md", "python"): "test_docs.test_crossbar_fixture_block",
}

PAGES_CHECKED_ELSEWHERE: dict[str, str] = {
    # page -> the test that checks every code block of it, by its own convention
    "docs/porting-from-autobahn.md": "test_porting_doc.test_every_code_block_is_marked",
}

SNIPPET_INFRASTRUCTURE = {"docs/hooks/sphinx_roles.py"}
"""Files under docs/ that are build tooling, not examples (mkdocs.yml loads them)."""


def block_of(page: str, lang: str) -> str:
    [block] = [b for b in fenced_blocks(ROOT / page) if b.lang == lang]
    return block.text


def test_every_code_block_is_tested() -> None:
    problems = []
    verbatim = {relative: (ROOT / relative).read_text() for relative in TESTED_FILES}
    for page in pages():
        if relative(page) in PAGES_CHECKED_ELSEWHERE:
            continue
        for block in fenced_blocks(page):
            included = block.includes()
            if included is not None:
                for path, section in included:
                    if path not in TESTED_FILES:
                        problems.append(f"{block.where()}: {path} is not run by any test")
                    elif section is not None and section not in section_names(ROOT / path):
                        problems.append(f"{block.where()}: {path} has no section {section!r}")
            elif block.lang in SHELL_LANGS:
                if block.page not in SCENARIOS:
                    problems.append(f"{block.where()}: no test runs the commands of this page")
            elif block.text in verbatim.values():
                pass  # a copy of a tested file, checked equal right here
            elif (block.page, block.lang) not in CHECKED_BLOCKS:
                problems.append(
                    f"{block.where()}: a ```{block.lang} block that no test runs: include it "
                    '(--8<-- "docs/snippets/...") from a file a test runs'
                )
    assert problems == []


def test_every_snippet_is_tested_and_shown() -> None:
    shown: set[str] = set()  # included, or named in a documented command
    for page in pages():
        for block in fenced_blocks(page):
            shown.update(path for path, _ in block.includes() or [])
            if block.lang in SHELL_LANGS:
                shown.update(re.findall(r"docs/snippets/[\w./-]+", block.text))
    files = {
        path.relative_to(ROOT).as_posix()
        for path in DOCS.rglob("*")
        if path.is_file() and path.suffix != ".md" and "__pycache__" not in path.parts
    }
    assert files - set(TESTED_FILES) - SNIPPET_INFRASTRUCTURE == set()
    snippets = {f for f in TESTED_FILES if f.startswith("docs/snippets/")}
    assert snippets - shown == set(), "snippet files that no page shows"
    assert all((ROOT / f).is_file() for f in TESTED_FILES)


def test_the_named_tests_exist(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT / "tests" / "router"))
    monkeypatch.syspath_prepend(str(ROOT / "tests" / "examples"))
    names = {
        *TESTED_FILES.values(),
        *SCENARIOS.values(),
        *CHECKED_BLOCKS.values(),
        *PAGES_CHECKED_ELSEWHERE.values(),
    }
    missing = []
    for name in sorted(names):
        module, _, function = name.partition(".")
        if not hasattr(importlib.import_module(module), function):
            missing.append(name)
    assert missing == []


def test_snippets_read_the_router_url_from_the_environment() -> None:
    """A snippet that connects takes AUTOSTRADA_URL, with the documented default."""
    for path in sorted(SNIPPETS.glob("*.py")):
        text = path.read_text()
        if "autostrada.connect(" in text or "Component(" in text:
            if "wamp_router" in text or "RouterThread" in text or "RouterServer" in text:
                continue  # they make their own router
            assert 'os.environ.get("AUTOSTRADA_URL", "' in text, path.name


# ------------------------------------------------------------------ blocks checked here


def test_readme_example(wamp_router: RouterThread, tmp_path: Path) -> None:
    """README's example, run against a router with its URL put in."""
    code = block_of("README.md", "python")
    assert '"ws://127.0.0.1:8080/ws"' in code
    script = tmp_path / "readme.py"
    script.write_text(code.replace("ws://127.0.0.1:8080/ws", wamp_router.url))
    done = subprocess.run(
        [sys.executable, str(script)], check=False, capture_output=True, text=True, timeout=TIMEOUT
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "5\n"


def test_router_config_error_examples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The error messages router-config.md shows are the ones the loaders produce."""
    monkeypatch.chdir(tmp_path)
    realm = '[[realms]]\nname = "r"\n[[realms.roles]]\nname = "anonymous"\n'
    permissions = "".join(
        f'[[realms.roles.permissions]]\nuri = "{uri}"\n' for uri in ("a", "b", "c")
    )
    bad_toml = [
        realm + '[[realms.roles]]\nname = "b"\n' + permissions + 'match = "regex"\n',
        realm + '[[listeners]]\nkind = "websocket"\nport = 9\n' * 2,
        '[[realms]]\nname = "r"\n[[realms.roles]]\nname = "user"\n'
        '[realms.auth.ticket.principals.alice]\nrole = "user"\nticket = "t"\nfrobnicate = 1\n',
    ]
    messages = []
    for text in bad_toml:
        Path("router.toml").write_text(text)
        with pytest.raises(ConfigError) as error:
            load_toml("router.toml")
        messages.append(str(error.value))

    static = {"type": "static", "principals": {"a": {"ticket": "x", "role": "u"}}}
    dynamic = {"type": "dynamic", "authenticator": "com.example.authenticate"}

    def transport(port: int, ticket: dict[str, Any]) -> dict[str, Any]:
        endpoint = {"type": "tcp", "port": port}
        return {"type": "websocket", "endpoint": endpoint, "auth": {"ticket": ticket}}

    node = {
        "version": 2,
        "workers": [
            {
                "type": "router",
                "realms": [{"name": "r", "roles": [{"name": "u", "permissions": []}]}],
                "transports": [transport(9, static), transport(10, dynamic)],
            }
        ],
    }
    Path(".crossbar").mkdir()
    Path(".crossbar/config.json").write_text(json.dumps(node))
    with pytest.raises(ConfigError) as error:
        load_crossbar(".crossbar/config.json")
    messages.append(str(error.value))
    assert messages == block_of("docs/router-config.md", "text").splitlines()


def test_crossbar_fixture_block(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every attribute the page shows exists on the fixture's CrossbarNode (not started)."""
    monkeypatch.syspath_prepend(str(ROOT / "tests"))
    from crossbar import CrossbarNode

    node = CrossbarNode(tmp_path / "no-crossbar", tmp_path)
    block = block_of("docs/testing-against-crossbar.md", "python")
    assert block.startswith("def test_something(crossbar):")
    chains = []
    for line in block.splitlines()[1:]:
        code = line.split("#", 1)[0]
        # "crossbar.a.b" names a chain; ", .c" after it names a sibling of its last part.
        for match in re.finditer(r"crossbar((?:\.\w+)+)|,\s*\.(\w+)", code):
            if match[1]:
                chains.append(match[1].lstrip(".").split("."))
            else:
                chains.append([*chains[-1][:-1], match[2]])
    assert len(chains) >= 20
    for chain in chains:
        value: object = node
        for attribute in chain:
            assert hasattr(value, attribute), f"crossbar.{'.'.join(chain)}"
            value = getattr(value, attribute)
