"""Authentication math (src/autostrada/auth/): known answers, round trips, peer junk.

Sources of the known answers are noted where they are used:

* WAMP spec, ``authentication_cryptosign.md``: the six "Test Vectors" and the signatures in
  "Example Message Flow", Example 1 and Example 2 (which shows its tls-unique channel id).
* RFC 7914 §11: PBKDF2-HMAC-SHA256 test vectors.
* Autobahn|Python tests (``autobahn/wamp/test/test_auth.py``, ``test_wamp_scram.py``):
  ``derive_key``, ``compute_wcs``, the argon2id and pbkdf2 SCRAM hashes, and a
  ``derive_scram_credential`` vector (stored-key/server-key as Crossbar's config holds them).
* Crossbar.io examples (WAMP-CRA salted principal ``peter``/``anohni``):
  ``derive_key("secret1", "salt123", 100, 16) == "prq7+YkJ1/KlW1X0YczMHw=="``.
* RFC 7677 §3: the SCRAM-SHA-256 exchange (user ``user``, password ``pencil``), whose
  proof and verifier the WAMP spec's SCRAM examples reuse.
* RFC 4013 §3: SASLprep examples.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sys
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from autostrada import auth
from autostrada.auth import (
    CryptosignKey,
    ScramClient,
    ScramCredential,
    ScramServer,
)
from autostrada.exceptions import AuthenticationFailed, InvalidState


def flip_bit(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


# --- ticket ---------------------------------------------------------------------------------


def test_ticket() -> None:
    assert auth.verify_ticket("secret!!!", "secret!!!")
    assert not auth.verify_ticket("secret!!!", "secret!!")
    assert not auth.verify_ticket("secret!!!", None)
    assert not auth.verify_ticket("secret!!!", b"secret!!!")
    assert not auth.verify_ticket("secret!!!", "sécret!!!")  # non-ASCII junk: no TypeError


@given(st.text(min_size=1), st.data())
def test_ticket_rejects_any_one_bit_change(ticket: str, data: st.DataObject) -> None:
    raw = ticket.encode()
    bit = data.draw(st.integers(0, len(raw) * 8 - 1))
    changed = flip_bit(raw, bit).decode("utf-8", "replace")
    assume(changed != ticket)  # a flip inside a replaced sequence may decode the same
    assert auth.verify_ticket(ticket, ticket)
    assert not auth.verify_ticket(ticket, changed)


# --- WAMP-CRA -------------------------------------------------------------------------------

# RFC 7914 §11, PBKDF2-HMAC-SHA256 (password, salt, iterations, dkLen, hex).
RFC7914_PBKDF2 = [
    (
        b"passwd",
        b"salt",
        1,
        64,
        "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
        "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783",
    ),
    (
        b"Password",
        b"NaCl",
        80000,
        64,
        "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
        "a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d",
    ),
]


@pytest.mark.parametrize(("password", "salt", "iterations", "keylen", "expected"), RFC7914_PBKDF2)
def test_derive_key_is_base64_of_pbkdf2_sha256(
    password: bytes, salt: bytes, iterations: int, keylen: int, expected: str
) -> None:
    key = auth.derive_key(password, salt, iterations, keylen)
    assert base64.b64decode(key).hex() == expected


def test_derive_key_known_values() -> None:
    # Autobahn test_auth.py::test_derive_key (defaults: 1000 iterations, 32 bytes).
    assert (
        auth.derive_key("L3L1YUE8Txlw", "salt123")
        == b"qzcdsr9uu/L5hnss3kjNTRe490ETgA70ZBaB5rvnJ5Y="
    )
    # Crossbar.io's WAMP-CRA examples: the salted principal's stored "secret".
    assert auth.derive_key("secret1", "salt123", 100, 16) == b"prq7+YkJ1/KlW1X0YczMHw=="


def test_compute_wcs_known_value() -> None:
    # Autobahn test_auth.py::test_compute_wcs.
    challenge = json.dumps([1, 2, 3], ensure_ascii=False)
    assert (
        auth.compute_wcs(b"L3L1YUE8Txlw", challenge)
        == "1njQtmmeYO41N5EWEzD2kAjjEKRZ5kPZt/TzpYXOzR0="
    )


def test_derive_key_rejects_bad_arguments() -> None:
    for iterations in (0, -1, True, 1.5, auth.MAX_PBKDF2_ITERATIONS + 1):
        with pytest.raises(ValueError, match="iterations"):
            auth.derive_key("s", "salt", iterations)  # type: ignore[arg-type]
    for keylen in (0, auth.MAX_KEYLEN + 1, "32"):
        with pytest.raises(ValueError, match="keylen"):
            auth.derive_key("s", "salt", 10, keylen)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="secret"):
        auth.derive_key(123, "salt")  # type: ignore[arg-type]


def test_format_timestamp() -> None:
    naive = datetime(2014, 6, 22, 16, 36, 25, 448999)
    assert auth.format_timestamp(naive) == "2014-06-22T16:36:25.448Z"
    aware = datetime(2014, 6, 22, 18, 36, 25, 448000, tzinfo=timezone(timedelta(hours=2)))
    assert auth.format_timestamp(aware) == "2014-06-22T16:36:25.448Z"


def test_make_wampcra_challenge_is_crossbar_json() -> None:
    challenge = auth.make_wampcra_challenge(
        authid="peter",
        authrole="user",
        authprovider="userdb",
        session_id=3251278072152162,
        now=datetime(2014, 6, 22, 16, 36, 25, 448000, tzinfo=UTC),
        nonce="LHRTC9zeOIrt_9U3",
    )
    assert challenge == (
        '{"authid": "peter", "authrole": "user", "authmethod": "wampcra", '
        '"authprovider": "userdb", "session": 3251278072152162, '
        '"nonce": "LHRTC9zeOIrt_9U3", "timestamp": "2014-06-22T16:36:25.448Z"}'
    )
    other = auth.make_wampcra_challenge(
        authid="pétér", authrole="r", authprovider="p", session_id=1, now="2020-01-01T00:00:00Z"
    )
    obj = json.loads(other)
    assert "pétér" in other  # ensure_ascii=False, as Crossbar
    assert obj["timestamp"] == "2020-01-01T00:00:00Z"
    assert len(obj["nonce"]) == 64
    base64.b64decode(obj["nonce"], validate=True)


def test_make_wampcra_challenge_rejects_bad_types() -> None:
    kwargs: dict[str, Any] = {
        "authid": "a",
        "authrole": "r",
        "authprovider": "p",
        "session_id": 1,
        "now": "t",
    }
    with pytest.raises(TypeError, match="authrole"):
        auth.make_wampcra_challenge(**{**kwargs, "authrole": None})
    with pytest.raises(TypeError, match="session_id"):
        auth.make_wampcra_challenge(**{**kwargs, "session_id": "1"})


def reference_wcs(key: bytes, challenge: str) -> str:
    """WAMP-CRA signature computed here from hmac/hashlib, independently of the module."""
    return base64.b64encode(hmac.new(key, challenge.encode(), hashlib.sha256).digest()).decode()


def test_wampcra_unsalted_exchange() -> None:
    challenge = auth.make_wampcra_challenge(
        authid="joe", authrole="frontend", authprovider="static", session_id=7, now="x"
    )
    extra = auth.wampcra_challenge_extra(challenge)
    assert extra == {"challenge": challenge}
    signature = auth.answer_wampcra("secret2", extra)
    assert signature == reference_wcs(b"secret2", challenge)
    assert auth.verify_wampcra("secret2", challenge, signature)
    assert not auth.verify_wampcra("secret3", challenge, signature)


def test_wampcra_salted_exchange() -> None:
    challenge = auth.make_wampcra_challenge(
        authid="peter", authrole="frontend", authprovider="static", session_id=7, now="x"
    )
    extra = auth.wampcra_challenge_extra(challenge, salt="salt123", iterations=100, keylen=16)
    assert extra == {"challenge": challenge, "salt": "salt123", "iterations": 100, "keylen": 16}
    signature = auth.answer_wampcra(b"secret1", extra)
    derived = hashlib.pbkdf2_hmac("sha256", b"secret1", b"salt123", 100, 16)
    assert signature == reference_wcs(base64.b64encode(derived), challenge)
    # The router holds the derived key, as Crossbar's salted principal does.
    assert auth.verify_wampcra("prq7+YkJ1/KlW1X0YczMHw==", challenge, signature)


def test_wampcra_salt_defaults_when_parameters_absent_or_null() -> None:
    expected = reference_wcs(
        base64.b64encode(hashlib.pbkdf2_hmac("sha256", b"pw", b"s", 1000, 32)), "c"
    )
    assert auth.answer_wampcra("pw", {"challenge": "c", "salt": "s"}) == expected
    extra = {"challenge": "c", "salt": "s", "iterations": None, "keylen": None}
    assert auth.answer_wampcra("pw", extra) == expected
    assert auth.answer_wampcra("pw", {"challenge": "c", "salt": None}) == reference_wcs(b"pw", "c")


@pytest.mark.parametrize(
    "extra",
    [
        None,
        ["challenge"],
        {},
        {"challenge": 5},
        {"challenge": "c", "salt": 5},
        {"challenge": "c", "salt": "s", "iterations": "1000"},
        {"challenge": "c", "salt": "s", "iterations": True},
        {"challenge": "c", "salt": "s", "iterations": 0},
        {"challenge": "c", "salt": "s", "iterations": 10**12},
        {"challenge": "c", "salt": "s", "keylen": 10**9},
    ],
)
def test_answer_wampcra_rejects_junk(extra: Any) -> None:
    with pytest.raises(AuthenticationFailed):
        auth.answer_wampcra("pw", extra)


def test_verify_wampcra_rejects_junk() -> None:
    for junk in (None, 5, b"x", "", "ü" * 44, "=" * 44):
        assert not auth.verify_wampcra("k", "c", junk)


@given(st.binary(min_size=1, max_size=64), st.text(max_size=200), st.integers(0, 255))
def test_wampcra_rejects_any_one_bit_change(key: bytes, challenge: str, bit: int) -> None:
    signature = auth.compute_wcs(key, challenge)
    assert auth.verify_wampcra(key, challenge, signature)
    tampered = base64.b64encode(flip_bit(base64.b64decode(signature), bit)).decode()
    assert not auth.verify_wampcra(key, challenge, tampered)


# --- WAMP-Cryptosign ------------------------------------------------------------------------

# The spec's "Test Vectors" (authentication_cryptosign.md), channel id with tls-unique.
CID = "62e935ae755f3d48f80d4d59f6121358c435722a67e859cc0caa8b539027f2ff"
K1 = "4d57d97a68f555696620a6d849c0ce582568518d729eb753dc7c732de2804510"
K2 = "d511fe78e23934b3dadb52fcd022974b80bd92bccc7c5cf404e46cc0a8a2f5cd"
K3 = "6e1fde9cf9e2359a87420b65a87dc0c66136e66945196ba2475990d8a0c3a25b"
C1 = "ff" * 32
C2 = "b26c1f87c13fc1da14997f1b5a71995dff8fbe0a62fae8473c7bdbd05bfb607d"
C3 = "b05e6b8ad4d69abf74aa3be3c0ee40ae07d66e1895b9ab09285a2f1192d562d2"
SPEC_VECTORS = [
    (
        None,
        K1,
        C1,
        "b32675b221f08593213737bef8240e7c15228b07028e19595294678c90d11c0c"
        "ae80a357331bfc5cc9fb71081464e6e75013517c2cf067ad566a6b7b728e5d03" + C1,
    ),
    (
        None,
        K2,
        C2,
        "d4209ad10d5aff6bfbc009d7e924795de138a63515efc7afc6b01b7fe5201372"
        "190374886a70207b042294af5bd64ce725cd8dceb344e6d11c09d1aaaf4d660f" + C2,
    ),
    (
        None,
        K3,
        C3,
        "7beb282184baadd08f166f16dd683b39cab53816ed81e6955def951cb2ddad1e"
        "c184e206746fd82bda075af03711d3d5658fc84a76196b0fa8d1ebc92ef9f30b" + C3,
    ),
    (
        CID,
        K1,
        C1,
        "9b6f41540c9b95b4b7b281c3042fa9c54cef43c842d62ea3fd6030fcb66e70b3"
        "e80d49d44c29d1635da9348d02ec93f3ed1ef227dfb59a07b580095c2b82f80f"
        "9d16ca518aa0c2b707f2b2a609edeca73bca8dd59817a633f35574ac6fd80d00",
    ),
    (
        CID,
        K2,
        C2,
        "305aaa3ac25e98f651427688b3fc43fe7d8a68a7ec1d7d61c61517c519bd4a42"
        "7c3015599d83ca28b4c652333920223844ef0725eb5dc2febfd6af7677b73f01"
        "d0852a29b460fc92ec943242ac638a053bbacc200512b18b30d15083cbdc9282",
    ),
    (
        CID,
        K3,
        C3,
        "ee3c7644fd8070532bc1fde3d70d742267da545d8c8f03e63bda63f1ad4214f4"
        "d2c4bfdb4eb9526def42deeb7e31602a6ff99eba893e0a4ad4d45892ca75e608"
        "d2b75e24a189a7f78ca776ba36fc53f6c3e31c32f251f2c524f0a44202f2902d",
    ),
]


@pytest.mark.parametrize(("channel_id", "private_key", "challenge", "signature"), SPEC_VECTORS)
def test_cryptosign_spec_vectors(
    channel_id: str | None, private_key: str, challenge: str, signature: str
) -> None:
    key = CryptosignKey.from_hex(private_key)
    binding = "tls-unique" if channel_id else None
    cid = bytes.fromhex(channel_id) if channel_id else None
    assert key.sign_challenge(challenge, binding, cid) == signature
    assert (
        auth.answer_cryptosign(
            key, {"challenge": challenge}, channel_binding=binding, channel_id=cid
        )
        == signature
    )
    assert auth.verify_cryptosign(key.public_key_hex, challenge, signature, binding, cid)
    assert auth.verify_cryptosign(key.public_key_hex, challenge, signature.upper(), binding, cid)


# Signatures from the spec's message exchanges (pubkey, challenge, signature, channel id).
PK_CLIENT = "545efb0a2192db8d43f118e9bf9aee081466e1ef36c708b96ee6f62dddad9122"
PK_ROUTER = "4a3838f6fe75251e613329d53fc69b262d5eac97fb1d73bebbaed4015b53c862"
EX2_CID = bytes.fromhex("e973bee24dcea9e20625f949c0e3cd28d632ccbefe4907c2fac2728710f7b160")
SPEC_EXCHANGES = [
    (  # "Example Message Flow": client signature
        PK_CLIENT,
        "fa034062ad76352b53a25358854577730db82f367aa439709c91296d04a5716c",
        "e2f0297a193b63b7a4a92028e9e2e6107f82730560d54a657bd982cb4b315149"
        "0399debbbde998e494d3c3b2a5e2e91271291e10dee85a6cfaa127885ddd8b0a"
        "fa034062ad76352b53a25358854577730db82f367aa439709c91296d04a5716c",
        None,
    ),
    (  # Example 1: router authentication (router signs the client's HELLO challenge)
        PK_ROUTER,
        "bbae60ea44cdd7b20dc7010a618b0f0803fab25a817520b4b7f057299b524deb",
        "fd5128d2d207ba58a9d1d6f41b72c747964ad9d1294077b3b1eee6130b05843a"
        "b12c53c7f2519f73d4feb82db19d8ca0fc26b62bde6518e79a882f5795bc9f00"
        "bbae60ea44cdd7b20dc7010a618b0f0803fab25a817520b4b7f057299b524deb",
        None,
    ),
    (  # Example 1: client authentication
        PK_CLIENT,
        "0e9192bc08512c8198da159c1ae600ba91729215f35d56102ee318558e773537",
        "a3a178fe792ed772a8fc092f8341e455de96670c8901264a7c312dbf940d5743"
        "626fe9fbc29b23dcd2169b308eca309de85a89ccd296b24835de3d95b16b7703"
        "0e9192bc08512c8198da159c1ae600ba91729215f35d56102ee318558e773537",
        None,
    ),
    (  # Example 2: router authentication with tls-unique (channel id from its WELCOME)
        PK_ROUTER,
        "4f861f12796c2972b7b0026522a687aa851d90355122a61d4f1fdce4d06b564f",
        "aa05f4cd7747d36b79443f1d4703a681e107edc085d876b508714e2a3a8135ba"
        "caae1c018452c4acb3ad2818aa97a6d23e5ac7e3734c7b1f40e6232a70938205"
        "a6f5a1f034a28090b195fb2ce2454a82532f5c8baf6ba1dfb5ddae63c09ce72f",
        EX2_CID,
    ),
    (  # Example 2: client authentication with tls-unique
        PK_CLIENT,
        "358625312c6c3bf64ed51d17d210ce21af1639c774cabf5735a9651d7d91fc6a",
        "25114474580d6e99a6126b091b4565c23db567d686c5b8c3a94e3f2f09dc8030"
        "0c5b40a124236733fa56396df721eb12ac092362379bd5b27b4db9e2beaa1408"
        "dcf59bd361a2921448f0e45e12f303097924f5798a83b895cf6b179a6d664d0a",
        EX2_CID,
    ),
]


@pytest.mark.parametrize(("pubkey", "challenge", "signature", "channel_id"), SPEC_EXCHANGES)
def test_cryptosign_spec_exchanges_verify(
    pubkey: str, challenge: str, signature: str, channel_id: bytes | None
) -> None:
    binding = "tls-unique" if channel_id else None
    assert auth.verify_cryptosign(pubkey, challenge, signature, binding, channel_id)
    if channel_id:  # without the binding the same signature must not pass
        assert not auth.verify_cryptosign(pubkey, challenge, signature)


def test_cryptosign_key_constructors() -> None:
    key = CryptosignKey.from_hex(K1)
    assert key.public_key_hex == "1adfc8bfe1d35616e64dffbd900096f23b066f914c8c2ffbb66f6075b96e116d"
    assert key.public_key == bytes.fromhex(key.public_key_hex)
    assert key.seed_hex() == K1
    assert CryptosignKey.from_hex(K1.upper()).public_key_hex == key.public_key_hex
    assert K1 not in repr(key) and key.public_key_hex in repr(key)
    fresh = CryptosignKey.generate()
    assert CryptosignKey.from_seed(bytes.fromhex(fresh.seed_hex())).public_key == fresh.public_key
    assert len(key.sign(b"data")) == 64
    for bad_hex in ("00" * 31, "zz" * 32, K1 + "00", None):
        with pytest.raises(ValueError, match="64 hex"):
            CryptosignKey.from_hex(bad_hex)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="32 bytes"):
        CryptosignKey.from_seed(b"\x00" * 31)
    with pytest.raises(TypeError, match="Ed25519PrivateKey"):
        CryptosignKey("not a key")  # type: ignore[arg-type]


def test_cryptosign_key_from_openssh() -> None:
    private = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(K2))
    text = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    assert CryptosignKey.from_openssh(text).seed_hex() == K2
    assert CryptosignKey.from_openssh(text.decode()).seed_hex() == K2
    ecdsa = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    with pytest.raises(ValueError, match="not an Ed25519"):
        CryptosignKey.from_openssh(ecdsa)
    with pytest.raises(ValueError, match="not a readable"):
        CryptosignKey.from_openssh("-----BEGIN OPENSSH PRIVATE KEY-----\ngarbage\n")


def test_tls_channel_id() -> None:
    assert auth.tls_channel_id("tls-unique", b"finished") == hashlib.sha256(b"finished").digest()
    assert auth.tls_channel_id("tls-exporter", b"\x01" * 32) == b"\x01" * 32
    with pytest.raises(ValueError, match="32 bytes"):
        auth.tls_channel_id("tls-exporter", b"\x01" * 12)
    with pytest.raises(ValueError, match="non-empty"):
        auth.tls_channel_id("tls-unique", b"")
    with pytest.raises(ValueError, match="one of"):
        auth.tls_channel_id("tls-server-end-point", b"x")


def test_cryptosign_message_binding_rules() -> None:
    cid = bytes(range(1, 33))
    assert auth.cryptosign_message(C1) == b"\xff" * 32
    assert auth.cryptosign_message(C1, "tls-exporter", cid) == bytes(b ^ 0xFF for b in cid)
    cases: list[tuple[Any, Any, Any, str]] = [
        ("ff" * 31, None, None, "64 hex"),
        (5, None, None, "64 hex"),
        (C1, None, cid, "without a channel_binding"),
        (C1, "tls-server-end-point", cid, "one of"),
        (C1, "tls-unique", None, "32-byte"),
        (C1, "tls-unique", cid[:31], "32-byte"),
        (C1, "tls-unique", bytes(32), "all zeros"),  # DIVERGENCES: never bind to zeros
    ]
    for challenge, binding, channel_id, message in cases:
        with pytest.raises(ValueError, match=message):
            auth.cryptosign_message(challenge, binding, channel_id)


def test_make_cryptosign_challenge_and_parse_hex32() -> None:
    challenge = auth.make_cryptosign_challenge()
    assert auth.parse_hex32(challenge) == challenge
    assert challenge != auth.make_cryptosign_challenge()
    assert auth.parse_hex32(PK_CLIENT.upper()) == PK_CLIENT
    for junk in (None, 5, "ab", PK_CLIENT + "0", " " + PK_CLIENT[1:]):
        with pytest.raises(AuthenticationFailed, match="pubkey"):
            auth.parse_hex32(junk)


def test_verify_cryptosign_junk_and_misuse() -> None:
    key = CryptosignKey.from_hex(K1)
    good = key.sign_challenge(C2)
    other_challenge_sig = key.sign_challenge(C3)
    for junk in (
        None,
        5,
        good[:-2],
        good + "00",
        "zz" + good[2:],
        good[:128] + C3,
        other_challenge_sig,
    ):
        assert not auth.verify_cryptosign(key.public_key_hex, C2, junk)
    # the last 32 bytes are right but the signature is not by this key
    forged = CryptosignKey.from_hex(K2).sign_challenge(C2)
    assert not auth.verify_cryptosign(key.public_key_hex, C2, forged)
    with pytest.raises(ValueError, match="pubkey"):
        auth.verify_cryptosign("00", C2, good)
    with pytest.raises(ValueError, match="32-byte"):
        auth.verify_cryptosign(key.public_key_hex, C2, good, "tls-unique", None)


def test_answer_cryptosign_binding_checks() -> None:
    key = CryptosignKey.from_hex(K1)
    cid = bytes.fromhex(CID)
    bound = key.sign_challenge(C1, "tls-unique", cid)
    # echoed as requested, or not echoed at all (Crossbar): bound signature
    for extra in ({"challenge": C1, "channel_binding": "tls-unique"}, {"challenge": C1}):
        assert (
            auth.answer_cryptosign(key, extra, channel_binding="tls-unique", channel_id=cid)
            == bound
        )
    assert auth.answer_cryptosign(
        key, {"challenge": C1, "channel_binding": None}
    ) == key.sign_challenge(C1)
    # a downgrade to null, a different binding, or one we never asked for
    refused: list[tuple[dict[str, Any], str | None]] = [
        ({"challenge": C1, "channel_binding": None}, "tls-unique"),
        ({"challenge": C1, "channel_binding": "tls-exporter"}, "tls-unique"),
        ({"challenge": C1, "channel_binding": "tls-unique"}, None),
    ]
    for extra, binding in refused:
        with pytest.raises(AuthenticationFailed, match="channel binding"):
            auth.answer_cryptosign(
                key, extra, channel_binding=binding, channel_id=cid if binding else None
            )
    for junk in (None, {}, {"challenge": "xyz"}, {"challenge": 7}):
        with pytest.raises(AuthenticationFailed):
            auth.answer_cryptosign(key, junk)  # type: ignore[arg-type]


def test_cryptosign_authextra() -> None:
    key = CryptosignKey.from_hex(K1)
    pub = key.public_key_hex
    assert auth.cryptosign_authextra(key) == {"pubkey": pub}
    assert auth.cryptosign_authextra(key, channel_binding="tls-unique") == {
        "pubkey": pub,
        "channel_binding": "tls-unique",
    }
    config = {"pubkey": pub.upper(), "channel_binding": "tls-exporter", "x": 1}
    out = auth.cryptosign_authextra(key, authextra=config)
    assert out == {"pubkey": pub.upper(), "channel_binding": "tls-exporter", "x": 1}
    assert out is not config
    assert auth.cryptosign_authextra(key, authextra={"channel_binding": None}) == {"pubkey": pub}
    assert config == {"pubkey": pub.upper(), "channel_binding": "tls-exporter", "x": 1}
    with pytest.raises(ValueError, match="does not match"):
        auth.cryptosign_authextra(key, authextra={"pubkey": "00" * 32})
    with pytest.raises(ValueError, match="does not match"):
        auth.cryptosign_authextra(key, authextra={"pubkey": 5})
    with pytest.raises(ValueError, match="conflicts"):
        auth.cryptosign_authextra(key, channel_binding="tls-unique", authextra=config)
    with pytest.raises(ValueError, match="one of"):
        auth.cryptosign_authextra(key, channel_binding="tls-other")


binding_and_id = st.one_of(
    st.tuples(st.none(), st.none()),
    st.tuples(
        st.sampled_from(auth.CHANNEL_BINDINGS),
        st.binary(min_size=32, max_size=32).filter(any),
    ),
)


@settings(max_examples=50)
@given(
    st.binary(min_size=32, max_size=32),
    st.binary(min_size=32, max_size=32),
    binding_and_id,
    st.integers(0, 96 * 8 - 1),
)
def test_cryptosign_round_trip_and_one_bit_change(
    seed: bytes, challenge: bytes, binding: tuple[str | None, bytes | None], bit: int
) -> None:
    key = CryptosignKey.from_seed(seed)
    channel_binding, channel_id = binding
    signature = key.sign_challenge(challenge.hex(), channel_binding, channel_id)
    assert len(signature) == 192
    assert auth.verify_cryptosign(
        key.public_key_hex, challenge.hex(), signature, channel_binding, channel_id
    )
    tampered = flip_bit(bytes.fromhex(signature), bit).hex()
    assert not auth.verify_cryptosign(
        key.public_key_hex, challenge.hex(), tampered, channel_binding, channel_id
    )


# --- SCRAM ----------------------------------------------------------------------------------

FAST_ARGON2: dict[str, Any] = {"kdf": "argon2id-13", "iterations": 2, "memory": 64}
FAST_PBKDF2: dict[str, Any] = {"kdf": "pbkdf2", "iterations": 64}


def test_scram_salted_password_argon2id_known_value() -> None:
    # Autobahn test_auth.py::test_argon2id_static ("re-generate from the official argon2
    # tools": argon2 '1234567890abcdef' -id -t 4096 -m 9 -p 1 -l 32).
    salted = auth.scram_salted_password("p4ssw0rd", "argon2id-13", b"1234567890abcdef", 4096, 512)
    raw = bytes.fromhex("21d60e8c6424bc463d021e4537d6b8aaaef013f44d20b3a2c44e78d3cb71d3e4")
    # DIVERGENCES: the key is the unpadded base64 text of the hash
    assert salted == base64.b64encode(raw).rstrip(b"=")
    assert salted == b"IdYOjGQkvEY9Ah5FN9a4qq7wE/RNILOixE5408tx0+Q"


def test_scram_salted_password_is_the_phc_hash_field() -> None:
    from argon2.low_level import Type, hash_secret

    encoded = hash_secret(b"pw", b"saltsalt", 2, 64, 1, 32, Type.ID, 19)
    assert encoded.split(b"$")[-1] == auth.scram_salted_password(
        "pw", "argon2id13", b"saltsalt", 2, 64
    )


def test_scram_salted_password_pbkdf2_known_value() -> None:
    # Autobahn test_auth.py::test_pbkdf2_static.
    salted = auth.scram_salted_password("p4ssw0rd", "pbkdf2", b"1234567890abcdef", 4096)
    assert salted.hex() == "fb739b1b01984a0bcae1332b2d179ce68af1a45430a51c63d2dee031c7ab7850"


def test_scram_credential_known_value() -> None:
    # Autobahn test_wamp_scram.py, second vector of derive_scram_credential (Crossbar config form).
    cred = ScramCredential.from_password(
        "secret123", salt=bytes.fromhex("ae1f0d2f422757809077785e660b62c6")
    )
    assert cred.to_config() == {
        "iterations": 4096,
        "kdf": "argon2id-13",
        "memory": 512,
        "salt": "ae1f0d2f422757809077785e660b62c6",
        "server-key": "0d8e7e9222a7c0e54c9e979aa342115699ff5696c45dc379b5ee241338a5861d",
        "stored-key": "5f19358ff6f38e267b6ef1ea1d862514ec4e8745a84682259fd3894be09febb5",
    }
    assert ScramCredential.from_config(cred.to_config()) == cred


def test_scram_proof_math_rfc7677_vector() -> None:
    # RFC 7677 §3 (SCRAM-SHA-256), reused by the spec's SCRAM examples: with the RFC's
    # AuthMessage (c=biws), PBKDF2 raw output as SaltedPassword, our proof math agrees.
    client_nonce, server_nonce = (
        "rOprNGfwEbeRWgbNEkqO",
        "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
    )
    salt_b64 = "W22ZaJ0SNY7soEsUEjb6gQ=="
    auth_message = (
        f"n=user,r={client_nonce},r={server_nonce},s={salt_b64},i=4096,c=biws,r={server_nonce}"
    ).encode()
    salted = auth.scram_salted_password("pencil", "pbkdf2", base64.b64decode(salt_b64), 4096)
    proof = auth.scram_client_proof(salted, auth_message)
    assert base64.b64encode(proof).decode() == "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    signature = auth.scram_server_signature(salted, auth_message)
    assert base64.b64encode(signature).decode() == "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="


def reference_scram_proof(
    password: str, authid: str, client_nonce: str, extra: dict[str, Any]
) -> str:
    """ClientProof computed here from hashlib/hmac/argon2, independently of the module."""
    salt = base64.b64decode(extra["salt"])
    if extra["kdf"] == "pbkdf2":
        salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, extra["iterations"], 32)
    else:
        from argon2.low_level import Type, hash_secret

        encoded = hash_secret(
            password.encode(), salt, extra["iterations"], extra["memory"], 1, 32, Type.ID, 19
        )
        salted = encoded.split(b"$")[-1]
    message = "n={},r={},r={},s={},i={},c=,r={}".format(
        authid, client_nonce, extra["nonce"], extra["salt"], extra["iterations"], extra["nonce"]
    ).encode()
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    signature = hmac.new(hashlib.sha256(client_key).digest(), message, hashlib.sha256).digest()
    return base64.b64encode(
        bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
    ).decode()


@pytest.mark.parametrize(
    "params",
    [FAST_ARGON2, FAST_PBKDF2],
    ids=["argon2id", "pbkdf2"],
)
def test_scram_full_exchange(params: dict[str, Any]) -> None:
    cred = ScramCredential.from_password("pässword", **params)
    client = ScramClient("alice", "pässword")
    assert set(client.authextra) == {"nonce"}
    server = ScramServer("alice", client.authextra, cred)
    extra = server.challenge_extra
    assert extra["kdf"] == params["kdf"] and extra["iterations"] == params["iterations"]
    assert extra.get("memory") == params.get("memory")  # no "memory" key for pbkdf2
    assert base64.b64decode(extra["nonce"]).startswith(base64.b64decode(client.authextra["nonce"]))
    proof = client.answer(extra)
    assert proof == reference_scram_proof("pässword", "alice", client.authextra["nonce"], extra)
    assert server.verify(proof, {})
    welcome = server.welcome_authextra()
    client.verify_welcome(welcome)
    # The spec's verifier member, plain or as "v=...", is accepted as well.
    client.verify_welcome({"verifier": welcome["scram_server_signature"]})
    client.verify_welcome({"verifier": "v=" + welcome["scram_server_signature"]})
    assert server.verify(
        proof, {"nonce": extra["nonce"], "channel_binding": None, "cbind_data": None}
    )
    assert repr(server) == f"ScramServer(kdf={params['kdf']!r}, verified=True)"


def test_scram_argon2_parameters_are_honoured() -> None:
    base = auth.scram_salted_password("pw", "argon2id-13", b"saltsalt", 2, 64)
    assert auth.scram_salted_password("pw", "argon2id-13", b"saltsalt", 3, 64) != base
    assert auth.scram_salted_password("pw", "argon2id-13", b"saltsalt", 2, 128) != base
    assert auth.scram_salted_password("pw", "argon2id-13", b"saltsalT", 2, 64) != base
    # A client follows the router's parameters: a credential made with other costs fails.
    cred = ScramCredential.from_password("pw", kdf="argon2id13", iterations=2, memory=64)
    assert cred.kdf == "argon2id-13"
    client = ScramClient("bob", "pw")
    server = ScramServer("bob", client.authextra, cred)
    extra = {**server.challenge_extra, "memory": 128}
    assert not server.verify(client.answer(extra))
    client = ScramClient("bob", "pw")
    server = ScramServer("bob", client.authextra, cred)
    assert server.verify(client.answer({**server.challenge_extra, "kdf": "argon2id13"}))


def test_scram_wrong_password_fails() -> None:
    cred = ScramCredential.from_password("right", **FAST_PBKDF2)
    client = ScramClient("carol", "wrong")
    server = ScramServer("carol", client.authextra, cred)
    assert not server.verify(client.answer(server.challenge_extra))
    with pytest.raises(InvalidState):
        server.welcome_authextra()


def test_scram_tampered_or_missing_server_signature_fails() -> None:
    cred = ScramCredential.from_password("pw", **FAST_PBKDF2)
    client = ScramClient("dave", "pw")
    server = ScramServer("dave", client.authextra, cred)
    assert server.verify(client.answer(server.challenge_extra))
    good = base64.b64decode(server.welcome_authextra()["scram_server_signature"])
    for bit in (0, 77, 255):
        with pytest.raises(AuthenticationFailed, match="wrong"):
            client.verify_welcome(
                {"scram_server_signature": base64.b64encode(flip_bit(good, bit)).decode()}
            )
    for junk in (
        None,
        {},
        {"scram_server_signature": None},
        {"verifier": 5},
        {"verifier": "v=%%"},
        "x",
    ):
        with pytest.raises(AuthenticationFailed):
            client.verify_welcome(junk)  # type: ignore[arg-type]


def test_scram_client_nonce_checks() -> None:
    client = ScramClient("eve", "pw", nonce="egVDf3DMJh0=")
    base = {"salt": "aBc+fx0NAVA=", **FAST_PBKDF2}
    # the spec's example appends text; Crossbar appends bytes
    client.answer({**base, "nonce": "egVDf3DMJh0=SBmkFIh7sSo="})
    crossbar_nonce = base64.b64encode(base64.b64decode("egVDf3DMJh0=") + b"\x01" * 16).decode()
    client.answer({**base, "nonce": crossbar_nonce})
    for nonce in ("egVDf3DMJh0=", "AAAAAAAAAAAAAAAAAAAAAAAA", "egVD", "!!!!", None):
        with pytest.raises(AuthenticationFailed, match="nonce"):
            client.answer({**base, "nonce": nonce})


@pytest.mark.parametrize(
    "change",
    [
        {"kdf": "scrypt"},
        {"kdf": None},
        {"channel_binding": "tls-unique"},
        {"salt": None},
        {"salt": "not base64!"},
        {"salt": "aBc+fx0NAVA"},  # unpadded
        {"salt": "aBc+fx0NAVB="},  # padding bits set: not canonical
        {"iterations": "64"},
        {"iterations": True},
        {"iterations": 0},
        {"iterations": auth.MAX_PBKDF2_ITERATIONS + 1},
        {"kdf": "argon2id-13", "memory": None},
        {"kdf": "argon2id-13", "memory": 4},
        {"kdf": "argon2id-13", "memory": auth.MAX_ARGON2_MEMORY + 1},
        {"kdf": "argon2id-13", "memory": 64, "iterations": auth.MAX_ARGON2_ITERATIONS + 1},
        {"kdf": "argon2id-13", "memory": 64, "salt": "c2FsdA=="},  # 4-byte salt
    ],
)
def test_scram_client_rejects_junk_challenge(change: dict[str, Any]) -> None:
    client = ScramClient("eve", "pw", nonce="egVDf3DMJh0=")
    extra = {"nonce": "egVDf3DMJh0=SBmkFIh7sSo=", "salt": "aBc+fx0NAVA=", **FAST_PBKDF2, **change}
    with pytest.raises(AuthenticationFailed):
        client.answer(extra)


def test_scram_client_misuse() -> None:
    client = ScramClient("eve", "pw")
    with pytest.raises(InvalidState):
        client.verify_welcome({"scram_server_signature": "AAAA"})
    with pytest.raises(AuthenticationFailed):
        client.answer(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ScramClient("eve", None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="saslprep"):
        ScramClient("bad\u0007id", "pw")
    assert "pw" not in repr(client) and "eve" in repr(client)
    assert len(base64.b64decode(auth.scram_nonce())) == 16


@pytest.mark.parametrize(
    ("authid", "authextra"),
    [
        (None, {"nonce": "AAAA"}),
        ("bad\u0007id", {"nonce": "AAAA"}),
        ("ok", None),
        ("ok", {}),
        ("ok", {"nonce": 5}),
        ("ok", {"nonce": ""}),
        ("ok", {"nonce": "A" * 260}),
        ("ok", {"nonce": "AAA"}),
        ("ok", {"nonce": "AAAA", "channel_binding": "tls-unique"}),
    ],
)
def test_scram_server_rejects_junk_hello(authid: Any, authextra: Any) -> None:
    cred = ScramCredential.from_password("pw", **FAST_PBKDF2)
    with pytest.raises(AuthenticationFailed):
        ScramServer(authid, authextra, cred)


def test_scram_server_rejects_junk_authenticate() -> None:
    cred = ScramCredential.from_password("pw", **FAST_PBKDF2)
    client = ScramClient("frank", "pw")
    server = ScramServer("frank", client.authextra, cred, nonce_bytes=b"\x02" * 16)
    proof = client.answer(server.challenge_extra)
    for junk in (None, 5, "", "%%%%", base64.b64encode(b"\x00" * 31).decode()):
        assert not server.verify(junk)
    assert not server.verify(proof, {"nonce": "other"})
    assert not server.verify(proof, {"channel_binding": "tls-unique"})
    assert server.verify(proof, "ignored non-dict extra")


SCRAM_FIXED_CRED = ScramCredential.from_password(
    "pw", kdf="pbkdf2", iterations=16, salt=b"fixedsalt"
)
SCRAM_FIXED_NONCE = "Y2xpZW50bm9uY2UxMjM0NQ=="
SCRAM_FIXED_PROOF = ScramClient("grace", "pw", nonce=SCRAM_FIXED_NONCE).answer(
    ScramServer(
        "grace", {"nonce": SCRAM_FIXED_NONCE}, SCRAM_FIXED_CRED, nonce_bytes=b"\x03" * 16
    ).challenge_extra
)


@settings(max_examples=50)
@given(st.integers(0, 255))
def test_scram_rejects_any_one_bit_change_of_the_proof(bit: int) -> None:
    proof = base64.b64decode(SCRAM_FIXED_PROOF)
    server = ScramServer(
        "grace", {"nonce": SCRAM_FIXED_NONCE}, SCRAM_FIXED_CRED, nonce_bytes=b"\x03" * 16
    )
    assert server.verify(SCRAM_FIXED_PROOF)
    assert not server.verify(base64.b64encode(flip_bit(proof, bit)).decode())


def test_scram_credential_config_and_checks() -> None:
    cred = ScramCredential.from_password("pw", **FAST_PBKDF2)
    config = cred.to_config()
    assert config["memory"] == 0 and config["kdf"] == "pbkdf2"  # Crossbar wants an int
    assert ScramCredential.from_config({**config, "memory": 512}).memory is None
    assert "stored_key" not in repr(cred) and config["stored-key"] not in repr(cred)
    missing = dict(config)
    del missing["server-key"]
    with pytest.raises(ValueError, match="server-key"):
        ScramCredential.from_config(missing)
    with pytest.raises(ValueError, match="hex"):
        ScramCredential.from_config({**config, "salt": "xyz"})
    with pytest.raises(ValueError, match="hex"):
        ScramCredential.from_config({**config, "salt": 5})
    with pytest.raises(ValueError, match="kdf"):
        ScramCredential.from_config({**config, "kdf": "md5"})
    with pytest.raises(ValueError, match="32 bytes"):
        ScramCredential.from_config({**config, "stored-key": "00"})
    with pytest.raises(ValueError, match="iterations"):
        ScramCredential.from_config({**config, "iterations": 0})
    with pytest.raises(ValueError, match="kdf"):
        ScramCredential.from_password("pw", kdf="md5")
    with pytest.raises(ValueError, match="kdf"):
        auth.scram_salted_password("pw", "md5", b"salt", 1)
    with pytest.raises(ValueError, match="memory"):
        auth.scram_salted_password("pw", "argon2id-13", b"saltsalt", 1, None)


def test_scram_argon2_missing_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "argon2", None)
    with pytest.raises(ImportError, match=r"autostrada\[scram\]"):
        auth.scram_salted_password("pw", "argon2id-13", b"saltsalt", 2, 64)
    # pbkdf2 needs no extra
    assert len(auth.scram_salted_password("pw", "pbkdf2", b"salt", 2)) == 32


# RFC 4013 §3 examples (plus a mapped non-ASCII space and a valid RTL string).
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I\u00adX", "IX"),
        ("user", "user"),
        ("USER", "USER"),
        ("\u00aa", "a"),
        ("\u2168", "IX"),
        ("a\u00a0b", "a b"),
        ("\u0627\u0628", "\u0627\u0628"),
        ("", ""),
    ],
)
def test_saslprep(text: str, expected: str) -> None:
    assert auth.saslprep(text) == expected


@pytest.mark.parametrize("text", ["\u0007", "\u0627\u0031", "\u0627a\u0628", "\u0221"])
def test_saslprep_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="saslprep"):
        auth.saslprep(text)


def test_scram_auth_message_is_the_deployed_form() -> None:
    message = auth.scram_auth_message("u,s=er", "cn", "cnsn", "c2FsdA==", 4096)
    assert message == b"n=u,s=er,r=cn,r=cnsn,s=c2FsdA==,i=4096,c=,r=cnsn"


def test_names() -> None:
    assert auth.SCRAM == "scram" and "wamp-scram" in auth.SCRAM_AUTHMETHODS
    assert auth.KDF_ARGON2ID == "argon2id-13"
    assert {auth.TICKET, auth.WAMPCRA, auth.CRYPTOSIGN} == {"ticket", "wampcra", "cryptosign"}
    assert set(auth.__all__) <= set(dir(auth))
