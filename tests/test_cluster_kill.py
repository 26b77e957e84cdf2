"""``kpkilite k8s-pki`` killed with SIGKILL while it writes: every file is as before or complete.

Two ways to pick the moment: exactly before the N-th rename (the process kills
itself from a patched ``os.replace``, so every commit point is hit), and by the
clock (poll the directory, SIGKILL the real process a little after the first file
appears). After each kill: each file is byte-identical to before, or complete
(it parses with ``cryptography``, a certificate verifies against the ca.pem on
disk, a CSR's signature is valid). A re-run then completes the set, and a third
run changes nothing.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

import pytest
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import serialization
from test_cluster import NAMES, Snapshot, assert_complete_set, snapshot

from kpkilite.cluster import JOURNAL, ensure_k8s_pki

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=str(ROOT))

#: Runs the real CLI, SIGKILLing itself just before rename number N (0-based).
KILL_AT_RENAME = """
import os, signal, sys
limit, count, real = int(sys.argv[1]), [0], os.replace
def replace(src, dst):
    if count[0] == limit:
        os.kill(os.getpid(), signal.SIGKILL)
    count[0] += 1
    real(src, dst)
os.replace = replace
from kpkilite.cli import main
sys.exit(main(sys.argv[2:]))
"""


def cli(d: Path, extra: List[str]) -> List[str]:
    return ["k8s-pki", "--dir", str(d)] + extra


def run(d: Path, extra: List[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kpkilite"] + cli(d, extra), env=ENV,
                          capture_output=True, text=True, check=False, timeout=60)


def visible(d: Path) -> List[str]:
    return sorted(f for f in os.listdir(d) if not f.startswith("."))


def assert_old_or_complete(d: Path, before: Snapshot) -> None:
    """The invariant after a kill."""
    ca: Optional[cx509.Certificate] = None
    if (d / "ca.pem").exists():
        ca = cx509.load_pem_x509_certificate((d / "ca.pem").read_bytes())
    for name in visible(d):
        data = (d / name).read_bytes()
        if name in before and before[name][0] == data:
            continue
        if name.endswith("-key.pem"):
            serialization.load_pem_private_key(data, password=None)
            assert oct(os.stat(d / name).st_mode & 0o777) == "0o600", name
        elif name.endswith(".pem"):
            cert = cx509.load_pem_x509_certificate(data)
            assert ca is not None, "%s is new but there is no ca.pem" % name
            cert.verify_directly_issued_by(ca)
        elif name.endswith(".csr"):
            assert cx509.load_pem_x509_csr(data).is_signature_valid, name
        else:
            raise AssertionError("unexpected file %s" % name)


def finish_and_check(d: Path, extra: List[str]) -> None:
    again = run(d, extra)
    assert again.returncode == 0, again.stderr
    assert_complete_set(d)
    assert not (d / JOURNAL).exists()
    assert [f for f in os.listdir(d) if f.startswith(".")] == []
    settled = snapshot(d)
    third = run(d, extra)
    assert third.returncode == 0, third.stderr
    assert third.stdout.splitlines()[-1].endswith("0 created, 0 renewed, 6 kept "
                                                  "(keys NAME-key.pem, mode 0600)")
    assert snapshot(d) == settled


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Path]:
    sets = {}
    for label in ("ecdsa", "other"):
        d = tmp_path_factory.mktemp(label) / "pki"
        ensure_k8s_pki(d, algo="ecdsa")
        sets[label] = d
    return sets


def prepare(scenario: str, made: Dict[str, Path], d: Path) -> List[str]:
    """Set up the directory; return the extra CLI arguments of the run to kill."""
    if scenario == "fresh":
        return ["--algo", "ecdsa"]
    shutil.copytree(made["ecdsa"], d)
    if scenario == "renew-all-leaves":  # five leaves signed by another CA
        for name in NAMES[1:]:
            for suffix in (".pem", "-key.pem", ".csr"):
                shutil.copy(made["other"] / (name + suffix), d / (name + suffix))
        return ["--algo", "ecdsa"]
    assert scenario == "replace-ca"  # --force with the CA key gone
    os.unlink(d / "ca-key.pem")
    return ["--algo", "ecdsa", "--force"]


# fresh: rename 0 is the journal, then ca.pem, ca-key.pem, ca.csr, kubernetes.pem, ...
@pytest.mark.parametrize("scenario,renames", [
    ("fresh", [0, 1, 2, 3, 5, 11, 18]),
    ("renew-all-leaves", [1, 2, 6, 15]),
    ("replace-ca", [0, 1, 2, 4, 10]),
])
def test_sigkill_before_each_rename(tmp_path: Path, made: Dict[str, Path], scenario: str,
                                    renames: List[int]) -> None:
    for n in renames:
        d = tmp_path / str(n) / "pki"
        extra = prepare(scenario, made, d)
        d.mkdir(parents=True, exist_ok=True)
        before = snapshot(d)
        proc = subprocess.run([sys.executable, "-c", KILL_AT_RENAME, str(n)] + cli(d, extra),
                              env=ENV, capture_output=True, text=True, check=False, timeout=60)
        assert proc.returncode == -signal.SIGKILL, (n, proc.stderr)
        assert_old_or_complete(d, before)
        # killed mid-commit: the journal is in place; before it: only a temp file is left
        assert (d / JOURNAL).exists() is (n > 0), n
        if scenario == "replace-ca" and n == 0:
            # killed before its journal existed: the CA is still half there; no --force now
            # means an error that names the missing file, and nothing is touched
            refused = run(d, ["--algo", "ecdsa"])
            assert refused.returncode == 1
            assert "ca-key.pem: the CA private key is missing" in refused.stderr
        finish_and_check(d, extra)


@pytest.mark.parametrize("scenario,algo,delays", [
    ("fresh", "ecdsa", [0.0, 0.0005, 0.002, 0.01]),
    ("fresh", "rsa", [0.0, 0.003]),
    ("renew-all-leaves", "ecdsa", [0.0, 0.001, 0.004]),
])
def test_sigkill_by_the_clock(tmp_path: Path, made: Dict[str, Path], scenario: str, algo: str,
                              delays: List[float]) -> None:
    """Poll the directory; SIGKILL the real process ``delay`` after the first new file shows."""
    for i, delay in enumerate(delays):
        d = tmp_path / str(i) / "pki"
        extra = prepare(scenario, made, d)
        extra[extra.index("--algo") + 1] = algo
        d.mkdir(parents=True, exist_ok=True)
        before = snapshot(d)
        start = set(os.listdir(d))
        proc = subprocess.Popen([sys.executable, "-m", "kpkilite"] + cli(d, extra), env=ENV,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            while proc.poll() is None and time.monotonic() < deadline:
                if set(os.listdir(d)) != start:
                    break
                time.sleep(0.0002)
            if delay:
                time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.wait(timeout=30)
        assert_old_or_complete(d, before)
        finish_and_check(d, ["--algo", algo])
