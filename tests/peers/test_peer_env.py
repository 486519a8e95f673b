"""The peer installers fail loudly, with the installer's own words, when they cannot install.

Both run against a private ``$AUTOSTRADA_PEERS_DIR`` and cannot reach a package: pip is
given a requirement nobody has and no index; npm works offline with an empty cache.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import peer_env
import pytest
from peer_env import NodeMissing, PeerError, PeerProcess


def test_a_failed_pip_install_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOSTRADA_PEERS_DIR", str(tmp_path))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    monkeypatch.setattr(peer_env, "AUTOBAHN_PY_REQUIREMENTS", ("autostrada-no-such-peer==0",))
    lines: list[str] = []
    with pytest.raises(PeerError) as caught:
        peer_env.ensure_autobahn_python(lines.append)
    message = str(caught.value)
    assert "pip install failed" in message
    assert "autostrada-no-such-peer" in message  # pip's log tail
    assert lines and "Installing" in lines[0]


def test_a_failed_npm_install_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        peer_env.node_command()
    except NodeMissing as exc:
        pytest.skip(f"Autobahn|JS peer tests not run: {exc}")
    monkeypatch.setenv("AUTOSTRADA_PEERS_DIR", str(tmp_path))
    monkeypatch.setenv("npm_config_cache", str(tmp_path / "npm-cache"))
    monkeypatch.setenv("npm_config_offline", "true")
    with pytest.raises(PeerError) as caught:
        peer_env.ensure_autobahn_js()
    message = str(caught.value)
    assert "npm ci failed" in message
    assert "is the package registry reachable?" in message
    assert "ENOTCACHED" in message  # npm's log tail


def test_a_peer_that_prints_garbage_fails_with_its_output(tmp_path: Path) -> None:
    script = "import sys; print('oops', file=sys.stderr, flush=True); print('not json')"

    async def main() -> None:
        async with PeerProcess("garbage", [sys.executable, "-c", script]) as peer:
            with pytest.raises(PeerError) as caught:
                await peer.expect("ready")
        text = str(caught.value)
        assert "garbage: printed a line that is not JSON" in text
        assert "oops" in text

    asyncio.run(main())


def test_a_silent_peer_times_out_and_is_killed() -> None:
    async def main() -> None:
        argv = [sys.executable, "-c", "import time; time.sleep(60)"]
        async with PeerProcess("sleeper", argv, timeout=0.5) as peer:
            with pytest.raises(PeerError, match=r"printed nothing within 0\.5 s"):
                await peer.expect("ready")
            assert peer._proc is not None
            assert peer._proc.returncode is not None  # killed, not left behind

    asyncio.run(main())
