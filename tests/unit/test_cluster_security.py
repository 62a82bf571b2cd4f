"""Who may talk to the cluster, decided before anything connects (issue 20)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from vpo_tui.batch.cluster.certs import make_certs
from vpo_tui.batch.cluster.security import (
    cert_files,
    describe_access,
    insecure_refusal,
    insecure_warning,
)
from vpo_tui.commands import arguments
from vpo_tui.config import ClusterConfig, Config, parse_config
from vpo_tui.executors import ClusterError, parse_executor


def test_plain_tcp_to_another_machine_needs_the_opt_in() -> None:
    remote, local = parse_executor("dask://192.168.1.10:8786"), parse_executor("dask://127.0.0.1:1")
    refusal = insecure_refusal(remote, ClusterConfig())
    assert refusal is not None and "plain TCP to another machine" in refusal
    assert "vpo-tui cluster certs DIR" in refusal and "--insecure-cluster" in refusal
    assert insecure_refusal(remote, ClusterConfig(allow_insecure=True)) is None
    assert insecure_refusal(local, ClusterConfig()) is None  # loopback: this machine only
    assert insecure_refusal(parse_executor("tls://192.168.1.10:8786"), ClusterConfig()) is None
    warning = insecure_warning(remote)
    assert warning is not None and "not encrypted and not authenticated" in warning
    assert insecure_warning(local) is None


def test_what_doctor_says_about_each_connection(tmp_path: Path) -> None:
    tls = describe_access(parse_executor("tls://nas:8786"), ClusterConfig(certs=tmp_path))
    assert tls.startswith("encrypted (TLS) and authenticated both ways") and str(tmp_path) in tls
    assert describe_access(parse_executor("local-cluster"), ClusterConfig()).startswith(
        "encrypted (TLS) and authenticated with credentials made for this process"
    )
    plain = describe_access(parse_executor("dask://nas:8786"), ClusterConfig(allow_insecure=True))
    assert plain.startswith("NOT encrypted and NOT authenticated") and "nas:8786" in plain


def test_tls_needs_readable_certificates_and_a_private_key(tmp_path: Path) -> None:
    spec = parse_executor("tls://nas:8786")
    with pytest.raises(ClusterError, match="needs the cluster's certificates: --cluster-certs"):
        cert_files(spec, ClusterConfig())
    with pytest.raises(ClusterError, match=r"ca\.pem: cannot read the cluster's certificates"):
        cert_files(spec, ClusterConfig(certs=tmp_path / "none"))
    files = make_certs(tmp_path / "certs")
    assert cert_files(spec, ClusterConfig(certs=files.folder)) == files
    files.key.chmod(0o644)
    with pytest.raises(ClusterError, match=r"readable by other users \(mode 644\): chmod 600"):
        cert_files(spec, ClusterConfig(certs=files.folder))


def test_cluster_config_and_its_command_line_options(tmp_path: Path) -> None:
    config = parse_config({"cluster": {"certs": "~/certs", "allow_insecure": True}})
    assert config.cluster == ClusterConfig(certs=Path("~/certs").expanduser(), allow_insecure=True)
    assert parse_config({}).cluster == ClusterConfig()
    with pytest.raises(Exception, match=r"\[cluster\] allow_insecure: expected true or false"):
        parse_config({"cluster": {"allow_insecure": "yes"}})
    ns = argparse.Namespace(cluster_certs=str(tmp_path), insecure_cluster=True)
    merged = arguments.with_cluster_options(Config(), ns)
    assert merged.cluster == ClusterConfig(certs=tmp_path, allow_insecure=True)
    kept = arguments.with_cluster_options(
        config, argparse.Namespace(cluster_certs=None, insecure_cluster=False)
    )
    assert kept.cluster == config.cluster
