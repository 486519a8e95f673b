"""``autostrada call`` against our router: results, argument parsing, errors, exit codes."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cli_kit import (
    Callee,
    Creds,
    free_port,
    make_certificates,
    router_config,
    run_all,
    run_cli,
    run_main,
    tcp_blackhole,
)

from autostrada.router.config import TLSConfig
from autostrada.testing import RouterThread


@pytest.fixture
def url(cli_router: RouterThread, cli_callee: Callee) -> str:
    return cli_router.url


def test_a_single_result_is_printed_as_json(url: str) -> None:
    done = run_cli("call", "com.test.add", "2", "3", "--url", url)
    assert (done.returncode, done.stdout, done.stderr) == (0, "5\n", ""), done


def test_several_or_keyword_results_are_printed_as_the_envelope(url: str) -> None:
    done = run_cli(
        "call", "com.test.echo", "1", "hello", '{"a": [1, 2]}', "-k", "name=joe",
        "-k", "flag=true", "-k", "none=null", "--url", url,
    )  # fmt: skip
    assert done.returncode == 0, done
    assert json.loads(done.stdout) == {
        "args": [1, "hello", {"a": [1, 2]}],
        "kwargs": {"name": "joe", "flag": True, "none": None},
    }
    assert done.stdout.count("\n") == 1  # one line


def test_no_result_is_null_and_envelope_always_wraps(url: str) -> None:
    nothing, wrapped, wrapped_none = run_all(
        [
            ["call", "com.test.nothing", "--url", url],
            ["call", "com.test.add", "2", "3", "--envelope", "--url", url],
            ["call", "com.test.nothing", "--envelope", "--url", url],
        ]
    )
    assert (nothing.returncode, nothing.stdout) == (0, "null\n"), nothing
    assert json.loads(wrapped.stdout) == {"args": [5], "kwargs": {}}, wrapped
    assert json.loads(wrapped_none.stdout) == {"args": [], "kwargs": {}}, wrapped_none


def test_arguments_that_are_not_json_are_strings(url: str) -> None:
    done = run_cli(
        "call", "com.test.echo", '{"a": 1', "hello world", "NaN", "-Infinity", '"5"', "5",
        "-k", "k={bad", "--url", url,
    )  # fmt: skip
    assert done.returncode == 0, done
    assert json.loads(done.stdout) == {
        "args": ['{"a": 1', "hello world", "NaN", "-Infinity", "5", 5],
        "kwargs": {"k": "{bad"},
    }


def test_strings_mode_and_strict_json_mode(url: str) -> None:
    strings = run_cli("call", "com.test.echo", "5", "true", "-k", "n=1", "--strings", "--url", url)
    strict = run_main("call", "com.test.echo", '{"a": 1', "--json", "--url", url)
    strict_kw = run_main("call", "com.test.echo", "-k", "x=nope", "--json", "--url", url)
    assert json.loads(strings.stdout) == {"args": ["5", "true"], "kwargs": {"n": "1"}}, strings
    assert strict.returncode == 2, strict
    assert "argument 1 is not valid JSON" in strict.stderr
    assert strict_kw.returncode == 2, strict_kw
    assert "-k x is not valid JSON" in strict_kw.stderr


def test_options_between_arguments_and_dashes(url: str) -> None:
    done = run_cli(
        "call", "com.test.echo", "1", "-k", "a=1", "2", "-3", "--url", url, "--", "-x", "--y"
    )
    assert done.returncode == 0, done
    assert json.loads(done.stdout) == {"args": [1, 2, -3, "-x", "--y"], "kwargs": {"a": 1}}


@pytest.mark.parametrize(
    ("kwarg", "message"),
    [
        ("novalue", "-k expects KEY=VALUE, got 'novalue'"),
        ("=1", "-k expects KEY=VALUE, got '=1'"),
        ("options=1", "-k options=: cannot be sent (the session API reserves it)"),
    ],
)
def test_a_malformed_kwarg_exits_2_without_connecting(kwarg: str, message: str) -> None:
    # Nothing listens on the URL: usage errors come before the connection.
    done = run_main("call", "com.test.echo", "-k", kwarg, "--url", f"ws://127.0.0.1:{free_port()}")
    assert done.returncode == 2, done
    assert message in done.stderr
    assert done.stdout == ""


def test_a_repeated_kwarg_and_an_unknown_option_exit_2() -> None:
    repeated = run_main("call", "com.x", "-k", "a=1", "-k", "a=2")
    unknown = run_main("call", "com.x", "1", "-k", "a=1", "2", "--bogus")
    assert repeated.returncode == 2 and "-k a= is given twice" in repeated.stderr, repeated
    assert unknown.returncode == 2 and "unrecognized argument: --bogus" in unknown.stderr, unknown


def test_progressive_results_are_printed_as_they_come(url: str) -> None:
    done = run_cli("call", "com.test.countdown", "3", "--progress", "--url", url)
    assert done.returncode == 0, done
    assert done.lines() == ["3", "2", "1", '"liftoff"']
    plain = run_cli("call", "com.test.countdown", "3", "--url", url)
    assert plain.lines() == ['"liftoff"'], plain


def test_an_unknown_procedure_is_an_application_error(url: str) -> None:
    done = run_cli("call", "com.test.nosuch", "--url", url)
    assert done.returncode == 1, done
    assert done.stderr.startswith("autostrada call: error: wamp.error.no_such_procedure")
    assert "com.test.nosuch" in done.stderr
    assert done.stdout == ""


def test_an_application_error_shows_its_uri_args_and_kwargs(url: str) -> None:
    failed, denied = run_all(
        [["call", "com.test.fail", "--url", url], ["call", "com.denied.x", "--url", url]]
    )
    assert failed.returncode == 1, failed
    assert failed.stderr == (
        "autostrada call: error: com.test.error.failed: it went wrong, code=7\n"
    )
    assert denied.returncode == 1, denied
    assert "error: wamp.error.not_authorized" in denied.stderr


def test_timeout_cancels_the_call(url: str) -> None:
    done = run_cli("call", "com.test.slow", "30", "--timeout", "0.3", "--url", url)
    assert done.returncode == 1, done
    assert "error: wamp.error.timeout" in done.stderr
    bad = run_main("call", "com.test.slow", "1", "--timeout", "-1", "--url", url)
    assert bad.returncode == 2 and "positive number of seconds" in bad.stderr, bad


def test_an_unreachable_router_exits_3_naming_the_url() -> None:
    url = f"ws://127.0.0.1:{free_port()}/ws"
    refused, unix = run_all(
        [
            ["call", "com.x", "--url", url],
            ["call", "com.x", "--url", "rs+unix:///nonexistent/router.sock"],
        ]
    )
    assert refused.returncode == 3, refused
    assert url in refused.stderr and refused.stderr.startswith("autostrada call: ")
    assert unix.returncode == 3, unix
    assert "/nonexistent/router.sock" in unix.stderr


def test_a_silent_router_is_bounded_by_connect_timeout() -> None:
    sock, port = tcp_blackhole()
    with sock:
        done = run_cli(
            "call", "com.x", "--url", f"ws://127.0.0.1:{port}/ws", "--connect-timeout", "0.5"
        )
    assert done.returncode == 3, done
    assert f"127.0.0.1:{port}" in done.stderr


def test_a_bad_url_or_realm(url: str) -> None:
    scheme, realm = run_all(
        [["call", "com.x", "--url", "http://127.0.0.1/"], ["call", "com.x", "--url", url,
         "--realm", "nosuchrealm"]]
    )  # fmt: skip
    assert scheme.returncode == 2, scheme
    assert "http" in scheme.stderr
    assert realm.returncode == 4, realm
    assert "wamp.error.no_such_realm" in realm.stderr


def test_url_and_realm_from_the_environment(url: str) -> None:
    from cli_kit import clean_env

    done = run_cli(
        "call",
        "com.test.add",
        "1",
        "1",
        env=clean_env(AUTOSTRADA_URL=url, AUTOSTRADA_REALM="realm1"),
    )
    assert (done.returncode, done.stdout) == (0, "2\n"), done


def test_bytes_over_each_transport_and_serializer(
    cli_router: RouterThread, cli_callee: Callee
) -> None:
    runs = [
        ["call", "com.test.bytes", "--url", url, "--serializer", serializer]
        for url, serializer in (
            (cli_router.url, "json"),
            (cli_router.rs_url, "msgpack"),
            (cli_router.rs_url, "cbor"),
        )
    ]
    for done in run_all(runs):
        assert done.returncode == 0, done
        value = json.loads(done.stdout)  # bytes: "\u0000" + base64
        assert value.startswith("\x00")
        assert base64.b64decode(value[1:]) == b"\x00\x01binary\xff"


def test_tls_with_a_private_ca(tmp_path: Path) -> None:
    certs = make_certificates(tmp_path)
    tls = TLSConfig(cert_file=str(certs.server_cert), key_file=str(certs.server_key))
    with RouterThread(router_config(Creds(), tls=tls)) as router:
        url = router.url
        assert url.startswith("wss://"), url
        trusted, untrusted, rawsocket = run_all(
            [
                ["publish", "com.x", "--acknowledge", "--url", url, "--ca-file", str(certs.ca)],
                ["publish", "com.x", "--acknowledge", "--url", url],
                ["publish", "com.x", "--acknowledge", "--url", router.rs_url, "--ca-file",
                 str(certs.ca)],
            ]
        )  # fmt: skip
    assert trusted.returncode == 0 and int(trusted.stdout) > 0, trusted
    assert rawsocket.returncode == 0 and int(rawsocket.stdout) > 0, rawsocket
    assert untrusted.returncode == 3, untrusted
    assert "certificate" in untrusted.stderr
    missing = run_main("publish", "com.x", "--url", url, "--ca-file", str(tmp_path / "none.pem"))
    assert missing.returncode == 2 and "--ca-file" in missing.stderr, missing
