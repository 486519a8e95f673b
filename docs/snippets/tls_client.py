"""Connect over TLS: a private CA, and a client certificate for the router."""

import asyncio
import os
import ssl
import urllib.parse

import autostrada
from autostrada import Component, TransportError

URL = os.environ.get("AUTOSTRADA_URL", "wss://localhost:8443/ws")
RS_URL = os.environ.get("AUTOSTRADA_RS_URL", "rss://localhost:8443")
CERTS = os.environ.get("AUTOSTRADA_CERTS", "docs/snippets/certs")

# --8<-- [start:context]
# Trust the CA that signed the router's certificate (without cafile: the system's CAs).
context = ssl.create_default_context(cafile=f"{CERTS}/ca.pem")
# Present a client certificate: only needed when the router asks for one.
context.load_cert_chain(f"{CERTS}/client.pem", f"{CERTS}/client.key")
# --8<-- [end:context]


async def main():
    # --8<-- [start:connect]
    async with await autostrada.connect(URL, "realm1", ssl=context) as session:
        print("WebSocket over TLS:", session.transport_details.is_secure)
    async with await autostrada.connect(RS_URL, "realm1", ssl=context) as session:
        print("RawSocket over TLS:", session.transport_details.is_secure)
    # --8<-- [end:connect]

    # --8<-- [start:refused]
    try:
        await autostrada.connect(URL, "realm1")  # the system's CAs do not know ours
    except TransportError as error:
        print("refused:", "certificate" in str(error))  # refused: True
    # --8<-- [end:refused]


asyncio.run(main())

# --8<-- [start:component]
address = urllib.parse.urlsplit(URL)
component = Component(
    transports=[
        {
            "url": URL,
            # Autobahn's form: TLS settings go in the endpoint.
            "endpoint": {
                "type": "tcp",
                "host": address.hostname,
                "port": address.port,
                "tls": context,
            },
        }
    ],
    realm="realm1",
    main=lambda loop, session: print("component over TLS:", session.transport_details.is_secure),
)
autostrada.run([component], log_level="warning")
# --8<-- [end:component]
