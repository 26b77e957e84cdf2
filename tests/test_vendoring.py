"""kpkilite works as a vendored copy: no site-packages, no metadata, no absolute self-imports.

An installer vendors kpkilite by copying three folders into its own tree:
``kpkilite/``, ``asn1crypto/`` and ``oscrypto/`` (oscrypto imports asn1crypto by
its top-level name, so all three sit side by side in ``_vendor/``). The test
below builds such a throwaway installer from the packages this interpreter
imports, runs it with ``python -I -S`` (no site-packages, no user site, no
environment variables, no script directory on sys.path), and checks what it made
with ``openssl``: the Kubernetes chapter's CA and five leaves, plus a cron and a
selector call. The same copy also runs under Python 3.9 (the floor) when such an
interpreter exists here.

The static half reads every module's syntax tree: no ``import kpkilite...``,
no package metadata (importlib.metadata, pkg_resources, entry points), since a
vendored copy has neither an install record nor a top-level name of its own.
"""

from __future__ import annotations

import ast
import glob
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "kpkilite"

# --- the chapter's inputs (seed-flow/*.json), embedded so the test stands alone -------------

_NAMES = {"C": "CN", "ST": "BeiJing", "L": "BeiJing"}
_RSA = {"algo": "rsa", "size": 2048}
_MASTER_HOSTS = ["127.0.0.1", "192.168.1.145", "192.168.1.146", "Kubernetes-master1"]
KUBERNETES_HOSTS = [
    "127.0.0.1", "192.168.1.145", "192.168.1.146", "etcd01", "kubernetes", "kube-api.jd.com",
    "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster",
    "kubernetes.default.svc.cluster.local",
]

#: file name -> document, as in the chapter (the CSR specs without the book's trailing comma)
FLOW_FILES: Dict[str, Any] = {
    "ca-config.json": {
        "signing": {
            "default": {"expiry": "87600h"},
            "profiles": {"kubernetes": {
                "usages": ["signing", "key encipherment", "server auth", "client auth"],
                "expiry": "87600h"}},
        }
    },
    "ca-csr.json": {"CN": "kubernetes", "key": _RSA,
                    "names": [dict(_NAMES, O="Kubernetes", OU="System")],
                    "ca": {"expiry": "87600h"}},
    "admin-csr.json": {"CN": "admin", "hosts": [], "key": _RSA,
                       "names": [dict(_NAMES, O="system:masters", OU="System")]},
    "kube-controller-manager-csr.json": {
        "CN": "system:kube-controller-manager", "key": _RSA, "hosts": _MASTER_HOSTS,
        "names": [dict(_NAMES, O="system:kube-controller-manager", OU="system")]},
    "kube-proxy-csr.json": {"CN": "system:kube-proxy", "hosts": [], "key": _RSA,
                            "names": [dict(_NAMES, O="Kubernetes", OU="System")]},
    "kube-scheduler-csr.json": {
        "CN": "system:kube-scheduler", "hosts": _MASTER_HOSTS, "key": _RSA,
        "names": [dict(_NAMES, O="system:kube-scheduler", OU="4Paradigm")]},
    "kubernetes-csr.json": {"CN": "kubernetes", "hosts": KUBERNETES_HOSTS, "key": _RSA,
                            "names": [dict(_NAMES, O="Kubernetes", OU="System")]},
}

#: the chapter's leaves, all signed with the "kubernetes" profile
LEAVES = ["kubernetes", "admin", "kube-proxy", "kube-controller-manager", "kube-scheduler"]

#: leaf -> the subject openssl prints (RFC 2253 order: most specific first)
SUBJECTS = {
    "ca": "CN=kubernetes,OU=System,O=Kubernetes,L=BeiJing,ST=BeiJing,C=CN",
    "kubernetes": "CN=kubernetes,OU=System,O=Kubernetes,L=BeiJing,ST=BeiJing,C=CN",
    "admin": "CN=admin,OU=System,O=system:masters,L=BeiJing,ST=BeiJing,C=CN",
    "kube-proxy": "CN=system:kube-proxy,OU=System,O=Kubernetes,L=BeiJing,ST=BeiJing,C=CN",
    "kube-controller-manager": "CN=system:kube-controller-manager,OU=system,"
                               "O=system:kube-controller-manager,L=BeiJing,ST=BeiJing,C=CN",
    "kube-scheduler": "CN=system:kube-scheduler,OU=4Paradigm,O=system:kube-scheduler,"
                      "L=BeiJing,ST=BeiJing,C=CN",
}


def write_flow_files(directory: Path) -> None:
    for name, doc in FLOW_FILES.items():
        (directory / name).write_text(json.dumps(doc, indent=2) + "\n")


def _openssl(openssl: str, *args: str) -> str:
    proc = subprocess.run([openssl, *args], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, "openssl %s failed:\n%s%s" % (" ".join(args), proc.stdout,
                                                              proc.stderr)
    return proc.stdout


def check_chapter(openssl: str, directory: Path) -> None:
    """The chapter's files in ``directory`` are right, by openssl: chain, keys, modes, names."""
    ca = str(directory / "ca.pem")
    assert "CA:TRUE" in _openssl(openssl, "x509", "-in", ca, "-noout", "-ext", "basicConstraints")
    for name in ["ca"] + LEAVES:
        cert = directory / ("%s.pem" % name)
        key = directory / ("%s-key.pem" % name)
        assert (directory / ("%s.csr" % name)).stat().st_size > 0, name
        assert oct(key.stat().st_mode & 0o777) == "0o600", name
        assert _openssl(openssl, "verify", "-CAfile", ca, str(cert)).strip() == "%s: OK" % cert
        cert_pub = _openssl(openssl, "x509", "-in", str(cert), "-noout", "-pubkey")
        key_pub = _openssl(openssl, "pkey", "-in", str(key), "-pubout")
        assert cert_pub == key_pub, "%s-key.pem does not match %s.pem" % (name, name)
        subject = _openssl(openssl, "x509", "-in", str(cert), "-noout", "-subject",
                           "-nameopt", "RFC2253")
        assert subject.strip() == "subject=" + SUBJECTS[name]
        if name != "ca":
            usages = _openssl(openssl, "x509", "-in", str(cert), "-noout", "-ext",
                              "extendedKeyUsage")
            assert "TLS Web Server Authentication, TLS Web Client Authentication" in usages
    sans = _openssl(openssl, "x509", "-in", str(directory / "kubernetes.pem"), "-noout",
                    "-ext", "subjectAltName").split("\n", 1)[1]
    assert [s.strip() for s in sans.split(",")] == [
        "DNS:etcd01", "DNS:kubernetes", "DNS:kube-api.jd.com", "DNS:kubernetes.default",
        "DNS:kubernetes.default.svc", "DNS:kubernetes.default.svc.cluster",
        "DNS:kubernetes.default.svc.cluster.local", "IP Address:127.0.0.1",
        "IP Address:192.168.1.145", "IP Address:192.168.1.146",
    ]


# --- finding a Python 3.9 -------------------------------------------------------------------


def find_python39() -> Tuple[Optional[str], str]:
    """(path of a working Python 3.9, '') or (None, why there is none).

    Looks at $KPKILITE_PYTHON39, ``python3.9`` on PATH, pyenv's versions and the usual
    system places; a candidate counts only if it runs and reports 3.9 (a pyenv shim for a
    version that is not selected fails to run and is passed over).
    """
    roots = [os.environ.get("PYENV_ROOT", ""), os.path.expanduser("~/.pyenv")]
    candidates = [os.environ.get("KPKILITE_PYTHON39", ""), shutil.which("python3.9") or ""]
    for root in filter(None, roots):
        candidates += sorted(glob.glob(os.path.join(root, "versions", "3.9*", "bin",
                                                    "python3.9")), reverse=True)
    candidates += ["/usr/bin/python3.9", "/usr/local/bin/python3.9"]
    tried = []
    for path in filter(None, dict.fromkeys(candidates)):
        if not os.path.exists(path):
            continue
        tried.append(path)
        try:
            proc = subprocess.run([path, "-I", "-c", "import sys; print(sys.version_info[:2])"],
                                  capture_output=True, text=True, timeout=30)
        except OSError:
            continue
        if proc.returncode == 0 and proc.stdout.strip() == "(3, 9)":
            return path, ""
    return None, ("no working Python 3.9 interpreter (looked at $KPKILITE_PYTHON39, python3.9 "
                  "on PATH, pyenv versions 3.9*, /usr/bin, /usr/local/bin; ran: %s)"
                  % (", ".join(tried) or "none"))


# --- the throwaway installer ----------------------------------------------------------------

_INSTALLER = '''\
"""A throwaway installer that vendors kpkilite (made by tests/test_vendoring.py)."""
import itertools
import json
import os
import sys
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "_vendor"))

from kpkilite import cron, files, labels, signing  # noqa: E402

out = sys.argv[1]


def load(name):
    with open(os.path.join(HERE, name)) as fh:
        return json.load(fh)


ca = signing.create_ca(load("ca-csr.json"))
files.write_bare(ca, "ca", directory=out)
config = load("ca-config.json")
for name in %(leaves)r:
    bundle = signing.issue_cert(load(name + "-csr.json"), ca_cert=ca["cert"], ca_key=ca["key"],
                                config=config, profile="kubernetes")
    files.write_bare(bundle, name, directory=out)

after = datetime(2024, 1, 31, 23, 59, tzinfo=timezone.utc)
selector = labels.parse_selector("tier in (web,api),!canary,env!=prod")
report = {
    "python": list(sys.version_info[:2]),
    "flags": [sys.flags.isolated, sys.flags.no_site],
    "sys_path": sys.path,
    "files": {name: sys.modules[name].__file__ for name in sorted(sys.modules)
              if name.split(".")[0] in ("kpkilite", "asn1crypto", "oscrypto")},
    "loaded": sorted(m for m in sys.modules if "site" in m.split(".")[0]),
    "cron": [t.isoformat() for t in itertools.islice(cron.iter_fire_times("0 0 29 2 *", after), 2)],
    "next": cron.next_fire_time("*/15 9-17 * * MON-FRI", after).isoformat(),
    "selector": str(selector),
    "matches": [labels.matches(selector, {"tier": "web"}),
                labels.matches(selector, {"tier": "web", "canary": "1"}),
                labels.matches(selector, {"tier": "db"})],
}
print(json.dumps(report))
'''


@pytest.fixture(scope="session")
def installer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway installer tree: installer.py, the chapter's JSON, and _vendor/ with the
    three packages copied from where this interpreter imports them."""
    import asn1crypto
    import oscrypto

    import kpkilite

    root = tmp_path_factory.mktemp("installer")
    vendor = root / "_vendor"
    vendor.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "tests")
    for module in (kpkilite, asn1crypto, oscrypto):
        assert module.__file__ is not None
        source = Path(module.__file__).parent
        shutil.copytree(source, vendor / source.name, ignore=ignore)
    write_flow_files(root)
    (root / "installer.py").write_text(_INSTALLER % {"leaves": LEAVES})
    return root


def _run_installer(python: str, installer: Path, out: Path) -> Dict[str, Any]:
    out.mkdir()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    proc = subprocess.run([python, "-I", "-S", str(installer / "installer.py"), str(out)],
                          capture_output=True, text=True, timeout=120, cwd=str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    result: Dict[str, Any] = json.loads(proc.stdout)
    return result


@pytest.fixture(scope="session")
def python39() -> str:
    path, why = find_python39()
    if path is None:
        pytest.skip(why)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("which", ["running", "3.9"])
def test_vendored_copy_runs_the_chapter_without_site_packages(
    which: str, installer: Path, tmp_path: Path, openssl: str, request: pytest.FixtureRequest
) -> None:
    python = sys.executable if which == "running" else request.getfixturevalue("python39")
    report = _run_installer(python, installer, tmp_path / "out")

    if which == "3.9":
        assert report["python"] == [3, 9]
    assert report["flags"] == [1, 1]
    assert report["loaded"] == []  # no site, sitecustomize, usercustomize
    vendor = str(installer / "_vendor")
    assert not [p for p in report["sys_path"] if "site-packages" in p or "dist-packages" in p]
    outside = {m: f for m, f in report["files"].items() if not f.startswith(vendor + os.sep)}
    assert outside == {}, "imported from outside the vendored copy"
    assert {"kpkilite", "kpkilite.signing", "asn1crypto", "oscrypto"} <= set(report["files"])

    assert report["cron"] == ["2024-02-29T00:00:00+00:00", "2028-02-29T00:00:00+00:00"]
    assert report["next"] == "2024-02-01T09:00:00+00:00"
    assert report["selector"] == "!canary,env!=prod,tier in (api,web)"
    assert report["matches"] == [True, False, False]
    check_chapter(openssl, tmp_path / "out")


# --- static checks: nothing a vendored copy cannot have ----------------------------------------

#: modules a vendored copy must not import: it has no install record and no entry points
_METADATA_MODULES = ("importlib.metadata", "importlib_metadata", "pkg_resources")


def _imports(path: Path) -> List[Tuple[int, int, str]]:
    """(line, relative level, module) for every import statement in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, 0, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            found.append((node.lineno, node.level, module))
            if node.level == 0:  # from importlib import metadata
                found += [(node.lineno, 0, module + "." + a.name) for a in node.names]
    return found


MODULE_FILES = sorted(PACKAGE.glob("*.py"))


@pytest.mark.parametrize("path", MODULE_FILES, ids=[p.name for p in MODULE_FILES])
def test_no_absolute_self_imports(path: Path) -> None:
    bad = ["%s:%d: import %s" % (path.name, line, module)
           for line, level, module in _imports(path)
           if level == 0 and (module == "kpkilite" or module.startswith("kpkilite."))]
    assert bad == [], "use relative imports (from .x import y) so a vendored copy works"


@pytest.mark.parametrize("path", MODULE_FILES, ids=[p.name for p in MODULE_FILES])
def test_no_package_metadata(path: Path) -> None:
    bad = ["%s:%d: import %s" % (path.name, line, module)
           for line, level, module in _imports(path)
           if level == 0 and module.startswith(_METADATA_MODULES)]
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text)
    bad += ["%s:%d: .%s" % (path.name, node.lineno, node.attr) for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and node.attr in ("entry_points", "metadata", "distribution", "version")
            and isinstance(node.value, ast.Name) and node.value.id == "importlib"]
    assert bad == [], "a vendored copy has no package metadata; use kpkilite.__version__"


@pytest.mark.parametrize(
    "source, expected",
    [
        ("import kpkilite.cron\n", [(1, 0, "kpkilite.cron")]),
        ("from kpkilite import cron\n", [(1, 0, "kpkilite"), (1, 0, "kpkilite.cron")]),
        ("from . import cron\n", [(1, 1, "")]),
        ("from .errors import X\n", [(1, 1, "errors")]),
        ("from importlib import metadata\n", [(1, 0, "importlib"), (1, 0, "importlib.metadata")]),
        ("x = 'import kpkilite'\n", []),
    ],
)
def test_import_scanner(tmp_path: Path, source: str, expected: List[Tuple[int, int, str]]) -> None:
    """The scanner above sees what it must (and not a string that only looks like an import)."""
    path = tmp_path / "m.py"
    path.write_text(source)
    assert _imports(path) == expected


def test_version_is_a_literal() -> None:
    """``__version__`` is a string literal in __init__.py (setup.cfg reads it with attr:)."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8"))
    values = [node.value for node in tree.body if isinstance(node, ast.Assign)
              and any(isinstance(t, ast.Name) and t.id == "__version__" for t in node.targets)]
    assert len(values) == 1 and isinstance(values[0], ast.Constant)
    assert isinstance(values[0].value, str)
