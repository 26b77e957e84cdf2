"""cfssl CSR specs: validate them, build subjects and SANs, make a key and a CSR (``cfssl genkey``).

A CSR spec is cfssl's JSON document, already parsed::

    {"CN": "admin", "hosts": [], "key": {"algo": "rsa", "size": 2048},
     "names": [{"C": "CN", "ST": "BeiJing", "L": "BeiJing", "O": "system:masters", "OU": "System"}],
     "ca": {"expiry": "87600h", "pathlen": 0, "pathlenzero": false}}

Keys match case-insensitively, as Go's encoding/json matches them. A missing
``key`` means ECDSA P-256 (cfssl's default). ``names`` fields go into the
subject in Go's order C, ST, L, O, OU, then CN.

>>> spec = parse_csr_spec({"CN": "admin", "names": [{"O": "system:masters"}]})
>>> spec.key_algo, spec.key_size, spec.names
('ecdsa', 256, (('O', ('system:masters',)),))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Type

from . import _spec
from ._duration import DurationSyntaxError, parse_duration
from ._pem import format_pem
from .errors import CSRSpecError, InputError

__all__ = ["CAOptions", "CSRSpec", "KEY_SIZES", "generate_csr", "parse_csr_spec"]

#: Key sizes kpkilite can generate, per algorithm (oscrypto's RSA sizes; NIST curves).
KEY_SIZES: Dict[str, Tuple[int, ...]] = {"rsa": (2048, 3072, 4096), "ecdsa": (256, 384, 521)}
_DEFAULT_SIZE = {"rsa": 2048, "ecdsa": 256}
_TOP_KEYS = ("CN", "hosts", "key", "names", "ca")
_CFSSL_ONLY_KEYS = ("serialnumber", "crl_url", "delegation_enabled", "extensions", "not_before",
                    "not_after")
_NAME_KEYS = ("C", "ST", "L", "O", "OU")
_KEY_KEYS = ("algo", "size")
_CA_KEYS = ("expiry", "pathlen", "pathlenzero", "backdate")
_LIMITS = {"C": 2, "ST": 128, "L": 128, "O": 64, "OU": 64}

#: The largest path length accepted (``ca.pathlen``, ``max_path_len``): Go reads
#: pathLenConstraint into an int, so a larger value breaks Go and Rust parsers on
#: 32-bit builds, and no real chain is more than a few CAs deep.
MAX_PATH_LEN = 2**31 - 1


@dataclass(frozen=True)
class CAOptions:
    """The ``ca`` block: CA certificate expiry (ns) and path length (None: no limit)."""

    expiry: Optional[int]
    pathlen: Optional[int]
    backdate: Optional[int]


@dataclass(frozen=True)
class CSRSpec:
    """A validated CSR spec.

    ``names`` holds ``(field, values)`` pairs for the fields present, in subject
    order; ``hosts`` keeps the input order.
    """

    CN: str
    hosts: Tuple[str, ...]
    key_algo: str
    key_size: int
    names: Tuple[Tuple[str, Tuple[str, ...]], ...]
    ca: Optional[CAOptions]

    @property
    def subject_is_empty(self) -> bool:
        return not self.CN and not self.names


def _err(message: str) -> CSRSpecError:
    return CSRSpecError(message)


def parse_duration_field(
    value: Any, where: str, error: Type[InputError] = CSRSpecError
) -> int:
    """A Go duration string at ``where``; must be positive."""
    if not isinstance(value, str):
        raise error("%s: expected a Go duration string such as \"8760h\", got %s"
                    % (where, _spec.describe(value)))
    try:
        ns = parse_duration(value)
    except DurationSyntaxError as exc:
        raise error("%s: %s" % (where, exc)) from None
    if ns <= 0:
        raise error("%s: %r must be a positive duration" % (where, value))
    return ns


def parse_csr_spec(spec: Mapping[str, Any]) -> CSRSpec:
    """Validate a parsed cfssl CSR spec.

    Args:
        spec: the parsed JSON document.

    Returns:
        A :class:`CSRSpec`.

    Raises:
        TypeError: ``spec`` is not a mapping.
        CSRSpecError: a field is invalid; the message starts with its path
            (``names[0].C: expected a 2-letter country code, got 'USA'``).

    Warns:
        KpkiliteWarning: an unknown key (naming the closest known one).
    """
    if not isinstance(spec, Mapping):
        raise TypeError("spec must be a mapping (the parsed CSR JSON), not %s"
                        % type(spec).__name__)
    top = _spec.fields(spec, "", _TOP_KEYS, CSRSpecError, ignored=_CFSSL_ONLY_KEYS)
    cn = _spec.get_str(top, "CN", "", CSRSpecError)
    if len(cn) > 64:
        raise _err("CN: %d characters; a common name can have at most 64" % len(cn))
    _check_text(cn, "CN")
    hosts = _spec.get_str_list(top, "hosts", "", CSRSpecError)
    check_hosts(hosts, "hosts")
    algo, size = _parse_key(top.get("key"))
    names = _parse_names(top.get("names"))
    ca = _parse_ca(top.get("ca")) if top.get("ca") is not None else None
    parsed = CSRSpec(cn, tuple(hosts), algo, size, names, ca)
    if parsed.subject_is_empty and not hosts:
        raise _err("CN: the certificate would have an empty subject and no hosts; set CN")
    return parsed


def _check_text(value: str, where: str) -> None:
    for ch in value:
        if ord(ch) < 0x20 or ord(ch) == 0x7F:
            raise _err("%s: control character %r is not allowed" % (where, ch))
    check_surrogates(value, where)


def check_surrogates(value: str, where: str, error: Type[InputError] = CSRSpecError) -> None:
    """Refuse a str holding an unpaired surrogate (U+D800-U+DFFF), which UTF-8 cannot encode.

    JSON's ``"\\ud800"`` escape decodes to one; it cannot go into a certificate.

    >>> check_surrogates("caf\u00e9", "CN")
    >>> check_surrogates("a\\ud800", "CN")
    Traceback (most recent call last):
    ...
    kpkilite.errors.CSRSpecError: CN: contains an unpaired surrogate (U+D800) at character 2
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise error("%s: contains an unpaired surrogate (U+%04X) at character %d"
                    % (where, ord(value[exc.start]), exc.start + 1)) from None


def check_path_len(value: int, where: str, error: Type[InputError] = CSRSpecError) -> None:
    """A path length must be 0..MAX_PATH_LEN."""
    if value > MAX_PATH_LEN:
        raise error("%s: %s is too large; at most %d (Go reads a path length as a 32-bit "
                    "int, and no chain is that deep)"
                    % (where, _spec.short_int(value), MAX_PATH_LEN))


def check_hosts(hosts: Sequence[str], where: str) -> None:
    from ._asn1 import HostError, classify_hosts

    for i, host in enumerate(hosts):
        check_surrogates(host, "%s[%d]" % (where, i))
        try:
            classify_hosts([host])
        except HostError as exc:
            raise _err("%s[%d]: %r: %s" % (where, i, host, exc)) from None


def _parse_key(doc: Any) -> Tuple[str, int]:
    if doc is None:
        return "ecdsa", 256
    found = _spec.fields(doc, "key", _KEY_KEYS, CSRSpecError)
    algo = _spec.get_str(found, "algo", "key", CSRSpecError).lower() or "ecdsa"
    if algo not in KEY_SIZES:
        raise _err("key.algo: %r is not supported; use \"rsa\" or \"ecdsa\"" % found.get("algo"))
    size = _spec.get_int(found, "size", "key", CSRSpecError)
    if size is None or size == 0:
        return algo, _DEFAULT_SIZE[algo]
    if size not in KEY_SIZES[algo]:
        supported = ", ".join(str(s) for s in KEY_SIZES[algo])
        hint = ""
        if not found.get("algo") and size in KEY_SIZES["rsa"]:
            hint = ' (key.algo is missing, so ecdsa; write "algo": "rsa" for an RSA key)'
        raise _err("key.size: %s is not supported for %s keys; supported sizes: %s%s"
                   % (_spec.short_int(size), algo, supported, hint))
    return algo, size


def _parse_names(doc: Any) -> Tuple[Tuple[str, Tuple[str, ...]], ...]:
    if doc is None:
        return ()
    if not isinstance(doc, (list, tuple)):
        raise _err("names: expected a list of objects, got %s" % _spec.json_type(doc))
    collected: Dict[str, List[str]] = {k: [] for k in _NAME_KEYS}
    for i, entry in enumerate(doc):
        where = "names[%d]" % i
        found = _spec.fields(entry, where, _NAME_KEYS, CSRSpecError,
                             ignored=("SerialNumber", "OrganizationIdentifier"))
        for key in _NAME_KEYS:
            value = _spec.get_str(found, key, where, CSRSpecError)
            if not value:
                continue
            field = "%s.%s" % (where, key)
            _check_text(value, field)
            if key == "C" and not (len(value) == 2 and value.isascii() and value.isalpha()):
                raise _err("%s: expected a 2-letter country code, got %r" % (field, value))
            if len(value) > _LIMITS[key]:
                raise _err("%s: %d characters; at most %d are allowed"
                           % (field, len(value), _LIMITS[key]))
            collected[key].append(value)
    return tuple((k, tuple(v)) for k, v in collected.items() if v)


def _parse_ca(doc: Any) -> CAOptions:
    found = _spec.fields(doc, "ca", _CA_KEYS, CSRSpecError)
    expiry = None
    if found.get("expiry") not in (None, ""):
        expiry = parse_duration_field(found["expiry"], "ca.expiry")
    backdate = None
    if found.get("backdate") not in (None, ""):
        backdate = parse_duration_field(found["backdate"], "ca.backdate")
    pathlen = _spec.get_int(found, "pathlen", "ca", CSRSpecError)
    zero = _spec.get_bool(found, "pathlenzero", "ca", CSRSpecError)
    if pathlen is not None and pathlen < 0:
        raise _err("ca.pathlen: %s is negative; use 0 with \"pathlenzero\": true, "
                   "or leave it out for no limit" % _spec.short_int(pathlen))
    if pathlen is not None:
        check_path_len(pathlen, "ca.pathlen")
    # cfssl: pathlen 0 means "no limit" unless pathlenzero is set.
    limit: Optional[int] = pathlen if pathlen else None
    if zero:
        if pathlen:
            raise _err("ca.pathlenzero: true contradicts ca.pathlen %d; keep one" % pathlen)
        limit = 0
    return CAOptions(expiry, limit, backdate)


def generate_csr(spec: Mapping[str, Any]) -> Dict[str, str]:
    """Make a new private key and a CSR for it, as ``cfssl genkey`` does.

    Args:
        spec: the parsed cfssl CSR spec. A ``ca`` block requests
            basicConstraints CA:TRUE in the CSR (for signing by another CA).

    Returns:
        ``{"key": PEM, "csr": PEM}``; the key is ``RSA PRIVATE KEY`` (PKCS#1) or
        ``EC PRIVATE KEY`` (SEC1), as cfssl writes it.

    Raises:
        CSRSpecError: the spec is invalid.
        BackendError: libcrypto cannot be used.
    """
    from . import _crypto

    parsed = parse_csr_spec(spec)
    key = _crypto.generate_private_key(parsed.key_algo, parsed.key_size)
    request, _ = build_csr(parsed, key)
    return {"key": key.to_pem(), "csr": format_pem("CERTIFICATE REQUEST", request)}


def build_csr(parsed: CSRSpec, key: Any) -> Tuple[bytes, bytes]:
    """The signed PKCS#10 request for ``key``: ``(request DER, subject Name DER)``.

    Extensions requested: the SANs from ``hosts`` (critical when the subject
    is empty) and, with a ``ca`` block, basicConstraints CA:TRUE.
    """
    from . import _asn1
    from . import _der as der

    extensions: List[bytes] = []
    if parsed.ca is not None:
        limit = der.integer(parsed.ca.pathlen) if parsed.ca.pathlen is not None else b""
        extensions.append(_asn1.extension_der("2.5.29.19", True,
                                              der.seq(der.boolean(True), limit)))
    if parsed.hosts:
        groups = _asn1.classify_hosts(parsed.hosts)
        extensions.append(_asn1.extension_der("2.5.29.17", parsed.subject_is_empty,
                                              _asn1.general_names_der(groups)))
    attributes = b""
    if extensions:  # one extensionRequest attribute (PKCS#9, RFC 2985 5.4.2)
        attributes = der.seq(der.oid("1.2.840.113549.1.9.14"),
                             der.set_of([der.seq(*extensions)]))
    subject = _asn1.name_der(parsed.names, parsed.CN)
    info = der.seq(
        der.integer(0),  # version v1
        subject,
        key.public_key_info.dump(),
        der.context(0, attributes),
    )
    hash_name = _asn1.hash_for_key(key.algorithm, key.bit_size)
    signature = key.sign(info, hash_name)
    request = der.seq(info, _asn1.signature_algorithm_der(key.algorithm, hash_name),
                      der.bit_string(signature))
    return request, subject
