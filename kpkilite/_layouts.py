"""Certificate tables for :mod:`kpkilite.cluster`: the chapter's six, and kubeadm's layout.

kubeadm's table follows kubeadm v1.31 (``cmd/kubeadm/app/phases/certs/certlist.go``,
``util/pkiutil`` ``GetAPIServerAltNames``/``GetEtcdAltNames``, and the kubeconfig
phase), and the "PKI certificates and requirements" page where it agrees with
that code. Since v1.29: ``apiserver-kubelet-client`` has O=kubeadm:cluster-admins,
``admin.conf`` O=kubeadm:cluster-admins, ``super-admin.conf`` O=system:masters,
and the etcd client certificates have no O at all.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from typing import Dict, Mapping, Optional, Tuple

from .errors import CSRSpecError

__all__ = ["CertDef", "KubeadmParams", "LAYOUTS", "kubeadm_table", "parse_kubeadm_params"]


@dataclass(frozen=True)
class CertDef:
    """One row of a layout: file base name, subject, hosts, usages, and who signs it.

    ``names`` is the single cfssl ``names`` entry (``C``, ``ST``, ``L``, ``O``,
    ``OU``). ``signer`` is the base name of the CA row that signs it (None for a
    self-signed root, and for the ``keypair`` row). ``extra_hosts`` marks the
    certificate that ``hosts=`` adds to. ``usages`` are cfssl usage names (empty:
    the chapter profile's). ``files`` says how it is stored: ``bare``
    (cfssljson ``NAME.pem``, ``NAME-key.pem``, ``NAME.csr``), ``kubeadm``
    (``NAME.crt``, ``NAME.key``), ``keypair`` (``NAME.key``, ``NAME.pub``) or
    ``kubeconfig`` (one file ``NAME`` embedding the certificate and key;
    ``server`` is its API server URL). ``label`` is kubeadm's name for it
    (``etcd-server``, ``admin.conf``), used by check-expiration and renew.
    """

    name: str
    CN: str
    names: Mapping[str, str]
    hosts: Tuple[str, ...] = ()
    signer: Optional[str] = "ca"
    extra_hosts: bool = False
    usages: Tuple[str, ...] = ()
    files: str = "bare"
    label: str = ""
    server: str = ""

    @property
    def is_ca(self) -> bool:
        return self.signer is None and self.files != "keypair"

    @property
    def title(self) -> str:
        return self.label or self.name


#: The subject fields every certificate of the chapter shares (its CSR files' ``names``).
_BEIJING = {"C": "CN", "ST": "BeiJing", "L": "BeiJing"}

#: The ``kubernetes`` certificate's default hosts: the chapter's list without the book's
#: site-specific entries (192.168.1.145, 192.168.1.146, etcd01, kube-api.jd.com,
#: Kubernetes-master1), plus 10.0.0.1, the chapter's first service address.
DEFAULT_HOSTS: Tuple[str, ...] = (
    "127.0.0.1",
    "10.0.0.1",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster",
    "kubernetes.default.svc.cluster.local",
)

#: Layout name -> its certificates, CAs first. "chapter": the cfssl walk-through's six
#: CSR files. "kubeadm" here is the table for node "node" at 127.0.0.1 (file kinds,
#: signers and labels); :func:`kubeadm_table` makes it for real parameters.
LAYOUTS: Dict[str, Tuple[CertDef, ...]] = {
    "chapter": (
        CertDef("ca", "kubernetes", dict(_BEIJING, O="Kubernetes", OU="System"), signer=None),
        CertDef("kubernetes", "kubernetes", dict(_BEIJING, O="Kubernetes", OU="System"),
                DEFAULT_HOSTS, extra_hosts=True),
        CertDef("admin", "admin", dict(_BEIJING, O="system:masters", OU="System")),
        CertDef("kube-proxy", "system:kube-proxy", dict(_BEIJING, O="Kubernetes", OU="System")),
        CertDef("kube-controller-manager", "system:kube-controller-manager",
                dict(_BEIJING, O="system:kube-controller-manager", OU="system"), ("127.0.0.1",)),
        CertDef("kube-scheduler", "system:kube-scheduler",
                dict(_BEIJING, O="system:kube-scheduler", OU="4Paradigm"), ("127.0.0.1",)),
    ),
}

_SERVER = ("signing", "key encipherment", "server auth")
_CLIENT = ("signing", "key encipherment", "client auth")
_BOTH = ("signing", "key encipherment", "server auth", "client auth")
API_PORT = 6443  # kubeadm's default bindPort


@dataclass(frozen=True)
class KubeadmParams:
    """Validated kubeadm inputs. ``endpoint`` is ``(host, port)`` or None."""

    node_name: str
    node_ip: str
    service_ip: str
    cluster_domain: str
    endpoint: Optional[Tuple[str, int]]


def _url(host: str, port: int) -> str:
    return "https://%s:%d" % ("[%s]" % host if ":" in host else host, port)


def parse_kubeadm_params(
    node_name: Optional[str],
    node_ip: Optional[str],
    service_cidr: str,
    cluster_domain: str,
    control_plane_endpoint: Optional[str],
) -> KubeadmParams:
    """Check kubeadm's inputs; returns them with the first service address worked out.

    The node name must be a lower-case DNS name (the kubelet registers with it);
    the API server's service address is the first one of the (first) service CIDR
    (kubeadm's ``GetAPIServerVirtualIP``: 10.96.0.1 for 10.96.0.0/12); the
    endpoint is ``HOST`` or ``HOST:PORT`` (``[v6]:PORT``), port default 6443.

    >>> parse_kubeadm_params("n1", "192.0.2.7", "10.96.0.0/12", "cluster.local", None).service_ip
    '10.96.0.1'

    Raises:
        CSRSpecError: a missing or malformed value, naming the parameter.
    """
    from ._asn1 import HostError, classify_hosts

    for value, what in ((node_name, "node_name"), (node_ip, "node_ip"),
                        (service_cidr, "service_cidr"), (cluster_domain, "cluster_domain"),
                        (control_plane_endpoint, "control_plane_endpoint")):
        if value is not None and not isinstance(value, str):
            raise TypeError("%s must be a str, not %s" % (what, type(value).__name__))
    if not node_name:
        raise CSRSpecError("node_name: the kubeadm layout needs the node's name")
    if not node_ip:
        raise CSRSpecError("node_ip: the kubeadm layout needs the node's IP address")
    for value, what in ((node_name, "node_name"), (cluster_domain, "cluster_domain")):
        try:
            groups = classify_hosts([value])
        except HostError as exc:
            raise CSRSpecError("%s: %r: %s" % (what, value, exc)) from None
        if not groups["dns"] or "*" in value or value != value.lower():
            raise CSRSpecError("%s: %r is not a lower-case DNS name" % (what, value))
    try:
        ip = ipaddress.ip_address(node_ip)
    except ValueError:
        raise CSRSpecError("node_ip: %r is not an IP address" % node_ip) from None
    first = service_cidr.split(",")[0].strip()
    try:
        net = ipaddress.ip_network(first, strict=True)
    except ValueError as exc:
        raise CSRSpecError("service_cidr: %r: %s" % (service_cidr, exc)) from None
    if net.num_addresses < 4:
        raise CSRSpecError("service_cidr: %r is too small for a service address" % service_cidr)
    endpoint: Optional[Tuple[str, int]] = None
    if control_plane_endpoint:
        endpoint = _parse_endpoint(control_plane_endpoint)
    return KubeadmParams(node_name, str(ip), str(net.network_address + 1), cluster_domain,
                         endpoint)


def _parse_endpoint(text: str) -> Tuple[str, int]:
    from ._asn1 import HostError, classify_hosts

    host, port_text = text, ""
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise CSRSpecError("control_plane_endpoint: %r: write [IPv6]:PORT" % text)
        port_text = rest[1:]
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    port = API_PORT
    if port_text or text.endswith(":"):
        if not (port_text.isascii() and port_text.isdigit()) or not 0 < int(port_text) < 65536:
            raise CSRSpecError("control_plane_endpoint: %r: the port must be 1-65535" % text)
        port = int(port_text)
    try:
        groups = classify_hosts([host])
    except HostError as exc:
        raise CSRSpecError("control_plane_endpoint: %r: %s" % (text, exc)) from None
    if not (groups["dns"] or groups["ip"]):
        raise CSRSpecError("control_plane_endpoint: %r is not HOST[:PORT]" % text)
    return host, port


def kubeadm_table(params: KubeadmParams, kubeconfig_rel: str = "") -> Tuple[CertDef, ...]:
    """kubeadm v1.31's certificates and kubeconfig files for one control-plane node.

    ``kubeconfig_rel`` is the kubeconfig directory relative to the PKI directory
    (``""``: the same one). admin, super-admin and kubelet talk to the
    control-plane endpoint (or NODE_IP:6443); controller-manager and scheduler
    to the local API endpoint NODE_IP:6443, as kubeadm's kubeconfig phase does.
    """
    p = params
    api_hosts = [p.node_name, "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                 "kubernetes.default.svc.%s" % p.cluster_domain, p.service_ip, p.node_ip]
    if p.endpoint is not None:
        api_hosts.append(p.endpoint[0])
    api_hosts = list(dict.fromkeys(api_hosts))
    # kubeadm lists these as they come; a repeat (node IP 127.0.0.1) is written once here
    etcd_hosts = tuple(dict.fromkeys((p.node_name, "localhost", p.node_ip, "127.0.0.1", "::1")))
    local = _url(p.node_ip, API_PORT)
    remote = _url(*p.endpoint) if p.endpoint is not None else local

    def conf(name: str, cn: str, org: str, server: str) -> CertDef:
        names = {"O": org} if org else {}
        return CertDef(os.path.join(kubeconfig_rel, name), cn, names, usages=_CLIENT,
                       files="kubeconfig", label=name, server=server)

    return (
        CertDef("ca", "kubernetes", {}, signer=None, files="kubeadm", label="ca"),
        CertDef("apiserver", "kube-apiserver", {}, tuple(api_hosts), extra_hosts=True,
                usages=_SERVER, files="kubeadm"),
        CertDef("apiserver-kubelet-client", "kube-apiserver-kubelet-client",
                {"O": "kubeadm:cluster-admins"}, usages=_CLIENT, files="kubeadm"),
        CertDef("front-proxy-ca", "front-proxy-ca", {}, signer=None, files="kubeadm"),
        CertDef("front-proxy-client", "front-proxy-client", {}, signer="front-proxy-ca",
                usages=_CLIENT, files="kubeadm"),
        CertDef("etcd/ca", "etcd-ca", {}, signer=None, files="kubeadm", label="etcd-ca"),
        CertDef("etcd/server", p.node_name, {}, etcd_hosts, signer="etcd/ca", usages=_BOTH,
                files="kubeadm", label="etcd-server"),
        CertDef("etcd/peer", p.node_name, {}, etcd_hosts, signer="etcd/ca", usages=_BOTH,
                files="kubeadm", label="etcd-peer"),
        CertDef("etcd/healthcheck-client", "kube-etcd-healthcheck-client", {}, signer="etcd/ca",
                usages=_CLIENT, files="kubeadm", label="etcd-healthcheck-client"),
        CertDef("apiserver-etcd-client", "kube-apiserver-etcd-client", {}, signer="etcd/ca",
                usages=_CLIENT, files="kubeadm"),
        CertDef("sa", "", {}, signer=None, files="keypair"),
        conf("admin.conf", "kubernetes-admin", "kubeadm:cluster-admins", remote),
        conf("super-admin.conf", "kubernetes-super-admin", "system:masters", remote),
        conf("controller-manager.conf", "system:kube-controller-manager", "", local),
        conf("scheduler.conf", "system:kube-scheduler", "", local),
        conf("kubelet.conf", "system:node:%s" % p.node_name, "system:nodes", remote),
    )


LAYOUTS["kubeadm"] = kubeadm_table(
    KubeadmParams("node", "127.0.0.1", "10.96.0.1", "cluster.local", None))
