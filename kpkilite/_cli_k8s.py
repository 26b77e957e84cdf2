"""``kpkilite k8s-pki``: the Kubernetes certificate set as one idempotent command.

Kept light: :mod:`kpkilite.cluster` (and the crypto under it) is imported only
when the command runs.
"""

from __future__ import annotations

import re
import sys
from typing import Any, Dict, List

from .cli import Command, Failure, Flag, UsageError

__all__ = ["COMMAND"]

#: library parameter at the start of a message -> the flag the user typed
_FLAG_OF = (
    (re.compile(r"\Ahosts\[([0-9]+)\]: "), "--hosts: "),
    (re.compile(r"\Aalgo: "), "--algo: "),
    (re.compile(r"\Asize: "), "--size: "),
    (re.compile(r"\Aexpiry: "), "--expiry: "),
    (re.compile(r"\Arenew_before: "), "--renew-before: "),
)


def _hosts(value: str) -> List[str]:
    hosts = [h.strip() for h in value.split(",")]
    if "" in hosts:
        raise UsageError("k8s-pki: --hosts %r: empty host name between commas; write a,b" % value)
    return hosts


def _cmd_k8s_pki(opts: Dict[str, Any], args: List[str]) -> int:
    from . import cluster
    from .errors import InputError, KpkiliteError

    hosts = _hosts(opts["hosts"]) if opts["hosts"] else []
    algo = (opts["algo"] or "rsa").lower()
    directory = opts["dir"] or "."
    try:
        results = cluster.ensure_k8s_pki(
            directory, hosts=hosts, algo=algo, size=opts["size"], expiry=opts["expiry"],
            renew_before=opts["renew-before"], force=opts["force"])
    except InputError as exc:
        message = exc.message
        for pattern, flag in _FLAG_OF:
            message, n = pattern.subn(flag, message)
            if n:
                break
        raise Failure(message) from None
    except KpkiliteError as exc:
        raise Failure(str(exc).split("\n")[0]) from None
    width = max(len(r["path"]) for r in results)
    lines = [cluster.format_result(r, width=width) for r in results]
    counts = {a: sum(1 for r in results if r["action"] == a)
              for a in ("created", "renewed", "kept")}
    summary = "%s: %d created, %d renewed, %d kept (keys NAME-key.pem, mode 0600)" % (
        directory, counts["created"], counts["renewed"], counts["kept"])
    sys.stdout.write("\n".join(lines + [summary]) + "\n")
    sys.stdout.flush()
    return 0


COMMAND = Command(
    "k8s-pki",
    "create or renew the Kubernetes certificate set (CA + 5 leaves), idempotently",
    "k8s-pki [--dir DIR] [--hosts h1,h2] [--algo rsa|ecdsa] [--size N] [--expiry DUR] "
    "[--renew-before DUR] [--force]",
    (
        Flag("dir", "str", "directory for the files (default: .; created if missing)", "DIR"),
        Flag("hosts", "str", "extra hosts for the kubernetes certificate, comma-separated",
             "HOSTS"),
        Flag("algo", "str", "key algorithm for new keys: rsa or ecdsa (default rsa)", "ALGO",
             "rsa"),
        Flag("size", "int", "key size (default 2048 for rsa, 256 for ecdsa)", "N"),
        Flag("expiry", "str", "certificate validity, a Go duration (default 87600h)", "DUR",
             "87600h"),
        Flag("renew-before", "str", "re-issue certificates expiring within this (default 720h)",
             "DUR", "720h"),
        Flag("force", "bool", "replace a CA that cannot be used (missing half, mismatch, "
             "expired) with a new one"),
    ),
    _cmd_k8s_pki,
    0,
    0,
    "cfssl gencert + cfssljson -bare, six times",
)
