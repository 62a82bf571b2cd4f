"""Whether the process that owns a temp file, a commit journal or a job is still alive.

Start-up recovery must never touch the work of a live vpo-tui run (another terminal,
another worker), only leftovers of dead ones; the engine's sweep and the store's
interrupted-job marking both ask this one question.
"""

from __future__ import annotations

import os


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
