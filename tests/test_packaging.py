"""The shipped artifacts: kpkilite.pyz, the wheel and the sdist, each used the way a user would.

- ``kpkilite pyz`` writes one executable zipapp; the chapter's flow runs through it
  with ``python -I kpkilite.pyz ...`` from a directory that has nothing else in it,
  and openssl checks the result.
- ``python -m build`` makes a wheel and an sdist from a copy of the source tree; the
  wheel holds py.typed and every module, and installed into a fresh venv it runs
  ``kpkilite version`` and the README's ``kpkilite k8s-pki --dir pki``.

Every artifact is built once per session (fixtures below); the whole file takes
about 15 s, most of it the isolated ``python -m build``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import zipapp
import zipfile
from pathlib import Path
from typing import Dict, List, Optional

import pytest
from test_vendoring import LEAVES, check_chapter, find_python39, write_flow_files

from kpkilite import __version__, _pyz

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted(p.name for p in (ROOT / "kpkilite").glob("*.py"))

#: environment for the subprocesses: no PYTHONPATH, nothing from the test run
CLEAN_ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
             "HOME": os.environ.get("HOME", "/")}


def _run(args: List[str], cwd: Path, stdin: Optional[bytes] = None,
         timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    proc = subprocess.run(args, cwd=str(cwd), input=stdin, capture_output=True,
                          timeout=timeout, env=CLEAN_ENV)
    assert proc.returncode == 0, "%s failed (%d):\n%s" % (
        " ".join(args), proc.returncode, proc.stderr.decode(errors="replace"))
    return proc


# --- kpkilite.pyz ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pyz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """kpkilite.pyz, built by the CLI command (``python -m kpkilite pyz -o ...``)."""
    out = tmp_path_factory.mktemp("pyz") / "kpkilite.pyz"
    proc = subprocess.run([sys.executable, "-m", "kpkilite", "pyz", "-o", str(out)],
                          capture_output=True, text=True, timeout=60, cwd=str(ROOT))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("%s: " % out) and "run: python3" in proc.stdout
    return out


def test_pyz_is_an_executable_zipapp(pyz: Path) -> None:
    assert stat.S_IMODE(pyz.stat().st_mode) == 0o755 & ~_umask()
    assert zipapp.get_interpreter(str(pyz)) == "/usr/bin/env python3"
    assert pyz.read_bytes().startswith(b"#!/usr/bin/env python3\n")
    with zipfile.ZipFile(pyz) as zf:
        names = zf.namelist()
        assert zf.testzip() is None
        for module in MODULES:  # exactly the source, byte for byte
            assert zf.read("kpkilite/" + module) == (ROOT / "kpkilite" / module).read_bytes()
        main = zf.read("__main__.py").decode()
    assert "kpkilite/py.typed" in names
    assert {"asn1crypto/__init__.py", "oscrypto/__init__.py",
            "oscrypto/_openssl/_libcrypto_ctypes.py"} <= set(names)
    assert {"LICENSES/kpkilite.txt", "LICENSES/asn1crypto.txt", "LICENSES/oscrypto.txt"} \
        <= set(names)
    assert [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".so"))
            or "/tests/" in n] == []
    assert {n.split("/")[0] for n in names} == {"__main__.py", "LICENSES", "kpkilite",
                                                "asn1crypto", "oscrypto"}
    assert "from kpkilite.cli import main" in main


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_pyz_build_is_reproducible(pyz: Path, tmp_path: Path) -> None:
    """Same sources, same bytes (sorted entries, fixed timestamps), whichever way it is built."""
    again = tmp_path / "again.pyz"
    counts = _pyz.build_pyz(str(again))
    assert again.read_bytes() == pyz.read_bytes()
    assert set(counts) == {"kpkilite", "asn1crypto", "oscrypto"}
    assert counts["kpkilite"] == len(MODULES) + 1  # the modules and py.typed


def test_pyz_rebuilds_itself(pyz: Path, tmp_path: Path) -> None:
    """``python3 kpkilite.pyz pyz`` copies the packages out of the zip it runs from."""
    _run([sys.executable, "-I", str(pyz), "pyz", "-o", "copy.pyz"], tmp_path)
    assert (tmp_path / "copy.pyz").read_bytes() == pyz.read_bytes()


@pytest.mark.parametrize(
    "argv, status, message",
    [
        (["-o", "missing/k.pyz"], 1,
         "kpkilite: missing/k.pyz: directory missing does not exist\n"),
        (["-o", "."], 1, "kpkilite: .: is a directory; cannot write a file there\n"),
        (["extra"], 2, "kpkilite: pyz: unexpected argument 'extra'; usage: kpkilite pyz "
                       "[-o FILE] [-python CMD] [-compile]\n"),
        (["-python", "a\nb"], 1, "kpkilite: pyz: -python 'a\\nb' is not a one-line command\n"),
        (["-o", "-"], 2, "kpkilite: pyz: -o - is not supported: the archive is a binary file to "
                         "run with python3, not output for stdout; give a file name\n"),
    ],
)
def test_pyz_errors(argv: List[str], status: int, message: str, tmp_path: Path) -> None:
    """Bad targets and arguments: one line, the exit status, and no file left behind."""
    proc = subprocess.run([sys.executable, "-m", "kpkilite", "pyz", *argv], cwd=str(tmp_path),
                          capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (status, "", message)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind", ["fifo", "socket", "char device"])
def test_pyz_never_replaces_a_special_file(kind: str, tmp_path: Path) -> None:
    """``-o /dev/null`` as root must not turn /dev/null into a zip file: refused, untouched."""
    import socket
    import stat

    target = tmp_path / "out"
    if kind == "fifo":
        os.mkfifo(target)
        name = "FIFO (named pipe)"
    elif kind == "socket":
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(target))
        sock.close()
        name = "socket"
    else:
        if os.geteuid() != 0:
            pytest.skip("mknod of a character device needs root")
        os.mknod(target, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a second /dev/null
        name = "character device"
    before = target.lstat()
    proc = subprocess.run([sys.executable, "-m", "kpkilite", "pyz", "-o", "out"],
                          cwd=str(tmp_path), capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        1, "", "kpkilite: out: is a %s, not a regular file; refusing to replace it\n" % name)
    after = target.lstat()
    assert (after.st_mode, after.st_ino, after.st_rdev) == (before.st_mode, before.st_ino,
                                                             before.st_rdev)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def _code_file(python: str, pyz: Path) -> str:
    """co_filename of kpkilite.cli imported from ``pyz``: the archive path when compiled
    from source at import, the bare archive name when a stored .pyc was used."""
    code = ("import sys; sys.path.insert(0, %r); import kpkilite.cli as c; "
            "print(c.main.__code__.co_filename)" % str(pyz))
    proc = subprocess.run([python, "-I", "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_pyz_with_bytecode(pyz: Path, tmp_path: Path) -> None:
    """``-compile`` adds checked-hash .pyc files that this Python uses; the sources stay."""
    fast = tmp_path / "fast.pyz"
    _run([sys.executable, "-m", "kpkilite", "pyz", "-compile", "-o", str(fast)], ROOT)
    with zipfile.ZipFile(fast) as zf, zipfile.ZipFile(pyz) as plain:
        names = set(zf.namelist())
        plain_names = set(plain.namelist())
        pyc = zf.read("kpkilite/cli.pyc")
    assert names - plain_names == {n + "c" for n in plain_names
                                   if n.endswith(".py") and n != "__main__.py"}
    assert pyc[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(pyc[4:8], "little") == 0b11  # hash-based, checked
    assert _code_file(sys.executable, fast) == "kpkilite/cli.py"
    assert _code_file(sys.executable, pyz) == str(pyz / "kpkilite" / "cli.py")
    out = _run([sys.executable, "-I", str(fast), "version"], tmp_path).stdout.decode()
    assert out.startswith("Version: %s\n" % __version__)


def test_pyz_bytecode_falls_back_on_another_python(tmp_path: Path) -> None:
    """On another Python version the .pyc has the wrong magic number; the source is used."""
    python39, why = find_python39()
    if python39 is None:
        pytest.skip(why)
    fast = tmp_path / "fast.pyz"
    _pyz.build_pyz(str(fast), bytecode=True)
    assert _code_file(python39, fast) == str(fast / "kpkilite" / "cli.py")
    out = _run([python39, "-I", str(fast), "version"], tmp_path).stdout.decode()
    assert out.startswith("Version: %s\nRuntime: python3.9." % __version__)


@pytest.fixture(scope="session")
def pyz_flow(pyz: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The chapter's flow with the pyz alone in an empty directory: gencert | json -bare."""
    work = tmp_path_factory.mktemp("pyz-flow")
    shutil.copy2(pyz, work / "kpkilite.pyz")
    write_flow_files(work)
    cmd = [sys.executable, "-I", "kpkilite.pyz"]
    ca = _run(cmd + ["gencert", "-initca", "ca-csr.json"], work).stdout
    _run(cmd + ["json", "-bare", "ca"], work, stdin=ca)
    for name in LEAVES:
        bundle = _run(cmd + ["gencert", "-ca=ca.pem", "-ca-key=ca-key.pem",
                             "-config=ca-config.json", "-profile=kubernetes",
                             "%s-csr.json" % name], work).stdout
        _run(cmd + ["json", "-bare", name], work, stdin=bundle)
    return work


def test_pyz_runs_the_chapter(pyz_flow: Path, openssl: str) -> None:
    check_chapter(openssl, pyz_flow)


def test_pyz_certinfo_cron_selector(pyz_flow: Path) -> None:
    cmd = [sys.executable, "-I", "kpkilite.pyz"]
    info = _run(cmd + ["certinfo", "-cert", "kubernetes.pem"], pyz_flow).stdout.decode()
    assert '"common_name": "kubernetes"' in info and '"kube-api.jd.com"' in info
    times = _run(cmd + ["cron", "0 0 29 2 *", "--from", "2024-01-31T23:59:00Z", "-n", "2"],
                 pyz_flow).stdout.decode()
    assert times == "2024-02-29T00:00:00+00:00\n2028-02-29T00:00:00+00:00\n"
    proc = subprocess.run(cmd + ["selector", "tier in (web,api),!canary", "--labels",
                                 "tier=web,canary=1"], cwd=str(pyz_flow), capture_output=True,
                          env=CLEAN_ENV, timeout=60)
    assert (proc.returncode, proc.stdout) == (1, b"false\n")


def test_pyz_runs_by_its_shebang(pyz: Path, tmp_path: Path) -> None:
    """``./kpkilite.pyz version``: the #! line and mode 0755 make it a command."""
    python3 = shutil.which("python3", path=CLEAN_ENV["PATH"])
    if python3 is None:
        pytest.skip("no python3 on PATH for the #! line")
    proc = subprocess.run([python3, "-c", "import sys; print(sys.version_info >= (3, 9))"],
                          capture_output=True, text=True, env=CLEAN_ENV, timeout=30)
    if proc.stdout.strip() != "True":
        pytest.skip("python3 on PATH is not Python 3.9+ (or does not run): %s" % python3)
    out = _run([str(pyz), "version"], tmp_path).stdout.decode()
    assert out.startswith("Version: %s\nRuntime: python3." % __version__)


def test_pyz_on_python39(pyz: Path, tmp_path: Path) -> None:
    """The zip on the floor version: a CA, a leaf signed by it, and a cron line."""
    python39, why = find_python39()
    if python39 is None:
        pytest.skip(why)
    write_flow_files(tmp_path)
    cmd = [python39, "-I", str(pyz)]
    assert _run(cmd + ["version"], tmp_path).stdout.decode().endswith("Runtime: python3.9.%s\n"
                                                                       % _micro(python39))
    _run(cmd + ["json", "-bare", "ca"], tmp_path,
         stdin=_run(cmd + ["gencert", "-initca", "ca-csr.json"], tmp_path).stdout)
    leaf = _run(cmd + ["gencert", "-ca", "ca.pem", "-ca-key", "ca-key.pem", "-config",
                       "ca-config.json", "-profile", "kubernetes", "admin-csr.json"],
                tmp_path).stdout
    _run(cmd + ["json", "-bare", "admin"], tmp_path, stdin=leaf)
    assert (tmp_path / "admin.pem").read_text().startswith("-----BEGIN CERTIFICATE-----")


def _micro(python: str) -> str:
    return subprocess.run([python, "-c", "import sys; print(sys.version_info[2])"],
                          capture_output=True, text=True, timeout=30).stdout.strip()


def test_pyz_on_an_old_python_says_why() -> None:
    """The archive's __main__ refuses Python < 3.9 with one line instead of a SyntaxError."""
    code = _pyz._MAIN % {"version": __version__}
    fake = "import sys\nsys.version_info = (3, 8, 10)\n"
    proc = subprocess.run([sys.executable, "-I", "-c", fake + code], capture_output=True,
                          text=True, timeout=30)
    assert proc.returncode == 1
    assert proc.stderr.endswith(" is Python 3.8\n")
    assert proc.stderr.startswith("kpkilite: needs Python 3.9 or newer; ")


def test_backend_loads_from_the_zip_on_sys_path(pyz: Path) -> None:
    """Importing kpkilite from the zip (a plain sys.path entry, not the archive's __main__)
    loads oscrypto, with the version shim where OpenSSL >= 3.0.10 needs it: the shim reads
    oscrypto's source through zipimport's loader."""
    code = ("import sys; sys.path.insert(0, %r); from kpkilite import _crypto; "
            "print(_crypto.backend_description())" % str(pyz))
    proc = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr.strip().splitlines()[-1]
    assert proc.stdout.startswith("oscrypto ")


# --- wheel and sdist ---------------------------------------------------------------------------

#: what a source tree needs for ``python -m build`` (copied, so the repo stays untouched)
_BUILD_INPUTS = ["setup.cfg", "pyproject.toml", "README.md", "LICENSE", "CHANGELOG.md",
                 "MANIFEST.in"]


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Path]:
    """``python -m build`` (isolated, as a user runs it) on a copy of the source tree."""
    src = tmp_path_factory.mktemp("src")
    for name in _BUILD_INPUTS:
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "kpkilite", src / "kpkilite",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(src)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    wheels = list(out.glob("*.whl"))
    sdists = list(out.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, sorted(p.name for p in out.iterdir())
    return {"wheel": wheels[0], "sdist": sdists[0]}


def test_artifact_names(dist: Dict[str, Path]) -> None:
    assert dist["wheel"].name == "kpkilite-%s-py3-none-any.whl" % __version__
    assert dist["sdist"].name == "kpkilite-%s.tar.gz" % __version__


def test_wheel_contents(dist: Dict[str, Path]) -> None:
    info = "kpkilite-%s.dist-info/" % __version__
    with zipfile.ZipFile(dist["wheel"]) as zf:
        names = set(zf.namelist())
        metadata = zf.read(info + "METADATA").decode()
        entry_points = zf.read(info + "entry_points.txt").decode()
    package = {n for n in names if not n.startswith(info)}
    assert package == {"kpkilite/" + m for m in MODULES} | {"kpkilite/py.typed"}
    assert any(n.startswith(info) and n.rsplit("/", 1)[-1] == "LICENSE" for n in names)
    headers = [line for line in metadata.split("\n\n", 1)[0].splitlines()]
    for line in ["Name: kpkilite", "Version: %s" % __version__, "Requires-Python: >=3.9",
                 "Requires-Dist: asn1crypto>=1.5", "Requires-Dist: oscrypto>=1.3",
                 "Provides-Extra: tzdata", 'Requires-Dist: tzdata; extra == "tzdata"',
                 "Classifier: Typing :: Typed"]:
        assert line in headers
    assert "[console_scripts]\nkpkilite = kpkilite.cli:main" in entry_points


def test_sdist_contents(dist: Dict[str, Path]) -> None:
    top = "kpkilite-%s/" % __version__
    with tarfile.open(dist["sdist"]) as tf:
        names = {n[len(top):] for n in tf.getnames() if n.startswith(top)}
        pkg_info = tf.extractfile(top + "PKG-INFO")
        assert pkg_info is not None
        headers = pkg_info.read().decode()
    assert {"setup.cfg", "pyproject.toml", "README.md", "LICENSE", "PKG-INFO",
            "kpkilite/py.typed"} <= names
    assert {"kpkilite/" + m for m in MODULES} <= names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert "Version: %s\n" % __version__ in headers


@pytest.fixture(scope="session")
def venv(dist: Dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv (no system site-packages) with the wheel installed by pip; the two
    dependencies come from the package index pip is configured with."""
    root = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True,
                   timeout=120)
    python = root / "bin" / "python"
    proc = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                           "--quiet", "--disable-pip-version-check", str(dist["wheel"])],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return root


def test_installed_wheel_runs_version(venv: Path, tmp_path: Path) -> None:
    out = _run([str(venv / "bin" / "kpkilite"), "version"], tmp_path).stdout.decode()
    assert out.startswith("Version: %s\n" % __version__)
    where = _run([str(venv / "bin" / "python"), "-c",
                  "import kpkilite, oscrypto; print(kpkilite.__file__); print(oscrypto.__file__)"],
                 tmp_path).stdout.decode().split()
    assert all(p.startswith(str(venv) + os.sep) for p in where), where


def test_installed_wheel_runs_the_readme_example(venv: Path, tmp_path: Path,
                                                 openssl: str) -> None:
    """README: ``kpkilite k8s-pki --dir pki`` makes the chapter's set; openssl verifies it."""
    out = _run([str(venv / "bin" / "kpkilite"), "k8s-pki", "--dir", "pki"], tmp_path)
    assert out.stdout.decode().splitlines()[-1].startswith("pki: 6 created, 0 renewed, 0 kept")
    pki = tmp_path / "pki"
    for name in LEAVES:
        proc = subprocess.run([openssl, "verify", "-CAfile", str(pki / "ca.pem"),
                               str(pki / ("%s.pem" % name))], capture_output=True, text=True)
        assert proc.stdout.strip() == "%s: OK" % (pki / ("%s.pem" % name)), proc.stderr
        assert stat.S_IMODE((pki / ("%s-key.pem" % name)).stat().st_mode) == 0o600


def test_installed_wheel_is_typed(venv: Path, tmp_path: Path) -> None:
    marker = _run([str(venv / "bin" / "python"), "-c",
                   "import kpkilite, os; print(os.path.join(os.path.dirname(kpkilite.__file__), "
                   "'py.typed'))"], tmp_path).stdout.decode().strip()
    assert os.path.isfile(marker)

