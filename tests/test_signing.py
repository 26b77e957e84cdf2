"""The certificates create_ca / issue_cert / sign_csr make, checked field by field with oracles
that are not kpkilite: the ``cryptography`` package, a small DER reader (conftest) and openssl.

Issue 2, "What the certificates must be": every rule has a table here.
"""

from __future__ import annotations

import base64
import hashlib
import warnings
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest
from _helpers import mutate
from conftest import (
    CHAPTER_LEAVES,
    Chapter,
    der_children,
    der_read,
    load_cert,
    run,
    seed,
    tbs_fields,
)
from cryptography import x509 as cx509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)
from cryptography.x509 import ObjectIdentifier
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpkilite import signing
from kpkilite.errors import (
    CSRSpecError,
    KpkiliteError,
    KpkiliteWarning,
    PEMError,
    SigningConfigError,
    SigningError,
)

UTC = timezone.utc
HOUR = timedelta(hours=1)
FIXED = datetime(2030, 6, 15, 12, 0, 0, 700_000, tzinfo=UTC)  # a fixed now= for exact times

#: usages without key encipherment, so ECDSA leaves make no warning
EC_CONFIG = {"signing": {"default": {"usages": ["signing", "server auth", "client auth"],
                                     "expiry": "8760h"}}}


def caught(fn: Callable[[], Any]) -> Tuple[Any, List[str]]:
    """Run fn, returning its result and the KpkiliteWarning messages it gave."""
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        result = fn()
    others = [w for w in got if not issubclass(w.category, KpkiliteWarning)]
    assert not others, [str(w.message) for w in others]
    return result, [str(w.message) for w in got]


def issue(ca: Dict[str, str], spec: Dict[str, Any], **kw: Any) -> cx509.Certificate:
    kw.setdefault("config", EC_CONFIG)
    bundle, got = caught(lambda: signing.issue_cert(spec, ca_cert=ca["cert"], ca_key=ca["key"],
                                                    **kw))
    assert got == []
    return load_cert(bundle["cert"])


def ext(cert: cx509.Certificate, oid: ObjectIdentifier) -> cx509.Extension[Any]:
    return cert.extensions.get_extension_for_oid(oid)


def spki_bits(cert: cx509.Certificate) -> bytes:
    """The subjectPublicKey BIT STRING's bytes (after the unused-bits octet), via our DER reader."""
    spki = cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    _, body, _ = der_read(spki)
    _alg, bits = der_children(body)
    assert bits[0] == 0x03
    return bits[1][1:]


# --- the chapter, field by field -------------------------------------------------------------

CHAPTER_SUBJECTS = {
    name: seed(filename) for name, filename in CHAPTER_LEAVES.items()
}
CHAPTER_SUBJECTS["ca"] = seed("ca-csr.json")
ORDER = [("C", NameOID.COUNTRY_NAME), ("ST", NameOID.STATE_OR_PROVINCE_NAME),
         ("L", NameOID.LOCALITY_NAME), ("O", NameOID.ORGANIZATION_NAME),
         ("OU", NameOID.ORGANIZATIONAL_UNIT_NAME)]


@pytest.mark.parametrize("name", ["ca", *CHAPTER_LEAVES])
def test_chapter_subject_in_go_order_as_printable_strings(chapter: Chapter, name: str) -> None:
    spec = CHAPTER_SUBJECTS[name]
    want = [(oid, spec["names"][0][k]) for k, oid in ORDER] + [(NameOID.COMMON_NAME, spec["CN"])]
    cert = chapter.cert(name)
    rdns = list(cert.subject.rdns)
    got = [(list(r)[0].oid, list(r)[0].value) for r in rdns]
    assert got == want
    assert all(len(r) == 1 for r in rdns)
    assert {list(r)[0]._type for r in rdns} == {_ASN1Type.PrintableString}


@pytest.mark.parametrize("name", CHAPTER_LEAVES)
def test_chapter_issuer_is_the_ca_subject_byte_for_byte(chapter: Chapter, name: str) -> None:
    leaf, ca = chapter.cert(name), chapter.cert("ca")
    assert tbs_fields(leaf)[3][2] == tbs_fields(ca)[5][2]  # raw issuer == raw CA subject
    leaf.verify_directly_issued_by(ca)


@pytest.mark.parametrize("name", CHAPTER_LEAVES)
def test_chapter_leaf_extensions(chapter: Chapter, name: str) -> None:
    leaf, ca = chapter.cert(name), chapter.cert("ca")
    ku = ext(leaf, ExtensionOID.KEY_USAGE)
    assert ku.critical
    assert ku.value.digital_signature
    # RSA keeps key encipherment; ECDSA drops it (RFC 8813), with a warning at issue time
    assert ku.value.key_encipherment == (chapter.algo == "rsa")
    assert not (ku.value.key_cert_sign or ku.value.crl_sign or ku.value.content_commitment
                or ku.value.data_encipherment or ku.value.key_agreement)
    eku = ext(leaf, ExtensionOID.EXTENDED_KEY_USAGE)
    assert not eku.critical
    assert list(eku.value) == [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    bc = ext(leaf, ExtensionOID.BASIC_CONSTRAINTS)
    assert bc.critical and bc.value.ca is False and bc.value.path_length is None
    ski = ext(leaf, ExtensionOID.SUBJECT_KEY_IDENTIFIER)
    assert not ski.critical
    assert ski.value.digest == hashlib.sha1(spki_bits(leaf)).digest()
    assert ski.value == cx509.SubjectKeyIdentifier.from_public_key(leaf.public_key())
    aki = ext(leaf, ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
    assert not aki.critical
    assert aki.value.key_identifier == ext(ca, ExtensionOID.SUBJECT_KEY_IDENTIFIER).value.digest
    assert aki.value.authority_cert_issuer is None
    assert aki.value.authority_cert_serial_number is None
    assert leaf.version == cx509.Version.v3


def test_chapter_ca_extensions(chapter: Chapter) -> None:
    ca = chapter.cert("ca")
    ku = ext(ca, ExtensionOID.KEY_USAGE)
    assert ku.critical
    assert ku.value.key_cert_sign and ku.value.crl_sign
    assert not (ku.value.digital_signature or ku.value.key_encipherment
                or ku.value.content_commitment or ku.value.key_agreement)
    bc = ext(ca, ExtensionOID.BASIC_CONSTRAINTS)
    assert bc.critical and bc.value.ca is True and bc.value.path_length is None
    ski = ext(ca, ExtensionOID.SUBJECT_KEY_IDENTIFIER)
    assert ski.value.digest == hashlib.sha1(spki_bits(ca)).digest()
    with pytest.raises(cx509.ExtensionNotFound):
        ext(ca, ExtensionOID.EXTENDED_KEY_USAGE)
    assert ca.issuer == ca.subject
    ca.verify_directly_issued_by(ca)


def test_chapter_kubernetes_sans_in_cfssl_order(chapter: Chapter) -> None:
    san = ext(chapter.cert("kubernetes"), ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    assert not san.critical
    hosts = seed("kubernetes-csr.json")["hosts"]
    dns = [h for h in hosts if not h[0].isdigit()]
    ips = [h for h in hosts if h[0].isdigit()]
    got = [(type(g).__name__, str(g.value)) for g in san.value]
    assert got == [("DNSName", d) for d in dns] + [("IPAddress", i) for i in ips]


@pytest.mark.parametrize("name", ["admin", "kube-proxy"])
def test_chapter_leaves_without_hosts_have_no_san(chapter: Chapter, name: str) -> None:
    with pytest.raises(cx509.ExtensionNotFound):
        ext(chapter.cert(name), ExtensionOID.SUBJECT_ALTERNATIVE_NAME)


def test_chapter_validity_and_the_silent_cut(chapter: Chapter) -> None:
    ca = chapter.cert("ca")
    ca_nb = (chapter.ca_now - timedelta(minutes=5)).replace(microsecond=0)
    assert ca.not_valid_before_utc == ca_nb
    assert ca.not_valid_after_utc == ca_nb + 87600 * HOUR
    for name in CHAPTER_LEAVES:
        leaf = chapter.cert(name)
        leaf_nb = (chapter.leaf_now - timedelta(minutes=5)).replace(microsecond=0)
        assert leaf.not_valid_before_utc == leaf_nb
        # 87600h from a minute later would pass the CA by a minute: cut, and no warning
        assert leaf.not_valid_after_utc == ca.not_valid_after_utc
    want = {"rsa": [], "ecdsa": ["profile 'kubernetes': 'key encipherment' dropped for an "
                                 "ECDSA key (RFC 8813)"]}[chapter.algo]
    assert chapter.warnings["ca"] == []
    for name in CHAPTER_LEAVES:
        assert chapter.warnings[name] == want, name


@pytest.mark.parametrize("name", CHAPTER_LEAVES)
def test_chapter_openssl_verify(chapter: Chapter, name: str, openssl: str, write: Any) -> None:
    ca = write("ca.pem", chapter.ca["cert"])
    leaf = write("leaf.pem", chapter.leaves[name]["cert"])
    out = run([openssl, "verify", "-x509_strict", "-CAfile", ca, leaf]).stdout
    assert out.strip() == "%s: OK" % leaf


@pytest.mark.parametrize("name", ["ca", *CHAPTER_LEAVES])
def test_chapter_openssl_text(chapter: Chapter, name: str, openssl: str, write: Any) -> None:
    pem = chapter.ca["cert"] if name == "ca" else chapter.leaves[name]["cert"]
    text = run([openssl, "x509", "-noout", "-text", "-in", write("c.pem", pem)]).stdout
    spec = CHAPTER_SUBJECTS[name]
    n = spec["names"][0]
    subject = "C = %s, ST = %s, L = %s, O = %s, OU = %s, CN = %s" % (
        n["C"], n["ST"], n["L"], n["O"], n["OU"], spec["CN"])
    assert "Subject: %s\n" % subject in text
    assert "Version: 3 (0x2)" in text
    if name == "ca":
        assert "X509v3 Basic Constraints: critical\n                CA:TRUE\n" in text
        assert "X509v3 Key Usage: critical\n                Certificate Sign, CRL Sign\n" in text
    else:
        assert "X509v3 Basic Constraints: critical\n                CA:FALSE\n" in text
        assert ("TLS Web Server Authentication, TLS Web Client Authentication" in text)
    sig = "sha256WithRSAEncryption" if chapter.algo == "rsa" else "ecdsa-with-SHA256"
    assert text.count("Signature Algorithm: %s" % sig) == 2


# --- subject string types ---------------------------------------------------------------------

SUBJECT_TYPES = [
    # value, expected ASN.1 string type (Go: PrintableString when every character allows it)
    ("BeiJing", _ASN1Type.PrintableString),
    ("system:masters", _ASN1Type.PrintableString),
    ("a b'()+,-./:=?", _ASN1Type.PrintableString),
    ("4Paradigm", _ASN1Type.PrintableString),
    ("Zürich", _ASN1Type.UTF8String),
    ("AT&T", _ASN1Type.UTF8String),
    ("*.example", _ASN1Type.UTF8String),
    ("user@example", _ASN1Type.UTF8String),
    ("under_score", _ASN1Type.UTF8String),
    ("北京", _ASN1Type.UTF8String),
    ("semi;colon", _ASN1Type.UTF8String),
]


@pytest.mark.parametrize(("value", "kind"), SUBJECT_TYPES)
def test_subject_string_type(ec_ca: Dict[str, str], value: str, kind: _ASN1Type) -> None:
    spec = {"CN": value, "names": [{"O": value, "L": value}]}
    cert = issue(ec_ca, spec)
    attrs = [list(r)[0] for r in cert.subject.rdns]
    assert [(a.oid, a.value, a._type) for a in attrs] == [
        (NameOID.LOCALITY_NAME, value, kind),
        (NameOID.ORGANIZATION_NAME, value, kind),
        (NameOID.COMMON_NAME, value, kind),
    ]


def test_subject_order_ignores_input_order_and_merges_names(ec_ca: Dict[str, str]) -> None:
    spec = {"names": [{"OU": "b", "O": "o1", "C": "DE"}, {"OU": "a", "ST": "Bayern", "O": "o2"}],
            "cn": "late"}
    cert = issue(ec_ca, spec)
    got = [[(a.oid, a.value) for a in r] for r in cert.subject.rdns]
    # several values of one field share one RDN (a SET, sorted by DER as Go's marshaller does)
    assert got == [
        [(NameOID.COUNTRY_NAME, "DE")],
        [(NameOID.STATE_OR_PROVINCE_NAME, "Bayern")],
        [(NameOID.ORGANIZATION_NAME, "o1"), (NameOID.ORGANIZATION_NAME, "o2")],
        [(NameOID.ORGANIZATIONAL_UNIT_NAME, "a"), (NameOID.ORGANIZATIONAL_UNIT_NAME, "b")],
        [(NameOID.COMMON_NAME, "late")],
    ]


# --- SANs ---------------------------------------------------------------------------------------

SAN_CASES = [
    # hosts, expected [(GeneralName type, raw value)] in cfssl order
    (["b.example", "10.0.0.1", "a.example"],
     [("dns", "b.example"), ("dns", "a.example"), ("ip", bytes([10, 0, 0, 1]))]),
    (["spiffe://cluster.local/ns/x", "ops@example.com", "::1", "*.svc.example", "192.0.2.7",
      "root@example.org", "https://example.com/a?b=c", "etcd01"],
     [("dns", "*.svc.example"), ("dns", "etcd01"), ("email", "ops@example.com"),
      ("email", "root@example.org"), ("ip", bytes(15) + b"\x01"), ("ip", bytes([192, 0, 2, 7])),
      ("uri", "spiffe://cluster.local/ns/x"), ("uri", "https://example.com/a?b=c")]),
    (["2001:db8::8:800:200c:417a"],
     [("ip", bytes.fromhex("20010db8" "00000000" "00080800" "200c417a"))]),
    (["::ffff:192.0.2.1"], [("ip", bytes([192, 0, 2, 1]))]),  # v4-mapped: 4 bytes, as Go
    (["Kubernetes-master1", "kubernetes"], [("dns", "Kubernetes-master1"), ("dns", "kubernetes")]),
    (["_acme.example.com"], [("dns", "_acme.example.com")]),
]


def raw_sans(cert: cx509.Certificate) -> List[Tuple[str, Any]]:
    """SAN entries from our DER reader: the tag says the kind, the contents are the raw value."""
    san = ext(cert, ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    _, body, _ = der_read(san.value.public_bytes())
    kinds = {0x81: "email", 0x82: "dns", 0x86: "uri", 0x87: "ip"}
    out: List[Tuple[str, Any]] = []
    for tag, contents, _whole in der_children(body):
        kind = kinds[tag]
        out.append((kind, contents if kind == "ip" else contents.decode("ascii")))
    return out


@pytest.mark.parametrize(("hosts", "want"), SAN_CASES)
def test_sans_types_and_order(ec_ca: Dict[str, str], hosts: List[str],
                              want: List[Tuple[str, Any]]) -> None:
    cert = issue(ec_ca, {"CN": "x", "hosts": hosts})
    assert raw_sans(cert) == want
    assert ext(cert, ExtensionOID.SUBJECT_ALTERNATIVE_NAME).critical is False


@pytest.mark.parametrize(("hosts", "want"), SAN_CASES)
def test_sans_of_sign_csr_match_issue_cert(ec_ca: Dict[str, str], hosts: List[str],
                                           want: List[Tuple[str, Any]]) -> None:
    from kpkilite import csr

    request = csr.generate_csr({"CN": "x", "hosts": hosts})["csr"]
    pem = signing.sign_csr(request, ca_cert=ec_ca["cert"], ca_key=ec_ca["key"], config=EC_CONFIG)
    assert raw_sans(load_cert(pem)) == want


def test_san_critical_only_when_subject_is_empty(ec_ca: Dict[str, str]) -> None:
    cert = issue(ec_ca, {"hosts": ["node1.example", "10.1.2.3"]})
    assert list(cert.subject) == []
    assert tbs_fields(cert)[5][2] == b"\x30\x00"  # an empty SEQUENCE, not left out
    san = ext(cert, ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    assert san.critical is True
    assert raw_sans(cert) == [("dns", "node1.example"), ("ip", bytes([10, 1, 2, 3]))]


def test_sign_csr_hosts_replace_the_csr_sans(ec_ca: Dict[str, str]) -> None:
    from kpkilite import csr

    request = csr.generate_csr({"CN": "x", "hosts": ["old.example"]})["csr"]
    pem = signing.sign_csr(request, ca_cert=ec_ca["cert"], ca_key=ec_ca["key"], config=EC_CONFIG,
                           hosts=["new.example", "10.9.8.7"])
    assert raw_sans(load_cert(pem)) == [("dns", "new.example"), ("ip", bytes([10, 9, 8, 7]))]
    pem = signing.sign_csr(request, ca_cert=ec_ca["cert"], ca_key=ec_ca["key"], config=EC_CONFIG,
                           hosts=[])
    with pytest.raises(cx509.ExtensionNotFound):
        ext(load_cert(pem), ExtensionOID.SUBJECT_ALTERNATIVE_NAME)


# --- serial -------------------------------------------------------------------------------------


def test_serials_are_positive_at_most_20_octets_and_distinct(ec_ca: Dict[str, str]) -> None:
    from kpkilite import csr

    request = csr.generate_csr({"CN": "serial"})["csr"]
    serials = set()
    for _ in range(64):
        cert = load_cert(signing.sign_csr(request, ca_cert=ec_ca["cert"], ca_key=ec_ca["key"],
                                          config=EC_CONFIG))
        tag, contents, _ = tbs_fields(cert)[1]
        assert tag == 0x02
        assert 1 <= len(contents) <= 20
        assert contents[0] < 0x80  # positive
        assert len(contents) == 1 or not (contents[0] == 0 and contents[1] < 0x80)  # minimal
        assert cert.serial_number > 0
        assert cert.serial_number.bit_length() <= 159
        serials.add(cert.serial_number)
    assert len(serials) == 64
    # 20 random bytes with the top bit cleared: most serials use (nearly) all 159 bits
    assert max(s.bit_length() for s in serials) >= 152


# --- validity -----------------------------------------------------------------------------------


def validity_tags(cert: cx509.Certificate) -> Tuple[int, int]:
    tag, body, _ = tbs_fields(cert)[4]
    assert tag == 0x30
    (t1, _, _), (t2, _, _) = der_children(body)
    return t1, t2


UTC_TIME, GENERALIZED_TIME = 0x17, 0x18

VALIDITY_CASES = [
    # now, CA spec "ca" block, expected notBefore, notAfter, DER time tags
    (FIXED, {"expiry": "8760h"},
     datetime(2030, 6, 15, 11, 55, tzinfo=UTC), datetime(2031, 6, 15, 11, 55, tzinfo=UTC),
     (UTC_TIME, UTC_TIME)),
    (FIXED, {"expiry": "1h30m", "backdate": "1h"},
     datetime(2030, 6, 15, 11, 0, tzinfo=UTC), datetime(2030, 6, 15, 12, 30, tzinfo=UTC),
     (UTC_TIME, UTC_TIME)),
    (datetime(2049, 12, 31, 23, 0, 59, 999_999, tzinfo=UTC), {"expiry": "2h"},
     datetime(2049, 12, 31, 22, 55, 59, tzinfo=UTC), datetime(2050, 1, 1, 0, 55, 59, tzinfo=UTC),
     (UTC_TIME, GENERALIZED_TIME)),
    (datetime(2050, 1, 1, 0, 4, 59, 999_999, tzinfo=UTC), {"expiry": "1s"},
     datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC), datetime(2050, 1, 1, 0, 0, 0, tzinfo=UTC),
     (UTC_TIME, GENERALIZED_TIME)),
    (datetime(2050, 1, 1, 0, 5, tzinfo=UTC), {"expiry": "87600h"},
     datetime(2050, 1, 1, 0, 0, tzinfo=UTC), datetime(2059, 12, 30, 0, 0, tzinfo=UTC),
     (GENERALIZED_TIME, GENERALIZED_TIME)),
    (datetime(2030, 1, 1, 8, 0, tzinfo=timezone(timedelta(hours=8))), None,  # an aware non-UTC now
     datetime(2029, 12, 31, 23, 55, tzinfo=UTC), datetime(2034, 12, 30, 23, 55, tzinfo=UTC),
     (UTC_TIME, UTC_TIME)),  # default CA expiry 43800h
]


@pytest.mark.parametrize(("now", "ca", "nb", "na", "tags"), VALIDITY_CASES)
def test_ca_validity(now: datetime, ca: Optional[Dict[str, str]], nb: datetime, na: datetime,
                     tags: Tuple[int, int], openssl: str, write: Any) -> None:
    spec: Dict[str, Any] = {"CN": "time CA"}
    if ca is not None:
        spec["ca"] = ca
    cert = load_cert(signing.create_ca(spec, now=now)["cert"])
    assert (cert.not_valid_before_utc, cert.not_valid_after_utc) == (nb, na)
    assert validity_tags(cert) == tags
    dates = run([openssl, "x509", "-noout", "-startdate", "-enddate",
                 "-in", write("c.pem", signing.create_ca(spec, now=now)["cert"])]).stdout
    assert "notBefore=%s GMT" % nb.strftime("%b %e %H:%M:%S %Y") in dates


LEAF_VALIDITY = [
    # profile, expected notBefore offset from now (floor to seconds), lifetime
    ({"usages": ["signing"], "expiry": "720h"}, -timedelta(minutes=5), 720 * HOUR),
    ({"usages": ["signing"], "expiry": "1h30m", "backdate": "0h1m"},
     -timedelta(minutes=1), timedelta(minutes=90)),
    ({"usages": ["signing"], "expiry": "36h", "backdate": "2h"}, -2 * HOUR, 36 * HOUR),
    ({"usages": ["signing"]}, -timedelta(minutes=5), 8760 * HOUR),  # cfssl's default expiry
]


@pytest.mark.parametrize(("profile", "offset", "life"), LEAF_VALIDITY)
def test_leaf_validity(profile: Dict[str, Any], offset: timedelta, life: timedelta) -> None:
    ca = signing.create_ca({"CN": "c"}, now=FIXED)
    cert = issue(ca, {"CN": "leaf"}, config={"signing": {"default": profile}},
                 now=FIXED + timedelta(seconds=30))
    nb = (FIXED + timedelta(seconds=30) + offset).replace(microsecond=0)
    assert cert.not_valid_before_utc == nb
    assert cert.not_valid_after_utc == nb + life
    assert validity_tags(cert) == (UTC_TIME, UTC_TIME)


CUT_CASES = [
    # leaf made this long after the CA, with the CA's own expiry: cut; warn only past a day
    (timedelta(minutes=1), None),
    (timedelta(hours=23, minutes=59), None),
    (timedelta(days=1, seconds=1), "profile 'same': notAfter cut to the CA's notAfter "
                                   "2031-06-15T11:55:00Z (1 day earlier)"),
    (timedelta(days=30), "profile 'same': notAfter cut to the CA's notAfter "
                         "2031-06-15T11:55:00Z (30 days earlier)"),
]


@pytest.mark.parametrize(("later", "warning"), CUT_CASES)
def test_leaf_not_after_is_cut_to_the_ca(later: timedelta, warning: Optional[str]) -> None:
    ca = signing.create_ca({"CN": "c", "ca": {"expiry": "8760h"}}, now=FIXED)
    ca_na = load_cert(ca["cert"]).not_valid_after_utc
    config = {"signing": {"profiles": {"same": {"usages": ["signing"], "expiry": "8760h"}}}}
    bundle, got = caught(lambda: signing.issue_cert(
        {"CN": "leaf"}, ca_cert=ca["cert"], ca_key=ca["key"], config=config, profile="same",
        now=FIXED + later))
    assert load_cert(bundle["cert"]).not_valid_after_utc == ca_na
    assert got == ([warning] if warning else [])


def test_leaf_inside_the_ca_is_not_cut_and_does_not_warn() -> None:
    ca = signing.create_ca({"CN": "c", "ca": {"expiry": "8760h"}}, now=FIXED)
    bundle, got = caught(lambda: signing.issue_cert(
        {"CN": "leaf"}, ca_cert=ca["cert"], ca_key=ca["key"],
        config={"signing": {"default": {"usages": ["signing"], "expiry": "8759h"}}}, now=FIXED))
    assert got == []
    cert = load_cert(bundle["cert"])
    assert cert.not_valid_after_utc == cert.not_valid_before_utc + 8759 * HOUR


# --- key usages ---------------------------------------------------------------------------------

KU_ATTRS = {
    "signing": "digital_signature",
    "digital signature": "digital_signature",
    "content commitment": "content_commitment",
    "key encipherment": "key_encipherment",
    "key agreement": "key_agreement",
    "data encipherment": "data_encipherment",
    "cert sign": "key_cert_sign",
    "crl sign": "crl_sign",
}
EKU_OIDS = {
    "any": ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,
    "server auth": ExtendedKeyUsageOID.SERVER_AUTH,
    "client auth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "code signing": ExtendedKeyUsageOID.CODE_SIGNING,
    "email protection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "s/mime": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "ipsec end system": ObjectIdentifier("1.3.6.1.5.5.7.3.5"),
    "ipsec tunnel": ObjectIdentifier("1.3.6.1.5.5.7.3.6"),
    "ipsec user": ObjectIdentifier("1.3.6.1.5.5.7.3.7"),
    "timestamping": ExtendedKeyUsageOID.TIME_STAMPING,
    "ocsp signing": ExtendedKeyUsageOID.OCSP_SIGNING,
    "microsoft sgc": ObjectIdentifier("1.3.6.1.4.1.311.10.3.3"),
    "netscape sgc": ObjectIdentifier("2.16.840.1.113730.4.1"),
}
ALL_KU = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
          "key_agreement", "key_cert_sign", "crl_sign")


def ku_bits(cert: cx509.Certificate) -> List[str]:
    ku = ext(cert, ExtensionOID.KEY_USAGE)
    assert ku.critical
    return [name for name in ALL_KU if getattr(ku.value, name)]


@pytest.mark.parametrize("usage", sorted(KU_ATTRS))
def test_key_usage_names(rsa_chapter: Chapter, usage: str) -> None:
    # RSA leaf, so "key encipherment" stays
    cert = issue(rsa_chapter.ca, {"CN": "u", "key": {"algo": "rsa", "size": 2048}}
                 if usage == "key encipherment" else {"CN": "u"},
                 config={"signing": {"default": {"usages": [usage]}}})
    assert ku_bits(cert) == [KU_ATTRS[usage]]
    with pytest.raises(cx509.ExtensionNotFound):
        ext(cert, ExtensionOID.EXTENDED_KEY_USAGE)
    assert ext(cert, ExtensionOID.BASIC_CONSTRAINTS).value.ca is False


@pytest.mark.parametrize(("usage", "attr"), [("encipher only", "encipher_only"),
                                             ("decipher only", "decipher_only")])
def test_key_agreement_modifiers(rsa_chapter: Chapter, usage: str, attr: str) -> None:
    cert = issue(rsa_chapter.ca, {"CN": "u"},
                 config={"signing": {"default": {"usages": ["key agreement", usage]}}})
    ku = ext(cert, ExtensionOID.KEY_USAGE).value
    assert ku.key_agreement and getattr(ku, attr)


@pytest.mark.parametrize("usage", sorted(EKU_OIDS))
def test_ext_key_usage_names(rsa_chapter: Chapter, usage: str) -> None:
    cert = issue(rsa_chapter.ca, {"CN": "u"},
                 config={"signing": {"default": {"usages": ["signing", usage]}}})
    eku = ext(cert, ExtensionOID.EXTENDED_KEY_USAGE)
    assert not eku.critical
    assert list(eku.value) == [EKU_OIDS[usage]]
    assert ku_bits(cert) == ["digital_signature"]


def test_usages_keep_order_and_drop_duplicates(rsa_chapter: Chapter) -> None:
    usages = ["client auth", "signing", "server auth", "digital signature", "client auth",
              "email protection", "s/mime"]
    cert = issue(rsa_chapter.ca, {"CN": "u"}, config={"signing": {"default": {"usages": usages}}})
    assert list(ext(cert, ExtensionOID.EXTENDED_KEY_USAGE).value) == [
        ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH,
        ExtendedKeyUsageOID.EMAIL_PROTECTION]
    assert ku_bits(cert) == ["digital_signature"]


def test_ecdsa_leaf_drops_key_encipherment_with_a_warning(ec_ca: Dict[str, str]) -> None:
    config = {"signing": {"profiles": {"web": {"usages": ["signing", "key encipherment",
                                                          "server auth"]}}}}
    bundle, got = caught(lambda: signing.issue_cert({"CN": "w"}, ca_cert=ec_ca["cert"],
                                                    ca_key=ec_ca["key"], config=config,
                                                    profile="web"))
    assert got == ["profile 'web': 'key encipherment' dropped for an ECDSA key (RFC 8813)"]
    assert ku_bits(load_cert(bundle["cert"])) == ["digital_signature"]
    # an RSA leaf from the same ECDSA CA keeps it and does not warn
    bundle, got = caught(lambda: signing.issue_cert(
        {"CN": "w", "key": {"algo": "rsa", "size": 2048}}, ca_cert=ec_ca["cert"],
        ca_key=ec_ca["key"], config=config, profile="web"))
    assert got == []
    assert ku_bits(load_cert(bundle["cert"])) == ["digital_signature", "key_encipherment"]


def test_no_config_is_cfssl_builtin_default(rsa_chapter: Chapter) -> None:
    bundle = signing.issue_cert({"CN": "d", "key": {"algo": "rsa", "size": 2048}},
                                ca_cert=rsa_chapter.ca["cert"], ca_key=rsa_chapter.ca["key"])
    cert = load_cert(bundle["cert"])
    assert ku_bits(cert) == ["digital_signature", "key_encipherment"]
    assert list(ext(cert, ExtensionOID.EXTENDED_KEY_USAGE).value) == [
        ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == 8760 * HOUR


# --- CA basic constraints -----------------------------------------------------------------------

CA_PATHLEN = [
    # the "ca" block, expected pathLenConstraint (cfssl: pathlen 0 alone means "no limit")
    (None, None),
    ({}, None),
    ({"pathlen": 2}, 2),
    ({"pathlen": 0}, None),
    ({"pathlenzero": True}, 0),
    ({"pathlen": 0, "pathlenzero": True}, 0),
    ({"PathLen": 1, "expiry": "1000h"}, 1),
]


@pytest.mark.parametrize(("ca", "pathlen"), CA_PATHLEN)
def test_ca_pathlen(ca: Optional[Dict[str, Any]], pathlen: Optional[int]) -> None:
    spec: Dict[str, Any] = {"CN": "p"}
    if ca is not None:
        spec["ca"] = ca
    cert = load_cert(signing.create_ca(spec)["cert"])
    bc = ext(cert, ExtensionOID.BASIC_CONSTRAINTS)
    assert bc.critical and bc.value.ca and bc.value.path_length == pathlen


# --- signature algorithms -----------------------------------------------------------------------

SIGALGS = [
    # CA key, the AlgorithmIdentifier's exact DER (RSA: NULL parameters; ECDSA: none)
    (("rsa", 2048), "300d06092a864886f70d01010b0500", "sha256"),
    (("rsa", 3072), "300d06092a864886f70d01010c0500", "sha384"),
    (("rsa", 4096), "300d06092a864886f70d01010d0500", "sha512"),
    (("ecdsa", 256), "300a06082a8648ce3d040302", "sha256"),
    (("ecdsa", 384), "300a06082a8648ce3d040303", "sha384"),
    (("ecdsa", 521), "300a06082a8648ce3d040304", "sha512"),
]


def outer_sigalg(der: bytes) -> bytes:
    _, body, _ = der_read(der)
    return der_children(body)[1][2]


@pytest.mark.parametrize(("key", "alg_hex", "hash_name"), SIGALGS)
def test_signature_algorithm_by_ca_key(ca_of: Callable[[str, int], Dict[str, str]],
                                       key: Tuple[str, int], alg_hex: str,
                                       hash_name: str) -> None:
    ca = ca_of(*key)
    want = bytes.fromhex(alg_hex)
    ca_cert = load_cert(ca["cert"])
    for cert in (ca_cert, issue(ca, {"CN": "leaf"})):
        assert tbs_fields(cert)[2][2] == want
        assert outer_sigalg(cert.public_bytes(Encoding.DER)) == want
        assert cert.signature_hash_algorithm is not None
        assert cert.signature_hash_algorithm.name == hash_name
        cert.verify_directly_issued_by(ca_cert)
    public = ca_cert.public_key()
    if key[0] == "rsa":
        assert isinstance(public, rsa.RSAPublicKey) and public.key_size == key[1]
    else:
        assert isinstance(public, ec.EllipticCurvePublicKey) and public.curve.key_size == key[1]


@pytest.mark.parametrize(("key", "alg_hex", "hash_name"), SIGALGS)
def test_csr_signature_algorithm_by_own_key(ca_of: Callable[[str, int], Dict[str, str]],
                                            key: Tuple[str, int], alg_hex: str,
                                            hash_name: str) -> None:
    request = cx509.load_pem_x509_csr(ca_of(*key)["csr"].encode())
    assert request.is_signature_valid
    assert outer_sigalg(request.public_bytes(Encoding.DER)) == bytes.fromhex(alg_hex)


# --- keys ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("key", "label"), [
    (("rsa", 2048), "RSA PRIVATE KEY"), (("rsa", 3072), "RSA PRIVATE KEY"),
    (("ecdsa", 256), "EC PRIVATE KEY"), (("ecdsa", 384), "EC PRIVATE KEY"),
    (("ecdsa", 521), "EC PRIVATE KEY")])
def test_key_pem_types_and_match(ca_of: Callable[[str, int], Dict[str, str]],
                                 key: Tuple[str, int], label: str) -> None:
    ca = ca_of(*key)
    pem = ca["key"]
    assert pem.startswith("-----BEGIN %s-----\n" % label)
    assert pem.rstrip("\n").endswith("-----END %s-----" % label)
    private = load_pem_private_key(pem.encode(), password=None)
    public = load_cert(ca["cert"]).public_key()
    assert private.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo) \
        == public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    der = private.private_bytes(Encoding.DER, PrivateFormat.TraditionalOpenSSL, NoEncryption())
    body = "".join(pem.strip().splitlines()[1:-1])
    assert base64.b64decode(body) == der  # PKCS#1 / SEC1 exactly as OpenSSL writes it


# --- errors where cfssl is silent ---------------------------------------------------------

CONFIG = seed("ca-config.json")


def _leaf_of(chapter: Chapter) -> Dict[str, str]:
    return chapter.leaves["admin"]


ISSUE_ERRORS = [
    # name, kwargs builder (chapter, other CA) -> issue_cert kwargs, error type, exact message
    ("unknown profile",
     lambda c, o: {"config": CONFIG, "profile": "kubernets"}, SigningConfigError,
     "profile 'kubernets' is not in the signing config; did you mean 'kubernetes'? "
     "(profiles: kubernetes)"),
    ("unknown profile, no close match",
     lambda c, o: {"config": CONFIG, "profile": "etcd"}, SigningConfigError,
     "profile 'etcd' is not in the signing config (profiles: kubernetes)"),
    ("the chapter's default has no usages",
     lambda c, o: {"config": CONFIG, "profile": None}, SigningConfigError,
     "profile 'default' has no usages; choose one with -profile (profiles: kubernetes)"),
    ("a profile with no usages and no others",
     lambda c, o: {"config": {"signing": {"default": {"expiry": "1h"}}}, "profile": None},
     SigningConfigError,
     "profile 'default' has no usages; add usages to it (profiles: none)"),
    ("not a CA",
     lambda c, o: {"ca_cert": _leaf_of(c)["cert"], "ca_key": _leaf_of(c)["key"]}, SigningError,
     "ca_cert: 'CN=admin' is not a CA certificate (no basicConstraints CA:TRUE); "
     "sign with the CA's certificate"),
    ("key of another CA",
     lambda c, o: {"ca_key": o["key"]}, SigningError,
     "ca_key does not match ca_cert (their public keys differ); pass the CA's own key"),
    ("expired CA",
     lambda c, o: {"now": c.ca_now + 87600 * HOUR}, SigningError,
     "ca_cert: 'CN=kubernetes' expired on %s; renew the CA first"),
    ("cert and key swapped",
     lambda c, o: {"ca_cert": c.ca["key"], "ca_key": c.ca["cert"]}, None, None),
]


@pytest.mark.parametrize(("name", "build", "error", "message"), ISSUE_ERRORS,
                         ids=[c[0] for c in ISSUE_ERRORS])
def test_issue_errors(rsa_chapter: Chapter, other_ca: Dict[str, str], name: str,
                      build: Callable[[Chapter, Dict[str, str]], Dict[str, Any]],
                      error: Any, message: Optional[str]) -> None:
    kwargs: Dict[str, Any] = {"ca_cert": rsa_chapter.ca["cert"], "ca_key": rsa_chapter.ca["key"],
                              "config": CONFIG, "profile": "kubernetes"}
    kwargs.update(build(rsa_chapter, other_ca))
    if error is None:  # swapped PEMs: a PEMError naming the argument
        from kpkilite.errors import PEMError
        with pytest.raises(PEMError, match=r"^ca_cert: "):
            signing.issue_cert({"CN": "x"}, **kwargs)
        return
    if "%s" in message:
        ca_na = rsa_chapter.cert("ca").not_valid_after_utc
        message = message % ca_na.strftime("%Y-%m-%dT%H:%M:%SZ")
    with pytest.raises(error) as info:
        signing.issue_cert({"CN": "x"}, **kwargs)
    assert str(info.value) == message
    # sign_csr refuses the same way
    from kpkilite import csr
    request = csr.generate_csr({"CN": "x"})["csr"]
    with pytest.raises(error) as info:
        signing.sign_csr(request, **kwargs)
    assert str(info.value) == message


def test_ca_block_outside_initca(rsa_chapter: Chapter) -> None:
    with pytest.raises(CSRSpecError) as info:
        signing.issue_cert(seed("ca-csr.json"), ca_cert=rsa_chapter.ca["cert"],
                           ca_key=rsa_chapter.ca["key"], config=CONFIG, profile="kubernetes")
    assert str(info.value) == ('ca: a "ca" block only applies to a new CA (gencert -initca); '
                               "remove it, or sign with a profile that has ca_constraint")


CONFIG_ERRORS = [
    ({"usages": ["server auht"]},
     "signing.default.usages[0]: unknown usage 'server auht'; did you mean 'server auth'?"),
    ({"usages": ["signing", "key encypherment"]},
     "signing.default.usages[1]: unknown usage 'key encypherment'; "
     "did you mean 'key encipherment'?"),
    ({"usages": ["Server Auth"]},
     "signing.default.usages[0]: unknown usage 'Server Auth'; did you mean 'server auth'?"),
    ({"usages": ["frobnicate"]}, "signing.default.usages[0]: unknown usage 'frobnicate'"),
    ({"usages": "signing"},
     'signing.default.usages: expected a list of strings, got a string; write ["signing"]'),
    ({"usages": ["signing"], "expiry": "-1h"},
     "signing.default.expiry: '-1h' must be a positive duration"),
    ({"usages": ["signing"], "expiry": "0s"},
     "signing.default.expiry: '0s' must be a positive duration"),
    ({"usages": ["signing"], "expiry": "0"},
     "signing.default.expiry: '0' must be a positive duration"),
    ({"usages": ["signing"], "expiry": "365d"},
     "signing.default.expiry: unknown unit 'd' in duration '365d' (Go durations have no 'd' "
     "unit; use hours, e.g. 87600h for 10 years)"),
    ({"usages": ["signing"], "expiry": "10y"},
     "signing.default.expiry: unknown unit 'y' in duration '10y' (Go durations have no 'y' "
     "unit; use hours, e.g. 87600h for 10 years)"),
    ({"usages": ["signing"], "expiry": 8760},
     'signing.default.expiry: expected a Go duration string such as "8760h", got a number 8760'),
    ({"usages": ["cert sign"], "ca_constraint": {"is_ca": True, "max_path_len": -1}},
     "signing.default.ca_constraint.max_path_len: -1 is negative"),
]


@pytest.mark.parametrize(("profile", "message"), CONFIG_ERRORS)
def test_signing_config_errors(profile: Dict[str, Any], message: str) -> None:
    with pytest.raises(SigningConfigError) as info:
        signing.parse_signing_config({"signing": {"default": profile}})
    assert str(info.value) == message
    # the same profile under "profiles" names its own path
    with pytest.raises(SigningConfigError) as info:
        signing.parse_signing_config({"signing": {"profiles": {"web": profile}}})
    assert str(info.value) == message.replace("signing.default", "signing.profiles.web")


def test_signing_config_accepts_go_durations() -> None:
    profiles = signing.parse_signing_config(
        {"signing": {"default": {"usages": ["signing"], "expiry": "1h30m", "backdate": "90s"}}})
    assert profiles["default"].expiry == 90 * 60 * 10**9
    assert profiles["default"].backdate == 90 * 10**9


def test_unknown_profile_key_warns_with_the_closest() -> None:
    _, got = caught(lambda: signing.parse_signing_config(
        {"signing": {"default": {"usage": ["signing"]}}}))
    assert got == ["signing.default: unknown key 'usage' is ignored; did you mean 'usages'?"]


# --- intermediate CAs (ca_constraint) -------------------------------------------------------

INTERMEDIATE = {"usages": ["cert sign", "crl sign"], "expiry": "8760h"}


def _config(constraint: Dict[str, Any]) -> Dict[str, Any]:
    return {"signing": {"default": {"usages": ["signing", "server auth"], "expiry": "720h"},
                        "profiles": {"intermediate": dict(INTERMEDIATE,
                                                          ca_constraint=constraint)}}}


PATHLEN_RULES = [
    # root's "ca" block, profile ca_constraint, expected intermediate pathlen or error
    ({}, {"is_ca": True}, None),
    ({}, {"is_ca": True, "max_path_len": 3}, 3),
    ({"pathlen": 2}, {"is_ca": True, "max_path_len": 1}, 1),
    ({"pathlen": 1}, {"is_ca": True, "max_path_len_zero": True}, 0),
    ({"pathlen": 1}, {"is_ca": True, "max_path_len": 0, "max_path_len_zero": True}, 0),
    ({"pathlen": 1}, {"is_ca": True},
     "profile 'intermediate': the new CA needs max_path_len below the issuer's pathlen 1"),
    ({"pathlen": 2}, {"is_ca": True, "max_path_len": 2},
     "profile 'intermediate': the new CA needs max_path_len below the issuer's pathlen 2"),
    ({"pathlenzero": True}, {"is_ca": True, "max_path_len_zero": True},
     "ca_cert has pathlen 0: it cannot issue CA certificates (profile 'intermediate' has "
     "ca_constraint.is_ca)"),
]


@pytest.mark.parametrize(("root_ca", "constraint", "want"), PATHLEN_RULES)
def test_intermediate_path_length_rules(root_ca: Dict[str, Any], constraint: Dict[str, Any],
                                        want: Any) -> None:
    root = signing.create_ca({"CN": "root", "ca": root_ca})
    config = _config(constraint)
    if isinstance(want, str):
        with pytest.raises(SigningError) as info:
            signing.issue_cert({"CN": "inter"}, ca_cert=root["cert"], ca_key=root["key"],
                               config=config, profile="intermediate")
        assert str(info.value) == want
        return
    inter = issue(root, {"CN": "inter"}, config=config, profile="intermediate")
    bc = ext(inter, ExtensionOID.BASIC_CONSTRAINTS)
    assert bc.critical and bc.value.ca is True and bc.value.path_length == want
    assert ku_bits(inter) == ["key_cert_sign", "crl_sign"]
    inter.verify_directly_issued_by(load_cert(root["cert"]))


def test_intermediate_chain_verifies_with_openssl(openssl: str, write: Any) -> None:
    root = signing.create_ca({"CN": "root", "names": [{"O": "kpkilite"}], "ca": {"pathlen": 2}})
    one = signing.issue_cert({"CN": "inter 1"}, ca_cert=root["cert"], ca_key=root["key"],
                             config=_config({"is_ca": True, "max_path_len": 1}),
                             profile="intermediate")
    two = signing.issue_cert({"CN": "inter 2"}, ca_cert=one["cert"], ca_key=one["key"],
                             config=_config({"is_ca": True, "max_path_len_zero": True}),
                             profile="intermediate")
    leaf = signing.issue_cert({"CN": "leaf", "hosts": ["leaf.example"]}, ca_cert=two["cert"],
                              ca_key=two["key"], config=_config({}))
    root_p, one_p, two_p = write("root.pem", root["cert"]), write("1.pem", one["cert"]), \
        write("2.pem", two["cert"])
    # three levels: root -> inter 1 -> leaf
    leaf1 = signing.issue_cert({"CN": "leaf1"}, ca_cert=one["cert"], ca_key=one["key"],
                               config=_config({}))
    leaf1_p = write("leaf1.pem", leaf1["cert"])
    out = run([openssl, "verify", "-x509_strict", "-CAfile", root_p, "-untrusted", one_p,
               leaf1_p]).stdout
    assert out.strip() == "%s: OK" % leaf1_p
    # four levels
    write("chain.pem", one["cert"] + two["cert"])
    leaf_p = write("leaf.pem", leaf["cert"])
    out = run([openssl, "verify", "-x509_strict", "-CAfile", root_p, "-untrusted",
               write("chain.pem", one["cert"] + two["cert"]), leaf_p]).stdout
    assert out.strip() == "%s: OK" % leaf_p
    # and a further CA under the pathlen-0 intermediate is refused
    with pytest.raises(SigningError) as info:
        signing.issue_cert({"CN": "inter 3"}, ca_cert=two["cert"], ca_key=two["key"],
                           config=_config({"is_ca": True}), profile="intermediate")
    assert str(info.value).startswith("ca_cert has pathlen 0")
    assert two_p  # written for the chain above


# --- property: any config document gives profiles or a typed error ------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**6) | st.floats(allow_nan=False)
    | st.sampled_from(["", "1h", "87600h", "-1h", "0s", "1d", "1h30m", "signing", "server auth",
                       "key encipherment", "cert sign", "x", "1.5h", "9999999999999h"])
    | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["usages", "expiry", "backdate", "ca_constraint", "is_ca",
                                       "max_path_len", "max_path_len_zero", "default", "profiles",
                                       "signing", "Usages", "EXPIRY", "k"]) | st.text(max_size=5),
                      children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=st.one_of(_json, st.fixed_dictionaries({"signing": _json}),
                     st.fixed_dictionaries({"signing": st.fixed_dictionaries(
                         {"default": _json, "profiles": st.dictionaries(st.text(max_size=4),
                                                                        _json, max_size=3)})})))
def test_parse_signing_config_gives_profiles_or_a_typed_error(doc: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", KpkiliteWarning)
        try:
            profiles = signing.parse_signing_config(doc)
        except (SigningConfigError, TypeError):
            return
    assert "default" in profiles
    for profile in profiles.values():
        assert profile.expiry > 0 and profile.backdate > 0
        assert all(isinstance(u, str) for u in profile.usages)


# --- loaded CAs are reused ---------------------------------------------------------------


def test_a_ca_is_loaded_once_per_inputs_and_still_checked_for_expiry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from datetime import datetime, timedelta, timezone

    from kpkilite import _crypto
    from kpkilite.errors import SigningError

    now = datetime(2030, 1, 1, tzinfo=timezone.utc)
    ca = signing.create_ca({"CN": "cache CA", "ca": {"expiry": "48h"}}, now=now)
    loads: List[int] = []
    real = _crypto.load_private_key

    def counting(data: Any) -> Any:
        loads.append(1)
        return real(data)

    monkeypatch.setattr(_crypto, "load_private_key", counting)
    config = {"signing": {"default": {"usages": ["signing", "client auth"], "expiry": "1h"}}}
    for _ in range(3):
        signing.issue_cert({"CN": "leaf"}, ca_cert=ca["cert"], ca_key=ca["key"],
                           config=config, now=now)
    assert len(loads) == 1
    # The same CA given as bytes is another input: loaded (and checked) again.
    signing.issue_cert({"CN": "leaf"}, ca_cert=ca["cert"].encode(), ca_key=ca["key"].encode(),
                       config=config, now=now)
    assert len(loads) == 2
    # A cached CA still expires.
    with pytest.raises(SigningError, match="expired on"):
        signing.issue_cert({"CN": "leaf"}, ca_cert=ca["cert"], ca_key=ca["key"],
                           config=config, now=now + timedelta(days=3))


def test_the_ca_cache_is_bounded() -> None:
    assert signing._ISSUERS_MAX == 4
    for i in range(6):
        ca = signing.create_ca({"CN": "bounded %d" % i})
        signing.sign_csr(_small_csr(), ca_cert=ca["cert"], ca_key=ca["key"],
                         config={"signing": {"default": {"usages": ["client auth"],
                                                         "expiry": "1h"}}})
    assert len(signing._ISSUERS) <= signing._ISSUERS_MAX


def _small_csr() -> str:
    from kpkilite import csr

    return csr.generate_csr({"CN": "small"})["csr"]


def test_a_ca_profile_without_cert_sign_is_refused_when_read() -> None:
    from kpkilite.errors import SigningConfigError

    config = {"signing": {"profiles": {"sub": {
        "usages": ["signing", "crl sign"], "expiry": "1h", "ca_constraint": {"is_ca": True}}}}}
    with pytest.raises(SigningConfigError) as info:
        signing.parse_signing_config(config)
    assert str(info.value) == (
        'signing.profiles.sub.usages: a profile with ca_constraint.is_ca needs "cert sign" '
        "(a CA that may not sign is refused as an issuer)")


def test_a_new_ca_asks_for_its_hosts_in_the_csr_but_its_certificate_has_none() -> None:
    # cfssl 1.2 does the same (checked with `cfssl gencert -initca` on print-defaults csr)
    from cryptography import x509 as cx509

    ca = signing.create_ca({"CN": "example.net", "hosts": ["example.net", "www.example.net"]})
    cert = cx509.load_pem_x509_certificate(ca["cert"].encode())
    with pytest.raises(cx509.ExtensionNotFound):
        cert.extensions.get_extension_for_class(cx509.SubjectAlternativeName)
    request = cx509.load_pem_x509_csr(ca["csr"].encode())
    sans = request.extensions.get_extension_for_class(cx509.SubjectAlternativeName).value
    assert sans.get_values_for_type(cx509.DNSName) == ["example.net", "www.example.net"]


def test_warnings_point_at_the_callers_line() -> None:
    from kpkilite.errors import KpkiliteWarning

    with pytest.warns(KpkiliteWarning) as record:
        signing.parse_signing_config({"signing": {"default": {"expiry": "1h", "usage": []}}})
    assert [w.filename for w in record] == [__file__]


# --- times outside UTCTime's and GeneralizedTime's ranges ----------------------------------


@pytest.mark.parametrize("moment, tag, text", [
    (datetime(1949, 12, 31, 23, 59, 59, tzinfo=UTC), 0x18, b"19491231235959Z"),
    (datetime(1950, 1, 1, tzinfo=UTC), 0x17, b"500101000000Z"),
    (datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC), 0x17, b"491231235959Z"),
    (datetime(2050, 1, 1, tzinfo=UTC), 0x18, b"20500101000000Z"),
    (datetime(1, 1, 1, tzinfo=UTC), 0x18, b"00010101000000Z"),
    (datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC), 0x18, b"99991231235959Z"),
])
def test_time_der_uses_utctime_only_for_1950_to_2049(moment: datetime, tag: int,
                                                     text: bytes) -> None:
    from kpkilite._asn1 import time_der

    assert time_der(moment) == bytes([tag, len(text)]) + text


def test_a_ca_made_in_1949_says_1949() -> None:
    cert = load_cert(signing.create_ca({"CN": "old"},
                                       now=datetime(1949, 6, 1, tzinfo=UTC))["cert"])
    assert cert.not_valid_before_utc == datetime(1949, 5, 31, 23, 55, tzinfo=UTC)
    assert cert.not_valid_after_utc == datetime(1954, 5, 30, 23, 55, tzinfo=UTC)


def test_a_backdate_into_the_1940s_says_the_1940s(ec_ca: Dict[str, str]) -> None:
    config = {"signing": {"default": {"usages": ["signing"], "backdate": "700000h"}}}
    now = datetime.now(UTC).replace(microsecond=0)  # inside the session CA's validity
    cert = load_cert(signing.issue_cert({"CN": "x"}, ca_cert=ec_ca["cert"], ca_key=ec_ca["key"],
                                        config=config, now=now)["cert"])
    assert cert.not_valid_before_utc == now - timedelta(hours=700000)
    assert 1946 <= cert.not_valid_before_utc.year <= 1949  # 79.9 years before now, not 20xx


@pytest.mark.parametrize("call, error, message", [
    (lambda ca: signing.create_ca({"CN": "x"}, now=datetime(9999, 12, 1, tzinfo=UTC)),
     CSRSpecError, "ca.expiry: 43800h0m0s after 9999-11-30T23:55:00Z is after the year 9999, "
     "which no certificate can hold"),
    (lambda ca: signing.create_ca({"CN": "x"}, now=datetime(1, 1, 1, 0, 1, tzinfo=UTC)),
     CSRSpecError, "ca.backdate: 5m0s before 0001-01-01T00:01:00Z is before the year 1, which "
     "no certificate can hold"),
    (lambda ca: signing.create_ca({"CN": "x", "ca": {"backdate": "2000000h"}},
                                  now=datetime(200, 1, 1, tzinfo=UTC)),
     CSRSpecError, "ca.backdate: 2000000h0m0s before 0200-01-01T00:00:00Z is before the year 1, "
     "which no certificate can hold"),
    (lambda ca: signing.issue_cert({"CN": "x"}, ca_cert=ca["cert"], ca_key=ca["key"],
                                   config={"signing": {"default": {"usages": ["signing"],
                                                                   "expiry": "1000000h"}}},
                                   now=datetime(9900, 1, 1, tzinfo=UTC)),
     SigningConfigError, "signing.default.expiry: 1000000h0m0s after "
     "9899-12-31T23:55:00Z is after the year 9999, which no certificate can hold"),
    (lambda ca: signing.sign_csr(ca["csr"], ca_cert=ca["cert"], ca_key=ca["key"],
                                 config={"signing": {"default": {
                                     "usages": ["cert sign"], "backdate": "1000h",
                                     "ca_constraint": {"is_ca": True}}}},
                                 now=datetime(1, 1, 2, tzinfo=UTC)),
     SigningConfigError, "signing.default.backdate: 1000h0m0s before 0001-01-02T00:00:00Z "
     "is before the year 1, which no certificate can hold"),
])
def test_validity_outside_years_1_to_9999_is_a_typed_error(
        call: Callable[[Dict[str, str]], Any], error: type, message: str,
        ec_ca: Dict[str, str]) -> None:
    with pytest.raises(error) as info:
        call(ec_ca)
    assert type(info.value) is error
    assert str(info.value) == message


# --- wrong Python types ------------------------------------------------------------------


@pytest.mark.parametrize("call, message", [
    (lambda ca: signing.issue_cert({"CN": "x"}, ca_cert=ca["cert"], ca_key=ca["key"],
                                   profile=5),  # type: ignore[arg-type]
     "profile must be a str or None, not int"),
    (lambda ca: signing.sign_csr(ca["csr"], ca_cert=ca["cert"], ca_key=ca["key"],
                                 hosts=[1]),  # type: ignore[list-item]
     "hosts must be a sequence of str, not holding int"),
    (lambda ca: signing.sign_csr(ca["csr"], ca_cert=ca["cert"], ca_key=ca["key"],
                                 hosts=5),  # type: ignore[arg-type]
     "hosts must be a sequence of str, not int"),
    (lambda ca: signing.issue_cert({"CN": "x"}, ca_cert=5, ca_key=ca["key"]),  # type: ignore
     "ca_cert must be PEM str or bytes, not int"),
])
def test_wrong_python_types_are_type_errors(call: Callable[[Dict[str, str]], Any],
                                            message: str, ec_ca: Dict[str, str]) -> None:
    with pytest.raises(TypeError) as info:
        call(ec_ca)
    assert type(info.value) is TypeError
    assert str(info.value) == message


# --- corrupt CA certificates -------------------------------------------------------------


def _ca_der(ca: Dict[str, str]) -> bytes:
    return base64.b64decode("".join(ca["cert"].strip().splitlines()[1:-1]))


def test_a_corrupt_basic_constraints_is_one_pem_error_line(ec_ca: Dict[str, str]) -> None:
    der = _ca_der(ec_ca).replace(b"\x30\x03\x01\x01\xff", b"\x30\x03\x01\x80\xff")
    for call in (lambda: signing.issue_cert({"CN": "x"}, ca_cert=der, ca_key=ec_ca["key"]),
                 lambda: signing.sign_csr(ec_ca["csr"], ca_cert=der, ca_key=ec_ca["key"],
                                          config={"signing": {"default": {
                                              "usages": ["cert sign"],
                                              "ca_constraint": {"is_ca": True}}}})):
        with pytest.raises(PEMError) as info:
            call()
        assert str(info.value) == ("ca_cert: expected a certificate, found invalid DER: "
                                   "indefinite-length element must be constructed")


def test_a_certificate_given_as_csr_is_named(ec_ca: Dict[str, str]) -> None:
    with pytest.raises(PEMError) as info:
        signing.sign_csr(_ca_der(ec_ca), ca_cert=ec_ca["cert"], ca_key=ec_ca["key"])
    assert str(info.value) == "csr: expected a certificate request, found CERTIFICATE DER"


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_mutated_ca_certificates_raise_only_kpkilite_errors(
        data: st.DataObject, ec_ca: Dict[str, str]) -> None:
    """Any byte of the CA's DER changed, dropped or inserted: a result or a kpkilite error
    whose message is one line, from issue_cert and sign_csr alike."""
    der = bytearray(_ca_der(ec_ca))
    der = bytearray(mutate(bytes(der), data))
    mutated = bytes(der)
    config = {"signing": {"default": {"usages": ["cert sign"], "expiry": "1h",
                                      "ca_constraint": {"is_ca": True}}}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", KpkiliteWarning)
        for call in (lambda: signing.issue_cert({"CN": "x"}, ca_cert=mutated, ca_key=ec_ca["key"],
                                                config=config),
                     lambda: signing.sign_csr(ec_ca["csr"], ca_cert=mutated, ca_key=ec_ca["key"],
                                              config=config)):
            try:
                call()
            except KpkiliteError as exc:
                assert "\n" not in str(exc)
                assert "asn1crypto" not in str(exc)


def test_signing_with_a_ca_that_is_not_yet_valid_warns() -> None:
    from datetime import datetime, timedelta, timezone

    from kpkilite.errors import KpkiliteWarning

    later = datetime(2040, 1, 1, tzinfo=timezone.utc)
    ca = signing.create_ca({"CN": "future CA"}, now=later)
    config = {"signing": {"default": {"usages": ["client auth"], "expiry": "1h"}}}
    with pytest.warns(KpkiliteWarning) as record:
        signing.issue_cert({"CN": "early"}, ca_cert=ca["cert"], ca_key=ca["key"], config=config,
                           now=later - timedelta(days=1))
    assert [str(w.message) for w in record] == [
        "ca_cert: 'CN=future CA' is not valid until 2039-12-31T23:55:00Z; what it signs now "
        "does not verify before then (is this machine's clock right?)"]
