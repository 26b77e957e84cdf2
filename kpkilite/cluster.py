"""The Kubernetes certificate set, made idempotently from the pieces in csr/signing/files.

:func:`ensure_k8s_pki` makes a directory hold the chapter's set (one CA and five
leaves, as the cfssl walk-through makes them with ``gencert | cfssljson -bare``)
and returns what it did, one :class:`CertResult` per certificate. Run it again
with the same inputs and it writes nothing.

The rules, in the order they are applied:

1. Every input is validated before anything is generated or written (``now``
   included: a new CA must end by the year 9999), and the directory must not
   hold another layout's CA files (``ca.crt``/``ca.key`` and the other kubeadm
   CAs, or ``ca.pem``/``ca-key.pem``): a run with the wrong layout would
   otherwise add a second, unrelated CA beside the first. A file of the set that
   is a FIFO, a device, a socket or a directory is an error naming it: it is
   never read (a FIFO would hang the run) nor replaced. Only regular files (or
   symlinks to them) of at most 1 MiB are read; a symlink to anything else, or a
   larger file, is unusable: a leaf is re-issued, a CA is an error as any
   unusable CA (``force`` replaces it).
2. The CA is reused whenever it exists and works. A CA certificate without its
   key, a key without its certificate, a key that does not match, a certificate
   that is not a CA or has expired: each is an error naming the file, unless
   ``force`` is set, which makes a new CA (and so re-issues every leaf).
   Every certificate is read with certinfo's loader, so a bad field anywhere is
   "does not parse", naming the file. A CA key (or ``sa.key``) that its group or
   others can use is set to 0600 with a warning, or replaced with ``force``.
3. A leaf is re-issued only when one of its files is missing, it does not verify
   against the CA, its key (or CSR) does not match it, its subject is not the
   one the table asks for, it lacks a requested host, its key (or kubeconfig)
   can be used by its group or others (a new key), or it expires within
   ``renew_before`` (unless it already lasts as long as the CA allows). A leaf
   that is re-issued while its certificate exists and parses, for whatever
   reason, gets the requested hosts plus every SAN of that certificate: hosts are
   only ever added, so an unattended renewal never drops a name clients use. To
   remove a host, delete the leaf's files.
4. Keys are generated in parallel threads (libcrypto releases the GIL), then
   the leaves are signed.
5. Writing is all-or-nothing across runs: the new files are first written, in
   one atomic step, to a journal (``.k8s-pki.journal``, mode 0600) in the
   directory; then each file is replaced by temp-file-and-rename
   (:func:`kpkilite.files.write_bare`); then the journal is removed. A run that
   is killed half-way leaves every file either as it was or complete, and the
   next run finishes the interrupted one from the journal before it checks
   anything (only when every file is still either its old or its new self).

Certificate sets are tables of :class:`CertDef` in :data:`LAYOUTS`, so another
layout (kubeadm's) is another table.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import stat
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import (
    Any,
    Callable,
    Dict,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Set,
    Tuple,
    TypedDict,
    Union,
)

from . import _spec
from ._certs_cmd import ExpirationInfo, check_expiration, format_expiration, renew_certs
from ._duration import HOUR, MINUTE, SECOND, utc_now
from ._layouts import DEFAULT_HOSTS, LAYOUTS, CertDef
from .csr import KEY_SIZES, check_hosts, parse_csr_spec, parse_duration_field
from .errors import CSRSpecError, FileError, KpkiliteError, PEMError, SigningConfigError

__all__ = [
    "DEFAULT_HOSTS",
    "LAYOUTS",
    "CertDef",
    "CertResult",
    "ExpirationInfo",
    "check_expiration",
    "ensure_k8s_pki",
    "format_expiration",
    "format_result",
    "renew_certs",
]

StrPath = Union[str, "os.PathLike[str]"]

#: The chapter's signing profile name and its usages (ca-config.json). ECDSA keys get the
#: same list without "key encipherment" (RFC 8813 section 3: not for ECDSA keys).
PROFILE = "kubernetes"
_USAGES = {
    "rsa": ("signing", "key encipherment", "server auth", "client auth"),
    "ecdsa": ("signing", "server auth", "client auth"),
}
_BACKDATE = 5 * MINUTE  # signing.py's default backdate; notBefore = now - 5m
JOURNAL = ".k8s-pki.journal"
#: How a row's files are named: ``CertDef.files`` -> ((part, suffix), ...).
_FILES: Dict[str, Tuple[Tuple[str, str], ...]] = {
    "bare": (("cert", ".pem"), ("key", "-key.pem"), ("csr", ".csr")),
    "kubeadm": (("cert", ".crt"), ("key", ".key")),
    "keypair": (("key", ".key"), ("pub", ".pub")),
    "kubeconfig": (("kubeconfig", ""),),
}
_SECRET_PARTS = ("key", "kubeconfig")


class CertResult(TypedDict):
    """What :func:`ensure_k8s_pki` did with one certificate.

    ``action`` is ``"created"`` (none of its files existed), ``"renewed"``
    (re-issued; ``reason`` says why) or ``"kept"``. ``not_after`` is the
    certificate's notAfter as RFC 3339 UTC (``2035-06-01T10:00:00Z``).
    """

    name: str
    action: str
    path: str
    files: List[str]
    not_after: str
    reason: str


@dataclass
class _Options:
    algo: str
    size: int
    expiry: int
    ca_expiry: int
    renew_before: int
    renew_before_text: str
    specs: Dict[str, Dict[str, Any]]
    groups: Dict[str, Dict[str, List[object]]]
    table: Tuple[CertDef, ...] = ()
    #: the parameter a new CA's validity comes from, as given, and in ns
    ca_span: Tuple[str, str, int] = ("", "", 0)


@dataclass
class _Plan:
    cdef: CertDef
    action: str = "kept"
    reason: str = ""
    not_after: Optional[datetime] = None
    bundle: Dict[str, str] = field(default_factory=dict)
    #: a kept CA's certificate and key, as read when it was checked
    ca_files: Optional[Tuple[bytes, bytes]] = None


# --- inputs ------------------------------------------------------------------------------


def _check_options(
    table: Sequence[CertDef],
    hosts: Sequence[str],
    algo: str,
    size: Optional[int],
    expiry: str,
    ca_expiry: str,
    renew_before: str,
) -> _Options:
    """Validate every input and build the CSR specs; raises before anything is generated."""
    from ._asn1 import classify_hosts

    if isinstance(hosts, (str, bytes)) or not isinstance(hosts, Sequence):
        raise TypeError("hosts must be a sequence of str, not %s" % type(hosts).__name__)
    for host in hosts:
        if not isinstance(host, str):
            raise TypeError("hosts must hold str, not %s" % type(host).__name__)
    check_hosts(list(hosts), "hosts")
    if not isinstance(algo, str):
        raise TypeError("algo must be a str, not %s" % type(algo).__name__)
    if algo not in KEY_SIZES:
        raise CSRSpecError("algo: %r is not supported; use \"rsa\" or \"ecdsa\"" % algo)
    if size is None:
        size = KEY_SIZES[algo][0]
    elif isinstance(size, bool) or not isinstance(size, int):
        raise TypeError("size must be an int, not %s" % type(size).__name__)
    elif size not in KEY_SIZES[algo]:
        raise CSRSpecError("size: %d is not supported for %s keys; supported sizes: %s"
                           % (size, algo, ", ".join(str(s) for s in KEY_SIZES[algo])))
    expiry_ns = parse_duration_field(expiry, "expiry", SigningConfigError)
    ca_expiry_ns = parse_duration_field(ca_expiry, "ca_expiry", SigningConfigError)
    renew_ns = parse_duration_field(renew_before, "renew_before", SigningConfigError)
    if renew_ns >= expiry_ns:
        raise SigningConfigError(
            "renew_before: %s is not shorter than expiry %s; every run would re-issue every "
            "certificate; use a shorter --renew-before, such as %s (a third of the expiry)"
            % (renew_before, expiry, _a_third(expiry_ns)))
    specs: Dict[str, Dict[str, Any]] = {}
    groups: Dict[str, Dict[str, List[object]]] = {}
    for cdef in table:
        if cdef.files == "keypair":
            specs[cdef.name] = {"CN": "", "key": {"algo": algo, "size": size}}
            continue
        wanted = list(cdef.hosts)
        if cdef.extra_hosts:
            wanted += [h for h in hosts if h not in wanted]
        spec: Dict[str, Any] = {
            "CN": cdef.CN,
            "hosts": wanted,
            "key": {"algo": algo, "size": size},
            "names": [dict(cdef.names)] if cdef.names else [],
        }
        if cdef.is_ca:
            # The CA outlives the leaves: the chapter's 87600h, or longer if expiry is.
            spec["ca"] = {"expiry": ca_expiry if ca_expiry_ns >= expiry_ns else expiry}
        parse_csr_spec(spec)  # the table and the hosts together: raises CSRSpecError
        specs[cdef.name] = spec
        groups[cdef.name] = classify_hosts(wanted)
    ca_span = ("ca_expiry", ca_expiry, ca_expiry_ns) if ca_expiry_ns >= expiry_ns else (
        "expiry", expiry, expiry_ns)
    return _Options(algo, size, expiry_ns, max(ca_expiry_ns, expiry_ns), renew_ns,
                    renew_before, specs, groups, tuple(table), ca_span)


def _a_third(ns: int) -> str:
    """A third of a duration as a short Go duration, rounded down to a whole unit.

    >>> [_a_third(n * 3_600_000_000_000) for n in (24, 8760, 1)], _a_third(2_000_000_000)
    (['8h', '2920h', '20m'], '1s')
    """
    third = ns // 3
    for unit, size in (("h", HOUR), ("m", MINUTE)):
        if third >= size:
            return "%d%s" % (third // size, unit)
    return "%ds" % max(third // SECOND, 1)


# --- files -------------------------------------------------------------------------------


def _paths(directory: str, cdef: CertDef) -> Dict[str, str]:
    """Part (``cert``, ``key``, ``csr``, ``pub``, ``kubeconfig``) -> path of a row's files."""
    if cdef.files == "kubeconfig":  # may live in another directory: no "pki/../admin.conf"
        return {"kubeconfig": os.path.normpath(os.path.join(directory, cdef.name))}
    return {part: os.path.join(directory, cdef.name + suffix)
            for part, suffix in _FILES[cdef.files]}


def _mode(part: str) -> int:
    return 0o600 if part in _SECRET_PARTS else 0o644


#: The most bytes read from one file of the set (PEM files and kubeconfigs are a few KB).
MAX_FILE = 1024 * 1024
#: ... and from the journal, which holds every new file of a run.
_MAX_JOURNAL = 16 * MAX_FILE

_KINDS = {stat.S_IFDIR: "a directory", stat.S_IFIFO: "a FIFO (named pipe)",
          stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
          stat.S_IFSOCK: "a socket"}


class _Unusable(FileError):
    """A file of the set that is there but cannot be one: not a regular file, or too large.

    ``what`` is the message without the path (``is a FIFO (named pipe), not a
    regular file``); ``special`` is True when the path itself (not a symlink's
    target) is not a regular file, which no atomic write replaces.
    """

    def __init__(self, path: str, what: str, special: bool) -> None:
        super().__init__("%s: %s" % (path, what))
        self.path = path
        self.what = what
        self.special = special


def _kind(mode: int) -> str:
    return _KINDS.get(stat.S_IFMT(mode), "a special file")


def _special(path: str) -> Optional[str]:
    """Why ``path`` itself cannot be replaced by a file ("is a FIFO ..."), or None when it
    is a regular file, a symlink, or missing."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode) or stat.S_ISLNK(mode):
        return None
    return "is %s, not a regular file" % _kind(mode)


def _read_optional(path: str, limit: int = MAX_FILE) -> Optional[bytes]:
    """A file of the set: its bytes, or None when it does not exist.

    Only a regular file (or a symlink to one) of at most ``limit`` bytes is read:
    a FIFO would hang the run and ``/dev/zero`` would eat memory, so anything
    else is never opened for reading (a FIFO's open would block too).

    Raises:
        _Unusable: the path is not a regular file, or is larger than ``limit``.
        FileError: the file cannot be read (permissions, a file where a directory
            should be, ...).
    """
    try:
        info = os.lstat(path)
        link = stat.S_ISLNK(info.st_mode)
        if link:
            info = os.stat(path)
    except FileNotFoundError:
        return None  # a dangling symlink is a missing file: it is replaced like one
    except OSError as exc:
        raise FileError("%s: cannot read (%s)" % (path, exc.strerror)) from None
    if not stat.S_ISREG(info.st_mode):
        what = "is a symlink to %s" % _kind(info.st_mode) if link else "is %s" % _kind(
            info.st_mode)
        raise _Unusable(path, what + ", not a regular file", not link)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise FileError("%s: cannot read (%s)" % (path, exc.strerror)) from None
    with os.fdopen(fd, "rb") as fh:
        try:
            mode = os.fstat(fd).st_mode  # swapped for something else since the stat?
            data = fh.read(limit + 1) if stat.S_ISREG(mode) else None
        except OSError as exc:
            raise FileError("%s: cannot read (%s)" % (path, exc.strerror)) from None
    if data is None:
        raise _Unusable(path, "is %s, not a regular file" % _kind(mode), not link)
    if len(data) > limit:
        raise _Unusable(path, "is larger than %d MiB, too large for a file of the set"
                        % (limit // MAX_FILE), False)
    return data


def _read_usable(path: str) -> Tuple[Optional[bytes], str]:
    """``(bytes or None, "")``, or ``(None, why)`` for a file that is there but unusable."""
    try:
        return _read_optional(path), ""
    except _Unusable as exc:
        return None, exc.what


@contextlib.contextmanager
def _locked(directory: str) -> Iterator[None]:
    """Hold an exclusive flock on the directory itself, so two runs never interleave."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError as exc:
        raise FileError("%s: cannot open the directory to lock it (%s); k8s-pki needs to read "
                        "and write it" % (directory, exc.strerror or exc)) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise FileError("%s: another k8s-pki run is working in this directory; "
                            "wait for it to finish" % directory) from None
        yield
    finally:
        os.close(fd)


def _remove_litter(directory: str, table: Sequence[CertDef]) -> None:
    """Delete temporary files a killed run left (``.NAME.pem.XXXX.tmp`` and ``...tmp.old``)."""
    targets: Dict[str, set] = {directory: {JOURNAL}}  # type: ignore[type-arg]
    for cdef in table:
        for path in _paths(directory, cdef).values():
            targets.setdefault(os.path.dirname(path), set()).add(os.path.basename(path))
    for folder, names in targets.items():
        try:
            entries = os.listdir(folder)
        except OSError:
            continue
        for entry in entries:
            stem = entry[:-4] if entry.endswith(".tmp.old") else entry  # files.py's backups
            if not (stem.startswith(".") and stem.endswith(".tmp")):
                continue
            base = stem[1:].rsplit(".", 2)[0]
            if base in names:
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(folder, entry))


def _sha256(data: Optional[bytes]) -> Optional[str]:
    return None if data is None else hashlib.sha256(data).hexdigest()


def _state(path: str) -> Optional[str]:
    """What is at ``path``, for the journal: None (missing), ``"unusable"`` (there, but
    not a regular file of at most :data:`MAX_FILE` bytes) or its SHA-256."""
    try:
        return _sha256(_read_optional(path))
    except _Unusable:
        return "unusable"


def _refuse_special(paths: Iterator[str]) -> None:
    """Refuse to start when a path the run reads or writes is a FIFO, device, socket or
    directory: it is never read (a FIFO would hang) and never replaced (files.py's
    atomic writes replace only regular files and symlinks).

    Raises:
        FileError: naming the first such path and what it is.
    """
    for path in paths:
        what = _special(path)
        if what is not None:
            raise FileError("%s: %s; k8s-pki reads and replaces only regular files: "
                            "remove it and run again" % (path, what))


def _write_journal(directory: str, plans: Sequence[_Plan]) -> str:
    from .files import atomic_write

    entries = []
    for plan in plans:
        for part, path in _paths(directory, plan.cdef).items():
            entries.append({
                "file": os.path.relpath(path, directory),
                "mode": _mode(part),
                "old_sha256": _state(path),
                "data": plan.bundle[part],
            })
    journal = os.path.join(directory, JOURNAL)
    atomic_write(journal, json.dumps({"kpkilite_journal": 1, "files": entries}), mode=0o600)
    return journal


def _recover(directory: str) -> None:
    """Finish a run that was killed after its journal was written (see the module docs)."""
    journal = os.path.join(directory, JOURNAL)
    try:
        raw = _read_optional(journal, _MAX_JOURNAL)
    except _Unusable as exc:
        if exc.special:  # a FIFO or a directory: not ours to remove
            raise FileError("%s; remove it and run again" % exc) from None
        raw = b""  # too large, or a symlink to a device: not one of ours
    if raw is None:
        return
    try:
        _finish(directory, journal, raw)
    except FileError as exc:
        raise FileError("%s (while finishing an interrupted run recorded in %s; run k8s-pki "
                        "again to complete it)" % (exc, journal)) from None
    except OSError as exc:
        raise FileError("%s: cannot finish the interrupted run it records (%s)"
                        % (journal, exc.strerror or exc)) from None


def _finish(directory: str, journal: str, raw: bytes) -> None:
    from .files import atomic_write
    try:
        doc = json.loads(raw.decode("utf-8"))
        entries = [(str(e["file"]), int(e["mode"]), e["old_sha256"], str(e["data"]))
                   for e in doc["files"]]
        if any(os.path.isabs(f) or os.path.basename(f) in ("", ".", "..")
               for f, _, _, _ in entries):
            raise ValueError("an absolute file name or a directory")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        _spec.warn("%s: not a k8s-pki journal; removed it" % journal)
        os.unlink(journal)
        return
    todo = []
    started = False
    for name, mode, old, data in entries:
        target = os.path.join(directory, name)
        current = _state(target)
        if current == _sha256(data.encode("utf-8")):
            started = True
        elif current == old:
            todo.append((name, mode, data))
        else:
            _spec.warn("%s: %s changed since an interrupted run; that run is abandoned"
                       % (journal, name))
            os.unlink(journal)
            return
    for name, mode, data in todo if started else ():
        target = os.path.join(directory, name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        atomic_write(target, data, mode=mode)
    if started and todo:
        _spec.warn("finished an interrupted run: wrote %s" % ", ".join(n for n, _, _ in todo))
    os.unlink(journal)


# --- checks ------------------------------------------------------------------------------


def _one_line(text: str) -> str:
    """``text`` on one line: every run of white space that holds a line break is one space.

    >>> _one_line("bad (missing\\n    while parsing)")
    'bad (missing while parsing)'
    """
    return " ".join(part.strip() for part in text.splitlines() if part.strip()) or text.strip()


def _load_cert(data: bytes, path: str) -> Any:
    """The first ``CERTIFICATE`` PEM block of a file, every field checked.

    The check is certinfo's loader (:class:`kpkilite.certinfo._Cert`), which parses
    every field kpkilite reads (names, both dates, SANs, extensions, the public
    key) inside one guard: a certificate that passes here never raises later, in
    :func:`~kpkilite.certinfo.is_issued_by` or :func:`~kpkilite.certinfo.key_matches_cert`.

    Returns:
        The asn1crypto ``Certificate``.

    Raises:
        PEMError: ``PATH: MESSAGE``, one line.
    """
    from asn1crypto import x509

    from ._pem import first_pem
    from .certinfo import _Cert

    try:
        der = first_pem(data, ["CERTIFICATE"])
        _Cert(der)
        cert = x509.Certificate.load(der, strict=True)
        _ = cert.basic_constraints_value, cert.subject_alt_name_value
    except PEMError as exc:
        raise PEMError("%s: %s" % (path, _one_line(exc.message))) from None
    except Exception as exc:  # pragma: no cover - _Cert read these fields already
        from .certinfo import _detail

        raise PEMError("%s: not a valid X.509 certificate (%s)" % (path, _detail(exc))) from None
    return cert


def _not_after(cert: Any) -> datetime:
    value: datetime = cert["tbs_certificate"]["validity"]["not_after"].native
    return value


def _rfc3339(moment: datetime) -> str:
    """RFC 3339 UTC with a four-digit year (strftime's %Y gives "1" for year 1 on glibc).

    >>> _rfc3339(datetime(1, 1, 1, 0, 4, tzinfo=timezone.utc))
    '0001-01-01T00:04:00Z'
    """
    m = moment.astimezone(timezone.utc)
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (m.year, m.month, m.day, m.hour, m.minute,
                                               m.second)


def _clock(now: Optional[datetime]) -> datetime:
    """:func:`utc_now`, with a moment that UTC cannot hold as a typed error."""
    try:
        return utc_now(now)
    except OverflowError:
        assert now is not None
        raise SigningConfigError("now: %s is outside the years 1-9999 in UTC, which no "
                                 "certificate can hold" % now.isoformat()) from None


def _check_window(moment: datetime, span: Optional[Tuple[str, str, int]]) -> None:
    """Check that certificates made at ``moment`` fit in the years 1-9999 (GeneralizedTime,
    RFC 5280 4.1.2.5.2, and Python's datetime): notBefore, ``moment`` less the 5m
    backdate, and, when ``span`` is ``(parameter, text, ns)``, notBefore plus that
    span (a new CA's validity; a leaf's is cut to its CA's).

    >>> _check_window(datetime(9999, 12, 1, tzinfo=timezone.utc), ("expiry", "8760h", 1))
    >>> try:
    ...     _check_window(datetime(9999, 12, 1, tzinfo=timezone.utc),
    ...                   ("expiry", "8760h", 8760 * HOUR))
    ... except SigningConfigError as exc:
    ...     print(exc.message[:52])
    expiry: 8760h after 9999-11-30T23:55:00Z is after th

    Raises:
        SigningConfigError: naming ``now`` (too close to year 1) or the span's parameter.
    """
    backdate = timedelta(microseconds=_BACKDATE // 1000)
    earliest = datetime.min.replace(tzinfo=timezone.utc)
    if moment - earliest < backdate:
        raise SigningConfigError("now: %s: certificates start 5m earlier (the backdate), before "
                                 "the year 1, which no certificate can hold" % _rfc3339(moment))
    if span is None:
        return
    name, text, ns = span
    start = moment - backdate
    if datetime.max.replace(tzinfo=timezone.utc) - start < timedelta(microseconds=ns // 1000):
        raise SigningConfigError("%s: %s after %s is after the year 9999, which no certificate "
                                 "can hold" % (name, text, _rfc3339(start)))


def _loose_words(mode: int) -> str:
    """How a private key file's mode lets others at it ("" when only its owner has access).

    >>> [_loose_words(m) for m in (0o600, 0o400, 0o700, 0o644, 0o640, 0o620, 0o601)]
    ['', '', '', 'readable by others', 'readable by its group', 'writable by its group', \
'open to others']
    """
    if mode & 0o004:
        return "readable by others"
    if mode & 0o040:
        return "readable by its group"
    if mode & 0o020:
        return "writable by its group"
    if mode & 0o077:
        return "open to %s" % ("its group" if mode & 0o070 else "others")
    return ""


def _loose(path: str) -> Optional[str]:
    """``was mode 0644 (readable by others)`` for a private key (or kubeconfig) file that
    its group or others can use, else None (owner-only, or missing)."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return None
    words = _loose_words(mode)
    return "was mode %04o (%s)" % (mode, words) if words else None


def _tighten(directory: str, plans: Sequence[_Plan]) -> None:
    """Make every kept private key and kubeconfig file mode 0600.

    A leaf whose key others could read was re-issued with a new key already; what
    is left loose here is a CA key or ``sa.key``, which is never replaced silently:
    it is tightened with a warning that says how to replace it. An owner-only mode
    other than 0600 (0400, 0700) is set to 0600 silently, so every key of the set
    has the mode the report names.

    Raises:
        FileError: a key that others can read cannot be chmod'ed.
    """
    for plan in plans:
        if plan.action != "kept":
            continue
        for part, path in _paths(directory, plan.cdef).items():
            if part not in _SECRET_PARTS:
                continue
            try:
                mode = stat.S_IMODE(os.stat(path).st_mode)
            except OSError:
                continue
            if mode == 0o600:
                continue
            words = _loose_words(mode)
            try:
                os.chmod(path, 0o600)
            except OSError as exc:
                if not words:
                    continue  # owner-only already: nothing leaks
                raise FileError("%s: mode %04o (%s), and it cannot be set to 0600 (%s); "
                                "chmod 600 it and run again"
                                % (path, mode, words, exc.strerror or exc)) from None
            if words:
                _spec.warn("%s: was mode %04o (%s); set it to 0600. %s"
                           % (path, mode, words, _replace_hint(directory, plan.cdef)))


def _replace_hint(directory: str, cdef: CertDef) -> str:
    """How to replace a CA or the ``sa`` key pair whose key may have been read by others."""
    paths = _paths(directory, cdef)
    first, second = (paths["key"], paths["pub"]) if cdef.files == "keypair" else (
        paths["cert"], paths["key"])
    files = "%s and %s" % (first, second)
    if cdef.files == "keypair":
        return ("If others may have read it, remove %s and run k8s-pki again to make a new "
                "key pair (tokens signed with the old key stop working)" % files)
    return ("If others may have read it, remove %s and run k8s-pki again to make a new CA "
            "(every certificate it signed is re-issued)" % files)


def _force_hint() -> str:
    return "; to make a new CA and re-issue every certificate, use --force (force=True)"


def _check_ca(
    directory: str, cdef: CertDef, moment: datetime, force: bool
) -> Tuple[str, str, Optional[bytes], Optional[bytes]]:
    """Decide what to do with the CA: ``(action, reason, cert, key)`` of the one on disk.

    Raises:
        FileError: one half of the CA is missing (and not ``force``).
        PEMError, KpkiliteError: the CA cannot be used (and not ``force``).
    """
    from . import _crypto
    from .certinfo import key_matches_cert

    paths = _paths(directory, cdef)
    (cert_b, cert_bad), (key_b, key_bad) = _read_usable(paths["cert"]), _read_usable(paths["key"])
    if cert_b is None and key_b is None and not cert_bad and not key_bad:
        return "created", "", None, None
    problem: Optional[KpkiliteError] = None
    if cert_bad or key_bad:
        part, what = ("cert", cert_bad) if cert_bad else ("key", key_bad)
        problem = FileError("%s: %s%s" % (paths[part], what, _force_hint()))
        reason = "--force: %s %s" % (os.path.basename(paths[part]), what)
    elif key_b is None or cert_b is None:
        gone, there = ("key", "cert") if key_b is None else ("cert", "key")
        what = "CA private key" if gone == "key" else "CA certificate"
        problem = FileError("%s: the %s is missing, but %s exists%s"
                            % (paths[gone], what, paths[there], _force_hint()))
        reason = "--force: %s was missing" % os.path.basename(paths[gone])
    else:
        reason = ""
        try:
            cert = _load_cert(cert_b, paths["cert"])
            bc = cert.basic_constraints_value
            try:
                _crypto.load_private_key(key_b)
            except PEMError as exc:
                raise PEMError("%s: %s" % (paths["key"], exc.message)) from None
            if bc is None or not bc["ca"].native:
                raise FileError("%s: not a CA certificate (no basicConstraints CA:TRUE)%s"
                                % (paths["cert"], _force_hint()))
            if not key_matches_cert(key_b, cert_b):
                raise FileError("%s does not match %s (their public keys differ)%s"
                                % (paths["key"], paths["cert"], _force_hint()))
            if _not_after(cert) <= moment:
                raise FileError("%s: the CA expired on %s%s"
                                % (paths["cert"], _rfc3339(_not_after(cert)), _force_hint()))
        except KpkiliteError as exc:
            problem = exc
            text = exc.message if isinstance(exc, PEMError) else str(exc)
            reason = "--force: " + text.split(_force_hint())[0].replace(directory + os.sep, "")
    loose = _loose(paths["key"]) if problem is None else None
    if loose is not None and force:  # it may have leaked: --force replaces it
        return "renewed", "--force: %s %s" % (os.path.basename(paths["key"]), loose), None, None
    if problem is None:
        return "kept", "", cert_b, key_b
    if not force:
        if isinstance(problem, PEMError):
            raise PEMError(problem.message + _force_hint()) from None
        raise problem
    return "renewed", reason, None, None


def _spki_der(request_or_cert: Any, kind: str) -> bytes:
    if kind == "csr":
        der: bytes = request_or_cert["certification_request_info"]["subject_pk_info"].dump()
    else:
        der = request_or_cert["tbs_certificate"]["subject_public_key_info"].dump()
    return der


def _sans(cert: Any) -> Tuple[set, set]:  # type: ignore[type-arg]
    dns, ips = set(), set()
    san = cert.subject_alt_name_value
    for gn in san if san is not None else ():
        if gn.name == "dns_name":
            dns.add(str(gn.native).lower())
        elif gn.name == "ip_address":
            ips.add(bytes(gn.chosen.contents))
        elif gn.name in ("rfc822_name", "uniform_resource_identifier"):
            dns.add(str(gn.native))
    return dns, ips


def _hosts_of(cert: Any) -> List[str]:
    """The certificate's SANs as cfssl ``hosts`` entries, in the certificate's order."""
    hosts: List[str] = []
    san = cert.subject_alt_name_value
    for gn in san if san is not None else ():
        if gn.name in ("dns_name", "rfc822_name", "uniform_resource_identifier", "ip_address"):
            hosts.append(str(gn.native))
    return hosts


def _existing_cert(directory: str, cdef: CertDef) -> Any:
    """The leaf's certificate on disk (a kubeconfig's client certificate), or None when
    it is missing or does not parse."""
    paths = _paths(directory, cdef)
    if cdef.files == "kubeconfig":
        conf = _read_kubeconfig(_read_usable(paths["kubeconfig"])[0], paths["kubeconfig"])
        raw = None if isinstance(conf, str) else conf["client-certificate-data"].encode()
    else:
        raw = _read_usable(paths["cert"])[0]
    if raw is None:
        return None
    try:
        return _load_cert(raw, paths.get("cert", cdef.name))
    except PEMError:
        return None


def _keep_hosts(directory: str, cdef: CertDef, options: _Options) -> List[str]:
    """Add the SANs of the certificate being replaced to the row's spec; return those the
    table and ``hosts`` did not already ask for (hosts are only ever added: a renewal,
    whatever its reason, never drops a name that clients may be using)."""
    from ._asn1 import HostError, classify_hosts

    cert = _existing_cert(directory, cdef) if cdef.files != "keypair" else None
    if cert is None:
        return []
    spec = options.specs[cdef.name]
    wanted = list(spec.get("hosts", []))
    have = classify_hosts(wanted)
    seen: Set[Tuple[str, object]] = {("dns", str(h).lower()) for h in have["dns"]}
    seen |= {(k, h) for k in ("email", "uri", "ip") for h in have[k]}
    extra: List[str] = []
    for host in _hosts_of(cert):
        try:
            groups = classify_hosts([host])
        except HostError as exc:
            _spec.warn("%s: the old certificate's host %r is dropped: %s"
                       % (_paths(directory, cdef).get("cert", cdef.name), host, exc))
            continue
        kind = next(k for k, v in groups.items() if v)
        key = (kind, str(host).lower() if kind == "dns" else groups[kind][0])
        if key not in seen:
            seen.add(key)
            extra.append(host)
    if extra:
        options.specs[cdef.name] = dict(spec, hosts=wanted + extra)
    return extra


def _leaf_reason(
    directory: str,
    cdef: CertDef,
    options: _Options,
    ca_cert: bytes,
    ca_not_after: datetime,
    moment: datetime,
) -> Tuple[str, Optional[datetime]]:
    """Why the leaf must be re-issued ("" when it is fine) and its current notAfter."""

    from .certinfo import is_issued_by, key_matches_cert

    paths = _paths(directory, cdef)
    read = {part: _read_usable(path) for part, path in paths.items()}
    data = {part: found for part, (found, _) in read.items()}
    # Names relative to the directory; a kubeconfig (which may live in its parent) by its own.
    base = {part: os.path.basename(path) if part == "kubeconfig"
            else os.path.relpath(path, directory) for part, path in paths.items()}
    for part in paths:
        if read[part][1]:
            return "%s %s" % (base[part], read[part][1]), None
        if data[part] is None:
            return "%s is missing" % base[part], None
    for part in _SECRET_PARTS:
        loose = _loose(paths[part]) if part in paths else None
        if loose is not None:  # it may have leaked: a new key, not the same one re-signed
            return "%s %s; new key" % (base[part], loose), None
    if cdef.files == "kubeconfig":
        conf = _read_kubeconfig(data["kubeconfig"], base["kubeconfig"])
        if isinstance(conf, str):
            return conf, None
        data["cert"], data["key"] = conf["client-certificate-data"].encode(), \
            conf["client-key-data"].encode()
        base["cert"] = base["key"] = base["kubeconfig"]
    cert_b, key_b, csr_b = data["cert"], data["key"], data.get("csr")
    assert cert_b is not None and key_b is not None
    try:
        cert = _load_cert(cert_b, base["cert"])
    except PEMError as exc:
        return exc.message, None
    not_after = _not_after(cert)
    if not is_issued_by(cert_b, ca_cert):
        return "%s is not signed by the CA" % base["cert"], not_after
    try:
        if not key_matches_cert(key_b, cert_b):
            if cdef.files == "kubeconfig":
                return "%s: the client key does not match its certificate" % base["key"], \
                    not_after
            return "%s does not match %s" % (base["key"], base["cert"]), not_after
    except PEMError as exc:
        return "%s: %s" % (base["key"], exc.message), not_after
    reason = _csr_reason(csr_b, cert, base) if csr_b is not None else ""
    if reason:
        return reason, not_after
    reason = _content_reason(cdef, options, cert, not_after, ca_not_after, moment)
    if not reason and cdef.files == "kubeconfig":
        assert data["kubeconfig"] is not None
        expected = _render_kubeconfig(cdef, ca_cert, cert_b.decode(), key_b.decode())
        if data["kubeconfig"] != expected.encode():
            reason = "%s: server, CA or names differ from the table" % base["kubeconfig"]
    return reason, not_after


def _read_kubeconfig(raw: Optional[bytes], name: str) -> Union[str, Dict[str, str]]:
    """The parsed kubeconfig, or why it cannot be used (a reason string)."""
    from ._kubeconfig import parse_kubeconfig

    try:
        conf = parse_kubeconfig((raw or b"").decode("utf-8"))
    except UnicodeDecodeError:
        conf = None
    if conf is None:
        return "%s is not a kubeconfig of kpkilite's shape" % name
    return conf


def _render_kubeconfig(cdef: CertDef, ca_cert: bytes, cert_pem: str, key_pem: str) -> str:
    from ._kubeconfig import format_kubeconfig

    return format_kubeconfig(server=cdef.server, user=cdef.CN, ca_pem=ca_cert.decode("ascii"),
                             cert_pem=cert_pem, key_pem=key_pem)


def _csr_reason(csr_b: bytes, cert: Any, base: Dict[str, str]) -> str:
    from asn1crypto import csr as asn1csr

    from ._pem import first_pem

    try:
        request = asn1csr.CertificationRequest.load(
            first_pem(csr_b, ["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"]), strict=True)
        csr_key = _spki_der(request, "csr")
    except Exception as exc:  # asn1crypto raises ValueError, TypeError, KeyError ...
        from .certinfo import _detail

        detail = _one_line(exc.message) if isinstance(exc, PEMError) else _detail(exc)
        return "%s does not parse (%s)" % (base["csr"], detail)
    if csr_key != _spki_der(cert, "cert"):
        return "%s does not match %s" % (base["csr"], base["key"])
    return ""


def _content_reason(
    cdef: CertDef,
    options: _Options,
    cert: Any,
    not_after: datetime,
    ca_not_after: datetime,
    moment: datetime,
) -> str:
    """Subject, hosts and expiry against the table ("" when all is well)."""
    from . import _asn1

    parsed = parse_csr_spec(options.specs[cdef.name])
    expected = _asn1.build_name(parsed.names, parsed.CN)
    subject = cert["tbs_certificate"]["subject"]
    if subject != expected:
        return "subject is %s, expected %s" % (_format_name(subject), _format_name(expected))
    dns, ips = _sans(cert)
    groups = options.groups[cdef.name]
    lacking = [str(h) for h in groups["dns"] if str(h).lower() not in dns]
    lacking += [str(h) for k in ("email", "uri") for h in groups[k] if str(h) not in dns]
    lacking += [_format_ip(h) for h in groups["ip"] if h not in ips]
    if lacking:
        return "lacks host%s %s" % ("s" if len(lacking) > 1 else "", ", ".join(lacking))
    left = not_after - moment
    if left < timedelta(microseconds=options.renew_before // 1000) and not_after < ca_not_after:
        if left <= timedelta(0):
            return "expired on %s" % _rfc3339(not_after)
        return ("expires %s, within --renew-before %s"
                % (_rfc3339(not_after), options.renew_before_text))
    return ""


_SHORT = {"country_name": "C", "state_or_province_name": "ST", "locality_name": "L",
          "organization_name": "O", "organizational_unit_name": "OU", "common_name": "CN"}


def _format_name(name: Any) -> str:
    """``C=CN, ST=BeiJing, ..., CN=admin`` in the certificate's own order."""
    parts = []
    for rdn in name.chosen:
        for atv in rdn:
            kind = atv["type"].native
            parts.append("%s=%s" % (_SHORT.get(kind, kind), atv["value"].native))
    return ", ".join(parts)


def _format_ip(raw: object) -> str:
    import ipaddress

    assert isinstance(raw, bytes)
    return str(ipaddress.ip_address(raw))


# --- issuing -----------------------------------------------------------------------------


def _usages(cdef: CertDef, algo: str) -> List[str]:
    """The row's usages (the chapter profile's when it names none), RFC 8813 for ECDSA."""
    usages = list(cdef.usages) if cdef.usages else list(_USAGES["rsa"])
    if algo == "ecdsa":
        usages = [u for u in usages if u != "key encipherment"]
    return usages


def _leaf_config(options: _Options, cdef: CertDef, ca_not_after: datetime,
                 moment: datetime) -> Dict[str, Any]:
    """A one-profile signing config for the row, expiry cut so no leaf outlives its CA."""
    from ._asn1 import backdated

    not_before = backdated(moment, timedelta(microseconds=_BACKDATE // 1000))
    room = int((ca_not_after - not_before).total_seconds())
    seconds = min(options.expiry // 1_000_000_000, room)
    algo = str(options.specs[cdef.name]["key"]["algo"])
    return {"signing": {"profiles": {PROFILE: {
        "usages": _usages(cdef, algo),
        "expiry": "%ds" % max(seconds, 1),
    }}}}


def _keypair(spec: Mapping[str, Any]) -> Dict[str, str]:
    """A key and its public key (kubeadm's ``sa.key``/``sa.pub``: PKCS#1 or SEC1, PKIX)."""
    from . import _crypto
    from ._pem import format_pem

    key = _crypto.generate_private_key(spec["key"]["algo"], spec["key"]["size"])
    return {"key": key.to_pem(), "pub": format_pem("PUBLIC KEY", key.public_key_info.dump())}


def _generate(
    plans: Sequence[_Plan], options: _Options, moment: datetime, max_workers: Optional[int]
) -> None:
    """Make every key needed, in parallel threads; CAs come back signed, leaves as CSRs."""
    from .csr import generate_csr
    from .signing import create_ca

    jobs: List[Tuple[_Plan, Callable[[], Dict[str, str]]]] = []
    for plan in plans:
        spec = options.specs[plan.cdef.name]
        if plan.cdef.files == "keypair":
            jobs.append((plan, functools.partial(_keypair, spec)))
        elif plan.cdef.is_ca:
            jobs.append((plan, functools.partial(create_ca, spec, now=moment)))
        else:
            jobs.append((plan, functools.partial(generate_csr, spec)))
    if not jobs:
        return
    # An ECDSA key takes well under a millisecond: threads would only add overhead.
    rsa_jobs = sum(1 for p, _ in jobs if options.specs[p.cdef.name]["key"]["algo"] == "rsa")
    workers = len(jobs) if rsa_jobs > 1 else 1
    if max_workers is not None:
        workers = max_workers
    if workers <= 1:
        for plan, job in jobs:
            plan.bundle = job()
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kpkilite-keygen") as pool:
        futures: List[Tuple[_Plan, Future[Dict[str, str]]]] = [
            (plan, pool.submit(job)) for plan, job in jobs]
        try:
            for plan, future in futures:
                plan.bundle = future.result()
        except BaseException:
            for _, future in futures:
                future.cancel()
            raise


def _check_layout_args(layout: str, kubeadm: Mapping[str, Any]) -> None:
    if not isinstance(layout, str):
        raise TypeError("layout must be a str, not %s" % type(layout).__name__)
    if layout not in LAYOUTS:
        raise CSRSpecError("layout: %r is not a known layout (layouts: %s)"
                           % (layout, ", ".join(sorted(LAYOUTS))))
    if layout != "kubeadm":
        for key, value in kubeadm.items():
            if value is not None:
                raise CSRSpecError("%s: only the kubeadm layout uses it (layout is %r)"
                                   % (key, layout))


#: Layout -> how messages name it, and the flags that select it.
_LAYOUT_WORDS = {
    "chapter": ("the chapter's", "--layout chapter"),
    "kubeadm": ("kubeadm's", "--layout kubeadm (with --node-name and --node-ip)"),
}


def _ca_files(directory: str, layout: str) -> List[str]:
    """The layout's CA certificate and key files that exist in ``directory`` (relative
    names), those of its first CA found: ``["ca.crt", "ca.key"]``."""
    for cdef in LAYOUTS[layout]:
        if not cdef.is_ca:
            continue
        paths = _paths(directory, cdef)
        found = [os.path.relpath(paths[part], directory) for part in ("cert", "key")
                 if os.path.lexists(paths[part])]
        if found:
            return found
    return []


def _check_foreign_layout(directory: str, layout: str) -> None:
    """Refuse to write ``layout`` into a directory that holds another layout's CA files.

    The two layouts share no file name, so without this a run with the wrong
    layout (or none, on a kubeadm directory) would quietly add a second,
    unrelated CA next to the first.

    Raises:
        FileError: naming the files found and the flag to use.
    """
    for other in sorted(LAYOUTS):
        if other == layout:
            continue
        found = _ca_files(directory, other)
        if not found:
            continue
        words, flag = _LAYOUT_WORDS.get(other, ("the %s" % other, "--layout " + other))
        mine = _LAYOUT_WORDS.get(layout, ("the %s" % layout, ""))[0]
        if _ca_files(directory, layout):
            raise FileError("%s: holds %s layout (%s) as well as %s; move one of the two "
                            "sets to another directory" % (directory, words, ", ".join(found),
                                                           mine))
        raise FileError("%s: holds %s layout (%s), not %s; use %s or another --dir"
                        % (directory, words, ", ".join(found), mine, flag))


def _table(
    layout: str, path: str, kubeadm: Mapping[str, Any], kubeconfig_dir: Optional[StrPath]
) -> Tuple[CertDef, ...]:
    from ._layouts import kubeadm_table, parse_kubeadm_params

    if layout != "kubeadm":
        return LAYOUTS[layout]
    params = parse_kubeadm_params(
        kubeadm["node_name"], kubeadm["node_ip"], kubeadm["service_cidr"] or "10.96.0.0/12",
        kubeadm["cluster_domain"] or "cluster.local", kubeadm["control_plane_endpoint"])
    return kubeadm_table(params, _kubeconfig_rel(path, kubeconfig_dir))


def _kubeconfig_rel(path: str, kubeconfig_dir: Optional[StrPath]) -> str:
    """Where the kubeconfig files go, relative to the PKI directory ``path`` ("": the same).

    The default is kubeadm's: the parent of the PKI directory (``/etc/kubernetes``
    for ``/etc/kubernetes/pki``), so ``".."``; ``"/"`` is its own parent.
    """
    if kubeconfig_dir is None:
        target = os.path.dirname(os.path.abspath(path))
    elif not isinstance(kubeconfig_dir, (str, os.PathLike)):
        raise TypeError("kubeconfig_dir must be a str or path, not %s"
                        % type(kubeconfig_dir).__name__)
    else:
        target = os.fspath(kubeconfig_dir)
    rel = os.path.relpath(target, path)
    return "" if rel == "." else rel


def ensure_k8s_pki(
    directory: StrPath = ".",
    *,
    hosts: Sequence[str] = (),
    algo: str = "rsa",
    size: Optional[int] = None,
    expiry: Optional[str] = None,
    renew_before: str = "720h",
    force: bool = False,
    layout: str = "chapter",
    ca_expiry: str = "87600h",
    now: Optional[datetime] = None,
    max_workers: Optional[int] = None,
    node_name: Optional[str] = None,
    node_ip: Optional[str] = None,
    service_cidr: Optional[str] = None,
    cluster_domain: Optional[str] = None,
    control_plane_endpoint: Optional[str] = None,
    kubeconfig_dir: Optional[StrPath] = None,
) -> List[CertResult]:
    """Make ``directory`` hold a complete, valid Kubernetes certificate set; say what was done.

    ``layout="chapter"`` (the default): cfssljson ``-bare`` files ``NAME.pem``,
    ``NAME-key.pem`` (0600), ``NAME.csr`` for ``ca``, ``kubernetes``, ``admin``,
    ``kube-proxy``, ``kube-controller-manager`` and ``kube-scheduler``, with the
    chapter's subjects, the ``kubernetes`` profile's usages (without ``key
    encipherment`` for ECDSA, RFC 8813) and hosts.

    ``layout="kubeadm"``: kubeadm v1.31's ``/etc/kubernetes/pki`` (three CAs, the
    API server, etcd and front-proxy certificates as ``NAME.crt``/``NAME.key``,
    ``sa.key``/``sa.pub``) and the kubeconfig files ``admin.conf``,
    ``super-admin.conf``, ``controller-manager.conf``, ``scheduler.conf`` and
    ``kubelet.conf`` (0600) in ``kubeconfig_dir``, by default the parent of
    ``directory`` (as kubeadm: ``/etc/kubernetes`` for ``/etc/kubernetes/pki``); see
    docs/cluster.md for the table.
    The rules for reuse and renewal are in the module docstring.

    Args:
        directory: where the files live; created if missing.
        hosts: extra hosts for the ``kubernetes`` (chapter) or ``apiserver`` (kubeadm)
            certificate.
        algo: ``"rsa"`` or ``"ecdsa"``, for keys generated by this run.
        size: key size; default 2048 for RSA, 256 for ECDSA.
        expiry: leaf validity, a Go duration; default 87600h (chapter), 8760h (kubeadm).
        renew_before: re-issue a leaf that expires within this Go duration; shorter
            than ``expiry``.
        force: replace a CA (or ``sa`` key pair) that cannot be used (half missing,
            mismatched, not a CA, expired, its key readable by others) with a new one.
            A working CA is always kept.
        layout: ``"chapter"`` or ``"kubeadm"`` (:data:`LAYOUTS`).
        ca_expiry: validity of a new CA (at least ``expiry``).
        now: the current time (aware datetime); default the current UTC time.
        max_workers: key-generation threads; default one per key when there are
            several RSA keys to generate (ECDSA keys are made in the calling thread).
        node_name, node_ip: kubeadm only, required: the node's name and address.
        service_cidr: kubeadm only; default ``10.96.0.0/12`` (API service 10.96.0.1).
        cluster_domain: kubeadm only; default ``cluster.local``.
        control_plane_endpoint: kubeadm only: ``HOST[:PORT]`` of the load balancer.
        kubeconfig_dir: kubeadm only: where the ``*.conf`` files go; default the parent
            of ``directory``.

    Returns:
        One :class:`CertResult` per certificate (and key pair, and kubeconfig), in
        the layout's order.

    Raises:
        CSRSpecError: a bad host, algorithm, size or kubeadm parameter (nothing was written).
        SigningConfigError: a bad ``expiry``, ``ca_expiry`` or ``renew_before``; a new
            CA made at ``now`` would end after the year 9999, or ``now`` is within 5
            minutes of the year 1 (nothing was written).
        FileError: the directory holds another layout's CA files; a CA file is
            missing or unusable without ``force``; a file of the set is a FIFO, a
            device, a socket or a directory; the directory cannot be written (once
            files are being replaced, the message says that a re-run completes the
            set); another run holds the directory.
        PEMError: the CA certificate or key does not parse (without ``force``).
        BackendError: libcrypto cannot be used.
    """
    moment = _clock(now)
    if not isinstance(directory, (str, os.PathLike)):
        raise TypeError("directory must be a str or path, not %s" % type(directory).__name__)
    kubeadm = {"node_name": node_name, "node_ip": node_ip, "service_cidr": service_cidr,
               "cluster_domain": cluster_domain, "control_plane_endpoint": control_plane_endpoint,
               "kubeconfig_dir": kubeconfig_dir}
    _check_layout_args(layout, kubeadm)
    path = os.fspath(directory)
    table = _table(layout, path, kubeadm, kubeconfig_dir)
    if expiry is None:
        expiry = "8760h" if layout == "kubeadm" else "87600h"
    options = _check_options(table, hosts, algo, size, expiry, ca_expiry, renew_before)
    _check_window(moment, options.ca_span)
    _check_foreign_layout(path, layout)
    if layout == "kubeadm" and kubeconfig_dir is None:
        _warn_unused_kubeconfigs(path, table)
    _make_directory(path)
    with _locked(path):
        _refuse_special(_all_paths(path, table))
        _remove_litter(path, table)
        _recover(path)
        plans = _plan(path, table, options, moment, force)
        _tighten(path, plans)
        _issue(path, plans, options, moment, max_workers)
        _commit(path, [p for p in plans if p.action != "kept"])
    return [_result(path, p) for p in plans]


def _make_directory(path: str) -> None:
    """Create ``path`` (and its parents) unless it is a directory already.

    Raises:
        FileError: it exists and is not a directory (``/dev/null``), or cannot be created.
    """
    if os.path.isdir(path):
        return
    if os.path.lexists(path):
        raise FileError("%s: is not a directory" % path)
    try:
        os.makedirs(path, exist_ok=True)
    except FileExistsError:
        raise FileError("%s: is not a directory" % path) from None
    except OSError as exc:
        raise FileError("%s: cannot create the directory (%s)" % (path, exc.strerror)) from None


def _all_paths(directory: str, table: Sequence[CertDef]) -> Iterator[str]:
    """Every file of the table's rows, then the journal."""
    for cdef in table:
        yield from _paths(directory, cdef).values()
    yield os.path.join(directory, JOURNAL)


def _warn_unused_kubeconfigs(path: str, table: Sequence[CertDef]) -> None:
    """Kubeconfig files in the PKI directory itself, when they go to its parent."""
    found = [c.label for c in table if c.files == "kubeconfig"
             and os.path.dirname(_paths(path, c)["kubeconfig"]) != os.path.normpath(path)
             and os.path.lexists(os.path.join(path, c.label))]
    if found:
        parent = os.path.dirname(_paths(path, next(c for c in table
                                                   if c.files == "kubeconfig"))["kubeconfig"])
        _spec.warn("%s: holds %s, which this run does not use: kubeconfig files go in "
                   "--kubeconfig-dir, by default the parent of --dir (%s); to use these, "
                   "add --kubeconfig-dir %s" % (path, ", ".join(found), parent or ".", path))


def _commit(path: str, todo: Sequence[_Plan]) -> None:
    """Journal, then write every file of every plan (see the module docs).

    Every file, the chapter's ``-bare`` ones included, goes through
    :func:`kpkilite.files.atomic_write`, not ``write_bare``: the CA checks were made
    here already, and ``write_bare`` takes the directory lock that this run holds.

    Raises:
        FileError: a file cannot be written. Once the journal is complete, the
            message says that the next run completes the set from it.
    """
    from .files import atomic_write

    if not todo:
        return
    targets = [(target, plan.bundle[part], _mode(part))
               for plan in todo for part, target in _paths(path, plan.cdef).items()]
    _refuse_special(t for t, _, _ in targets)  # checked before: now nothing is half-written
    journal = _write_journal(path, todo)  # files.py names a directory that refuses files
    try:
        for target, data, mode in targets:
            folder = os.path.dirname(target)
            try:
                os.makedirs(folder, exist_ok=True)
            except OSError as exc:
                raise FileError("%s: cannot create the directory (%s)"
                                % (folder, exc.strerror)) from None
            atomic_write(target, data, mode=mode)
    except FileError as exc:
        raise FileError("%s; the run stopped part-way, and %s holds the new files: run "
                        "k8s-pki again to complete the set" % (exc, journal)) from None
    try:
        os.unlink(journal)
    except OSError as exc:
        raise FileError("%s: cannot remove it (%s); every file was written, and the next run "
                        "removes it" % (journal, exc.strerror or exc)) from None


def _check_keypair(directory: str, cdef: CertDef, force: bool) -> Tuple[str, str]:
    """``(action, reason)`` for the service-account key pair; like a CA, never replaced
    silently (every service-account token would stop working)."""
    from . import _crypto

    paths = _paths(directory, cdef)
    (key_b, key_bad), (pub_b, pub_bad) = _read_usable(paths["key"]), _read_usable(paths["pub"])
    if key_b is None and pub_b is None and not key_bad and not pub_bad:
        return "created", ""
    problem = ""
    if key_bad or pub_bad:
        problem = "%s: %s" % ((paths["key"], key_bad) if key_bad else (paths["pub"], pub_bad))
    elif key_b is None or pub_b is None:
        gone, there = ("key", "pub") if key_b is None else ("pub", "key")
        problem = "%s is missing, but %s exists" % (paths[gone], paths[there])
    else:
        from ._pem import first_pem

        try:
            key = _crypto.load_private_key(key_b)
            pub = first_pem(pub_b, ["PUBLIC KEY"])
            if pub != key.public_key_info.dump():
                problem = "%s does not match %s" % (paths["pub"], paths["key"])
        except PEMError as exc:
            problem = "%s: %s" % (paths["key"] if "key" in exc.message else paths["pub"],
                                  exc.message)
    loose = _loose(paths["key"]) if not problem else None
    if loose is not None and force:  # it may have leaked: --force replaces it
        return "renewed", "--force: %s %s" % (os.path.basename(paths["key"]), loose)
    if not problem:
        return "kept", ""
    if not force:
        raise FileError(problem + "; to make a new service-account key pair, use --force "
                        "(force=True)")
    return "renewed", "--force: " + problem.replace(directory + os.sep, "")


def _plan(
    directory: str, table: Sequence[CertDef], options: _Options, moment: datetime, force: bool
) -> List[_Plan]:
    """Check what is on disk and decide, per certificate, created / renewed / kept."""
    plans = [_Plan(cdef) for cdef in table]
    cas: Dict[str, Tuple[bytes, datetime]] = {}
    for plan in plans:
        cdef = plan.cdef
        if cdef.files == "keypair":
            plan.action, plan.reason = _check_keypair(directory, cdef, force)
            continue
        if cdef.is_ca:
            action, reason, cert_b, key_b = _check_ca(directory, cdef, moment, force)
            plan.action, plan.reason = action, reason
            if cert_b is not None and key_b is not None:
                plan.ca_files = (cert_b, key_b)
                plan.not_after = _not_after(_load_cert(cert_b, cdef.name))
                cas[cdef.name] = (cert_b, plan.not_after)
            continue
        assert cdef.signer is not None
        existing = [p for p in _paths(directory, cdef).values() if os.path.exists(p)]
        if cdef.signer not in cas:  # its CA is new: re-issue everything it signs
            reason = "the CA is new"
        else:
            ca_cert, ca_not_after = cas[cdef.signer]
            reason, plan.not_after = _leaf_reason(directory, cdef, options, ca_cert,
                                                  ca_not_after, moment)
        if reason and not existing:
            plan.action = "created"
        elif reason:
            plan.action = "renewed"
            kept = _keep_hosts(directory, cdef, options)
            plan.reason = reason + ("; keeps host%s %s" % ("s" if len(kept) > 1 else "",
                                                           ", ".join(kept)) if kept else "")
    for plan in plans:
        if plan.cdef.is_ca and plan.action == "kept" and plan.not_after is not None:
            left = plan.not_after - moment
            if left < timedelta(microseconds=options.renew_before // 1000):
                _spec.warn("%s: the CA expires on %s, within --renew-before %s; certificates "
                           "it signs cannot outlive it. Plan a new CA (move the directory away)"
                           % (os.path.basename(_paths(directory, plan.cdef)["cert"]),
                              _rfc3339(plan.not_after), options.renew_before_text))
    return plans


def _issue(
    directory: str,
    plans: Sequence[_Plan],
    options: _Options,
    moment: datetime,
    max_workers: Optional[int],
) -> None:
    """Generate the keys (in parallel), then sign every leaf that needs it."""
    from .signing import sign_csr

    todo = [p for p in plans if p.action != "kept"]
    _generate(todo, options, moment, max_workers)
    cas: Dict[str, Tuple[bytes, bytes]] = {}
    for plan in plans:
        if not plan.cdef.is_ca:
            continue
        if plan.action == "kept":
            assert plan.ca_files is not None
            cas[plan.cdef.name] = plan.ca_files
        else:
            cas[plan.cdef.name] = (plan.bundle["cert"].encode(), plan.bundle["key"].encode())
            plan.not_after = _not_after(_load_cert(cas[plan.cdef.name][0], plan.cdef.name))
    for plan in todo:
        if plan.cdef.signer is None:
            continue
        _sign(plan, options, cas[plan.cdef.signer], moment, sign_csr)


def _sign(plan: _Plan, options: _Options, ca: Tuple[bytes, bytes], moment: datetime,
          sign_csr: Callable[..., str]) -> None:
    ca_cert, ca_key = ca
    assert plan.cdef.signer is not None
    ca_not_after = _not_after(_load_cert(ca_cert, plan.cdef.signer))
    plan.bundle["cert"] = sign_csr(
        plan.bundle["csr"], ca_cert=ca_cert, ca_key=ca_key,
        config=_leaf_config(options, plan.cdef, ca_not_after, moment), profile=PROFILE,
        now=moment)
    plan.not_after = _not_after(_load_cert(plan.bundle["cert"].encode(), plan.cdef.name))
    if plan.cdef.files == "kubeconfig":
        plan.bundle["kubeconfig"] = _render_kubeconfig(plan.cdef, ca_cert, plan.bundle["cert"],
                                                       plan.bundle["key"])


def _result(directory: str, plan: _Plan) -> CertResult:
    paths = _paths(directory, plan.cdef)
    main = paths.get("cert") or paths.get("kubeconfig") or paths["key"]
    return {
        "name": plan.cdef.title,
        "action": plan.action,
        "path": main,
        "files": list(paths.values()),
        "not_after": _rfc3339(plan.not_after) if plan.not_after is not None else "",
        "reason": _one_line(plan.reason),
    }


def format_result(result: CertResult, *, width: int = 0) -> str:
    """One line for a result: action, certificate path, expiry, and the reason for a renewal.

    ``width`` is the width the path is padded to. The default, 0, pads nothing, so
    lines for paths of different lengths do not line up; to print a column as
    ``kpkilite k8s-pki`` does, pass the longest path's length to every line:
    ``width=max(len(r["path"]) for r in results)``.

    >>> results = [{"name": n, "action": "kept", "path": "pki/%s.pem" % n, "files": [],
    ...             "not_after": "2035-06-01T10:00:00Z", "reason": ""} for n in ("ca", "admin")]
    >>> results[1].update(action="renewed", reason="lacks host a")
    >>> width = max(len(r["path"]) for r in results)
    >>> for r in results:
    ...     print(format_result(r, width=width))
    kept     pki/ca.pem     expires 2035-06-01T10:00:00Z
    renewed  pki/admin.pem  expires 2035-06-01T10:00:00Z  (lacks host a)
    """
    expires = ("expires " + result["not_after"]) if result["not_after"] else "(key pair)"
    line = "%-8s %-*s  %s" % (result["action"], width, result["path"], expires)
    if result["reason"]:
        line += "  (%s)" % result["reason"]
    return line
