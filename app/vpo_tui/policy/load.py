"""TOML policy files → a validated ``Policy``, with errors a person can act on.

A policy is refused before any file is touched, so every message names the
policy file, the key path (``audio.keep[2]``), the bad value and what was
expected; TOML syntax errors give line and column. Unknown keys are errors
with a "did you mean" hint: a typo must never silently do nothing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import sys
from enum import Enum
from importlib import resources
from pathlib import Path

from vpo_tui.policy.errors import PolicyError, did_you_mean
from vpo_tui.policy.model import (
    Policy,
)
from vpo_tui.policy.reader import DocumentReader

__all__ = [
    "PolicyError",
    "builtin_policy_names",
    "did_you_mean",
    "load_policy",
    "parse_policy",
    "policy_digest",
    "policy_text",
]

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

_BUILTIN_PACKAGE = "vpo_tui.policies"


# -- finding policies ---------------------------------------------------------


def builtin_policy_names() -> list[str]:
    """Names of the policies shipped inside the package, sorted."""
    folder = resources.files(_BUILTIN_PACKAGE)
    return sorted(
        entry.name[: -len(".toml")] for entry in folder.iterdir() if entry.name.endswith(".toml")
    )


def _is_builtin_name(name_or_path: str) -> bool:
    looks_like_path = "/" in name_or_path or "\\" in name_or_path or name_or_path.endswith(".toml")
    return not looks_like_path and name_or_path in builtin_policy_names()


def policy_text(name_or_path: str) -> str:
    """The TOML text of a built-in policy (by name) or of a policy file (by path)."""
    if _is_builtin_name(name_or_path):
        entry = resources.files(_BUILTIN_PACKAGE).joinpath(f"{name_or_path}.toml")
        return entry.read_text(encoding="utf-8")
    path = Path(name_or_path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        names = ", ".join(builtin_policy_names())
        raise PolicyError(
            name_or_path, f"no such policy file, and not a built-in policy (built-ins: {names})"
        ) from None
    except IsADirectoryError:
        raise PolicyError(name_or_path, "is a folder, not a policy file") from None
    except OSError as exc:
        raise PolicyError(name_or_path, f"cannot read policy file: {exc.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(
            name_or_path, f"not UTF-8 text (bad byte at offset {exc.start})"
        ) from None


def load_policy(name_or_path: str) -> Policy:
    """A validated policy from a built-in name or a file path (raises ``PolicyError``)."""
    text = policy_text(name_or_path)
    source = f"builtin:{name_or_path}" if _is_builtin_name(name_or_path) else name_or_path
    return parse_policy(text, source)


# -- parsing ------------------------------------------------------------------

_SYNTAX_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")
_SYNTAX_EOF = re.compile(r"\(at end of document\)")


def parse_policy(text: str, source: str) -> Policy:
    """Parse and validate policy TOML; ``source`` names it in errors and in ``Policy.source``."""
    display = source[len("builtin:") :] + " (built-in)" if source.startswith("builtin:") else source
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raw = str(exc)
        line: int | None = None
        column: int | None = None
        match = _SYNTAX_POSITION.search(raw)
        if match:
            line, column = int(match.group(1)), int(match.group(2))
        elif _SYNTAX_EOF.search(raw):
            line = text.count("\n") + 1
        message = _SYNTAX_POSITION.sub("", _SYNTAX_EOF.sub("", raw)).strip()
        raise PolicyError(
            display, f"TOML syntax error: {message}", line=line, column=column
        ) from None
    policy = DocumentReader(display, document).policy(source)
    return dataclasses.replace(policy, digest=policy_digest(policy))


def policy_digest(policy: Policy) -> str:
    """sha256 of what the policy *means* (not its name, description or file)."""
    meaning = dataclasses.asdict(
        dataclasses.replace(policy, name="", description="", source="", digest="")
    )
    canonical = json.dumps(
        meaning,
        sort_keys=True,
        default=lambda value: value.value if isinstance(value, Enum) else str(value),
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


__all__ = [
    "PolicyError",
    "builtin_policy_names",
    "load_policy",
    "parse_policy",
    "policy_digest",
    "policy_text",
]
