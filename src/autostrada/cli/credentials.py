"""Authentication options of the client verbs, secrets, and Ed25519 key files.

The method is ``--authmethod`` (or ``$AUTOSTRADA_AUTHMETHOD``); without one, it follows
from the credential options given on the command line: a ticket means ``ticket``, a
private key means ``cryptosign``, nothing means ``anonymous``. Environment variables
supply secrets for the chosen method but never choose it.

Where each secret comes from, first found wins:

==========  =================  ===================  ======================
method      option (warns)     file option          environment
==========  =================  ===================  ======================
ticket      ``--ticket``       ``--ticket-file``    ``AUTOSTRADA_TICKET``
wampcra     ``--secret``       ``--secret-file``    ``AUTOSTRADA_SECRET``
scram       ``--secret``       ``--secret-file``    ``AUTOSTRADA_SECRET``
cryptosign  --                 ``--private-key``    ``AUTOSTRADA_PRIVATE_KEY``
==========  =================  ===================  ======================

A secret given as an option works, with a warning: other users of the machine can
read it in the process list. A file option of ``-`` reads standard input; the
trailing line break of a secret file is dropped. Secrets are never printed, in
output, errors or logs.

Private keys: an OpenSSH Ed25519 private key (what ``autostrada keygen`` and
``ssh-keygen -t ed25519`` write, unencrypted), a file holding the 32-byte seed as 64
hex characters (Autobahn's ``privkey``), or a Crossbar ``key.priv`` file
(``private-key-ed25519: <hex>``).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import Any

from autostrada.auth import CryptosignKey
from autostrada.cli.exits import EXIT_USAGE, CliError

__all__ = [
    "AUTH_METHODS",
    "SECRET_VARIABLES",
    "add_auth_arguments",
    "authentication",
    "load_private_key",
    "parse_private_key",
]

AUTH_METHODS = ("anonymous", "ticket", "wampcra", "cryptosign", "scram")
SECRET_VARIABLES = ("AUTOSTRADA_TICKET", "AUTOSTRADA_SECRET", "AUTOSTRADA_PRIVATE_KEY")
"""Environment variables holding secrets (not passed on to ``register``'s commands)."""

_CRA_PRIV = re.compile(r"^\s*private-key-ed25519:\s*([0-9a-fA-F]{64})\s*$", re.MULTILINE)


def add_auth_arguments(parser: argparse.ArgumentParser) -> None:
    """``--authmethod``, ``--authid``, ``--authrole`` and the secret options."""
    group = parser.add_argument_group(
        "authentication",
        "Secrets: prefer the -file options or $AUTOSTRADA_TICKET, $AUTOSTRADA_SECRET, "
        "$AUTOSTRADA_PRIVATE_KEY; an option's value is visible in the process list.",
    )
    group.add_argument(
        "--authmethod",
        choices=AUTH_METHODS,
        help="default: $AUTOSTRADA_AUTHMETHOD, else ticket with a ticket option, "
        "cryptosign with --private-key, else anonymous",
    )
    group.add_argument("--authid", help="the authid (default: $AUTOSTRADA_AUTHID)")
    group.add_argument("--authrole", help="the role to ask for")
    ticket = group.add_mutually_exclusive_group()
    ticket.add_argument("--ticket", help="ticket (visible to others: prefer --ticket-file)")
    ticket.add_argument("--ticket-file", metavar="PATH", help="read the ticket from PATH (- stdin)")
    secret = group.add_mutually_exclusive_group()
    secret.add_argument(
        "--secret", help="wampcra secret or scram password (visible to others: prefer a file)"
    )
    secret.add_argument(
        "--secret-file", metavar="PATH", help="read the wampcra/scram secret from PATH (- stdin)"
    )
    group.add_argument(
        "--private-key",
        metavar="PATH",
        help="cryptosign Ed25519 private key file (OpenSSH, or 64 hex characters)",
    )


class CredentialError(ValueError):
    """A credential option is missing, unreadable or does not fit the method."""


def _warn(text: str) -> None:
    print(f"autostrada: warning: {text}", file=sys.stderr)


def _read_file(path: str, what: str) -> str:
    try:
        if path == "-":
            return sys.stdin.read()
        with open(path, encoding="utf-8") as file:
            return file.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise CredentialError(f"cannot read the {what} from {path}: {reason}") from None


def _secret(
    args: argparse.Namespace, name: str, variable: str, method: str, option_hint: str
) -> str:
    value: str | None = getattr(args, name)
    path: str | None = getattr(args, f"{name}_file")
    if value is not None:
        _warn(
            f"--{name} on the command line is visible to other users in the process list; "
            f"use --{name}-file or ${variable}"
        )
    elif path is not None:
        value = _read_file(path, name).rstrip("\r\n")
    else:
        value = os.environ.get(variable)
    if not value:
        raise CredentialError(
            f"{method} authentication needs a {option_hint}: --{name}-file PATH, "
            f"${variable} or --{name}"
        )
    return value


def parse_private_key(text: str) -> CryptosignKey:
    """The Ed25519 key in a key file's text (formats in the module docstring).

    Raises:
        ValueError: not a key in a known format (the message never quotes the text).
    """
    stripped = text.strip()
    if "BEGIN OPENSSH PRIVATE KEY" in stripped:
        return CryptosignKey.from_openssh(stripped.encode("ascii", "replace"))
    tagged = _CRA_PRIV.search(stripped)
    if tagged is not None:
        return CryptosignKey.from_hex(tagged.group(1))
    try:
        return CryptosignKey.from_hex(stripped)
    except ValueError:
        raise ValueError(
            "not an Ed25519 private key (expected an OpenSSH private key or 64 hex characters)"
        ) from None


def load_private_key(path: str) -> CryptosignKey:
    """Read a private key file; warn when others may read it.

    Raises:
        CredentialError: unreadable, or not a key.
    """
    text = _read_file(path, "private key")
    if path != "-":
        try:
            mode = os.stat(path).st_mode
        except OSError:  # pragma: no cover - it was just read
            mode = 0
        if mode & 0o077:
            _warn(f"{path} can be read by other users (chmod 600 {path})")
    try:
        return parse_private_key(text)
    except ValueError as exc:
        raise CredentialError(f"{path}: {exc}") from None


def _method(args: argparse.Namespace) -> str:
    method: str | None = args.authmethod or os.environ.get("AUTOSTRADA_AUTHMETHOD") or None
    if method is None:
        if args.ticket is not None or args.ticket_file is not None:
            return "ticket"
        if args.private_key is not None:
            return "cryptosign"
        if args.secret is not None or args.secret_file is not None:
            raise CredentialError("--secret needs --authmethod wampcra or --authmethod scram")
        return "anonymous"
    if method not in AUTH_METHODS:
        raise CredentialError(
            f"AUTOSTRADA_AUTHMETHOD={method!r} is not one of {', '.join(AUTH_METHODS)}"
        )
    return method


def _check_unused(args: argparse.Namespace, method: str) -> None:
    uses = {
        "ticket": ("ticket",),
        "wampcra": ("secret",),
        "scram": ("secret",),
        "cryptosign": ("private_key",),
    }.get(method, ())
    for name in ("ticket", "secret", "private_key"):
        given = getattr(args, name) is not None or getattr(args, f"{name}_file", None) is not None
        if given and name not in uses:
            option = name.replace("_", "-")
            raise CredentialError(f"--{option} does not go with {method} authentication")


def authentication(args: argparse.Namespace) -> dict[str, dict[str, Any]] | None:
    """The ``authentication={method: {...}}`` the options ask for (``None``: anonymous).

    Raises:
        CliError: exit 2 when a credential is missing, unreadable or misplaced.
    """
    try:
        method = _method(args)
        _check_unused(args, method)
        authid: str | None = args.authid or os.environ.get("AUTOSTRADA_AUTHID") or None
        config: dict[str, Any] = {}
        if authid is not None:
            config["authid"] = authid
        if args.authrole is not None:
            config["authrole"] = args.authrole
        if method in ("wampcra", "scram") and authid is None:
            raise CredentialError(f"{method} authentication needs --authid (or $AUTOSTRADA_AUTHID)")
        if method == "ticket":
            config["ticket"] = _secret(args, "ticket", "AUTOSTRADA_TICKET", method, "ticket")
        elif method == "wampcra":
            config["secret"] = _secret(args, "secret", "AUTOSTRADA_SECRET", method, "secret")
        elif method == "scram":
            config["password"] = _secret(args, "secret", "AUTOSTRADA_SECRET", method, "password")
        elif method == "cryptosign":
            config["privkey"] = _private_key(args)
        elif not config:
            return None
    except CredentialError as exc:
        raise CliError(EXIT_USAGE, str(exc)) from None
    return {method: config}


def _private_key(args: argparse.Namespace) -> CryptosignKey:
    if args.private_key is not None:
        return load_private_key(args.private_key)
    text = os.environ.get("AUTOSTRADA_PRIVATE_KEY")
    if not text:
        raise CredentialError(
            "cryptosign authentication needs a private key: --private-key PATH "
            "or $AUTOSTRADA_PRIVATE_KEY"
        )
    try:
        return parse_private_key(text)
    except ValueError as exc:
        raise CredentialError(f"$AUTOSTRADA_PRIVATE_KEY: {exc}") from None
