"""The sans-I/O core imports no I/O, clock or event-loop module (DESIGN.md §2)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "autostrada"
FORBIDDEN = {"asyncio", "socket", "ssl", "selectors", "time", "threading", "subprocess"}
CORE = [
    "exceptions.py",
    "uri.py",
    "ids.py",
    "fields.py",
    "messages",
    "serializers",
    "rawsocket.py",
    "auth",
    "session",
    "backoff.py",
    "router/core",
]


def core_files() -> list[Path]:
    files: list[Path] = []
    for entry in CORE:
        path = SRC / entry
        if path.is_dir():
            files.extend(sorted(path.rglob("*.py")))
        else:  # a core module that moved must be named here again, not skipped
            assert path.is_file(), f"{entry}: not in src/autostrada (moved? update CORE)"
            files.append(path)
    return files


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_core_files_exist() -> None:
    names = {p.name for p in core_files()}
    assert {"rpc.py", "uri.py", "ids.py"} <= names  # rpc.py: of the messages package


@pytest.mark.parametrize("path", core_files(), ids=lambda p: str(p.relative_to(SRC)))
def test_core_module_does_no_io(path: Path) -> None:
    bad = imported_modules(path) & FORBIDDEN
    assert not bad, f"{path.relative_to(SRC)} imports {sorted(bad)}: the core must stay sans-I/O"
