"""``cfssljson -bare`` files: written atomically, private keys 0600 from the first byte.

``write_bare(bundle, "ca")`` writes ``ca.pem`` (certificate), ``ca-key.pem``
(private key) and ``ca.csr`` (request) for the parts the bundle holds. Each file
is first written to a temporary file in the same directory (the key's created
with mode 0600, so no byte of it is ever readable by others), flushed to disk,
then renamed over the target. Every part is checked before anything is written,
so a bad bundle leaves the directory as it was.

An existing CA private key is never replaced by a different one unless
``force=True``: re-running ``gencert -initca | json -bare ca`` would otherwise
orphan every certificate the old CA issued. The check and the writes happen
under an exclusive lock on the target directory (``flock``; no lock file), so
concurrent runs cannot interleave: one writes, the others see its files.

Only regular files (or symlinks, which are replaced, not followed) are ever
replaced: a FIFO, a device or a socket in the way is refused before anything
is read or written (``-o /dev/null`` must never turn ``/dev/null`` into a file).
Inputs are read up to :data:`MAX_INPUT` bytes (16 MiB): the PEM and JSON
documents kpkilite reads are a few KB, and ``/dev/zero`` must not eat memory.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
import threading
from typing import IO, Any, Dict, Iterator, List, Mapping, Optional, Tuple, Union

from .errors import FileError, PEMError

__all__ = ["BARE_FILES", "atomic_write", "read_bare", "read_file", "write_bare"]

#: The most bytes read from one input file or stdin (PEM and JSON inputs are KBs).
MAX_INPUT = 16 * 1024 * 1024

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


def _check_path(path: Union[str, os.PathLike[str]]) -> str:
    """``path`` as a str; a name the OS cannot take (NUL, a lone surrogate) is a FileError."""
    name = os.fspath(path)
    if not isinstance(name, str):
        raise TypeError("path must be str or os.PathLike[str], not %s" % type(name).__name__)
    if name == "":
        raise FileError("an empty file name (an unset shell variable?)")
    if "\x00" in name:
        raise FileError("%r: a file name cannot contain a NUL character" % name)
    try:
        os.fsencode(name)
    except UnicodeEncodeError:
        raise FileError("%r: the file name cannot be encoded for this file system "
                        "(an unpaired surrogate?)" % name) from None
    return name


def read_limited(stream: IO[bytes], name: str, what: str = "file") -> bytes:
    """Read a whole binary stream of at most :data:`MAX_INPUT` bytes.

    Raises:
        FileError: the stream holds more (without reading it all), or cannot be read.
    """
    try:
        data = stream.read(MAX_INPUT + 1)
    except OSError as exc:
        raise FileError("%s: cannot read %s (%s)" % (name, what, exc.strerror or exc)) from None
    if data is None:  # a non-blocking stream with nothing to read yet
        data = b""
    if len(data) > MAX_INPUT:
        raise FileError("%s: larger than %d MiB; not a %s"
                        % (name, MAX_INPUT // (1024 * 1024), what))
    return bytes(data)


def read_file(path: Union[str, os.PathLike[str]], what: str = "file") -> bytes:
    """Read a whole file of at most :data:`MAX_INPUT` bytes; failures are a FileError naming it.

    A FIFO is read like ``cat`` reads it (so ``<(command)`` works); a device
    such as ``/dev/zero`` is cut off at the limit.
    """
    name = _check_path(path)
    try:
        with open(name, "rb") as fh:
            return read_limited(fh, name, what)
    except FileNotFoundError:
        raise FileError("%s: %s does not exist" % (name, what)) from None
    except IsADirectoryError:
        raise FileError("%s: is a directory, not a %s" % (name, what)) from None
    except OSError as exc:
        if isinstance(exc, FileError):
            raise
        raise FileError("%s: cannot read %s (%s)" % (name, what, exc.strerror)) from None


#: file type -> how messages name it (S_IFMT bits of st_mode)
_KINDS = {
    stat.S_IFCHR: "character device", stat.S_IFBLK: "block device",
    stat.S_IFIFO: "FIFO (named pipe)", stat.S_IFSOCK: "socket", stat.S_IFDIR: "directory",
}


def _check_target(target: str) -> bool:
    """Whether ``target`` exists; refuses one that is neither a regular file nor a symlink.

    Renaming over a symlink replaces the link itself, which is what a rewrite
    means; renaming over a device, FIFO or socket would destroy it (as root,
    ``-o /dev/null`` would replace the system's /dev/null with a file).
    """
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise FileError("%s: cannot check the existing file (%s)" % (target, exc.strerror)) \
            from None
    fmt = stat.S_IFMT(info.st_mode)
    if fmt in (stat.S_IFREG, stat.S_IFLNK):
        return True
    if fmt == stat.S_IFDIR:
        raise FileError("%s: is a directory; cannot write a file there" % target)
    kind = _KINDS.get(fmt, "special file")
    raise FileError("%s: is a %s, not a regular file; refusing to replace it" % (target, kind))


def _read_existing(path: str) -> Optional[bytes]:
    """An existing regular file's bytes (following a symlink); None for anything else.

    Opened non-blocking and checked with fstat before reading, so a FIFO or a
    device found here is never read (reading a FIFO would hang).
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        try:
            data = fh.read(MAX_INPUT + 1)
        except OSError:
            return None
        return None if data is None or len(data) > MAX_INPUT else data


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
    _commit_all([_stage(_check_path(path), data, mode)])


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
    _check_target(target)
    try:
        # mkstemp opens with O_CREAT|O_EXCL and mode 0600; widen only non-secret files.
        fd, temp = tempfile.mkstemp(prefix=".%s." % base, suffix=".tmp", dir=directory)
    except FileNotFoundError:
        if os.path.isdir(directory):  # e.g. /proc: it exists, but files cannot be made there
            raise FileError("%s: cannot create a file in %s (%s)"
                            % (target, directory, os.strerror(errno.ENOENT))) from None
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
            existed = _check_target(item.target)
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
        if isinstance(exc, OSError) and not isinstance(exc, FileError):
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
    from ._pem import first_pem
    from .certinfo import _Cert

    try:
        cert = _Cert(first_pem(pem_text, ["CERTIFICATE"]))
    except PEMError:
        return None
    return cert.is_ca, cert.spki_der


def _is_ca_cert(pem_text: Union[str, bytes]) -> bool:
    facts = _cert_facts(pem_text)
    return facts is not None and facts[0]


def _check_part(part: str, value: Any) -> str:
    from ._pem import first_pem

    if not isinstance(value, str):
        raise PEMError("%s: expected PEM text, got %s" % (part, type(value).__name__))
    if not value.isascii():
        at = next(i for i, ch in enumerate(value) if ord(ch) > 0x7F)
        raise PEMError("%s: PEM is ASCII text, but character %d is U+%04X"
                       % (part, at + 1, ord(value[at])))
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
    if "\x00" in name:
        raise FileError("-bare: %r: a file name cannot contain a NUL character" % name)
    parts = {p: _check_part(p, bundle[p]) for p in BARE_FILES if bundle.get(p) is not None}
    if not parts:
        raise PEMError("the JSON input has no cert, key or csr to write")
    paths = {p: _check_path(_bare_path(directory, name, p)) for p in parts}
    cert_path = _check_path(_bare_path(directory, name, "cert"))
    with _locked_directory(os.path.dirname(cert_path) or ".", next(iter(paths.values()))):
        for path in paths.values():  # before anything is read: a FIFO there would hang
            _check_target(path)
        if "key" in parts and not force:
            _refuse_ca_key_overwrite(parts, paths["key"], cert_path)
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


# --- the directory lock ------------------------------------------------------------------


class _DirLock:
    """One directory's lock in this process: a thread lock, a depth, the flock'ed fd."""

    __slots__ = ("mutex", "depth", "fd")

    def __init__(self) -> None:
        self.mutex = threading.RLock()
        self.depth = 0
        self.fd: Optional[int] = None


_DIR_LOCKS: Dict[Tuple[int, int], _DirLock] = {}
_DIR_LOCKS_GUARD = threading.Lock()


@contextlib.contextmanager
def _locked_directory(directory: str, target: str) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``directory`` itself (no lock file is created).

    Reentrant within a process: a nested call for the same directory (by device
    and inode) from the same thread goes straight through, other threads wait.
    Other processes wait for the lock. If this process already holds an flock on
    the directory through another descriptor (a caller locking its own output
    directory), that lock is the one that counts: a second flock would wait for
    ourselves forever. Where no lock can be had (a directory that can be written
    but not opened for reading, a file system without flock), the write goes on
    unlocked, as cfssljson's always does.

    Raises:
        FileError: the directory does not exist or cannot be examined (naming ``target``).
    """
    try:
        info = os.stat(directory)
    except FileNotFoundError:
        raise FileError("%s: directory %s does not exist" % (target, directory)) from None
    except OSError as exc:
        raise FileError("%s: cannot use the directory %s (%s)"
                        % (target, directory, exc.strerror)) from None
    key = (info.st_dev, info.st_ino)
    with _DIR_LOCKS_GUARD:
        entry = _DIR_LOCKS.setdefault(key, _DirLock())
    with entry.mutex:
        if entry.depth == 0:
            entry.fd = _flock(directory, target)
        entry.depth += 1
        try:
            yield
        finally:
            entry.depth -= 1
            if entry.depth == 0 and entry.fd is not None:
                os.close(entry.fd)  # closing the only descriptor releases the flock
                entry.fd = None


def _flock(directory: str, target: str) -> Optional[int]:
    """An fd of ``directory`` holding an exclusive flock; None when none is needed or possible."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no locking
        return None
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. a write-only (0333) directory: no lock to be had, go on
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if _flocked_by_this_process(fd):
                os.close(fd)
                return None
            fcntl.flock(fd, fcntl.LOCK_EX)  # another process is writing: wait for it
    except BaseException as exc:
        os.close(fd)
        if isinstance(exc, OSError):  # no flock here (some network file systems): go on
            return None
        raise
    return fd


def _flocked_by_this_process(fd: int) -> bool:
    """Whether another descriptor of this process holds an exclusive flock on ``fd``'s file.

    Linux only (``/proc/self/fdinfo`` lists the locks held through each
    descriptor); elsewhere False.
    """
    try:
        target = os.fstat(fd)
        fds = os.listdir("/proc/self/fd")
    except OSError:
        return False
    for entry in fds:
        if not entry.isdigit() or int(entry) == fd:
            continue
        try:
            other = os.stat("/proc/self/fd/" + entry)
            if (other.st_dev, other.st_ino) != (target.st_dev, target.st_ino):
                continue
            with open("/proc/self/fdinfo/" + entry) as fh:
                lines = fh.read().splitlines()
        except OSError:
            continue
        for line in lines:
            if line.startswith("lock:") and "FLOCK" in line and "WRITE" in line:
                return True
    return False


def _refuse_ca_key_overwrite(parts: Mapping[str, str], key_path: str, cert_path: str) -> None:
    old_key = _read_existing(key_path)
    if old_key is None or old_key == parts["key"].encode("utf-8"):
        return
    old_cert = _read_existing(cert_path)
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
    data = _read_existing(cert_path)
    old = _cert_facts(data) if data is not None else None
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
