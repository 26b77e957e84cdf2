"""Certificate pieces: subject names, hosts -> SANs, usage tables, times, key ids, serials.

Everything here builds DER the way Go's crypto/x509 (and so cfssl) lays it out,
except where docs/compat.md says otherwise. Containers are concatenated by
:mod:`._der` (asn1crypto's mutable trees cost ~7 ms a certificate); OIDs and
parsed inputs go through asn1crypto. No libcrypto: signing happens in
:mod:`._crypto`.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
from datetime import datetime, timedelta, timezone
from typing import Dict, FrozenSet, Iterable, List, Optional, Sequence, Tuple

from asn1crypto import keys, x509

from . import _der

__all__ = [
    "EXT_KEY_USAGES",
    "KEY_USAGES",
    "KEY_USAGE_BITS",
    "NAME_FIELDS",
    "build_name",
    "classify_hosts",
    "ext_key_usage_der",
    "extension_der",
    "general_names_der",
    "hash_for_key",
    "key_identifier",
    "key_usage_der",
    "name_der",
    "random_serial",
    "signature_algorithm_der",
    "time_der",
]

#: cfssl ``names`` fields in the order Go's pkix.Name writes them, with their
#: asn1crypto attribute name and the X.520 upper bound on their length.
NAME_FIELDS: Tuple[Tuple[str, str, int], ...] = (
    ("C", "country_name", 2),
    ("ST", "state_or_province_name", 128),
    ("L", "locality_name", 128),
    ("O", "organization_name", 64),
    ("OU", "organizational_unit_name", 64),
)
CN_MAX = 64

#: cfssl usage name -> keyUsage bit (asn1crypto's name). cfssl config.KeyUsage.
KEY_USAGES: Dict[str, str] = {
    "signing": "digital_signature",
    "digital signature": "digital_signature",
    "content commitment": "non_repudiation",
    "key encipherment": "key_encipherment",
    "key agreement": "key_agreement",
    "data encipherment": "data_encipherment",
    "cert sign": "key_cert_sign",
    "crl sign": "crl_sign",
    "encipher only": "encipher_only",
    "decipher only": "decipher_only",
}

#: cfssl usage name -> extKeyUsage purpose (asn1crypto's name, or a dotted OID where
#: asn1crypto has none). cfssl config.ExtKeyUsage.
EXT_KEY_USAGES: Dict[str, str] = {
    "any": "any_extended_key_usage",
    "server auth": "server_auth",
    "client auth": "client_auth",
    "code signing": "code_signing",
    "email protection": "email_protection",
    "s/mime": "email_protection",
    "ipsec end system": "ipsec_end_system",
    "ipsec tunnel": "ipsec_tunnel",
    "ipsec user": "ipsec_user",
    "timestamping": "time_stamping",
    "ocsp signing": "ocsp_signing",
    # asn1crypto has no names for these two: dotted OIDs (cfssl: x509.ExtKeyUsage*SGC)
    "microsoft sgc": "1.3.6.1.4.1.311.10.3.3",
    "netscape sgc": "2.16.840.1.113730.4.1",
}

# PrintableString's alphabet (X.680 41.4): letters, digits, space and '()+,-./:=?
_PRINTABLE: FrozenSet[str] = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?"
)
_DNS_LABEL_CHARS: FrozenSet[str] = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
)

# An rfc822Name mailbox's local part as a dot-atom (RFC 5321 4.1.2, RFC 5322 3.2.3): atext
# characters in non-empty dot-separated atoms; quoted local parts are not supported.
_MAILBOX_CHARS: FrozenSet[str] = _DNS_LABEL_CHARS | frozenset("!#$%&'*+/=?^`{|}~")


#: cfssl field -> attribute type OID (X.520)
_NAME_OIDS: Dict[str, str] = {
    "C": "2.5.4.6", "ST": "2.5.4.8", "L": "2.5.4.7", "O": "2.5.4.10", "OU": "2.5.4.11",
    "CN": "2.5.4.3",
}
_PRINTABLE_STRING, _UTF8_STRING = 0x13, 0x0C


def _directory_string(value: str) -> bytes:
    """PrintableString when every character allows it, else UTF8String (as Go does)."""
    tag = _PRINTABLE_STRING if _PRINTABLE.issuperset(value) else _UTF8_STRING
    return _der.tlv(tag, value.encode("utf-8"))


def name_der(fields: Sequence[Tuple[str, Sequence[str]]], common_name: str) -> bytes:
    """DER of a subject Name in Go/cfssl order C, ST, L, O, OU, CN.

    Args:
        fields: ``(cfssl field name, values)`` pairs; several values of one field
            go into one RDN, as Go's pkix.Name does.
        common_name: the CN ("" for none).
    """
    rdns: List[bytes] = []
    for short, values in list(fields) + ([("CN", [common_name])] if common_name else []):
        if values:
            oid = _der.oid(_NAME_OIDS[short])
            rdns.append(_der.set_of(_der.seq(oid, _directory_string(v)) for v in values))
    return _der.seq(*rdns)


def build_name(fields: Sequence[Tuple[str, Sequence[str]]], common_name: str) -> x509.Name:
    """The subject Name as an asn1crypto object (for comparisons with parsed certificates)."""
    return x509.Name.load(name_der(fields, common_name))


class HostError(ValueError):
    """A ``hosts`` entry is not usable; the message says what to write instead."""


def _ip_bytes(host: str) -> Optional[bytes]:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id is not None:
            raise HostError("an IPv6 zone (%%%s) cannot go in a certificate" % ip.scope_id)
        if ip.ipv4_mapped is not None:  # Go writes v4-mapped addresses as 4 bytes
            return ip.ipv4_mapped.packed
    return ip.packed


def ace_form(host: str) -> Optional[str]:
    """The ASCII (A-label) form of a host name as IDNA2008 writes it, for hints; None if unsure.

    Each label is NFC-normalised and lower-cased, and a non-ASCII one becomes
    ``"xn--"`` + its Punycode (RFC 5891 4.4, RFC 3492). Unlike Python's ``idna``
    codec (IDNA2003), ``ß`` is kept as itself, not mapped to ``ss``, as browsers
    and Go's ``idna`` Lookup profile do. The full IDNA2008 validity rules
    (contextual characters, bidi) are not checked: this is a suggestion.

    >>> ace_form("ß.de"), ace_form("Bücher.de"), ace_form("日本.jp")
    ('xn--zca.de', 'xn--bcher-kva.de', 'xn--wgv71a.jp')
    """
    import unicodedata

    labels = []
    for label in unicodedata.normalize("NFC", host).lower().split("."):
        if label.isascii():
            labels.append(label)
            continue
        try:
            labels.append("xn--" + label.encode("punycode").decode("ascii"))
        except UnicodeError:
            return None
    ace = ".".join(labels)
    return ace if len(ace) <= 253 and all(0 < len(x) <= 63 for x in labels) else None


def _check_dns_name(host: str) -> None:
    """dNSName rules: ASCII, labels of letters/digits/-/_, <= 63 chars, no empty
    labels, no label starting or ending with ``-`` and no all-digit last label (RFC 1123
    2.1: so a mistyped IP such as ``010.0.0.1`` is not taken as a name), ``*`` only as the
    whole left-most label (RFC 5280 4.2.1.6, RFC 6125 6.4.3)."""
    if not host.isascii():
        ace = ace_form(host)
        if ace is None:
            raise HostError("non-ASCII host name; write it in its ASCII (xn--) form")
        raise HostError("non-ASCII host name; write it in its ASCII form %r" % ace)
    if len(host) > 253:
        raise HostError("host name is longer than 253 characters")
    labels = host.split(".")
    if labels[-1].isdigit():  # RFC 1123 2.1: a host name is never all-numeric dotted form
        raise HostError("not an IP address, and a host name's last label cannot be all digits "
                        "(an IPv4 address has four numbers 0-255 without leading zeros)")
    for i, label in enumerate(labels):
        if label == "":
            raise HostError("host name has an empty label (a leading, trailing or double dot)")
        if label == "*" and i == 0 and len(labels) > 1:
            continue
        if "*" in label:
            raise HostError("a wildcard must be the whole left-most label, as in *.example.com")
        if len(label) > 63:
            raise HostError("host name label %r is longer than 63 characters" % label)
        if label.startswith("-") or label.endswith("-"):  # RFC 952, RFC 1123 2.1
            raise HostError("host name label %r starts or ends with '-'" % label)
        if not _DNS_LABEL_CHARS.issuperset(label):
            bad = sorted(set(label) - _DNS_LABEL_CHARS)[0]
            raise HostError("%r is not allowed in a host name" % bad)


def classify_hosts(hosts: Sequence[str]) -> Dict[str, List[object]]:
    """Sort cfssl ``hosts`` into SAN groups, each in input order.

    An IP address (v4 or v6) becomes an iPAddress, ``x@y`` an rfc822Name,
    ``scheme://...`` a URI, anything else a validated dNSName.

    Returns:
        ``{"dns": [str], "email": [str], "ip": [bytes], "uri": [str]}``.

    Raises:
        HostError: with the index-free reason; callers add the field path.
    """
    groups: Dict[str, List[object]] = {"dns": [], "email": [], "ip": [], "uri": []}
    for host in hosts:
        if host == "":
            raise HostError('empty host; remove it ("hosts": [] means no SANs)')
        if host != host.strip():
            raise HostError("host has leading or trailing white space")
        packed = _ip_bytes(host)
        if packed is not None:
            groups["ip"].append(packed)
        elif "://" in host:
            scheme = host.split("://", 1)[0]
            if not scheme or not (scheme[0].isascii() and scheme[0].isalpha()):
                raise HostError("URI has no valid scheme")
            try:
                host.encode("ascii")
            except UnicodeEncodeError:
                raise HostError("non-ASCII URI; percent-encode it") from None
            if any(c in host for c in " \t\r\n<>\"{}|\\^`"):
                raise HostError("URI contains a character that must be percent-encoded")
            groups["uri"].append(host)
        elif "@" in host:
            local, _, domain = host.rpartition("@")
            try:
                local.encode("ascii")
            except UnicodeEncodeError:
                raise HostError("non-ASCII e-mail address; it cannot go in an rfc822Name") from None
            atoms = local.split(".")
            if not all(atoms) or not all(_MAILBOX_CHARS.issuperset(a) for a in atoms):
                raise HostError("e-mail address must look like name@example.com")
            if "*" in domain:
                raise HostError("an e-mail address cannot have a wildcard domain")
            _check_dns_name(domain)
            groups["email"].append(host)
        else:
            _check_dns_name(host)
            groups["dns"].append(host)
    return groups


def general_names_der(groups: Dict[str, List[object]]) -> bytes:
    """DER of the SAN GeneralNames in cfssl/Go order: DNS names, e-mails, IPs, URIs.

    Each is an IMPLICIT context tag over the text (or the address bytes) exactly as
    given: [2] dNSName, [1] rfc822Name, [7] iPAddress, [6] uniformResourceIdentifier.
    """
    parts: List[bytes] = []
    for kind, tag in (("dns", 2), ("email", 1), ("ip", 7), ("uri", 6)):
        for value in groups[kind]:
            raw = value if isinstance(value, bytes) else str(value).encode("ascii")
            parts.append(_der.context(tag, raw, constructed=False))
    return _der.seq(*parts)


def time_der(moment: datetime) -> bytes:
    """UTCTime for 1950-2049, GeneralizedTime otherwise (RFC 5280 4.1.2.5); whole seconds, Z.

    UTCTime has a two-digit year that RFC 5280 reads as 19YY for YY >= 50 and
    20YY below, so 1949 written as UTCTime would read back as 2049.

    >>> time_der(datetime(1949, 6, 1, tzinfo=timezone.utc))
    b'\\x18\\x0f19490601000000Z'
    >>> time_der(datetime(1950, 1, 1, tzinfo=timezone.utc))
    b'\\x17\\r500101000000Z'
    """
    moment = moment.astimezone(timezone.utc)
    clock = "%02d%02d%02d%02d%02dZ" % (moment.month, moment.day, moment.hour, moment.minute,
                                       moment.second)
    if 1950 <= moment.year < 2050:
        return _der.tlv(0x17, ("%02d" % (moment.year % 100) + clock).encode("ascii"))
    return _der.tlv(0x18, ("%04d" % moment.year + clock).encode("ascii"))


def key_identifier(public_key_info: keys.PublicKeyInfo) -> bytes:
    """SHA-1 of the subjectPublicKey BIT STRING's value (RFC 5280 4.2.1.2 method 1, as Go)."""
    bits = public_key_info["public_key"]
    raw = bits.contents[1:]  # skip the unused-bits octet
    return hashlib.sha1(raw).digest()


def random_serial() -> int:
    """20 random bytes, top bit cleared (a positive INTEGER of <= 20 octets), never zero."""
    while True:
        raw = bytearray(os.urandom(20))
        raw[0] &= 0x7F
        value = int.from_bytes(bytes(raw), "big")
        if value:
            return value


def hash_for_key(algorithm: str, bit_size: int) -> str:
    """Digest for a signing key, as cfssl's DefaultSigAlgo picks it.

    RSA: sha256 below 3072 bits, sha384 below 4096, else sha512.
    ECDSA: sha256 for P-256, sha384 for P-384, sha512 for P-521.
    """
    if algorithm == "rsa":
        if bit_size < 3072:
            return "sha256"
        return "sha384" if bit_size < 4096 else "sha512"
    return {256: "sha256", 384: "sha384"}.get(bit_size, "sha512")


#: (key algorithm, hash) -> signature algorithm OID (RFC 4055, RFC 5758)
_SIGNATURE_OIDS: Dict[Tuple[str, str], str] = {
    ("rsa", "sha256"): "1.2.840.113549.1.1.11",
    ("rsa", "sha384"): "1.2.840.113549.1.1.12",
    ("rsa", "sha512"): "1.2.840.113549.1.1.13",
    ("ecdsa", "sha256"): "1.2.840.10045.4.3.2",
    ("ecdsa", "sha384"): "1.2.840.10045.4.3.3",
    ("ecdsa", "sha512"): "1.2.840.10045.4.3.4",
}


def signature_algorithm_der(algorithm: str, hash_name: str) -> bytes:
    """AlgorithmIdentifier DER for a signature: RSA with NULL parameters, ECDSA with none."""
    oid = _der.oid(_SIGNATURE_OIDS[("ecdsa" if algorithm == "ec" else algorithm, hash_name)])
    return _der.seq(oid, _der.null()) if algorithm == "rsa" else _der.seq(oid)


def extension_der(oid: str, critical: bool, value: bytes) -> bytes:
    """One Extension: extnID, critical only when TRUE (DER omits the default), extnValue."""
    if critical:
        return _der.seq(_der.oid(oid), _der.boolean(True), _der.octet_string(value))
    return _der.seq(_der.oid(oid), _der.octet_string(value))


#: keyUsage bit numbers (RFC 5280 4.2.1.3), by asn1crypto's names used in KEY_USAGES
KEY_USAGE_BITS: Dict[str, int] = {
    "digital_signature": 0, "non_repudiation": 1, "key_encipherment": 2,
    "data_encipherment": 3, "key_agreement": 4, "key_cert_sign": 5, "crl_sign": 6,
    "encipher_only": 7, "decipher_only": 8,
}


def key_usage_der(names: Iterable[str]) -> bytes:
    """keyUsage BIT STRING for asn1crypto bit names (trailing zero bits dropped)."""
    return _der.named_bits(sorted(KEY_USAGE_BITS[n] for n in set(names)))


def ext_key_usage_der(purposes: Sequence[str]) -> bytes:
    """extKeyUsage SEQUENCE OF OIDs, for asn1crypto purpose names or dotted OIDs, in order."""
    return _der.seq(*(_der.oid(_purpose_oid(p)) for p in purposes))


def _purpose_oid(purpose: str) -> str:
    if purpose[:1].isdigit():
        return purpose
    return _PURPOSE_OIDS[purpose]


_PURPOSE_OIDS: Dict[str, str] = {name: dotted for dotted, name in x509.KeyPurposeId._map.items()}


def backdated(now: datetime, backdate: timedelta) -> datetime:
    """notBefore: ``now`` minus the backdate, in UTC, whole seconds."""
    return (now.astimezone(timezone.utc) - backdate).replace(microsecond=0)
