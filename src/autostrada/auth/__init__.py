"""Authentication math for WAMP, both sides: ticket, WAMP-CRA, WAMP-Cryptosign, WAMP-SCRAM.

Spec: ``wamp-spec/rfc/text/advanced/authentication_*.md``. Where deployed Crossbar.io and
Autobahn differ from it we follow them; such places are marked ``DIVERGENCES:`` (see
``shared/DIVERGENCES.md``). Pure: no I/O, no clock (``now`` is an argument), randomness
from :mod:`secrets` unless the caller supplies it.

* **Client**: send a ticket as is; :func:`answer_wampcra`; :class:`CryptosignKey` with
  :func:`cryptosign_authextra` (HELLO) and :func:`answer_cryptosign`; :class:`ScramClient`.
* **Router**: :func:`verify_ticket`; :func:`make_wampcra_challenge`,
  :func:`wampcra_challenge_extra`, :func:`verify_wampcra`; :func:`make_cryptosign_challenge`,
  :func:`verify_cryptosign`; :class:`ScramServer` with a :class:`ScramCredential`.

Errors (DESIGN.md §3): **local misuse** (a malformed key, seed, credential or channel id
from our own caller or config) raises :class:`ValueError`/:class:`TypeError`. **Junk from
the peer** (CHALLENGE.Extra, HELLO authextra, AUTHENTICATE, WELCOME authextra) makes
``answer_*``, ``parse_*`` and the SCRAM classes raise
:class:`~autostrada.exceptions.AuthenticationFailed`, and makes every ``verify*`` return
``False``; it never raises anything else. Secrets never appear in messages or reprs, and
secret-derived values are compared with :func:`hmac.compare_digest`.

One module per method (:mod:`.ticket`, :mod:`.wampcra`, :mod:`.cryptosign`, :mod:`.scram`)
on shared :mod:`.primitives`; every public name is importable from here.

SCRAM with argon2id needs ``argon2-cffi`` (``pip install 'autostrada[scram]'``), imported
when first used; :class:`ImportError` naming the extra otherwise. PBKDF2 needs nothing.
"""

from __future__ import annotations

from .cryptosign import (
    CHANNEL_BINDINGS,
    CRYPTOSIGN,
    CryptosignKey,
    answer_cryptosign,
    cryptosign_authextra,
    cryptosign_message,
    make_cryptosign_challenge,
    parse_hex32,
    tls_channel_id,
    verify_cryptosign,
)
from .primitives import MAX_ARGON2_ITERATIONS as MAX_ARGON2_ITERATIONS
from .primitives import MAX_ARGON2_MEMORY as MAX_ARGON2_MEMORY
from .primitives import MAX_KEYLEN as MAX_KEYLEN
from .primitives import MAX_PBKDF2_ITERATIONS as MAX_PBKDF2_ITERATIONS
from .scram import (
    KDF_ARGON2ID,
    KDF_PBKDF2,
    SCRAM,
    SCRAM_AUTHMETHODS,
    ScramClient,
    ScramCredential,
    ScramServer,
    saslprep,
    scram_auth_message,
    scram_client_proof,
    scram_nonce,
    scram_salted_password,
    scram_server_signature,
)
from .ticket import TICKET, verify_ticket
from .wampcra import (
    WAMPCRA,
    answer_wampcra,
    compute_wcs,
    derive_key,
    format_timestamp,
    make_wampcra_challenge,
    verify_wampcra,
    wampcra_challenge_extra,
)
from .wampcra import WAMPCRA_ITERATIONS as WAMPCRA_ITERATIONS
from .wampcra import WAMPCRA_KEYLEN as WAMPCRA_KEYLEN

# fmt: off
__all__ = [
    "TICKET", "WAMPCRA", "CRYPTOSIGN", "SCRAM", "SCRAM_AUTHMETHODS", "CHANNEL_BINDINGS",
    "KDF_ARGON2ID", "KDF_PBKDF2",
    "verify_ticket",
    "derive_key", "compute_wcs", "format_timestamp", "make_wampcra_challenge",
    "wampcra_challenge_extra", "answer_wampcra", "verify_wampcra",
    "CryptosignKey", "tls_channel_id", "cryptosign_message", "make_cryptosign_challenge",
    "parse_hex32", "answer_cryptosign", "verify_cryptosign", "cryptosign_authextra",
    "saslprep", "scram_nonce", "scram_salted_password", "scram_auth_message",
    "scram_client_proof", "scram_server_signature",
    "ScramCredential", "ScramClient", "ScramServer",
]
# fmt: on
