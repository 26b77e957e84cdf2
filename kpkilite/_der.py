"""A minimal DER writer for the containers of certificates and CSRs.

asn1crypto builds DER from mutable trees and re-serialises every constructed
value each time a parent asks for its contents; for a certificate that is
thousands of calls (measured: about 7 ms per certificate of pure Python, the
whole budget seven times over). Issuance only ever writes fixed shapes, so the
containers (SEQUENCE, SET OF, context tags) are concatenated here from bytes,
and the leaf values that have rules of their own (OIDs, INTEGERs, times) are
still encoded by asn1crypto and cached where they repeat.

Only DER is produced: definite lengths in the shortest form, SET OF sorted.

>>> seq(integer(1), null()).hex()
'30050201010500'
"""

from __future__ import annotations

from functools import cache
from typing import Iterable, Sequence

__all__ = [
    "bit_string",
    "boolean",
    "context",
    "integer",
    "null",
    "octet_string",
    "oid",
    "seq",
    "set_of",
    "tlv",
]


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def tlv(tag: int, content: bytes) -> bytes:
    """One DER value: a single-byte tag, the length, the content."""
    return bytes((tag,)) + _length(len(content)) + content


def seq(*parts: bytes) -> bytes:
    """SEQUENCE of already-encoded parts, in order."""
    return tlv(0x30, b"".join(parts))


def set_of(parts: Iterable[bytes]) -> bytes:
    """SET OF already-encoded parts, sorted as DER requires (X.690 11.6)."""
    return tlv(0x31, b"".join(sorted(parts)))


def context(number: int, content: bytes, *, constructed: bool = True) -> bytes:
    """A context-specific tag ``[number]``: EXPLICIT (constructed) or IMPLICIT primitive."""
    return tlv((0xA0 if constructed else 0x80) | number, content)


def integer(value: int) -> bytes:
    """INTEGER, two's complement, minimal length."""
    length = (value.bit_length() + 8) // 8  # room for the sign bit
    return tlv(0x02, value.to_bytes(max(1, length), "big", signed=True))


def boolean(value: bool) -> bytes:
    return b"\x01\x01\xff" if value else b"\x01\x01\x00"


def null() -> bytes:
    return b"\x05\x00"


def octet_string(value: bytes) -> bytes:
    return tlv(0x04, value)


def bit_string(value: bytes, unused_bits: int = 0) -> bytes:
    return tlv(0x03, bytes((unused_bits,)) + value)


@cache
def oid(dotted: str) -> bytes:
    """OBJECT IDENTIFIER from its dotted form (encoded by asn1crypto, cached)."""
    from asn1crypto import core

    der: bytes = core.ObjectIdentifier(dotted).dump()
    return der


def named_bits(bits: Sequence[int]) -> bytes:
    """A named-bit BIT STRING (X.690 11.2.2): trailing zero bits dropped.

    >>> named_bits([0, 2]).hex()  # digitalSignature + keyEncipherment
    '030205a0'
    """
    if not bits:
        return bit_string(b"")
    top = max(bits)
    nbytes = top // 8 + 1
    value = bytearray(nbytes)
    for bit in bits:
        value[bit // 8] |= 0x80 >> (bit % 8)
    return bit_string(bytes(value), 7 - top % 8)
