"""TLS facts of a connection that authentication needs (channel binding).

Cryptosign (and SCRAM, in the spec) can bind a signature to the TLS channel. We
offer ``tls-unique`` (RFC 5929) where it is defined: TLS 1.2 and below. On TLS 1.3
it is undefined (RFC 9266), and Python's ``ssl`` cannot produce ``tls-exporter``;
so there the channel has no id and a client asking for binding is told so
(DIVERGENCES.md: never bind silently to zeros).
"""

from __future__ import annotations

import asyncio

from autostrada.auth import tls_channel_id

__all__ = ["channel_ids"]


def channel_ids(transport: asyncio.BaseTransport | None) -> dict[str, bytes]:
    """The 32-byte channel ids of ``transport`` by binding type (empty when not TLS)."""
    ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
    if ssl_object is None or ssl_object.version() == "TLSv1.3":
        return {}
    unique = ssl_object.get_channel_binding("tls-unique")
    return {"tls-unique": tls_channel_id("tls-unique", unique)} if unique else {}
