"""asn1crypto glue: subject names, hosts -> SANs, usage tables, times, key ids, serials.

Everything here builds DER the way Go's crypto/x509 (and so cfssl) lays it out,
except where docs/compat.md says otherwise. No libcrypto: signing happens in
:mod:`._crypto`.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
from datetime import datetime, timedelta, timezone
from typing import Dict, FrozenSet, List, Optional, Sequence, Tuple

from asn1crypto import algos, core, keys, x509

__all__ = [
    "EXT_KEY_USAGES",
    "KEY_USAGES",
    "NAME_FIELDS",
    "build_name",
    "classify_hosts",
    "general_names",
    "hash_for_key",
    "key_identifier",
    "random_serial",
    "signature_algorithm",
    "x509_time",
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


def _directory_string(value: str) -> x509.DirectoryString:
    """PrintableString when every character allows it, else UTF8String (as Go does)."""
    kind = "printable_string" if _PRINTABLE.issuperset(value) else "utf8_string"
    return x509.DirectoryString(name=kind, value=value)


def build_name(fields: Sequence[Tuple[str, Sequence[str]]], common_name: str) -> x509.Name:
    """Build a subject Name in Go/cfssl order C, ST, L, O, OU, CN.

    Args:
        fields: ``(cfssl field name, values)`` pairs; several values of one field
            go into one RDN, as Go's pkix.Name does.
        common_name: the CN ("" for none).
    """
    attr = {short: long for short, long, _ in NAME_FIELDS}
    rdns: List[x509.RelativeDistinguishedName] = []
    for short, values in fields:
        if values:
            rdns.append(_rdn(attr[short], values))
    if common_name:
        rdns.append(_rdn("common_name", [common_name]))
    return x509.Name(name="", value=x509.RDNSequence(rdns))


def _rdn(attr: str, values: Sequence[str]) -> x509.RelativeDistinguishedName:
    atvs = [x509.NameTypeAndValue({"type": attr, "value": _directory_string(v)}) for v in values]
    if len(atvs) > 1:  # DER: a SET OF is sorted by the encodings of its members
        atvs.sort(key=lambda atv: atv.dump())
    return x509.RelativeDistinguishedName(atvs)


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


def _check_dns_name(host: str) -> None:
    """dNSName rules: ASCII, labels of letters/digits/-/_, <= 63 chars, no empty
    labels, no label starting or ending with ``-`` and no all-digit last label (RFC 1123
    2.1: so a mistyped IP such as ``010.0.0.1`` is not taken as a name), ``*`` only as the
    whole left-most label (RFC 5280 4.2.1.6, RFC 6125 6.4.3)."""
    try:
        host.encode("ascii")
    except UnicodeEncodeError:
        try:
            ace = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise HostError("non-ASCII host name; write it in its ASCII (xn--) form") from None
        raise HostError("non-ASCII host name; write it in its ASCII form %r" % ace) from None
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


def general_names(groups: Dict[str, List[object]]) -> x509.GeneralNames:
    """SAN GeneralNames in cfssl/Go order: DNS names, e-mails, IPs, URIs."""
    names: List[x509.GeneralName] = []
    for value in groups["dns"]:
        names.append(x509.GeneralName(name="dns_name", value=value))
    for value in groups["email"]:
        names.append(
            x509.GeneralName(
                name="rfc822_name",
                value=x509.EmailAddress(contents=str(value).encode("ascii")),
            )
        )
    for value in groups["ip"]:
        assert isinstance(value, bytes)
        names.append(x509.GeneralName(name="ip_address", value=x509.IPAddress(contents=value)))
    for value in groups["uri"]:
        # contents= keeps the text byte for byte (asn1crypto's URI would normalise it)
        names.append(
            x509.GeneralName(
                name="uniform_resource_identifier",
                value=x509.URI(contents=str(value).encode("ascii")),
            )
        )
    return x509.GeneralNames(names)


def x509_time(moment: datetime) -> x509.Time:
    """UTCTime before 2050, GeneralizedTime from 2050 (RFC 5280 4.1.2.5), whole seconds."""
    moment = moment.astimezone(timezone.utc).replace(microsecond=0)
    if moment.year < 2050:
        return x509.Time(name="utc_time", value=moment)
    return x509.Time(name="general_time", value=moment)


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


def signature_algorithm(algorithm: str, hash_name: str) -> algos.SignedDigestAlgorithm:
    """AlgorithmIdentifier for a signature: RSA with NULL parameters, ECDSA with none."""
    if algorithm == "rsa":
        return algos.SignedDigestAlgorithm(
            {"algorithm": hash_name + "_rsa", "parameters": core.Null()}
        )
    return algos.SignedDigestAlgorithm({"algorithm": hash_name + "_ecdsa"})


def backdated(now: datetime, backdate: timedelta) -> datetime:
    """notBefore: ``now`` minus the backdate, in UTC, whole seconds."""
    return (now.astimezone(timezone.utc) - backdate).replace(microsecond=0)
