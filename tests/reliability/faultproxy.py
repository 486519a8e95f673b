"""A TCP fault proxy for tests: sits between a client and a router on 127.0.0.1.

Every connection accepted on :attr:`FaultProxy.port` is relayed to the target. A fault
is applied to the connections open at that moment (one the client opens afterwards, to
reconnect, is relayed normally):

* :meth:`FaultProxy.drop_mid_message` — the next chunk in one direction is cut in half:
  its first half is forwarded, then both sockets are closed (FIN);
* :meth:`FaultProxy.stall` — a half-open link: bytes stop in both directions (they are
  read and thrown away), every socket stays open;
* :meth:`FaultProxy.delay` — every chunk waits ``seconds`` before it is forwarded
  (order kept);
* :meth:`FaultProxy.reset` — both sockets are reset (RST, ``SO_LINGER`` 0).

Nothing here sleeps except the ``delay`` fault, which is the point of that fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import AsyncIterator

__all__ = ["FaultProxy"]

CLIENT_TO_ROUTER = "client->router"
ROUTER_TO_CLIENT = "router->client"


class _Link:
    """One relayed connection: the client side, the router side, two pumps."""

    def __init__(self, proxy: FaultProxy) -> None:
        self.proxy = proxy
        self.mode = "pass"
        self.delay = 0.0
        self.cut: str | None = None  # direction whose next chunk is cut in half
        self.cut_done: asyncio.Event = asyncio.Event()
        self.writers: list[asyncio.StreamWriter] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.closed = asyncio.Event()

    async def pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, direction: str
    ) -> None:
        try:
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    break
                self.proxy.bytes[direction] += len(chunk)
                if self.mode == "stall":
                    continue  # the bytes vanish; the sockets stay open
                if self.delay:
                    await asyncio.sleep(self.delay)  # the fault: late bytes
                if self.cut == direction:
                    writer.write(chunk[: max(1, len(chunk) // 2)])
                    with contextlib.suppress(ConnectionError):
                        await writer.drain()
                    self.cut_done.set()
                    break
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            if self.mode != "stall":
                self.close()

    def close(self, *, reset: bool = False) -> None:
        for writer in self.writers:
            if reset:
                sock = writer.get_extra_info("socket")
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.setsockopt(
                            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                        )
                writer.transport.abort()
            else:
                writer.close()
        self.closed.set()


class FaultProxy:
    """Relay 127.0.0.1:``port`` to ``target_host:target_port``, with faults on demand."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.links: list[_Link] = []
        self.accepted = 0
        self.bytes = {CLIENT_TO_ROUTER: 0, ROUTER_TO_CLIENT: 0}
        self._server: asyncio.Server | None = None
        self._new_link = asyncio.Event()

    def url(self, scheme: str = "ws") -> str:
        return f"ws://127.0.0.1:{self.port}/ws" if scheme == "ws" else f"rs://127.0.0.1:{self.port}"

    @property
    def open_links(self) -> list[_Link]:
        return [link for link in self.links if not link.closed.is_set()]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        link = _Link(self)
        link.writers.append(writer)
        self.links.append(link)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            link.close(reset=True)  # the router is down: the client sees a reset
            return
        link.writers.append(up_writer)
        link.tasks = [
            asyncio.ensure_future(link.pump(reader, up_writer, CLIENT_TO_ROUTER)),
            asyncio.ensure_future(link.pump(up_reader, writer, ROUTER_TO_CLIENT)),
        ]
        self._new_link.set()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[FaultProxy]:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        try:
            yield self
        finally:
            self._server.close()
            for link in self.links:
                link.close(reset=True)
            tasks = [task for link in self.links for task in link.tasks]
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks, timeout=2.0)
            await self._server.wait_closed()

    async def wait_links(self, count: int, seconds: float = 5.0) -> None:
        """Wait until ``count`` connections have been accepted in total (relayed or not)."""
        async with asyncio.timeout(seconds):
            while self.accepted < count:
                self._new_link.clear()
                await self._new_link.wait()

    # ---------------------------------------------------------------------- faults

    def drop_mid_message(self, direction: str = ROUTER_TO_CLIENT) -> list[_Link]:
        """Cut the next chunk of ``direction`` on every open link; return those links."""
        links = self.open_links
        for link in links:
            link.cut = direction
        return links

    def stall(self) -> list[_Link]:
        links = self.open_links
        for link in links:
            link.mode = "stall"
        return links

    def delay(self, seconds: float) -> list[_Link]:
        links = self.open_links
        for link in links:
            link.delay = seconds
        return links

    def reset(self) -> list[_Link]:
        links = self.open_links
        for link in links:
            link.close(reset=True)
        return links
