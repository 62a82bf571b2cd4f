"""``vpo-tui retry --cause TEXT``: run a whole group of failures again, at once.

Failures are grouped by cause in the report (``store.report.cause_of``); this picks
the files whose *latest* run failed with a cause containing TEXT (any case) and
runs them as a normal headless batch, with the policy they failed under (or
``--policy``). Files that succeeded since, or are gone, are not retried.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path


def retry_main(argv: list[str]) -> int:
    from vpo_tui.batch.exit_codes import EXIT_FAILED, EXIT_NOTHING_FOUND, EXIT_OK
    from vpo_tui.commands.arguments import (
        Parser,
        common_options,
        config_or_exit,
        history_path,
        open_history,
        positive_int,
    )
    from vpo_tui.commands.report import parse_since
    from vpo_tui.headless import HeadlessOptions, run_headless
    from vpo_tui.phrasing import console_text, plural
    from vpo_tui.store.report import still_failing

    parser = Parser(
        prog="vpo-tui retry",
        description="Run again every file whose last run failed with a given cause.",
    )
    parser.add_argument(
        "--cause", required=True, metavar="TEXT", help="any part of the cause (vpo-tui report)"
    )
    parser.add_argument(
        "--since", type=parse_since, default="7d", metavar="SPAN|DATE", help="default 7d"
    )
    parser.add_argument("--policy", metavar="NAME|FILE", help="default: the one they failed under")
    parser.add_argument("--workers", type=positive_int, metavar="N", help="files at once")
    parser.add_argument("--dry-run", action="store_true", help="plan only")
    parser.add_argument("--json", action="store_true", help="one JSON document per policy")
    common_options(parser)
    ns = parser.parse_args(argv)
    config, code = config_or_exit(ns.config)
    if config is None:
        return code
    db = history_path(ns.db, config)
    if not db.exists():
        sys.stderr.write(f"vpo-tui: no history yet in {console_text(str(db))}\n")
        return EXIT_NOTHING_FOUND
    store = open_history(db)
    if store is None:
        return EXIT_FAILED
    with store:
        found = still_failing(store.pool, float(ns.since), ns.cause)
    by_policy: dict[str, list[Path]] = {}
    gone = 0
    for path, policy in found:
        if not Path(path).exists():
            gone += 1
            continue
        by_policy.setdefault(ns.policy or policy, []).append(Path(path))
    if gone:
        sys.stderr.write(f"vpo-tui: {plural(gone, 'file')} of that group no longer exist\n")
    if not by_policy:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(float(ns.since)))
        sys.stderr.write(
            f"vpo-tui: no file whose last run since {when} failed with a cause containing "
            f"{console_text(ns.cause)!r} (see vpo-tui report)\n"
        )
        return EXIT_NOTHING_FOUND
    worst = EXIT_OK
    for policy, paths in by_policy.items():
        sys.stderr.write(
            f"Retrying {plural(len(paths), 'file')} with policy {console_text(policy)}\n"
        )
        code = run_headless(
            HeadlessOptions(
                paths=tuple(paths),
                policy=policy,
                workers=ns.workers,
                dry_run=ns.dry_run,
                json=ns.json,
                config=config,
                db=db,
                recursive=False,
            )
        )
        worst = max(worst, code)
    return worst
