"""One file's result as JSON: the same fields wherever a front end prints one.

The batch ``--json`` document lists them; the watcher prints one per line.
"""

from __future__ import annotations

from vpo_tui.engine.job import FileResult
from vpo_tui.store.paths import path_bytes_b64


def file_entry(f: FileResult) -> dict[str, object]:
    """One file of the ``--json`` document (the watcher prints the same, one per line)."""
    return {
        "path": str(f.path),
        # the name's exact bytes: "path" escapes bytes that are not UTF-8
        # as lone surrogates (\udce9), which strict parsers replace or refuse
        "path_bytes_b64": path_bytes_b64(f.path),
        "status": f.status.value,
        "changes": list(f.changes),
        "error": f.error,
        "duration_s": round(f.duration_s, 3),
        "output_path": str(f.output_path) if f.output_path is not None else None,
        "output_path_bytes_b64": (
            path_bytes_b64(f.output_path) if f.output_path is not None else None
        ),
        "stderr_tail": f.stderr_tail,
        "how": f.how,
        # the path is a symbolic link; this is the file it led to, the one processed
        "link_target": str(f.link_target) if f.link_target is not None else None,
        "before": list(f.before),
        "after": list(f.after),
    }
