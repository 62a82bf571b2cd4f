"""``vpo-tui cluster certs DIR``: the credentials of a cluster that lets no one else in."""

from __future__ import annotations

import argparse
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

from vpo_tui.batch.exit_codes import EXIT_OK, EXIT_USAGE


def cluster_main(argv: Sequence[str]) -> int:
    from vpo_tui.batch.cluster.certs import instructions, make_certs
    from vpo_tui.executors import ClusterError

    parser = argparse.ArgumentParser(
        prog="vpo-tui cluster",
        description="Set up a Dask cluster that runs vpo-tui's files and nobody else's code.",
    )
    sub = parser.add_subparsers(dest="action", required=True)
    certs = sub.add_parser(
        "certs",
        help="make a private CA and the certificate every machine of the cluster presents",
        description="Make a private CA and the certificate + key the scheduler, the workers "
        "and vpo-tui present to each other (TLS both ways), owner-only, and print the "
        "commands that start the cluster with them.",
    )
    certs.add_argument("folder", metavar="DIR", help="a new or empty folder for the files")
    certs.add_argument(
        "--scheduler",
        metavar="HOST",
        default=socket.gethostname(),
        help="the machine that will run `dask scheduler` (default: this one)",
    )
    certs.add_argument("--port", type=int, default=8786, help="its port (default 8786)")
    ns = parser.parse_args(list(argv))
    folder = Path(ns.folder).expanduser().absolute()
    try:
        files = make_certs(folder, hosts=(ns.scheduler,))
    except ClusterError as exc:
        sys.stderr.write(f"vpo-tui: {exc}\n")
        return EXIT_USAGE
    sys.stdout.write(instructions(files, ns.scheduler, ns.port) + "\n")
    return EXIT_OK
