"""``autostrada publish`` and ``autostrada subscribe`` against our router."""

from __future__ import annotations

import json

from cli_kit import (
    SIGINT,
    SIGTERM,
    CliProcess,
    Creds,
    router_config,
    run_all,
    run_cli,
    run_main,
    running,
)

from autostrada.testing import RouterThread


def events(proc: CliProcess) -> list[dict[str, object]]:
    return [json.loads(line) for line in proc.stdout]


def test_subscribe_count_prints_json_lines_then_exits_0(
    cli_router: RouterThread, cli_creds: Creds
) -> None:
    url = cli_router.url
    with running("subscribe", "com.news", "--count", "2", "--details", "--url", url) as sub:
        first, second = run_all(
            [
                ["publish", "com.news", "hello", "-k", "x=1", "--url", url],
                ["publish", "com.news", "1", "[2]", "--acknowledge", "--url", url,
                 "--authid", "ticket-user", "--ticket-file", "-"],
            ],
            stdin=cli_creds.ticket + "\n",
        )  # fmt: skip
        assert (first.returncode, first.stdout, first.stderr) == (0, "", ""), first
        assert second.returncode == 0, second
        publication = int(second.stdout)
        assert sub.wait() == 0, sub.output
    anonymous, ticketed = sorted(events(sub), key=lambda e: e["args"] != ["hello"])
    assert (anonymous["args"], ticketed["args"]) == (["hello"], [1, [2]])
    assert ticketed["kwargs"] == {} and anonymous["kwargs"] == {"x": 1}
    assert ticketed["publication"] == publication
    assert ticketed["topic"] == "com.news"
    assert ticketed["publisher_authid"] == "ticket-user"
    assert ticketed["publisher_authrole"] == "user"
    assert isinstance(ticketed["publisher"], int)
    assert ticketed["retained"] is False
    assert set(anonymous) == set(ticketed)


def test_prefix_and_wildcard_subscriptions_print_the_concrete_topic(
    cli_router: RouterThread,
) -> None:
    url = cli_router.url
    with (
        running(
            "subscribe", "com.tree.", "--match", "prefix", "--count", "1", "--url", url
        ) as prefix,
        running(
            "subscribe", "com..leaf", "--match", "wildcard", "--count", "1", "--url", url
        ) as wildcard,
    ):
        done = run_cli("publish", "com.tree.leaf", '{"on": true}', "--url", url)
        assert done.returncode == 0, done
        assert prefix.wait() == 0 and wildcard.wait() == 0
    for proc in (prefix, wildcard):
        [event] = events(proc)
        assert event == {
            "topic": "com.tree.leaf",
            "args": [{"on": True}],
            "kwargs": {},
            "publication": event["publication"],
        }


def test_ctrl_c_and_sigterm_stop_subscribe_cleanly(cli_router: RouterThread) -> None:
    url = cli_router.url
    for signum in (SIGINT, SIGTERM):
        with running("subscribe", "com.stop", "--url", url) as sub:
            done = run_cli("publish", "com.stop", "one", "--acknowledge", "--url", url)
            assert done.returncode == 0, done
            sub.wait_line("one", stream="stdout")
            sub.signal(signum)
            assert sub.wait() == 0, sub.output
            assert "Traceback" not in sub.output
            assert [e["args"] for e in events(sub)] == [["one"]]


def test_retained_event_for_a_late_subscriber(cli_router: RouterThread) -> None:
    url = cli_router.url
    done = run_cli("publish", "com.retained", "kept", "--retain", "--acknowledge", "--url", url)
    assert done.returncode == 0, done
    late = run_cli("subscribe", "com.retained", "--get-retained", "--count", "1", "--details",
                   "--url", url)  # fmt: skip
    assert late.returncode == 0, late
    [event] = [json.loads(line) for line in late.lines()]
    assert event["args"] == ["kept"] and event["retained"] is True


def test_publish_exclude_me_and_denied_topics(cli_router: RouterThread) -> None:
    url = cli_router.url
    denied, unacknowledged, included = run_all(
        [
            ["publish", "com.denied.x", "1", "--acknowledge", "--url", url],
            ["publish", "com.denied.x", "1", "--url", url],
            ["publish", "com.news", "--no-exclude-me", "--acknowledge", "--url", url],
        ]
    )
    assert denied.returncode == 1, denied
    assert "autostrada publish: error: wamp.error.not_authorized" in denied.stderr
    # Without --acknowledge the router says nothing: the publish "worked".
    assert (unacknowledged.returncode, unacknowledged.output) == (0, ""), unacknowledged
    assert included.returncode == 0 and int(included.stdout) > 0, included


def test_publish_usage_errors() -> None:
    reserved = run_main("publish", "com.x", "-k", "options=1")
    assert reserved.returncode == 2 and "-k options=: cannot be sent" in reserved.stderr
    count = run_main("subscribe", "com.x", "--count", "0")
    assert count.returncode == 2 and "must be at least 1" in count.stderr, count


def test_subscribe_exits_3_when_the_router_goes_away() -> None:
    router = RouterThread(router_config(Creds())).start()
    try:
        with running("subscribe", "com.x", "--url", router.url) as sub:
            router.stop()
            assert sub.wait() == 3, sub.output
    finally:
        router.stop()
    assert "autostrada subscribe: the session ended (wamp.close.system_shutdown" in sub.output


def test_subscribe_to_a_denied_topic_exits_1(cli_router: RouterThread) -> None:
    done = run_cli("subscribe", "com.denied.x", "--url", cli_router.url)
    assert done.returncode == 1, done
    assert "autostrada subscribe: error: wamp.error.not_authorized" in done.stderr


def test_subscribe_output_into_a_closed_pipe_ends_quietly(cli_router: RouterThread) -> None:
    url = cli_router.url
    with running("subscribe", "com.pipe", "--url", url, read_stdout=False) as sub:
        assert sub.proc.stdout is not None
        # Stop reading and close our end: the next event hits a broken pipe.
        sub.proc.stdout.close()
        done = run_cli("publish", "com.pipe", "x", "--acknowledge", "--url", url)
        assert done.returncode == 0, done
        assert sub.wait() == 0
    assert "Traceback" not in "".join(sub.stderr)
