"""kpkilite.files: ``cfssljson -bare`` writing and reading.

What is proved here, and how (we run as root, so nothing relies on a chmod'ed
directory refusing us):

* the private key exists with mode 0600 from the moment it is created: a spy on
  ``os.open`` looks at every file created with O_CREAT, a spy on ``os.fsync`` at
  the fully written file, a spy on ``fchmod``/``chmod`` at every mode change;
  and under every umask the final modes are key 0600, cert/CSR as 0644 would be;
* all or nothing: a rename or fsync that fails on the 2nd file, or a target that
  is a directory, leaves the directory exactly as before (snapshot of names,
  bytes, modes, inodes, mtimes) with no temporary file behind;
* a CA key is never replaced by a different key without ``force=True``;
* a symlinked target is replaced, not followed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Tuple

import pytest
from _helpers import snapshot  # noqa: E402
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpkilite import files
from kpkilite.errors import FileError, PEMError
from kpkilite.files import atomic_write, read_bare, read_file, write_bare


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@contextlib.contextmanager
def umask(value: int) -> Iterator[None]:
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


def fd_path(fd: int) -> str:
    return os.readlink("/proc/self/fd/%d" % fd)


needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")


# --- bundles --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def leaf(ec_ca: Dict[str, str]) -> Dict[str, str]:
    from kpkilite import signing

    return signing.issue_cert(
        {"CN": "files leaf", "key": {"algo": "ecdsa", "size": 256}},
        ca_cert=ec_ca["cert"], ca_key=ec_ca["key"],
        config={"signing": {"default": {"usages": ["digital signature"], "expiry": "1h"}}})


@pytest.fixture(scope="module")
def leaf2(ec_ca: Dict[str, str]) -> Dict[str, str]:
    from kpkilite import signing

    return signing.issue_cert(
        {"CN": "files leaf 2", "key": {"algo": "ecdsa", "size": 256}},
        ca_cert=ec_ca["cert"], ca_key=ec_ca["key"],
        config={"signing": {"default": {"usages": ["digital signature"], "expiry": "1h"}}})


NAMES = {"cert": "out.pem", "key": "out-key.pem", "csr": "out.csr"}


# --- what gets written ----------------------------------------------------------------------


@pytest.mark.parametrize("parts", [("cert", "key", "csr"), ("key", "csr"), ("cert",),
                                   ("csr", "cert")])
def test_write_bare_writes_the_parts_it_is_given(parts: Tuple[str, ...], tmp_path: Path,
                                                 leaf: Dict[str, str]) -> None:
    bundle = {p: leaf[p] for p in parts}
    bundle["unrelated"] = "ignored, as cfssljson ignores it"
    written = write_bare(bundle, "out", directory=tmp_path)
    order = [p for p in ("cert", "key", "csr") if p in parts]
    assert written == [str(tmp_path / NAMES[p]) for p in order]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(NAMES[p] for p in parts)
    for p in parts:
        assert (tmp_path / NAMES[p]).read_text() == leaf[p]


def test_write_bare_default_directory_is_the_cwd(tmp_path: Path, leaf: Dict[str, str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert write_bare(leaf, "out") == ["out.pem", "out-key.pem", "out.csr"]
    assert read_bare("out") == {p: leaf[p] for p in ("cert", "key", "csr")}


def test_write_bare_accepts_a_pathlike_directory_and_a_nested_name(
        tmp_path: Path, leaf: Dict[str, str]) -> None:
    (tmp_path / "sub").mkdir()
    write_bare(leaf, "sub/out", directory=tmp_path)
    assert read_bare("out", directory=tmp_path / "sub")["key"] == leaf["key"]


# The umask only ever takes bits away (as with cfssljson's WriteFile(..., 0600)): a key is
# never more open than 0600, a certificate never more open than 0644.
@pytest.mark.parametrize("mask, key_mode, cert_mode", [
    (0o000, 0o600, 0o644), (0o002, 0o600, 0o644), (0o022, 0o600, 0o644),
    (0o027, 0o600, 0o640), (0o077, 0o600, 0o600), (0o277, 0o400, 0o400)])
def test_modes_under_every_umask(mask: int, key_mode: int, cert_mode: int, tmp_path: Path,
                                 leaf: Dict[str, str]) -> None:
    with umask(mask):
        write_bare(leaf, "out", directory=tmp_path)
    assert mode_of(tmp_path / "out-key.pem") == key_mode
    assert mode_of(tmp_path / "out.pem") == cert_mode
    assert mode_of(tmp_path / "out.csr") == cert_mode


@needs_proc
def test_key_is_0600_from_creation(tmp_path: Path, leaf: Dict[str, str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    created: List[Tuple[str, int, int]] = []  # (path, mode at creation, size at creation)
    synced: List[Tuple[str, int, int]] = []
    chmods: List[Tuple[str, int]] = []
    real_open, real_fsync = os.open, os.fsync
    real_fchmod, real_chmod = os.fchmod, os.chmod

    def spy_open(path: Any, flags: int, mode: int = 0o777, *args: Any, **kw: Any) -> int:
        fd = real_open(path, flags, mode, *args, **kw)
        if flags & os.O_CREAT:
            info = os.fstat(fd)
            created.append((os.fsdecode(path), stat.S_IMODE(info.st_mode), info.st_size))
        return fd

    def spy_fsync(fd: int) -> None:
        info = os.fstat(fd)
        if stat.S_ISREG(info.st_mode):
            synced.append((fd_path(fd), stat.S_IMODE(info.st_mode), info.st_size))
        real_fsync(fd)

    def spy_fchmod(fd: int, mode: int) -> None:
        chmods.append((fd_path(fd), mode))
        real_fchmod(fd, mode)

    def spy_chmod(path: Any, mode: int, *args: Any, **kw: Any) -> None:
        chmods.append((os.fsdecode(path), mode))
        real_chmod(path, mode, *args, **kw)

    monkeypatch.setattr(os, "open", spy_open)
    monkeypatch.setattr(os, "fsync", spy_fsync)
    monkeypatch.setattr(os, "fchmod", spy_fchmod)
    monkeypatch.setattr(os, "chmod", spy_chmod)
    with umask(0):  # the widest umask: 0600 must come from the code, not from the umask
        write_bare(leaf, "out", directory=tmp_path)

    key_size = len(leaf["key"].encode())
    key_created = [c for c in created if "out-key.pem" in os.path.basename(c[0])]
    assert key_created, created  # the key was created through os.open (so the spy saw it)
    assert all(mode == 0o600 and size == 0 for _, mode, size in key_created), key_created
    key_synced = [s for s in synced if "out-key.pem" in os.path.basename(s[0])]
    assert [(mode, size) for _, mode, size in key_synced] == [(0o600, key_size)]
    assert all(mode == 0o600 for path, mode in chmods if "out-key.pem" in path), chmods
    # the non-secret files are widened to 0644 (umask 0), never the key
    cert_synced = [s for s in synced if os.path.basename(s[0]).startswith(".out.pem")]
    assert [mode for _, mode, _ in cert_synced] == [0o644]
    assert mode_of(tmp_path / "out-key.pem") == 0o600


# --- all or nothing -------------------------------------------------------------------------


def fail_on_call(real: Callable[..., Any], n: int, exc: BaseException) -> Callable[..., Any]:
    """``real``, except that call number ``n`` (1-based) raises ``exc``."""
    calls = [0]

    def wrapper(*args: Any, **kw: Any) -> Any:
        calls[0] += 1
        if calls[0] == n:
            raise exc
        return real(*args, **kw)

    return wrapper


@pytest.fixture
def existing(tmp_path: Path, leaf: Dict[str, str]) -> Path:
    """tmp_path holding out.pem, out-key.pem, out.csr from ``leaf`` and an unrelated file."""
    write_bare(leaf, "out", directory=tmp_path)
    (tmp_path / "notes.txt").write_text("keep me\n")
    return tmp_path


EIO = OSError(errno.EIO, "Input/output error")


@pytest.mark.parametrize("n", [1, 2, 3])
def test_a_failed_rename_puts_every_old_file_back(n: int, existing: Path,
                                                   leaf2: Dict[str, str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    before = snapshot(existing)
    monkeypatch.setattr(os, "replace", fail_on_call(os.replace, n, EIO))
    with pytest.raises(FileError) as info:
        write_bare(leaf2, "out", directory=existing)
    target = str(existing / ["out.pem", "out-key.pem", "out.csr"][n - 1])
    assert str(info.value) == "%s: cannot rename into place (Input/output error)" % target
    assert snapshot(existing) == before  # same bytes, modes, inodes and mtimes


@pytest.mark.parametrize("n", [1, 2, 3])
def test_a_failed_rename_removes_new_files(n: int, tmp_path: Path, leaf: Dict[str, str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "replace", fail_on_call(os.replace, n, EIO))
    with pytest.raises(FileError):
        write_bare(leaf, "out", directory=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_an_interrupt_during_rename_rolls_back_too(existing: Path, leaf2: Dict[str, str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    before = snapshot(existing)
    monkeypatch.setattr(os, "replace", fail_on_call(os.replace, 2, KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        write_bare(leaf2, "out", directory=existing)
    assert snapshot(existing) == before


def test_without_hard_links_each_file_is_still_old_or_new(
        existing: Path, leaf: Dict[str, str], leaf2: Dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    def no_link(*args: Any, **kw: Any) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_link)
    monkeypatch.setattr(os, "replace", fail_on_call(os.replace, 2, EIO))
    with pytest.raises(FileError):
        write_bare(leaf2, "out", directory=existing)
    for part, name in NAMES.items():
        assert (existing / name).read_text() in (leaf[part], leaf2[part])
    assert sorted(p.name for p in existing.iterdir()) == sorted([*NAMES.values(), "notes.txt"])
    assert mode_of(existing / "out-key.pem") == 0o600


@pytest.mark.parametrize("n", [1, 2, 3])
def test_a_failed_fsync_writes_nothing(n: int, existing: Path, leaf2: Dict[str, str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    before = snapshot(existing)
    monkeypatch.setattr(os, "fsync", fail_on_call(os.fsync, n, OSError(errno.ENOSPC,
                                                                        "No space left on device")))
    with pytest.raises(FileError) as info:
        write_bare(leaf2, "out", directory=existing)
    target = str(existing / ["out.pem", "out-key.pem", "out.csr"][n - 1])
    assert str(info.value) == "%s: cannot write (No space left on device)" % target
    assert snapshot(existing) == before


def test_a_directory_in_the_way_writes_nothing(existing: Path, leaf2: Dict[str, str]) -> None:
    (existing / "out.csr").unlink()
    (existing / "out.csr").mkdir()
    before = snapshot(existing)
    with pytest.raises(FileError) as info:
        write_bare(leaf2, "out", directory=existing)
    assert str(info.value) == "%s: is a directory; cannot write a file there" % (
        existing / "out.csr")
    assert snapshot(existing) == before


def test_a_bad_last_part_writes_nothing(existing: Path, leaf2: Dict[str, str]) -> None:
    before = snapshot(existing)
    with pytest.raises(PEMError) as info:
        write_bare({**leaf2, "csr": leaf2["cert"]}, "out", directory=existing)
    assert info.value.message == ("csr: expected a CERTIFICATE REQUEST or NEW CERTIFICATE "
                                  "REQUEST PEM block, found CERTIFICATE")
    assert snapshot(existing) == before


def test_an_unwritable_directory_writes_nothing(
    existing: Path, leaf2: Dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Root ignores directory permissions, so the refusal is simulated where the OS would
    # report it: creating the temporary file.
    import tempfile

    before = snapshot(existing)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(FileError) as info:
        write_bare(leaf2, "out", directory=existing)
    assert "Permission denied" in str(info.value)
    assert snapshot(existing) == before


# --- overwriting ----------------------------------------------------------------------------


def test_overwriting_a_leaf_works(existing: Path, leaf2: Dict[str, str]) -> None:
    write_bare(leaf2, "out", directory=existing)
    assert read_bare("out", directory=existing) == {p: leaf2[p] for p in NAMES}
    assert mode_of(existing / "out-key.pem") == 0o600
    assert sorted(p.name for p in existing.iterdir()) == sorted([*NAMES.values(), "notes.txt"])


def refusal(path: Path) -> str:
    return ("%s: refusing to overwrite an existing CA private key (every certificate it signed "
            "would be orphaned); move it away first, or use -force" % path)


@pytest.fixture
def ca_dir(tmp_path: Path, ec_ca: Dict[str, str]) -> Path:
    write_bare(ec_ca, "ca", directory=tmp_path)
    return tmp_path


@pytest.mark.parametrize("replacement", ["other CA", "leaf", "key and csr only", "key only"])
def test_a_different_key_never_replaces_a_ca_key(replacement: str, ca_dir: Path,
                                                 other_ca: Dict[str, str],
                                                 leaf: Dict[str, str]) -> None:
    bundle = {
        "other CA": other_ca,
        "leaf": leaf,
        "key and csr only": {"key": other_ca["key"], "csr": other_ca["csr"]},
        "key only": {"key": leaf["key"]},
    }[replacement]
    before = snapshot(ca_dir)
    with pytest.raises(FileError) as info:
        write_bare(bundle, "ca", directory=ca_dir)
    assert str(info.value) == refusal(ca_dir / "ca-key.pem")
    assert isinstance(info.value, OSError)
    assert snapshot(ca_dir) == before


def test_a_new_ca_may_replace_a_leaf(existing: Path, other_ca: Dict[str, str]) -> None:
    # out.pem is a leaf: no CA is orphaned, so this is cfssljson's plain overwrite
    write_bare(other_ca, "out", directory=existing)
    assert read_bare("out", directory=existing) == {p: other_ca[p] for p in NAMES}


def test_a_new_ca_never_replaces_a_key_whose_certificate_is_gone(
    existing: Path, other_ca: Dict[str, str]
) -> None:
    (existing / "out.pem").unlink()
    before = snapshot(existing)
    with pytest.raises(FileError) as info:
        write_bare(other_ca, "out", directory=existing)
    assert str(info.value) == (
        "%s: refusing to overwrite an existing private key with a new CA's key (%s, which "
        "would say whose key it is, is missing or unreadable); move it away first, or use "
        "-force" % (existing / "out-key.pem", existing / "out.pem"))
    assert snapshot(existing) == before


def test_force_replaces_a_ca_key(ca_dir: Path, other_ca: Dict[str, str]) -> None:
    write_bare(other_ca, "ca", directory=ca_dir, force=True)
    assert read_bare("ca", directory=ca_dir) == {p: other_ca[p] for p in NAMES}
    assert mode_of(ca_dir / "ca-key.pem") == 0o600


def test_the_same_ca_key_again_is_fine(ca_dir: Path, ec_ca: Dict[str, str]) -> None:
    write_bare(ec_ca, "ca", directory=ca_dir)
    write_bare({"key": ec_ca["key"], "cert": ec_ca["cert"]}, "ca", directory=ca_dir)
    assert read_bare("ca", directory=ca_dir)["key"] == ec_ca["key"]


def test_a_symlinked_target_is_replaced_not_followed(tmp_path: Path, leaf: Dict[str, str],
                                                     leaf2: Dict[str, str]) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "real.pem").write_text(leaf["cert"])
    work = tmp_path / "work"
    work.mkdir()
    (work / "out.pem").symlink_to(elsewhere / "real.pem")
    write_bare(leaf2, "out", directory=work)
    assert not (work / "out.pem").is_symlink()
    assert (work / "out.pem").read_text() == leaf2["cert"]
    assert (elsewhere / "real.pem").read_text() == leaf["cert"]


def test_a_dangling_symlink_target_is_replaced(tmp_path: Path, leaf: Dict[str, str]) -> None:
    (tmp_path / "out-key.pem").symlink_to(tmp_path / "nowhere" / "key.pem")
    write_bare(leaf, "out", directory=tmp_path)
    assert not (tmp_path / "out-key.pem").is_symlink()
    assert mode_of(tmp_path / "out-key.pem") == 0o600
    assert not (tmp_path / "nowhere").exists()


# --- errors ---------------------------------------------------------------------------------


def test_a_missing_directory(tmp_path: Path, leaf: Dict[str, str]) -> None:
    with pytest.raises(FileError) as info:
        write_bare(leaf, "out", directory=tmp_path / "nope")
    assert str(info.value) == "%s: directory %s does not exist" % (
        tmp_path / "nope" / "out.pem", tmp_path / "nope")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("bundle, name, error, message", [
    ({}, "out", PEMError, "the JSON input has no cert, key or csr to write"),
    ({"cert": None, "foo": "x"}, "out", PEMError,
     "the JSON input has no cert, key or csr to write"),
    ({"cert": 5}, "out", PEMError, "cert: expected PEM text, got int"),
    ({"key": b"bytes"}, "out", PEMError, "key: expected PEM text, got bytes"),
    ({"cert": "not pem"}, "out", PEMError,
     "cert: expected a CERTIFICATE PEM block, found no PEM block"),
    ({"cert": "x"}, "", FileError, "-bare: '' is not a usable base name"),
    ({"cert": "x"}, "dir/", FileError, "-bare: 'dir/' is not a usable base name"),
    ({"cert": "x"}, "a\x00b", FileError,
     "-bare: 'a\\x00b': a file name cannot contain a NUL character"),
    ({"cert": "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n\u00e9"}, "out",
     PEMError, "cert: PEM is ASCII text, but character 60 is U+00E9"),
    ({"cert": "\ud800"}, "out", PEMError, "cert: PEM is ASCII text, but character 1 is U+D800"),
    ([("cert", "x")], "out", TypeError, "bundle must be a mapping, not list"),
    ({"cert": "x"}, b"out", TypeError, "name must be a str, not bytes"),
])
def test_bad_bundles(bundle: Any, name: Any, error: type, message: str,
                     tmp_path: Path) -> None:
    with pytest.raises(error) as info:
        write_bare(bundle, name, directory=tmp_path)
    got = info.value.message if isinstance(info.value, PEMError) else str(info.value)
    assert got == message
    assert type(info.value) is error
    assert list(tmp_path.iterdir()) == []


def test_read_file_errors(tmp_path: Path) -> None:
    with pytest.raises(FileError) as info:
        read_file(tmp_path / "nope.pem", "CA key")
    assert str(info.value) == "%s: CA key does not exist" % (tmp_path / "nope.pem")
    with pytest.raises(FileError) as info:
        read_file(tmp_path, "CSR")
    assert str(info.value) == "%s: is a directory, not a CSR" % tmp_path
    (tmp_path / "x").write_bytes(b"\x00\xff")
    assert read_file(tmp_path / "x") == b"\x00\xff"


def test_read_bare_reads_what_exists(tmp_path: Path, leaf: Dict[str, str]) -> None:
    assert read_bare("out", directory=tmp_path) == {}
    write_bare({"key": leaf["key"]}, "out", directory=tmp_path)
    assert read_bare("out", directory=tmp_path) == {"key": leaf["key"]}


@pytest.mark.parametrize("mode", [0o600, 0o644, 0o640])
def test_atomic_write(mode: int, tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    target.write_text("old")
    with umask(0):
        atomic_write(target, "new \u2713", mode=mode)
    assert target.read_text() == "new \u2713"
    assert mode_of(target) == mode
    atomic_write(str(target), b"\x00bytes")
    assert target.read_bytes() == b"\x00bytes"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_bare_files_table() -> None:
    assert {part: (suffix, mode) for part, (suffix, _, mode) in files.BARE_FILES.items()} == {
        "cert": (".pem", 0o644), "key": ("-key.pem", 0o600), "csr": (".csr", 0o644)}


# --- property: any bundle is written whole or not at all ------------------------------------

PART_VALUES = st.one_of(st.none(), st.integers(), st.text(max_size=20),
                        st.sampled_from(["cert", "key", "csr"]))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(choice=st.dictionaries(st.sampled_from(["cert", "key", "csr", "other"]), PART_VALUES))
def test_any_bundle_is_written_whole_or_not_at_all(choice: Dict[str, Any], tmp_path: Path,
                                                   leaf: Dict[str, str]) -> None:
    # a string naming a part stands for that part's real PEM; anything else is itself
    bundle = {k: leaf[v] if isinstance(v, str) and v in leaf else v for k, v in choice.items()}
    directory = tmp_path / ("d%d" % len(list(tmp_path.iterdir())))
    directory.mkdir()
    try:
        written = write_bare(bundle, "out", directory=directory)
    except PEMError:
        assert list(directory.iterdir()) == []
        return
    parts = [p for p in ("cert", "key", "csr") if bundle.get(p) is not None]
    assert written == [str(directory / NAMES[p]) for p in parts]
    assert read_bare("out", directory=directory) == {p: bundle[p] for p in parts}
    assert sorted(p.name for p in directory.iterdir()) == sorted(NAMES[p] for p in parts)


def test_refuses_to_replace_a_ca_certificate_with_one_for_another_key(tmp_path: Path) -> None:
    from kpkilite import signing
    from kpkilite.errors import FileError, KpkiliteWarning
    from kpkilite.files import write_bare

    ca = signing.create_ca({"CN": "test CA"})
    write_bare(ca, "ca", directory=tmp_path)
    before = (tmp_path / "ca.pem").read_bytes()
    with pytest.warns(KpkiliteWarning, match="key encipherment"):  # cfssl's default profile
        leaf = signing.sign_csr(_csr_pem(), ca_cert=ca["cert"], ca_key=ca["key"])
    with pytest.raises(FileError) as info:
        write_bare({"cert": leaf}, "ca", directory=tmp_path)
    assert str(info.value) == (
        "%s: refusing to replace an existing CA certificate with a certificate for another key "
        "(the CA's key pair would be broken); use another name, or -force"
        % (tmp_path / "ca.pem")
    )
    assert (tmp_path / "ca.pem").read_bytes() == before
    # The same CA written again is fine; force overrides the refusal.
    write_bare({"cert": ca["cert"]}, "ca", directory=tmp_path)
    write_bare({"cert": leaf}, "ca", directory=tmp_path, force=True)
    assert (tmp_path / "ca.pem").read_text() == leaf


def _csr_pem() -> str:
    from kpkilite import csr

    return csr.generate_csr({"CN": "leaf", "hosts": ["leaf.example"]})["csr"]


# --- input limits and file names ------------------------------------------------------------


def test_read_file_stops_at_16_mib(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    with open(big, "wb") as fh:  # sparse: 16 MiB + 1 byte without writing them
        fh.truncate(files.MAX_INPUT + 1)
    with pytest.raises(FileError) as info:
        read_file(big, "CSR spec")
    assert str(info.value) == "%s: larger than 16 MiB; not a CSR spec" % big
    with open(big, "r+b") as fh:
        fh.truncate(files.MAX_INPUT)
    assert len(read_file(big)) == files.MAX_INPUT


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_read_file_of_an_endless_device_is_cut_off() -> None:
    with pytest.raises(FileError) as info:
        read_file("/dev/zero", "certificate")
    assert str(info.value) == "/dev/zero: larger than 16 MiB; not a certificate"


@pytest.mark.parametrize("path, message", [
    ("a\x00b", "'a\\x00b': a file name cannot contain a NUL character"),
    ("a\ud800b", "'a\\ud800b': the file name cannot be encoded for this file system (an "
                 "unpaired surrogate?)"),
])
def test_unusable_file_names_are_file_errors(path: str, message: str) -> None:
    for call in (lambda: read_file(path), lambda: atomic_write(path, b"x")):
        with pytest.raises(FileError) as info:
            call()
        assert str(info.value) == message


# --- special files are never replaced, nor read ----------------------------------------------


def _make_special(path: Path, kind: str) -> str:
    """Create a FIFO, socket or character device at ``path``; returns how messages name it."""
    import socket

    if kind == "fifo":
        os.mkfifo(path)
        return "FIFO (named pipe)"
    if kind == "socket":
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(path))
        sock.close()
        return "socket"
    if os.geteuid() != 0:
        pytest.skip("mknod of a character device needs root")
    os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    return "character device"


@pytest.mark.parametrize("kind", ["fifo", "socket", "char device"])
@pytest.mark.parametrize("part", ["cert", "key", "csr"])
def test_write_bare_refuses_a_special_file_before_reading_anything(
        kind: str, part: str, tmp_path: Path, other_ca: Dict[str, str]) -> None:
    # A FIFO in the key's or certificate's place would block the overwrite guard's read:
    # if this test hangs, that guard reads before it checks.
    name = _make_special(tmp_path / NAMES[part], kind)
    before = snapshot(tmp_path)
    with pytest.raises(FileError) as info:
        write_bare(other_ca, "out", directory=tmp_path)
    assert str(info.value) == "%s: is a %s, not a regular file; refusing to replace it" % (
        tmp_path / NAMES[part], name)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("kind", ["fifo", "socket", "char device"])
def test_atomic_write_refuses_a_special_file(kind: str, tmp_path: Path) -> None:
    target = tmp_path / "out"
    name = _make_special(target, kind)
    before = snapshot(tmp_path)
    with pytest.raises(FileError) as info:
        atomic_write(target, b"data")
    assert str(info.value) == "%s: is a %s, not a regular file; refusing to replace it" % (
        target, name)
    assert snapshot(tmp_path) == before


def test_a_symlink_to_a_fifo_is_replaced_not_read(tmp_path: Path, other_ca: Dict[str, str]
                                                  ) -> None:
    os.mkfifo(tmp_path / "fifo")
    os.symlink("fifo", tmp_path / NAMES["key"])
    write_bare(other_ca, "out", directory=tmp_path)  # the link is replaced; nothing blocks
    assert (tmp_path / NAMES["key"]).read_text() == other_ca["key"]
    assert stat.S_ISFIFO((tmp_path / "fifo").lstat().st_mode)


# --- the directory lock ------------------------------------------------------------------------


def _write_ca(directory: str, bundle: Dict[str, str], barrier: Any, results: Any) -> None:
    barrier.wait()
    try:
        write_bare(bundle, "ca", directory=directory)
    except FileError:
        results.put("refused")
    else:
        results.put("ok")


def test_concurrent_writers_of_one_name_leave_one_whole_ca(tmp_path: Path) -> None:
    """Check-then-write under the directory lock: exactly one of N racing new CAs is written,
    the others are refused, the key matches the certificate, and no lock file is left."""
    import multiprocessing

    from kpkilite import certinfo, signing

    bundles = [signing.create_ca({"CN": "race %d" % i}) for i in range(6)]
    ctx = multiprocessing.get_context("fork")
    for _ in range(3):
        for entry in tmp_path.iterdir():
            entry.unlink()
        barrier, results = ctx.Barrier(len(bundles)), ctx.Queue()
        procs = [ctx.Process(target=_write_ca, args=(str(tmp_path), b, barrier, results))
                 for b in bundles]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join(60)
        outcomes = sorted(results.get(timeout=10) for _ in procs)
        assert outcomes == ["ok"] + ["refused"] * (len(bundles) - 1)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["ca-key.pem", "ca.csr", "ca.pem"]
        assert certinfo.key_matches_cert((tmp_path / "ca-key.pem").read_text(),
                                         (tmp_path / "ca.pem").read_text())


def test_write_bare_inside_this_process_s_own_flock_does_not_deadlock(
        tmp_path: Path, leaf: Dict[str, str]) -> None:
    """A caller holds an flock on its output directory (another descriptor) and calls
    write_bare."""
    import fcntl

    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        write_bare(leaf, "out", directory=tmp_path)
        with files._locked_directory(str(tmp_path), "x"):  # nested: reentrant
            write_bare(leaf, "out", directory=tmp_path)
    finally:
        os.close(fd)
    assert read_bare("out", directory=tmp_path) == leaf


def test_the_lock_is_released(tmp_path: Path, leaf: Dict[str, str]) -> None:
    import fcntl

    write_bare(leaf, "out", directory=tmp_path)
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # would raise if still held
    finally:
        os.close(fd)


def test_a_directory_that_cannot_be_opened_for_locking_is_still_written(
        tmp_path: Path, leaf: Dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    # A write-only (0333) directory: root ignores modes, so os.open is refused by hand.
    real_open = os.open

    def refuse_directories(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if os.path.isdir(path):
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse_directories)
    write_bare(leaf, "out", directory=tmp_path)
    monkeypatch.undo()
    assert read_bare("out", directory=tmp_path) == leaf


def test_a_directory_where_files_cannot_be_made_is_not_called_missing(
        tmp_path: Path, leaf: Dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    def enoent(*args: Any, **kwargs: Any) -> Any:  # what creating a file in /proc gives
        raise FileNotFoundError(errno.ENOENT, "No such file or directory")

    monkeypatch.setattr(tempfile, "mkstemp", enoent)
    with pytest.raises(FileError) as info:
        write_bare(leaf, "out", directory=tmp_path)
    assert str(info.value).endswith("cannot create a file in %s (No such file or directory)"
                                    % tmp_path)
