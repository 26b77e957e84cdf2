"""kubeconfig files with embedded certificates, written and read without a YAML library.

The shape is the one ``kubeadm`` writes (client-go's ``clientcmd.Write`` of
``kubeconfigutil.CreateWithCerts``): one cluster named ``kubernetes``, one user,
one context ``USER@kubernetes`` that is current. Every string is written as a
YAML double-quoted scalar in JSON's escaping (valid YAML 1.2 for ASCII), so
names such as ``system:node:n1`` need no further thought. Keys are in the order
client-go writes them (alphabetical).

>>> text = format_kubeconfig(server="https://10.0.0.1:6443", user="kubernetes-admin",
...     ca_pem="CA", cert_pem="CERT", key_pem="KEY")
>>> print(text.splitlines()[5])
  name: "kubernetes"
>>> parse_kubeconfig(text)["client-key-data"]
'KEY'
"""

from __future__ import annotations

import base64
import json
import re
from typing import Dict, Optional

__all__ = ["CLUSTER_NAME", "format_kubeconfig", "parse_kubeconfig"]

#: kubeadm's default ClusterConfiguration.clusterName.
CLUSTER_NAME = "kubernetes"

_TEMPLATE = """\
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: {ca}
    server: {server}
  name: {cluster}
contexts:
- context:
    cluster: {cluster}
    user: {user}
  name: {context}
current-context: {context}
kind: Config
preferences: {{}}
users:
- name: {user}
  user:
    client-certificate-data: {cert}
    client-key-data: {key}
"""

#: ``  key: "value"`` lines of the fixed shape; the value is a JSON string.
_LINE = re.compile(r'[ -]*([a-z-]+): ("(?:[^"\\]|\\.)*")')
_DATA_KEYS = ("certificate-authority-data", "client-certificate-data", "client-key-data")


def _q(value: str) -> str:
    return json.dumps(value, ensure_ascii=True)


def _b64(pem: str) -> str:
    return base64.b64encode(pem.encode("ascii")).decode("ascii")


def format_kubeconfig(*, server: str, user: str, ca_pem: str, cert_pem: str, key_pem: str,
                      cluster: str = CLUSTER_NAME) -> str:
    """The kubeconfig text for one client certificate, as kubeadm lays it out.

    Args:
        server: the API server URL (``https://HOST:PORT``).
        user: the user name (kubeadm: the certificate's CN).
        ca_pem, cert_pem, key_pem: PEM texts, embedded base64-encoded (``*-data``).
        cluster: the cluster name; the context is ``USER@CLUSTER``.
    """
    return _TEMPLATE.format(
        ca=_q(_b64(ca_pem)), server=_q(server), cluster=_q(cluster), user=_q(user),
        context=_q("%s@%s" % (user, cluster)), cert=_q(_b64(cert_pem)), key=_q(_b64(key_pem)))


def parse_kubeconfig(text: str) -> Optional[Dict[str, str]]:
    """Read back a kubeconfig of :func:`format_kubeconfig`'s shape; None for anything else.

    Returns:
        ``{"server", "certificate-authority-data", "client-certificate-data",
        "client-key-data", ...}`` with the ``*-data`` values base64-decoded to
        text (the last occurrence of a key wins; the caller compares the whole
        file against a fresh :func:`format_kubeconfig` anyway).
    """
    found: Dict[str, str] = {}
    for line in text.splitlines():
        m = _LINE.fullmatch(line)
        if m is None:
            continue
        try:
            value = json.loads(m.group(2))
            if m.group(1) in _DATA_KEYS:
                value = base64.b64decode(value, validate=True).decode("ascii")
        except (ValueError, UnicodeDecodeError):
            return None
        found[m.group(1)] = value
    if any(k not in found for k in _DATA_KEYS + ("server", "user")):
        return None
    return found
