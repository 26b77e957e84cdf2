"""kpkilite.cluster / ``kpkilite k8s-pki``: the chapter's set, idempotence, renewal, CA safety.

Oracles are independent of kpkilite: the chapter's CSR files in ../shared/seed-flow
(subjects and hosts), ``openssl verify`` and the ``cryptography`` package (parsing,
signatures, key/cert pairing). The interrupted-run tests (SIGKILL of the real
process) are in test_cluster_kill.py.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kpkilite import cluster
from kpkilite.cli import main
from kpkilite.cluster import ensure_k8s_pki
from kpkilite.errors import CSRSpecError, FileError, KpkiliteWarning, SigningConfigError

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT.parent / "shared" / "seed-flow"
if not SEED.is_dir():
    SEED = Path("/work/shared/seed-flow")
NAMES = ["ca", "kubernetes", "admin", "kube-proxy", "kube-controller-manager", "kube-scheduler"]
LEAVES = NAMES[1:]
SEED_FILE = {name: "%s-csr.json" % name for name in NAMES}
SITE_SPECIFIC = {"192.168.1.145", "192.168.1.146", "etcd01", "kube-api.jd.com",
                 "Kubernetes-master1"}
T0 = datetime.now(timezone.utc).replace(microsecond=0)
HOUR = timedelta(hours=1)
OPENSSL = shutil.which("openssl")

Snapshot = Dict[str, Tuple[bytes, int, int]]


def snapshot(directory: Path) -> Snapshot:
    """Every entry of the directory (hidden ones too): bytes, mtime in ns, mode."""
    found = {}
    for entry in sorted(os.listdir(directory)):
        st = os.stat(directory / entry)
        found[entry] = ((directory / entry).read_bytes(), st.st_mtime_ns, st.st_mode & 0o777)
    return found


def load(directory: Path, name: str) -> Tuple[Any, Any, Any]:
    cert = cx509.load_pem_x509_certificate((directory / ("%s.pem" % name)).read_bytes())
    key = serialization.load_pem_private_key(
        (directory / ("%s-key.pem" % name)).read_bytes(), password=None)
    csr = cx509.load_pem_x509_csr((directory / ("%s.csr" % name)).read_bytes())
    return cert, key, csr


def public_der(obj: Any) -> bytes:
    return bytes(obj.public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo))


def assert_complete_set(directory: Path) -> None:
    """The oracle: every file parses, every leaf is signed by ca.pem, every key matches."""
    ca, ca_key, ca_csr = load(directory, "ca")
    assert public_der(ca) == public_der(ca_key) == public_der(ca_csr)
    assert ca.extensions.get_extension_for_class(cx509.BasicConstraints).value.ca
    for name in LEAVES:
        cert, key, csr = load(directory, name)
        cert.verify_directly_issued_by(ca)
        assert public_der(cert) == public_der(key) == public_der(csr), name
        assert csr.is_signature_valid
        assert oct(os.stat(directory / ("%s-key.pem" % name)).st_mode & 0o777) == "0o600"


def actions(results: List[cluster.CertResult]) -> Dict[str, str]:
    return {r["name"]: r["action"] for r in results}


# --- module fixtures: one pristine set per algorithm, copied per test -------------------------


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Path]:
    made = {}
    for algo in ("rsa", "ecdsa"):
        d = tmp_path_factory.mktemp("pristine-" + algo) / "pki"
        ensure_k8s_pki(d, algo=algo, now=T0)
        made[algo] = d
    other = tmp_path_factory.mktemp("other-ca") / "pki"
    ensure_k8s_pki(other, algo="ecdsa", now=T0)
    made["other"] = other
    return made


@pytest.fixture(params=["rsa", "ecdsa"])
def pki(request: pytest.FixtureRequest, pristine: Dict[str, Path], tmp_path: Path) -> Path:
    """A copy of a pristine set, at tmp/ALGO/pki (see :func:`algo`)."""
    target = tmp_path / request.param / "pki"
    shutil.copytree(pristine[request.param], target)
    return target


@pytest.fixture
def ec_pki(pristine: Dict[str, Path], tmp_path: Path) -> Path:
    target = tmp_path / "ecdsa" / "pki"
    shutil.copytree(pristine["ecdsa"], target)
    return target


def algo(d: Path) -> str:
    """The algorithm a copied set was made with (so re-runs keep it)."""
    return d.parent.name


@pytest.fixture
def rsa_pki(pristine: Dict[str, Path], tmp_path: Path) -> Path:
    target = tmp_path / "pki"
    shutil.copytree(pristine["rsa"], target)
    return target


# --- the chapter's set ----------------------------------------------------------------------


def seed(name: str) -> Any:
    return json.loads((SEED / SEED_FILE[name]).read_text())


@pytest.mark.parametrize("name", NAMES)
def test_subjects_match_the_chapter_csr_files(pki: Path, name: str) -> None:
    cert, _, _ = load(pki, name)
    spec = seed(name)
    fields = {"C": NameOID.COUNTRY_NAME, "ST": NameOID.STATE_OR_PROVINCE_NAME,
              "L": NameOID.LOCALITY_NAME, "O": NameOID.ORGANIZATION_NAME,
              "OU": NameOID.ORGANIZATIONAL_UNIT_NAME}
    for key, oid in fields.items():
        values = [a.value for a in cert.subject.get_attributes_for_oid(oid)]
        assert values == [spec["names"][0][key]], (name, key)
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)] \
        == [spec["CN"]]
    # Go's order: C, ST, L, O, OU, CN
    assert [a.oid for a in cert.subject] == list(fields.values()) + [NameOID.COMMON_NAME]


@pytest.mark.parametrize("name", LEAVES)
def test_hosts_are_the_chapter_hosts_without_the_book_site(pki: Path, name: str) -> None:
    cert, _, _ = load(pki, name)
    wanted = [h for h in seed(name).get("hosts", []) if h not in SITE_SPECIFIC]
    if name == "kubernetes":
        wanted.append("10.0.0.1")
    try:
        san = cert.extensions.get_extension_for_class(cx509.SubjectAlternativeName).value
        got = san.get_values_for_type(cx509.DNSName) + [
            str(ip) for ip in san.get_values_for_type(cx509.IPAddress)]
    except cx509.ExtensionNotFound:
        got = []
    assert sorted(got) == sorted(wanted)


def test_ca_and_profile(pki: Path) -> None:
    """CA:TRUE for ca; the chapter's profile usages on every leaf (no keyEncipherment for EC)."""
    ca, ca_key, _ = load(pki, "ca")
    assert ca.extensions.get_extension_for_class(cx509.BasicConstraints).value.ca
    assert ca.not_valid_after_utc - ca.not_valid_before_utc == timedelta(hours=87600)
    is_ec = isinstance(ca_key, ec.EllipticCurvePrivateKey)
    for name in LEAVES:
        cert, key, _ = load(pki, name)
        assert isinstance(key, ec.EllipticCurvePrivateKey if is_ec else rsa.RSAPrivateKey)
        assert key.key_size == (256 if is_ec else 2048)
        assert not cert.extensions.get_extension_for_class(cx509.BasicConstraints).value.ca
        ku = cert.extensions.get_extension_for_class(cx509.KeyUsage).value
        assert ku.digital_signature and ku.key_encipherment is (not is_ec)
        eku = cert.extensions.get_extension_for_class(cx509.ExtendedKeyUsage).value
        assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
        assert cert.not_valid_after_utc == ca.not_valid_after_utc


def test_set_is_complete_and_keys_are_private(pki: Path) -> None:
    assert_complete_set(pki)
    assert sorted(os.listdir(pki)) == sorted(
        n + s for n in NAMES for s in (".pem", "-key.pem", ".csr"))
    assert oct(os.stat(pki / "ca-key.pem").st_mode & 0o777) == "0o600"


@pytest.mark.skipif(OPENSSL is None, reason="openssl not installed")
def test_openssl_verifies_every_leaf(pki: Path) -> None:
    out = subprocess.run([OPENSSL, "verify", "-CAfile", "ca.pem"] + ["%s.pem" % n for n in LEAVES],
                         cwd=pki, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["%s.pem: OK" % n for n in LEAVES]


def test_ecdsa_prints_no_warning(tmp_path: Path) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ensure_k8s_pki(tmp_path / "pki", algo="ecdsa", size=384)
    assert [str(w.message) for w in caught] == []
    _, key, _ = load(tmp_path / "pki", "admin")
    assert key.key_size == 384


# --- idempotence ----------------------------------------------------------------------------


def test_second_run_changes_nothing(pki: Path) -> None:
    before = snapshot(pki)
    dir_mtime = os.stat(pki).st_mtime_ns
    results = ensure_k8s_pki(pki, algo=algo(pki), now=T0 + HOUR)
    assert actions(results) == dict.fromkeys(NAMES, "kept")
    assert snapshot(pki) == before
    assert os.stat(pki).st_mtime_ns == dir_mtime
    assert [r["reason"] for r in results] == [""] * 6


def test_results_describe_the_files(tmp_path: Path) -> None:
    d = tmp_path / "pki"
    results = ensure_k8s_pki(d, algo="ecdsa", now=T0)
    ca = cx509.load_pem_x509_certificate((d / "ca.pem").read_bytes())
    assert results[0] == {
        "name": "ca", "action": "created", "path": str(d / "ca.pem"),
        "files": [str(d / "ca.pem"), str(d / "ca-key.pem"), str(d / "ca.csr")],
        "not_after": ca.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"), "reason": "",
    }
    assert actions(results) == dict.fromkeys(NAMES, "created")


def test_extra_hosts_already_present_change_nothing(pki: Path) -> None:
    before = snapshot(pki)
    results = ensure_k8s_pki(pki, hosts=["kubernetes", "127.0.0.1", "KUBERNETES.default"],
                             algo=algo(pki))
    assert actions(results) == dict.fromkeys(NAMES, "kept")
    assert snapshot(pki) == before


# --- renewal --------------------------------------------------------------------------------


def _swap(d: Path, a: str, b: str) -> None:
    tmp = d / "swap.tmp"
    os.replace(d / a, tmp)
    os.replace(d / b, d / a)
    os.replace(tmp, d / b)


def _other_ca_leaf(d: Path, other: Path) -> None:
    for suffix in (".pem", "-key.pem", ".csr"):
        shutil.copy(other / ("admin" + suffix), d / ("admin" + suffix))


def _copy(d: Path, src: str, dst: str) -> None:
    shutil.copy(d / src, d / dst)


RENEWALS = [
    # (id, damage, {name: expected reason}, kwargs)
    ("missing-cert", lambda d, o: os.unlink(d / "admin.pem"),
     {"admin": "admin.pem is missing"}, {}),
    ("missing-key", lambda d, o: os.unlink(d / "kube-proxy-key.pem"),
     {"kube-proxy": "kube-proxy-key.pem is missing"}, {}),
    ("missing-csr", lambda d, o: os.unlink(d / "admin.csr"),
     {"admin": "admin.csr is missing"}, {}),
    ("other-ca", _other_ca_leaf, {"admin": "admin.pem is not signed by the CA"}, {}),
    ("key-swapped", lambda d, o: _swap(d, "admin-key.pem", "kube-proxy-key.pem"),
     {"admin": "admin-key.pem does not match admin.pem",
      "kube-proxy": "kube-proxy-key.pem does not match kube-proxy.pem"}, {}),
    ("stale-csr", lambda d, o: _copy(d, "kube-proxy.csr", "admin.csr"),
     {"admin": "admin.csr does not match admin-key.pem"}, {}),
    ("garbage-cert", lambda d, o: (d / "admin.pem").write_text("junk"),
     {"admin": "admin.pem: expected a CERTIFICATE PEM block, found no PEM block"}, {}),
    ("wrong-subject", lambda d, o: [_copy(d, "kube-proxy" + s, "admin" + s)
                                    for s in (".pem", "-key.pem", ".csr")],
     {"admin": "subject is C=CN, ST=BeiJing, L=BeiJing, O=Kubernetes, OU=System, "
               "CN=system:kube-proxy, expected C=CN, ST=BeiJing, L=BeiJing, O=system:masters, "
               "OU=System, CN=admin"}, {}),
    ("new-host", lambda d, o: None, {"kubernetes": "lacks host 10.0.0.2"},
     {"hosts": ["10.0.0.2"]}),
    ("new-hosts", lambda d, o: None, {"kubernetes": "lacks hosts api.example.com, 2001:db8::1"},
     {"hosts": ["2001:db8::1", "api.example.com", "kubernetes"]}),
]


@pytest.mark.parametrize("damage,reasons,kwargs", [r[1:] for r in RENEWALS],
                         ids=[r[0] for r in RENEWALS])
def test_renewal(pki: Path, pristine: Dict[str, Path], damage: Any,
                 reasons: Dict[str, str], kwargs: Dict[str, Any]) -> None:
    damage(pki, pristine["other"])
    before = snapshot(pki)
    results = ensure_k8s_pki(pki, algo=algo(pki), **kwargs)
    got = {r["name"]: r["reason"] for r in results if r["action"] != "kept"}
    assert got == reasons
    assert all(r["action"] == "renewed" for r in results if r["name"] in reasons)
    after = snapshot(pki)
    for name in NAMES:  # everything else untouched, byte for byte and mtime
        for suffix in (".pem", "-key.pem", ".csr"):
            f = name + suffix
            if name not in reasons:
                assert after[f] == before[f], f
            else:
                assert after[f][0] != before.get(f, (b"",))[0], f
    assert_complete_set(pki)
    again = snapshot(pki)
    assert actions(ensure_k8s_pki(pki, algo=algo(pki), **kwargs)) == dict.fromkeys(NAMES, "kept")
    assert snapshot(pki) == again


def test_new_host_is_in_the_renewed_certificate(rsa_pki: Path) -> None:
    ensure_k8s_pki(rsa_pki, hosts=["10.0.0.2", "api.example.com"])
    cert, _, _ = load(rsa_pki, "kubernetes")
    san = cert.extensions.get_extension_for_class(cx509.SubjectAlternativeName).value
    assert "api.example.com" in san.get_values_for_type(cx509.DNSName)
    assert [str(i) for i in san.get_values_for_type(cx509.IPAddress)][-1] == "10.0.0.2"


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


OLD_END = T0 - timedelta(minutes=5) + timedelta(hours=8760)  # leaves made at T0, 8760h


@pytest.mark.parametrize("later,renew_before,reason", [
    (timedelta(hours=8760) - 721 * HOUR, "720h", None),
    (timedelta(hours=8760) - 719 * HOUR, "720h",
     "expires %s, within --renew-before 720h" % _stamp(OLD_END)),
    (800 * HOUR, "8000h", "expires %s, within --renew-before 8000h" % _stamp(OLD_END)),  # early
    (timedelta(hours=8760) + HOUR, "720h", "expired on %s" % _stamp(OLD_END)),
])
def test_renewal_near_expiry(tmp_path: Path, later: timedelta, renew_before: str,
                             reason: Any) -> None:
    d = tmp_path / "pki"
    ensure_k8s_pki(d, algo="ecdsa", expiry="8760h", now=T0)
    before = snapshot(d)
    results = ensure_k8s_pki(d, algo="ecdsa", expiry="8760h", renew_before=renew_before,
                             now=T0 + later)
    assert results[0]["action"] == "kept"  # the 10-year CA stays
    assert snapshot(d)["ca-key.pem"] == before["ca-key.pem"]
    if reason is None:
        assert {r["action"] for r in results[1:]} == {"kept"}
        return
    assert [(r["action"], r["reason"]) for r in results[1:]] == [("renewed", reason)] * 5
    cert, _, _ = load(d, "admin")
    assert cert.not_valid_before_utc == T0 + later - timedelta(minutes=5)


# --- hosts are only ever added: a renewal keeps the SANs of the certificate it replaces ----


def _sans(d: Path, name: str) -> Tuple[List[str], List[str]]:
    cert, _, _ = load(d, name)
    san = cert.extensions.get_extension_for_class(cx509.SubjectAlternativeName).value
    return san.get_values_for_type(cx509.DNSName), [
        str(i) for i in san.get_values_for_type(cx509.IPAddress)]


KEPT = "; keeps hosts api.example.com, 10.0.0.2"
LATER = T0 + timedelta(hours=8760 - 700)  # within --renew-before 720h of the first leaves


@pytest.mark.parametrize("damage,reason,kwargs", [
    (lambda d, o: None, "expires %s, within --renew-before 720h" % _stamp(OLD_END), {}),
    (lambda d, o: _swap(d, "kubernetes-key.pem", "admin-key.pem"),
     "kubernetes-key.pem does not match kubernetes.pem", {}),
    (lambda d, o: os.unlink(d / "kubernetes.csr"), "kubernetes.csr is missing", {}),
    (lambda d, o: os.unlink(d / "kubernetes-key.pem"), "kubernetes-key.pem is missing", {}),
    (lambda d, o: [shutil.copy(o / f, d / f) for f in ("ca.pem", "ca-key.pem", "ca.csr")],
     "kubernetes.pem is not signed by the CA", {}),
    (lambda d, o: os.unlink(d / "ca-key.pem"), "the CA is new", {"force": True}),
    (lambda d, o: None, "lacks host 10.0.0.3", {"hosts": ["10.0.0.3"]}),
], ids=["expiry", "key-swap", "no-csr", "no-key", "other-ca", "force-new-ca", "another-host"])
def test_any_renewal_keeps_hosts_of_an_earlier_run(
        tmp_path: Path, pristine: Dict[str, Path], damage: Any, reason: str,
        kwargs: Dict[str, Any]) -> None:
    d = tmp_path / "pki"
    ensure_k8s_pki(d, algo="ecdsa", expiry="8760h", hosts=["10.0.0.2", "api.example.com"],
                   now=T0)
    damage(d, pristine["other"])
    results = ensure_k8s_pki(d, algo="ecdsa", expiry="8760h", now=LATER, **kwargs)
    got = {r["name"]: r["reason"] for r in results}
    assert got["kubernetes"].endswith(KEPT)
    assert got["kubernetes"] == reason + KEPT
    dns, ips = _sans(d, "kubernetes")
    assert dns == list(DEFAULT_DNS) + ["api.example.com"]
    assert ips == ["127.0.0.1", "10.0.0.1"] + list(kwargs.get("hosts", [])) + ["10.0.0.2"]
    assert "keeps" not in got["kube-scheduler"]  # its one host is the table's
    assert_complete_set(d)
    assert {r["action"] for r in ensure_k8s_pki(d, algo="ecdsa", expiry="8760h", now=LATER)} \
        == {"kept"}


DEFAULT_DNS = [h for h in cluster.DEFAULT_HOSTS if not h[0].isdigit()]


def test_cli_renewal_a_year_later_keeps_hosts(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The installer's cron job: the first run adds hosts, a later bare run renews."""
    monkeypatch.chdir(tmp_path)
    assert main(["k8s-pki", "--dir", "h", "--algo", "ecdsa", "--expiry", "720h",
                 "--renew-before", "719h59m", "--hosts", "10.0.0.2,api.example.com"]) == 0
    capsys.readouterr()
    assert main(["k8s-pki", "--dir", "h", "--expiry", "720h", "--renew-before", "719h59m"]) == 0
    out, err = capsys.readouterr()
    line = out.splitlines()[1]
    assert line.startswith("renewed  h/kubernetes.pem ") and line.endswith(
        ", within --renew-before 719h59m; keeps hosts api.example.com, 10.0.0.2)")
    assert _sans(tmp_path / "h", "kubernetes") == (DEFAULT_DNS + ["api.example.com"],
                                                   ["127.0.0.1", "10.0.0.1", "10.0.0.2"])


def test_deleting_a_leaf_drops_the_hosts_it_had(rsa_pki: Path) -> None:
    ensure_k8s_pki(rsa_pki, hosts=["api.example.com"])
    for suffix in (".pem", "-key.pem", ".csr"):
        os.unlink(rsa_pki / ("kubernetes" + suffix))
    results = ensure_k8s_pki(rsa_pki)
    assert (results[1]["action"], results[1]["reason"]) == ("created", "")
    assert _sans(rsa_pki, "kubernetes") == (DEFAULT_DNS, ["127.0.0.1", "10.0.0.1"])


def test_an_old_host_that_is_not_valid_is_dropped_with_a_warning(ec_pki: Path) -> None:
    from cryptography.hazmat.primitives import hashes

    key = ec.generate_private_key(ec.SECP256R1())
    name = cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, "admin")])
    cert = (cx509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(T0).not_valid_after(T0 + HOUR)
            .add_extension(cx509.SubjectAlternativeName(
                [cx509.DNSName("bad host"), cx509.DNSName("ok.example")]), critical=False)
            .sign(key, hashes.SHA256()))
    (ec_pki / "admin.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    with pytest.warns(KpkiliteWarning) as caught:
        results = ensure_k8s_pki(ec_pki, algo="ecdsa")
    assert [str(w.message) for w in caught] == [
        "%s: the old certificate's host 'bad host' is dropped: ' ' is not allowed in a host "
        "name" % (ec_pki / "admin.pem")]
    assert results[2]["reason"] == "admin.pem is not signed by the CA; keeps host ok.example"
    assert _sans(ec_pki, "admin") == (["ok.example"], [])


def test_leaves_never_outlive_the_ca_and_do_not_loop(tmp_path: Path) -> None:
    """CA and leaves end together: near the end the CA warns, leaves are not re-issued forever."""
    d = tmp_path / "pki"
    ensure_k8s_pki(d, algo="ecdsa", now=T0)
    before = snapshot(d)
    late = T0 + timedelta(hours=87600) - 100 * HOUR
    with pytest.warns(KpkiliteWarning, match=r"ca\.pem: the CA expires on .* within "
                                             r"--renew-before 720h"):
        results = ensure_k8s_pki(d, algo="ecdsa", now=late)
    assert actions(results) == dict.fromkeys(NAMES, "kept")
    assert snapshot(d) == before


def test_short_ca_caps_leaf_expiry_without_warning(tmp_path: Path) -> None:
    d = tmp_path / "pki"
    ensure_k8s_pki(d, algo="ecdsa", expiry="8760h", now=T0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ensure_k8s_pki(d, algo="ecdsa", expiry="87599h", now=T0 + timedelta(hours=8100))
    assert caught == []  # renewed (lives longer now) and cut to the CA's end, silently
    ca, _, _ = load(d, "ca")
    admin, _, _ = load(d, "admin")
    assert admin.not_valid_after_utc == ca.not_valid_after_utc


# --- the CA is never clobbered ------------------------------------------------------------


def _msg(d: Path, text: str) -> str:
    return text.format(d=str(d)) + (
        "; to make a new CA and re-issue every certificate, use --force (force=True)")


CA_PROBLEMS = [
    ("no-key", lambda d, o: os.unlink(d / "ca-key.pem"),
     "{d}/ca-key.pem: the CA private key is missing, but {d}/ca.pem exists"),
    ("no-cert", lambda d, o: os.unlink(d / "ca.pem"),
     "{d}/ca.pem: the CA certificate is missing, but {d}/ca-key.pem exists"),
    ("other-key", lambda d, o: shutil.copy(o / "ca-key.pem", d / "ca-key.pem"),
     "{d}/ca-key.pem does not match {d}/ca.pem (their public keys differ)"),
    ("not-a-ca", lambda d, o: shutil.copy(d / "admin.pem", d / "ca.pem"),
     "{d}/ca.pem: not a CA certificate (no basicConstraints CA:TRUE)"),
    ("garbage", lambda d, o: (d / "ca.pem").write_text(""),
     "{d}/ca.pem: expected a CERTIFICATE PEM block, found empty input"),
]


@pytest.mark.parametrize("damage,message", [c[1:] for c in CA_PROBLEMS],
                         ids=[c[0] for c in CA_PROBLEMS])
def test_unusable_ca_is_refused_then_replaced_with_force(
        ec_pki: Path, pristine: Dict[str, Path], damage: Any, message: str) -> None:
    pki = ec_pki
    damage(pki, pristine["other"])
    before = snapshot(pki)
    with pytest.raises((FileError, ValueError)) as info:
        ensure_k8s_pki(pki, algo="ecdsa")
    assert str(info.value) == _msg(pki, message)
    assert snapshot(pki) == before  # nothing touched: the CA key above all
    results = ensure_k8s_pki(pki, algo="ecdsa", force=True)
    assert results[0]["action"] == "renewed"
    assert results[0]["reason"].startswith("--force: ")
    assert {r["action"] for r in results[1:]} == {"renewed"}
    assert {r["reason"] for r in results[1:]} == {"the CA is new"}
    assert_complete_set(pki)


def test_expired_ca_is_refused(tmp_path: Path) -> None:
    d = tmp_path / "pki"
    ensure_k8s_pki(d, algo="ecdsa", now=T0)
    end = cx509.load_pem_x509_certificate((d / "ca.pem").read_bytes()).not_valid_after_utc
    with pytest.raises(FileError) as info:
        ensure_k8s_pki(d, algo="ecdsa", now=end + HOUR)
    assert str(info.value) == _msg(d, "{d}/ca.pem: the CA expired on %s"
                                   % end.strftime("%Y-%m-%dT%H:%M:%SZ"))


def test_force_keeps_a_working_ca(pki: Path) -> None:
    before = snapshot(pki)
    assert actions(ensure_k8s_pki(pki, algo=algo(pki), force=True)) == dict.fromkeys(NAMES, "kept")
    assert snapshot(pki) == before


# --- inputs are all checked before anything happens --------------------------------------


BAD_INPUTS = [
    ({"hosts": ["ok.example", "bad host"]}, CSRSpecError,
     "hosts[1]: 'bad host': ' ' is not allowed in a host name"),
    ({"hosts": ["ok.example", ""]}, CSRSpecError,
     'hosts[1]: \'\': empty host; remove it ("hosts": [] means no SANs)'),
    ({"algo": "dsa"}, CSRSpecError, "algo: 'dsa' is not supported; use \"rsa\" or \"ecdsa\""),
    ({"algo": "ecdsa", "size": 2048}, CSRSpecError,
     "size: 2048 is not supported for ecdsa keys; supported sizes: 256, 384, 521"),
    ({"expiry": "10y"}, SigningConfigError, None),
    ({"renew_before": "-1h"}, SigningConfigError,
     "renew_before: '-1h' must be a positive duration"),
    ({"renew_before": "87600h"}, SigningConfigError,
     "renew_before: 87600h is not shorter than expiry 87600h; every run would re-issue every "
     "certificate; use a shorter --renew-before, such as 29200h (a third of the expiry)"),
    ({"expiry": "24h"}, SigningConfigError,
     "renew_before: 720h is not shorter than expiry 24h; every run would re-issue every "
     "certificate; use a shorter --renew-before, such as 8h (a third of the expiry)"),
    ({"expiry": "1m", "renew_before": "1h"}, SigningConfigError,
     "renew_before: 1h is not shorter than expiry 1m; every run would re-issue every "
     "certificate; use a shorter --renew-before, such as 20s (a third of the expiry)"),
    ({"layout": "kubespray"}, CSRSpecError, "layout: 'kubespray' is not a known layout "
                                            "(layouts: chapter, kubeadm)"),
]


@pytest.mark.parametrize("kwargs,error,message", BAD_INPUTS)
def test_bad_input_touches_nothing(tmp_path: Path, kwargs: Dict[str, Any], error: type,
                                   message: Any) -> None:
    d = tmp_path / "pki"
    with pytest.raises(error) as info:
        ensure_k8s_pki(d, **kwargs)
    if message is not None:
        assert str(info.value) == message
    else:
        assert str(info.value).startswith("expiry: ")
    assert not d.exists()


@pytest.mark.parametrize("kwargs", [{"hosts": "a.example"}, {"size": "2048"}, {"now": 5},
                                    {"now": datetime(2030, 1, 1)}])
def test_wrong_types(tmp_path: Path, kwargs: Dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        ensure_k8s_pki(tmp_path / "pki", **kwargs)
    assert not (tmp_path / "pki").exists()


# --- threads and locking ------------------------------------------------------------------


def test_parallel_and_serial_generation_agree(tmp_path: Path) -> None:
    for workers in (1, 6):
        d = tmp_path / str(workers)
        results = ensure_k8s_pki(d, algo="ecdsa", max_workers=workers)
        assert actions(results) == dict.fromkeys(NAMES, "created")
        assert_complete_set(d)


def test_another_run_holding_the_directory_is_an_error(tmp_path: Path) -> None:
    fcntl = pytest.importorskip("fcntl")
    d = tmp_path / "pki"
    d.mkdir()
    fd = os.open(d, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(FileError) as info:
            ensure_k8s_pki(d)
        assert str(info.value) == ("%s: another k8s-pki run is working in this directory; "
                                   "wait for it to finish" % d)
    finally:
        os.close(fd)
    assert os.listdir(d) == []


# --- the command ----------------------------------------------------------------------------


def test_cli_output(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["k8s-pki", "--dir", "pki", "--algo", "ecdsa"]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    end = cx509.load_pem_x509_certificate((tmp_path / "pki" / "ca.pem").read_bytes())
    stamp = end.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert lines == ["created  %-31s  expires %s" % ("pki/%s.pem" % n, stamp) for n in NAMES] + [
        "pki: 6 created, 0 renewed, 0 kept (keys NAME-key.pem, mode 0600)"]
    assert err == ""
    assert main(["k8s-pki", "-dir=pki", "-hosts", "10.0.0.2"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[1].startswith("renewed  pki/kubernetes.pem ")
    assert out.splitlines()[1].endswith("  (lacks host 10.0.0.2)")
    assert out.splitlines()[-1] == (
        "pki: 0 created, 1 renewed, 5 kept (keys NAME-key.pem, mode 0600)")


@pytest.mark.parametrize("argv,status,message", [
    (["--hosts", "a.example,bad host"],
     1, "kpkilite: --hosts: 'bad host': ' ' is not allowed in a host name\n"),
    (["--hosts", "a,,b"], 2,
     "kpkilite: k8s-pki: --hosts 'a,,b': empty host name between commas; write a,b\n"),
    (["--algo", "dsa"], 1, "kpkilite: --algo: 'dsa' is not supported; use \"rsa\" or \"ecdsa\"\n"),
    (["--size", "1024"], 1,
     "kpkilite: --size: 1024 is not supported for rsa keys; supported sizes: 2048, 3072, 4096\n"),
    (["--renew-before", "1d"], 1, None),
    (["--expiry", "24h"], 1, "kpkilite: --renew-before: 720h is not shorter than expiry 24h; "
     "every run would re-issue every certificate; use a shorter --renew-before, such as 8h (a "
     "third of the expiry)\n"),
    (["--hostz", "x"], 2, "kpkilite: k8s-pki: unknown flag '--hostz'; did you mean -hosts?\n"),
])
def test_cli_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                    monkeypatch: pytest.MonkeyPatch, argv: List[str], status: int,
                    message: Any) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["k8s-pki", "--dir", "pki"] + argv) == status
    out, err = capsys.readouterr()
    assert out == ""
    if message is None:
        assert err.startswith("kpkilite: --renew-before: ") and err.count("\n") == 1
    else:
        assert err == message
    assert not (tmp_path / "pki").exists()


def test_format_result_lines_up_with_width(tmp_path: Path) -> None:
    results = ensure_k8s_pki(tmp_path / "pki", algo="ecdsa", now=T0)
    width = max(len(r["path"]) for r in results)
    lines = [cluster.format_result(r, width=width) for r in results]
    assert len({line.index(" expires ") for line in lines}) == 1
    short = cluster.format_result(results[0])  # no width: nothing padded
    assert short == "created  %s  expires %s" % (tmp_path / "pki" / "ca.pem",
                                                 results[0]["not_after"])
    assert lines[0] == "created  %s  expires %s" % (
        str(tmp_path / "pki" / "ca.pem").ljust(width), results[0]["not_after"])


def test_cli_refuses_to_clobber_the_ca_key(rsa_pki: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    os.unlink(rsa_pki / "ca.pem")
    key = (rsa_pki / "ca-key.pem").read_bytes()
    assert main(["k8s-pki", "--dir", str(rsa_pki)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "kpkilite: %s\n" % _msg(
        rsa_pki, "{d}/ca.pem: the CA certificate is missing, but {d}/ca-key.pem exists")
    assert (rsa_pki / "ca-key.pem").read_bytes() == key


def test_fresh_directory_subprocess_with_defaults(tmp_path: Path) -> None:
    """The README's first command, minus the install: defaults, a new directory."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    run = subprocess.run([sys.executable, "-m", "kpkilite", "k8s-pki", "--dir", "pki"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    assert run.stdout.splitlines()[-1] == (
        "pki: 6 created, 0 renewed, 0 kept (keys NAME-key.pem, mode 0600)")
    assert_complete_set(tmp_path / "pki")


# --- files that are not regular files, or too large, are never read ---------------------------


@contextlib.contextmanager
def deadline(seconds: int = 20) -> Iterator[None]:
    """Fail (instead of hanging the suite) if the block blocks, on a FIFO say."""
    def expire(signum: int, frame: Any) -> None:
        raise TimeoutError("blocked for %d s" % seconds)

    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def regular_snapshot(directory: Path) -> Dict[str, Any]:
    """Like :func:`snapshot`, without reading what is not a regular file (a FIFO would hang)."""
    found: Dict[str, Any] = {}
    for entry in sorted(os.listdir(directory)):
        st = os.lstat(directory / entry)
        if stat.S_ISREG(st.st_mode):
            found[entry] = ((directory / entry).read_bytes(), st.st_mtime_ns)
        else:
            found[entry] = (stat.S_IFMT(st.st_mode), st.st_mtime_ns)
    return found


def _replace(path: Path, make: Any) -> None:
    if path.is_dir() and not path.is_symlink():
        path.rmdir()
    elif os.path.lexists(path):
        path.unlink()
    make(path)


FIFO = os.mkfifo
ZERO = functools.partial(os.symlink, "/dev/zero")  # called as ZERO(path): path -> /dev/zero
SPECIAL_SUFFIX = "; k8s-pki reads and replaces only regular files: remove it and run again"

#: a file of the set that is itself a FIFO, a directory...: refused, nothing read or written
SPECIAL = [
    ("fifo-leaf", "admin.pem", FIFO, "is a FIFO (named pipe), not a regular file"),
    ("fifo-ca-key", "ca-key.pem", FIFO, "is a FIFO (named pipe), not a regular file"),
    ("fifo-csr", "kube-proxy.csr", FIFO, "is a FIFO (named pipe), not a regular file"),
    ("dir-cert", "kubernetes.pem", os.mkdir, "is a directory, not a regular file"),
    ("dir-journal", cluster.JOURNAL, os.mkdir, "is a directory, not a regular file"),
    ("fifo-journal", cluster.JOURNAL, FIFO, "is a FIFO (named pipe), not a regular file"),
]


@pytest.mark.parametrize("name,make,what", [s[1:] for s in SPECIAL], ids=[s[0] for s in SPECIAL])
def test_a_special_file_in_the_set_is_refused_unread(ec_pki: Path, name: str, make: Any,
                                                     what: str) -> None:
    _replace(ec_pki / name, make)
    before = regular_snapshot(ec_pki)
    for run in (lambda: ensure_k8s_pki(ec_pki, algo="ecdsa"),
                lambda: ensure_k8s_pki(ec_pki, algo="ecdsa", force=True)):
        with deadline(), pytest.raises(FileError) as info:
            run()
        assert str(info.value) == "%s/%s: %s%s" % (ec_pki, name, what, SPECIAL_SUFFIX)
        assert regular_snapshot(ec_pki) == before


def test_renew_refuses_a_special_file_it_would_read(ec_pki: Path,
                                                    pristine: Dict[str, Path]) -> None:
    _replace(ec_pki / "ca-key.pem", FIFO)
    with deadline(), pytest.raises(FileError) as info:
        cluster.renew_certs(ec_pki, ["admin"])
    assert str(info.value) == "%s/ca-key.pem: is a FIFO (named pipe), not a regular file%s" % (
        ec_pki, SPECIAL_SUFFIX)
    (ec_pki / "ca-key.pem").unlink()
    shutil.copy(pristine["ecdsa"] / "ca-key.pem", ec_pki / "ca-key.pem")
    _replace(ec_pki / "kube-proxy.pem", FIFO)  # neither read nor written to renew admin
    with deadline():
        assert [r["path"] for r in cluster.renew_certs(ec_pki, ["admin"])] == [
            str(ec_pki / "admin.pem")]
    assert stat.S_ISFIFO(os.lstat(ec_pki / "kube-proxy.pem").st_mode)


#: a symlink to a device, or a file over 1 MiB: unusable, never read whole
def _big(path: Path) -> None:
    path.write_bytes(b"-" * (cluster.MAX_FILE + 1))


UNUSABLE_LEAVES = [
    ("zero-key", "admin", "admin-key.pem", ZERO,
     "admin-key.pem is a symlink to a character device, not a regular file"),
    ("zero-cert", "kube-scheduler", "kube-scheduler.pem", ZERO,
     "kube-scheduler.pem is a symlink to a character device, not a regular file"),
    ("big-csr", "kube-proxy", "kube-proxy.csr", _big,
     "kube-proxy.csr is larger than 1 MiB, too large for a file of the set"),
]


@pytest.mark.parametrize("leaf,name,make,reason", [u[1:] for u in UNUSABLE_LEAVES],
                         ids=[u[0] for u in UNUSABLE_LEAVES])
def test_an_unusable_leaf_file_is_renewed(ec_pki: Path, leaf: str, name: str, make: Any,
                                          reason: str) -> None:
    _replace(ec_pki / name, make)
    with deadline():
        results = ensure_k8s_pki(ec_pki, algo="ecdsa")
    assert actions(results) == dict(dict.fromkeys(NAMES, "kept"), **{leaf: "renewed"})
    assert [r["reason"] for r in results if r["action"] == "renewed"] == [reason]
    assert stat.S_ISREG(os.lstat(ec_pki / name).st_mode)
    assert_complete_set(ec_pki)


UNUSABLE_CA = [
    ("zero-cert", "ca.pem", ZERO, "is a symlink to a character device, not a regular file"),
    ("zero-key", "ca-key.pem", ZERO, "is a symlink to a character device, not a regular file"),
    ("big-cert", "ca.pem", _big, "is larger than 1 MiB, too large for a file of the set"),
]


@pytest.mark.parametrize("name,make,what", [u[1:] for u in UNUSABLE_CA],
                         ids=[u[0] for u in UNUSABLE_CA])
def test_an_unusable_ca_file_is_an_unusable_ca(ec_pki: Path, name: str, make: Any,
                                               what: str) -> None:
    _replace(ec_pki / name, make)
    before = regular_snapshot(ec_pki)
    with deadline(), pytest.raises(FileError) as info:
        ensure_k8s_pki(ec_pki, algo="ecdsa")
    assert str(info.value) == _msg(ec_pki, "{d}/%s: %s" % (name, what))
    assert regular_snapshot(ec_pki) == before
    with deadline():
        results = ensure_k8s_pki(ec_pki, algo="ecdsa", force=True)
    assert results[0]["reason"] == "--force: %s %s" % (name, what)
    assert_complete_set(ec_pki)


@pytest.mark.parametrize("name,make,what", [
    ("ca.pem", ZERO, "is a symlink to a character device, not a regular file"),
    ("admin.pem", FIFO, "is a FIFO (named pipe), not a regular file"),
    ("kube-proxy.pem", _big, "is larger than 1 MiB, too large for a file of the set"),
])
def test_check_expiration_never_reads_an_unusable_file(ec_pki: Path, name: str, make: Any,
                                                       what: str) -> None:
    _replace(ec_pki / name, make)
    with deadline(), pytest.raises(FileError) as info:
        cluster.check_expiration(ec_pki)
    assert str(info.value) == "%s/%s: %s" % (ec_pki, name, what)


# --- the command: stdout, empty flags ---------------------------------------------------------


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
@pytest.mark.parametrize("extra,message", [
    ([], "cannot write to stdout (No space left on device); the certificate files were "
         "written all the same"),
    (["--renew", "admin"], "cannot write to stdout (No space left on device); the "
                           "certificate files were written all the same"),
    (["--check-expiration"], "cannot write to stdout (No space left on device)"),
])
def test_cli_stdout_full(ec_pki: Path, extra: List[str], message: str) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with open("/dev/full", "w") as full:
        run = subprocess.run([sys.executable, "-m", "kpkilite", "k8s-pki", "--dir", str(ec_pki),
                              "--algo", "ecdsa"] + extra, env=env, stdout=full,
                             stderr=subprocess.PIPE, text=True, check=False, timeout=60)
    assert (run.returncode, run.stderr) == (1, "kpkilite: %s\n" % message)
    assert_complete_set(ec_pki)


def test_cli_stdout_closed_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stdout", None)
    assert main(["k8s-pki", "--dir", "pki"]) == 1
    assert capsys.readouterr().err == (
        "kpkilite: stdout is closed; there is nowhere to write the output\n")
    assert os.listdir(tmp_path) == []


EMPTY_FLAGS = [
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
]


@pytest.mark.parametrize("flag,hint", EMPTY_FLAGS, ids=[f[0] for f in EMPTY_FLAGS])
@pytest.mark.parametrize("spelling", ["--%s", "-%s="])
def test_cli_empty_flag_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch, flag: str, hint: str,
                                         spelling: str) -> None:
    monkeypatch.chdir(tmp_path)
    given = [spelling % flag] + ([""] if spelling == "--%s" else [])
    argv = (["--dir", "pki"] if flag != "dir" else []) + given
    assert main(["k8s-pki"] + argv) == 2
    out, err = capsys.readouterr()
    assert (out, err) == ("", "kpkilite: k8s-pki: --%s is empty (an unset shell variable?); %s\n"
                          % (flag, hint))
    assert os.listdir(tmp_path) == []


def test_cli_renew_empty_name_between_commas(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["k8s-pki", "--dir", "pki", "--renew", "admin,"]) == 2
    assert capsys.readouterr().err == (
        "kpkilite: k8s-pki: --renew 'admin,': empty name between commas; write a,b\n")
    assert os.listdir(tmp_path) == []


def test_cli_empty_hosts_means_no_extra_hosts(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["k8s-pki", "--dir", "pki", "--algo", "ecdsa", "--hosts", ""]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "pki: 6 created, 0 renewed, 0 kept (keys NAME-key.pem, mode 0600)")
    assert _sans(tmp_path / "pki", "kubernetes")[0] == [
        h for h in cluster.DEFAULT_HOSTS if not h[0].isdigit()]


# --- dates outside the years 1-9999 -------------------------------------------------------------


UTC = timezone.utc
OUT_OF_RANGE = [
    ({"now": datetime(9999, 12, 1, tzinfo=UTC)},
     "ca_expiry: 87600h after 9999-11-30T23:55:00Z is after the year 9999, which no "
     "certificate can hold"),
    ({"now": datetime(9995, 1, 1, tzinfo=UTC), "expiry": "100000h", "renew_before": "1h"},
     "expiry: 100000h after 9994-12-31T23:55:00Z is after the year 9999, which no "
     "certificate can hold"),
    ({"now": datetime(1, 1, 1, 0, 4, tzinfo=UTC)},
     "now: 0001-01-01T00:04:00Z: certificates start 5m earlier (the backdate), before the "
     "year 1, which no certificate can hold"),
    ({"now": datetime(1, 1, 1, tzinfo=timezone(HOUR))},
     "now: 0001-01-01T00:00:00+01:00 is outside the years 1-9999 in UTC, which no certificate "
     "can hold"),
]


@pytest.mark.parametrize("kwargs,message", OUT_OF_RANGE)
def test_dates_outside_the_years_1_to_9999_write_nothing(tmp_path: Path, kwargs: Dict[str, Any],
                                                         message: str) -> None:
    d = tmp_path / "pki"
    with pytest.raises(SigningConfigError) as info:
        ensure_k8s_pki(d, algo="ecdsa", **kwargs)
    assert str(info.value) == message
    assert not d.exists()


def test_renew_near_the_year_1_writes_nothing(ec_pki: Path) -> None:
    before = snapshot(ec_pki)
    with pytest.raises(SigningConfigError) as info:
        cluster.renew_certs(ec_pki, ["admin"], now=datetime(1, 1, 1, 0, 1, tzinfo=UTC))
    assert str(info.value) == ("now: 0001-01-01T00:01:00Z: certificates start 5m earlier (the "
                               "backdate), before the year 1, which no certificate can hold")
    assert snapshot(ec_pki) == before


def test_a_ca_that_ends_in_the_year_9999_is_fine(tmp_path: Path) -> None:
    results = ensure_k8s_pki(tmp_path / "pki", algo="ecdsa",
                             now=datetime(9989, 12, 1, tzinfo=UTC))
    assert {r["not_after"][:4] for r in results} == {"9999"}
    assert_complete_set(tmp_path / "pki")


# --- a run that fails while it writes ----------------------------------------------------------


def test_failed_write_says_a_rerun_completes_the_set(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from kpkilite import files

    d = tmp_path / "pki"
    journal = d / cluster.JOURNAL
    real = files.atomic_write
    calls: List[str] = []

    def full_after(n: int) -> Any:
        def write(path: Any, data: Any, mode: int = 0o644) -> None:
            calls.append(os.fspath(path))
            if len(calls) > n:
                raise FileError("%s: cannot write (No space left on device)" % path)
            real(path, data, mode=mode)
        return write

    monkeypatch.setattr(files, "atomic_write", full_after(4))  # the journal, then ca's three
    assert main(["k8s-pki", "--dir", str(d), "--algo", "ecdsa"]) == 1
    assert capsys.readouterr() == ("", (
        "kpkilite: %s/kubernetes.pem: cannot write (No space left on device); the run stopped "
        "part-way, and %s holds the new files: run k8s-pki again to complete the set\n")
        % (d, journal))
    assert calls[0] == str(journal) and journal.exists()
    assert sorted(os.listdir(d)) == sorted([cluster.JOURNAL, "ca.pem", "ca-key.pem", "ca.csr"])

    calls.clear()
    monkeypatch.setattr(files, "atomic_write", full_after(1))  # the re-run fails as well
    with pytest.raises(FileError) as info:
        ensure_k8s_pki(d, algo="ecdsa")
    assert str(info.value) == (
        "%s/kubernetes-key.pem: cannot write (No space left on device) (while finishing an "
        "interrupted run recorded in %s; run k8s-pki again to complete it)" % (d, journal))

    monkeypatch.setattr(files, "atomic_write", real)  # room again: the next run finishes it
    with pytest.warns(KpkiliteWarning, match="finished an interrupted run: wrote kubernetes-key"):
        results = ensure_k8s_pki(d, algo="ecdsa")
    assert actions(results) == dict.fromkeys(NAMES, "kept")
    assert not journal.exists()
    assert_complete_set(d)


# --- certificates that load but hold a bad field; one-line messages ----------------------------


def _patched(pem: bytes, old: bytes, new: bytes) -> bytes:
    """The certificate with ``old`` replaced by ``new`` (same length) inside its DER."""
    der = cx509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    assert len(old) == len(new) and der.count(old) >= 1
    return _pem_of(der.replace(old, new, 1))


def _pem_of(der: bytes) -> bytes:
    import base64
    body = base64.b64encode(der).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return ("-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n"
            % "\n".join(lines)).encode()


def _bad_month(path: Path) -> None:
    """notBefore patched to month 13 (same length): the certificate still splits into fields."""
    cert = cx509.load_pem_x509_certificate(path.read_bytes())
    stamp = cert.not_valid_before_utc.strftime("%y%m%d%H%M%SZ").encode()
    path.write_bytes(_patched(path.read_bytes(), stamp, b"991399999999Z"))


def _truncated(path: Path) -> None:
    """Only the TBSCertificate inside the outer SEQUENCE: asn1crypto's error is two lines."""
    der = cx509.load_pem_x509_certificate(path.read_bytes()).tbs_certificate_bytes
    n = len(der)
    length = bytes([n]) if n < 128 else bytes([0x82, n >> 8, n & 0xFF])
    path.write_bytes(_pem_of(b"\x30" + length + der))


BAD_MONTH = "expected a certificate, found invalid DER: month must be in 1..12"
TRUNCATED = ('expected a certificate, found invalid DER: field "signature_algorithm" is '
             "missing from structure")


@pytest.mark.parametrize("damage,detail", [(_bad_month, BAD_MONTH), (_truncated, TRUNCATED)],
                         ids=["month-13", "truncated"])
@pytest.mark.parametrize("force", [False, True])
def test_a_leaf_with_a_bad_field_is_renewed(ec_pki: Path, damage: Any, detail: str,
                                            force: bool) -> None:
    damage(ec_pki / "admin.pem")
    results = ensure_k8s_pki(ec_pki, algo="ecdsa", force=force)
    assert actions(results) == dict(dict.fromkeys(NAMES, "kept"), admin="renewed")
    assert [r["reason"] for r in results if r["action"] == "renewed"] == ["admin.pem: " + detail]
    assert_complete_set(ec_pki)


@pytest.mark.parametrize("damage,detail", [(_bad_month, BAD_MONTH), (_truncated, TRUNCATED)],
                         ids=["month-13", "truncated"])
def test_a_ca_with_a_bad_field_is_an_unusable_ca(ec_pki: Path, damage: Any, detail: str) -> None:
    damage(ec_pki / "ca.pem")
    before = snapshot(ec_pki)
    with pytest.raises(ValueError) as info:
        ensure_k8s_pki(ec_pki, algo="ecdsa")
    assert str(info.value) == _msg(ec_pki, "{d}/ca.pem: " + detail)
    with pytest.raises(ValueError) as info:
        cluster.check_expiration(ec_pki)
    assert str(info.value) == "%s/ca.pem: %s" % (ec_pki, detail)
    with pytest.raises(ValueError) as info:
        cluster.renew_certs(ec_pki, ["admin"])
    assert str(info.value) == "%s/ca.pem: %s" % (ec_pki, detail)
    assert snapshot(ec_pki) == before
    results = ensure_k8s_pki(ec_pki, algo="ecdsa", force=True)
    assert results[0]["reason"] == "--force: ca.pem: " + detail
    assert_complete_set(ec_pki)


def test_check_expiration_names_a_leaf_with_a_bad_field(ec_pki: Path) -> None:
    _bad_month(ec_pki / "kube-proxy.pem")
    with pytest.raises(ValueError) as info:
        cluster.check_expiration(ec_pki)
    assert str(info.value) == "%s/kube-proxy.pem: %s" % (ec_pki, BAD_MONTH)


@pytest.mark.parametrize("name", ["ca.pem", "admin.pem"])
def test_cli_messages_and_report_lines_are_one_line(
        ec_pki: Path, name: str, capsys: pytest.CaptureFixture[str]) -> None:
    _truncated(ec_pki / name)
    status = main(["k8s-pki", "--dir", str(ec_pki), "--algo", "ecdsa"])
    out, err = capsys.readouterr()
    if name == "ca.pem":
        assert (status, out) == (1, "")
        assert err == "kpkilite: %s\n" % _msg(ec_pki, "{d}/ca.pem: " + TRUNCATED)
    else:
        assert (status, err) == (0, "")
        assert len(out.splitlines()) == 7
        assert out.splitlines()[2].endswith("  (admin.pem: %s)" % TRUNCATED)
    assert "asn1crypto" not in out + err


def test_a_csr_that_does_not_parse_is_one_line(ec_pki: Path) -> None:
    (ec_pki / "admin.csr").write_text(_pem_of(b"\x30\x03\x02\x01\x01").decode().replace(
        "CERTIFICATE", "CERTIFICATE REQUEST"))
    results = ensure_k8s_pki(ec_pki, algo="ecdsa")
    [reason] = [r["reason"] for r in results if r["action"] == "renewed"]
    assert reason.startswith("admin.csr does not parse (")
    assert "\n" not in reason and "asn1crypto" not in reason


# --- key modes -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode,words", [
    (0o644, "readable by others"), (0o640, "readable by its group"),
    (0o660, "readable by its group"), (0o620, "writable by its group"),
    (0o604, "readable by others"), (0o601, "open to others"),
])
def test_a_leaf_key_others_can_read_is_replaced_with_a_new_key(
        ec_pki: Path, mode: int, words: str) -> None:
    key = ec_pki / "admin-key.pem"
    old = key.read_bytes()
    key.chmod(mode)
    results = ensure_k8s_pki(ec_pki, algo="ecdsa")
    assert actions(results) == dict(dict.fromkeys(NAMES, "kept"), admin="renewed")
    assert [r["reason"] for r in results if r["action"] == "renewed"] == [
        "admin-key.pem was mode %04o (%s); new key" % (mode, words)]
    assert key.read_bytes() != old
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert_complete_set(ec_pki)


@pytest.mark.parametrize("mode", [0o400, 0o700, 0o600])
def test_an_owner_only_key_is_kept_and_set_to_0600(ec_pki: Path, mode: int) -> None:
    key = ec_pki / "kube-proxy-key.pem"
    key.chmod(mode)
    before = {k: v[0] for k, v in snapshot(ec_pki).items()}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        results = ensure_k8s_pki(ec_pki, algo="ecdsa")
    assert actions(results) == dict.fromkeys(NAMES, "kept")
    assert {k: v[0] for k, v in snapshot(ec_pki).items()} == before
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_a_ca_key_others_can_read_is_tightened_with_a_warning(ec_pki: Path) -> None:
    key = ec_pki / "ca-key.pem"
    key.chmod(0o644)
    before = {k: v[0] for k, v in snapshot(ec_pki).items()}
    with pytest.warns(KpkiliteWarning) as record:
        results = ensure_k8s_pki(ec_pki, algo="ecdsa")
    assert [str(w.message) for w in record] == [
        "%s: was mode 0644 (readable by others); set it to 0600. If others may have read it, "
        "remove %s and %s and run k8s-pki again to make a new CA (every certificate it signed "
        "is re-issued)" % (key, ec_pki / "ca.pem", key)]
    assert actions(results) == dict.fromkeys(NAMES, "kept")
    assert {k: v[0] for k, v in snapshot(ec_pki).items()} == before
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_force_replaces_a_ca_key_others_can_read(ec_pki: Path) -> None:
    (ec_pki / "ca-key.pem").chmod(0o640)
    results = ensure_k8s_pki(ec_pki, algo="ecdsa", force=True)
    assert results[0]["reason"] == "--force: ca-key.pem was mode 0640 (readable by its group)"
    assert {r["reason"] for r in results[1:]} == {"the CA is new"}
    assert stat.S_IMODE((ec_pki / "ca-key.pem").stat().st_mode) == 0o600
    assert_complete_set(ec_pki)


def test_cli_loose_key_summary_is_true(ec_pki: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (ec_pki / "admin-key.pem").chmod(0o644)
    assert main(["k8s-pki", "--dir", str(ec_pki), "--algo", "ecdsa"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.splitlines()[2].endswith("  (admin-key.pem was mode 0644 (readable by others); "
                                        "new key)")
    assert out.splitlines()[-1].endswith(": 0 created, 1 renewed, 5 kept (keys NAME-key.pem, "
                                         "mode 0600)")
    assert {stat.S_IMODE(p.stat().st_mode) for p in ec_pki.glob("*-key.pem")} == {0o600}


# --- the directory itself ------------------------------------------------------------------------


def test_a_directory_that_cannot_be_opened_is_one_line(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # As root (the test suite) a mode-0333 directory can still be read: simulate EACCES.
    d = tmp_path / "pki"
    d.mkdir()
    real = os.open

    def refuse(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if os.fspath(path) == str(d) and flags == os.O_RDONLY:
            raise PermissionError(13, "Permission denied", str(d))
        return real(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(FileError) as info:
        ensure_k8s_pki(d, algo="ecdsa")
    assert str(info.value) == ("%s: cannot open the directory to lock it (Permission denied); "
                               "k8s-pki needs to read and write it" % d)
    assert os.listdir(d) == []


def test_a_file_as_the_directory_is_not_a_directory(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    for target in (str(f), os.devnull):
        with pytest.raises(FileError) as info:
            ensure_k8s_pki(target, algo="ecdsa")
        assert str(info.value) == "%s: is not a directory" % target
    assert f.read_text() == "x"


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="no procfs")
def test_a_directory_that_takes_no_files(tmp_path: Path) -> None:
    with pytest.raises(FileError) as info:
        ensure_k8s_pki("/proc", algo="ecdsa")
    assert str(info.value) == ("/proc/.k8s-pki.journal: cannot create a file in /proc (No such "
                               "file or directory)")
