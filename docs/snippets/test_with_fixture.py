"""Testing components with the ``wamp_router`` fixture: pytest docs/snippets/test_with_fixture.py"""

import asyncio

import autostrada
from autostrada import Component


def make_component(url):
    """The component under test, built for a given router URL."""
    component = Component(transports=url, realm="realm1")

    @component.register("com.example.add")
    def add(a, b):
        return a + b

    return component


# --8<-- [start:session]
def test_add(wamp_router):  # a running router on a free port, for this test
    async def scenario():
        async with await autostrada.connect(wamp_router.url, wamp_router.realm) as session:
            await session.register(lambda a, b: a + b, "com.example.add")
            assert await session.call("com.example.add", 2, 3) == 5

    asyncio.run(scenario())
    # --8<-- [end:session]


# --8<-- [start:component]
def test_component(wamp_router):
    async def scenario():
        component = make_component(wamp_router.url)
        ready = asyncio.Event()
        component.on("ready", lambda session: ready.set())
        async with component:  # started here, stopped (GOODBYE) at the end of the block
            await asyncio.wait_for(ready.wait(), 10)
            async with await autostrada.connect(wamp_router.rs_url) as caller:  # over RawSocket
                assert await caller.call("com.example.add", 2, 3) == 5

    asyncio.run(scenario())
    # --8<-- [end:component]
