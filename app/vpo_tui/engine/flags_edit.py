"""The commit path's side of a flags-only change: which way, and the in-place run itself.

``process.py`` asks three things here: whether an interrupted in-place edit left a
journal for this file (restore it before probing; a dry run only says so), how a
``mkvpropedit`` plan will write (in place under a journal, or on a copy, and why),
and to carry out the in-place edit. The copy path itself stays in ``process.py``;
its working copy is a clone where the filesystem can make one (``clone.py``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from vpo_tui.engine import edit_journal, inplace
from vpo_tui.engine.inplace import InPlaceChoice
from vpo_tui.engine.locks import FileLocked
from vpo_tui.policy.planned import PassKind, Plan

_T = TypeVar("_T")


def refuse_if_edited_elsewhere(path: Path) -> None:
    """A journal of a live process, or of one on another host, names ``path``: hands off.

    Its edit may be under way; even if that host died, only the journal can put the
    original back, and a new edit of the half-edited bytes would lose it.
    """
    for journal in edit_journal.journals_of(path, live=True):
        raise FileLocked(
            f"{path}: being edited in place by another vpo-tui (journal {journal.name});"
            " left as it is"
        )


def restore_interrupted(path: Path) -> list[Path]:
    """Put back ``path`` if an in-place edit of a dead process left it half done."""
    restored: list[Path] = []
    for journal in edit_journal.journals_of(path):
        target = edit_journal.restore(journal)
        if target is not None:
            restored.append(target)
    return restored


def pending_restore(path: Path) -> str | None:
    """For a dry run: what the real run will do first (it changes nothing itself)."""
    journals = edit_journal.journals_of(path)
    if not journals:
        return None
    return (
        f"restores the original first: an in-place edit was interrupted"
        f" (journal {journals[0].name})"
    )


def choose(
    plan: Plan, path: Path, final: Path, st: os.stat_result, mode: str, keep_backups: bool
) -> InPlaceChoice | None:
    """How a ``mkvpropedit`` plan writes; ``None`` for every other pass (always a new file)."""
    if plan.pass_kind is not PassKind.MKVPROPEDIT:
        return None
    if final != path:
        return InPlaceChoice(None, "on a copy: the file gets a new name")
    return inplace.choose(path, st, mode, keep_backups)


def edit_in_place(
    path: Path,
    st: os.stat_result,
    choice: InPlaceChoice,
    run_edit: Callable[[], None],
    verify: Callable[[], _T],
) -> _T | None:
    """The journaled edit; ``None`` when it strayed (the original is back: copy instead).

    ``edit_journal.JournalError`` (nothing written), ``inplace.InPlaceRefused`` (the
    file changed under us) and whatever the edit or verification raise (the
    original is back) go to the caller.
    """
    assert choice.layout is not None
    try:
        return inplace.edit(path, st, choice.layout, run_edit, verify)
    except inplace.EditStrayed:
        return None
