"""URI rules and matching (autostrada.uri), id generators (autostrada.ids), exceptions."""

from __future__ import annotations

import pytest

from autostrada import ids, uri
from autostrada.exceptions import (
    ERROR_CLASSES,
    ApplicationError,
    AuthenticationFailed,
    SessionClosed,
)


@pytest.mark.parametrize(
    ("value", "loose", "strict", "loose_empty", "strict_empty"),
    [
        ("com.myapp.topic1", True, True, True, True),
        ("com.myapp.Topic", True, False, True, False),
        ("com.my-app.topic", True, False, True, False),
        ("com..topic", False, False, True, True),
        (".com.topic", False, False, True, True),
        ("com.topic.", False, False, True, True),
        ("", False, False, True, True),
        ("com.my app", False, False, False, False),
        ("com.my#app", False, False, False, False),
        ("com.\tx", False, False, False, False),
        ("wamp.session.on_join", True, True, True, True),
        ("x", True, True, True, True),
    ],
)
def test_uri_rules(
    value: str, loose: bool, strict: bool, loose_empty: bool, strict_empty: bool
) -> None:
    # Each twice: the second answer comes from the cache of valid URIs.
    for _ in range(2):
        assert uri.is_valid_uri(value) is loose
        assert uri.is_valid_uri(value, strict=True) is strict
        assert uri.is_valid_uri(value, allow_empty=True) is loose_empty
        assert uri.is_valid_uri(value, strict=True, allow_empty=True) is strict_empty


@pytest.mark.parametrize("value", [None, 5, b"com.x", ["com.x"]])
def test_non_strings_are_not_uris(value: object) -> None:
    assert not uri.is_valid_uri(value)
    assert not uri.is_valid_uri(value, allow_empty=True)


def test_match_policies_for_patterns() -> None:
    assert uri.is_valid_uri("com..x", match="wildcard")
    assert not uri.is_valid_uri("com..x", match="prefix")
    assert uri.is_valid_uri("com.myapp.", match="prefix")
    assert not uri.is_valid_uri("com.myapp.", match="exact")
    assert not uri.is_valid_uri(".", match="prefix")


def test_uri_cache_is_bounded() -> None:
    cache = uri._seen[False, False]
    for i in range(uri._CACHE_MAX + 10):
        assert uri.is_valid_uri(f"com.bounded.u{i}")
    assert len(cache) <= uri._CACHE_MAX


def test_validate_uri_names_the_argument() -> None:
    assert uri.validate_uri("com.x", "procedure") == "com.x"
    assert uri.validate_uri("com..x", "topic", match="wildcard") == "com..x"
    with pytest.raises(ValueError, match=r"procedure: 'com x' is not a valid WAMP URI \(loose"):
        uri.validate_uri("com x", "procedure")
    with pytest.raises(ValueError, match=r"strict rule"):
        uri.validate_uri("Com.x", "topic", strict=True)
    with pytest.raises(ValueError, match="unknown match policy 'regex'"):
        uri.validate_uri("com.x", "topic", match="regex")


@pytest.mark.parametrize(
    ("pattern", "match", "value", "expected"),
    [
        ("com.a.b", "exact", "com.a.b", True),
        ("com.a.b", "exact", "com.a.bc", False),
        ("com.a", "prefix", "com.a.b", True),
        ("com.a", "prefix", "com.ab", True),
        ("com.a.", "prefix", "com.ab", False),
        ("com.a", "prefix", "org.a", False),
        ("com..b", "wildcard", "com.x.b", True),
        ("com..b", "wildcard", "com.x.c", False),
        ("com..b", "wildcard", "com.x.y.b", False),
        ("..", "wildcard", "a.b.c", True),
        ("", "wildcard", "a", True),
        ("", "wildcard", "a.b", False),
    ],
)
def test_uri_matching(pattern: str, match: str, value: str, expected: bool) -> None:
    assert uri.uri_matches(pattern, match, value) is expected


def test_uri_matching_rejects_unknown_policy() -> None:
    with pytest.raises(ValueError, match="unknown match policy 'glob'"):
        uri.uri_matches("a", "glob", "a")


def test_sequential_ids_start_at_one_and_wrap() -> None:
    seq = ids.SequentialIds()
    assert seq.last == 0
    assert [seq.next() for _ in range(3)] == [1, 2, 3]
    assert seq.last == 3
    near_end = ids.SequentialIds(ids.MAX_ID - 1)
    assert near_end.next() == ids.MAX_ID
    assert near_end.next() == 1


@pytest.mark.parametrize("last", [-1, ids.MAX_ID + 1, 1.0, True])
def test_sequential_ids_reject_bad_start(last: object) -> None:
    with pytest.raises(ValueError, match="SequentialIds"):
        ids.SequentialIds(last)  # type: ignore[arg-type]


def test_random_ids_are_valid_and_spread() -> None:
    drawn = {ids.random_id() for _ in range(200)}
    assert all(ids.is_valid_id(i) for i in drawn)
    assert len(drawn) == 200  # collisions in 2^53 are practically impossible
    assert max(drawn) > 2**50  # uniform over the whole range, not small numbers


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (1, True),
        (ids.MAX_ID, True),
        (0, False),
        (ids.MAX_ID + 1, False),
        (True, False),
        (1.0, False),
        ("1", False),
    ],
)
def test_is_valid_id(value: object, ok: bool) -> None:
    assert ids.is_valid_id(value) is ok


def test_application_error_payload_and_text() -> None:
    err = ApplicationError("com.app.error.oops", "bad thing", 42, detail="x")
    assert err.error == "com.app.error.oops"
    assert err.args_ == ["bad thing", 42]
    assert err.kwargs == {"detail": "x"}
    assert str(err) == "com.app.error.oops: 'bad thing', 42, detail='x'"
    assert err.error_message() == "com.app.error.oops: bad thing"
    assert ApplicationError("a.b").error_message() == "a.b"
    assert str(ApplicationError("a.b")) == "a.b"
    assert str(ApplicationError("a.b", 1)) == "a.b: 1"
    assert "kwargs={'detail': 'x'}" in repr(err)
    with pytest.raises(TypeError, match="URI string"):
        ApplicationError(42)  # type: ignore[arg-type]


def test_define_maps_uri_to_exception_class() -> None:
    @ApplicationError.define("com.test.error.not_found")
    class NotFound(Exception):
        pass

    assert ERROR_CLASSES["com.test.error.not_found"] is NotFound
    # Defining the same class again is harmless; another class is an error.
    ApplicationError.define("com.test.error.not_found")(NotFound)
    with pytest.raises(ValueError, match="already mapped to NotFound"):

        @ApplicationError.define("com.test.error.not_found")
        class Other(Exception):
            pass

    with pytest.raises(TypeError, match="exception class"):
        ApplicationError.define("com.test.x")(int)  # type: ignore[type-var]


def test_authentication_failed_keeps_reason() -> None:
    err = AuthenticationFailed("wrong ticket", reason="wamp.error.not_authorized")
    assert err.reason == "wamp.error.not_authorized"
    assert "wrong ticket" in str(err)


def test_session_closed_keeps_reason() -> None:
    err = SessionClosed("session ended", reason="wamp.close.system_shutdown")
    assert err.reason == "wamp.close.system_shutdown"
    assert SessionClosed("x").reason is None
