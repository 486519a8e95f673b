"""``autostrada keygen``: an Ed25519 key pair for WAMP-Cryptosign."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from collections.abc import Callable

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from autostrada.auth import CryptosignKey
from autostrada.cli.credentials import CredentialError, load_private_key
from autostrada.cli.exits import EXIT_CODES_HELP, EXIT_ERROR, EXIT_OK, EXIT_USAGE, CliError

__all__ = ["add_keygen_parser", "run_keygen", "write_private_key"]

Adder = Callable[..., argparse.ArgumentParser]

KEYGEN_EPILOG = f"""\
Writes the private key to PATH, readable by you only (mode 600), and prints the
public key (64 hex characters) on stdout: that is what goes into the
"authorized_keys" of your authid's principal (Crossbar's config.json and
autostrada's router TOML alike). --private-key reads the private key file. Formats:
  openssh  an unencrypted OpenSSH private key (as ssh-keygen -t ed25519 -N "" writes)
  hex      the 32-byte seed as 64 hex characters (Autobahn's "privkey")
An existing PATH is kept unless --force is given (exit 2).

examples:
  autostrada keygen ~/.wamp/client.key
  autostrada keygen client.key --format hex --force
  autostrada keygen --public client.key          # print the public key of a key file
  autostrada call com.example.ping --authmethod cryptosign --authid alice \\
      --private-key ~/.wamp/client.key

{EXIT_CODES_HELP}
"""


def add_keygen_parser(add: Adder) -> None:
    parser = add(
        "keygen",
        help="create an Ed25519 key pair for cryptosign authentication",
        description="Create an Ed25519 private key file and print its public key.",
        epilog=KEYGEN_EPILOG,
    )
    parser.add_argument("path", nargs="?", metavar="PATH", help="where to write the private key")
    parser.add_argument(
        "--format",
        choices=("openssh", "hex"),
        default="openssh",
        help="private key file format (default: openssh)",
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing PATH")
    parser.add_argument(
        "--public",
        metavar="KEYFILE",
        help="print the public key of an existing private key file (writes nothing)",
    )


def run_keygen(args: argparse.Namespace) -> int:
    if args.public is not None:
        if args.path is not None:
            raise CliError(EXIT_USAGE, "give either PATH or --public KEYFILE, not both")
        try:
            key = load_private_key(args.public)
        except CredentialError as exc:
            raise CliError(EXIT_USAGE, str(exc)) from None
        print(key.public_key_hex)
        return EXIT_OK
    if args.path is None:
        raise CliError(EXIT_USAGE, "PATH is required (where to write the private key)")
    private = Ed25519PrivateKey.generate()
    if args.format == "hex":
        data = (private.private_bytes_raw().hex() + "\n").encode("ascii")
    else:
        data = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
    write_private_key(args.path, data, force=args.force)
    print(CryptosignKey(private).public_key_hex)
    print(f"autostrada keygen: private key written to {args.path}", file=sys.stderr)
    return EXIT_OK


def write_private_key(path: str, data: bytes, *, force: bool) -> None:
    """Write ``data`` to ``path`` with mode 600; never over an existing file unless ``force``.

    Raises:
        CliError: PATH exists (exit 2), or cannot be written (exit 1).
    """
    try:
        if not force:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as file:
                file.write(data)
            return
        # A fresh file (mkstemp makes it 600) moved over the old one: the key is never
        # readable by others, not even for a moment, whatever the old file's mode was.
        directory = os.path.dirname(os.path.abspath(path))
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=".autostrada-key-")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
    except FileExistsError:
        raise CliError(EXIT_USAGE, f"{path} exists: not overwritten (use --force)") from None
    except OSError as exc:
        raise CliError(EXIT_ERROR, f"cannot write {path}: {exc.strerror or exc}") from None
