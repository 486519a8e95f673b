"""The names an Autobahn asyncio application imports, and where autostrada has them.

docs/porting-from-autobahn.md has a "Name by name" table: one row per public name of the
Autobahn modules an asyncio application imports. These tests read the names from
Autobahn|Python 26.10 itself (the peer venv of tests/peers), check that the table lists
each one, and that every autostrada name the table promises is importable. The aliases
of Autobahn's exception names are tested where autostrada raises them.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from examples_kit import DOC, run_script

import autostrada
from autostrada import (
    Component,
    Error,
    InvalidState,
    SessionClosed,
    SessionNotReady,
    TransportLost,
    WampError,
    exceptions,
)
from autostrada.testing import RouterThread

# Autobahn modules whose public names the table covers.
MODULES = (
    "autobahn.asyncio.component",
    "autobahn.asyncio.wamp",
    "autobahn.wamp.types",
    "autobahn.wamp.exception",
    "autobahn.wamp.request",
    "autobahn.wamp.auth",
)

DUMP = """
import importlib, json, sys
names = {m: list(importlib.import_module(m).__all__) for m in sys.argv[1:]}
wamp = importlib.import_module("autobahn.wamp")
names["autobahn.wamp"] = [
    # where each name of autobahn.wamp comes from: "types", "exception" or its own
    [n, getattr(getattr(wamp, n), "__module__", "autobahn.wamp")] for n in wamp.__all__
]
print(json.dumps(names))
"""

ROW = re.compile(r"^\| `(autobahn\.[\w.]+)` \| (`[\w.]+`|not supported(?: yet)?) \|(.*)\|$")


def table() -> dict[str, tuple[str, str]]:
    """Autobahn name -> (autostrada name or "not supported", note), from the doc."""
    rows: dict[str, tuple[str, str]] = {}
    for line in DOC.read_text().splitlines():
        match = ROW.match(line)
        if match:
            name, target, note = match.groups()
            assert name not in rows, f"{name} is listed twice"
            rows[name] = (target.strip("`"), note.strip())
    return rows


@pytest.fixture(scope="module")
def autobahn_names(autobahn_interpreter: Path) -> dict[str, Any]:
    done = run_script([str(autobahn_interpreter), "-c", DUMP, *MODULES], {}, timeout=60)
    assert done.returncode == 0, done.stderr
    names: dict[str, Any] = json.loads(done.stdout)
    return names


def test_every_autobahn_name_has_a_row(autobahn_names: dict[str, Any]) -> None:
    rows = table()
    listed = {f"{module}.{name}" for module in MODULES for name in autobahn_names[module]}
    for name, origin in autobahn_names["autobahn.wamp"]:
        if origin in ("autobahn.wamp.uri", "autobahn.wamp.interfaces"):
            listed.add(f"autobahn.wamp.{name}")  # the decorators, ISession: rows of their own
        else:  # re-exported from types or exception: that row covers it
            assert origin in ("autobahn.wamp.types", "autobahn.wamp.exception"), (name, origin)
            assert f"{origin}.{name}" in rows, name
    missing = sorted(listed - set(rows))
    assert not missing, f"docs/porting-from-autobahn.md lists no row for {missing}"
    # ... and no row for a name Autobahn does not have (a typo would hide a real name).
    extra = sorted(set(rows) - listed)
    assert not extra, f"rows for names Autobahn does not export: {extra}"


def resolve(dotted: str) -> Any:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_every_promised_name_is_importable() -> None:
    rows = table()
    supported = {name: target for name, (target, _) in rows.items() if target.startswith("auto")}
    assert len(supported) >= 30  # the table was parsed
    for name, target in supported.items():
        assert resolve(target) is not None, name
        if target.startswith("autostrada.") and target.count(".") == 1:
            assert target.split(".")[1] in autostrada.__all__, target


def test_the_table_follows_the_import_rules() -> None:
    # The rule of the Imports table: everything an asyncio application imports from
    # autobahn.asyncio.component, autobahn.wamp.types/exception/request comes from
    # `autostrada`, the decorators from `autostrada.wamp`, under the same name.
    for name, (target, _) in table().items():
        if not target.startswith("autostrada"):
            continue
        module, _, short = name.rpartition(".")
        if module in (
            "autobahn.asyncio.component",
            "autobahn.wamp.types",
            "autobahn.wamp.exception",
            "autobahn.wamp.request",
        ):
            assert target == f"autostrada.{short}", name
        if module == "autobahn.wamp":
            assert target == f"autostrada.wamp.{short}", name


def test_aliases_are_the_same_classes() -> None:
    assert Error is WampError
    assert SessionNotReady is InvalidState
    assert TransportLost is SessionClosed
    for name in ("Error", "SessionNotReady", "TransportLost"):
        assert name in autostrada.__all__
        assert name in exceptions.__all__
    rows = table()
    assert rows["autobahn.wamp.exception.Error"][1].startswith("alias of `autostrada.WampError`")
    assert rows["autobahn.wamp.exception.SessionNotReady"][1].startswith(
        "alias of `autostrada.InvalidState`"
    )
    assert rows["autobahn.wamp.exception.TransportLost"][1].startswith(
        "alias of `autostrada.SessionClosed`"
    )


def test_aliases_catch_what_autostrada_raises(router: RouterThread) -> None:
    async def scenario() -> None:
        # Not joined yet: SessionNotReady.
        session = autostrada.Session()
        with pytest.raises(SessionNotReady):
            await session.call("com.example.anything")

        # A call pending when the session ends, and a call after the end: TransportLost.
        session = await autostrada.connect(router.url)
        started = asyncio.Event()

        async def slow() -> None:
            started.set()
            await asyncio.Future()  # never answers

        await session.register(slow, "com.example.slow")
        pending = asyncio.ensure_future(session.call("com.example.slow"))
        await started.wait()
        await session.leave()
        with pytest.raises(TransportLost) as lost:
            await pending
        assert lost.value.reason == "wamp.close.goodbye_and_out"
        with pytest.raises(TransportLost):
            await session.call("com.example.slow")
        session.disconnect()
        await session.wait_disconnected()

        # Error catches every WAMP error, e.g. a component's failure to authenticate.
        component = Component(
            transports=router.url, authentication={"ticket": {"authid": "x", "ticket": "y"}}
        )
        with pytest.raises(Error):
            await component.run()

    async def bounded() -> None:
        async with asyncio.timeout(15):
            await scenario()

    asyncio.run(bounded())


def test_what_the_doc_says_is_not_provided_is_not() -> None:
    # So that the doc is corrected when these arrive (or the example code is wrong).
    text = " ".join(DOC.read_text().split())
    component = re.search(r"\*\*Not provided\*\* on `Component`: (.*?)\. Added", text)
    assert component is not None
    for name in re.findall(r"`(\w+)(?:\(\))?`", component.group(1)):
        assert not hasattr(autostrada.Component, name), name
    classic = re.search(r"\*\*Not provided\*\*: (.*?)\.", text)
    assert classic is not None
    for name in re.findall(r"`(\w+)(?:\(\))?`", classic.group(1)):
        assert not hasattr(autostrada.ApplicationSession, name), name
        assert not hasattr(autostrada.ApplicationRunner, name), name


def test_the_session_attributes_the_doc_lists_are_there() -> None:
    # Autobahn's session attributes that ported code uses: every one the doc lists.
    text = " ".join(DOC.read_text().split())
    listed = re.search(r"\*\*Session attributes\*\*: these are Autobahn's: (.*?)\. ", text)
    assert listed is not None
    names = re.findall(r"`(\w+)(?:\(\))?`", listed.group(1))
    assert len(names) == 15
    autobahn_session_attributes = {
        "realm", "authid", "authrole", "authmethod", "authprovider", "authextra",
        "session_details", "transport",
    }  # fmt: skip
    assert autobahn_session_attributes <= set(names)
    session = autostrada.Session()
    for name in names:
        assert hasattr(session, name), name
