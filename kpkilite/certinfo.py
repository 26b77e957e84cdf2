"""cfssl certinfo for certificates and CSRs, plus the checks installers need.

Reading needs asn1crypto only: importing this module never loads oscrypto, so
inspection works where libcrypto cannot be loaded. The signature checks
(:func:`is_issued_by`, the ``signature_valid`` of :func:`inspect_csr`) import
the crypto backend lazily, when they are called.

The reference is ``cfssl certinfo -cert`` of cfssl 1.2 (``certinfo/certinfo.go``
over Go's ``crypto/x509``): :func:`inspect_cert` returns the same keys, in the
same order, with the same value formats. ``docs/certinfo.md`` lists the few
deliberate differences.

>>> info = inspect_cert(_EXAMPLE_CERT)
>>> info["subject"]
{'common_name': 'example', 'names': ['example']}
>>> info["serial_number"], info["not_after"], info["sigalg"]
('1', '2051-01-01T00:00:00Z', 'ECDSAWithSHA256')
>>> inspect_cert("-----BEGIN RSA PRIVATE KEY-----\\nAA==\\n-----END RSA PRIVATE KEY-----\\n")
Traceback (most recent call last):
...
kpkilite.errors.PEMError: expected a CERTIFICATE PEM block, found RSA PRIVATE KEY
"""

from __future__ import annotations

import copy
import datetime
import ipaddress
import re
from typing import Any, Optional, TypedDict, Union

from asn1crypto import core, csr, keys, x509

from ._pem import der_from_input, der_kind, format_pem, pem_blocks
from .errors import BackendError, KpkiliteError, PEMError

__all__ = [
    "CertInfo",
    "CertName",
    "CSRBasicConstraints",
    "CSRInfo",
    "CSRKey",
    "inspect_cert",
    "inspect_csr",
    "is_issued_by",
    "key_matches_cert",
    "time_left",
]

PemOrDer = Union[str, bytes]


class CertName(TypedDict, total=False):
    """A subject or issuer as cfssl prints it; empty fields are left out.

    Multi-valued fields (``country``, ``organization``, ...) are joined with
    ``","``; ``common_name`` and ``serial_number`` are the last value seen;
    ``names`` holds every attribute value in DER order.
    """

    common_name: str
    serial_number: str
    country: str
    organization: str
    organizational_unit: str
    locality: str
    province: str
    street_address: str
    postal_code: str
    names: list[str]


class CertInfo(TypedDict, total=False):
    """The result of :func:`inspect_cert`: ``cfssl certinfo -cert`` JSON.

    Every key is always present except ``sans``, which (as in cfssl) is left
    out when the certificate has no subject alternative names.
    """

    subject: CertName
    issuer: CertName
    serial_number: str
    sans: list[str]
    not_before: str
    not_after: str
    sigalg: str
    authority_key_id: str
    subject_key_id: str
    pem: str


class CSRKey(TypedDict):
    """The public key of a CSR in cfssl's CSR-spec vocabulary (``"key": {...}``)."""

    algo: str
    size: int | None


class CSRBasicConstraints(TypedDict):
    """Basic constraints requested in a CSR's extensionRequest attribute."""

    is_ca: bool
    max_path_len: int | None
    critical: bool


class CSRInfo(TypedDict):
    """The result of :func:`inspect_csr` (kpkilite's own shape, see docs/certinfo.md)."""

    subject: CertName
    sans: list[str]
    key: CSRKey
    sigalg: str
    basic_constraints: CSRBasicConstraints | None
    signature_valid: bool | None
    pem: str


# --- rule tables ------------------------------------------------------------

# Signature algorithm OID -> (name as cfssl's helpers.SignatureString prints the
# Go x509.SignatureAlgorithm, key algorithm, hash for verification). cfssl 1.2
# names the first twelve; current cfssl (1.5+) also names PureEd25519 and the
# RSA-PSS ones below, which cfssl 1.2's Go could not parse. Anything else
# (SHA-224, Ed448, ...) is "Unknown Signature". Only SHA-2 RSA PKCS#1 v1.5 and
# ECDSA entries carry a hash: those are the ones kpkilite verifies.
_SIGALGS: dict[str, tuple[str, str, str | None]] = {
    "1.2.840.113549.1.1.2": ("MD2WithRSA", "rsa", None),
    "1.2.840.113549.1.1.4": ("MD5WithRSA", "rsa", None),
    "1.2.840.113549.1.1.5": ("SHA1WithRSA", "rsa", None),
    "1.3.14.3.2.29": ("SHA1WithRSA", "rsa", None),
    "1.2.840.113549.1.1.11": ("SHA256WithRSA", "rsa", "sha256"),
    "1.2.840.113549.1.1.12": ("SHA384WithRSA", "rsa", "sha384"),
    "1.2.840.113549.1.1.13": ("SHA512WithRSA", "rsa", "sha512"),
    "1.2.840.10040.4.3": ("DSAWithSHA1", "dsa", None),
    "2.16.840.1.101.3.4.3.2": ("DSAWithSHA256", "dsa", "sha256"),
    "1.2.840.10045.4.1": ("ECDSAWithSHA1", "ec", None),
    "1.2.840.10045.4.3.2": ("ECDSAWithSHA256", "ec", "sha256"),
    "1.2.840.10045.4.3.3": ("ECDSAWithSHA384", "ec", "sha384"),
    "1.2.840.10045.4.3.4": ("ECDSAWithSHA512", "ec", "sha512"),
    "1.3.101.112": ("PureEd25519", "ed25519", None),
}
# RSASSA-PSS (RFC 4055) has one OID; Go names it by the parameters' hash, and only
# when the MGF1 hash is the same and the trailer field is 1 (else it is unknown).
_RSA_PSS = "1.2.840.113549.1.1.10"
_PSS_NAMES: dict[str, str] = {
    "sha256": "SHA256WithRSAPSS", "sha384": "SHA384WithRSAPSS", "sha512": "SHA512WithRSAPSS",
}
_UNKNOWN_SIGALG = "Unknown Signature"
_VERIFIABLE_KEYS = ("rsa", "ec")

# Public key algorithm OID -> name in cfssl's CSR-spec vocabulary ("rsa", "ecdsa").
_KEY_ALGOS: dict[str, str] = {
    "1.2.840.113549.1.1.1": "rsa",
    "1.2.840.10045.2.1": "ecdsa",
    "1.2.840.10040.4.1": "dsa",
    "1.2.840.113549.1.1.10": "rsassa-pss",
    "1.3.101.112": "ed25519",
    "1.3.101.113": "ed448",
}
# Named curve OID -> key size in bits (cfssl's "size" for ecdsa keys).
_CURVE_BITS: dict[str, int] = {
    "1.2.840.10045.3.1.7": 256,  # P-256 / secp256r1
    "1.3.132.0.34": 384,  # P-384
    "1.3.132.0.35": 521,  # P-521
    "1.3.132.0.10": 256,  # secp256k1
    "1.3.132.0.33": 224,  # P-224
}
_FIXED_KEY_BITS = {"ed25519": 256, "ed448": 456}

# X.520 attribute types Go's pkix.Name.FillFromRDNSequence gives fields to,
# in cfssl's JSON key order. Single-valued fields keep the last value.
_NAME_FIELDS: dict[str, str] = {
    "2.5.4.3": "common_name",
    "2.5.4.5": "serial_number",
    "2.5.4.6": "country",
    "2.5.4.10": "organization",
    "2.5.4.11": "organizational_unit",
    "2.5.4.7": "locality",
    "2.5.4.8": "province",
    "2.5.4.9": "street_address",
    "2.5.4.17": "postal_code",
}
_SINGLE_VALUED = ("common_name", "serial_number")

_EXT_SAN = "2.5.29.17"
_EXT_SKI = "2.5.29.14"
_EXT_AKI = "2.5.29.35"
_EXT_BASIC_CONSTRAINTS = "2.5.29.19"
_EXT_KEY_USAGE = "2.5.29.15"

# Attribute type OID -> the short name used when naming a certificate in messages.
_SHORT_NAMES: dict[str, str] = {
    "2.5.4.6": "C", "2.5.4.8": "ST", "2.5.4.7": "L", "2.5.4.10": "O", "2.5.4.11": "OU",
    "2.5.4.3": "CN", "2.5.4.5": "serialNumber", "2.5.4.9": "street", "2.5.4.17": "postalCode",
}
_ATTR_EXTENSION_REQUEST = "1.2.840.113549.1.9.14"

_CERT_TYPES = ("CERTIFICATE",)
_CSR_TYPES = ("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST")
_KEY_TYPES = ("RSA PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY")


# Generic Name parsing: asn1crypto's x509.Name binds a value type to each
# attribute OID and fails on certificates that use another string type; Go
# accepts any string type, so read every value as whatever its tag says.
class _AttributeTypeAndValue(core.Sequence):  # type: ignore[misc]
    _fields = [("type", core.ObjectIdentifier), ("value", core.Any)]


class _RelativeDistinguishedName(core.SetOf):  # type: ignore[misc]
    _child_spec = _AttributeTypeAndValue


class _RDNSequence(core.SequenceOf):  # type: ignore[misc]
    _child_spec = _RelativeDistinguishedName


# Generic SubjectPublicKeyInfo: asn1crypto's PublicKeyInfo raises KeyError for an
# algorithm OID it does not know; Go parses such certificates (unknown key algorithm).
class _AnyAlgorithm(core.Sequence):  # type: ignore[misc]
    _fields = [("algorithm", core.ObjectIdentifier), ("parameters", core.Any, {"optional": True})]


class _AnyPublicKeyInfo(core.Sequence):  # type: ignore[misc]
    _fields = [("algorithm", _AnyAlgorithm), ("public_key", core.BitString)]


# --- helpers ----------------------------------------------------------------


def _detail(exc: BaseException) -> str:
    """One short line describing a lower-level parse error.

    Only the first line of the message: asn1crypto adds ``while parsing
    asn1crypto.x509.RDNSequence`` lines that name its classes, not the input.
    """
    lines = str(exc).strip().splitlines()
    text = " ".join(lines[0].split()) if lines else ""
    text = re.sub(r"asn1crypto\.[a-z0-9_]+\.", "", text)  # "asn1crypto.x509.Name" -> "Name"
    text = text or type(exc).__name__
    if len(text) > 100:
        text = text[:97] + "..."
    return text[:1].lower() + text[1:]


def _invalid_der(
    der: bytes, what: str, labels: tuple[str, ...], exc: BaseException
) -> PEMError:
    """The PEMError for DER that does not parse as ``what``: says what it is instead."""
    kind = der_kind(der)
    if kind is not None and kind not in labels:
        return PEMError(f"expected a {what}, found {kind} DER")
    return PEMError(f"expected a {what}, found invalid DER: {_detail(exc)}")


def _name_pairs(name_der: bytes) -> list[tuple[str, str]]:
    """``(attribute type OID, text)`` for every attribute of a Name, in DER order."""
    pairs: list[tuple[str, str]] = []
    for rdn in _RDNSequence.load(name_der, strict=True):
        for atv in rdn:
            oid = atv["type"].dotted
            value = atv["value"].parsed
            if not isinstance(value, core.AbstractString):
                raise PEMError(f"name attribute {oid} does not hold a string")
            pairs.append((oid, value.native))
    return pairs


def _name_label(pairs: list[tuple[str, str]]) -> str:
    """A certificate named by its subject for messages: ``'CN=admin'`` (the CN alone when
    there is one, else the whole subject RFC 4514 style, most specific first)."""
    parts = ["%s=%s" % (_SHORT_NAMES.get(oid, oid), text) for oid, text in pairs]
    if not parts:
        return "the certificate with an empty subject"
    common = [p for p in parts if p.startswith("CN=")]
    return repr(common[-1] if common else ",".join(reversed(parts)))


def _format_name(name_der: bytes, pairs: list[tuple[str, str]] | None = None) -> CertName:
    values: dict[str, list[str]] = {}
    names: list[str] = []
    for oid, text in _name_pairs(name_der) if pairs is None else pairs:
        names.append(text)
        field = _NAME_FIELDS.get(oid)
        if field is None:
            continue
        if field in _SINGLE_VALUED:
            values[field] = [text]
        else:
            values.setdefault(field, []).append(text)
    out: dict[str, Any] = {}
    for field in _NAME_FIELDS.values():
        joined = ",".join(values.get(field, []))
        if joined:
            out[field] = joined
    if names:
        out["names"] = names
    result: CertName = out  # type: ignore[assignment]
    return result


def _format_ip(raw: bytes) -> str:
    """An iPAddress SAN as Go's net.IP.String prints it (IPv4-mapped as IPv4)."""
    if len(raw) == 4:
        return str(ipaddress.IPv4Address(raw))
    if len(raw) == 16:
        if raw[:12] == b"\x00" * 10 + b"\xff\xff":
            return str(ipaddress.IPv4Address(raw[12:]))
        return ipaddress.IPv6Address(raw).compressed
    raise PEMError(f"subjectAltName: an iPAddress of {len(raw)} bytes, expected 4 or 16")


def _ia5(value: core.Asn1Value, what: str) -> str:
    raw = bytes(value.contents or b"")
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        raise PEMError(f"subjectAltName: {what} is not ASCII") from None


def _format_sans(general_names: Any) -> list[str]:
    """DNS names, then IPs (cfssl's order), then emails and URIs (kpkilite's superset)."""
    groups: dict[str, list[str]] = {"dns": [], "ip": [], "email": [], "uri": []}
    for general_name in general_names:
        kind = general_name.name
        value = general_name.chosen
        if kind == "dns_name":
            groups["dns"].append(_ia5(value, "a dNSName"))
        elif kind == "ip_address":
            groups["ip"].append(_format_ip(bytes(value.contents or b"")))
        elif kind == "rfc822_name":
            groups["email"].append(_ia5(value, "an rfc822Name"))
        elif kind == "uniform_resource_identifier":
            groups["uri"].append(_ia5(value, "a URI"))
    return groups["dns"] + groups["ip"] + groups["email"] + groups["uri"]


def _format_key_id(key_id: bytes | None) -> str:
    # cfssl prints each byte with Go's %X: upper case, no zero padding ("B:9").
    if not key_id:
        return ""
    return ":".join(f"{byte:X}" for byte in key_id)


def _as_utc(value: Any) -> tuple[int, int, int, int, int, int, int]:
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc)
        return (
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
            value.microsecond,
        )
    # asn1crypto's extended_datetime: year 0 in a GeneralizedTime (always UTC here).
    fields = ("year", "month", "day", "hour", "minute", "second", "microsecond")
    y, mo, d, h, mi, s, us = (int(getattr(value, f)) for f in fields)
    offset = value.utcoffset()
    if offset:
        raise PEMError("a year-0 time with a UTC offset is not supported")
    return (y, mo, d, h, mi, s, us)


def _format_time(value: Any) -> str:
    """RFC 3339 in UTC with ``Z``, as Go's time.Time JSON (RFC3339Nano) prints it."""
    y, mo, d, h, mi, s, us = _as_utc(value)
    text = f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}"
    if us:
        text += f".{us:06d}".rstrip("0")
    return text + "Z"


def _to_datetime(value: Any) -> datetime.datetime:
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=datetime.timezone.utc)
        return value
    # Year 0: shift by 2000 years so datetime can hold it.
    shifted = value.replace(year=2000)
    if not isinstance(shifted, datetime.datetime):  # pragma: no cover - defensive
        raise PEMError("unsupported time value")
    days = int(getattr(value, "DAYS_IN_2000_YEARS", 730485))
    return shifted - datetime.timedelta(days=days)


def _sigalg(oid: str, params: Any = None) -> tuple[str, str | None, str | None]:
    """(cfssl's name, key algorithm, hash to verify with) of a signature algorithm.

    ``params`` is the AlgorithmIdentifier's parsed parameters (only RSA-PSS uses them).
    """
    if oid == _RSA_PSS:
        return _pss_sigalg(params)
    entry = _SIGALGS.get(oid)
    if entry is None:
        return (_UNKNOWN_SIGALG, None, None)
    return entry


def _pss_sigalg(params: Any) -> tuple[str, str | None, str | None]:
    if params is None or isinstance(params, core.Void):
        return (_UNKNOWN_SIGALG, None, None)  # defaults: SHA-1, which Go does not name
    hash_name = params["hash_algorithm"]["algorithm"].native
    mgf = params["mask_gen_algorithm"]
    same = (mgf["algorithm"].native == "mgf1"
            and mgf["parameters"]["algorithm"].native == hash_name)
    if not same or params["trailer_field"].native != "trailer_field_bc":
        return (_UNKNOWN_SIGALG, None, None)
    name = _PSS_NAMES.get(hash_name)
    return (name, "rsa-pss", None) if name else (_UNKNOWN_SIGALG, None, None)


# --- loading ----------------------------------------------------------------


class _Cert:
    """The fields of a certificate kpkilite reads, all parsed when it is loaded.

    This is kpkilite's one certificate loader (certinfo, the CA checks of
    :mod:`.signing`, the overwrite guard of :mod:`.files`): every field used
    anywhere is read inside the guarded parse, so a malformed certificate is
    one :class:`PEMError` line when it is loaded, never an asn1crypto error later.
    """

    def __init__(self, data: PemOrDer) -> None:
        der = der_from_input(data, _CERT_TYPES)
        try:
            self._read(der)
        except KpkiliteError:
            raise
        except Warning:
            raise
        except Exception as exc:
            raise _invalid_der(der, "certificate", _CERT_TYPES, exc) from None

    def _read(self, der: bytes) -> None:
        cert = x509.Certificate.load(der, strict=True)
        tbs = cert["tbs_certificate"]
        self.der = der
        self.tbs_der = tbs.dump()
        self.subject_der = tbs["subject"].dump()
        self.issuer_der = tbs["issuer"].dump()
        subject_pairs = _name_pairs(self.subject_der)
        self.subject = _format_name(self.subject_der, subject_pairs)
        self.label = _name_label(subject_pairs)
        same = self.issuer_der == self.subject_der
        self.issuer = copy.deepcopy(self.subject) if same else _format_name(self.issuer_der)
        self.serial = int(tbs["serial_number"].native)
        validity = tbs["validity"]
        self.not_before_raw = validity["not_before"].native
        self.not_after_raw = validity["not_after"].native
        self.not_before = _format_time(self.not_before_raw)
        self.not_after = _format_time(self.not_after_raw)
        self.not_after_dt = _to_datetime(self.not_after_raw)
        algorithm = cert["signature_algorithm"]
        self.sig_oid = algorithm["algorithm"].dotted
        self.sigalg = _sigalg(self.sig_oid, algorithm["parameters"])
        self.signature = bytes(cert["signature_value"].native)
        self.spki_der = tbs["subject_public_key_info"].dump()
        generic = _AnyPublicKeyInfo.load(self.spki_der, strict=True)
        self.key_algo_oid = generic["algorithm"]["algorithm"].dotted
        if _KEY_ALGOS.get(self.key_algo_oid) in ("rsa", "ecdsa"):
            self.key_id = _spki_id(keys.PublicKeyInfo.load(self.spki_der, strict=True))
        else:  # another algorithm: identified by its whole DER
            self.key_id = (self.key_algo_oid, None, self.spki_der)
        self.sans: list[str] = []
        self.ski: bytes | None = None
        self.aki: bytes | None = None
        self.is_ca = False
        self.path_len: int | None = None
        self.may_sign_certs = True  # no keyUsage extension: no restriction
        extensions = tbs["extensions"]
        for ext in [] if isinstance(extensions, core.Void) else extensions:
            oid = ext["extn_id"].dotted
            if oid == _EXT_SAN:
                self.sans = _format_sans(ext["extn_value"].parsed)
            elif oid == _EXT_SKI:
                self.ski = bytes(ext["extn_value"].parsed.native)
            elif oid == _EXT_AKI:
                key_id = ext["extn_value"].parsed["key_identifier"].native
                self.aki = bytes(key_id) if key_id is not None else None
            elif oid == _EXT_BASIC_CONSTRAINTS:
                basic = ext["extn_value"].parsed
                self.is_ca = bool(basic["ca"].native)
                path_len = basic["path_len_constraint"].native
                self.path_len = None if path_len is None else int(path_len)
            elif oid == _EXT_KEY_USAGE:
                self.may_sign_certs = "key_cert_sign" in ext["extn_value"].parsed.native


def _backend() -> Any:
    """The crypto backend module, imported lazily (it is the oscrypto importer)."""
    try:
        from . import _crypto
    except ImportError as exc:
        raise BackendError(f"kpkilite._crypto cannot be imported: {exc}") from exc
    return _crypto


def _verify(spki_der: bytes, signature: bytes, data: bytes, hash_name: str) -> bool:
    spki = keys.PublicKeyInfo.load(spki_der)
    return bool(_backend().verify_signature(spki, signature, data, hash_name))


# --- public API -------------------------------------------------------------


def inspect_cert(pem_or_der: PemOrDer) -> CertInfo:
    """Describe a certificate exactly as ``cfssl certinfo -cert`` does.

    Keys, order and formats follow cfssl 1.2's ``certinfo.Certificate``:
    ``subject``/``issuer`` (:class:`CertName`), ``serial_number`` in decimal,
    ``sans`` (DNS names then IP addresses as cfssl prints them, then email and
    URI SANs, which cfssl leaves out; the key is absent when there are none),
    ``not_before``/``not_after`` as RFC 3339 UTC with ``Z``, ``sigalg`` as
    cfssl names Go's signature algorithms (``SHA256WithRSA``,
    ``ECDSAWithSHA256``, ``SHA256WithRSAPSS``, ``PureEd25519``, else
    ``Unknown Signature``), ``authority_key_id`` and
    ``subject_key_id`` as cfssl prints them (upper-case hex bytes without zero
    padding, ``:``-separated, ``""`` when absent), and ``pem`` (the DER
    re-encoded as 64-column PEM with a trailing newline).

    Args:
        pem_or_der: PEM text (``str`` or ``bytes``; the first ``CERTIFICATE``
            block is used, other blocks are skipped) or DER ``bytes``.

    Returns:
        A :class:`CertInfo` dict, ready for ``json.dumps(result, indent=2)``.

    Raises:
        PEMError: empty input, no ``CERTIFICATE`` block, or a certificate that
            does not parse.
        TypeError: the input is neither ``str`` nor ``bytes``.

    >>> inspect_cert(b"")
    Traceback (most recent call last):
    ...
    kpkilite.errors.PEMError: expected a CERTIFICATE PEM block, found empty input
    """
    cert = _Cert(pem_or_der)
    info: dict[str, Any] = {
        "subject": cert.subject,
        "issuer": cert.issuer,
        "serial_number": str(cert.serial),
    }
    if cert.sans:
        info["sans"] = cert.sans
    info["not_before"] = cert.not_before
    info["not_after"] = cert.not_after
    info["sigalg"] = cert.sigalg[0]
    info["authority_key_id"] = _format_key_id(cert.aki)
    info["subject_key_id"] = _format_key_id(cert.ski)
    info["pem"] = format_pem("CERTIFICATE", cert.der)
    result: CertInfo = info  # type: ignore[assignment]
    return result


def _key_summary(spki: keys.PublicKeyInfo) -> CSRKey:
    oid = spki["algorithm"]["algorithm"].dotted
    algo = _KEY_ALGOS.get(oid, oid)
    size: int | None = None
    if algo in ("rsa", "rsassa-pss"):
        size = int(spki["public_key"].parsed["modulus"].native).bit_length()
    elif algo == "ecdsa":
        params = spki["algorithm"]["parameters"]
        if params.name == "named":
            size = _CURVE_BITS.get(params.chosen.dotted)
    elif algo == "dsa":
        size = int(spki["algorithm"]["parameters"]["p"].native).bit_length()
    else:
        size = _FIXED_KEY_BITS.get(algo)
    return {"algo": algo, "size": size}


def inspect_csr(pem: PemOrDer) -> CSRInfo:
    """Describe a certificate signing request (PKCS#10) in kpkilite's own shape.

    cfssl's ``certinfo -csr`` dumps Go's ``x509.CertificateRequest`` struct;
    kpkilite returns this documented dict instead (see ``docs/certinfo.md``):

    - ``subject``: the same shape as :func:`inspect_cert`'s ``subject``;
    - ``sans``: requested SANs in the same order and format as ``sans``
      (always present, ``[]`` when none);
    - ``key``: ``{"algo": "rsa"|"ecdsa"|..., "size": bits}`` in cfssl's CSR
      spec vocabulary (``size`` is ``None`` when unknown);
    - ``sigalg``: named as in :func:`inspect_cert`;
    - ``basic_constraints``: ``{"is_ca", "max_path_len", "critical"}`` from
      the extensionRequest attribute, ``None`` when not requested;
    - ``signature_valid``: whether the self-signature verifies; ``None`` when
      unknown (the crypto backend cannot load, or the algorithm is not RSA
      PKCS#1 v1.5 or ECDSA with SHA-1/SHA-2);
    - ``pem``: the CSR as 64-column PEM.

    Args:
        pem: PEM text (first ``CERTIFICATE REQUEST`` or ``NEW CERTIFICATE
            REQUEST`` block) or DER ``bytes``.

    Returns:
        A :class:`CSRInfo` dict.

    Raises:
        PEMError: empty input, no CSR block, or a CSR that does not parse.
        TypeError: the input is neither ``str`` nor ``bytes``.
    """
    der = der_from_input(pem, _CSR_TYPES)
    try:
        request = csr.CertificationRequest.load(der, strict=True)
        info = request["certification_request_info"]
        info_der = info.dump()
        subject = _format_name(info["subject"].dump())
        spki = info["subject_pk_info"]
        key = _key_summary(spki)
        spki_der = spki.dump()
        sig_oid = request["signature_algorithm"]["algorithm"].dotted
        sigalg = _sigalg(sig_oid, request["signature_algorithm"]["parameters"])
        signature = bytes(request["signature"].native)
        sans: list[str] = []
        basic: CSRBasicConstraints | None = None
        attributes = info["attributes"]
        for attribute in [] if isinstance(attributes, core.Void) else attributes:
            if attribute["type"].dotted != _ATTR_EXTENSION_REQUEST:
                continue
            for extensions in attribute["values"]:
                for ext in extensions:
                    oid = ext["extn_id"].dotted
                    if oid == _EXT_SAN:
                        sans = _format_sans(ext["extn_value"].parsed)
                    elif oid == _EXT_BASIC_CONSTRAINTS:
                        parsed = ext["extn_value"].parsed
                        path_len = parsed["path_len_constraint"].native
                        basic = {
                            "is_ca": bool(parsed["ca"].native),
                            "max_path_len": None if path_len is None else int(path_len),
                            "critical": bool(ext["critical"].native),
                        }
    except KpkiliteError:
        raise
    except Exception as exc:
        raise _invalid_der(der, "certificate request", _CSR_TYPES, exc) from None

    name, key_algo, hash_name = sigalg
    valid: bool | None = None
    if hash_name is not None and key_algo in _VERIFIABLE_KEYS:
        expected_key = "ecdsa" if key_algo == "ec" else key_algo
        if key["algo"] != expected_key:
            valid = False
        else:
            try:
                valid = _verify(spki_der, signature, info_der, hash_name)
            except BackendError:
                valid = None
    return {
        "subject": subject,
        "sans": sans,
        "key": key,
        "sigalg": name,
        "basic_constraints": basic,
        "signature_valid": valid,
        "pem": format_pem("CERTIFICATE REQUEST", der),
    }


def is_issued_by(cert: PemOrDer, ca_cert: PemOrDer) -> bool:
    """Whether ``ca_cert`` issued ``cert``: names match and the signature verifies.

    RFC 5280 section 6.1.3: the certificate's issuer equals the CA's subject
    (byte for byte, or under RFC 5280 section 7.1 name comparison), and its
    signature verifies with the CA's public key using the hash named by the
    signature algorithm (RSA PKCS#1 v1.5 or ECDSA, SHA-1/SHA-2). Validity
    dates, key usage and basic constraints are not checked here.

    Args:
        cert: the certificate, PEM or DER.
        ca_cert: the CA certificate, PEM or DER.

    Returns:
        ``True`` when both hold; ``False`` otherwise, including for signature
        algorithms kpkilite does not verify (RSA-PSS, Ed25519, MD5, DSA).

    Raises:
        PEMError: either input is not a certificate.
        BackendError: the crypto backend cannot be loaded.
    """
    leaf = _Cert(cert)
    ca = _Cert(ca_cert)
    if leaf.issuer_der != ca.subject_der:
        try:
            same = x509.Name.load(leaf.issuer_der) == x509.Name.load(ca.subject_der)
        except Exception:
            same = False
        if not same:
            return False
    _, key_algo, hash_name = leaf.sigalg
    if hash_name is None or key_algo not in _VERIFIABLE_KEYS:
        return False
    if _KEY_ALGOS.get(ca.key_algo_oid) != ("ecdsa" if key_algo == "ec" else key_algo):
        return False
    return _verify(ca.spki_der, leaf.signature, leaf.tbs_der, hash_name)


_PublicKeyId = tuple[str, Optional[str], Any]


def _rsa_id(key: Any) -> _PublicKeyId:
    """Modulus and exponent of an RSAPublicKey, RSAPrivateKey (PKCS#1) or the like."""
    return ("rsa", None, (int(key["modulus"].native), int(key["public_exponent"].native)))


def _ec_point_id(point: bytes) -> tuple[bytes, int]:
    """(x, parity of y) for an uncompressed or compressed SEC1 point."""
    if point[:1] == b"\x04" and len(point) % 2 == 1:
        half = (len(point) - 1) // 2
        return (point[1 : 1 + half], point[-1] & 1)
    if point[:1] in (b"\x02", b"\x03"):
        return (point[1:], point[0] & 1)
    return (point, -1)


def _spki_id(spki: keys.PublicKeyInfo) -> _PublicKeyId:
    """What identifies a public key: RSA (n, e), EC (curve, x, parity of y), else the DER.

    A key of an algorithm asn1crypto does not know keeps its whole DER (Go
    parses such certificates too, with an unknown public key algorithm).
    """
    oid = spki["algorithm"]["algorithm"].dotted
    algo = _KEY_ALGOS.get(oid, oid)
    if algo == "rsa":
        public = spki["public_key"].parsed
        return _rsa_id(public)
    if algo == "ecdsa":
        params = spki["algorithm"]["parameters"]
        curve = params.chosen.dotted if params.name == "named" else None
        return ("ecdsa", curve, _ec_point_id(bytes(spki["public_key"].native)))
    return (algo, None, spki.dump())


def _private_key_id(der: bytes, label: str | None) -> _PublicKeyId | None:
    """The public key of a private key from asn1crypto alone; None when it needs the backend."""
    if label in (None, "PRIVATE KEY"):
        try:
            info = keys.PrivateKeyInfo.load(der, strict=True)
            _ = info.native
            oid = info["private_key_algorithm"]["algorithm"].dotted
            inner = info["private_key"].parsed
            algo = _KEY_ALGOS.get(oid, oid)
            if algo == "rsa":
                return _rsa_id(inner)
            if algo == "ecdsa":
                params = info["private_key_algorithm"]["parameters"]
                curve = params.chosen.dotted if params.name == "named" else None
                point = inner["public_key"].native
                return None if point is None else ("ecdsa", curve, _ec_point_id(bytes(point)))
            return None
        except KpkiliteError:
            raise
        except Exception:
            if label is not None:
                raise
    if label in (None, "RSA PRIVATE KEY"):
        try:
            rsa = keys.RSAPrivateKey.load(der, strict=True)
            _ = rsa.native
            return _rsa_id(rsa)
        except Exception:
            if label is not None:
                raise
    ec = keys.ECPrivateKey.load(der, strict=True)
    _ = ec.native
    params = ec["parameters"]
    curve = params.chosen.dotted if params.native is not None and params.name == "named" else None
    point = ec["public_key"].native
    return None if point is None else ("ecdsa", curve, _ec_point_id(bytes(point)))


def _key_label(data: PemOrDer) -> tuple[bytes, str | None]:
    """DER of the first private key block and its label; label None for DER input."""
    if isinstance(data, str) or (isinstance(data, bytes) and b"-----BEGIN" in data):
        for label, der in pem_blocks(data):
            if label in _KEY_TYPES:
                return der, label
    der = der_from_input(data, _KEY_TYPES)
    return der, None


def key_matches_cert(key_pem: PemOrDer, cert: PemOrDer) -> bool:
    """Whether the private key is the one whose public part the certificate holds.

    Compares the key's public part with the certificate's SubjectPublicKeyInfo:
    RSA modulus and exponent (read from PKCS#1 or PKCS#8), or the EC curve and
    point (from the public key embedded in SEC1/PKCS#8; keys without it are
    loaded through the crypto backend).

    Args:
        key_pem: the private key: PEM (``RSA PRIVATE KEY``, ``EC PRIVATE KEY``
            or unencrypted ``PRIVATE KEY``) or DER.
        cert: the certificate, PEM or DER.

    Returns:
        ``True`` when they match, ``False`` otherwise (including a key of
        another algorithm or curve).

    Raises:
        PEMError: the key or the certificate does not parse.
        BackendError: an EC key without its public part and no usable backend.
    """
    leaf = _Cert(cert)
    der, label = _key_label(key_pem)
    try:
        key_id = _private_key_id(der, label)
    except KpkiliteError:
        raise
    except Exception as exc:
        what = label or "DER private key"
        raise PEMError(f"{what} is not a valid private key: {_detail(exc)}") from None
    cert_id = leaf.key_id
    if key_id is None:
        try:
            loaded = _backend().load_private_key(key_pem).public_key_info
            spki_der = loaded.dump() if hasattr(loaded, "dump") else bytes(loaded)
            key_id = _spki_id(keys.PublicKeyInfo.load(spki_der))
        except KpkiliteError:
            raise
        except Exception as exc:  # keep lower-level errors from escaping raw
            what = label or "DER private key"
            raise PEMError(f"{what} is not a valid private key: {_detail(exc)}") from None
    if key_id[0] != cert_id[0]:
        return False
    if key_id[1] is not None and cert_id[1] is not None and key_id[1] != cert_id[1]:
        return False
    return bool(key_id[2] == cert_id[2])


def time_left(cert: PemOrDer, *, now: datetime.datetime | None = None) -> datetime.timedelta:
    """Time from ``now`` until the certificate's notAfter; negative once expired.

    Args:
        cert: the certificate, PEM or DER.
        now: the current time (default: the current UTC time); a naive
            datetime is taken as UTC.

    Returns:
        ``notAfter - now`` as a :class:`datetime.timedelta`.

    Raises:
        PEMError: the input is not a certificate.
        TypeError: ``now`` is not a datetime.

    >>> time_left(_EXAMPLE_CERT, now=datetime.datetime(2050, 12, 31, 12, 0))
    datetime.timedelta(seconds=43200)
    """
    if now is None:
        now = datetime.datetime.now(datetime.timezone.utc)
    elif not isinstance(now, datetime.datetime):
        raise TypeError("now must be a datetime, not %s" % type(now).__name__)
    elif now.tzinfo is None:
        now = now.replace(tzinfo=datetime.timezone.utc)
    return _Cert(cert).not_after_dt - now


# A tiny self-signed P-256 certificate (CN=example, serial 1, valid 2050-2051)
# for the doctests above.
_EXAMPLE_CERT = """\
-----BEGIN CERTIFICATE-----
MIIBEzCBu6ADAgECAgEBMAoGCCqGSM49BAMCMBIxEDAOBgNVBAMMB2V4YW1wbGUw
IhgPMjA1MDAxMDEwMDAwMDBaGA8yMDUxMDEwMTAwMDAwMFowEjEQMA4GA1UEAwwH
ZXhhbXBsZTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABHt7r5GaX7qG/B9L3A17
v1HAkPiTeulqJndQFlYjbVUrSBMlgIGpvxQQCV24DqJEACIYaIzstcXQGtAus3Mo
pcMwCgYIKoZIzj0EAwIDRwAwRAIgA90QngAB6M7BP2VJVDSqt9Hh3stYcPpat4kk
v66ecMQCIAr4tJgluhukyR9DLyw5EGPKkIfy51fKx2CgbC71KS5V
-----END CERTIFICATE-----
"""
