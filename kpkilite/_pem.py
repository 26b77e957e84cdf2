"""PEM and DER decoding shared by every module that reads certificates, CSRs or keys.

PEM follows RFC 7468 as Go's ``encoding/pem`` reads it: text before, between and
after blocks is ignored; a block is ``-----BEGIN <TYPE>-----``, optional
RFC 1421 headers (``Proc-Type: ...``) ended by a blank line, base64 lines, and
``-----END <TYPE>-----`` with the same type. Output PEM is what Go's
``pem.EncodeToMemory`` writes (64-column base64, trailing newline), which is
also what cfssl prints.

Every failure is a :class:`~kpkilite.errors.PEMError` whose message names what
was expected and what was found:

>>> first_pem("", ["CERTIFICATE"])
Traceback (most recent call last):
...
kpkilite.errors.PEMError: expected a CERTIFICATE PEM block, found empty input
>>> pem = format_pem("CERTIFICATE", b"\\x30\\x00")
>>> print(pem, end="")
-----BEGIN CERTIFICATE-----
MAA=
-----END CERTIFICATE-----
>>> pem_blocks(pem)
[('CERTIFICATE', b'0\\x00')]
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence

from .errors import PEMError

__all__ = [
    "der_from_input",
    "der_kind",
    "describe_expected",
    "first_pem",
    "format_pem",
    "pem_blocks",
]

# RFC 7468 section 3: label = [ labelchar *( ["-" / SP] labelchar ) ], labelchar is
# printable ASCII except "-". Go accepts any text up to "-----"; so do we.
_BEGIN = re.compile(r"-----BEGIN ([^\r\n]*?)-----[ \t]*\r?\n?")
_END = re.compile(r"-----END ([^\r\n]*?)-----")
_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*")
# Bytes that are all printable ASCII or whitespace are text (PEM or junk), never DER:
# a DER certificate always holds length bytes >= 0x80 or control bytes.
_PRINTABLE = re.compile(rb"[\x20-\x7e\t\r\n]*")


def _as_text(data: str | bytes) -> str:
    if isinstance(data, str):
        return data
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data).decode("latin-1")
    raise TypeError(f"expected PEM as str or bytes, got {type(data).__name__}")


def pem_blocks(data: str | bytes) -> list[tuple[str, bytes]]:
    """Every PEM block in ``data``, in order, as ``(type, der)`` pairs.

    Text outside blocks is skipped, as Go's ``pem.Decode`` does. RFC 1421
    headers inside a block (``Proc-Type: 4,ENCRYPTED``) are skipped too.

    Args:
        data: PEM text, as ``str`` or ``bytes``.

    Returns:
        A list of ``(type, der)``; empty when there is no block at all.

    Raises:
        PEMError: a block without its END line, with a mismatched END type, or
            with invalid base64.
        TypeError: ``data`` is not ``str`` or ``bytes``.

    >>> pem_blocks("junk\\n-----BEGIN X-----\\nAQI=\\n-----END X-----\\n")
    [('X', b'\\x01\\x02')]
    >>> pem_blocks("-----BEGIN X-----\\nAQI=\\n")
    Traceback (most recent call last):
    ...
    kpkilite.errors.PEMError: X PEM block has no '-----END X-----' line
    """
    text = _as_text(data)
    blocks: list[tuple[str, bytes]] = []
    pos = 0
    while True:
        begin = _BEGIN.search(text, pos)
        if begin is None:
            return blocks
        label = begin.group(1)
        end = _END.search(text, begin.end())
        if end is None:
            raise PEMError(f"{label} PEM block has no '-----END {label}-----' line")
        if end.group(1) != label:
            raise PEMError(
                f"{label} PEM block ends with '-----END {end.group(1)}-----'"
            )
        body = text[begin.end() : end.start()]
        blocks.append((label, _decode_body(label, body)))
        pos = end.end()


def _decode_body(label: str, body: str) -> bytes:
    lines = body.splitlines()
    # RFC 1421 headers: "Name: value" lines up to the first blank line.
    if lines and ":" in lines[0]:
        while lines and lines[0].strip():
            lines.pop(0)
    payload = "".join(lines)
    if not _BASE64.fullmatch(payload):
        raise PEMError(f"{label} PEM block is not valid base64")
    payload = "".join(payload.split())
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PEMError(f"{label} PEM block is not valid base64") from exc


def describe_expected(expected_types: Sequence[str]) -> str:
    """``"a CERTIFICATE PEM block"`` or ``"an RSA PRIVATE KEY, ... or PRIVATE KEY PEM block"``.

    >>> describe_expected(["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"])
    'a CERTIFICATE REQUEST or NEW CERTIFICATE REQUEST PEM block'
    """
    names = list(expected_types)
    joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
    article = "an" if joined[:1] in "AEIOU" or joined.startswith(("RSA", "EC ")) else "a"
    return f"{article} {joined} PEM block"


def first_pem(data: str | bytes, expected_types: Sequence[str]) -> bytes:
    """The DER of the first PEM block whose type is one of ``expected_types``.

    Blocks of other types before it are skipped, so a file holding a key and
    then its certificate yields the certificate.

    Args:
        data: PEM text, as ``str`` or ``bytes``.
        expected_types: block types to accept, e.g. ``["CERTIFICATE"]``.

    Returns:
        The decoded DER bytes of that block.

    Raises:
        PEMError: empty input, no PEM block, only blocks of other types, or a
            malformed block.

    >>> first_pem("hello", ["CERTIFICATE"])
    Traceback (most recent call last):
    ...
    kpkilite.errors.PEMError: expected a CERTIFICATE PEM block, found no PEM block
    >>> first_pem("-----BEGIN RSA PRIVATE KEY-----\\nAA==\\n-----END RSA PRIVATE KEY-----",
    ...           ["CERTIFICATE"])
    Traceback (most recent call last):
    ...
    kpkilite.errors.PEMError: expected a CERTIFICATE PEM block, found RSA PRIVATE KEY
    """
    text = _as_text(data)
    wanted = describe_expected(expected_types)
    if not text.strip():
        raise PEMError(f"expected {wanted}, found empty input")
    blocks = pem_blocks(text)
    for label, der in blocks:
        if label in expected_types:
            return der
    if not blocks:
        raise PEMError(f"expected {wanted}, found no PEM block")
    found = ", ".join(dict.fromkeys(label for label, _ in blocks))
    raise PEMError(f"expected {wanted}, found {found}")


def der_from_input(data: str | bytes, expected_types: Sequence[str]) -> bytes:
    """DER bytes from PEM text (``str``/``bytes``) or from DER ``bytes``.

    ``bytes`` that start with an ASN.1 SEQUENCE tag (``0x30``) and are not
    all printable ASCII are taken as DER and returned unchanged (the caller
    parses them); anything else goes through :func:`first_pem`.

    Raises:
        PEMError: as :func:`first_pem`.
        TypeError: ``data`` is not ``str`` or ``bytes``.

    >>> der_from_input(b"\\x30\\x00", ["CERTIFICATE"])
    b'0\\x00'
    """
    if isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
        if raw[:1] == b"\x30" and not _PRINTABLE.fullmatch(raw):
            return raw
        return first_pem(raw, expected_types)
    if isinstance(data, str):
        return first_pem(data, expected_types)
    raise TypeError(f"expected PEM as str or bytes, got {type(data).__name__}")


def format_pem(label: str, der: bytes) -> str:
    """PEM text for ``der`` as Go's ``pem.EncodeToMemory`` writes it.

    64-column base64 lines and a trailing newline; cfssl's ``pem`` fields are
    exactly this.
    """
    b64 = base64.b64encode(der).decode("ascii")
    body = "".join(b64[i : i + 64] + "\n" for i in range(0, len(b64), 64))
    return f"-----BEGIN {label}-----\n{body}-----END {label}-----\n"


# PEM label -> asn1crypto (module, class) whose strict parse recognises that DER.
_DER_KINDS = (
    ("CERTIFICATE", "x509", "Certificate"),
    ("CERTIFICATE REQUEST", "csr", "CertificationRequest"),
    ("RSA PRIVATE KEY", "keys", "RSAPrivateKey"),
    ("EC PRIVATE KEY", "keys", "ECPrivateKey"),
    ("PRIVATE KEY", "keys", "PrivateKeyInfo"),
    ("PUBLIC KEY", "keys", "PublicKeyInfo"),
)


def der_kind(der: bytes) -> str | None:
    """The PEM label of what ``der`` holds (``"RSA PRIVATE KEY"``, ...), or None.

    Used to say what was found when DER of the wrong kind is passed in; imports
    asn1crypto only when called.

    >>> der_kind(b"\\x30\\x00") is None
    True
    """
    import importlib

    for label, module_name, class_name in _DER_KINDS:
        module = importlib.import_module("asn1crypto." + module_name)
        try:
            value = getattr(module, class_name).load(der, strict=True)
            _ = value.native
        except Exception:
            continue
        return label
    return None
