"""What a policy problem says: the file, the key path, the value, and a "did you mean".

Shared by the policy loader and ``config.toml`` (``did_you_mean``), so a typo is
answered the same way in both.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence


class PolicyError(Exception):
    """A policy that cannot be used: names the file, the key path and what was expected.

    When a document has several problems they are all reported at once (``problems``,
    one line each), so a user fixes a policy in one pass instead of one error per run.
    The attributes describe the first problem.
    """

    def __init__(
        self,
        source: str,
        message: str,
        key_path: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.source = source
        self.key_path = key_path
        self.message = message
        self.line = line
        self.column = column
        self.problems: tuple[PolicyError, ...] = (self,)
        super().__init__(str(self))

    @classmethod
    def all_of(cls, problems: Sequence[PolicyError]) -> PolicyError:
        """One error that reports every problem in ``problems`` (at least one)."""
        first = problems[0]
        if len(problems) == 1:
            return first
        combined = cls(first.source, first.message, first.key_path, first.line, first.column)
        combined.problems = tuple(problems)
        combined.args = (str(combined),)
        return combined

    def __str__(self) -> str:
        if len(self.problems) > 1:
            return "\n".join(problem.location_and_message() for problem in self.problems)
        return self.location_and_message()

    def location_and_message(self) -> str:
        where = self.source
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        if self.key_path:
            return f"{where}: {self.key_path}: {self.message}"
        return f"{where}: {self.message}"


def did_you_mean(full: str, known: Sequence[str]) -> str | None:
    """The known dotted key a mistyped ``full`` most likely meant, if one is close.

    A near spelling first (``audio.kep`` → ``audio.keep``), else the same key in
    another table (``audio.format`` → ``container.format``). Shared by the policy
    and config.toml, so both answer a typo the same way.
    """
    close = difflib.get_close_matches(full, known, n=1, cutoff=0.75)
    if close:
        return close[0]
    leaf = full.rsplit(".", 1)[-1]
    return next((k for k in known if k.rsplit(".", 1)[-1] == leaf), None)


def type_name(value: object) -> str:
    names = {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "a table",
    }
    return names.get(type(value), type(value).__name__)


def show_value(value: object) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
