"""Signing configs and profiles; ``create_ca``, ``issue_cert``, ``sign_csr`` (cfssl gencert/sign).

A signing config is cfssl's JSON document, already parsed::

    {"signing": {"default": {"expiry": "87600h"},
                 "profiles": {"kubernetes": {"usages": ["signing", "key encipherment",
                                                        "server auth", "client auth"],
                                             "expiry": "87600h"}}}}

Profile fields used: ``usages`` (cfssl's usage names), ``expiry`` and
``backdate`` (Go durations), ``ca_constraint`` (``is_ca``, ``max_path_len``,
``max_path_len_zero``) for intermediate CAs. With no config at all, cfssl's
built-in default profile applies (signing, key encipherment, server auth,
client auth; 8760h).

>>> profile = select_profile(None)
>>> profile.usages, profile.expiry // 3_600_000_000_000
(('signing', 'key encipherment', 'server auth', 'client auth'), 8760)
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

from . import _spec
from ._duration import HOUR, MINUTE, utc_now
from .csr import (
    CAOptions,
    CSRSpec,
    check_hosts,
    check_path_len,
    parse_csr_spec,
    parse_duration_field,
)
from .errors import CSRSpecError, KpkiliteError, PEMError, SigningConfigError, SigningError

__all__ = [
    "DEFAULT_CA_EXPIRY",
    "DEFAULT_PROFILE",
    "Profile",
    "create_ca",
    "issue_cert",
    "parse_signing_config",
    "select_profile",
    "sign_csr",
]

PEMInput = Union[str, bytes]

#: CA validity when the CSR spec's ``ca.expiry`` is absent (cfssl initca: 5 years).
DEFAULT_CA_EXPIRY = 43800 * HOUR
_DEFAULT_BACKDATE = 5 * MINUTE
_PROFILE_KEYS = ("usages", "expiry", "backdate", "ca_constraint")
_CFSSL_PROFILE_KEYS = (
    "issuer_urls", "ocsp_url", "crl_url", "name_whitelist", "auth_key", "remote",
    "auth_remote", "not_before", "not_after", "policies", "ocsp_no_check", "copy_extensions",
    "allowed_extensions", "cert_store", "lint_error_level", "ignored_lints", "expiry_string",
    "ca_constraints", "whitelist",
)
_CA_CONSTRAINT_KEYS = ("is_ca", "max_path_len", "max_path_len_zero")
_CSR_TYPES = ("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST")
_CSR_CURVES = (("named", "secp256r1"), ("named", "secp384r1"), ("named", "secp521r1"))
_CSR_SIGNATURES = {(scheme, digest) for scheme in ("rsassa_pkcs1v15", "ecdsa")
                   for digest in ("sha256", "sha384", "sha512")}
_KEY_TYPES = ("RSA PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY")


@dataclass(frozen=True)
class Profile:
    """One signing profile. ``expiry`` and ``backdate`` are nanoseconds.

    ``max_path_len`` is None for no limit; it only matters when ``is_ca``.
    """

    name: str
    usages: Tuple[str, ...]
    expiry: int
    backdate: int = _DEFAULT_BACKDATE
    is_ca: bool = False
    max_path_len: Optional[int] = None


#: cfssl's built-in default profile (config.DefaultConfig).
DEFAULT_PROFILE = Profile(
    "default", ("signing", "key encipherment", "server auth", "client auth"), 8760 * HOUR
)


def _parse_usages(value: Any, where: str) -> Tuple[str, ...]:
    from ._asn1 import EXT_KEY_USAGES, KEY_USAGES

    usages = _spec.get_str_list({"usages": value}, "usages", where.rsplit(".", 1)[0],
                                SigningConfigError)
    known = list(KEY_USAGES) + list(EXT_KEY_USAGES)
    for i, usage in enumerate(usages):
        if usage not in KEY_USAGES and usage not in EXT_KEY_USAGES:
            raise SigningConfigError("%s[%d]: unknown usage %r%s"
                                     % (where, i, usage, _spec.did_you_mean(usage, known)))
    return tuple(usages)


def _parse_profile(doc: Any, name: str, where: str, fallback_expiry: int) -> Profile:
    found = _spec.fields(doc, where, _PROFILE_KEYS, SigningConfigError,
                         ignored=_CFSSL_PROFILE_KEYS)
    usages = _parse_usages(found.get("usages"), where + ".usages")
    expiry = fallback_expiry
    if found.get("expiry") not in (None, ""):
        expiry = parse_duration_field(found["expiry"], where + ".expiry", SigningConfigError)
    backdate = _DEFAULT_BACKDATE
    if found.get("backdate") not in (None, ""):
        backdate = parse_duration_field(found["backdate"], where + ".backdate", SigningConfigError)
    is_ca, path_len = False, None
    if found.get("ca_constraint") is not None:
        cwhere = where + ".ca_constraint"
        cons = _spec.fields(found["ca_constraint"], cwhere, _CA_CONSTRAINT_KEYS,
                            SigningConfigError)
        is_ca = _spec.get_bool(cons, "is_ca", cwhere, SigningConfigError)
        length = _spec.get_int(cons, "max_path_len", cwhere, SigningConfigError)
        zero = _spec.get_bool(cons, "max_path_len_zero", cwhere, SigningConfigError)
        if length is not None and length < 0:
            raise SigningConfigError("%s.max_path_len: %s is negative"
                                     % (cwhere, _spec.short_int(length)))
        if length is not None:
            check_path_len(length, cwhere + ".max_path_len", SigningConfigError)
        path_len = length if length else None
        if zero:
            if length:
                raise SigningConfigError("%s.max_path_len_zero: true contradicts max_path_len %d"
                                         % (cwhere, length))
            path_len = 0
    if is_ca and "cert sign" not in usages:
        raise SigningConfigError("%s.usages: a profile with ca_constraint.is_ca needs "
                                 "\"cert sign\" (a CA that may not sign is refused as an "
                                 "issuer)" % where)
    return Profile(name, usages, expiry, backdate, is_ca, path_len)


def parse_signing_config(config: Optional[Mapping[str, Any]]) -> Dict[str, Profile]:
    """Validate a cfssl signing config and return its profiles by name.

    The ``default`` section is returned under the name ``"default"`` (cfssl's
    built-in default when the config has none). A profile without ``expiry``
    takes the default section's.

    Raises:
        SigningConfigError: a field is invalid (the message starts with its path).
        TypeError: ``config`` is neither None nor a mapping.
    """
    if config is None:
        return {"default": DEFAULT_PROFILE}
    if not isinstance(config, Mapping):
        raise TypeError("config must be a mapping (the parsed signing JSON), not %s"
                        % type(config).__name__)
    top = _spec.fields(config, "", ("signing",), SigningConfigError,
                       ignored=("auth_keys", "remotes", "ocsp"))
    if top.get("signing") is None:
        raise SigningConfigError("signing: missing; a signing config looks like "
                                 '{"signing": {"default": {...}, "profiles": {...}}}')
    signing = _spec.fields(top["signing"], "signing", ("default", "profiles"), SigningConfigError)
    profiles: Dict[str, Profile] = {}
    if signing.get("default") is not None:
        profiles["default"] = _parse_profile(signing["default"], "default", "signing.default",
                                             DEFAULT_PROFILE.expiry)
    else:
        profiles["default"] = DEFAULT_PROFILE
    raw = signing.get("profiles")
    if raw is not None:
        if not isinstance(raw, Mapping):
            raise SigningConfigError("signing.profiles: expected an object, got %s"
                                     % _spec.json_type(raw))
        for name, doc in raw.items():
            profiles[name] = _parse_profile(doc, name, "signing.profiles.%s" % name,
                                            profiles["default"].expiry)
    return profiles


def select_profile(config: Optional[Mapping[str, Any]], profile: Optional[str] = None) -> Profile:
    """The profile to sign with: ``profile`` by name, else the default section.

    Raises:
        SigningConfigError: unknown profile, or a profile with no usages.
    """
    if profile is not None and not isinstance(profile, str):
        raise TypeError("profile must be a str or None, not %s" % type(profile).__name__)
    profiles = parse_signing_config(config)
    name = profile or "default"
    others = sorted(n for n in profiles if n != "default")
    listing = ", ".join(others) if others else "none"
    if name not in profiles:
        raise SigningConfigError("profile %r is not in the signing config%s (profiles: %s)"
                                 % (name, _spec.did_you_mean(name, others), listing))
    chosen = profiles[name]
    if not chosen.usages:
        hint = "choose one with -profile" if others else "add usages to it"
        raise SigningConfigError("profile %r has no usages; %s (profiles: %s)"
                                 % (name, hint, listing))
    return chosen


# --- certificates -----------------------------------------------------------------------


@dataclass
class _Issuer:
    """A loaded CA: its certificate (certinfo's loader), key handle and facts used in checks."""

    cert: Any
    key: Any
    subject: bytes
    key_id: bytes
    not_after: datetime
    path_len: Optional[int]
    label: str
    not_before: datetime


# Loaded CAs by a digest of their (certificate, key) inputs. Loading a CA key costs
# about 1.5 ms (PEM, consistency checks, libcrypto), more than building and signing a
# certificate, so a process issuing many leaves from one CA loads it once. The key
# handle stays in memory for the process's life (at most _ISSUERS_MAX of them); the
# inputs themselves are not kept, only their SHA-256.
_ISSUERS: OrderedDict[bytes, _Issuer] = OrderedDict()
_ISSUERS_MAX = 4
_issuers_lock = threading.Lock()


def _load_key(data: PEMInput, what: str) -> Any:
    from . import _crypto

    if not isinstance(data, (str, bytes)):
        raise TypeError("%s must be PEM str or bytes, not %s" % (what, type(data).__name__))
    try:
        return _crypto.load_private_key(data)
    except PEMError as exc:
        raise PEMError("%s: %s" % (what, exc.message)) from None


def _issuer_digest(ca_cert: PEMInput, ca_key: PEMInput) -> Optional[bytes]:
    parts = []
    for value in (ca_cert, ca_key):
        if isinstance(value, str):
            parts.append(b"s" + value.encode("utf-8", "surrogatepass"))
        elif isinstance(value, (bytes, bytearray)):
            parts.append(b"b" + bytes(value))
        else:
            return None  # a TypeError is raised by the loaders
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.digest()


def _load_issuer(ca_cert: PEMInput, ca_key: PEMInput, now: datetime) -> _Issuer:
    """The CA for these inputs, checked (not a CA, key mismatch, expired); loaded once."""
    digest = _issuer_digest(ca_cert, ca_key)
    issuer = None
    if digest is not None:
        with _issuers_lock:
            issuer = _ISSUERS.get(digest)
            if issuer is not None:
                _ISSUERS.move_to_end(digest)
    if issuer is None:
        issuer = _read_issuer(ca_cert, ca_key)
        if digest is not None:
            with _issuers_lock:
                _ISSUERS[digest] = issuer
                while len(_ISSUERS) > _ISSUERS_MAX:
                    _ISSUERS.popitem(last=False)
    if now >= issuer.not_after:
        raise SigningError("ca_cert: %s expired on %s; renew the CA first"
                           % (issuer.label, _stamp(issuer.not_after)))
    if now < issuer.not_before:
        _spec.warn("ca_cert: %s is not valid until %s; what it signs now does not verify "
                   "before then (is this machine's clock right?)"
                   % (issuer.label, _stamp(issuer.not_before)))
    return issuer


def _read_issuer(ca_cert: PEMInput, ca_key: PEMInput) -> _Issuer:
    from .certinfo import _Cert, _to_datetime

    if not isinstance(ca_cert, (str, bytes)):
        raise TypeError("ca_cert must be PEM str or bytes, not %s" % type(ca_cert).__name__)
    try:
        cert = _Cert(ca_cert)  # the one certificate loader: every field read and checked
    except PEMError as exc:
        raise PEMError("ca_cert: %s" % exc.message) from None
    key = _load_key(ca_key, "ca_key")
    if not cert.is_ca:
        raise SigningError("ca_cert: %s is not a CA certificate (no basicConstraints CA:TRUE); "
                           "sign with the CA's certificate" % cert.label)
    if not cert.may_sign_certs:
        raise SigningError("ca_cert: %s may not sign certificates (keyUsage lacks keyCertSign)"
                           % cert.label)
    if key.public_key_info.dump() != cert.spki_der:
        raise SigningError("ca_key does not match ca_cert (their public keys differ); "
                           "pass the CA's own key")
    ident = cert.ski if cert.ski is not None else _ski_of(cert.spki_der)
    return _Issuer(cert, key, cert.subject_der, ident, cert.not_after_dt, cert.path_len,
                   cert.label, _to_datetime(cert.not_before_raw))


def _ski_of(spki_der: bytes) -> bytes:
    from asn1crypto import keys

    from . import _asn1

    return _asn1.key_identifier(keys.PublicKeyInfo.load(spki_der))


#: extension OIDs (RFC 5280 4.2.1)
_KU, _EKU, _BC, _SKI, _AKI, _SAN = (
    "2.5.29.15", "2.5.29.37", "2.5.29.19", "2.5.29.14", "2.5.29.35", "2.5.29.17")


def _extensions(
    *,
    profile: Profile,
    public_key_info: Any,
    groups: Optional[Dict[str, List[object]]],
    subject_empty: bool,
    authority_key_id: Optional[bytes],
    ca_path_len: Optional[int],
    is_ca: bool,
) -> bytes:
    """The extensions' DER, in Go's order: KU, EKU, BC, SKI, AKI, SAN."""
    from . import _asn1
    from . import _der as der

    exts: List[bytes] = []
    if is_ca and not profile.usages:  # a self-signed root from create_ca
        ku_bits = {"key_cert_sign", "crl_sign"}
        eku: List[str] = []
    else:
        ku_bits = {_asn1.KEY_USAGES[u] for u in profile.usages if u in _asn1.KEY_USAGES}
        eku = list(dict.fromkeys(_asn1.EXT_KEY_USAGES[u] for u in profile.usages
                                 if u in _asn1.EXT_KEY_USAGES))
    if public_key_info.algorithm == "ec" and "key_encipherment" in ku_bits:
        ku_bits.discard("key_encipherment")
        _spec.warn("profile %r: 'key encipherment' dropped for an ECDSA key (RFC 8813)"
                   % profile.name)
    if ku_bits:
        exts.append(_asn1.extension_der(_KU, True, _asn1.key_usage_der(ku_bits)))
    if eku:
        exts.append(_asn1.extension_der(_EKU, False, _asn1.ext_key_usage_der(eku)))
    if is_ca:
        limit = der.integer(ca_path_len) if ca_path_len is not None else b""
        exts.append(_asn1.extension_der(_BC, True, der.seq(der.boolean(True), limit)))
    else:  # CA:FALSE is the DEFAULT, so DER leaves it out: an empty SEQUENCE, as Go writes
        exts.append(_asn1.extension_der(_BC, True, der.seq()))
    exts.append(_asn1.extension_der(
        _SKI, False, der.octet_string(_asn1.key_identifier(public_key_info))))
    if authority_key_id is not None:
        exts.append(_asn1.extension_der(
            _AKI, False, der.seq(der.context(0, authority_key_id, constructed=False))))
    if groups is not None and any(groups.values()):
        exts.append(_asn1.extension_der(_SAN, subject_empty, _asn1.general_names_der(groups)))
    return der.seq(*exts)


def _certificate(
    *,
    subject: bytes,
    public_key_info: Any,
    groups: Optional[Dict[str, List[object]]],
    profile: Profile,
    issuer: Optional[_Issuer],
    signer_key: Any,
    now: datetime,
    path_len: Optional[int],
    fields: _Fields,
) -> str:
    """Build and sign one certificate; ``subject`` is the Name's DER. Returns PEM."""
    from . import _asn1
    from . import _der as der
    from ._pem import format_pem

    not_before, not_after = _validity(now, profile, fields)
    if issuer is not None and not_after > issuer.not_after:
        cut = not_after - issuer.not_after
        if cut > timedelta(days=1):
            _spec.warn("profile %r: notAfter cut to the CA's notAfter %s (%d day%s earlier)"
                       % (profile.name, _stamp(issuer.not_after),
                          cut.days, "" if cut.days == 1 else "s"))
        not_after = issuer.not_after
    extensions = _extensions(
        profile=profile,
        public_key_info=public_key_info,
        groups=groups,
        subject_empty=subject == _EMPTY_NAME,
        authority_key_id=issuer.key_id if issuer is not None else None,
        ca_path_len=path_len,
        is_ca=profile.is_ca,
    )
    hash_name = _asn1.hash_for_key(signer_key.algorithm, signer_key.bit_size)
    sigalg = _asn1.signature_algorithm_der(signer_key.algorithm, hash_name)
    tbs = der.seq(
        der.context(0, der.integer(2)),  # version v3
        der.integer(_asn1.random_serial()),
        sigalg,
        issuer.subject if issuer is not None else subject,
        der.seq(_asn1.time_der(not_before), _asn1.time_der(not_after)),
        subject,
        public_key_info.dump(),
        der.context(3, extensions),
    )
    signature = signer_key.sign(tbs, hash_name)
    return format_pem("CERTIFICATE", der.seq(tbs, sigalg, der.bit_string(signature)))


_EMPTY_NAME = b"\x30\x00"

#: where a profile's expiry and backdate came from, for messages, and the error to raise
_Fields = Tuple[str, str, type]
_CA_FIELDS: _Fields = ("ca.expiry", "ca.backdate", CSRSpecError)


def _profile_fields(profile: Profile) -> _Fields:
    where = "signing.default" if profile.name == "default" else (
        "signing.profiles.%s" % profile.name)
    return (where + ".expiry", where + ".backdate", SigningConfigError)


def _validity(now: datetime, profile: Profile, fields: _Fields) -> Tuple[datetime, datetime]:
    """(notBefore, notAfter): ``now`` minus the backdate, plus the expiry.

    Both must fall in years 1-9999 (what GeneralizedTime, RFC 5280 4.1.2.5.2,
    and Python's datetime can hold); outside that, the field that pushed the
    time out is named.
    """
    from . import _asn1
    from ._duration import format_duration

    expiry_field, backdate_field, error = fields
    try:
        not_before = _asn1.backdated(now, timedelta(microseconds=profile.backdate // 1000))
    except OverflowError:
        raise error("%s: %s before %s is before the year 1, which no certificate can hold"
                    % (backdate_field, format_duration(profile.backdate),
                       _stamp(now.astimezone(timezone.utc)))) from None
    try:
        not_after = not_before + timedelta(microseconds=profile.expiry // 1000)
    except OverflowError:
        raise error("%s: %s after %s is after the year 9999, which no certificate can hold"
                    % (expiry_field, format_duration(profile.expiry), _stamp(not_before))) \
            from None
    return not_before, not_after


def _stamp(moment: datetime) -> str:
    """RFC 3339 UTC, four-digit year whatever the platform's strftime does with year 1."""
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (moment.year, moment.month, moment.day,
                                               moment.hour, moment.minute, moment.second)


def _intermediate_path_len(profile: Profile, issuer: _Issuer) -> Optional[int]:
    """Check a CA-issuing profile against the issuer's path length; return the new limit."""
    if not profile.is_ca:
        return None
    if issuer.path_len is not None:
        if issuer.path_len == 0:
            raise SigningError("ca_cert has pathlen 0: it cannot issue CA certificates "
                               "(profile %r has ca_constraint.is_ca)" % profile.name)
        if profile.max_path_len is None or profile.max_path_len >= issuer.path_len:
            raise SigningError("profile %r: the new CA needs max_path_len below the issuer's "
                               "pathlen %s" % (profile.name, _spec.short_int(issuer.path_len)))
    return profile.max_path_len


def create_ca(spec: Mapping[str, Any], *, now: Optional[datetime] = None) -> Dict[str, str]:
    """Make a self-signed CA from a CSR spec, as ``cfssl gencert -initca`` does.

    keyUsage certSign+cRLSign (critical), basicConstraints CA:TRUE (critical,
    pathlen from ``ca.pathlen``/``ca.pathlenzero``), subject key id. Validity:
    ``ca.expiry`` (default 43800h) from ``now`` minus 5 minutes. ``hosts`` go into
    the CA's CSR but not its certificate, as with cfssl 1.2.

    Returns:
        ``{"cert": PEM, "key": PEM, "csr": PEM}``.

    Raises:
        CSRSpecError: the spec is invalid.
        BackendError: libcrypto cannot be used.
    """

    moment = utc_now(now)
    parsed = parse_csr_spec(spec)
    ca = parsed.ca
    profile = Profile(
        "ca",
        (),
        ca.expiry if ca is not None and ca.expiry else DEFAULT_CA_EXPIRY,
        ca.backdate if ca is not None and ca.backdate else _DEFAULT_BACKDATE,
        True,
        ca.pathlen if ca is not None else None,
    )
    if parsed.ca is None:  # the CA's own CSR always requests CA:TRUE
        parsed = replace(parsed, ca=CAOptions(None, None, None))
    _validity(moment, profile, _CA_FIELDS)  # before a key is made for nothing
    return _key_csr_cert(parsed, profile, None, moment, profile.max_path_len, _CA_FIELDS)


def _key_csr_cert(
    parsed: CSRSpec,
    profile: Profile,
    issuer: Optional[_Issuer],
    now: datetime,
    path_len: Optional[int],
    fields: _Fields,
) -> Dict[str, str]:
    """A new key, its CSR, and its certificate signed by ``issuer`` (None: self-signed)."""
    from . import _asn1, _crypto
    from ._pem import format_pem
    from .csr import build_csr

    key = _crypto.generate_private_key(parsed.key_algo, parsed.key_size)
    request, subject = build_csr(parsed, key)
    cert = _certificate(
        subject=subject,
        public_key_info=key.public_key_info,
        # cfssl 1.2 asks for the SANs in a new CA's CSR but leaves them off its certificate
        groups=_asn1.classify_hosts(parsed.hosts) if parsed.hosts and issuer else None,
        profile=profile,
        issuer=issuer,
        signer_key=issuer.key if issuer is not None else key,
        now=now,
        path_len=path_len,
        fields=fields,
    )
    return {"cert": cert, "key": key.to_pem(), "csr": format_pem("CERTIFICATE REQUEST", request)}


def issue_cert(
    spec: Mapping[str, Any],
    *,
    ca_cert: PEMInput,
    ca_key: PEMInput,
    config: Optional[Mapping[str, Any]] = None,
    profile: Optional[str] = None,
    now: Optional[datetime] = None,
) -> Dict[str, str]:
    """Make a key, a CSR and a certificate signed by the CA, as ``cfssl gencert -ca`` does.

    Args:
        spec: the parsed CSR spec (no ``ca`` block: that is for ``create_ca``).
        ca_cert: the CA certificate, PEM or DER.
        ca_key: the CA private key, PEM or DER (PKCS#1, SEC1 or PKCS#8).
        config: the parsed signing config; None means cfssl's built-in default.
        profile: the profile name; None means the config's default section.
        now: the signing time (aware datetime); default the current time.

    Returns:
        ``{"cert": PEM, "key": PEM, "csr": PEM}``.

    Raises:
        CSRSpecError, SigningConfigError, PEMError: invalid input.
        SigningError: the CA cannot sign (not a CA, key mismatch, expired, path length).
        BackendError: libcrypto cannot be used.
    """

    moment = utc_now(now)
    parsed = parse_csr_spec(spec)
    if parsed.ca is not None:
        raise CSRSpecError("ca: a \"ca\" block only applies to a new CA (gencert -initca); "
                           "remove it, or sign with a profile that has ca_constraint")
    chosen = select_profile(config, profile)
    _validity(moment, chosen, _profile_fields(chosen))  # a config error before the CA's
    issuer = _load_issuer(ca_cert, ca_key, moment)
    path_len = _intermediate_path_len(chosen, issuer)
    return _key_csr_cert(parsed, chosen, issuer, moment, path_len, _profile_fields(chosen))


#: asn1crypto GeneralName choice -> RFC 5280 name, for messages.
_GENERAL_NAME_KINDS = {"other_name": "otherName", "x400_address": "x400Address",
                       "directory_name": "directoryName", "edi_party_name": "ediPartyName",
                       "registered_id": "registeredID"}


def _csr_groups(request: Any) -> Optional[Dict[str, List[object]]]:
    """SANs requested in a CSR, regrouped in Go's order; unsupported kinds are refused."""
    groups: Dict[str, List[object]] = {"dns": [], "email": [], "ip": [], "uri": []}
    found = False
    for ext in _requested_extensions(request, "subject_alt_name"):
        for gn in ext["extn_value"].parsed:
            found = True
            kind = gn.name
            raw = gn.chosen.contents
            if kind == "dns_name":
                groups["dns"].append(raw.decode("ascii"))
            elif kind == "rfc822_name":
                groups["email"].append(raw.decode("ascii"))
            elif kind == "ip_address":
                groups["ip"].append(bytes(raw))
            elif kind == "uniform_resource_identifier":
                groups["uri"].append(raw.decode("ascii"))
            else:
                _spec.warn("csr: a %s SAN is not supported and is left out"
                           % _GENERAL_NAME_KINDS.get(kind, kind))
    return groups if found else None


def _invalid_csr(der: bytes, exc: BaseException) -> PEMError:
    """What a CSR that does not parse is instead (``found CERTIFICATE DER``), in one line."""
    from .certinfo import _CSR_TYPES as csr_types
    from .certinfo import _invalid_der

    return _invalid_der(der, "certificate request", csr_types, exc)


def _requested_extensions(request: Any, name: str) -> Iterator[Any]:
    """The CSR's requested extensions (PKCS#9 extensionRequest) with this asn1crypto name."""
    for attr in request["certification_request_info"]["attributes"]:
        if attr["type"].native != "extension_request":
            continue
        for exts in attr["values"]:
            for ext in exts:
                if ext["extn_id"].native == name:
                    yield ext


def _csr_requests_ca(request: Any) -> bool:
    return any(ext["extn_value"].parsed["ca"].native
               for ext in _requested_extensions(request, "basic_constraints"))


def sign_csr(
    csr_pem: PEMInput,
    *,
    ca_cert: PEMInput,
    ca_key: PEMInput,
    config: Optional[Mapping[str, Any]] = None,
    profile: Optional[str] = None,
    hosts: Optional[Sequence[str]] = None,
    now: Optional[datetime] = None,
) -> str:
    """Sign a PKCS#10 CSR with the CA, as ``cfssl sign`` does.

    The subject is copied from the CSR byte for byte; the SANs are the CSR's
    requested ones unless ``hosts`` replaces them (cfssl's ``-hostname``).
    The CSR's self-signature must verify.

    Returns:
        The certificate, PEM.

    Raises:
        PEMError: the CSR is not a valid PKCS#10 request or its signature fails.
        SigningConfigError, SigningError, BackendError: as :func:`issue_cert`.
    """
    from asn1crypto import csr as asn1csr

    from . import _asn1, _crypto
    from ._pem import der_from_input

    moment = utc_now(now)
    try:
        der = der_from_input(csr_pem, _CSR_TYPES)
    except PEMError as exc:
        raise PEMError("csr: %s" % exc.message) from None
    try:
        request = asn1csr.CertificationRequest.load(der, strict=True)
        info = request["certification_request_info"]
        info["subject"].native  # noqa: B018 - force the lazy parse inside the try
        spki = info["subject_pk_info"]
        key_algo = spki.algorithm
        sig_algo = request["signature_algorithm"]
        signature = request["signature"].native
        groups = _csr_groups(request)
        wants_ca = _csr_requests_ca(request)
        if key_algo in ("rsa", "ec"):
            spki_size = spki.bit_size
            curve = spki.curve if key_algo == "ec" else None
        scheme = sig_algo.signature_algo
        hash_name = sig_algo.hash_algo
    except (KpkiliteError, Warning):
        raise
    except Exception as exc:  # anything from deep inside asn1crypto: malformed DER
        raise PEMError("csr: %s" % _invalid_csr(der, exc).message) from None
    if key_algo not in ("rsa", "ec"):
        raise SigningError("csr: %s keys are not supported; use rsa or ecdsa" % key_algo)
    if key_algo == "rsa" and spki_size < 2048:
        raise SigningError("csr: the RSA key has %d bits; at least 2048 are required" % spki_size)
    if curve is not None and curve not in _CSR_CURVES:
        raise SigningError("csr: the EC key's curve %s is not supported; use P-256, P-384 or "
                           "P-521" % (curve[1] if isinstance(curve[1], str) else curve[0]))
    if (scheme, hash_name) not in _CSR_SIGNATURES:
        raise SigningError("csr: the request's signature (%s with %s) is not supported; make the "
                           "CSR with SHA-256, SHA-384 or SHA-512 and RSA PKCS#1 v1.5 or ECDSA"
                           % (scheme, hash_name))
    if not _crypto.verify_signature(spki, signature, info.dump(), hash_name):
        raise PEMError("csr: the request's self-signature does not verify")
    if hosts is not None:
        if isinstance(hosts, str) or not isinstance(hosts, Sequence):
            raise TypeError("hosts must be a sequence of str, not %s" % type(hosts).__name__)
        for host in hosts:
            if not isinstance(host, str):
                raise TypeError("hosts must be a sequence of str, not holding %s"
                                % type(host).__name__)
        check_hosts(hosts, "hosts")
        groups = _asn1.classify_hosts(list(hosts)) if hosts else None
    if len(info["subject"].chosen) == 0 and not groups:
        raise PEMError("csr: the certificate would have an empty subject and no SANs "
                       "(RFC 5280 4.1.2.6); give hosts, or a CSR with a subject")
    chosen = select_profile(config, profile)
    if wants_ca and not chosen.is_ca:
        # cfssl refuses too ("policy disallows issuing CA certificate"): silently issuing
        # CA:FALSE would hand back something other than what was asked for.
        raise SigningError("csr: the request asks for a CA certificate (basicConstraints "
                           "CA:TRUE) but profile %r does not issue CAs; sign it with a profile "
                           "that has ca_constraint.is_ca" % chosen.name)
    _validity(moment, chosen, _profile_fields(chosen))
    issuer = _load_issuer(ca_cert, ca_key, moment)
    path_len = _intermediate_path_len(chosen, issuer)
    return _certificate(
        subject=info["subject"].dump(),
        public_key_info=spki,
        groups=groups,
        profile=chosen,
        issuer=issuer,
        signer_key=issuer.key,
        now=moment,
        path_len=path_len,
        fields=_profile_fields(chosen),
    )
