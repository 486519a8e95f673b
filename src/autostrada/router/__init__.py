"""The embedded WAMP router.

* :mod:`autostrada.router.core` is the sans-I/O router: realms, broker, dealer, meta API,
  authentication and authorization, driven with message objects.
* The asyncio listeners (WebSocket, RawSocket) that move bytes to and from the core live
  next to it and are added separately.
"""

from __future__ import annotations
