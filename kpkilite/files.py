"""``cfssljson -bare`` files: written atomically, private keys 0600 from the first byte.

``write_bare(bundle, "ca")`` writes ``ca.pem`` (certificate), ``ca-key.pem``
(private key) and ``ca.csr`` (request) for the parts the bundle holds. Each file
is first written to a temporary file in the same directory (the key's created
with mode 0600, so no byte of it is ever readable by others), flushed to disk,
then renamed over the target. Every part is checked before anything is written,
so a bad bundle leaves the directory as it was.

An existing CA private key is never replaced by a different one unless
``force=True``: re-running ``gencert -initca | json -bare ca`` would otherwise
orphan every certificate the old CA issued.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

from .errors import FileError, PEMError

__all__ = ["BARE_FILES", "atomic_write", "read_bare", "read_file", "write_bare"]

#: bundle part -> (file name suffix, PEM block types it must hold, file mode)
BARE_FILES: Dict[str, Any] = {
    "cert": (".pem", ("CERTIFICATE",), 0o644),
    "key": ("-key.pem", ("RSA PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY"), 0o600),
    "csr": (".csr", ("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"), 0o644),
}


def _bare_path(directory: Union[str, os.PathLike[str]], name: str, part: str) -> str:
    base = os.fspath(directory)
    filename = name + BARE_FILES[part][0]
    return filename if base in ("", ".") else os.path.join(base, filename)


def read_file(path: Union[str, os.PathLike[str]], what: str = "file") -> bytes:
    """Read a whole file; a missing or unreadable file is a FileError naming it."""
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        raise FileError("%s: %s does not exist" % (os.fspath(path), what)) from None
    except IsADirectoryError:
        raise FileError("%s: is a directory, not a %s" % (os.fspath(path), what)) from None
    except OSError as exc:
        raise FileError("%s: cannot read %s (%s)" % (os.fspath(path), what, exc.strerror)) from None


def atomic_write(
    path: Union[str, os.PathLike[str]], data: Union[str, bytes], *, mode: int = 0o644
) -> None:
    """Write ``data`` to ``path`` so that ``path`` is always either the old file or the new one.

    The temporary file is created in the target's directory with ``mode``
    (before any byte is written), flushed and fsynced, then renamed over
    ``path``; the directory is fsynced too.

    Raises:
        FileError: the directory is missing or not writable, the disk is full, ...
    """
    _commit_all([_stage(os.fspath(path), data, mode)])


def _backup(item: _Staged) -> Optional[str]:
    """A hard link to the target's current version (the link itself for a symlink), or None."""
    backup = item.temp + ".old"
    try:
        os.link(item.target, backup, follow_symlinks=False)
    except OSError:
        return None
    return backup


class _Staged:
    __slots__ = ("target", "temp")

    def __init__(self, target: str, temp: str) -> None:
        self.target = target
        self.temp = temp


def _stage(target: str, data: Union[str, bytes], mode: int) -> _Staged:
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    directory = os.path.dirname(target) or "."
    base = os.path.basename(target)
    if os.path.isdir(target):
        raise FileError("%s: is a directory; cannot write a file there" % target)
    try:
        # mkstemp opens with O_CREAT|O_EXCL and mode 0600; widen only non-secret files.
        fd, temp = tempfile.mkstemp(prefix=".%s." % base, suffix=".tmp", dir=directory)
    except FileNotFoundError:
        raise FileError("%s: directory %s does not exist" % (target, directory)) from None
    except OSError as exc:
        raise FileError("%s: cannot create a file in %s (%s)"
                        % (target, directory, exc.strerror)) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            if mode != 0o600:
                umask = os.umask(0)
                os.umask(umask)
                os.fchmod(fh.fileno(), mode & ~umask)
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        _unlink(temp)
        raise FileError("%s: cannot write (%s)" % (target, exc.strerror)) from None
    except BaseException:
        _unlink(temp)
        raise
    return _Staged(target, temp)


def _unlink(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _commit_all(staged: List[_Staged]) -> None:
    """Rename every staged file into place, all or none.

    Before a target is replaced, its old version is kept as a hard link, so a
    failed rename puts back every target already replaced (and removes the ones
    that did not exist). Where hard links are impossible the old file cannot be
    restored, but each target is still either the old file or the new one.
    """
    done: List[Tuple[str, Optional[str], bool]] = []  # (target, backup, existed)
    current = ""
    try:
        for item in staged:
            current = item.target
            existed = os.path.lexists(item.target)
            backup = _backup(item) if existed else None
            os.replace(item.temp, item.target)
            done.append((item.target, backup, existed))
    except BaseException as exc:
        for target, backup, existed in reversed(done):
            if backup is not None:
                with contextlib.suppress(OSError):
                    os.replace(backup, target)
            elif not existed:
                _unlink(target)
        for item in staged:
            _unlink(item.temp)
            _unlink(item.temp + ".old")
        if isinstance(exc, OSError):
            raise FileError("%s: cannot rename into place (%s)"
                            % (current, exc.strerror)) from None
        raise
    for _target, backup, _existed in done:
        if backup is not None:
            _unlink(backup)
    for directory in {os.path.dirname(item.target) or "." for item in staged}:
        try:
            dfd = os.open(directory, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.fsync(dfd)
        except OSError:
            pass
        finally:
            os.close(dfd)


def _cert_facts(pem_text: Union[str, bytes]) -> Optional[Tuple[bool, bytes]]:
    """``(is a CA, SubjectPublicKeyInfo DER)`` of a PEM certificate, None if unreadable."""
    from asn1crypto import x509

    from ._pem import first_pem

    try:
        cert = x509.Certificate.load(first_pem(pem_text, ["CERTIFICATE"]))
        bc = cert.basic_constraints_value
        spki: bytes = cert["tbs_certificate"]["subject_public_key_info"].dump()
        return bool(bc is not None and bc["ca"].native), spki
    except (PEMError, ValueError, TypeError, KeyError, AttributeError):
        return None


def _is_ca_cert(pem_text: Union[str, bytes]) -> bool:
    facts = _cert_facts(pem_text)
    return facts is not None and facts[0]


def _check_part(part: str, value: Any) -> str:
    from ._pem import first_pem

    if not isinstance(value, str):
        raise PEMError("%s: expected PEM text, got %s" % (part, type(value).__name__))
    try:
        first_pem(value, BARE_FILES[part][1])
    except PEMError as exc:
        raise PEMError("%s: %s" % (part, exc.message)) from None
    return value


def write_bare(
    bundle: Mapping[str, Any],
    name: str,
    *,
    directory: Union[str, os.PathLike[str]] = ".",
    force: bool = False,
) -> List[str]:
    """Write a cfssl JSON bundle as ``cfssljson -bare NAME`` does.

    Args:
        bundle: ``{"cert": PEM, "key": PEM, "csr": PEM}``; any subset with at
            least one of them (other keys are ignored, as cfssljson does).
        name: the base name (``"ca"`` -> ``ca.pem``, ``ca-key.pem``, ``ca.csr``).
        directory: where to write.
        force: allow replacing an existing CA private key with a different one.

    Returns:
        The paths written, in the order certificate, key, CSR.

    Raises:
        PEMError: a part is not PEM of the right type, or the bundle has no part.
        FileError: refusing to overwrite a CA key, or the files cannot be written.
    """
    if not isinstance(bundle, Mapping):
        raise TypeError("bundle must be a mapping, not %s" % type(bundle).__name__)
    if not isinstance(name, str):
        raise TypeError("name must be a str, not %s" % type(name).__name__)
    if not name or name.endswith(("/", os.sep)):
        raise FileError("-bare: %r is not a usable base name" % name)
    parts = {p: _check_part(p, bundle[p]) for p in BARE_FILES if bundle.get(p) is not None}
    if not parts:
        raise PEMError("the JSON input has no cert, key or csr to write")
    paths = {p: _bare_path(directory, name, p) for p in parts}
    if "key" in parts and not force:
        _refuse_ca_key_overwrite(parts, paths["key"], _bare_path(directory, name, "cert"))
    if "cert" in parts and not force:
        _refuse_ca_cert_overwrite(parts["cert"], paths["cert"])
    staged: List[_Staged] = []
    try:
        for part, text in parts.items():
            staged.append(_stage(paths[part], text, BARE_FILES[part][2]))
    except BaseException:
        for item in staged:
            _unlink(item.temp)
        raise
    _commit_all(staged)
    return [paths[p] for p in parts]


def _refuse_ca_key_overwrite(parts: Mapping[str, str], key_path: str, cert_path: str) -> None:
    try:
        with open(key_path, "rb") as fh:
            old_key = fh.read()
    except OSError:
        return
    if old_key == parts["key"].encode("utf-8"):
        return
    old_cert: Optional[bytes]
    try:
        with open(cert_path, "rb") as fh:
            old_cert = fh.read()
    except OSError:
        old_cert = None
    old = _cert_facts(old_cert) if old_cert is not None else None
    if old is not None and old[0]:
        raise FileError(
            "%s: refusing to overwrite an existing CA private key (every certificate it "
            "signed would be orphaned); move it away first, or use -force" % key_path
        )
    if old is None and "cert" in parts and _is_ca_cert(parts["cert"]):
        # Nothing says whose key this is (its certificate is gone): it may be a CA's.
        raise FileError(
            "%s: refusing to overwrite an existing private key with a new CA's key (%s, "
            "which would say whose key it is, is missing or unreadable); move it away "
            "first, or use -force" % (key_path, cert_path)
        )


def _refuse_ca_cert_overwrite(new_cert: str, cert_path: str) -> None:
    """A CA certificate may only be replaced by one for the same key (a re-issued CA)."""
    try:
        with open(cert_path, "rb") as fh:
            old = _cert_facts(fh.read())
    except OSError:
        return
    if old is None or not old[0]:
        return
    new = _cert_facts(new_cert)
    if new is None or new[1] != old[1]:
        raise FileError(
            "%s: refusing to replace an existing CA certificate with a certificate for "
            "another key (the CA's key pair would be broken); use another name, or -force"
            % cert_path
        )


def read_bare(
    name: str, *, directory: Union[str, os.PathLike[str]] = "."
) -> Dict[str, str]:
    """Read back the ``-bare`` files that exist for ``name``: ``{"cert", "key", "csr"}`` subset."""
    found: Dict[str, str] = {}
    for part in BARE_FILES:
        path = _bare_path(directory, name, part)
        if os.path.exists(path):
            found[part] = read_file(path, part).decode("utf-8", "replace")
    return found
