"""Light imports: what each import and each cheap command loads, measured in a fresh process.

The rule (STYLE.md, issue 6): ``import kpkilite``, ``kpkilite.cron`` and
``kpkilite.labels`` load neither oscrypto nor asn1crypto; ``kpkilite.certinfo``
loads asn1crypto but not oscrypto. Only ``kpkilite._crypto`` imports oscrypto,
and only when a key or a signature is needed, so no public module loads it at
import time. Each case runs in its own interpreter (``python -I``), since this
test process has long since imported everything.

The timing half lives in ``benchmarks/bench_import.py`` (numbers depend on the
machine; these tests check what is loaded, which does not).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest

PUBLIC = ["kpkilite", "kpkilite.errors", "kpkilite.csr", "kpkilite.signing", "kpkilite.files",
          "kpkilite.certinfo", "kpkilite.cluster", "kpkilite.cron", "kpkilite.labels",
          "kpkilite.cli"]

_PROBE = """
import json, sys
before = set(sys.modules)
%s
new = sorted(set(sys.modules) - before)
std = getattr(sys, "stdlib_module_names", None)
print(json.dumps({
    "new": new,
    "oscrypto": "oscrypto" in sys.modules,
    "asn1crypto": "asn1crypto" in sys.modules,
    "cffi": "cffi" in sys.modules,
    "foreign": None if std is None else [m for m in new if m.split(".")[0] not in std
                                         and m.split(".")[0] != "kpkilite"],
}))
"""


def probe(code: str, cwd: Path) -> Dict[str, Any]:
    """Run ``code`` in a fresh ``python -I`` and report the modules it loaded."""
    proc = subprocess.run([sys.executable, "-I", "-c", _PROBE % code], capture_output=True,
                          text=True, timeout=60, cwd=str(cwd))
    assert proc.returncode == 0, proc.stderr
    result: Dict[str, Any] = json.loads(proc.stdout.splitlines()[-1])
    return result


@pytest.mark.parametrize(
    "module, asn1crypto",
    [
        ("kpkilite", False),
        ("kpkilite.cron", False),
        ("kpkilite.labels", False),
        ("kpkilite.certinfo", True),
    ],
)
def test_light_modules(module: str, asn1crypto: bool, tmp_path: Path) -> None:
    loaded = probe("import %s" % module, tmp_path)
    assert loaded["oscrypto"] is False
    assert loaded["asn1crypto"] is asn1crypto
    if not asn1crypto and loaded["foreign"] is not None:  # Python 3.10+ knows its stdlib
        assert loaded["foreign"] == [], "stdlib only"


def test_package_import_loads_no_domain_module(tmp_path: Path) -> None:
    """``import kpkilite`` is the version and the errors, nothing else of ours."""
    loaded = probe("import kpkilite", tmp_path)
    assert [m for m in loaded["new"] if m.startswith("kpkilite")] == ["kpkilite",
                                                                      "kpkilite.errors"]


@pytest.mark.parametrize("module", PUBLIC)
def test_no_public_module_loads_oscrypto(module: str, tmp_path: Path) -> None:
    """The backend (oscrypto, libcrypto, cffi) loads on first use, never on import."""
    loaded = probe("import %s" % module, tmp_path)
    assert (loaded["oscrypto"], loaded["cffi"]) == (False, False)


@pytest.mark.parametrize(
    "argv, asn1crypto",
    [
        (["--help"], False),
        (["version"], False),
        (["cron", "*/5 * * * *", "--from", "2024-01-01T00:00:00Z", "-n", "1"], False),
        (["selector", "app=web", "--labels", "app=web"], False),
        (["certinfo", "-cert", "CERT"], True),
    ],
    ids=["help", "version", "cron", "selector", "certinfo"],
)
def test_cheap_commands_do_not_load_the_backend(
    argv: List[str], asn1crypto: bool, tmp_path: Path, ec_ca: Dict[str, str]
) -> None:
    """``kpkilite --help``, ``cron``, ``selector`` and ``certinfo`` run without oscrypto."""
    cert = tmp_path / "ca.pem"
    cert.write_text(ec_ca["cert"])
    argv = [str(cert) if a == "CERT" else a for a in argv]
    code = ("import contextlib, io\nfrom kpkilite.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    status = main(%r)\nassert status == 0, status" % argv)
    loaded = probe(code, tmp_path)
    assert loaded["oscrypto"] is False
    assert loaded["asn1crypto"] is asn1crypto


def test_probe_sees_a_load(tmp_path: Path) -> None:
    """The probe itself: a module that does load oscrypto is reported as such."""
    loaded = probe("import oscrypto", tmp_path)
    assert loaded["oscrypto"] is True and "oscrypto" in loaded["new"]
