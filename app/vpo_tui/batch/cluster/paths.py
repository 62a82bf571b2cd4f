"""Client paths ↔ a worker's paths, for nodes that mount the library elsewhere."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

PATH_MAP_ENV = "VPO_TUI_PATH_MAP"


@dataclass(frozen=True)
class PathMap:
    """Client prefix → worker prefix pairs, for nodes that mount the library elsewhere.

    ``VPO_TUI_PATH_MAP=/client/prefix=/worker/prefix`` in a worker's environment
    (several pairs separated by ``:``). The first matching prefix wins.
    """

    pairs: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, text: str) -> PathMap:
        pairs = []
        for item in filter(None, text.split(os.pathsep)):
            client, sep, worker = item.partition("=")
            if not sep or not client.startswith("/") or not worker.startswith("/"):
                raise ValueError(
                    f"{PATH_MAP_ENV}: expected /client/prefix=/worker/prefix, got {item!r}"
                )
            pairs.append((client.rstrip("/") or "/", worker.rstrip("/") or "/"))
        return cls(tuple(pairs))

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> PathMap:
        return cls.parse(env.get(PATH_MAP_ENV, ""))

    def to_worker(self, path: Path) -> Path:
        return Path(_swap(str(path), ((c, w) for c, w in self.pairs)))

    def to_client(self, path: Path) -> Path:
        return Path(_swap(str(path), ((w, c) for c, w in self.pairs)))

    def text_to_client(self, text: str | None) -> str | None:
        """A message naming worker paths, naming the client's paths instead."""
        if text is None:
            return None
        for client, worker in self.pairs:
            text = re.sub(rf"{re.escape(worker)}(?=/|\b)", client.replace("\\", "\\\\"), text)
        return text


def _swap(path: str, pairs: Iterable[tuple[str, str]]) -> str:
    for old, new in pairs:
        if path == old or path.startswith(old.rstrip("/") + "/"):
            return new + path[len(old) :] if old != "/" else new.rstrip("/") + path
    return path
