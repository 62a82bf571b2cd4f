"""Whether the process that owns a temp file, a commit journal or a job is still alive.

Start-up recovery must never touch the work of a live vpo-tui run (another terminal,
another worker), only leftovers of dead ones; the engine's sweep and the store's
interrupted-job marking both ask this one question.

On shared storage a file may belong to a process on another machine (a Dask worker
on another node): its pid means nothing here, so the owner counts as alive. Names
record the host as well as the pid for that reason.
"""

from __future__ import annotations

import functools
import os
import re
import socket


@functools.cache
def this_host() -> str:
    """This machine's name as recorded in owned file names: ``[A-Za-z0-9.-]``, at most 40."""
    name = re.sub(r"[^A-Za-z0-9.-]+", "-", socket.gethostname()).strip("-.")
    return name[:40] or "localhost"


def owner_alive(pid: int, host: str | None) -> bool:
    """True unless ``pid`` on this machine is known to be gone (no host: an older name)."""
    if host is not None and host != this_host():
        return True  # another machine's process: we cannot tell, so never touch its files
    return pid_alive(pid)


def pid_alive(pid: int) -> bool:
    """True when ``pid`` names a running process (ours included)."""
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True
