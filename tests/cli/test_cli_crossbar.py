"""The shell verbs against a real Crossbar.io router (the ``crossbar`` fixture).

Representative runs: register + call with ticket authentication, publish + subscribe
with a cryptosign key file over RawSocket, wampcra and scram with secrets from the
environment, and the failures (wrong ticket, unknown procedure, a failing command).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from cli_kit import clean_env, run_all, run_cli, running


def ticket_env(node: Any) -> dict[str, str]:
    return clean_env(
        AUTOSTRADA_URL=node.ws_url,
        AUTOSTRADA_AUTHID=node.ticket.authid,
        AUTOSTRADA_TICKET=node.ticket.ticket,
        AUTOSTRADA_AUTHMETHOD="ticket",
    )


def secrets_of(node: Any) -> list[str]:
    return [
        node.ticket.ticket,
        node.wampcra.secret,
        node.scram.password,
        node.scram_pbkdf2.password,
        node.cryptosign.seed_hex,
    ]


def test_register_and_call_with_ticket_authentication(crossbar: Any) -> None:
    env = ticket_env(crossbar)
    show = (
        "import json, os, sys; print(json.dumps({'argv': sys.argv[1:], "
        "'kwargs': json.loads(os.environ['AUTOSTRADA_KWARGS']), "
        "'caller': os.environ.get('AUTOSTRADA_CALLER_AUTHID')}))"
    )
    fail = "import sys; print('no disk', file=sys.stderr); sys.exit(5)"
    with (
        running("register", "com.cli.show", "--", sys.executable, "-c", show, env=env),
        running("register", "com.cli.fail", "--", sys.executable, "-c", fail, env=env),
    ):
        shown, failed, unknown = run_all(
            [
                ["call", "com.cli.show", "1", "two", "-k", "flag=true"],
                ["call", "com.cli.fail"],
                ["call", "com.cli.nosuch"],
            ],
            env=env,
        )
    assert shown.returncode == 0, shown
    assert json.loads(shown.stdout) == {
        "argv": ["1", "two"],
        "kwargs": {"flag": True},
        "caller": crossbar.ticket.authid,  # Crossbar discloses callers in this realm
    }
    assert failed.returncode == 1, failed
    assert failed.stderr.startswith("autostrada call: error: autostrada.error.command_failed: "), (
        failed
    )
    assert 'status=5, stderr="no disk\\n"' in failed.stderr
    assert unknown.returncode == 1, unknown
    assert "autostrada call: error: wamp.error.no_such_procedure" in unknown.stderr
    for done in (shown, failed, unknown):
        assert crossbar.ticket.ticket not in done.output


def test_publish_and_subscribe_with_a_cryptosign_key_file_over_rawsocket(
    crossbar: Any, tmp_path: Path
) -> None:
    key = tmp_path / "client.key"
    key.write_text(crossbar.cryptosign.seed_hex + "\n")
    key.chmod(0o600)
    url = f"rs://{crossbar.rs_host}:{crossbar.rs_port}"
    auth = ["--url", url, "--authid", crossbar.cryptosign.authid, "--private-key", str(key)]
    with running(
        "subscribe", "com.cli.news", "--count", "2", "--serializer", "msgpack", *auth
    ) as sub:
        plain, acked = run_all(
            [
                ["publish", "com.cli.news", "hello", "-k", "n=1", "--serializer", "cbor", *auth],
                ["publish", "com.cli.news", '{"a": [1]}', "--acknowledge", *auth],
            ]
        )
        assert (plain.returncode, plain.output) == (0, ""), plain
        assert acked.returncode == 0, acked
        assert sub.wait() == 0, sub.output
    received = [json.loads(line) for line in sub.stdout]
    assert sorted(json.dumps(e["args"]) for e in received) == ['["hello"]', '[{"a": [1]}]']
    assert int(acked.stdout) in [e["publication"] for e in received]
    assert {e["topic"] for e in received} == {"com.cli.news"}


def test_wampcra_and_scram_secrets_from_the_environment(crossbar: Any) -> None:
    url = crossbar.ws_url
    cra, scram = run_all(
        [
            ["publish", "com.cli.x", "--acknowledge", "--url", url, "--authmethod", "wampcra",
             "--authid", crossbar.wampcra.authid],
            ["publish", "com.cli.x", "--acknowledge", "--url", url, "--authmethod", "scram",
             "--authid", crossbar.scram_pbkdf2.authid],
        ],
        env=clean_env(AUTOSTRADA_SECRET=crossbar.wampcra.secret),
    )  # fmt: skip
    assert cra.returncode == 0 and int(cra.stdout) > 0, cra
    assert scram.returncode == 4, scram  # the wampcra secret is not the scram password
    scram = run_cli(
        "publish", "com.cli.x", "--acknowledge", "--url", url, "--authmethod", "scram",
        "--authid", crossbar.scram_pbkdf2.authid,
        env=clean_env(AUTOSTRADA_SECRET=crossbar.scram_pbkdf2.password),
    )  # fmt: skip
    assert scram.returncode == 0 and int(scram.stdout) > 0, scram


def test_wrong_ticket_and_unknown_realm(crossbar: Any) -> None:
    wrong, unknown_realm = run_all(
        [
            ["call", "com.cli.x", "--url", crossbar.ws_url, "--authid", crossbar.ticket.authid,
             "--ticket-file", "-"],
            ["call", "com.cli.x", "--url", crossbar.ws_url, "--realm", "nosuchrealm"],
        ],
        stdin="not-the-ticket\n",
    )  # fmt: skip
    assert wrong.returncode == 4, wrong
    assert wrong.stderr.startswith("autostrada call: authentication failed: "), wrong
    assert unknown_realm.returncode == 4, unknown_realm
    for done in (wrong, unknown_realm):
        for secret in secrets_of(crossbar):
            assert secret not in done.output
