"""How a batch ends, as a process exit code: one table for every front end.

Headless returns it, the app exits with it, a watch mode will too, so a script
sees the same code whichever front end ran the batch (Posting keeps its codes in
one module the same way).
"""

from __future__ import annotations

from vpo_tui.engine.job import BatchResult, FileStatus

EXIT_OK = 0
EXIT_FAILED = 1  # a file failed, a folder could not be read, or the cluster went away
EXIT_USAGE = 2  # bad arguments: an unknown option, a path that does not exist
EXIT_INVALID = 3  # the policy or the config is invalid
EXIT_NOTHING_FOUND = 4
EXIT_MISSING_TOOL = 5  # a tool is missing, or the Dask cluster is unusable
EXIT_INTERRUPTED = 130  # stopped or killed by the user


def exit_code_for(result: BatchResult, unreadable: int = 0) -> int:
    """130 stopped by the user, 1 a file failed or ``unreadable`` paths, else 0.

    A folder that cannot be read is work silently not done: a cron job must see it.
    A batch that ended for a reason outside it (the cluster's scheduler went away)
    is a failure too.
    """
    reason = result.stop_reason
    if reason is not None and reason.by_user:
        return EXIT_INTERRUPTED
    if reason is not None and reason is not reason.FAILURE:
        return EXIT_FAILED
    if result.count(FileStatus.FAILED) or unreadable:
        return EXIT_FAILED
    return EXIT_OK
