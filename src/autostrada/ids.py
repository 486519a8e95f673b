"""WAMP identifiers (spec: Basic Profile, "IDs").

IDs are integers in ``[1, 2**53]`` (so that they are exact in IEEE doubles, hence
in JavaScript). Three scopes exist:

* **global** (session ids, publication ids): drawn at random, uniformly from the range;
* **router** (subscription and registration ids): any scheme the router likes — we
  draw them at random too;
* **session** (request ids): sequential per session, starting at 1 and wrapping
  back to 1 after ``2**53``.
"""

from __future__ import annotations

import os
import struct

__all__ = ["MAX_ID", "SequentialIds", "is_valid_id", "random_id"]

MAX_ID = 2**53
"""The largest valid WAMP id (inclusive)."""

# random_id() draws from a pool refilled from os.urandom in blocks: one getrandom()
# call per _POOL_SIZE ids instead of one per id (a router draws one per publication).
_POOL_SIZE = 256
_WORDS = struct.Struct(f"<{_POOL_SIZE}Q")
_MASK = MAX_ID - 1  # the low 53 bits
_pool: list[int] = []


def _refill() -> None:
    # 53 random bits give 0 .. 2**53 - 1, each with probability 2**-53; 0 stands for
    # 2**53, so every id in 1 .. 2**53 is exactly as likely. list.extend and list.pop
    # are atomic: threads drawing at once never get the same id, at worst both refill.
    _pool.extend([(word & _MASK) or MAX_ID for word in _WORDS.unpack(os.urandom(_WORDS.size))])


def random_id() -> int:
    """Return a global-scope id: uniform over ``[1, 2**53]``, from the OS's random source.

    Session ids leak nothing useful but should not be guessable, so the OS source
    is used rather than the Mersenne Twister (read in blocks of 256 ids; a forked
    child process discards the ids its parent had drawn).
    """
    while True:
        try:
            return _pool.pop()
        except IndexError:
            _refill()


# After fork() parent and child would hand out the same ids from the same pool.
if hasattr(os, "register_at_fork"):  # pragma: no branch - absent only on Windows
    os.register_at_fork(after_in_child=_pool.clear)


def is_valid_id(value: object) -> bool:
    """Tell whether ``value`` is a valid WAMP id (an int, not a bool, in 1..2**53)."""
    return type(value) is int and 1 <= value <= MAX_ID


class SequentialIds:
    """Session-scope request ids: 1, 2, 3, ... wrapping to 1 after ``2**53``.

    Example::

        ids = SequentialIds()
        ids.next()  # 1
        ids.next()  # 2
    """

    __slots__ = ("_last",)

    def __init__(self, last: int = 0) -> None:
        if type(last) is not int or not 0 <= last <= MAX_ID:
            raise ValueError(f"SequentialIds: last must be an int in 0..2**53, got {last!r}")
        self._last = last

    def next(self) -> int:
        """Return the next id."""
        last = self._last + 1
        if last > MAX_ID:
            last = 1
        self._last = last
        return last

    @property
    def last(self) -> int:
        """The id most recently returned (0 before the first)."""
        return self._last
