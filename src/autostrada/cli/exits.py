"""Exit codes of the ``autostrada`` command, and the exceptions that carry them.

====  ==================================================================================
code  meaning
====  ==================================================================================
0     success; also ``subscribe`` and ``register`` stopped by Ctrl-C or SIGTERM (they
      leave the realm cleanly first), and ``subscribe --count N`` after N events
1     the operation failed: the router or the callee answered with an ERROR
      (stderr: ``autostrada VERB: error: <uri>: <args>``), or another runtime failure
2     usage or configuration error: bad options or arguments, a malformed ``-k``,
      a missing or unreadable secret or key file, a file ``keygen`` would overwrite
3     connection failed or lost: unreachable URL, refused handshake, TLS failure,
      no session within ``--connect-timeout``, or the router ended the session
4     the router refused the session: authentication failed, or the join was
      refused (no such realm, ...)
130   ``call`` or ``publish`` interrupted by Ctrl-C (143 for SIGTERM); an
      interrupted call is cancelled first
====  ==================================================================================
"""

from __future__ import annotations

import signal

__all__ = [
    "EXIT_AUTH",
    "EXIT_CONNECTION",
    "EXIT_ERROR",
    "EXIT_OK",
    "EXIT_USAGE",
    "EXIT_CODES_HELP",
    "CliError",
    "Interrupted",
]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_CONNECTION = 3
EXIT_AUTH = 4

EXIT_CODES_HELP = """\
exit codes:
  0  success (subscribe/register: also when stopped by Ctrl-C or SIGTERM)
  1  application error: "autostrada VERB: error: <uri>: <args>" on stderr
  2  usage or configuration error
  3  connection failed or lost
  4  authentication failed, or the router refused the session
  130  call/publish interrupted by Ctrl-C (143: SIGTERM)"""


class CliError(Exception):
    """Ends a verb with ``message`` on stderr and exit code ``code``."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Interrupted(Exception):
    """A one-shot verb was stopped by a signal (exit code 128 + signal number)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
