"""``kpkilite k8s-pki``: the Kubernetes certificate set as one idempotent command.

Kept light: :mod:`kpkilite.cluster` (and the crypto under it) is imported only
when the command runs.
"""

from __future__ import annotations

import re
import sys
from typing import Any, Dict, List

from ._cmd import Command, Failure, Flag, UsageError, out

__all__ = ["COMMAND"]

#: library parameter at the start of a message -> the flag the user typed
_FLAG_OF = (
    (re.compile(r"\Ahosts\[([0-9]+)\]: "), "--hosts: "),
    (re.compile(r"\Aalgo: "), "--algo: "),
    (re.compile(r"\Asize: "), "--size: "),
    (re.compile(r"\Aexpiry: "), "--expiry: "),
    (re.compile(r"\Arenew_before: "), "--renew-before: "),
    (re.compile(r"\Anode_name: "), "--node-name: "),
    (re.compile(r"\Anode_ip: "), "--node-ip: "),
    (re.compile(r"\Aservice_cidr: "), "--service-cidr: "),
    (re.compile(r"\Acluster_domain: "), "--cluster-domain: "),
    (re.compile(r"\Acontrol_plane_endpoint: "), "--control-plane-endpoint: "),
    (re.compile(r"\Alayout: "), "--layout: "),
    (re.compile(r"\Arenew: "), "--renew: "),
    (re.compile(r"\Akubeconfig_dir: "), "--kubeconfig-dir: "),
)


#: str flags whose empty value (``--renew "$UNSET"``) is refused: flag -> what to give instead.
#: (An empty --hosts is accepted: no extra hosts, as cfssl's empty -hostname.)
_NOT_EMPTY = (
    ("dir", "give a directory, or leave out --dir for the current one"),
    ("layout", "give chapter or kubeadm"),
    ("algo", "give rsa or ecdsa"),
    ("expiry", "give a Go duration such as 8760h"),
    ("renew-before", "give a Go duration such as 720h"),
    ("node-name", "give the node's name"),
    ("node-ip", "give the node's IP address"),
    ("service-cidr", "give a CIDR such as 10.96.0.0/12, or leave the flag out"),
    ("cluster-domain", "give a DNS domain such as cluster.local, or leave the flag out"),
    ("control-plane-endpoint", "give HOST[:PORT], or leave the flag out"),
    ("kubeconfig-dir", "give a directory, or leave the flag out for the parent of --dir"),
    ("renew", "give certificate names (comma-separated) or all"),
)


def _check_not_empty(opts: Dict[str, Any]) -> None:
    """An empty value is almost always an unset shell variable: refuse it, never guess."""
    for name, hint in _NOT_EMPTY:
        if opts.get(name) == "":
            raise UsageError("k8s-pki: --%s is empty (an unset shell variable?); %s"
                             % (name, hint))


def _names(value: str) -> List[str]:
    names = [n.strip() for n in value.split(",")]
    if "" in names:
        raise UsageError("k8s-pki: --renew %r: empty name between commas; write a,b" % value)
    return names


def _hosts(value: str) -> List[str]:
    hosts = [h.strip() for h in value.split(",")]
    if "" in hosts:
        raise UsageError("k8s-pki: --hosts %r: empty host name between commas; write a,b" % value)
    return hosts


def _message(exc: Exception) -> str:
    from .errors import InputError

    if isinstance(exc, InputError):
        message = exc.message
        for pattern, flag in _FLAG_OF:
            message, n = pattern.subn(flag, message)
            if n:
                break
    else:
        message = str(exc)
    # One line, whatever the library said (a reason may quote a parser's multi-line text).
    return " ".join(part.strip() for part in message.splitlines() if part.strip())


def _cmd_k8s_pki(opts: Dict[str, Any], args: List[str]) -> int:
    from . import cluster
    from .errors import KpkiliteError

    _check_not_empty(opts)
    hosts = _hosts(opts["hosts"]) if opts["hosts"] else []
    algo = (opts["algo"] or "rsa").lower()
    directory = opts["dir"] or "."
    layout = opts["layout"]
    if opts["check-expiration"] and opts["renew"] is not None:
        raise UsageError("k8s-pki: --check-expiration and --renew cannot be used together")
    names = _names(opts["renew"]) if opts["renew"] is not None else None
    if sys.stdout is None:  # ">&-": fail before anything is written, not after
        out("")
    try:
        if opts["check-expiration"]:
            from datetime import datetime, timezone

            infos = cluster.check_expiration(directory, layout=layout,
                                             kubeconfig_dir=opts["kubeconfig-dir"])
            out(cluster.format_expiration(infos, now=datetime.now(timezone.utc)))
            return 0
        if names is not None:
            results = cluster.renew_certs(directory, names, layout=layout,
                                          kubeconfig_dir=opts["kubeconfig-dir"],
                                          expiry=opts["expiry"])
        else:
            results = cluster.ensure_k8s_pki(
                directory, hosts=hosts, algo=algo, size=opts["size"], expiry=opts["expiry"],
                renew_before=opts["renew-before"], force=opts["force"],
                layout=layout or "chapter", node_name=opts["node-name"],
                node_ip=opts["node-ip"], service_cidr=opts["service-cidr"],
                cluster_domain=opts["cluster-domain"],
                control_plane_endpoint=opts["control-plane-endpoint"],
                kubeconfig_dir=opts["kubeconfig-dir"])
    except KpkiliteError as exc:
        raise Failure(_message(exc)) from None
    width = max(len(r["path"]) for r in results)
    lines = [cluster.format_result(r, width=width) for r in results]
    counts = {a: sum(1 for r in results if r["action"] == a)
              for a in ("created", "renewed", "kept")}
    keys = "NAME.key" if (layout == "kubeadm" or results[0]["path"].endswith(".crt")) \
        else "NAME-key.pem"
    summary = "%s: %d created, %d renewed, %d kept (keys %s, mode 0600)" % (
        directory, counts["created"], counts["renewed"], counts["kept"], keys)
    try:
        out("\n".join(lines + [summary]) + "\n")
    except Failure as exc:  # the files are in place; only the report is lost
        raise Failure("%s; the certificate files were written all the same" % exc) from None
    return 0


COMMAND = Command(
    "k8s-pki",
    "create or renew the Kubernetes certificate set (chapter: CA + 5 leaves; or kubeadm's)",
    "k8s-pki [--dir DIR] [--layout chapter|kubeadm] [--hosts h1,h2] [--algo rsa|ecdsa] "
    "[--size N] [--expiry DUR] [--renew-before DUR] [--force] [--node-name NAME] "
    "[--node-ip IP] [--service-cidr CIDR] [--cluster-domain DOMAIN] "
    "[--control-plane-endpoint HOST:PORT] [--kubeconfig-dir DIR] "
    "[--check-expiration | --renew NAME|all]",
    (
        Flag("dir", "str", "directory for the files (default: .; created if missing)", "DIR"),
        Flag("layout", "str", "chapter (cfssl's six, default) or kubeadm (kubeadm v1.31's "
             "pki and kubeconfig files)", "LAYOUT"),
        Flag("hosts", "str", "extra hosts for the kubernetes (kubeadm: apiserver) certificate, "
             "comma-separated", "HOSTS"),
        Flag("algo", "str", "key algorithm for new keys: rsa or ecdsa (default rsa)", "ALGO",
             "rsa"),
        Flag("size", "int", "key size (default 2048 for rsa, 256 for ecdsa)", "N"),
        Flag("expiry", "str", "certificate validity, a Go duration (default 87600h; kubeadm "
             "8760h)", "DUR"),
        Flag("renew-before", "str", "re-issue certificates expiring within this (default 720h)",
             "DUR", "720h"),
        Flag("force", "bool", "replace a CA that cannot be used (missing half, mismatch, "
             "expired, key readable by others) with a new one"),
        Flag("node-name", "str", "kubeadm: the node's name (required)", "NAME"),
        Flag("node-ip", "str", "kubeadm: the node's IP address (required)", "IP"),
        Flag("service-cidr", "str", "kubeadm: the service CIDR (default 10.96.0.0/12)", "CIDR"),
        Flag("cluster-domain", "str", "kubeadm: the cluster DNS domain (default cluster.local)",
             "DOMAIN"),
        Flag("control-plane-endpoint", "str", "kubeadm: the load balancer, HOST[:PORT]",
             "HOST:PORT"),
        Flag("kubeconfig-dir", "str", "kubeadm: where the *.conf files are (default: the "
             "parent of --dir, as kubeadm: /etc/kubernetes for /etc/kubernetes/pki)", "DIR"),
        Flag("check-expiration", "bool", "print kubeadm's expiration tables for the set in --dir "
             "(either layout)"),
        Flag("renew", "str", "re-issue these certificates (comma-separated, or all) from their "
             "CA, keeping subjects and SANs", "NAME"),
    ),
    _cmd_k8s_pki,
    0,
    0,
    "cfssl gencert + cfssljson -bare, six times; kubeadm init phase certs/kubeconfig",
)
