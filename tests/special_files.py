"""FIFOs, sockets and other files that are not regular files, for the hostile-input tests."""

from __future__ import annotations

import os
import socket
from pathlib import Path


def bind_here(sock: socket.socket, path: Path) -> None:
    """Bind a UNIX socket at ``path`` by its short name: a long path is refused (108 bytes)."""
    cwd = os.getcwd()
    os.chdir(path.parent)
    try:
        sock.bind(path.name)
    finally:
        os.chdir(cwd)
