"""``python -m autostrada.cli``: the ``autostrada`` command."""

from __future__ import annotations

import sys

from autostrada.cli import main

if __name__ == "__main__":
    sys.exit(main())
