"""CA keys and CSRs kpkilite did not make: an RSA 8192 CA key from ``cryptography`` (PKCS#8,
PKCS#1, DER), CAs built by ``cryptography``, and foreign CSRs given to ``sign_csr``."""

from __future__ import annotations

import tempfile
import warnings
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, List, Optional

import pytest
from conftest import der_children, der_read, load_cert, run, tbs_fields
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)
from cryptography.x509.oid import ExtensionOID, NameOID

from kpkilite import csr, signing
from kpkilite.errors import CSRSpecError, KpkiliteWarning, PEMError, SigningError

CONFIG = {"signing": {"default": {"usages": ["signing", "server auth"], "expiry": "720h"}}}
SHA512_RSA = bytes.fromhex("300d06092a864886f70d01010d0500")


def make_ca_with_cryptography(key: Any, *, ski: bool = True, cert_sign: bool = True) -> str:
    """A CA certificate built by cryptography (not by kpkilite) for ``key``."""
    now = datetime.now(timezone.utc)
    name = cx509.Name([cx509.NameAttribute(NameOID.ORGANIZATION_NAME, "Elsewhere"),
                       cx509.NameAttribute(NameOID.COMMON_NAME, "foreign CA")])
    builder = (
        cx509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(cx509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=30))
        .add_extension(cx509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(cx509.KeyUsage(not cert_sign, False, False, False, False, cert_sign,
                                      cert_sign, False, False), critical=True)
    )
    if ski:
        builder = builder.add_extension(
            cx509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    return builder.sign(key, hashes.SHA256()).public_bytes(Encoding.PEM).decode()


@pytest.fixture(scope="module")
def rsa8192(rsa8192_key: Any) -> Any:
    """An RSA 8192 key made by cryptography (once per test session: it takes seconds)."""
    assert isinstance(rsa8192_key, rsa.RSAPrivateKey) and rsa8192_key.key_size == 8192
    return rsa8192_key


KEY_FORMATS: List[Any] = [
    ("PKCS#8 PEM", lambda k: k.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
     .decode()),
    ("PKCS#1 PEM", lambda k: k.private_bytes(Encoding.PEM, PrivateFormat.TraditionalOpenSSL,
                                             NoEncryption()).decode()),
    ("PKCS#1 PEM bytes", lambda k: k.private_bytes(Encoding.PEM, PrivateFormat.TraditionalOpenSSL,
                                                   NoEncryption())),
    ("PKCS#8 DER", lambda k: k.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())),
]


@pytest.mark.parametrize(("label", "encode"), KEY_FORMATS, ids=[f[0] for f in KEY_FORMATS])
def test_rsa8192_ca_key_loads_and_signs_sha512(rsa8192: Any, label: str,
                                               encode: Callable[[Any], Any], openssl: str,
                                               write: Any) -> None:
    ca_pem = make_ca_with_cryptography(rsa8192)
    bundle = signing.issue_cert({"CN": "leaf", "hosts": ["leaf.example"]}, ca_cert=ca_pem,
                                ca_key=encode(rsa8192), config=CONFIG)
    leaf = load_cert(bundle["cert"])
    assert tbs_fields(leaf)[2][2] == SHA512_RSA
    leaf.verify_directly_issued_by(load_cert(ca_pem))
    ca_ski = load_cert(ca_pem).extensions.get_extension_for_oid(
        ExtensionOID.SUBJECT_KEY_IDENTIFIER).value.digest
    aki = leaf.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_KEY_IDENTIFIER).value
    assert aki.key_identifier == ca_ski
    leaf_p = write("leaf.pem", bundle["cert"])
    out = run([openssl, "verify", "-x509_strict", "-CAfile", write("ca.pem", ca_pem), leaf_p])
    assert out.stdout.strip() == "%s: OK" % leaf_p


@pytest.mark.parametrize("call", ["create_ca", "generate_csr", "issue_cert"])
def test_generating_rsa8192_is_an_error_naming_the_field(call: str,
                                                         ec_ca: Dict[str, str]) -> None:
    spec = {"CN": "big", "key": {"algo": "rsa", "size": 8192}}
    with pytest.raises(CSRSpecError) as info:
        if call == "create_ca":
            signing.create_ca(spec)
        elif call == "generate_csr":
            csr.generate_csr(spec)
        else:
            signing.issue_cert(spec, ca_cert=ec_ca["cert"], ca_key=ec_ca["key"])
    assert str(info.value) == ("key.size: 8192 is not supported for rsa keys; "
                               "supported sizes: 2048, 3072, 4096")


def test_ca_without_subject_key_id_gets_a_computed_authority_key_id() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    ca_pem = make_ca_with_cryptography(key, ski=False)
    key_pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    leaf = load_cert(signing.issue_cert({"CN": "l"}, ca_cert=ca_pem, ca_key=key_pem,
                                        config=CONFIG)["cert"])
    aki = leaf.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_KEY_IDENTIFIER).value
    assert aki.key_identifier == cx509.SubjectKeyIdentifier.from_public_key(
        key.public_key()).digest
    leaf.verify_directly_issued_by(load_cert(ca_pem))


# --- sign_csr with CSRs made elsewhere ------------------------------------------------------


def foreign_csr(key: Any, name: cx509.Name, sans: Optional[List[cx509.GeneralName]] = None,
                *, ca: bool = False, hash_alg: Any = None) -> str:
    builder = cx509.CertificateSigningRequestBuilder().subject_name(name)
    if sans:
        builder = builder.add_extension(cx509.SubjectAlternativeName(sans), critical=False)
    if ca:
        builder = builder.add_extension(cx509.BasicConstraints(ca=True, path_length=None),
                                        critical=True)
    alg = None if isinstance(key, ed25519.Ed25519PrivateKey) else (hash_alg or hashes.SHA256())
    return builder.sign(key, alg).public_bytes(Encoding.PEM).decode()


@pytest.fixture(scope="module")
def ec_key() -> Any:
    return ec.generate_private_key(ec.SECP256R1())


def test_foreign_subject_is_copied_byte_for_byte(ec_ca: Dict[str, str], ec_key: Any) -> None:
    # cryptography writes UTF8String and this order (CN first); cfssl copies, so do we
    name = cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, "node-1"),
                       cx509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:nodes"),
                       cx509.NameAttribute(NameOID.COUNTRY_NAME, "DE")])
    request = foreign_csr(ec_key, name)
    cert = load_cert(signing.sign_csr(request, ca_cert=ec_ca["cert"], ca_key=ec_ca["key"],
                                      config=CONFIG))
    csr_obj = cx509.load_pem_x509_csr(request.encode())
    assert cert.subject.public_bytes() == csr_obj.subject.public_bytes()
    assert [list(r)[0].oid for r in cert.subject.rdns] == [
        NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME, NameOID.COUNTRY_NAME]
    assert cert.public_key().public_numbers() == ec_key.public_key().public_numbers()
    cert.verify_directly_issued_by(load_cert(ec_ca["cert"]))


def test_foreign_sans_are_regrouped_in_go_order(ec_ca: Dict[str, str], ec_key: Any) -> None:
    import ipaddress

    sans = [cx509.UniformResourceIdentifier("spiffe://c/ns/a"),
            cx509.IPAddress(ipaddress.ip_address("fd00::5")),
            cx509.RFC822Name("a@example.com"), cx509.DNSName("b.example"),
            cx509.IPAddress(ipaddress.ip_address("10.0.0.9")), cx509.DNSName("a.example")]
    request = foreign_csr(ec_key, cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, "s")]),
                          sans)
    cert = load_cert(signing.sign_csr(request, ca_cert=ec_ca["cert"], ca_key=ec_ca["key"],
                                      config=CONFIG))
    got = list(cert.extensions.get_extension_for_oid(
        ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value)
    assert got == [sans[3], sans[5], sans[2], sans[1], sans[4], sans[0]]


def test_unsupported_csr_san_kind_warns(ec_ca: Dict[str, str], ec_key: Any) -> None:
    sans = [cx509.DNSName("ok.example"), cx509.DirectoryName(
        cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, "dir")]))]
    request = foreign_csr(ec_key, cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, "s")]),
                          sans)
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        pem = signing.sign_csr(request, ca_cert=ec_ca["cert"], ca_key=ec_ca["key"],
                               config=CONFIG)
    assert [str(w.message) for w in got if issubclass(w.category, KpkiliteWarning)] == [
        "csr: a directoryName SAN is not supported and is left out"]
    assert list(load_cert(pem).extensions.get_extension_for_oid(
        ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value) == [cx509.DNSName("ok.example")]


def test_csr_asking_for_ca_needs_a_ca_profile(ec_ca: Dict[str, str], ec_key: Any) -> None:
    # cfssl refuses such a CSR under a leaf profile too; a CA profile issues CA:TRUE.
    request = foreign_csr(ec_key, cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, "x")]),
                          ca=True)
    with pytest.raises(SigningError) as info:
        signing.sign_csr(request, ca_cert=ec_ca["cert"], ca_key=ec_ca["key"], config=CONFIG)
    assert str(info.value) == (
        "csr: the request asks for a CA certificate (basicConstraints CA:TRUE) but profile "
        "'default' does not issue CAs; sign it with a profile that has ca_constraint.is_ca")
    intermediate = {"signing": {"profiles": {"sub": {
        "usages": ["cert sign", "crl sign"], "expiry": "1h",
        "ca_constraint": {"is_ca": True, "max_path_len_zero": True}}}}}
    cert = load_cert(signing.sign_csr(request, ca_cert=ec_ca["cert"], ca_key=ec_ca["key"],
                                      config=intermediate, profile="sub"))
    constraints = cert.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS).value
    assert constraints.ca is True and constraints.path_length == 0


def _tampered(pem: str) -> str:
    """The CSR with one bit of its signature (the last field) flipped."""
    import base64

    der = cx509.load_pem_x509_csr(pem.encode()).public_bytes(Encoding.DER)
    _, body, _ = der_read(der)
    assert der.endswith(der_children(body)[2][2])  # the signature BIT STRING ends the DER
    flipped = der[:-3] + bytes([der[-3] ^ 0x01]) + der[-2:]
    text = base64.b64encode(flipped).decode()
    return ("-----BEGIN CERTIFICATE REQUEST-----\n"
            + "\n".join(text[i:i + 64] for i in range(0, len(text), 64))
            + "\n-----END CERTIFICATE REQUEST-----\n")


CSR_ERRORS: List[Any] = [
    ("bad self-signature",
     lambda k: _tampered(foreign_csr(k["ec"], cx509.Name([cx509.NameAttribute(
         NameOID.COMMON_NAME, "t")]))),
     PEMError, "csr: the request's self-signature does not verify"),
    ("RSA 1024",
     lambda k: foreign_csr(k["rsa1024"], cx509.Name([cx509.NameAttribute(
         NameOID.COMMON_NAME, "t")])),
     SigningError, "csr: the RSA key has 1024 bits; at least 2048 are required"),
    ("Ed25519",
     lambda k: foreign_csr(k["ed25519"], cx509.Name([cx509.NameAttribute(
         NameOID.COMMON_NAME, "t")])),
     SigningError, "csr: ed25519 keys are not supported; use rsa or ecdsa"),
    ("secp256k1",
     lambda k: foreign_csr(k["k1"], cx509.Name([cx509.NameAttribute(
         NameOID.COMMON_NAME, "t")])),
     SigningError, "csr: the EC key's curve secp256k1 is not supported; use P-256, P-384 or "
     "P-521"),
    ("SHA-1",
     lambda k: k["sha1_csr"],  # cryptography refuses to make one; openssl does
     SigningError, "csr: the request's signature (rsassa_pkcs1v15 with sha1) is not supported; "
     "make the CSR with SHA-256, SHA-384 or SHA-512 and RSA PKCS#1 v1.5 or ECDSA"),
    ("ECDSA SHA-224",
     lambda k: foreign_csr(k["ec"], cx509.Name([cx509.NameAttribute(
         NameOID.COMMON_NAME, "t")]), hash_alg=hashes.SHA224()),
     SigningError, "csr: the request's signature (ecdsa with sha224) is not supported; "
     "make the CSR with SHA-256, SHA-384 or SHA-512 and RSA PKCS#1 v1.5 or ECDSA"),
]


def _openssl_sha1_csr(key: Any) -> str:
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    with tempfile.NamedTemporaryFile(suffix=".pem") as f:
        f.write(pem)
        f.flush()
        return subprocess.run(["openssl", "req", "-new", "-sha1", "-key", f.name, "-subj", "/CN=t"],
                              capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def odd_keys(ec_key: Any) -> Dict[str, Any]:
    return {"ec": ec_key, "rsa1024": rsa.generate_private_key(65537, 1024),
            "ed25519": ed25519.Ed25519PrivateKey.generate(),
            "k1": ec.generate_private_key(ec.SECP256K1()),
            "sha1_csr": _openssl_sha1_csr(rsa.generate_private_key(65537, 2048))}


@pytest.mark.parametrize(("name", "make", "error", "message"), CSR_ERRORS,
                         ids=[c[0] for c in CSR_ERRORS])
def test_sign_csr_refuses(ec_ca: Dict[str, str], odd_keys: Dict[str, Any], name: str,
                          make: Callable[[Dict[str, Any]], str], error: Any,
                          message: str) -> None:
    with pytest.raises(error) as info:
        signing.sign_csr(make(odd_keys), ca_cert=ec_ca["cert"], ca_key=ec_ca["key"],
                         config=CONFIG)
    assert str(info.value) == message


@pytest.mark.parametrize("data", ["", "not a csr", "-----BEGIN CERTIFICATE-----\nAAAA\n"
                                  "-----END CERTIFICATE-----\n"])
def test_sign_csr_garbage_is_a_pem_error_about_the_csr(ec_ca: Dict[str, str], data: str) -> None:
    with pytest.raises(PEMError) as info:
        signing.sign_csr(data, ca_cert=ec_ca["cert"], ca_key=ec_ca["key"], config=CONFIG)
    assert str(info.value).startswith("csr: ")


def test_sign_csr_hosts_must_not_be_a_string(ec_ca: Dict[str, str]) -> None:
    request = csr.generate_csr({"CN": "x"})["csr"]
    with pytest.raises(TypeError):
        signing.sign_csr(request, ca_cert=ec_ca["cert"], ca_key=ec_ca["key"], config=CONFIG,
                         hosts="a.example")


def test_now_must_be_an_aware_datetime(ec_ca: Dict[str, str]) -> None:
    with pytest.raises(TypeError):
        signing.issue_cert({"CN": "x"}, ca_cert=ec_ca["cert"], ca_key=ec_ca["key"],
                           config=CONFIG, now=datetime(2030, 1, 1))
    with pytest.raises(TypeError):
        signing.create_ca({"CN": "x"}, now="2030-01-01")  # type: ignore[arg-type]


def test_ca_whose_key_usage_lacks_cert_sign_is_refused() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    ca_pem = make_ca_with_cryptography(key, cert_sign=False)
    key_pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    with pytest.raises(SigningError) as info:
        signing.issue_cert({"CN": "l"}, ca_cert=ca_pem, ca_key=key_pem, config=CONFIG)
    assert str(info.value) == ("ca_cert: 'CN=foreign CA' may not sign certificates "
                               "(keyUsage lacks keyCertSign)")


def test_sign_csr_refuses_an_empty_subject_without_sans(ec_ca: Dict[str, str],
                                                        ec_key: Any) -> None:
    message = ("csr: the certificate would have an empty subject and no SANs (RFC 5280 "
               "4.1.2.6); give hosts, or a CSR with a subject")
    bare = foreign_csr(ec_key, cx509.Name([]))
    with pytest.raises(PEMError) as info:
        signing.sign_csr(bare, ca_cert=ec_ca["cert"], ca_key=ec_ca["key"], config=CONFIG)
    assert str(info.value) == message
    with_sans = csr.generate_csr({"hosts": ["n.example"]})["csr"]
    with pytest.raises(PEMError) as info:
        signing.sign_csr(with_sans, ca_cert=ec_ca["cert"], ca_key=ec_ca["key"], config=CONFIG,
                         hosts=[])
    assert str(info.value) == message
    # with SANs (from the CSR or from hosts) it is fine, and the SAN is critical
    for pem in (signing.sign_csr(with_sans, ca_cert=ec_ca["cert"], ca_key=ec_ca["key"],
                                 config=CONFIG),
                signing.sign_csr(bare, ca_cert=ec_ca["cert"], ca_key=ec_ca["key"],
                                 config=CONFIG, hosts=["m.example"])):
        san = load_cert(pem).extensions.get_extension_for_oid(
            ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
        assert san.critical
