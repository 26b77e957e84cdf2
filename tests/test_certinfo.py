"""kpkilite.certinfo: golden cfssl outputs, independent oracles, errors, properties.

Oracles: real cfssl 1.2 JSON (``../shared/reference`` and live ``cfssl certinfo``
runs on certificates made here with the ``cryptography`` package), and
``cryptography``'s own parse of the same fields.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import pathlib
import shutil
import subprocess
import sys
from typing import Any, Callable

import pytest
from _helpers import mutate
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpkilite import certinfo
from kpkilite._pem import first_pem
from kpkilite.certinfo import inspect_cert, inspect_csr, is_issued_by, key_matches_cert, time_left
from kpkilite.errors import BackendError, PEMError

ROOT = pathlib.Path(__file__).resolve().parents[1]
REFERENCE = ROOT.parent / "shared" / "reference"
if not REFERENCE.is_dir():  # CI layout: ../shared next to the checkout
    REFERENCE = pathlib.Path("/work/shared/reference")
CFSSL_OUT = REFERENCE / "cfssl-output"
GOLDEN = sorted(p.stem[len("certinfo-") :] for p in REFERENCE.glob("certinfo-*.json"))
GOLDEN_CERTS = [name for name in GOLDEN if not name.startswith("csr-")]
CFSSL = shutil.which("cfssl")
needs_cfssl = pytest.mark.skipif(CFSSL is None, reason="real cfssl is not installed")


def _backend_ok() -> bool:
    try:
        from kpkilite import _crypto

        return bool(_crypto.backend_available())
    except Exception:
        return False


needs_backend = pytest.mark.skipif(not _backend_ok(), reason="libcrypto backend unavailable")


def read(name: str) -> str:
    return (CFSSL_OUT / name).read_text()


def der_of(pem: str) -> bytes:
    return first_pem(pem, ["CERTIFICATE"])


# --- certificate factory (cryptography = the independent oracle) -------------

SHA256 = hashes.SHA256()
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
EC384_KEY = ec.generate_private_key(ec.SECP384R1())


def name(*pairs: tuple[Any, str]) -> cx509.Name:
    return cx509.Name([cx509.NameAttribute(oid, value) for oid, value in pairs])


def make_cert(
    *,
    subject: cx509.Name | None = None,
    issuer: cx509.Name | None = None,
    key: Any = EC_KEY,
    signer: Any = None,
    sans: list[cx509.GeneralName] | None = None,
    key_ids: bool = True,
    ski: bytes | None = None,
    serial: int = 0x0123456789ABCDEF,
    not_before: datetime.datetime = datetime.datetime(2024, 1, 2, 3, 4, 5),
    not_after: datetime.datetime = datetime.datetime(2034, 1, 2, 3, 4, 5),
    hash_alg: Any = SHA256,
    pss: bool = False,
    ca: bool = False,
) -> cx509.Certificate:
    subject = subject if subject is not None else name((NameOID.COMMON_NAME, "leaf"))
    signer = signer if signer is not None else key
    issuer = issuer if issuer is not None else subject
    builder = (
        cx509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    if sans:
        builder = builder.add_extension(cx509.SubjectAlternativeName(sans), critical=False)
    if ca:
        builder = builder.add_extension(cx509.BasicConstraints(ca=True, path_length=None), True)
    if ski is not None:
        builder = builder.add_extension(cx509.SubjectKeyIdentifier(ski), critical=False)
        builder = builder.add_extension(
            cx509.AuthorityKeyIdentifier(ski, None, None), critical=False
        )
    elif key_ids:
        builder = builder.add_extension(
            cx509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
        builder = builder.add_extension(
            cx509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()),
            critical=False,
        )
    kwargs: dict[str, Any] = {}
    if pss:
        kwargs["rsa_padding"] = padding.PSS(padding.MGF1(hashes.SHA256()), 32)
    return builder.sign(signer, hash_alg, **kwargs)


def pem_of(cert: cx509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def key_pem(key: Any, fmt: Any) -> bytes:
    data: bytes = key.private_bytes(
        serialization.Encoding.PEM, fmt, serialization.NoEncryption()
    )
    return data


def go_hex(data: bytes) -> str:
    return ":".join(f"{b:X}" for b in data)


SANS_ALL = [
    cx509.DNSName("a.example"),
    cx509.RFC822Name("ops@example.org"),
    cx509.UniformResourceIdentifier("spiffe://cluster.local/ns/a/sa/b"),
    cx509.IPAddress(ipaddress.ip_address("2001:db8::1")),
    cx509.IPAddress(ipaddress.ip_address("::ffff:10.1.2.3")),
    cx509.IPAddress(ipaddress.ip_address("10.0.0.1")),
    cx509.DNSName("b.example"),
    cx509.IPAddress(ipaddress.ip_address("1:0:0:1:0:0:1:1")),
]
MULTI_RDN = cx509.Name(
    [
        cx509.RelativeDistinguishedName(
            [
                cx509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "u1"),
                cx509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "u2"),
            ]
        ),
        cx509.RelativeDistinguishedName([cx509.NameAttribute(NameOID.COMMON_NAME, "c1")]),
        cx509.RelativeDistinguishedName([cx509.NameAttribute(NameOID.COMMON_NAME, "c2")]),
        cx509.RelativeDistinguishedName([cx509.NameAttribute(NameOID.SERIAL_NUMBER, "SN1")]),
        cx509.RelativeDistinguishedName([cx509.NameAttribute(NameOID.STREET_ADDRESS, "Main")]),
        cx509.RelativeDistinguishedName([cx509.NameAttribute(NameOID.POSTAL_CODE, "12345")]),
        cx509.RelativeDistinguishedName([cx509.NameAttribute(NameOID.EMAIL_ADDRESS, "a@b.c")]),
        cx509.RelativeDistinguishedName(
            [cx509.NameAttribute(NameOID.ORGANIZATION_NAME, "Grüße 北京")]
        ),
        cx509.RelativeDistinguishedName([cx509.NameAttribute(NameOID.DOMAIN_COMPONENT, "dc")]),
        cx509.RelativeDistinguishedName([cx509.NameAttribute(NameOID.COUNTRY_NAME, "DE")]),
        cx509.RelativeDistinguishedName([cx509.NameAttribute(NameOID.COUNTRY_NAME, "FR")]),
        cx509.RelativeDistinguishedName([cx509.NameAttribute(NameOID.LOCALITY_NAME, "Köln")]),
        cx509.RelativeDistinguishedName(
            [cx509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "NRW")]
        ),
    ]
)

# name -> factory; every certificate here is also run through real cfssl.
CASES: dict[str, Callable[[], cx509.Certificate]] = {
    "rsa-sha256": lambda: make_cert(key=RSA_KEY),
    "rsa-sha384": lambda: make_cert(key=RSA_KEY, hash_alg=hashes.SHA384()),
    "rsa-sha512": lambda: make_cert(key=RSA_KEY, hash_alg=hashes.SHA512()),
    "ec-sha256": lambda: make_cert(),
    "ec-sha384": lambda: make_cert(key=EC384_KEY, hash_alg=hashes.SHA384()),
    "ec-sha512": lambda: make_cert(hash_alg=hashes.SHA512()),
    "rsa-pss": lambda: make_cert(key=RSA_KEY, pss=True),
    "ed25519": lambda: make_cert(key=ed25519.Ed25519PrivateKey.generate(), hash_alg=None),
    "sha224": lambda: make_cert(hash_alg=hashes.SHA224()),
    "all-sans": lambda: make_cert(sans=SANS_ALL),
    "email-uri-only": lambda: make_cert(
        sans=[cx509.RFC822Name("x@y.z"), cx509.UniformResourceIdentifier("https://h/p")]
    ),
    "utf8-multi-rdn": lambda: make_cert(subject=MULTI_RDN),
    "empty-subject": lambda: make_cert(subject=cx509.Name([]), sans=[cx509.DNSName("e.x")]),
    "no-key-ids": lambda: make_cert(key_ids=False),
    "zero-padded-key-id": lambda: make_cert(ski=bytes([0, 1, 10, 0xAB, 0, 0xF0])),
    "generalized-time": lambda: make_cert(
        not_before=datetime.datetime(2049, 12, 31, 23, 59, 59),
        not_after=datetime.datetime(2151, 6, 1, 1, 2, 3),
    ),
    "big-serial": lambda: make_cert(serial=(1 << 158) + 12345),
    "serial-one": lambda: make_cert(serial=1),
    "issued-by-other": lambda: make_cert(
        issuer=name((NameOID.COMMON_NAME, "some CA"), (NameOID.ORGANIZATION_NAME, "O")),
        signer=RSA_KEY,
    ),
}
_BUILT: dict[str, cx509.Certificate] = {}


def case(name_: str) -> cx509.Certificate:
    if name_ not in _BUILT:
        _BUILT[name_] = CASES[name_]()
    return _BUILT[name_]


# --- golden: cfssl's own certificates and JSON -------------------------------


@pytest.mark.parametrize("name_", GOLDEN_CERTS)
def test_golden_cfssl_reference(name_: str) -> None:
    want = json.loads((REFERENCE / f"certinfo-{name_}.json").read_text())
    got = inspect_cert(read(f"{name_}.pem"))
    assert list(got) == list(want)
    for key in want:
        assert got[key] == want[key], key  # type: ignore[literal-required]
    assert json.dumps(got, indent=2) == json.dumps(want, indent=2)


def test_golden_set_is_complete() -> None:
    assert len(GOLDEN_CERTS) == 6


@pytest.mark.parametrize(
    "transform",
    [
        pytest.param(lambda pem: pem.encode(), id="pem-bytes"),
        pytest.param(der_of, id="der"),
        pytest.param(lambda pem: "junk before\n" + pem + "junk after\n", id="junk-around"),
        pytest.param(lambda pem: pem.replace("\n", "\r\n"), id="crlf"),
        pytest.param(lambda pem: read("ca.csr") + pem, id="csr-block-first"),
        pytest.param(lambda pem: pem + read("ca.pem"), id="chain-first-wins"),
    ],
)
def test_input_forms_give_the_same_json(transform: Callable[[str], Any]) -> None:
    pem = read("kubernetes.pem")
    assert inspect_cert(transform(pem)) == inspect_cert(pem)


def test_key_before_certificate_inspects_the_certificate() -> None:
    key = key_pem(EC_KEY, serialization.PrivateFormat.TraditionalOpenSSL).decode()
    pem = read("admin.pem")
    assert inspect_cert(key + pem)["pem"] == pem


# --- live cfssl on certificates made here ------------------------------------


def _cfssl_certinfo(tmp_path: pathlib.Path, pem: str) -> dict[str, Any]:
    path = tmp_path / "c.pem"
    path.write_text(pem)
    assert CFSSL is not None
    out = subprocess.run(
        [CFSSL, "certinfo", "-cert", str(path)], capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


#: sigalg names current cfssl prints where cfssl 1.2 says "Unknown Signature" (docs/compat.md)
_NEWER_CFSSL_SIGALGS = ("PureEd25519", "SHA256WithRSAPSS", "SHA384WithRSAPSS", "SHA512WithRSAPSS")
#: signatures is_issued_by does not verify (it says False)
_UNVERIFIED = _NEWER_CFSSL_SIGALGS + ("Unknown Signature",)


def _without_superset(info: dict[str, Any], cert: cx509.Certificate) -> dict[str, Any]:
    """Our JSON minus the email and URI SANs cfssl 1.2 does not print, and with cfssl 1.2's
    "Unknown Signature" where kpkilite names the algorithm as current cfssl does."""
    if info.get("sigalg") in _NEWER_CFSSL_SIGALGS:
        info = dict(info, sigalg="Unknown Signature")
    try:
        san = cert.extensions.get_extension_for_class(cx509.SubjectAlternativeName).value
    except cx509.ExtensionNotFound:
        return info
    extra = set(san.get_values_for_type(cx509.RFC822Name))
    extra |= set(san.get_values_for_type(cx509.UniformResourceIdentifier))
    out = dict(info)
    kept = [s for s in info.get("sans", []) if s not in extra]
    if kept:
        out["sans"] = kept
    else:
        out.pop("sans", None)
    return out


@needs_cfssl
@pytest.mark.parametrize("name_", sorted(CASES))
def test_matches_live_cfssl(name_: str, tmp_path: pathlib.Path) -> None:
    cert = case(name_)
    want = _cfssl_certinfo(tmp_path, pem_of(cert))
    got = _without_superset(dict(inspect_cert(pem_of(cert))), cert)
    assert list(got) == list(want)
    assert got == want


# --- cryptography oracle: field by field --------------------------------------


def _rfc3339(dt: datetime.datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize("name_", sorted(CASES))
def test_fields_match_cryptography(name_: str) -> None:
    cert = case(name_)
    info = inspect_cert(pem_of(cert))
    assert info["serial_number"] == str(cert.serial_number)
    assert info["not_before"] == _rfc3339(cert.not_valid_before_utc)
    assert info["not_after"] == _rfc3339(cert.not_valid_after_utc)
    assert info["pem"] == pem_of(cert)
    try:
        ski = cert.extensions.get_extension_for_class(cx509.SubjectKeyIdentifier).value.digest
    except cx509.ExtensionNotFound:
        ski = b""
    assert info["subject_key_id"] == go_hex(ski)
    try:
        aki = cert.extensions.get_extension_for_class(cx509.AuthorityKeyIdentifier).value
        aki_id = aki.key_identifier or b""
    except cx509.ExtensionNotFound:
        aki_id = b""
    assert info["authority_key_id"] == go_hex(aki_id)
    try:
        san = cert.extensions.get_extension_for_class(cx509.SubjectAlternativeName).value
    except cx509.ExtensionNotFound:
        assert "sans" not in info
    else:
        ips = []
        for ip in san.get_values_for_type(cx509.IPAddress):
            mapped = getattr(ip, "ipv4_mapped", None)
            ips.append(str(mapped if mapped is not None else ip))
        want = (
            san.get_values_for_type(cx509.DNSName)
            + ips
            + san.get_values_for_type(cx509.RFC822Name)
            + san.get_values_for_type(cx509.UniformResourceIdentifier)
        )
        assert info["sans"] == want
    assert info["subject"].get("names", []) == [a.value for a in cert.subject]


@pytest.mark.parametrize(
    ("case_name", "key", "want"),
    [
        ("all-sans", "sans", ["a.example", "b.example", "2001:db8::1", "10.1.2.3", "10.0.0.1",
                              "1::1:0:0:1:1", "ops@example.org",
                              "spiffe://cluster.local/ns/a/sa/b"]),
        ("zero-padded-key-id", "subject_key_id", "0:1:A:AB:0:F0"),
        ("no-key-ids", "authority_key_id", ""),
        ("generalized-time", "not_after", "2151-06-01T01:02:03Z"),
        ("rsa-pss", "sigalg", "SHA256WithRSAPSS"),
        ("ed25519", "sigalg", "PureEd25519"),
        ("ec-sha384", "sigalg", "ECDSAWithSHA384"),
        ("rsa-sha512", "sigalg", "SHA512WithRSA"),
        ("empty-subject", "subject", {}),
        ("utf8-multi-rdn", "subject", {
            "common_name": "c2", "serial_number": "SN1", "country": "DE,FR",
            "organization": "Grüße 北京", "organizational_unit": "u1,u2",
            "locality": "Köln", "province": "NRW", "street_address": "Main",
            "postal_code": "12345",
            "names": ["u1", "u2", "c1", "c2", "SN1", "Main", "12345", "a@b.c",
                      "Grüße 北京", "dc", "DE", "FR", "Köln", "NRW"],
        }),
    ],
)
def test_field_formats(case_name: str, key: str, want: Any) -> None:
    assert inspect_cert(pem_of(case(case_name)))[key] == want  # type: ignore[literal-required]


def test_subject_key_order_is_cfssls() -> None:
    subject = inspect_cert(pem_of(case("utf8-multi-rdn")))["subject"]
    assert list(subject) == [
        "common_name", "serial_number", "country", "organization", "organizational_unit",
        "locality", "province", "street_address", "postal_code", "names",
    ]


@pytest.mark.parametrize(
    ("oid", "name_"),
    sorted((oid, entry[0]) for oid, entry in certinfo._SIGALGS.items()),
)
def test_sigalg_table_names(oid: str, name_: str) -> None:
    # Spelling as cfssl's helpers.SignatureString: <HASH>WithRSA, ECDSAWith<HASH>, ...
    assert name_.replace("With", "").isalnum()
    assert certinfo._sigalg(oid)[0] == name_
    assert certinfo._sigalg("1.2.3.4")[0] == "Unknown Signature"


# --- errors: exact messages ----------------------------------------------------

_KEY_PEM = key_pem(RSA_KEY, serialization.PrivateFormat.TraditionalOpenSSL)
_KEY_DER = RSA_KEY.private_bytes(
    serialization.Encoding.DER,
    serialization.PrivateFormat.TraditionalOpenSSL,
    serialization.NoEncryption(),
)
_CA_DER = der_of(read("ca.pem")) if CFSSL_OUT.is_dir() else b""

ERRORS = [
    ("", "expected a CERTIFICATE PEM block, found empty input"),
    (b"", "expected a CERTIFICATE PEM block, found empty input"),
    ("  \n", "expected a CERTIFICATE PEM block, found empty input"),
    ("hello world\n", "expected a CERTIFICATE PEM block, found no PEM block"),
    (b"0123", "expected a CERTIFICATE PEM block, found no PEM block"),
    (b"\xff\xfe\x00garbage", "expected a CERTIFICATE PEM block, found no PEM block"),
    (_KEY_PEM, "expected a CERTIFICATE PEM block, found RSA PRIVATE KEY"),
    (read("ca.csr"), "expected a CERTIFICATE PEM block, found CERTIFICATE REQUEST"),
    (_KEY_DER, "expected a certificate, found RSA PRIVATE KEY DER"),
    (
        _CA_DER[:100],
        "expected a certificate, found invalid DER: "
        "insufficient data - 936 bytes requested but only 96 available",
    ),
    (
        _CA_DER + b"\x00",
        "expected a certificate, found invalid DER: "
        "extra data - 1 bytes of trailing data were provided",
    ),
    (
        read("ca.pem")[:300],
        "CERTIFICATE PEM block has no '-----END CERTIFICATE-----' line",
    ),
    (
        "-----BEGIN CERTIFICATE-----\nMII*\n-----END CERTIFICATE-----\n",
        "CERTIFICATE PEM block is not valid base64",
    ),
    (
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        "expected a certificate, found invalid DER: "
        "insufficient data - 2 bytes requested but only 1 available",
    ),
    (
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END X509 CERTIFICATE-----\n",
        "CERTIFICATE PEM block ends with '-----END X509 CERTIFICATE-----'",
    ),
]


@pytest.mark.parametrize(("data", "message"), ERRORS)
def test_inspect_cert_errors(data: Any, message: str) -> None:
    with pytest.raises(PEMError) as info:
        inspect_cert(data)
    assert str(info.value) == message
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("func", "data", "message"),
    [
        (
            inspect_csr,
            read("ca.pem"),
            "expected a CERTIFICATE REQUEST or NEW CERTIFICATE REQUEST PEM block, "
            "found CERTIFICATE",
        ),
        (inspect_csr, _CA_DER, "expected a certificate request, found CERTIFICATE DER"),
        (
            lambda data: key_matches_cert(data, read("ca.pem")),
            read("ca.pem"),
            "expected an RSA PRIVATE KEY, EC PRIVATE KEY or PRIVATE KEY PEM block, "
            "found CERTIFICATE",
        ),
        (
            lambda data: key_matches_cert(_KEY_PEM, data),
            _KEY_PEM,
            "expected a CERTIFICATE PEM block, found RSA PRIVATE KEY",
        ),
        (
            lambda data: is_issued_by(read("ca.pem"), data),
            "",
            "expected a CERTIFICATE PEM block, found empty input",
        ),
    ],
)
def test_other_errors(func: Callable[[Any], Any], data: Any, message: str) -> None:
    with pytest.raises(PEMError) as info:
        func(data)
    assert str(info.value) == message


@pytest.mark.parametrize("value", [None, 12, ["x"], 1.5])
def test_wrong_python_type_is_type_error(value: Any) -> None:
    with pytest.raises(TypeError):
        inspect_cert(value)


def test_non_string_name_value_is_pem_error() -> None:
    # A subject attribute holding an INTEGER (Go's x509 refuses to parse these too).
    subject = cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, "x")])
    der = bytearray(make_cert(subject=subject).public_bytes(serialization.Encoding.DER))
    at = der.index(b"\x0c\x01x")  # UTF8String "x"
    der[at : at + 3] = b"\x02\x01\x05"  # INTEGER 5, same length
    with pytest.raises(PEMError) as info:
        inspect_cert(bytes(der))
    assert str(info.value) == "name attribute 2.5.4.3 does not hold a string"


# --- properties ------------------------------------------------------------------

_SEEDS = [der_of(read(f"{n}.pem")) for n in GOLDEN_CERTS] + [
    case(n).public_bytes(serialization.Encoding.DER) for n in ("all-sans", "utf8-multi-rdn")
]


def _only_pem_error(data: Any) -> None:
    try:
        info = inspect_cert(data)
    except PEMError as exc:
        assert "\n" not in str(exc)
        return
    json.dumps(info)  # a success is always JSON-serialisable


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_random_bytes_only_raise_pem_error(data: bytes) -> None:
    _only_pem_error(data)
    _only_pem_error(b"\x30" + data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_random_text_only_raises_pem_error(text: str) -> None:
    _only_pem_error(text)
    _only_pem_error("-----BEGIN CERTIFICATE-----\n" + text + "\n-----END CERTIFICATE-----\n")


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_der_only_raises_pem_error(data: st.DataObject) -> None:
    der = bytearray(data.draw(st.sampled_from(_SEEDS)))
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "set", "truncate", "insert", "delete"]))
        at = data.draw(st.integers(0, max(0, len(der) - 1)))
        if op == "flip" and der:
            der[at] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "set" and der:
            der[at] = data.draw(st.integers(0, 255))
        elif op == "truncate":
            del der[at:]
        elif op == "insert":
            der[at:at] = data.draw(st.binary(min_size=1, max_size=4))
        elif op == "delete" and der:
            del der[at]
    _only_pem_error(bytes(der))
    for check in (
        lambda: is_issued_by(bytes(der), _SEEDS[1]),
        lambda: time_left(bytes(der)),
    ):
        with contextlib.suppress(PEMError):
            check()


# --- import hygiene --------------------------------------------------------------


def test_import_does_not_load_oscrypto() -> None:
    code = (
        "import sys, kpkilite.certinfo as c\n"
        "c.inspect_cert(open(sys.argv[1]).read())\n"
        "c.time_left(open(sys.argv[1]).read())\n"
        "bad = [m for m in sys.modules if m.startswith(('oscrypto', 'kpkilite._crypto'))]\n"
        "assert not bad, bad\n"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(CFSSL_OUT / "kubernetes.pem")], check=True, cwd=ROOT
    )


# --- inspect_csr ------------------------------------------------------------------


def make_csr(
    key: Any = EC_KEY,
    *,
    sans: list[cx509.GeneralName] | None = None,
    basic: cx509.BasicConstraints | None = None,
    critical: bool = True,
    hash_alg: Any = SHA256,
) -> str:
    builder = cx509.CertificateSigningRequestBuilder().subject_name(
        name((NameOID.COUNTRY_NAME, "CN"), (NameOID.COMMON_NAME, "req"))
    )
    if sans:
        builder = builder.add_extension(cx509.SubjectAlternativeName(sans), critical=False)
    if basic is not None:
        builder = builder.add_extension(basic, critical=critical)
    csr = builder.sign(key, hash_alg)
    return csr.public_bytes(serialization.Encoding.PEM).decode()


@pytest.mark.parametrize("name_", [p.stem for p in sorted(CFSSL_OUT.glob("*.csr"))])
def test_inspect_csr_on_cfssl_csrs(name_: str) -> None:
    pem = read(f"{name_}.csr")
    info = inspect_csr(pem)
    cert = inspect_cert(read(f"{name_}.pem"))
    assert list(info) == [
        "subject", "sans", "key", "sigalg", "basic_constraints", "signature_valid", "pem",
    ]
    assert info["subject"] == cert["subject"]
    assert info["sans"] == cert.get("sans", [])
    assert info["key"] == {"algo": "rsa", "size": 2048}
    assert info["sigalg"] == "SHA256WithRSA"
    # cfssl's initca CSR asks for CA:TRUE (critical, no path length); openssl req -text agrees.
    want_basic = {"is_ca": True, "max_path_len": None, "critical": True} if name_ == "ca" else None
    assert info["basic_constraints"] == want_basic
    assert info["pem"] == pem
    if _backend_ok():
        assert info["signature_valid"] is True


def test_inspect_csr_agrees_with_cfssl_struct_dump() -> None:
    dump = json.loads((REFERENCE / "certinfo-csr-kubernetes.json").read_text())
    info = inspect_csr(read("kubernetes.csr"))
    assert info["sans"] == dump["DNSNames"] + dump["IPAddresses"]
    assert info["subject"]["names"] == [n["Value"] for n in dump["Subject"]["Names"]]
    assert info["subject"]["common_name"] == dump["Subject"]["CommonName"]
    assert info["key"]["size"] == int(dump["PublicKey"]["N"]).bit_length()


@pytest.mark.parametrize(
    ("kwargs", "key", "sigalg", "basic"),
    [
        ({}, {"algo": "ecdsa", "size": 256}, "ECDSAWithSHA256", None),
        (
            {"key": EC384_KEY, "hash_alg": hashes.SHA384()},
            {"algo": "ecdsa", "size": 384},
            "ECDSAWithSHA384",
            None,
        ),
        (
            {"key": RSA_KEY, "basic": cx509.BasicConstraints(ca=True, path_length=0)},
            {"algo": "rsa", "size": 2048},
            "SHA256WithRSA",
            {"is_ca": True, "max_path_len": 0, "critical": True},
        ),
        (
            {"basic": cx509.BasicConstraints(ca=False, path_length=None), "critical": False},
            {"algo": "ecdsa", "size": 256},
            "ECDSAWithSHA256",
            {"is_ca": False, "max_path_len": None, "critical": False},
        ),
    ],
)
def test_inspect_csr_fields(
    kwargs: dict[str, Any], key: dict[str, Any], sigalg: str, basic: Any
) -> None:
    info = inspect_csr(make_csr(**kwargs))
    assert info["subject"] == {"common_name": "req", "country": "CN", "names": ["CN", "req"]}
    assert info["sans"] == []
    assert info["key"] == key
    assert info["sigalg"] == sigalg
    assert info["basic_constraints"] == basic
    if _backend_ok():
        assert info["signature_valid"] is True


def test_inspect_csr_sans_superset_order() -> None:
    info = inspect_csr(make_csr(sans=SANS_ALL))
    assert info["sans"] == inspect_cert(pem_of(case("all-sans")))["sans"]


@needs_backend
def test_inspect_csr_tampered_signature_is_false() -> None:
    der = bytearray(first_pem(make_csr(key=RSA_KEY), ["CERTIFICATE REQUEST"]))
    der[-5] ^= 0xFF  # inside the RSA signature
    assert inspect_csr(bytes(der))["signature_valid"] is False


def test_inspect_csr_unknown_when_backend_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> Any:
        raise BackendError("libcrypto cannot be loaded")

    monkeypatch.setattr(certinfo, "_backend", broken)
    assert inspect_csr(read("admin.csr"))["signature_valid"] is None


def test_inspect_csr_unknown_for_unverifiable_algorithm() -> None:
    pem = make_csr(key=RSA_KEY, hash_alg=hashes.SHA224())
    info = inspect_csr(pem)
    assert (info["sigalg"], info["signature_valid"]) == ("Unknown Signature", None)


# --- is_issued_by / key_matches_cert / time_left -----------------------------------

CA_SUBJECT = name((NameOID.COUNTRY_NAME, "DE"), (NameOID.COMMON_NAME, "test CA"))


def _ca(key: Any) -> cx509.Certificate:
    return make_cert(subject=CA_SUBJECT, key=key, ca=True)


def _leaf(signer: Any, *, issuer: cx509.Name = CA_SUBJECT, **kw: Any) -> cx509.Certificate:
    return make_cert(key=EC_KEY, signer=signer, issuer=issuer, **kw)


OTHER_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_EC = ec.generate_private_key(ec.SECP256R1())


@needs_backend
@pytest.mark.parametrize(
    ("leaf", "ca", "want"),
    [
        pytest.param(lambda: read("kubernetes.pem"), lambda: read("ca.pem"), True, id="cfssl"),
        pytest.param(lambda: read("ca.pem"), lambda: read("ca.pem"), True, id="self-signed"),
        pytest.param(lambda: read("ca.pem"), lambda: read("admin.pem"), False, id="reversed"),
        pytest.param(lambda: pem_of(_leaf(RSA_KEY)), lambda: pem_of(_ca(RSA_KEY)), True,
                     id="rsa-ca"),
        pytest.param(lambda: pem_of(_leaf(EC384_KEY, hash_alg=hashes.SHA384())),
                     lambda: der_of(pem_of(_ca(EC384_KEY))), True, id="ec-ca-der"),
        pytest.param(lambda: pem_of(_leaf(RSA_KEY, hash_alg=hashes.SHA512())),
                     lambda: pem_of(_ca(RSA_KEY)), True, id="sha512"),
        pytest.param(lambda: pem_of(_leaf(OTHER_RSA)), lambda: pem_of(_ca(RSA_KEY)), False,
                     id="same-name-other-ca-key"),
        pytest.param(lambda: pem_of(_leaf(OTHER_EC)), lambda: pem_of(_ca(EC_KEY)), False,
                     id="same-name-other-ec-key"),
        pytest.param(lambda: pem_of(_leaf(RSA_KEY, issuer=name((NameOID.COMMON_NAME, "x")))),
                     lambda: pem_of(_ca(RSA_KEY)), False, id="issuer-name-differs"),
        pytest.param(lambda: pem_of(_leaf(EC_KEY)), lambda: pem_of(_ca(RSA_KEY)), False,
                     id="key-type-differs"),
        pytest.param(lambda: pem_of(_leaf(RSA_KEY, pss=True)), lambda: pem_of(_ca(RSA_KEY)),
                     False, id="pss-not-verified"),
    ],
)
def test_is_issued_by(leaf: Callable[[], Any], ca: Callable[[], Any], want: bool) -> None:
    leaf_data, ca_data = leaf(), ca()
    assert is_issued_by(leaf_data, ca_data) is want
    # Oracle: cryptography's own issuance check agrees.
    def load(d: Any) -> cx509.Certificate:
        return cx509.load_der_x509_certificate(d if isinstance(d, bytes) else der_of(d))
    try:
        load(leaf_data).verify_directly_issued_by(load(ca_data))
        oracle = True
    except Exception:
        oracle = False
    if inspect_cert(leaf_data)["sigalg"] not in _UNVERIFIED:  # RSA-PSS: we say False
        assert oracle is want


def test_is_issued_by_uses_rfc5280_name_comparison(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    class FakeBackend:
        @staticmethod
        def verify_signature(spki: Any, sig: bytes, data: bytes, hash_name: str) -> bool:
            calls.append(hash_name)
            return True

    monkeypatch.setattr(certinfo, "_backend", lambda: FakeBackend)
    # Issuer "de"/"TEST   ca" vs subject "DE"/"test CA": equal under RFC 5280 7.1.
    issuer = name((NameOID.COUNTRY_NAME, "de"), (NameOID.COMMON_NAME, "TEST   ca"))
    leaf = pem_of(_leaf(RSA_KEY, issuer=issuer, hash_alg=hashes.SHA384()))
    assert is_issued_by(leaf, pem_of(_ca(RSA_KEY))) is True
    assert calls == ["sha384"]


@pytest.mark.parametrize(
    ("key", "fmt", "cert_key", "want"),
    [
        (RSA_KEY, serialization.PrivateFormat.TraditionalOpenSSL, RSA_KEY, True),
        (RSA_KEY, serialization.PrivateFormat.PKCS8, RSA_KEY, True),
        (EC_KEY, serialization.PrivateFormat.TraditionalOpenSSL, EC_KEY, True),
        (EC_KEY, serialization.PrivateFormat.PKCS8, EC_KEY, True),
        (EC384_KEY, serialization.PrivateFormat.TraditionalOpenSSL, EC384_KEY, True),
        (OTHER_RSA, serialization.PrivateFormat.TraditionalOpenSSL, RSA_KEY, False),
        (OTHER_EC, serialization.PrivateFormat.PKCS8, EC_KEY, False),
        (EC_KEY, serialization.PrivateFormat.TraditionalOpenSSL, RSA_KEY, False),
        (RSA_KEY, serialization.PrivateFormat.PKCS8, EC_KEY, False),
        (EC384_KEY, serialization.PrivateFormat.TraditionalOpenSSL, EC_KEY, False),
    ],
)
def test_key_matches_cert(key: Any, fmt: Any, cert_key: Any, want: bool) -> None:
    cert = pem_of(make_cert(key=cert_key))
    data = key_pem(key, fmt)
    assert key_matches_cert(data, cert) is want
    assert key_matches_cert(data.decode(), der_of(cert)) is want
    der = key.private_bytes(serialization.Encoding.DER, fmt, serialization.NoEncryption())
    assert key_matches_cert(der, cert) is want


def test_key_matches_cfssl_key_files(tmp_path: pathlib.Path) -> None:
    # cfssl's own reference set ships no keys; the chapter's CA pair is built here with
    # openssl (an independent tool) and the key swapped for another.
    key = subprocess.run(
        ["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout"],
        capture_output=True, check=True,
    ).stdout
    (tmp_path / "k.pem").write_bytes(key)
    cert = subprocess.run(
        ["openssl", "req", "-new", "-x509", "-key", str(tmp_path / "k.pem"), "-subj", "/CN=o",
         "-days", "1"],
        capture_output=True, check=True,
    ).stdout
    assert key_matches_cert(key, cert) is True
    assert key_matches_cert(key, read("ca.pem")) is False


def _sec1_without_public_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    from asn1crypto import keys as akeys

    sec1 = akeys.ECPrivateKey.load(
        key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    stripped = akeys.ECPrivateKey(
        {"version": 1, "private_key": sec1["private_key"], "parameters": sec1["parameters"]}
    )
    der: bytes = stripped.dump()
    return der


@needs_backend
@pytest.mark.parametrize(("cert_key", "want"), [(EC_KEY, True), (OTHER_EC, False)])
def test_key_matches_cert_ec_without_public_key_uses_backend(cert_key: Any, want: bool) -> None:
    from kpkilite._pem import format_pem

    pem = format_pem("EC PRIVATE KEY", _sec1_without_public_key(EC_KEY))
    assert key_matches_cert(pem, pem_of(make_cert(key=cert_key))) is want


def test_key_matches_cert_backend_missing_is_backend_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kpkilite._pem import format_pem

    def broken() -> Any:
        raise BackendError("libcrypto cannot be loaded")

    monkeypatch.setattr(certinfo, "_backend", broken)
    pem = format_pem("EC PRIVATE KEY", _sec1_without_public_key(EC_KEY))
    with pytest.raises(BackendError):
        key_matches_cert(pem, pem_of(make_cert()))
    # Keys that carry their public part never need the backend.
    full = key_pem(EC_KEY, serialization.PrivateFormat.TraditionalOpenSSL)
    assert key_matches_cert(full, pem_of(make_cert())) is True


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            "-----BEGIN RSA PRIVATE KEY-----\nMAA=\n-----END RSA PRIVATE KEY-----\n",
            "RSA PRIVATE KEY is not a valid private key: "
            'field "version" is missing from structure',
        ),
        ("nothing here", "expected an RSA PRIVATE KEY, EC PRIVATE KEY or PRIVATE KEY PEM block, "
                         "found no PEM block"),
    ],
)
def test_key_matches_cert_bad_keys(data: str, message: str) -> None:
    with pytest.raises(PEMError) as info:
        key_matches_cert(data, read("ca.pem"))
    assert str(info.value) == message


UTC = datetime.timezone.utc


@pytest.mark.parametrize(
    ("now", "want"),
    [
        (datetime.datetime(2034, 1, 2, 3, 4, 5, tzinfo=UTC), datetime.timedelta(0)),
        (datetime.datetime(2034, 1, 1, 3, 4, 5, tzinfo=UTC), datetime.timedelta(days=1)),
        (datetime.datetime(2034, 1, 2, 3, 4, 6, tzinfo=UTC), datetime.timedelta(seconds=-1)),
        (datetime.datetime(2034, 1, 1, 3, 4, 5), datetime.timedelta(days=1)),  # naive = UTC
        (
            datetime.datetime(2034, 1, 2, 5, 4, 5, tzinfo=datetime.timezone(
                datetime.timedelta(hours=2))),
            datetime.timedelta(0),
        ),
    ],
)
def test_time_left(now: datetime.datetime, want: datetime.timedelta) -> None:
    cert = case("ec-sha256")
    assert time_left(pem_of(cert), now=now) == want
    assert cert.not_valid_after_utc - now.replace(tzinfo=now.tzinfo or UTC) == want


def test_time_left_defaults_to_now_and_generalized_time() -> None:
    left = time_left(pem_of(case("generalized-time")))
    want = case("generalized-time").not_valid_after_utc - datetime.datetime.now(UTC)
    assert abs(left - want) < datetime.timedelta(seconds=5)
    assert time_left(read("ca.pem"), now=datetime.datetime(2036, 11, 30, 12, 9, tzinfo=UTC)) == (
        datetime.timedelta(0)
    )


_CSR_SEEDS = [first_pem(read(f"{n}.csr"), ["CERTIFICATE REQUEST"]) for n in ("ca", "kubernetes")]
_KEY_SEEDS = [
    EC_KEY.private_bytes(serialization.Encoding.DER, fmt, serialization.NoEncryption())
    for fmt in (serialization.PrivateFormat.TraditionalOpenSSL, serialization.PrivateFormat.PKCS8)
]


def _mutate(data: st.DataObject, seed: bytes) -> bytes:
    der = bytearray(seed)
    at = data.draw(st.integers(0, len(der) - 1))
    op = data.draw(st.sampled_from(["set", "truncate", "insert"]))
    if op == "set":
        der[at] = data.draw(st.integers(0, 255))
    elif op == "truncate":
        del der[at:]
    else:
        der[at:at] = data.draw(st.binary(min_size=1, max_size=3))
    return bytes(der)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_csr_and_key_only_raise_pem_error(data: st.DataObject) -> None:
    csr_der = _mutate(data, data.draw(st.sampled_from(_CSR_SEEDS)))
    with contextlib.suppress(PEMError):
        info = inspect_csr(csr_der)
        assert info["signature_valid"] in (True, False, None)
    key_der = _mutate(data, data.draw(st.sampled_from(_KEY_SEEDS)))
    with contextlib.suppress(PEMError, BackendError):
        key_matches_cert(key_der, _SEEDS[-1])


# --- robustness: every reader over mutated certificates -------------------------------------

_ROBUST_KEY = key_pem(EC_KEY, serialization.PrivateFormat.TraditionalOpenSSL)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_mutated_certificates_give_a_result_or_one_pem_error_line(data: st.DataObject) -> None:
    """key_matches_cert, is_issued_by (either side), inspect_cert and time_left: a result or
    a PEMError whose message is one line without asn1crypto's class names."""
    der = bytearray(der_of(pem_of(case("ec-sha256"))))
    der = bytearray(mutate(bytes(der), data))
    mutated, good = bytes(der), pem_of(case("ec-sha256"))
    calls: list[Callable[[], Any]] = [
        lambda: key_matches_cert(_ROBUST_KEY, mutated),
        lambda: is_issued_by(mutated, good),
        lambda: is_issued_by(good, mutated),
        lambda: inspect_cert(mutated),
        lambda: time_left(mutated, now=datetime.datetime(2030, 1, 1)),
    ]
    for call in calls:
        try:
            call()
        except PEMError as exc:
            assert "\n" not in str(exc) and "asn1crypto" not in str(exc)


def _with_key_algorithm(cert_der: bytes, oid_der: bytes) -> bytes:
    """The certificate with its id-ecPublicKey OID (in the SubjectPublicKeyInfo) replaced."""
    ec_oid = bytes.fromhex("06072a8648ce3d0201")
    assert cert_der.count(ec_oid) == 1
    return cert_der.replace(ec_oid, oid_der)


def test_a_certificate_with_an_unknown_key_algorithm_matches_no_key() -> None:
    # 1.2.840.10045.2.95: the same length as id-ecPublicKey, unknown to asn1crypto (Go parses
    # such a certificate too, as an unknown public key algorithm)
    unknown = bytes.fromhex("06072a8648ce3d025f")
    der = _with_key_algorithm(der_of(pem_of(case("ec-sha256"))), unknown)
    assert key_matches_cert(_ROBUST_KEY, der) is False
    assert is_issued_by(pem_of(case("ec-sha256")), der) is False
    assert inspect_cert(der)["sigalg"] == "ECDSAWithSHA256"


def test_time_left_now_must_be_a_datetime() -> None:
    with pytest.raises(TypeError) as info:
        time_left(pem_of(case("ec-sha256")), now="x")  # type: ignore[arg-type]
    assert str(info.value) == "now must be a datetime, not str"


@pytest.mark.parametrize("hash_alg, mgf_hash, salt, want", [
    (hashes.SHA256(), hashes.SHA256(), 32, "SHA256WithRSAPSS"),
    (hashes.SHA384(), hashes.SHA384(), 48, "SHA384WithRSAPSS"),
    (hashes.SHA512(), hashes.SHA512(), 64, "SHA512WithRSAPSS"),
    (hashes.SHA256(), hashes.SHA256(), 20, "SHA256WithRSAPSS"),  # Go does not check the salt
    (hashes.SHA256(), hashes.SHA384(), 32, "Unknown Signature"),  # MGF1 hash differs
    (hashes.SHA224(), hashes.SHA224(), 28, "Unknown Signature"),
])
def test_rsa_pss_is_named_by_its_parameters(hash_alg: Any, mgf_hash: Any, salt: int,
                                            want: str) -> None:
    cert = (cx509.CertificateBuilder().subject_name(name((NameOID.COMMON_NAME, "p")))
            .issuer_name(name((NameOID.COMMON_NAME, "p"))).public_key(RSA_KEY.public_key())
            .serial_number(1).not_valid_before(datetime.datetime(2024, 1, 1))
            .not_valid_after(datetime.datetime(2025, 1, 1))
            .sign(RSA_KEY, hash_alg, rsa_padding=padding.PSS(padding.MGF1(mgf_hash), salt)))
    assert inspect_cert(pem_of(cert))["sigalg"] == want
