"""``vpo-tui policy list | check FILE | show NAME``: the policies, inspected."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from vpo_tui.batch.exit_codes import (
    EXIT_INVALID,
    EXIT_OK,
)
from vpo_tui.commands.arguments import (
    Parser,
)

if TYPE_CHECKING:
    pass


def policy_main(argv: list[str]) -> int:
    from vpo_tui.policy.load import PolicyError, builtin_policy_names, load_policy, policy_text

    parser = Parser(prog="vpo-tui policy", description="Inspect policies.")
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("list", help="the built-in policies")
    check = sub.add_parser("check", help="validate a policy file")
    check.add_argument("file", metavar="FILE|NAME")
    show = sub.add_parser("show", help="print a policy's TOML")
    show.add_argument("name", metavar="NAME|FILE")
    ns = parser.parse_args(argv)
    try:
        if ns.action == "list":
            for name in builtin_policy_names():
                description = load_policy(name).description
                sys.stdout.write(f"{name:<16} {description}\n")
            return EXIT_OK
        if ns.action == "check":
            policy = load_policy(ns.file)
            sys.stdout.write(f"ok: {ns.file}: policy {policy.name!r} is valid\n")
            return EXIT_OK
        sys.stdout.write(policy_text(ns.name))
        return EXIT_OK
    except PolicyError as exc:
        sys.stderr.write(f"vpo-tui: invalid policy: {exc}\n")
        return EXIT_INVALID
