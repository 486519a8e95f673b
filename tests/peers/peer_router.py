"""The router the peers talk to: realm ``realm1`` with a principal for every auth method.

One ``universal`` listener on a free 127.0.0.1 port serves WebSocket (``/ws``) and
RawSocket with json, msgpack and cbor. Roles:

* ``anonymous``, ``user``: everything, with caller and publisher disclosure, except
  ``com.denied.*`` (no permission: calls there are ``wamp.error.not_authorized``);
* ``backend``: everything, without disclosure.

:class:`Credentials` holds fresh secrets for each router; :func:`peer_credentials` is
what the peer scripts get (passwords and seeds, never the derived server-side keys).
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

from autostrada.auth import CryptosignKey, ScramCredential, derive_key
from autostrada.router.config import ListenerConfig, ServerConfig
from autostrada.router.core import (
    AnonymousAuth,
    CryptosignAuth,
    CryptosignPrincipal,
    Permission,
    RealmConfig,
    RoleConfig,
    RouterConfig,
    ScramAuth,
    ScramPrincipal,
    TicketAuth,
    TicketPrincipal,
    WampCraAuth,
    WampCraPrincipal,
)

__all__ = ["REALM", "Credentials", "router_config"]

REALM = "realm1"


def _token() -> str:
    return secrets.token_urlsafe(12)


@dataclass(frozen=True)
class Credentials:
    """The static principals of the test realm (authid, secret, role of each method)."""

    ticket_authid: str = "ticket-user"
    ticket: str = field(default_factory=_token)
    cra_authid: str = "cra-user"
    cra_secret: str = field(default_factory=_token)
    cra_salted_authid: str = "cra-salted-user"
    cra_salted_password: str = field(default_factory=_token)
    cra_salt: str = field(default_factory=lambda: "salt-" + secrets.token_hex(4))
    cra_iterations: int = 100
    cra_keylen: int = 32
    cryptosign_authid: str = "cryptosign-user"
    cryptosign_seed: str = field(default_factory=lambda: CryptosignKey.generate().seed_hex())
    scram_authid: str = "scram-user"
    scram_password: str = field(default_factory=_token)
    scram_pbkdf2_authid: str = "scram-pbkdf2-user"
    scram_pbkdf2_password: str = field(default_factory=_token)
    role: str = "user"
    cryptosign_role: str = "backend"

    @property
    def cryptosign_pubkey(self) -> str:
        return CryptosignKey.from_hex(self.cryptosign_seed).public_key_hex

    def for_peer(self) -> dict[str, Any]:
        """What a peer script needs to authenticate (and the public key to check)."""
        return {**asdict(self), "cryptosign_pubkey": self.cryptosign_pubkey}


def _scram(password: str, kdf: str, iterations: int, memory: int | None) -> ScramPrincipal:
    # Low costs keep the tests fast; the math is the same at any cost.
    c = ScramCredential.from_password(password, kdf=kdf, iterations=iterations, memory=memory)
    return ScramPrincipal(
        c.kdf, c.iterations, c.salt.hex(), c.stored_key.hex(), c.server_key.hex(), "user", c.memory
    )


def router_config(creds: Credentials) -> ServerConfig:
    """The test router's configuration for ``creds``."""
    denied = Permission("com.denied.", "prefix")
    disclosing = (Permission.allow_all(disclose=True), denied)
    salted_key = derive_key(
        creds.cra_salted_password, creds.cra_salt, creds.cra_iterations, creds.cra_keylen
    ).decode()
    realm = RealmConfig(
        name=REALM,
        roles=(
            RoleConfig("anonymous", disclosing),
            RoleConfig("user", disclosing),
            RoleConfig("backend", (Permission.allow_all(),)),
        ),
        auth=(
            AnonymousAuth(role="anonymous"),
            TicketAuth(principals={creds.ticket_authid: TicketPrincipal(creds.ticket, creds.role)}),
            WampCraAuth(
                principals={
                    creds.cra_authid: WampCraPrincipal(creds.cra_secret, creds.role),
                    creds.cra_salted_authid: WampCraPrincipal(
                        salted_key,
                        creds.role,
                        salt=creds.cra_salt,
                        iterations=creds.cra_iterations,
                        keylen=creds.cra_keylen,
                    ),
                }
            ),
            CryptosignAuth(
                principals={
                    creds.cryptosign_authid: CryptosignPrincipal(
                        (creds.cryptosign_pubkey,), creds.cryptosign_role
                    )
                }
            ),
            ScramAuth(
                principals={
                    creds.scram_authid: _scram(creds.scram_password, "argon2id-13", 16, 512),
                    creds.scram_pbkdf2_authid: _scram(
                        creds.scram_pbkdf2_password, "pbkdf2", 1000, None
                    ),
                }
            ),
        ),
    )
    return ServerConfig(
        router=RouterConfig(realms=(realm,)),
        listeners=(ListenerConfig(kind="universal", host="127.0.0.1", port=0),),
    )
