"""How many files run at once: the user's wish, bounded by what the machine can take.

Order of precedence: ``--workers`` > ``[processing] workers`` > 2. The cap is half
the CPU cores (at least 1) because a transcode already uses several cores;
``[processing] max_workers`` sets the cap explicitly (remux is I/O-bound, and a
small machine may want more). Going over the cap is not an error: the count is
lowered and the warning says by how much and why, where the user will see it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from vpo_tui.phrasing import plural

DEFAULT_WORKERS = 2


class WorkerCountError(ValueError):
    """A worker count below 1 (a usage error, exit code 2)."""


@dataclass(frozen=True)
class WorkerChoice:
    workers: int  # what the batch will use
    cap: int  # the largest count allowed (set_workers upper bound)
    requested: int
    warning: str | None = None


def cpu_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def default_cap(cores: int) -> int:
    return max(1, cores // 2)


def resolve_workers(
    cli_workers: int | None,
    config_workers: int | None = None,
    max_workers: int | None = None,
    *,
    cores: int | None = None,
    cluster_threads: int | None = None,
) -> WorkerChoice:
    """Pick the worker count; raises ``WorkerCountError`` for a count below 1.

    ``cluster_threads``: the files run on a Dask cluster with that many worker
    threads in all. Then the default is one file per thread and nothing caps the
    count (this machine's cores do not run the files; more files in flight than
    threads just queue on the scheduler).
    """
    requested = cli_workers if cli_workers is not None else config_workers
    source = "--workers" if cli_workers is not None else "[processing] workers"
    if requested is None:
        requested, source = DEFAULT_WORKERS, "the default"
        if cluster_threads is not None:
            requested = max(1, cluster_threads)
    if requested < 1:
        raise WorkerCountError(f"{source} must be at least 1, got {requested}")
    if cluster_threads is not None:
        cap = max(requested, cluster_threads, 1)
        return WorkerChoice(workers=requested, cap=cap, requested=requested)
    if max_workers is not None and max_workers < 1:
        raise WorkerCountError(f"[processing] max_workers must be at least 1, got {max_workers}")
    n_cores = cores if cores is not None else cpu_cores()
    cap = max_workers if max_workers is not None else default_cap(n_cores)
    if requested <= cap:
        return WorkerChoice(workers=requested, cap=cap, requested=requested)
    if source == "the default":  # the user asked for nothing: no need to warn
        return WorkerChoice(workers=cap, cap=cap, requested=requested)
    cores_text = plural(n_cores, "CPU core")
    if max_workers is not None:
        why = (
            f"the cap set by [processing] max_workers = {max_workers} "
            f"({cores_text} on this machine)"
        )
    else:  # the core count is the reason: say it once, with the way to go past it
        why = f"half of the {cores_text} on this machine; raise it with [processing] max_workers"
    warning = f"{requested} workers requested ({source}), using {cap}: {why}"
    return WorkerChoice(workers=cap, cap=cap, requested=requested, warning=warning)
