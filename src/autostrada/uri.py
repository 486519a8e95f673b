"""WAMP URIs: validation (strict and loose rules) and matching (exact, prefix, wildcard).

Spec: Basic Profile "URIs" (building_blocks.md) and Advanced Profile
"Pattern-based Subscription" / "Pattern-based Registration".

* **loose** URIs: components are non-empty and contain no whitespace, ``.`` or ``#``.
* **strict** URIs: components are made of ``[0-9a-z_]`` only.
* Wildcard patterns may have empty components (``com..update``), which match any one
  component.
"""

from __future__ import annotations

import re
from enum import StrEnum

__all__ = [
    "Match",
    "is_valid_uri",
    "uri_matches",
    "validate_uri",
]

# Regular expressions from the spec, section "URIs" (strict and loose, with and
# without empty components).
_STRICT = re.compile(r"^([0-9a-z_]+\.)*([0-9a-z_]+)$")
_STRICT_EMPTY = re.compile(r"^(([0-9a-z_]+\.)|\.)*([0-9a-z_]+)?$")
_LOOSE = re.compile(r"^([^\s.#]+\.)*([^\s.#]+)$")
_LOOSE_EMPTY = re.compile(r"^(([^\s.#]+\.)|\.)*([^\s.#]+)?$")


class Match(StrEnum):
    """How a subscription or registration URI is matched against a topic/procedure."""

    EXACT = "exact"
    PREFIX = "prefix"
    WILDCARD = "wildcard"


# Valid URIs seen before, per rule: URIs repeat a lot on a hot path, and a set
# lookup is ~20x cheaper than the regular expression. Bounded so that a peer
# sending random URIs cannot grow it without limit.
_CACHE_MAX = 4096
_seen: dict[tuple[bool, bool], set[str]] = {
    (strict, empty): set() for strict in (False, True) for empty in (False, True)
}


def is_valid_uri(
    uri: object, *, strict: bool = False, allow_empty: bool = False, match: str | None = None
) -> bool:
    """Tell whether ``uri`` is a valid WAMP URI.

    Args:
        uri: the value to check (anything: non-strings are invalid).
        strict: apply the strict rule (``[0-9a-z_]`` components) instead of the loose one.
        allow_empty: allow empty components, as wildcard patterns need. An empty
            string is then valid too (the pattern that matches a one-component URI).
        match: the match policy the URI is a pattern for, if any: ``"wildcard"``
            implies ``allow_empty``; ``"prefix"`` allows one trailing ``.``
            (``com.myapp.`` matches ``com.myapp.x`` but not ``com.myapp2``).
    """
    if type(uri) is not str:
        return False
    if match == "wildcard":
        allow_empty = True
    elif match == "prefix" and uri.endswith(".") and len(uri) > 1:
        uri = uri[:-1]
    seen = _seen[strict, allow_empty]
    if uri in seen:
        return True
    if strict:
        pattern = _STRICT_EMPTY if allow_empty else _STRICT
    else:
        pattern = _LOOSE_EMPTY if allow_empty else _LOOSE
    if pattern.match(uri) is None:
        return False
    if len(seen) >= _CACHE_MAX:
        seen.clear()
    seen.add(uri)
    return True


def validate_uri(uri: object, what: str, *, strict: bool = False, match: str = "exact") -> str:
    """Return ``uri`` if it is valid for the given match policy, else raise ``ValueError``.

    For local callers (API arguments). The message names ``what`` and the value.
    Prefix patterns follow the loose/strict rule; wildcard patterns may have empty
    components.
    """
    if match == "exact" and type(uri) is str and uri in _seen[strict, False]:
        return uri  # valid before (the hot path: the same few URIs again and again)
    if match not in ("exact", "prefix", "wildcard"):
        raise ValueError(f"{what}: unknown match policy {match!r} (exact, prefix or wildcard)")
    if not is_valid_uri(uri, strict=strict, match=match):
        rule = "strict" if strict else "loose"
        raise ValueError(f"{what}: {uri!r} is not a valid WAMP URI ({rule} rule, match={match})")
    assert isinstance(uri, str)
    return uri


def uri_matches(pattern: str, match: str, uri: str) -> bool:
    """Tell whether ``uri`` matches ``pattern`` under the ``match`` policy.

    * exact: the strings are equal;
    * prefix: ``uri`` starts with ``pattern`` (string prefix, as Crossbar does:
      ``com.myapp`` matches ``com.myapp.x`` and ``com.myapp2``);
    * wildcard: same number of components, and every non-empty pattern component
      equals the URI's component at that position.
    """
    if match == "exact":
        return uri == pattern
    if match == "prefix":
        return uri.startswith(pattern)
    if match == "wildcard":
        pattern_parts = pattern.split(".")
        uri_parts = uri.split(".")
        if len(pattern_parts) != len(uri_parts):
            return False
        return all(not p or p == u for p, u in zip(pattern_parts, uri_parts, strict=True))
    raise ValueError(f"unknown match policy {match!r} (exact, prefix or wildcard)")
