"""Serve a benchmark reference app with granian exactly as ``customshop serve`` serves customshop.

Usage: ``python bench/serve_app.py MODULE:APP PORT WORKERS``
"""

from __future__ import annotations

import sys
from pathlib import Path

from granian import Granian
from granian.constants import HTTPModes, Interfaces, Loops

if __name__ == "__main__":
    target, port, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    Granian(
        target,
        address="127.0.0.1",
        port=port,
        workers=workers,
        interface=Interfaces.ASGI,
        loop=Loops.uvloop,
        http=HTTPModes.http1,
        websockets=False,
        log_access=False,
        working_dir=Path(__file__).parent,
    ).serve()
