"""``kubeadm certs check-expiration`` and ``kubeadm certs renew`` for both layouts.

Kept out of :mod:`kpkilite.cluster` (which re-exports :func:`check_expiration`,
:func:`format_expiration` and :func:`renew_certs`) so that module stays about
making the set.

Renewal follows ``kubeadm certs renew``: the certificate is re-issued by its
existing CA with a new key, keeping the subject and SANs of the certificate on
disk (not the table's); kubeconfig files keep their server. It runs whether or
not the certificate is near expiry. Kubeconfig files are looked for in
``kubeconfig_dir``, by default the parent of the PKI directory, as kubeadm does.
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional, Sequence, Tuple, TypedDict, Union

from ._layouts import LAYOUTS, CertDef, KubeadmParams, kubeadm_table
from .errors import CSRSpecError, FileError

StrPath = Union[str, "os.PathLike[str]"]


class ExpirationInfo(TypedDict):
    """One line of :func:`check_expiration`: a certificate or a CA of the set.

    ``name`` is kubeadm's (``apiserver``, ``etcd-server``, ``admin.conf``, ``ca``,
    ``etcd-ca``). ``not_after`` is RFC 3339 UTC, ``""`` when ``missing``.
    ``externally_managed``: the signing CA's key (for a CA, its own) is absent.
    """

    name: str
    is_ca: bool
    authority: str
    path: str
    not_after: str
    missing: bool
    externally_managed: bool


def detect_layout(directory: str, layout: Optional[str]) -> str:
    """``layout`` when given, else ``kubeadm`` if ``ca.crt`` exists, ``chapter`` if ``ca.pem``."""
    if layout is not None:
        if layout not in LAYOUTS:
            raise CSRSpecError("layout: %r is not a known layout (layouts: %s)"
                               % (layout, ", ".join(sorted(LAYOUTS))))
        return layout
    if os.path.exists(os.path.join(directory, "ca.crt")):
        return "kubeadm"
    if os.path.exists(os.path.join(directory, "ca.pem")):
        return "chapter"
    raise FileError("%s: no certificate set here (neither ca.crt nor ca.pem); give --layout "
                    "or the right --dir" % directory)


def _table(directory: str, layout: str, kubeconfig_dir: Optional[StrPath]) -> Tuple[CertDef, ...]:
    if layout != "kubeadm":
        return LAYOUTS[layout]
    from .cluster import _kubeconfig_rel

    rel = _kubeconfig_rel(directory, kubeconfig_dir)
    # Only file names, signers and labels matter here; subjects come from the files.
    return kubeadm_table(KubeadmParams("node", "127.0.0.1", "10.96.0.1", "cluster.local", None),
                         rel)


def _titles(table: Sequence[CertDef]) -> Dict[str, str]:
    return {c.name: c.title for c in table}


def _read_cert(directory: str, cdef: CertDef) -> Tuple[Optional[bytes], Optional[str]]:
    """(certificate PEM bytes or None, the kubeconfig's server or None)."""
    from . import cluster

    paths = cluster._paths(directory, cdef)
    if cdef.files != "kubeconfig":
        return cluster._read_optional(paths["cert"]), None
    raw = cluster._read_optional(paths["kubeconfig"])
    if raw is None:
        return None, None
    conf = cluster._read_kubeconfig(raw, paths["kubeconfig"])
    if isinstance(conf, str):
        raise FileError(conf)
    return conf["client-certificate-data"].encode(), conf["server"]


def check_expiration(
    directory: StrPath = ".",
    *,
    layout: Optional[str] = None,
    kubeconfig_dir: Optional[StrPath] = None,
) -> List[ExpirationInfo]:
    """What ``kubeadm certs check-expiration`` reports, for either layout.

    ``layout`` None: detected, ``kubeadm`` if ``ca.crt`` exists, else ``chapter`` if
    ``ca.pem`` does. ``kubeconfig_dir`` (kubeadm): default the parent of ``directory``.

    Returns:
        The leaves (and kubeconfig files) sorted by name, then the CAs sorted by name.

    Raises:
        FileError: no certificate set in ``directory``; a kubeconfig of another shape; a
            file that is not a regular file (a FIFO, a device, or a symlink to one) or
            is larger than 1 MiB (it is never read).
        PEMError: a certificate does not parse.
    """
    from . import cluster

    path = os.fspath(directory)
    layout = detect_layout(path, layout)
    table = _table(path, layout, kubeconfig_dir)
    titles = _titles(table)
    leaves: List[ExpirationInfo] = []
    cas: List[ExpirationInfo] = []
    for cdef in table:
        if cdef.files == "keypair":
            continue
        cert_b, _ = _read_cert(path, cdef)
        ca_name = cdef.name if cdef.is_ca else cdef.signer
        assert ca_name is not None
        ca_cdef = next(c for c in table if c.name == ca_name)
        ca_key = cluster._paths(path, ca_cdef)["key"]
        main = cluster._paths(path, cdef)
        info: ExpirationInfo = {
            "name": cdef.title,
            "is_ca": cdef.is_ca,
            "authority": "" if cdef.is_ca else titles[ca_name],
            "path": main.get("cert") or main["kubeconfig"],
            "not_after": "",
            "missing": cert_b is None,
            "externally_managed": not os.path.exists(ca_key),
        }
        if cert_b is not None:
            info["not_after"] = cluster._rfc3339(
                cluster._not_after(cluster._load_cert(cert_b, info["path"])))
        (cas if cdef.is_ca else leaves).append(info)
    return sorted(leaves, key=lambda i: i["name"]) + sorted(cas, key=lambda i: i["name"])


def short_duration(left: timedelta) -> str:
    """apimachinery's ``ShortHumanDuration``, as kubeadm prints RESIDUAL TIME.

    >>> [short_duration(timedelta(seconds=s)) for s in (-5, -1, 59, 3600, 86400 * 2, 86400 * 800)]
    ['<invalid>', '0s', '59s', '1h', '2d', '2y']
    """
    seconds = int(left.total_seconds())
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 60:
        return "%ds" % seconds
    minutes = seconds // 60
    if minutes < 60:
        return "%dm" % minutes
    hours = seconds // 3600
    if hours < 24:
        return "%dh" % hours
    if hours < 24 * 365:
        return "%dd" % (hours // 24)
    return "%dy" % (hours // 24 // 365)


def _columns(rows: List[List[str]]) -> List[str]:
    """Go's tabwriter as kubeadm sets it up (minwidth 10, padding 3, spaces); the last
    cell of a line is not padded, so no line ends with a space."""
    widths = [max(10, max(len(r[i]) for r in rows) + 3) for i in range(len(rows[0]) - 1)]
    return ["".join(c.ljust(w) for c, w in zip(r, widths)) + r[-1] for r in rows]



def format_expiration(infos: Sequence[ExpirationInfo], *, now: datetime) -> str:
    """kubeadm's two tables: certificates, then certificate authorities.

    Dates as kubeadm prints them (``Jan 02, 2006 15:04 UTC``), residual time as
    :func:`short_duration`; a missing certificate is ``!MISSING! NAME``, a missing
    kubeconfig ``!MISSING! admin.conf (not in DIR; see --kubeconfig-dir)``. No line
    ends with a space.
    """
    def when(info: ExpirationInfo) -> Tuple[str, str]:
        moment = datetime.strptime(info["not_after"], "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=now.tzinfo)
        return moment.strftime("%b %d, %Y %H:%M UTC"), short_duration(moment - now)

    def managed(info: ExpirationInfo) -> str:
        return "yes" if info["externally_managed"] else "no"

    out: List[str] = []
    for is_ca in (False, True):
        head = ["CERTIFICATE", "EXPIRES", "RESIDUAL TIME", "CERTIFICATE AUTHORITY",
                "EXTERNALLY MANAGED"]
        if is_ca:
            head = ["CERTIFICATE AUTHORITY", "EXPIRES", "RESIDUAL TIME", "EXTERNALLY MANAGED"]
        rows, missing = [head], []
        for info in infos:
            if info["is_ca"] != is_ca:
                continue
            if info["missing"]:
                where = ""
                if info["path"].endswith(".conf"):  # not found where it was looked for
                    where = " (not in %s; see --kubeconfig-dir)" % (
                        os.path.dirname(info["path"]) or ".")
                missing.append("!MISSING! %s%s" % (info["name"], where))
                continue
            expires, left = when(info)
            row = [info["name"], expires, left] + ([] if is_ca else [info["authority"]])
            rows.append(row + [managed(info)])
        if is_ca:
            out.append("")
        out += _columns(rows) + missing
    return "\n".join(out) + "\n"


def _spec_from_cert(cert: Any, algo: str, size: int) -> Dict[str, Any]:
    """A cfssl CSR spec with the certificate's subject and SANs (Go's name order)."""
    fields = {"country_name": "C", "state_or_province_name": "ST", "locality_name": "L",
              "organization_name": "O", "organizational_unit_name": "OU"}
    names: Dict[str, List[str]] = {}
    cn = ""
    for rdn in cert["tbs_certificate"]["subject"].chosen:
        for atv in rdn:
            kind, value = atv["type"].native, str(atv["value"].native)
            if kind == "common_name":
                cn = value
            elif kind in fields:
                names.setdefault(fields[kind], []).append(value)
    from .cluster import _hosts_of

    hosts = _hosts_of(cert)
    count = max((len(v) for v in names.values()), default=0)
    entries = [{k: v[i] for k, v in names.items() if i < len(v)} for i in range(count)]
    return {"CN": cn, "hosts": hosts, "key": {"algo": algo, "size": size}, "names": entries}


def renew_certs(
    directory: StrPath,
    names: Sequence[str],
    *,
    layout: Optional[str] = None,
    kubeconfig_dir: Optional[StrPath] = None,
    expiry: Optional[str] = None,
    now: Optional[datetime] = None,
    max_workers: Optional[int] = None,
) -> List[Any]:
    """Re-issue the named certificates (``["all"]``: every leaf) from their existing CAs.

    Returns:
        One ``CertResult`` per renewed certificate, action ``"renewed"``.

    Raises:
        CSRSpecError: an unknown name (the message lists the known ones).
        FileError: a certificate or its CA's key is missing (an external CA cannot renew);
            the directory holds the other layout's CA files as well; a file of the set
            is not a regular file or is larger than 1 MiB.
        SigningConfigError: a bad ``expiry``; ``now`` within 5 minutes of the year 1.
    """
    from . import cluster
    from .certinfo import key_matches_cert  # noqa: F401 - loads the backend early
    from .signing import sign_csr

    if isinstance(names, str):
        raise TypeError("names must be a sequence of str, not a str")
    moment = cluster._clock(now)
    cluster._check_window(moment, None)  # a leaf's notAfter is cut to its CA's
    path = os.fspath(directory)
    layout = detect_layout(path, layout)
    table = _table(path, layout, kubeconfig_dir)
    leaves = [c for c in table if c.signer is not None]
    known = [c.title for c in leaves]
    chosen: List[CertDef] = []
    for name in names:
        if name == "all":
            chosen = list(leaves)
            break
        if name not in known:
            raise CSRSpecError("renew: %r is not a certificate of the %s layout; choose from %s, "
                               "or all" % (name, layout, ", ".join(sorted(known))))
        chosen += [c for c in leaves if c.title == name and c not in chosen]
    if expiry is None:
        expiry = "8760h" if layout == "kubeadm" else "87600h"
    cluster._check_foreign_layout(path, layout)
    signers = [c for c in table if any(c.name == leaf.signer for leaf in chosen)]
    with cluster._locked(path):
        cluster._refuse_special(cluster._all_paths(path, chosen + signers))
        cluster._remove_litter(path, table)
        cluster._recover(path)
        plans, specs, cas = [], {}, {}
        for cdef in chosen:
            cert_b, server = _read_cert(path, cdef)
            paths = cluster._paths(path, cdef)
            label = paths.get("cert") or paths["kubeconfig"]
            if cert_b is None and cdef.files == "kubeconfig":
                raise FileError("%s: cannot renew %s: the kubeconfig is missing (kubeconfig "
                                "files are in --kubeconfig-dir, by default the parent of --dir); "
                                "give the right --kubeconfig-dir, or run k8s-pki without --renew "
                                "to create it" % (label, cdef.title))
            if cert_b is None:
                raise FileError("%s: cannot renew %s: the certificate is missing; run k8s-pki "
                                "without --renew to create it" % (label, cdef.title))
            assert cdef.signer is not None
            ca_cdef = next(c for c in table if c.name == cdef.signer)
            ca_paths = cluster._paths(path, ca_cdef)
            ca_cert = cluster._read_optional(ca_paths["cert"])
            ca_key = cluster._read_optional(ca_paths["key"])
            if ca_cert is None or ca_key is None:
                raise FileError("%s: cannot renew %s: the CA %s is missing (an externally "
                                "managed CA renews its own certificates)"
                                % (ca_paths["key" if ca_cert else "cert"], cdef.title,
                                   ca_cdef.title))
            cluster._load_cert(ca_cert, ca_paths["cert"])  # a bad CA: an error naming it
            cas[cdef.signer] = (ca_cert, ca_key)
            cert = cluster._load_cert(cert_b, label)
            spki = cert["tbs_certificate"]["subject_public_key_info"]
            algo = "rsa" if spki.algorithm == "rsa" else "ecdsa"
            spec = _spec_from_cert(cert, algo, spki.bit_size)
            cdef = replace(cdef, CN=spec["CN"], server=server or cdef.server)
            specs[cdef.name] = spec
            plans.append(cluster._Plan(cdef, "renewed", "renewed on request"))
        options = cluster._check_options([], [], "rsa", None, expiry, expiry, "1s")
        options.specs = specs
        cluster._generate(plans, options, moment, max_workers)
        for plan in plans:
            assert plan.cdef.signer is not None
            cluster._sign(plan, options, cas[plan.cdef.signer], moment, sign_csr)
        cluster._commit(path, plans)
    return [cluster._result(path, p) for p in plans]
