"""Independent judges of kpkilite's certificates: pkilint, a real mutual-TLS handshake with
Python's ``ssl``, and real cfssl (Debian golang-cfssl 1.2) reading, signing and being signed.

The cfssl tests skip only when the binary is missing (CI installs it).
"""

from __future__ import annotations

import contextlib
import io
import json
import socket
import ssl
import threading
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest
from conftest import CHAPTER_LEAVES, ROOT, Chapter, load_cert, run, seed
from cryptography import x509 as cx509
from cryptography.x509.oid import ExtensionOID

from kpkilite import csr, signing
from kpkilite.errors import KpkiliteWarning

# --- pkilint ---------------------------------------------------------------------------------

#: The only finding allowed: pkilint wants a dNSName to have at least two labels, but
#: Kubernetes needs single-label service and host names ("kubernetes", "etcd01").
SINGLE_LABEL_CODE = "pkix.invalid_domain_name_syntax"


def _pkilint(module: str, *paths: str) -> List[Dict[str, str]]:
    """Run a pkilint CLI's main() in-process (same code as the console script, without the
    interpreter start-up per certificate); return its findings at WARNING and above."""
    import importlib

    main = importlib.import_module("pkilint.bin." + module).main
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(["lint", "-s", "WARNING", "-f", "JSON", *paths])
    findings = []
    for result in json.loads(out.getvalue())["results"]:
        for finding in result["finding_descriptions"]:
            findings.append(dict(finding, node_path=result["node_path"],
                                 validator=result["validator"]))
    return findings


def _not_allowed(findings: List[Dict[str, str]]) -> List[Dict[str, str]]:
    def allowed(f: Dict[str, str]) -> bool:
        if f["code"] != SINGLE_LABEL_CODE or not f["node_path"].endswith(".dNSName"):
            return False
        name = f["message"].split('"')[1]
        return "." not in name and name.replace("-", "").isalnum()

    return [f for f in findings if not allowed(f)]


@pytest.mark.parametrize("name", ["ca", *CHAPTER_LEAVES])
def test_pkilint_chapter(chapter: Chapter, name: str, write: Any) -> None:
    pem = chapter.ca["cert"] if name == "ca" else chapter.leaves[name]["cert"]
    findings = _pkilint("lint_pkix_cert", write("c.pem", pem))
    assert _not_allowed(findings) == []
    # the allow-list covers exactly the spec's single-label hosts (etcd01, kubernetes,
    # Kubernetes-master1), and nothing else was found
    spec = seed("ca-csr.json" if name == "ca" else CHAPTER_LEAVES[name])
    single = [h for h in spec.get("hosts", []) if "." not in h and not h[0].isdigit()]
    assert [f["message"] for f in findings] == [
        'Invalid domain name syntax: "%s"' % h for h in single]
    if name != "ca":
        chain = _pkilint("lint_pkix_signer_signee_cert_chain", write("ca.pem", chapter.ca["cert"]),
                         write("leaf.pem", pem))
        assert chain == []


def _extra_certs(ec_ca: Dict[str, str]) -> Dict[str, Tuple[str, str]]:
    """name -> (issuer PEM, cert PEM) for shapes the chapter does not have."""
    config = {"signing": {"default": {"usages": ["signing", "server auth", "client auth"]},
                          "profiles": {"sub": {"usages": ["cert sign", "crl sign"],
                                               "ca_constraint": {"is_ca": True,
                                                                 "max_path_len_zero": True}},
                                       "mail": {"usages": ["signing", "email protection"]}}}}

    def issue(spec: Dict[str, Any], ca: Dict[str, str], profile: Optional[str] = None) -> Any:
        return signing.issue_cert(spec, ca_cert=ca["cert"], ca_key=ca["key"], config=config,
                                  profile=profile)

    sub = issue({"CN": "sub CA"}, ec_ca, "sub")
    late = signing.create_ca({"CN": "2050 CA"},
                             now=datetime(2050, 1, 1, 0, 5, tzinfo=timezone.utc))
    return {
        "mixed SANs": (ec_ca["cert"], issue(
            # pkilint's pkix rules know no wildcards, and its URI check (the validators
            # package) knows only web schemes such as https, not spiffe
            {"CN": "m", "names": [{"O": "Zürich AG", "C": "CH"}],
             "hosts": ["m.example", "10.0.0.1", "2001:db8::1", "https://m.example/id"]},
            ec_ca)["cert"]),
        "e-mail": (ec_ca["cert"], issue({"CN": "ops", "hosts": ["ops@example.com"]}, ec_ca,
                                        "mail")["cert"]),
        "empty subject": (ec_ca["cert"], issue({"hosts": ["node.example"]}, ec_ca)["cert"]),
        "intermediate": (ec_ca["cert"], sub["cert"]),
        "leaf of intermediate": (sub["cert"], issue({"CN": "l", "hosts": ["l.example"]},
                                                    sub)["cert"]),
        "GeneralizedTime CA": (late["cert"], late["cert"]),
    }


def test_pkilint_other_shapes(ec_ca: Dict[str, str], write: Any) -> None:
    for name, (issuer, pem) in _extra_certs(ec_ca).items():
        assert _not_allowed(_pkilint("lint_pkix_cert", write("c.pem", pem))) == [], name
        if issuer != pem:
            chain = _pkilint("lint_pkix_signer_signee_cert_chain", write("i.pem", issuer),
                             write("c.pem", pem))
            assert chain == [], name


def test_pkilint_console_scripts(rsa_chapter: Chapter, write: Any) -> None:
    """The installed console scripts themselves, once (the other tests call their main())."""
    bindir = Path(ROOT / ".venv" / "bin")
    lint = bindir / "lint_pkix_cert"
    chain = bindir / "lint_pkix_signer_signee_cert_chain"
    if not lint.exists():
        pytest.skip("pkilint console scripts are not in .venv/bin")
    ca = write("ca.pem", rsa_chapter.ca["cert"])
    leaf = write("admin.pem", rsa_chapter.leaves["admin"]["cert"])
    for args in ([str(lint), "lint", "-s", "WARNING", ca], [str(lint), "lint", "-s", "WARNING",
                                                            leaf],
                 [str(chain), "lint", "-s", "WARNING", ca, leaf]):
        proc = run(args, check=False)
        assert (proc.returncode, proc.stdout.strip(), proc.stderr) == (0, "", "")
    proc = run([str(lint), "lint", "-s", "WARNING",
                write("k.pem", rsa_chapter.leaves["kubernetes"]["cert"])], check=False)
    assert proc.returncode != 0 and proc.stdout.count(SINGLE_LABEL_CODE) == 2


# --- a real mutual-TLS handshake ----------------------------------------------------------

TLS_CONFIG = {"signing": {"profiles": {
    "server": {"usages": ["signing", "key encipherment", "server auth"], "expiry": "24h"},
    "client": {"usages": ["signing", "key encipherment", "client auth"], "expiry": "24h"}}}}


def _issue(ca: Dict[str, str], spec: Dict[str, Any], profile: str) -> Dict[str, str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", KpkiliteWarning)  # ECDSA drops key encipherment
        return signing.issue_cert(spec, ca_cert=ca["cert"], ca_key=ca["key"], config=TLS_CONFIG,
                                  profile=profile)


def _context(purpose: int, ca: Dict[str, str], bundle: Dict[str, str], tmp: Path,
             name: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if purpose == 0 else ssl.PROTOCOL_TLS_CLIENT)
    cert, key = tmp / (name + ".pem"), tmp / (name + "-key.pem")
    cert.write_text(bundle["cert"])
    key.write_text(bundle["key"])  # PKCS#1 / SEC1 exactly as kpkilite wrote it
    ctx.load_cert_chain(str(cert), str(key))
    ctx.load_verify_locations(cadata=ca["cert"])
    ctx.verify_mode = ssl.CERT_REQUIRED
    if purpose == 1:
        ctx.check_hostname = True
    return ctx


def _handshake(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext,
               server_hostname: str) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """One connection on 127.0.0.1 with a server thread; returns what each side saw."""
    server: Dict[str, Any] = {}
    client: Dict[str, Any] = {}
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    port = listener.getsockname()[1]

    def serve() -> None:
        try:
            conn, _ = listener.accept()
            conn.settimeout(10)
            with server_ctx.wrap_socket(conn, server_side=True) as tls:
                server["peer"] = tls.getpeercert()
                data = tls.recv(64)
                tls.sendall(b"pong:" + data)
        except (ssl.SSLError, OSError) as exc:
            server["error"] = exc

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
                client_ctx.wrap_socket(raw, server_hostname=server_hostname) as tls:
            client["peer"] = tls.getpeercert()
            tls.sendall(b"ping")
            client["reply"] = tls.recv(64)
    except (ssl.SSLError, OSError) as exc:
        client["error"] = exc
    finally:
        thread.join(15)
        listener.close()
    assert not thread.is_alive(), "the server thread did not finish"
    return server, client


@pytest.mark.parametrize("algo", ["rsa", "ecdsa"])
@pytest.mark.parametrize("server_hostname", ["127.0.0.1", "localhost"])
def test_mutual_tls(chapter_by_algo: Callable[[str], Chapter], algo: str, server_hostname: str,
                    tmp_path: Path) -> None:
    ch = chapter_by_algo(algo)
    key = {"algo": algo, "size": 2048 if algo == "rsa" else 256}
    server = _issue(ch.ca, {"CN": "kube-apiserver", "hosts": ["localhost", "127.0.0.1"],
                            "key": key}, "server")
    client = _issue(ch.ca, {"CN": "admin", "names": [{"O": "system:masters"}], "key": key},
                    "client")
    s, c = _handshake(_context(0, ch.ca, server, tmp_path, "server"),
                      _context(1, ch.ca, client, tmp_path, "client"), server_hostname)
    assert "error" not in s and "error" not in c, (s, c)
    assert c["reply"] == b"pong:ping"
    assert dict(x[0] for x in s["peer"]["subject"]) == {"organizationName": "system:masters",
                                                         "commonName": "admin"}
    assert c["peer"]["subjectAltName"] == (("DNS", "localhost"), ("IP Address", "127.0.0.1"))


def test_mutual_tls_refuses_a_client_from_another_ca(rsa_chapter: Chapter,
                                                      other_ca: Dict[str, str],
                                                      tmp_path: Path) -> None:
    server = _issue(rsa_chapter.ca, {"CN": "srv", "hosts": ["127.0.0.1"]}, "server")
    stranger = _issue(other_ca, {"CN": "admin", "names": [{"O": "system:masters"}]}, "client")
    client_ctx = _context(1, rsa_chapter.ca, stranger, tmp_path, "client")
    s, c = _handshake(_context(0, rsa_chapter.ca, server, tmp_path, "server"), client_ctx,
                      "127.0.0.1")
    assert isinstance(s.get("error"), ssl.SSLError)
    assert "certificate verify failed" in str(s["error"]), s["error"]
    assert "peer" not in s
    assert "reply" not in c  # the client gets an alert, never the server's data


def test_tls_client_refuses_a_server_for_another_name(rsa_chapter: Chapter,
                                                      tmp_path: Path) -> None:
    server = _issue(rsa_chapter.ca, {"CN": "srv", "hosts": ["10.0.0.1"]}, "server")
    client = _issue(rsa_chapter.ca, {"CN": "c"}, "client")
    s, c = _handshake(_context(0, rsa_chapter.ca, server, tmp_path, "server"),
                      _context(1, rsa_chapter.ca, client, tmp_path, "client"), "127.0.0.1")
    assert isinstance(c.get("error"), ssl.SSLCertVerificationError)
    assert "reply" not in c


@pytest.fixture(scope="session")
def chapter_by_algo(rsa_chapter: Chapter, ec_chapter: Chapter) -> Callable[[str], Chapter]:
    return lambda algo: rsa_chapter if algo == "rsa" else ec_chapter


# --- real cfssl ---------------------------------------------------------------------------


def go_hex(data: bytes) -> str:
    """Go's certinfo key-id format: upper-case bytes without zero padding, joined by ':'."""
    return ":".join("%X" % b for b in data)


def _sans(cert: cx509.Certificate) -> List[str]:
    try:
        san = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    except cx509.ExtensionNotFound:
        return []
    return [str(v) for v in san.get_values_for_type(cx509.DNSName)] + \
        [str(v) for v in san.get_values_for_type(cx509.IPAddress)]


@pytest.mark.parametrize("name", ["ca", *CHAPTER_LEAVES])
def test_cfssl_certinfo_reads_our_certificates(chapter: Chapter, name: str, cfssl: str,
                                               write: Any) -> None:
    pem = chapter.ca["cert"] if name == "ca" else chapter.leaves[name]["cert"]
    info = json.loads(run([cfssl, "certinfo", "-cert", write("c.pem", pem)]).stdout)
    spec = seed("ca-csr.json" if name == "ca" else CHAPTER_LEAVES[name])
    n = spec["names"][0]
    want_subject = {"common_name": spec["CN"], "country": n["C"], "organization": n["O"],
                    "organizational_unit": n["OU"], "locality": n["L"], "province": n["ST"],
                    "names": [n["C"], n["ST"], n["L"], n["O"], n["OU"], spec["CN"]]}
    assert info["subject"] == want_subject
    assert info["issuer"]["names"] == ["CN", "BeiJing", "BeiJing", "Kubernetes", "System",
                                       "kubernetes"]
    cert = load_cert(pem)
    hosts = spec.get("hosts", [])
    want_sans = [h for h in hosts if not h[0].isdigit()] + [h for h in hosts if h[0].isdigit()]
    assert info.get("sans", []) == want_sans  # cfssl leaves "sans" out when there are none
    assert _sans(cert) == want_sans
    assert info["serial_number"] == str(cert.serial_number)
    assert info["not_before"] == cert.not_valid_before_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert info["not_after"] == cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert info["sigalg"] == {"rsa": "SHA256WithRSA", "ecdsa": "ECDSAWithSHA256"}[chapter.algo]
    ski = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_KEY_IDENTIFIER).value.digest
    assert info["subject_key_id"] == go_hex(ski)
    if name != "ca":
        ca_ski = chapter.cert("ca").extensions.get_extension_for_oid(
            ExtensionOID.SUBJECT_KEY_IDENTIFIER).value.digest
        assert info["authority_key_id"] == go_hex(ca_ski)
    assert info["pem"].strip() == pem.strip()


def _files(chapter: Chapter, write: Any) -> Tuple[str, str, str]:
    return (write("ca.pem", chapter.ca["cert"]), write("ca-key.pem", chapter.ca["key"]),
            write("ca-config.json", json.dumps(chapter.config)))


def _openssl_ok(openssl: str, ca: str, cert_pem: str, write: Any) -> None:
    path = write("check.pem", cert_pem)
    out = run([openssl, "verify", "-x509_strict", "-CAfile", ca, path]).stdout
    assert out.strip() == "%s: OK" % path


# admin and kube-scheduler: cfssl on newer Go leaves out the AKI when a leaf's subject equals
# its CA's (the chapter's kubernetes.pem), a cfssl bug kpkilite does not copy (docs/compat.md)
@pytest.mark.parametrize("name", ["admin", "kube-scheduler"])
def test_cfssl_signs_our_csr_with_our_ca(chapter: Chapter, name: str, cfssl: str, openssl: str,
                                         write: Any) -> None:
    ca, ca_key, config = _files(chapter, write)
    spec = dict(seed(CHAPTER_LEAVES[name]),
                key={"algo": chapter.algo, "size": 2048 if chapter.algo == "rsa" else 256})
    ours = csr.generate_csr(spec)
    out = run([cfssl, "sign", "-ca", ca, "-ca-key", ca_key, "-config", config,
               "-profile", "kubernetes", write("req.csr", ours["csr"])])
    cert_pem = json.loads(out.stdout)["cert"]
    _openssl_ok(openssl, ca, cert_pem, write)
    cert = load_cert(cert_pem)
    request = cx509.load_pem_x509_csr(ours["csr"].encode())
    assert cert.subject.public_bytes() == request.subject.public_bytes()
    assert _sans(cert) == [h for h in spec.get("hosts", []) if not h[0].isdigit()] + \
        [h for h in spec.get("hosts", []) if h[0].isdigit()]
    cert.verify_directly_issued_by(chapter.cert("ca"))


@pytest.mark.parametrize("algo", [("rsa", 2048), ("ecdsa", 256), ("ecdsa", 384)])
def test_we_sign_a_cfssl_genkey_csr(rsa_chapter: Chapter, algo: Tuple[str, int], cfssl: str,
                                    openssl: str, write: Any) -> None:
    spec = dict(seed("kube-scheduler-csr.json"), key={"algo": algo[0], "size": algo[1]})
    made = json.loads(run([cfssl, "genkey", write("csr.json", json.dumps(spec))]).stdout)
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        cert_pem = signing.sign_csr(made["csr"], ca_cert=rsa_chapter.ca["cert"],
                                    ca_key=rsa_chapter.ca["key"], config=rsa_chapter.config,
                                    profile="kubernetes")
    assert [str(w.message) for w in got] == (
        [] if algo[0] == "rsa" else
        ["profile 'kubernetes': 'key encipherment' dropped for an ECDSA key (RFC 8813)"])
    ca, _, _ = _files(rsa_chapter, write)
    _openssl_ok(openssl, ca, cert_pem, write)
    cert = load_cert(cert_pem)
    request = cx509.load_pem_x509_csr(made["csr"].encode())
    assert cert.subject.public_bytes() == request.subject.public_bytes()
    assert cert.public_key().public_bytes(*_spki()) == request.public_key().public_bytes(*_spki())
    assert _sans(cert) == ["Kubernetes-master1", "127.0.0.1", "192.168.1.145", "192.168.1.146"]
    cert.verify_directly_issued_by(rsa_chapter.cert("ca"))


def _spki() -> Tuple[Any, Any]:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return Encoding.DER, PublicFormat.SubjectPublicKeyInfo


def test_cfssl_gencert_with_our_ca(chapter: Chapter, cfssl: str, openssl: str,
                                   write: Any) -> None:
    ca, ca_key, config = _files(chapter, write)
    spec = write("admin-csr.json", json.dumps(seed("admin-csr.json")))
    out = json.loads(run([cfssl, "gencert", "-ca", ca, "-ca-key", ca_key, "-config", config,
                          "-profile", "kubernetes", spec]).stdout)
    _openssl_ok(openssl, ca, out["cert"], write)
    load_cert(out["cert"]).verify_directly_issued_by(chapter.cert("ca"))


@pytest.mark.parametrize(("key", "go_sigalg"), [({"algo": "ecdsa", "size": 256}, 10),
                                               ({"algo": "rsa", "size": 2048}, 4)])
def test_cfssl_certinfo_reads_our_csr(key: Dict[str, Any], go_sigalg: int, cfssl: str,
                                      write: Any) -> None:
    """cfssl certinfo -csr prints Go's parsed x509.CertificateRequest: compare it field by field."""
    import base64

    spec = dict(seed("kubernetes-csr.json"), key=key)
    ours = csr.generate_csr(spec)
    info = json.loads(run([cfssl, "certinfo", "-csr", write("r.csr", ours["csr"])]).stdout)
    der = cx509.load_pem_x509_csr(ours["csr"].encode()).public_bytes(_spki()[0])
    assert base64.b64decode(info["Raw"]) == der
    assert info["Version"] == 0
    assert info["SignatureAlgorithm"] == go_sigalg  # Go: 4 SHA256WithRSA, 10 ECDSAWithSHA256
    subject = info["Subject"]
    assert (subject["CommonName"], subject["Country"], subject["Province"], subject["Locality"],
            subject["Organization"], subject["OrganizationalUnit"]) == (
        "kubernetes", ["CN"], ["BeiJing"], ["BeiJing"], ["Kubernetes"], ["System"])
    assert [n["Type"] for n in subject["Names"]] == [
        [2, 5, 4, 6], [2, 5, 4, 8], [2, 5, 4, 7], [2, 5, 4, 10], [2, 5, 4, 11], [2, 5, 4, 3]]
    hosts = spec["hosts"]
    assert info["DNSNames"] == [h for h in hosts if not h[0].isdigit()]
    assert info["IPAddresses"] == [h for h in hosts if h[0].isdigit()]
    assert info["EmailAddresses"] is None and info["URIs"] is None
