"""A table of values keyed by URI patterns (exact, prefix, wildcard).

Used for registrations (the best match routes a call), subscriptions (every match gets
the event) and role permissions (the best match decides). Exact patterns live in a dict,
so an exact-only table costs one lookup per URI; only pattern entries are scanned.

Precedence (spec "Pattern-based Registration", rpc_pattern_based_registration.md):

1. an exact match;
2. else the longest matching prefix;
3. else the wildcard pattern with the longest run of components before its first
   wildcard, then before the second, and so on (``a1.b2..d4`` beats ``a1...d4``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

__all__ = ["UriTable", "wildcard_rank"]

V = TypeVar("V")


def wildcard_rank(pattern: str) -> tuple[int, ...]:
    """Return the lengths of the runs of non-empty components between wildcards.

    ``a1.b2..d4.e5`` gives ``(2, 2)``; ``a1.b2.c33..e5`` gives ``(3, 1)``. Among wildcard
    patterns matching the same URI (same number of components), the greater tuple is the
    more specific one; two different patterns that match the same URI never tie.
    """
    runs: list[int] = []
    run = 0
    for part in pattern.split("."):
        if part:
            run += 1
        else:
            runs.append(run)
            run = 0
    runs.append(run)
    return tuple(runs)


class _Wildcard(Generic[V]):
    __slots__ = ("parts", "rank", "value")

    def __init__(self, pattern: str, value: V) -> None:
        self.parts = pattern.split(".")
        self.rank = wildcard_rank(pattern)
        self.value = value

    def matches(self, parts: list[str]) -> bool:
        return all(not p or p == u for p, u in zip(self.parts, parts, strict=True))


class UriTable(Generic[V]):
    """Values keyed by ``(pattern, match)``, with best-match and all-matches lookup."""

    __slots__ = ("_exact", "_prefix", "_wildcard")

    def __init__(self) -> None:
        self._exact: dict[str, V] = {}
        self._prefix: dict[str, V] = {}
        # number of components -> pattern -> entry
        self._wildcard: dict[int, dict[str, _Wildcard[V]]] = {}

    def __len__(self) -> int:
        return (
            len(self._exact)
            + len(self._prefix)
            + sum(len(group) for group in self._wildcard.values())
        )

    def get(self, pattern: str, match: str) -> V | None:
        """Return the value stored for exactly this ``(pattern, match)``."""
        if match == "exact":
            return self._exact.get(pattern)
        if match == "prefix":
            return self._prefix.get(pattern)
        entry = self._wildcard.get(pattern.count(".") + 1, {}).get(pattern)
        return None if entry is None else entry.value

    def add(self, pattern: str, match: str, value: V) -> None:
        """Store ``value`` under ``(pattern, match)``, replacing any previous value."""
        if match == "exact":
            self._exact[pattern] = value
        elif match == "prefix":
            self._prefix[pattern] = value
        else:
            group = self._wildcard.setdefault(pattern.count(".") + 1, {})
            group[pattern] = _Wildcard(pattern, value)

    def remove(self, pattern: str, match: str) -> None:
        """Forget ``(pattern, match)`` (no error when absent)."""
        if match == "exact":
            self._exact.pop(pattern, None)
        elif match == "prefix":
            self._prefix.pop(pattern, None)
        else:
            size = pattern.count(".") + 1
            group = self._wildcard.get(size)
            if group is not None:
                group.pop(pattern, None)
                if not group:
                    del self._wildcard[size]

    def values(self, match: str) -> Iterator[V]:
        """Iterate over the values stored with one match policy."""
        if match == "exact":
            yield from self._exact.values()
        elif match == "prefix":
            yield from self._prefix.values()
        else:
            for group in self._wildcard.values():
                for entry in group.values():
                    yield entry.value

    def best(self, uri: str) -> V | None:
        """Return the value of the best matching pattern for ``uri``, or ``None``."""
        value = self._exact.get(uri)
        if value is not None:
            return value
        if self._prefix:
            value = self._best_prefix(uri)
            if value is not None:
                return value
        if self._wildcard:
            return self._best_wildcard(uri)
        return None

    def matches(self, uri: str) -> list[V]:
        """Return the values of every pattern matching ``uri`` (exact, prefix, wildcard)."""
        found: list[V] = []
        value = self._exact.get(uri)
        if value is not None:
            found.append(value)
        if self._prefix:
            found.extend(v for p, v in self._prefix.items() if uri.startswith(p))
        if self._wildcard:
            parts = uri.split(".")
            group = self._wildcard.get(len(parts))
            if group:
                found.extend(e.value for e in group.values() if e.matches(parts))
        return found

    def could_match(self, uri: str) -> bool:
        """Cheap pre-check: ``False`` means no pattern in the table matches ``uri``."""
        return uri in self._exact or bool(self._prefix or self._wildcard)

    def has_patterns(self) -> bool:
        """Tell whether any prefix or wildcard pattern is stored."""
        return bool(self._prefix or self._wildcard)

    def _best_prefix(self, uri: str) -> V | None:
        # Prefix matching is string-prefix (as in Crossbar, see uri.uri_matches), so the
        # longest matching pattern is the one with the most characters.
        if len(self._prefix) > len(uri):
            for end in range(len(uri), -1, -1):
                value = self._prefix.get(uri[:end])
                if value is not None:
                    return value
            return None
        best: str | None = None
        for pattern in self._prefix:
            if uri.startswith(pattern) and (best is None or len(pattern) > len(best)):
                best = pattern
        return None if best is None else self._prefix[best]

    def _best_wildcard(self, uri: str) -> V | None:
        parts = uri.split(".")
        group = self._wildcard.get(len(parts))
        if not group:
            return None
        best: _Wildcard[V] | None = None
        for entry in group.values():
            if entry.matches(parts) and (best is None or entry.rank > best.rank):
                best = entry
        return None if best is None else best.value
