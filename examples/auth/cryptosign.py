"""WAMP-Cryptosign authentication: an Ed25519 key pair instead of a shared secret.

``authentication={"cryptosign": {"authid": ..., "privkey": <32-byte seed, hex>}}``. The
router knows only the public key (``authorized_keys`` in examples/auth/router.toml);
the client signs the router's challenge with the private key. Make a key pair with
``autostrada.auth.CryptosignKey.generate()``: its ``seed_hex()`` is the private key for
the client, its ``public_key_hex`` goes into the router's configuration.

Run the router of the auth examples, then this::

    autostrada router --config examples/auth/router.toml
    python examples/auth/cryptosign.py
"""

from __future__ import annotations

import asyncio
import os

from autostrada import Component, Session, run

URL = os.environ.get("AUTOSTRADA_URL", "ws://127.0.0.1:8080/ws")
REALM = os.environ.get("AUTOSTRADA_REALM", "realm1")

# EXAMPLE KEY: generated for this example and published with it, so it proves nothing.
# Keep real private keys out of source code (read them from a file or the environment).
PRIVATE_KEY = "0783d4a5afa0f5aabd6235c1ae8cb5da777c033327cc2f652b9724177b11307f"


async def main(loop: asyncio.AbstractEventLoop, session: Session) -> None:
    details = session.details
    assert details is not None
    print(f"joined as {details.authid!r}, role {details.authrole!r}, via {details.authmethod}")


component = Component(
    main=main,
    transports=URL,
    realm=REALM,
    authentication={"cryptosign": {"authid": "cryptosign-user", "privkey": PRIVATE_KEY}},
)

if __name__ == "__main__":
    run([component])
