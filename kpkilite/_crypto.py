"""The crypto backend: private keys, signatures, and the oscrypto/OpenSSL shim.

This is the only kpkilite module that imports oscrypto, and it does so lazily:
importing ``kpkilite._crypto`` loads neither oscrypto nor libcrypto; the first
call that needs them does (:func:`load_backend`). Everything else in kpkilite
builds ASN.1 with asn1crypto and comes here only to make a key, sign bytes or
check a signature.

Keys are RSA (new: 2048, 3072, 4096 bits; loaded: any size from 2048) or ECDSA
on P-256, P-384, P-521. They are written as cfssl writes them: PKCS#1
``RSA PRIVATE KEY`` (RFC 8017 A.1.2) and SEC1 ``EC PRIVATE KEY`` (RFC 5915,
with the named curve and the public key). On input PKCS#8 ``PRIVATE KEY``
(RFC 5208) and DER are accepted too. Loaded keys are checked before use (RSA
numbers consistent, EC secret in range, an embedded EC public key matching),
since a bad CA key would otherwise sign certificates that never verify.
Signatures are RSASSA-PKCS1-v1_5 (RFC 8017 8.2) and ECDSA with a DER
``ECDSA-Sig-Value`` (RFC 5480 / RFC 3279 2.2.3).

The OpenSSL-version shim
------------------------
PyPI's oscrypto 1.3.0 (the newest release) reads libcrypto's version string
with the regex ``\\b(\\d\\.\\d\\.\\d[a-z]*)\\b``: one digit per part. OpenSSL
3.0.10 and later (and 3.10+) have a two-digit part, the regex finds nothing,
and ``import oscrypto.asymmetric`` fails with
``LibraryNotFoundError('Error detecting the version of libcrypto')``
(wbond/oscrypto issues #75 and #78). Upstream fixed it on master by accepting
multi-digit parts (commit d5f3437, the one #78 points users to) but has made
no release since 1.3.0.

When, and only when, the import fails with exactly that error, the modules
that raised it (``oscrypto._openssl._libcrypto_cffi`` or ``_libcrypto_ctypes``)
are loaded again from their own source with only that regex changed to accept
multi-digit parts (``\\d+`` for ``\\d``), in memory (nothing on disk changes),
and the import is retried.
If the source does not contain the text we expect to replace, the shim does
nothing and :class:`~kpkilite.errors.BackendError` is raised. An oscrypto that
imports fine never touches the shim. ``SHIM_APPLIED`` says whether it ran.
Delete the shim (``_VersionRegexFix`` and its call) once kpkilite requires an
oscrypto release newer than 1.3.0.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.machinery
import sys
import threading
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from asn1crypto import core, keys, pem

from .errors import BackendError, PEMError

__all__ = [
    "CURVES",
    "HASHES",
    "RSA_SIZES",
    "SHIM_APPLIED",
    "PrivateKey",
    "backend_available",
    "backend_description",
    "generate_private_key",
    "load_backend",
    "load_private_key",
    "verify_signature",
]

#: RSA sizes oscrypto generates (cfssl also takes 8192; kpkilite only loads those)
RSA_SIZES = (2048, 3072, 4096)
#: ECDSA size -> named curve (cfssl's "size" for "ecdsa" keys)
CURVES = {256: "secp256r1", 384: "secp384r1", 521: "secp521r1"}
#: hash names sign() and verify_signature() accept
HASHES = ("sha256", "sha384", "sha512")
_CURVE_BITS = {curve: bits for bits, curve in CURVES.items()}
_MIN_RSA_BITS = 2048
#: curve -> order n of the base point (SEC 2 v2, sections 2.4.2, 2.5.1, 2.6.1);
#: an EC private key d must satisfy 0 < d < n
_CURVE_ORDERS = {
    "secp256r1": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "secp384r1": int("ffffffff" * 6 + "c7634d81f4372ddf581a0db248b0a77aecec196accc52973", 16),
    "secp521r1": int(
        "01ff"
        + "ffffffff" * 7
        + "fffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409",
        16,
    ),
}
#: uncompressed (0x04 || X || Y) and compressed point lengths -> curve
_POINT_LENGTHS = {
    65: "secp256r1",
    97: "secp384r1",
    133: "secp521r1",
    33: "secp256r1",
    49: "secp384r1",
    67: "secp521r1",
}

_INSTALL_HINT = (
    "kpkilite needs OpenSSL's libcrypto 1.1 or 3.x: "
    "install libssl3 (Debian/Ubuntu) or openssl-libs (RHEL/Fedora)"
)
_OSCRYPTO_HINT = "kpkilite needs the Python package oscrypto: pip install 'oscrypto>=1.3'"

# --- the shim -------------------------------------------------------------

#: the exact error oscrypto 1.3.0 raises when its version regex finds nothing
_VERSION_ERROR = "Error detecting the version of libcrypto"
#: the modules holding that regex: one per FFI backend
_VERSION_MODULES = (
    "oscrypto._openssl._libcrypto_cffi",
    "oscrypto._openssl._libcrypto_ctypes",
)
#: the source line in oscrypto 1.3.0 (both modules), and upstream's fix
_OLD_REGEX = r"re.search('\\b(\\d\\.\\d\\.\\d[a-z]*)\\b', version_string)"
_NEW_REGEX = r"re.search('\\b(\\d+\\.\\d+\\.\\d+[a-z]*)\\b', version_string)"

#: True once the shim has been used to import oscrypto in this process
SHIM_APPLIED = False

_lock = threading.Lock()
_asymmetric: ModuleType | None = None


class _ShimMismatch(Exception):
    """The oscrypto source does not contain the line the shim replaces."""


class _VersionRegexFix(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Import hook: load oscrypto's libcrypto module with the fixed version regex.

    Installed on ``sys.meta_path`` only for the retried import, removed after.
    It finds the module's real source with the normal path finder, replaces the
    one regex line, and executes the result under the original file name.
    """

    def __init__(self) -> None:
        self.patched: list[str] = []

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in _VERSION_MODULES:
            return None
        original = importlib.machinery.PathFinder.find_spec(fullname, path)
        # Any loader that can hand back source will do: the file system's, or zipimport's
        # for a zipapp or a zip on sys.path (which is not registered as an InspectLoader).
        if original is None or not callable(getattr(original.loader, "get_source", None)):
            raise _ShimMismatch(f"cannot read the source of {fullname}")
        spec = importlib.machinery.ModuleSpec(
            fullname, self, origin=original.origin, loader_state=original.loader
        )
        spec.has_location = original.has_location
        return spec

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None  # the default module object

    def exec_module(self, module: ModuleType) -> None:
        spec = module.__spec__
        assert spec is not None and spec.origin is not None
        source = spec.loader_state.get_source(spec.name)
        if source is None or source.count(_OLD_REGEX) != 1:
            raise _ShimMismatch(f"{spec.name} does not contain the expected version regex")
        code = compile(source.replace(_OLD_REGEX, _NEW_REGEX), spec.origin, "exec")
        exec(code, module.__dict__)
        self.patched.append(spec.name)


def _backend_error(exc: BaseException) -> BackendError:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return BackendError(f"cannot use libcrypto through oscrypto ({reason}); {_INSTALL_HINT}")


def _prefer_ctypes(oscrypto: ModuleType) -> None:
    """Use oscrypto's ctypes FFI unless something in this process already chose a backend.

    With cffi installed oscrypto would pick it, and cffi parses oscrypto's C
    declarations with pycparser at import: about 40 ms, against about 12 ms for
    ctypes (measured with ``-X importtime``), on every CLI run. ctypes is also
    what a vendored copy without cffi always gets, so one backend serves everyone.
    Once another part of the process has imported oscrypto's backend,
    ``use_ctypes`` refuses and that choice stands.
    """
    with contextlib.suppress(RuntimeError):
        oscrypto.use_ctypes()


def _import_asymmetric() -> ModuleType:
    global SHIM_APPLIED
    try:
        import oscrypto
        from oscrypto.errors import LibraryNotFoundError
    except ImportError as exc:
        raise BackendError(_OSCRYPTO_HINT) from exc
    _prefer_ctypes(oscrypto)
    try:
        return importlib.import_module("oscrypto.asymmetric")
    except LibraryNotFoundError as exc:
        if str(exc) != _VERSION_ERROR:
            raise _backend_error(exc) from exc
        first = exc
    except Exception as exc:  # OSError, FFIEngineError, AttributeError from cffi, ...
        raise _backend_error(exc) from exc

    # The failed import already dropped the modules whose code raised; make sure.
    for name in _VERSION_MODULES + ("oscrypto._openssl._libcrypto",):
        sys.modules.pop(name, None)
    fix = _VersionRegexFix()
    sys.meta_path.insert(0, fix)
    try:
        module = importlib.import_module("oscrypto.asymmetric")
    except _ShimMismatch as exc:
        raise BackendError(
            f"oscrypto cannot detect the libcrypto version ({_VERSION_ERROR}) and "
            f"kpkilite's workaround does not fit this oscrypto ({exc}); "
            "install an oscrypto release newer than 1.3.0"
        ) from first
    except Exception as exc:
        raise _backend_error(exc) from exc
    finally:
        sys.meta_path.remove(fix)
    SHIM_APPLIED = bool(fix.patched)
    return module


def load_backend() -> ModuleType:
    """Import oscrypto (with the version shim if needed) and return ``oscrypto.asymmetric``.

    Thread-safe; the result is cached. oscrypto's ctypes FFI is used unless
    oscrypto's backend was already loaded by something else (see ``_prefer_ctypes``).

    Raises:
        BackendError: oscrypto or libcrypto cannot be used; the message says what to install.
    """
    global _asymmetric
    module = _asymmetric
    if module is None:
        with _lock:
            if _asymmetric is None:
                _asymmetric = _import_asymmetric()
            module = _asymmetric
    return module


def backend_available() -> bool:
    """Return True if oscrypto and libcrypto load (with the shim if needed); never raises."""
    try:
        load_backend()
    except BackendError:
        return False
    return True


def backend_description() -> str:
    """Describe the loaded backend, e.g. ``'oscrypto 1.3.0 (cffi), OpenSSL 3.0.19'``.

    Raises:
        BackendError: the backend cannot be loaded.
    """
    load_backend()
    import oscrypto
    from oscrypto._openssl._libcrypto import libcrypto_version
    from oscrypto.version import __version__

    shim = ", version shim applied" if SHIM_APPLIED else ""
    return f"oscrypto {__version__} ({oscrypto.ffi()}), OpenSSL {libcrypto_version}{shim}"


# --- keys -----------------------------------------------------------------


class PrivateKey:
    """An RSA or ECDSA private key held by libcrypto.

    Make one with :func:`generate_private_key` or :func:`load_private_key`.

    Attributes:
        algorithm: ``"rsa"`` or ``"ecdsa"``.
        bit_size: RSA modulus bits, or 256/384/521 for ECDSA.
        curve: ``"secp256r1"``/``"secp384r1"``/``"secp521r1"`` for ECDSA, else None.
        public_key_info: the ``SubjectPublicKeyInfo`` (asn1crypto ``PublicKeyInfo``).
    """

    __slots__ = ("_key", "_info", "algorithm", "bit_size", "curve", "public_key_info")

    def __init__(self, key: Any, info: Any, public_key_info: Any) -> None:
        self._key = key  # oscrypto PrivateKey
        self._info = info  # asn1crypto PrivateKeyInfo (PKCS#8)
        self.public_key_info: Any = public_key_info
        if info.algorithm == "rsa":
            self.algorithm = "rsa"
            self.bit_size: int = info.bit_size
            self.curve: str | None = None
        else:
            self.algorithm = "ecdsa"
            self.curve = info.curve[1]
            self.bit_size = _CURVE_BITS[self.curve]

    def __repr__(self) -> str:
        return f"<PrivateKey {self.algorithm} {self.bit_size}>"

    def sign(self, data: bytes, hash_name: str) -> bytes:
        """Sign ``data``: RSASSA-PKCS1-v1_5 for RSA, DER ``ECDSA-Sig-Value`` for ECDSA.

        Args:
            data: the bytes to sign (e.g. a DER ``TBSCertificate``); hashed here.
            hash_name: ``"sha256"``, ``"sha384"`` or ``"sha512"``.

        Raises:
            ValueError: unknown hash name.
            BackendError: libcrypto failed.
        """
        _check_hash(hash_name)
        if not isinstance(data, bytes):
            raise TypeError(f"data must be bytes, not {type(data).__name__}")
        asym = load_backend()
        try:
            if self.algorithm == "rsa":
                return asym.rsa_pkcs1v15_sign(self._key, data, hash_name)  # type: ignore[no-any-return]
            return asym.ecdsa_sign(self._key, data, hash_name)  # type: ignore[no-any-return]
        except (OSError, ValueError) as exc:
            raise _backend_error(exc) from exc

    def to_pem(self) -> str:
        """Return the key as cfssl writes it: PKCS#1 ``RSA PRIVATE KEY`` or SEC1 ``EC PRIVATE KEY``.

        The SEC1 form carries the named curve (``[0] parameters``) and the public key
        (``[1] publicKey``), like Go's ``x509.MarshalECPrivateKey``.
        """
        if self.algorithm == "rsa":
            der = self._info["private_key"].parsed.dump()
            label = "RSA PRIVATE KEY"
        else:
            # RFC 5915: privateKey is exactly ceil(log2(n) / 8) bytes, leading zeros kept
            secret = core.IntegerOctetString(self._info["private_key"].parsed["private_key"].native)
            secret.set_encoded_width((self.bit_size + 7) // 8)
            der = keys.ECPrivateKey(
                {
                    "version": "ecPrivkeyVer1",
                    "private_key": secret,
                    "parameters": keys.ECDomainParameters(name="named", value=self.curve),
                    "public_key": self.public_key_info["public_key"].native,
                }
            ).dump()
            label = "EC PRIVATE KEY"
        text: str = pem.armor(label, der).decode("ascii")
        return text


def _check_hash(hash_name: str) -> None:
    if hash_name not in HASHES:
        raise ValueError(f"hash_name must be one of {', '.join(HASHES)}, not {hash_name!r}")


def generate_private_key(algorithm: str, bit_size: int) -> PrivateKey:
    """Generate a new key: ``"rsa"`` 2048/3072/4096 or ``"ecdsa"`` 256/384/521.

    Key generation runs inside libcrypto with the GIL released, so threads help.

    Raises:
        ValueError: another algorithm or size (callers validate specs first).
        BackendError: libcrypto cannot be used.
    """
    if algorithm == "rsa" and bit_size in RSA_SIZES:
        args: dict[str, Any] = {"bit_size": bit_size}
        name = "rsa"
    elif algorithm == "ecdsa" and bit_size in CURVES:
        args = {"curve": CURVES[bit_size]}
        name = "ec"
    else:
        raise ValueError(
            f"cannot generate a {algorithm!r} key of size {bit_size!r}: "
            "expected rsa 2048/3072/4096 or ecdsa 256/384/521"
        )
    asym = load_backend()
    try:
        public, private = asym.generate_pair(name, **args)
    except (OSError, ValueError) as exc:
        raise _backend_error(exc) from exc
    return PrivateKey(private, private.asn1, public.asn1)


def load_private_key(data: str | bytes) -> PrivateKey:
    """Load an unencrypted RSA (>= 2048 bits) or ECDSA (P-256/384/521) private key.

    Accepts PEM or DER: PKCS#1 ``RSA PRIVATE KEY``, SEC1 ``EC PRIVATE KEY`` (with or
    without the curve parameters and public key; an ``EC PARAMETERS`` block as
    ``openssl ecparam -genkey`` writes is used or skipped), PKCS#8 ``PRIVATE KEY``.

    Raises:
        TypeError: ``data`` is not str or bytes.
        PEMError: not such a key (garbage, encrypted, a certificate, another algorithm).
        BackendError: libcrypto cannot be used.
    """
    try:
        info, embedded_point = _parse_private_key_info(data)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, AttributeError) as exc:
        if isinstance(exc, PEMError) or (isinstance(exc, TypeError) and
                                         not isinstance(data, (str, bytes, bytearray))):
            raise
        # asn1crypto parses lazily: any of these from deep inside it means malformed DER.
        raise PEMError("malformed private key (%s)" % type(exc).__name__) from exc
    asym = load_backend()
    try:
        key = asym.load_private_key(info)
        public_key_info = key.public_key.asn1
    except (OSError, ValueError) as exc:  # oscrypto's AsymmetricKeyError is a ValueError
        raise PEMError(f"libcrypto rejected the {_ALG_NAMES[info.algorithm]} private key") from exc
    if embedded_point is not None:
        # OpenSSL computed the public key from d (we left the embedded one out);
        # an embedded point that differs would make every signature fail to verify.
        point = public_key_info["public_key"].native
        if embedded_point[:1] in (b"\x02", b"\x03"):  # compressed: parity of y, then x
            point = bytes([2 + (point[-1] & 1)]) + point[1 : 1 + len(embedded_point) - 1]
        if point != embedded_point:
            raise PEMError("the EC private key's embedded public key does not match it")
    return PrivateKey(key, info, public_key_info)


_ALG_NAMES = {"rsa": "RSA", "ec": "ECDSA"}
_KEY_LABELS = ("RSA PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY")


def _parse_private_key_info(data: str | bytes) -> tuple[Any, bytes | None]:
    """Parse key bytes into a checked asn1crypto ``PrivateKeyInfo`` and the public point
    embedded in an EC key (None if absent); PEMError otherwise."""
    if isinstance(data, str):
        try:
            raw = data.encode("ascii")
        except UnicodeEncodeError:
            raise PEMError("a private key must be ASCII PEM text or DER bytes") from None
    elif isinstance(data, (bytes, bytearray)):
        raw = bytes(data)
    else:
        raise TypeError(f"key data must be str or bytes, not {type(data).__name__}")
    if not raw.strip():
        raise PEMError("expected a private key, got empty input")

    if not pem.detect(raw):
        if raw.lstrip()[:1] == b"-":
            raise PEMError(_BAD_PEM)
        return _check_info(_parse_der(raw))

    try:
        blocks = list(pem.unarmor(raw, multiple=True))
    except ValueError as exc:
        raise PEMError(_BAD_PEM) from exc
    # asn1crypto accepts a cut-off "-----END " line; RFC 7468 (and Go) want it whole
    if any(b"-----END " + label.encode() + b"-----" not in raw for label, _, _ in blocks):
        raise PEMError(_BAD_PEM)
    params: str | None = None
    found = []
    for label, headers, der in blocks:
        if label == "EC PARAMETERS":
            params = _parse_ec_parameters(der)
        elif label == "ENCRYPTED PRIVATE KEY" or "ENCRYPTED" in headers.get("Proc-Type", ""):
            raise PEMError(_ENCRYPTED)
        elif label in _KEY_LABELS:
            found.append((label, der))
        else:
            raise PEMError(
                "expected a private key PEM block (RSA PRIVATE KEY, EC PRIVATE KEY or "
                f"PRIVATE KEY), got {label}"
            )
    if len(found) != 1:
        raise PEMError(f"expected one private key PEM block, found {len(found)}")
    label, der = found[0]
    try:
        if label == "PRIVATE KEY":
            info = _load_strict(keys.PrivateKeyInfo, der)
        elif label == "RSA PRIVATE KEY":
            info = keys.PrivateKeyInfo.wrap(_load_strict(keys.RSAPrivateKey, der), "rsa")
        else:
            info = _wrap_ec(_load_strict(keys.ECPrivateKey, der), params)
    except (ValueError, TypeError, KeyError) as exc:
        if isinstance(exc, PEMError):
            raise
        raise PEMError(f"malformed {label} PEM block") from exc
    return _check_info(info)


_BAD_PEM = "malformed PEM: expected -----BEGIN ...----- base64 -----END ...-----"
_ENCRYPTED = (
    "the private key is encrypted: kpkilite needs an unencrypted key "
    "(openssl pkey -in KEY -out PLAIN-KEY)"
)


def _load_strict(spec: Any, der: bytes) -> Any:
    """Parse ``der`` completely (asn1crypto parses lazily) or raise ValueError."""
    value = spec.load(der, strict=True)
    value.native  # noqa: B018  (forces parsing of every field)
    return value


def _parse_der(der: bytes) -> Any:
    """Try PKCS#8, PKCS#1, SEC1 in turn on DER input."""
    for spec, wrap in (
        (keys.PrivateKeyInfo, None),
        (keys.RSAPrivateKey, "rsa"),
        (keys.ECPrivateKey, "ec"),
    ):
        try:
            value = _load_strict(spec, der)
            if wrap == "rsa":
                return keys.PrivateKeyInfo.wrap(value, "rsa")
            if wrap == "ec":
                return _wrap_ec(value, None)
            value.algorithm  # noqa: B018  (an unknown OID must not pass as PKCS#8)
            return value
        except PEMError:
            raise
        except (ValueError, TypeError, KeyError):
            continue
    try:
        _load_strict(keys.EncryptedPrivateKeyInfo, der)
    except (ValueError, TypeError, KeyError):
        raise PEMError("not a PEM or DER private key") from None
    raise PEMError(_ENCRYPTED)


def _parse_ec_parameters(der: bytes) -> str | None:
    try:
        params = _load_strict(keys.ECDomainParameters, der)
    except (ValueError, TypeError, KeyError) as exc:
        raise PEMError("malformed EC PARAMETERS PEM block") from exc
    return params.chosen.native if params.name == "named" else None


def _wrap_ec(ec_key: Any, params_curve: str | None) -> Any:
    """SEC1 -> PKCS#8, taking the curve from the key, an EC PARAMETERS block or the point."""
    params = ec_key["parameters"]
    if isinstance(params, core.Void) or params.native is None:
        curve = params_curve
        point = ec_key["public_key"]
        if curve is None and not isinstance(point, core.Void) and point.native is not None:
            curve = _POINT_LENGTHS.get(len(point.native))
        if curve is None:
            raise PEMError("the EC private key does not name its curve")
        ec_key = ec_key.copy()
        ec_key["parameters"] = keys.ECDomainParameters(name="named", value=curve)
    return keys.PrivateKeyInfo.wrap(ec_key, "ec")


def _algorithm_of(info: Any, kind: str) -> str:
    """``"rsa"`` or ``"ec"`` for a PrivateKeyInfo/PublicKeyInfo; anything else is a PEMError."""
    try:
        algorithm: str = info.algorithm
    except (ValueError, KeyError) as exc:
        raise PEMError(f"unsupported {kind} key algorithm") from exc
    if algorithm not in _ALG_NAMES:
        raise PEMError(f"unsupported {kind} key algorithm {algorithm}: expected RSA or ECDSA")
    return algorithm


def _check_info(info: Any) -> tuple[Any, bytes | None]:
    """Only consistent RSA >= 2048 bits and ECDSA on P-256/384/521 pass.

    Returns the key info to hand to libcrypto (EC keys rebuilt with just the curve
    and d, so that libcrypto computes the public key) and the EC point the input
    carried, if any.
    """
    algorithm = _algorithm_of(info, "private")
    try:
        if algorithm == "rsa":
            _check_rsa(info["private_key"].parsed)
            return info, None
        kind, curve = info.curve
        if kind != "named":
            raise PEMError(
                "the EC private key uses explicit curve parameters: "
                "only the named curves P-256, P-384 and P-521 are supported"
            )
        if curve not in _CURVE_ORDERS:
            raise PEMError(f"unsupported ECDSA curve {curve}: expected P-256, P-384 or P-521")
        inner = info["private_key"].parsed
        secret = inner["private_key"].native
        if not 0 < secret < _CURVE_ORDERS[curve]:
            raise PEMError(f"the EC private key is out of range for {curve}")
        point = inner["public_key"].native  # None when absent
    except (ValueError, TypeError, KeyError) as exc:
        if isinstance(exc, PEMError):
            raise
        raise PEMError(f"malformed {_ALG_NAMES[algorithm]} private key") from exc
    width = (_CURVE_BITS[curve] + 7) // 8  # RFC 5915: ceil(log2(n) / 8) octets
    octets = core.IntegerOctetString(secret)
    octets.set_encoded_width(width)
    ec_key = keys.ECPrivateKey(
        {
            "version": "ecPrivkeyVer1",
            "private_key": octets,
            "parameters": keys.ECDomainParameters(name="named", value=curve),
        }
    )
    return keys.PrivateKeyInfo.wrap(ec_key, "ec"), point


def _check_rsa(key: Any) -> None:
    """RFC 8017 A.1.2 two-prime key whose numbers agree (n = pq, ed = 1 mod p-1 and q-1, CRT)."""
    if key["version"].native != "two-prime":
        raise PEMError("multi-prime RSA private keys are not supported")
    n, e, d, p, q, dp, dq, qinv = (
        key[name].native
        for name in (
            "modulus",
            "public_exponent",
            "private_exponent",
            "prime1",
            "prime2",
            "exponent1",
            "exponent2",
            "coefficient",
        )
    )
    bits = n.bit_length()
    if bits < _MIN_RSA_BITS:
        raise PEMError(
            f"the RSA private key has {bits} bits: at least {_MIN_RSA_BITS} are required"
        )
    if not (
        p * q == n
        and 1 < e < n
        and e * d % (p - 1) == 1
        and e * d % (q - 1) == 1
        and dp == d % (p - 1)
        and dq == d % (q - 1)
        and qinv * q % p == 1
    ):
        raise PEMError("the RSA private key is inconsistent: its numbers do not fit together")


# --- verification ---------------------------------------------------------


def verify_signature(public_key_info: Any, signature: bytes, data: bytes, hash_name: str) -> bool:
    """Check an RSASSA-PKCS1-v1_5 or ECDSA signature over ``data``.

    Args:
        public_key_info: asn1crypto ``PublicKeyInfo`` (RSA or EC).
        signature: the signature (DER ``ECDSA-Sig-Value`` for ECDSA).
        data: the signed bytes.
        hash_name: ``"sha256"``, ``"sha384"`` or ``"sha512"``.

    Returns:
        True if the signature is valid, False otherwise (never raises for a bad one).

    Raises:
        ValueError: unknown hash name.
        PEMError: the public key is not an RSA or EC key libcrypto accepts.
        BackendError: libcrypto cannot be used.
    """
    _check_hash(hash_name)
    if not isinstance(public_key_info, keys.PublicKeyInfo):
        raise TypeError("public_key_info must be an asn1crypto PublicKeyInfo")
    if not isinstance(signature, bytes) or not isinstance(data, bytes):
        raise TypeError("signature and data must be bytes")
    algorithm = _algorithm_of(public_key_info, "public")
    asym = load_backend()
    from oscrypto.errors import SignatureError

    try:
        public = asym.load_public_key(public_key_info)
    except (OSError, ValueError, KeyError) as exc:
        raise PEMError(f"libcrypto rejected the {_ALG_NAMES[algorithm]} public key") from exc
    verify = asym.rsa_pkcs1v15_verify if algorithm == "rsa" else asym.ecdsa_verify
    try:
        verify(public, signature, data, hash_name)
    except (SignatureError, OSError, ValueError):
        return False
    return True
