"""Authentication options, secrets, and ``autostrada keygen``, against our router.

Secrets must never appear in any output: every test that handles one checks.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from cli_kit import Callee, Creds, Result, clean_env, router_config, run_all, run_cli, run_main

from autostrada.auth import CryptosignKey
from autostrada.testing import RouterThread

WHOAMI = "com.test.whoami"


@pytest.fixture
def url(cli_router: RouterThread, cli_callee: Callee) -> str:
    return cli_router.url


def whoami(done: Result) -> str:
    assert done.returncode == 0, done
    return str(json.loads(done.stdout)["authid"])


def assert_no_secret(creds: Creds, *results: Result) -> None:
    for done in results:
        for secret in creds.secrets:
            assert secret not in done.output, f"a secret was printed by {done.argv[1:]}"


def write(path: Path, text: str, mode: int = 0o600) -> str:
    path.write_text(text)
    path.chmod(mode)
    return str(path)


def test_every_method_from_files_and_environment(
    url: str, cli_creds: Creds, tmp_path: Path
) -> None:
    ticket_file = write(tmp_path / "ticket", cli_creds.ticket + "\n")
    secret_file = write(tmp_path / "secret", cli_creds.cra_secret + "\r\n")
    key_file = write(tmp_path / "key.hex", cli_creds.seed + "\n")
    call = ["call", WHOAMI, "--url", url]
    results = run_all(
        [
            call,
            [*call, "--authmethod", "ticket", "--authid", "ticket-user"],  # secret from env
            [*call, "--authid", "ticket-user", "--ticket-file", ticket_file],  # method inferred
            [*call, "--authmethod", "wampcra", "--authid", "cra-user", "--secret-file",
             secret_file],
            [*call, "--authmethod", "scram", "--authid", "scram-user"],  # password from env
            [*call, "--authid", "key-user", "--private-key", key_file],
            [*call, "--authmethod", "cryptosign"],  # key from env; the router finds the authid
        ],
        env=clean_env(
            AUTOSTRADA_TICKET=cli_creds.ticket,
            AUTOSTRADA_SECRET=cli_creds.scram_password,
            AUTOSTRADA_PRIVATE_KEY=cli_creds.seed,
        ),
    )  # fmt: skip
    anonymous, *rest = results
    assert json.loads(anonymous.stdout)["authrole"] == "anonymous", anonymous
    assert [whoami(r) for r in rest] == [
        "ticket-user", "ticket-user", "cra-user", "scram-user", "key-user", "key-user",
    ]  # fmt: skip
    for done in results:
        assert done.stderr == "", done  # no warning: no secret on the command line
    assert_no_secret(cli_creds, *results)


def test_method_and_authid_from_the_environment_and_ticket_from_stdin(
    url: str, cli_creds: Creds
) -> None:
    done = run_cli(
        "call", WHOAMI, "--url", url, "--ticket-file", "-",
        stdin=cli_creds.ticket + "\n",
        env=clean_env(AUTOSTRADA_AUTHMETHOD="ticket", AUTOSTRADA_AUTHID="ticket-user"),
    )  # fmt: skip
    assert whoami(done) == "ticket-user"
    assert_no_secret(cli_creds, done)


def test_a_secret_on_the_command_line_works_with_a_warning(url: str, cli_creds: Creds) -> None:
    ticket, secret = run_all(
        [
            ["call", WHOAMI, "--url", url, "--authid", "ticket-user", "--ticket", cli_creds.ticket],
            ["call", WHOAMI, "--url", url, "--authmethod", "wampcra", "--authid", "cra-user",
             "--secret", cli_creds.cra_secret],
        ]
    )  # fmt: skip
    assert whoami(ticket) == "ticket-user"
    assert "--ticket on the command line is visible to other users" in ticket.stderr
    assert whoami(secret) == "cra-user"
    assert "--secret on the command line is visible to other users" in secret.stderr
    assert_no_secret(cli_creds, ticket, secret)


def test_wrong_credentials_exit_4_and_never_show_a_secret(
    url: str, cli_creds: Creds, tmp_path: Path
) -> None:
    other_key = write(tmp_path / "other.key", CryptosignKey.generate().seed_hex())
    wrong = Creds()  # other secrets: they must not be shown either
    call = ["call", WHOAMI, "--url", url, "--log-level", "debug"]
    results = run_all(
        [
            [*call, "--authid", "ticket-user", "--ticket", wrong.ticket],
            [*call, "--authid", "nobody", "--ticket", cli_creds.ticket],
            [*call, "--authmethod", "wampcra", "--authid", "cra-user", "--secret",
             wrong.cra_secret],
            [*call, "--authmethod", "scram", "--authid", "scram-user", "--secret",
             wrong.scram_password],
            [*call, "--authid", "key-user", "--private-key", other_key],
        ]
    )  # fmt: skip
    for done in results:
        assert done.returncode == 4, done
        assert "autostrada call: authentication failed: " in done.stderr, done
        assert done.stdout == ""
    assert "wamp.error.not_authorized" in results[0].stderr
    assert_no_secret(cli_creds, *results)
    assert_no_secret(wrong, *results)


def test_missing_or_misplaced_credentials_exit_2(
    url: str, cli_creds: Creds, tmp_path: Path
) -> None:
    bad_key = write(tmp_path / "bad.key", "not a key " + cli_creds.ticket)
    call = ["call", WHOAMI, "--url", url]
    cases = [
        ([*call, "--authmethod", "ticket"], "ticket authentication needs a ticket"),
        ([*call, "--authmethod", "wampcra", "--secret-file", bad_key], "needs --authid"),
        ([*call, "--authmethod", "cryptosign"], "needs a private key"),
        ([*call, "--secret-file", bad_key], "--secret needs --authmethod wampcra"),
        ([*call, "--authmethod", "wampcra", "--authid", "x", "--ticket-file", bad_key],
         "--ticket does not go with wampcra authentication"),
        ([*call, "--ticket-file", str(tmp_path / "missing")], "cannot read the ticket from"),
        ([*call, "--private-key", bad_key], "not an Ed25519 private key"),
        ([*call, "--ticket", "a", "--ticket-file", "b"], "not allowed with argument"),
    ]  # fmt: skip
    results = [run_main(*argv) for argv, _ in cases]
    for done, (_, message) in zip(results, cases, strict=True):
        assert done.returncode == 2, done
        assert message in done.stderr, done
    assert_no_secret(cli_creds, *results)  # not even the bad key file's content


def test_an_unknown_authmethod_in_the_environment_exits_2(url: str) -> None:
    done = run_main("call", WHOAMI, "--url", url, env=clean_env(AUTOSTRADA_AUTHMETHOD="magic"))
    assert done.returncode == 2, done
    assert "AUTOSTRADA_AUTHMETHOD='magic' is not one of" in done.stderr


def test_a_key_file_others_can_read_gets_a_warning(
    url: str, cli_creds: Creds, tmp_path: Path
) -> None:
    key = write(tmp_path / "key", cli_creds.seed, mode=0o644)
    done = run_cli("call", WHOAMI, "--url", url, "--authid", "key-user", "--private-key", key)
    assert whoami(done) == "key-user"
    assert f"{key} can be read by other users" in done.stderr
    assert_no_secret(cli_creds, done)


# ------------------------------------------------------------------ keygen


def test_keygen_then_cryptosign_with_that_key(tmp_path: Path) -> None:
    openssh, hexfile = tmp_path / "id.key", tmp_path / "id.hex"
    made_ssh, made_hex = run_all(
        [["keygen", str(openssh)], ["keygen", str(hexfile), "--format", "hex"]]
    )
    for done, path in ((made_ssh, openssh), (made_hex, hexfile)):
        assert done.returncode == 0, done
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert len(done.stdout.strip()) == 64
        int(done.stdout, 16)
    assert openssh.read_text().startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    seed = hexfile.read_text().strip()
    assert CryptosignKey.from_hex(seed).public_key_hex == made_hex.stdout.strip()
    assert seed not in made_hex.output
    pubkeys = [made_ssh.stdout.strip(), made_hex.stdout.strip()]
    with RouterThread(router_config(Creds(), extra_pubkeys=pubkeys)) as router:
        runs = [
            ["publish", "com.x", "--acknowledge", "--url", router.url, "--authid", "key-user",
             "--private-key", str(path)]
            for path in (openssh, hexfile)
        ]  # fmt: skip
        for done in run_all(runs):
            assert done.returncode == 0, done
            assert int(done.stdout) > 0  # the publication id: joined, published


def test_keygen_keeps_an_existing_file_unless_forced(tmp_path: Path) -> None:
    path = tmp_path / "id.key"
    first = run_main("keygen", str(path))
    assert first.returncode == 0, first
    content = path.read_text()
    again = run_main("keygen", str(path))
    assert again.returncode == 2, again
    assert "exists: not overwritten (use --force)" in again.stderr
    assert path.read_text() == content
    path.chmod(0o644)
    forced = run_main("keygen", str(path), "--force")
    assert forced.returncode == 0, forced
    assert path.read_text() != content
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    public = run_main("keygen", "--public", str(path))
    assert (public.returncode, public.stdout) == (0, forced.stdout), public
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_keygen_usage_errors(tmp_path: Path) -> None:
    none, both, missing, unwritable = (
        run_main("keygen"),
        run_main("keygen", str(tmp_path / "a"), "--public", str(tmp_path / "b")),
        run_main("keygen", "--public", str(tmp_path / "missing")),
        run_main("keygen", str(tmp_path / "no" / "such" / "dir" / "key")),
    )
    assert none.returncode == 2 and "PATH is required" in none.stderr, none
    assert both.returncode == 2 and "not both" in both.stderr, both
    assert missing.returncode == 2 and "cannot read the private key" in missing.stderr, missing
    assert unwritable.returncode == 1 and "cannot write" in unwritable.stderr, unwritable
