"""TLS: connect with ``wss://`` and your own certificate authority (and client certificate).

A ``wss://`` (or ``rss://``) URL alone uses TLS with the system's trusted CAs. To trust
your own CA, or to present a client certificate, give an ``ssl.SSLContext`` as the
``tls`` of the transport's ``endpoint`` (Autobahn's format). The certificate must name
the host of the URL; ``endpoint`` says where to connect.

You need a router with a TLS listener ([listeners.tls] in docs/router-config.md) and
its CA certificate. Then, e.g.::

    AUTOSTRADA_URL=wss://localhost:8443/ws AUTOSTRADA_CA=ca.pem python examples/tls.py

With ``AUTOSTRADA_CLIENT_CERT`` and ``AUTOSTRADA_CLIENT_KEY`` (PEM files) the client
also presents a certificate, for routers that require one (``require_client_cert``).
"""

from __future__ import annotations

import asyncio
import os
import ssl
import urllib.parse

from autostrada import Component, Session, run

URL = os.environ.get("AUTOSTRADA_URL", "wss://localhost:8443/ws")
REALM = os.environ.get("AUTOSTRADA_REALM", "realm1")
CA_FILE = os.environ.get("AUTOSTRADA_CA")  # None: the system's trusted CAs
CLIENT_CERT = os.environ.get("AUTOSTRADA_CLIENT_CERT")
CLIENT_KEY = os.environ.get("AUTOSTRADA_CLIENT_KEY")


def tls_context() -> ssl.SSLContext:
    # Verifies the router's certificate and host name, as every TLS client should.
    context = ssl.create_default_context(cafile=CA_FILE)
    if CLIENT_CERT:
        context.load_cert_chain(CLIENT_CERT, CLIENT_KEY)
    return context


address = urllib.parse.urlsplit(URL)
transport = {
    "url": URL,
    "endpoint": {
        "type": "tcp",
        "host": address.hostname,
        "port": address.port or 443,
        "tls": tls_context(),
    },
    "max_retries": 3,
}


async def main(loop: asyncio.AbstractEventLoop, session: Session) -> None:
    details = session.details
    assert details is not None and details.transport is not None
    print("joined over TLS:", details.transport.is_secure)


component = Component(main=main, transports=[transport], realm=REALM)

if __name__ == "__main__":
    run([component])
