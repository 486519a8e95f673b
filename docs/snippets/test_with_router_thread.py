"""Without pytest fixtures: RouterThread in unittest (run: python -m unittest ...)."""

import asyncio
import unittest

import autostrada
from autostrada.testing import RouterThread


# --8<-- [start:unittest]
class AddTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.router = RouterThread().start()  # realm1, anonymous may do anything, free port

    @classmethod
    def tearDownClass(cls):
        cls.router.stop()

    def test_add(self):
        async def scenario():
            async with await autostrada.connect(self.router.url) as session:
                await session.register(lambda a, b: a + b, "com.example.add")
                return await session.call("com.example.add", 2, 3)

        self.assertEqual(asyncio.run(scenario()), 5)
        # --8<-- [end:unittest]


if __name__ == "__main__":
    unittest.main()
