"""What the user asked for on the pick screen: the input of the preview and of the run.

Its own room, because every screen after the pick screen carries it along (the
preview, the run, the summary's retry) and none of them should import another.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vpo_tui.batch.discovery import DiscoveryProblem
from vpo_tui.policy.model import Policy


@dataclass(frozen=True)
class BatchRequest:
    """The paths, the loaded policy, the worker count and dry run the user picked."""

    paths: tuple[Path, ...]
    policy: Policy
    workers: int
    dry_run: bool
    display_root: Path | None
    # What the preview's discovery could not search (unreadable folders, symlink
    # loops): carried to the run so that its summary still lists them.
    discovery_problems: tuple[DiscoveryProblem, ...] = ()


def common_root(paths: tuple[Path, ...]) -> Path | None:
    """The deepest folder containing every path, used to show short file names."""
    if not paths:
        return None
    folders = [p if p.is_dir() else p.parent for p in paths]
    root = folders[0]
    for folder in folders[1:]:
        while root not in (folder, *folder.parents):
            root = root.parent
    return root


@dataclass(frozen=True)
class PreviewChoices:
    """What the user chose in a preview, kept by the app for the next preview of the
    same marked paths: going back (esc) and previewing again (n) loses nothing."""

    excluded: frozenset[Path] = frozenset()
    filter_text: str = ""
